/*
 * note.c — C2SP signed notes, tlog checkpoints and tlog proofs (see
 * custos/note.h).
 *
 * Everything here parses text that may come from anyone (a proof handed to
 * an auditor, a checkpoint fetched from a mirror), so every parser works on
 * counted bytes, checks each bound before it reads, and accepts only the
 * canonical form of each field: one spelling per value means one set of
 * signed bytes per value.
 *
 * Base64 is the standard alphabet with padding (RFC 4648 §4).  OpenSSL's
 * EVP_DecodeBlock does the decoding, but it skips surrounding whitespace,
 * accepts '=' in the middle of the last quantum, ignores non-zero padding
 * bits and counts padding as data, so every input is checked first by
 * b64_check, which also gives the true decoded length.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "custos/error.h"
#include "custos/note.h"
#include "custos/sig.h"
#include "custos/util.h"

#define SIG_PREFIX      "\xe2\x80\x94 "   /* U+2014 EM DASH, then a space */
#define SIG_PREFIX_LEN  4
#define MAX_SIGS        100               /* signature lines in one note */
#define ALG_ED25519     0x01
#define KEY_ID_LEN      4
#define SIG_BLOB_LEN    (KEY_ID_LEN + CU_ED25519_SIG)
#define HASH_LEN        32
#define HASH_B64_LEN    44                /* base64 of 32 bytes, one '=' */

#define INCLUSION_HEADER   "c2sp.org/tlog-proof@v1"
#define CONSISTENCY_HEADER "custos.consistency-proof@v1"

/* ---- base64 ---------------------------------------------------------- */

/*
 * Checks that in[0..n) is canonical padded base64: a multiple of four
 * characters of the alphabet, at most two '=' and only at the very end,
 * and zero padding bits in the last character before them.  Empty input
 * is canonical (no data).  On success *declen is the number of bytes the
 * text encodes and 0 is returned; -1 otherwise.
 */
static int
b64_check(size_t *declen, const char *in, size_t n)
{
	size_t pad = 0;
	int last;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (cu_base64_value((unsigned char)in[i]) < 0)
			return -1;
	if (pad > 0) {
		/* with one '=' the last data character carries 2 fill bits,
		 * with two it carries 4; they must be zero */
		last = cu_base64_value((unsigned char)in[n - pad - 1]);
		if ((last & (pad == 1 ? 0x03 : 0x0f)) != 0)
			return -1;
	}
	*declen = n / 4 * 3 - pad;
	return 0;
}

/*
 * Decodes canonical base64 in[0..n) into out (room for cap bytes); *outlen
 * receives the true length.  -1 if the text is not canonical, does not fit,
 * or is too long for OpenSSL.  All but the last quantum decode straight
 * into out (each gives exactly three bytes); the last one goes through a
 * small buffer so that its padding never lands in out.
 */
static int
b64_decode(unsigned char *out, size_t cap, size_t *outlen, const char *in, size_t n)
{
	unsigned char tail[3];
	size_t len, head;

	if (b64_check(&len, in, n) < 0 || len > cap || n > INT_MAX)
		return -1;
	*outlen = len;
	if (n == 0)
		return 0;
	head = n - 4;
	if (head > 0 && EVP_DecodeBlock(out, (const unsigned char *)in, (int)head) !=
			(int)(head / 4 * 3))
		return -1;
	if (EVP_DecodeBlock(tail, (const unsigned char *)in + head, 4) != 3)
		return -1;
	memcpy(out + head / 4 * 3, tail, len - head / 4 * 3);
	OPENSSL_cleanse(tail, sizeof(tail));
	return 0;
}

/* Base64 of data[0..len) into out, which must hold 4 * ((len + 2) / 3) + 1
 * bytes; the result is NUL-terminated.  Callers keep len small. */
static void
b64_encode(char *out, const unsigned char *data, size_t len)
{
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

/* ---- text checks ----------------------------------------------------- */

/*
 * 0 if s[0..len) is well-formed UTF-8 without ASCII control characters
 * other than newline (what c2sp.org/signed-note allows in a note); -1
 * otherwise, with *at the offset of the first bad byte.
 */
static int
check_chars(const char *s, size_t len, size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t start = i;
		long cp = cu_utf8_next(u, len, &i);

		if (cp < 0 || (cp < 0x20 && cp != '\n')) {
			*at = start;
			return -1;
		}
	}
	return 0;
}

/* 1 for the code points Unicode calls White_Space (Go's unicode.IsSpace,
 * which the reference implementation uses for key names). */
