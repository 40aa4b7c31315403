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
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		if (u[i] < 0x80) {      /* ASCII, most of every document */
			i++;
			continue;
		}
		if (cu_utf8_next(u, len, &i) < 0)
			return -1;
	}
	return 0;
}

/* Names by UTF-16 code units (RFC 8785 3.2.3), for valid UTF-8.  UTF-8
 * byte order is code point order, which is UTF-16 order except for one
 * range: at the first byte that differs, both strings are at the same
 * place in a character (the prefix is shared), so if both bytes lead a
 * character and one leads a supplementary character (0xF0-0xF4) while the
 * other leads one from U+E000 to U+FFFF (0xEE, 0xEF), the order is turned
 * round; otherwise it is the bytes' order. */
static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *sa = (const unsigned char *)a, *sb = (const unsigned char *)b;
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned char ca = sa[i], cb = sb[i];

		if (ca == cb)
			continue;
		if ((ca >= 0xf0 && (cb == 0xee || cb == 0xef)) ||
		    (cb >= 0xf0 && (ca == 0xee || ca == 0xef)))
			return ca < cb ? 1 : -1;
		return ca < cb ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

/* qsort comparator: member names by UTF-16 code units.  Names were
 * validated as UTF-8 when collected. */
static int
member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;

	return name_cmp(a->key, a->keylen, b->key, b->keylen);
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

/* Where a member would be inserted into an object being written: the
 * offset in the output of the first member that sorts after `key` (or of
 * the closing brace), and whether any member comes after it. */
struct splice {
	const char *key;
	size_t      keylen;
	size_t      offset;
	int         before_member;
	int         empty;
};

/* Writes an object with its members sorted by UTF-16 code units; with sp,
 * notes where sp->key would go (the object must not hold it). */
static int
write_object_at(struct cbuf *b, const json_t *obj, const struct frame *at, struct splice *sp)
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
	if (sp != NULL) {
		sp->before_member = 0;
		sp->empty = k == 0;
	}
	for (size_t i = 0; i < k; i++) {
		struct frame f = { at, m[i].key, m[i].keylen, 0 };

		if (i > 0 && (error = cbuf_putc(b, ',')) < 0)
			goto done;
		if (sp != NULL && !sp->before_member) {
			int c = name_cmp(m[i].key, m[i].keylen, sp->key, sp->keylen);

			if (c == 0) {
				error = fail_at(at, "member to insert is already present");
				goto done;
			}
			if (c > 0) {
				sp->before_member = 1;
				sp->offset = b->len;
			}
		}
		if ((error = write_string(b, m[i].key, m[i].keylen, &f)) < 0 ||
		    (error = cbuf_putc(b, ':')) < 0 ||
		    (error = write_value(b, m[i].value, &f)) < 0)
			goto done;
	}
	if (sp != NULL && !sp->before_member)
		sp->offset = b->len;
	error = cbuf_putc(b, '}');
done:
	free(m);
	return error;
}

static int
write_object(struct cbuf *b, const json_t *obj, const struct frame *at)
{
	return write_object_at(b, obj, at, NULL);
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

/* See canon.h. */
int
cu_canon_sealed(char **out, size_t *len, char id_hex[65], const char *key, const json_t *doc)
{
	struct cbuf b = { 0 };
	struct splice sp = { key, strlen(key), 0, 0, 0 };
	unsigned char md[CU_SHA256_LEN];
	char member[128];
	char *p = NULL;
	size_t mlen;
	int error, n;

	*out = NULL;
	*len = 0;
	id_hex[0] = '\0';
	if (!json_is_object(doc))
		return cu_error_set(CU_EINVALID, "canonical JSON: only an object can be sealed");
	if (sp.keylen > 64 || utf8_valid(key, sp.keylen) < 0)
		return cu_error_set(CU_EINVALID, "canonical JSON: bad member name to seal with");
	if ((error = write_object_at(&b, doc, NULL, &sp)) < 0 ||
	    (error = cu_sha256(md, b.p, b.len)) < 0)
		goto done;
	cu_hex(id_hex, md, sizeof(md));
	/* "key":"<hex>" plus the comma that joins it to its neighbour */
	n = snprintf(member, sizeof(member), "%s\"%s\":\"%s\"%s",
		sp.before_member || sp.empty ? "" : ",", key, id_hex, sp.before_member ? "," : "");
	if (n < 0 || (size_t)n >= sizeof(member)) {
		error = cu_error_set(CU_ERROR, "canonical JSON: member too long");
		goto done;
	}
	mlen = (size_t)n;
	if ((p = malloc(b.len + mlen + 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "canonical JSON: out of memory");
		goto done;
	}
	memcpy(p, b.p, sp.offset);
	memcpy(p + sp.offset, member, mlen);
	memcpy(p + sp.offset + mlen, b.p + sp.offset, b.len - sp.offset);
	p[b.len + mlen] = '\0';
	*out = p;
	*len = b.len + mlen;
done:
	free(b.p);
	return error;
}
