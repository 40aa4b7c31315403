/*
 * canon.c — canonical JSON (RFC 8785) over jansson values (see custos/canon.h).
 *
 * Only the integer subset of JSON is supported, which removes the one hard
 * part of RFC 8785 (ECMAScript number formatting): a real number anywhere is
 * an error, so a document can never hold a value whose canonical form
 * depends on floating-point printing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/util.h"

/* A growable output buffer; p is always NUL-terminated once allocated. */
struct cbuf {
	char  *p;
	size_t len;
	size_t cap;
};

/* One step on the way from the root to the value being written, kept on
 * the C stack so that a path is only ever built when there is an error. */
struct frame {
	const struct frame *parent;
	const char *key;    /* member name, or NULL for an array element */
	size_t      keylen;
	size_t      index;  /* array index when key is NULL */
};

/* A member of an object, collected so that the members can be sorted. */
struct member {
	const char *key;
	size_t      keylen;
	json_t     *value;
};

static int write_value(struct cbuf *b, const json_t *v, const struct frame *at);

/* Makes room for `more` bytes plus the terminating NUL.  0 or CU_ERROR. */
static int
cbuf_reserve(struct cbuf *b, size_t more)
{
	size_t want, cap;
	char *p;

	if (more > SIZE_MAX / 2 - b->len)
		return cu_error_set(CU_ERROR, "canonical JSON: out of memory");
	want = b->len + more + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return cu_error_set(CU_ERROR, "canonical JSON: out of memory");
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Appends n bytes.  0 or CU_ERROR. */
static int
cbuf_put(struct cbuf *b, const void *s, size_t n)
{
	int error;

	if ((error = cbuf_reserve(b, n)) < 0)
		return error;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Appends one byte.  0 or CU_ERROR. */
static int
cbuf_putc(struct cbuf *b, char c)
{
	return cbuf_put(b, &c, 1);
}

/* Writes the path of `at` ("ext.items[2].name") into b, root first.  Control
 * characters (and any invalid UTF-8) in member names become '?' so that an
 * error message stays one printable line. */
static int
path_write(struct cbuf *b, const struct frame *at)
{
	int error;

	if (at == NULL)
		return 0;
	if ((error = path_write(b, at->parent)) < 0)
		return error;
	if (at->key == NULL) {
		char idx[32];
		int n = snprintf(idx, sizeof(idx), "[%zu]", at->index);
		return cbuf_put(b, idx, (size_t)n);
	}
	if (at->parent != NULL && (error = cbuf_putc(b, '.')) < 0)
		return error;
	for (size_t i = 0; i < at->keylen; ) {
		size_t start = i;
		long cp = cu_utf8_next((const unsigned char *)at->key, at->keylen, &i);

		if (cp < 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			i = start + 1;
			error = cbuf_putc(b, '?');
		} else {
			error = cbuf_put(b, at->key + start, i - start);
		}
		if (error < 0)
			return error;
	}
	return 0;
}

/* Sets CU_EINVALID with "PATH: reason" (just the reason at the root) and
 * returns CU_EINVALID. */
static int
fail_at(const struct frame *at, const char *reason)
{
	struct cbuf path = { 0 };
	int error;

	if (at == NULL)
		return cu_error_set(CU_EINVALID, "%s", reason);
	if ((error = path_write(&path, at)) < 0)
		goto done;
	error = cu_error_set(CU_EINVALID, "%s: %s", path.p ? path.p : "", reason);
done:
	free(path.p);
	return error;
}

/* 0 if s[0..len) is valid UTF-8, else -1. */
static int
utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len)
		if (cu_utf8_next((const unsigned char *)s, len, &i) < 0)
			return -1;
	return 0;
}

/* Sort weight of a code point such that comparing weights orders strings as
 * comparing their UTF-16 code units would: a supplementary character is a
 * surrogate pair (0xD800-0xDBFF first), which sorts after every BMP
 * character below 0xD800 but before those from 0xE000 to 0xFFFF.  Code
 * point order (= UTF-8 byte order) gets exactly that one range wrong, so it
 * is moved above all supplementary code points. */
static long
utf16_weight(long cp)
{
	return cp >= 0xe000 && cp <= 0xffff ? cp + 0x200000 : cp;
}

/* qsort comparator: member names by UTF-16 code units (RFC 8785 3.2.3).
 * Names were validated as UTF-8 when collected. */
static int
member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;
	const unsigned char *sa = (const unsigned char *)a->key;
	const unsigned char *sb = (const unsigned char *)b->key;
	size_t i = 0, j = 0;

	while (i < a->keylen && j < b->keylen) {
		long ca = cu_utf8_next(sa, a->keylen, &i);
		long cb = cu_utf8_next(sb, b->keylen, &j);
		if (ca < 0 || cb < 0)   /* cannot happen after validation */
			return memcmp(sa, sb, a->keylen < b->keylen ? a->keylen : b->keylen);
		ca = utf16_weight(ca);
		cb = utf16_weight(cb);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (i < a->keylen)
		return 1;
	if (j < b->keylen)
		return -1;
	return 0;
}

/* Writes s[0..len) as a JSON string the way ECMAScript JSON.stringify does:
 * the two-character escapes for " \ \b \f \n \r \t, \u00xx (lower-case hex)
 * for the other C0 controls, every other character as raw UTF-8.  A string
 * that is not valid UTF-8 is refused rather than guessed at. */