static int
is_unicode_space(long cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
		cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
		cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* 1 if name[0..len) is a valid key name: non-empty UTF-8 with no Unicode
 * space, no '+' and no control character. */
static int
valid_name(const char *name, size_t len)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t i = 0;

	if (len == 0)
		return 0;
	while (i < len) {
		long cp = cu_utf8_next(u, len, &i);

		if (cp < 0x20 || cp == '+' || is_unicode_space(cp))
			return 0;
	}
	return 1;
}

/*
 * Checks a note text: non-empty, ends in a newline, no blank line (neither
 * a leading newline nor "\n\n"), UTF-8 without control characters other
 * than newline.  0 or CU_EINVALID with the reason.
 */
static int
check_text(const char *text, size_t len)
{
	size_t at;

	if (len == 0)
		return cu_error_set(CU_EINVALID, "note text is empty");
	if (text[len - 1] != '\n')
		return cu_error_set(CU_EINVALID, "note text does not end in a newline");
	if (text[0] == '\n' || memmem(text, len, "\n\n", 2) != NULL)
		return cu_error_set(CU_EINVALID, "note text holds a blank line");
	if (check_chars(text, len, &at) < 0)
		return cu_error_set(CU_EINVALID,
			"note text: invalid UTF-8 or control character at byte %zu", at);
	return 0;
}

/* Parses s[0..n) as a decimal uint64 with no sign and no leading zero
 * (except "0" itself).  0 or -1. */
static int
parse_u64(uint64_t *out, const char *s, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The line that starts at s[*pos] (len bytes in s): its start and length
 * without the newline, and *pos moves past the newline.  -1 if no newline
 * ends it. */
static int
next_line(const char **line, size_t *linelen, const char *s, size_t len, size_t *pos)
{
	const char *nl;

	if (*pos >= len)
		return -1;
	if ((nl = memchr(s + *pos, '\n', len - *pos)) == NULL)
		return -1;
	*line = s + *pos;
	*linelen = (size_t)(nl - *line);
	*pos += *linelen + 1;
	return 0;
}

/* ---- keys ------------------------------------------------------------ */

/* SHA-256(name ‖ "\n" ‖ 0x01 ‖ pub)[:4].  If OpenSSL fails (it only can
 * when out of memory) the ID is all zeros, which matches no real key's
 * signature check: a note can then only fail to verify. */
void
cu_note_key_id(unsigned char id[4], const char *name, const unsigned char pub[CU_ED25519_PUB])
{
	static const unsigned char sep[2] = { '\n', ALG_ED25519 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;

	memset(id, 0, KEY_ID_LEN);
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
	    EVP_DigestUpdate(ctx, sep, sizeof(sep)) != 1 ||
	    EVP_DigestUpdate(ctx, pub, CU_ED25519_PUB) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < KEY_ID_LEN) {
		cu_error_set(CU_ERROR, "SHA-256 failed");
		goto done;
	}
	memcpy(id, md, KEY_ID_LEN);
done:
	EVP_MD_CTX_free(ctx);
}

/* name "+" hex(key ID) "+" base64(0x01 ‖ pub).  NULL with CU_EINVALID for
 * an invalid name, CU_ERROR when out of memory. */
char *
cu_note_vkey(const char *name, const unsigned char pub[CU_ED25519_PUB])
{
	unsigned char key[1 + CU_ED25519_PUB], id[KEY_ID_LEN];
	char idhex[2 * KEY_ID_LEN + 1], keyb64[4 * ((sizeof(key) + 2) / 3) + 1];

	if (!valid_name(name, strlen(name))) {
		cu_error_set(CU_EINVALID, "invalid key name \"%s\"", name);
		return NULL;
	}
	key[0] = ALG_ED25519;
	memcpy(key + 1, pub, CU_ED25519_PUB);
	cu_note_key_id(id, name, pub);
	cu_hex(idhex, id, KEY_ID_LEN);
	b64_encode(keyb64, key, sizeof(key));
	return cu_asprintf("%s+%s+%s", name, idhex, keyb64);
}

/*
 * Splits at the first two '+' (the base64 may hold more), as the reference
 * implementation does; the ID is exactly 8 hex digits (either case), the
 * key canonical base64 of 0x01 and 32 bytes, and the ID must be the one
 * the name and key give.
 */
int
cu_note_parse_vkey(char **name, unsigned char pub[CU_ED25519_PUB], const char *vkey)
{
	unsigned char key[1 + CU_ED25519_PUB], id[KEY_ID_LEN], want[KEY_ID_LEN];
	const char *plus1, *plus2, *b64;
	char idhex[2 * KEY_ID_LEN + 1];
	char *n = NULL;
	size_t namelen, keylen, b64len, got;
	int error = 0;

	*name = NULL;
	if ((plus1 = strchr(vkey, '+')) == NULL ||
	    (plus2 = strchr(plus1 + 1, '+')) == NULL) {
		error = cu_error_set(CU_EINVALID, "malformed verifier key: expected name+id+key");
		goto done;
	}
	namelen = (size_t)(plus1 - vkey);
	if (!valid_name(vkey, namelen)) {
		error = cu_error_set(CU_EINVALID, "malformed verifier key: invalid key name");
		goto done;
	}
	if (plus2 - plus1 - 1 != 2 * KEY_ID_LEN) {
		error = cu_error_set(CU_EINVALID, "malformed verifier key: key ID is not 8 hex digits");
		goto done;
	}
	memcpy(idhex, plus1 + 1, 2 * KEY_ID_LEN);
	idhex[2 * KEY_ID_LEN] = '\0';
	if (cu_unhex(id, KEY_ID_LEN, idhex) < 0) {
		error = cu_error_set(CU_EINVALID, "malformed verifier key: key ID is not 8 hex digits");
		goto done;
	}
	b64 = plus2 + 1;
	b64len = strlen(b64);
	if (b64_check(&keylen, b64, b64len) < 0 || keylen == 0) {
		error = cu_error_set(CU_EINVALID, "malformed verifier key: key is not base64");
		goto done;
	}
	/* the first quantum holds the algorithm byte */
	if (b64_decode(key, sizeof(key), &got, b64, 4) < 0 || key[0] != ALG_ED25519) {
		error = cu_error_set(CU_EINVALID,
			"verifier key: algorithm 0x%02x is not Ed25519 (0x01)", key[0]);
		goto done;
	}
	if (keylen != sizeof(key) || b64_decode(key, sizeof(key), &got, b64, b64len) < 0) {
		error = cu_error_set(CU_EINVALID, "verifier key: Ed25519 key of %zu bytes, expected %d",
			keylen - 1, CU_ED25519_PUB);
		goto done;
	}
	if ((n = strndup(vkey, namelen)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	cu_note_key_id(want, n, key + 1);
	if (memcmp(id, want, KEY_ID_LEN) != 0) {
		error = cu_error_set(CU_EINVALID,
			"verifier key: key ID %s does not match the name and key", idhex);
		goto done;
	}
	memcpy(pub, key + 1, CU_ED25519_PUB);
	*name = n;
	n = NULL;
done:
	free(n);
	return error;
}

/* ---- signed notes ---------------------------------------------------- */

/* text, a blank line, "— name base64(key ID ‖ Ed25519(text))\n". */
int
cu_note_sign(char **note, const char *text, const char *name, const cu_signer *s)
{
	unsigned char blob[SIG_BLOB_LEN];
	char b64[4 * ((SIG_BLOB_LEN + 2) / 3) + 1];
	size_t textlen, namelen, total;
	char *out = NULL, *p;
	int error;

	*note = NULL;
	textlen = strlen(text);
	namelen = strlen(name);
	if ((error = check_text(text, textlen)) < 0)
		return error;
	if (!valid_name(name, namelen))
		return cu_error_set(CU_EINVALID, "invalid key name \"%s\"", name);
	cu_note_key_id(blob, name, cu_signer_pub(s));
	if ((error = cu_sig_sign(blob + KEY_ID_LEN, s, text, textlen)) < 0)
		return error;
	b64_encode(b64, blob, sizeof(blob));

	/* text "\n" SIG_PREFIX name " " b64 "\n" NUL */
	if (textlen > SIZE_MAX / 2 || namelen > SIZE_MAX / 4)
		return cu_error_set(CU_ELIMIT, "note too large");
	total = textlen + 1 + SIG_PREFIX_LEN + namelen + 1 + strlen(b64) + 1 + 1;
	if ((out = malloc(total)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	p = out;
	memcpy(p, text, textlen);
	p += textlen;
	*p++ = '\n';
	memcpy(p, SIG_PREFIX, SIG_PREFIX_LEN);
	p += SIG_PREFIX_LEN;
	memcpy(p, name, namelen);
	p += namelen;
	*p++ = ' ';
	memcpy(p, b64, strlen(b64));
	p += strlen(b64);
	*p++ = '\n';
	*p = '\0';
	*note = out;
	return 0;
}

/*
 * The note must be UTF-8 without control characters other than newline;
 * the text ends at the last blank line and must itself hold none; every
 * signature line must be well formed ("— ", a valid name, a space,
 * canonical base64 of at least 5 bytes) and there may be at most
 * MAX_SIGS of them.  Lines by other keys (another name or another key
 * ID) are skipped; every line by (name, pub) must verify, and there must
 * be at least one.
 */
int
cu_note_verify(char **text, const char *note, const char *name,
	const unsigned char pub[CU_ED25519_PUB])
{
	unsigned char id[KEY_ID_LEN], blob[SIG_BLOB_LEN], head[6];
	size_t len, namelen, textlen, pos, at, nsigs = 0, good = 0;
	const char *split = NULL, *q;

	if (text != NULL)
		*text = NULL;
	len = strlen(note);
	namelen = strlen(name);
	if (!valid_name(name, namelen))
		return cu_error_set(CU_EINVALID, "invalid key name \"%s\"", name);
	if (check_chars(note, len, &at) < 0)
		return cu_error_set(CU_EINVALID,
			"malformed note: invalid UTF-8 or control character at byte %zu", at);
	/* the last "\n\n" separates the text from the signatures */
	for (q = note; (q = memmem(q, len - (size_t)(q - note), "\n\n", 2)) != NULL; q++)
		split = q;
	if (split == NULL)
		return cu_error_set(CU_EINVALID, "malformed note: no blank line before the signatures");
	textlen = (size_t)(split - note) + 1;
	if (note[0] == '\n' || memmem(note, textlen, "\n\n", 2) != NULL)
		return cu_error_set(CU_EINVALID, "malformed note: blank line in the text");
	pos = textlen + 1;
	if (pos >= len || note[len - 1] != '\n')
		return cu_error_set(CU_EINVALID, "malformed note: no signature lines");

	cu_note_key_id(id, name, pub);
	while (pos < len) {
		const char *line, *sp, *b64;
		size_t linelen, lnamelen, b64len, siglen, headlen;

		/* the last byte is a newline, so every line is terminated */
		if (next_line(&line, &linelen, note, len, &pos) < 0)
			return cu_error_set(CU_EINVALID, "malformed note: unterminated line");
		if (++nsigs > MAX_SIGS)
			return cu_error_set(CU_EINVALID, "malformed note: more than %d signatures",
				MAX_SIGS);
		if (linelen < SIG_PREFIX_LEN || memcmp(line, SIG_PREFIX, SIG_PREFIX_LEN) != 0)
			return cu_error_set(CU_EINVALID,
				"malformed note: signature line %zu does not start with \"— \"", nsigs);
		line += SIG_PREFIX_LEN;
		linelen -= SIG_PREFIX_LEN;
		if ((sp = memchr(line, ' ', linelen)) == NULL)
			return cu_error_set(CU_EINVALID,
				"malformed note: signature line %zu has no signature", nsigs);
		lnamelen = (size_t)(sp - line);
		b64 = sp + 1;
		b64len = linelen - lnamelen - 1;
		if (!valid_name(line, lnamelen))
			return cu_error_set(CU_EINVALID,
				"malformed note: signature line %zu has an invalid key name", nsigs);
		if (b64_check(&siglen, b64, b64len) < 0 || siglen < KEY_ID_LEN + 1)
			return cu_error_set(CU_EINVALID,
				"malformed note: signature line %zu is not base64 of a key ID and signature",
				nsigs);
		if (lnamelen != namelen || memcmp(line, name, namelen) != 0)
			continue;
		/* the first 8 characters hold the key ID (siglen >= 5) */
		if (b64_decode(head, sizeof(head), &headlen, b64, 8) < 0 ||
		    memcmp(head, id, KEY_ID_LEN) != 0)
			continue;
		if (siglen != SIG_BLOB_LEN ||
		    b64_decode(blob, sizeof(blob), &siglen, b64, b64len) < 0 ||
		    cu_sig_verify(pub, blob + KEY_ID_LEN, note, textlen) < 0)
			return cu_error_set(CU_EINVALID, "bad signature by %s", name);
		good++;
	}
	if (good == 0) {
		char idhex[2 * KEY_ID_LEN + 1];

		cu_hex(idhex, id, KEY_ID_LEN);
		return cu_error_set(CU_EINVALID, "note has no signature by %s+%s", name, idhex);
	}
	if (text != NULL && (*text = strndup(note, textlen)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* ---- checkpoints ----------------------------------------------------- */

/* "<origin>\n<size>\n<base64 root>\n".  NULL with CU_EINVALID for an
 * origin that is empty or holds a newline, an invalid UTF-8 sequence or a
 * control character; CU_ERROR when out of memory. */
char *
cu_checkpoint_text(const char *origin, uint64_t size, const unsigned char root[32])
{
	char b64[HASH_B64_LEN + 1];
	size_t at;

	if (origin[0] == '\0' || check_chars(origin, strlen(origin), &at) < 0 ||
	    strchr(origin, '\n') != NULL) {
		cu_error_set(CU_EINVALID, "checkpoint origin must be one non-empty line of UTF-8");
		return NULL;
	}
	b64_encode(b64, root, HASH_LEN);
	return cu_asprintf("%s\n%llu\n%s\n", origin, (unsigned long long)size, b64);
}

/*
 * Three lines (origin, size, root), then any number of non-empty
 * extension lines; every line ends in a newline and the whole text is
 * UTF-8 without other control characters.
 */
int
cu_checkpoint_parse(char **origin, uint64_t *size, unsigned char root[32], const char *text)
{
	const char *line;
	size_t len = strlen(text), pos = 0, linelen, got, at;
	unsigned char hash[HASH_LEN];
	uint64_t n;
	char *o = NULL;
	int error = 0;

	*origin = NULL;
	if (check_chars(text, len, &at) < 0) {
		error = cu_error_set(CU_EINVALID,
			"checkpoint: invalid UTF-8 or control character at byte %zu", at);
		goto done;
	}
	if (next_line(&line, &linelen, text, len, &pos) < 0 || linelen == 0) {
		error = cu_error_set(CU_EINVALID, "checkpoint: missing origin line");
		goto done;
	}
	if ((o = strndup(line, linelen)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if (next_line(&line, &linelen, text, len, &pos) < 0 || parse_u64(&n, line, linelen) < 0) {
		error = cu_error_set(CU_EINVALID, "checkpoint: bad tree size line");
		goto done;
	}
	if (next_line(&line, &linelen, text, len, &pos) < 0 ||
	    b64_decode(hash, sizeof(hash), &got, line, linelen) < 0 || got != HASH_LEN) {
		error = cu_error_set(CU_EINVALID, "checkpoint: root hash is not base64 of 32 bytes");
		goto done;
	}
	while (pos < len) {
		if (next_line(&line, &linelen, text, len, &pos) < 0) {
			error = cu_error_set(CU_EINVALID, "checkpoint: missing final newline");
			goto done;
		}
		if (linelen == 0) {
			error = cu_error_set(CU_EINVALID, "checkpoint: empty extension line");
			goto done;
		}
	}
	memcpy(root, hash, HASH_LEN);
	*size = n;
	*origin = o;
	o = NULL;
done:
	free(o);
	return error;
}

/* ---- proofs ---------------------------------------------------------- */

/*
 * header "\n" keyword " " value "\n", one base64 hash per line, a blank
 * line, the note.  NULL with CU_EINVALID for an empty note, CU_ELIMIT if
 * the size overflows, CU_ERROR when out of memory.
 */
static char *
proof_text(const char *header, const char *keyword, uint64_t value,
	const unsigned char proof[][32], size_t n, const char *note)
{
	char first[128], *out, *p;
	size_t notelen = strlen(note), firstlen, total;
	int r;

	if (notelen == 0) {
		cu_error_set(CU_EINVALID, "proof: empty checkpoint note");
		return NULL;
	}
	r = snprintf(first, sizeof(first), "%s\n%s %llu\n", header, keyword,
		(unsigned long long)value);
	if (r < 0 || (size_t)r >= sizeof(first)) {
		cu_error_set(CU_ERROR, "proof: header too long");
		return NULL;
	}
	firstlen = (size_t)r;
	if (notelen > SIZE_MAX / 2 || n > (SIZE_MAX / 2 - notelen) / (HASH_B64_LEN + 1)) {
		cu_error_set(CU_ELIMIT, "proof too large");
		return NULL;
	}
	total = firstlen + n * (HASH_B64_LEN + 1) + 1 + notelen + 1;
	if ((out = malloc(total)) == NULL) {
		cu_error_set(CU_ERROR, "out of memory");
		return NULL;
	}
	p = out;
	memcpy(p, first, firstlen);
	p += firstlen;
	for (size_t i = 0; i < n; i++) {
		b64_encode(p, proof[i], HASH_LEN);
		p += HASH_B64_LEN;
		*p++ = '\n';
	}
	*p++ = '\n';
	memcpy(p, note, notelen + 1);
	return out;
}

/*
 * The parser shared by both proof kinds: the header line; an optional
 * "extra <base64>" line (checked, then ignored); keyword " " decimal; up
 * to max lines of base64 of 32 bytes; a blank line; a non-empty note to
 * the end.  CU_ELIMIT for more than max hashes, CU_EINVALID for anything
 * else that is wrong.  Outputs are written only on success (proof may
 * hold partial data on failure).
 */
static int
proof_parse(uint64_t *value, unsigned char proof[][32], size_t *n, size_t max,
	char **note, const char *text, const char *header, const char *keyword)
{
	size_t len = strlen(text), pos = 0, linelen, kwlen = strlen(keyword), count = 0, got;
	const char *line;
	uint64_t v;
	char *copy = NULL;
	int error = 0;

	*note = NULL;
	*n = 0;
	if (next_line(&line, &linelen, text, len, &pos) < 0 ||
	    linelen != strlen(header) || memcmp(line, header, linelen) != 0) {
		error = cu_error_set(CU_EINVALID, "proof: first line is not \"%s\"", header);
		goto done;
	}
	if (next_line(&line, &linelen, text, len, &pos) < 0) {
		error = cu_error_set(CU_EINVALID, "proof: truncated after the first line");
		goto done;
	}
	if (linelen >= 6 && memcmp(line, "extra ", 6) == 0) {
		if (b64_check(&got, line + 6, linelen - 6) < 0) {
			error = cu_error_set(CU_EINVALID, "proof: extra data is not base64");
			goto done;
		}
		if (next_line(&line, &linelen, text, len, &pos) < 0) {
			error = cu_error_set(CU_EINVALID, "proof: truncated after the extra line");
			goto done;
		}
	}
	if (linelen <= kwlen || memcmp(line, keyword, kwlen) != 0 || line[kwlen] != ' ' ||
	    parse_u64(&v, line + kwlen + 1, linelen - kwlen - 1) < 0) {
		error = cu_error_set(CU_EINVALID, "proof: expected \"%s <decimal>\"", keyword);
		goto done;
	}
	for (;;) {
		unsigned char hash[HASH_LEN];

		if (next_line(&line, &linelen, text, len, &pos) < 0) {
			error = cu_error_set(CU_EINVALID, "proof: no blank line before the checkpoint");
			goto done;
		}
		if (linelen == 0)
			break;
		if (b64_decode(hash, sizeof(hash), &got, line, linelen) < 0 || got != HASH_LEN) {
			error = cu_error_set(CU_EINVALID, "proof: hash %zu is not base64 of 32 bytes",
				count + 1);
			goto done;
		}
		if (count >= max) {
			error = cu_error_set(CU_ELIMIT, "proof: more than %zu hashes", max);
			goto done;
		}
		memcpy(proof[count++], hash, HASH_LEN);
	}
	if (pos >= len) {
		error = cu_error_set(CU_EINVALID, "proof: no checkpoint after the blank line");
		goto done;
	}
	if ((copy = strdup(text + pos)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	*value = v;
	*n = count;
	*note = copy;
done:
	return error;
}

/* See proof_text: c2sp.org/tlog-proof@v1 with "index". */
char *
cu_proof_inclusion_text(uint64_t index, const unsigned char proof[][32], size_t n,
	const char *checkpoint_note)
{
	return proof_text(INCLUSION_HEADER, "index", index, proof, n, checkpoint_note);
}

/* See proof_parse. */
int
cu_proof_inclusion_parse(uint64_t *index, unsigned char proof[][32], size_t *n, size_t max,
	char **checkpoint_note, const char *text)
{
	return proof_parse(index, proof, n, max, checkpoint_note, text, INCLUSION_HEADER, "index");
}

/* See proof_text: custos.consistency-proof@v1 with "old". */
char *
cu_proof_consistency_text(uint64_t m, const unsigned char proof[][32], size_t n,
	const char *checkpoint_note)
{
	return proof_text(CONSISTENCY_HEADER, "old", m, proof, n, checkpoint_note);
}

/* See proof_parse; the grammar is the inclusion proof's, extra line
 * included. */
int
cu_proof_consistency_parse(uint64_t *m, unsigned char proof[][32], size_t *n, size_t max,
	char **checkpoint_note, const char *text)
{
	return proof_parse(m, proof, n, max, checkpoint_note, text, CONSISTENCY_HEADER, "old");
}