static int
write_string(struct cbuf *b, const char *s, size_t len, const struct frame *at)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;   /* start of the pending run of bytes copied as they are */
	int error;

	if (utf8_valid(s, len) < 0)
		return fail_at(at, "string is not valid UTF-8");
	if ((error = cbuf_reserve(b, len + 2)) < 0)
		return error;
	if ((error = cbuf_putc(b, '"')) < 0)
		return error;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		esc[0] = '\\';
		switch (c) {
		case '"':  esc[1] = '"';  break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b';  break;
		case '\f': esc[1] = 'f';  break;
		case '\n': esc[1] = 'n';  break;
		case '\r': esc[1] = 'r';  break;
		case '\t': esc[1] = 't';  break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		if ((error = cbuf_put(b, s + run, i - run)) < 0 ||
		    (error = cbuf_put(b, esc, elen)) < 0)
			return error;
		run = i + 1;
	}
	if ((error = cbuf_put(b, s + run, len - run)) < 0)
		return error;
	return cbuf_putc(b, '"');
}

/* Writes an integer in plain decimal, refusing magnitudes beyond 2^53 - 1
 * (the integers every JSON implementation represents exactly). */
static int
write_integer(struct cbuf *b, json_int_t v, const struct frame *at)
{
	char num[32];
	int n;

	if (v > CU_CANON_INT_MAX || v < -CU_CANON_INT_MAX)
		return fail_at(at, "integer out of range (more than 2^53 - 1 in magnitude)");
	n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, v);
	return cbuf_put(b, num, (size_t)n);
}

/* Writes an object with its members sorted by UTF-16 code units. */
static int
write_object(struct cbuf *b, const json_t *obj, const struct frame *at)
{
	struct member *m = NULL;
	size_t n = json_object_size(obj), k = 0;
	void *it;
	int error = 0;

	if (n > 0 && (m = calloc(n, sizeof(*m))) == NULL)
		return cu_error_set(CU_ERROR, "canonical JSON: out of memory");
	for (it = json_object_iter((json_t *)obj); it != NULL && k < n;
	     it = json_object_iter_next((json_t *)obj, it)) {
		m[k].key = json_object_iter_key(it);
		m[k].keylen = json_object_iter_key_len(it);
		m[k].value = json_object_iter_value(it);
		if (utf8_valid(m[k].key, m[k].keylen) < 0) {
			error = fail_at(at, "member name is not valid UTF-8");
			goto done;
		}
		k++;
	}
	if (k > 1)
		qsort(m, k, sizeof(*m), member_cmp);
	if ((error = cbuf_putc(b, '{')) < 0)
		goto done;
	for (size_t i = 0; i < k; i++) {
		struct frame f = { at, m[i].key, m[i].keylen, 0 };

		if (i > 0 && (error = cbuf_putc(b, ',')) < 0)
			goto done;
		if ((error = write_string(b, m[i].key, m[i].keylen, &f)) < 0 ||
		    (error = cbuf_putc(b, ':')) < 0 ||
		    (error = write_value(b, m[i].value, &f)) < 0)
			goto done;
	}
	error = cbuf_putc(b, '}');
done:
	free(m);
	return error;
}

/* Writes an array, elements in order. */
static int
write_array(struct cbuf *b, const json_t *arr, const struct frame *at)
{
	size_t n = json_array_size(arr);
	int error;

	if ((error = cbuf_putc(b, '[')) < 0)
		return error;
	for (size_t i = 0; i < n; i++) {
		struct frame f = { at, NULL, 0, i };

		if (i > 0 && (error = cbuf_putc(b, ',')) < 0)
			return error;
		if ((error = write_value(b, json_array_get(arr, i), &f)) < 0)
			return error;
	}
	return cbuf_putc(b, ']');
}

/* Writes any value; `at` locates it for error messages (NULL = root). */
static int
write_value(struct cbuf *b, const json_t *v, const struct frame *at)
{
	if (v == NULL)
		return cu_error_set(CU_EINVALID, "canonical JSON: no value");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return write_object(b, v, at);
	case JSON_ARRAY:
		return write_array(b, v, at);
	case JSON_STRING:
		return write_string(b, json_string_value(v), json_string_length(v), at);
	case JSON_INTEGER:
		return write_integer(b, json_integer_value(v), at);
	case JSON_REAL:
		return fail_at(at, "real numbers are not allowed");
	case JSON_TRUE:
		return cbuf_put(b, "true", 4);
	case JSON_FALSE:
		return cbuf_put(b, "false", 5);
	case JSON_NULL:
		return cbuf_put(b, "null", 4);
	}
	return cu_error_set(CU_EINVALID, "canonical JSON: unknown value type");
}

/* See canon.h.  On failure *out is NULL and *len 0. */
int
cu_canon(char **out, size_t *len, const json_t *v)
{
	struct cbuf b = { 0 };
	int error;

	*out = NULL;
	*len = 0;
	if ((error = write_value(&b, v, NULL)) < 0)
		goto done;
	*out = b.p;
	*len = b.len;
	b.p = NULL;
done:
	free(b.p);
	return error;
}

/* See canon.h. */
int
cu_canon_digest(char out[65], const json_t *v)
{
	unsigned char md[CU_SHA256_LEN];
	char *text = NULL;
	size_t len;
	int error;

	out[0] = '\0';
	if ((error = cu_canon(&text, &len, v)) < 0)
		goto done;
	if ((error = cu_sha256(md, text, len)) < 0)
		goto done;
	cu_hex(out, md, sizeof(md));
done:
	free(text);
	return error;
}
