/*
 * verify_proof.c — an independent checker for custos's transparency proofs.
 *
 * It uses only libc and OpenSSL (SHA-256, Ed25519) and shares no code with
 * custos, so an auditor can check a proof without trusting custos.  Build:
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -O2 -o verify_proof verify_proof.c -lcrypto
 *
 * Usage:
 *
 *   verify_proof inclusion   VKEY PROOF_FILE DOCUMENT_FILE
 *   verify_proof consistency VKEY OLD_CHECKPOINT_NOTE_FILE PROOF_FILE
 *
 * prints "OK: entry N is in <origin> at size S" or "OK: <origin> at size S
 * extends size M" and exits 0, or prints one line "FAIL: <reason>" and
 * exits 1; a usage error exits 2.  Both lines go to standard output.
 *
 * Formats.  Text is UTF-8 without control characters other than "\n"; every
 * line ends in "\n".  Base64 is RFC 4648 §4 (standard alphabet, '='
 * padding), canonical only: no whitespace, no missing padding, zero fill
 * bits.  A decimal is ASCII digits, no sign, no leading zero except "0"
 * itself, below 2^64.
 *
 *   VKEY (c2sp.org/signed-note verifier key):
 *     name "+" 8 hex digits (key ID) "+" base64(0x01 ‖ Ed25519 public key[32])
 *     key ID = first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key);
 *     a name is non-empty, without spaces or "+".
 *
 *   signed note (c2sp.org/signed-note):
 *     text (non-empty, ends in "\n", no blank line), a blank line, then at
 *     most 100 lines "— " name " " base64(key ID[4] ‖ signature) "\n" (the
 *     dash is U+2014, the signature at least 1 byte).  Lines by another name
 *     or key ID are skipped; every line with the VKEY's name and key ID must
 *     hold a good Ed25519 signature (64 bytes) over the text, final newline
 *     included, and there must be at least one.
 *
 *   checkpoint (c2sp.org/tlog-checkpoint), the text of a signed note:
 *     origin "\n" tree size (decimal) "\n" base64(root hash[32]) "\n",
 *     then optional non-empty extension lines.  The origin must equal the
 *     VKEY's name.
 *
 *   inclusion proof (c2sp.org/tlog-proof@v1):
 *     "c2sp.org/tlog-proof@v1\n"
 *     ["extra " base64 "\n"]               (opaque, not authenticated, ignored)
 *     "index " decimal "\n"
 *     base64(hash[32]) "\n"                (zero or more: leaf's sibling first)
 *     "\n"
 *     signed checkpoint note, to the end of the file
 *
 *   consistency proof: the same, with first line
 *     "custos.consistency-proof@v1" and "old " decimal (the old tree size)
 *     instead of "index "; the hashes are the RFC 6962 §2.1.2 PROOF from the
 *     old size to the size of the checkpoint that follows.
 *
 *   Merkle tree (RFC 6962 / RFC 9162): leaf hash = SHA-256(0x00 ‖ entry);
 *   node hash = SHA-256(0x01 ‖ left ‖ right); the empty tree's root is
 *   SHA-256("").  DOCUMENT_FILE holds the exact bytes of the logged entry.
 *   Inclusion is checked as in RFC 9162 §2.1.3.2, consistency as in
 *   §2.1.4.2 (old size 0: empty proof and the empty tree's root; equal
 *   sizes: empty proof and equal roots).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define TEXT_MAX    (1024 * 1024)   /* proof and note files */
#define MAX_HASHES  128
#define MAX_SIGS    100
#define HASH        32
#define PUB         32
#define SIG         64

#define INCLUSION_HEADER   "c2sp.org/tlog-proof@v1"
#define CONSISTENCY_HEADER "custos.consistency-proof@v1"

struct vkey {
	char name[512];
	size_t namelen;
	unsigned char id[4];
	unsigned char pub[PUB];
};

struct checkpoint {
	const char *origin;
	size_t originlen;
	uint64_t size;
	unsigned char root[HASH];
};

struct proof {
	uint64_t value;                  /* index or old size */
	unsigned char hash[MAX_HASHES][HASH];
	size_t n;
	const char *note;
	size_t notelen;
};

/* Prints "FAIL: <reason>" and exits 1. */
static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

/* ---- bytes ----------------------------------------------------------- */

/* Reads a whole file of at most TEXT_MAX bytes into a NUL-terminated
 * buffer (the NUL is not part of *len). */
static char *
read_text(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t got;

	if (fp == NULL)
		fail("%s: %s", path, strerror(errno));
	if ((buf = malloc(TEXT_MAX + 2)) == NULL)
		fail("out of memory");
	got = fread(buf, 1, TEXT_MAX + 1, fp);
	if (ferror(fp))
		fail("%s: read error", path);
	fclose(fp);
	if (got > TEXT_MAX)
		fail("%s: larger than %d bytes", path, TEXT_MAX);
	buf[got] = '\0';
	*len = got;
	return buf;
}

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes canonical base64 in[0..n) into out (room for cap bytes); out may
 * be NULL to check only.  Returns the decoded length, or -1 if the text is
 * not canonical base64 or does not fit.
 */
static long
unbase64(unsigned char *out, size_t cap, const char *in, size_t n)
{
	size_t pad = 0, len, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
	len = n / 4 * 3 - pad;
	if (out != NULL && len > cap)
		return -1;
	for (size_t i = 0; i < n - pad; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out != NULL)
				out[o] = (unsigned char)(acc >> bits);
			o++;
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)   /* fill bits must be zero */
		return -1;
	return (long)len;
}

/*
 * Decodes the UTF-8 character at s[*i] (n bytes in s): its code point, and
 * *i moves past it; -1 for a malformed, overlong, surrogate or out of range
 * sequence.
 */
static long
utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	size_t k = *i, need;
	long cp, min;

	if (s[k] < 0x80) {
		*i = k + 1;
		return s[k];
	}
	if (s[k] >= 0xc2 && s[k] <= 0xdf) {
		need = 1; cp = s[k] & 0x1f; min = 0x80;
	} else if (s[k] >= 0xe0 && s[k] <= 0xef) {
		need = 2; cp = s[k] & 0x0f; min = 0x800;
	} else if (s[k] >= 0xf0 && s[k] <= 0xf4) {
		need = 3; cp = s[k] & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (n - k - 1 < need)
		return -1;
	for (size_t j = 1; j <= need; j++) {
		if ((s[k + j] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[k + j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i = k + 1 + need;
	return cp;
}

/* 1 if s[0..n) is UTF-8 with no control character other than "\n". */
static int
valid_text(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		long cp = utf8_next((const unsigned char *)s, n, &i);

		if (cp < 0 || (cp < 0x20 && cp != '\n'))
			return 0;
	}
	return 1;
}

/* 1 if s[0..n) is a key name: non-empty UTF-8, no control character, no
 * "+", no Unicode white space. */
static int
valid_name(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return 0;
	while (i < n) {
		long cp = utf8_next((const unsigned char *)s, n, &i);

		if (cp < 0x20 || cp == '+' || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
		    cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
		    cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
			return 0;
	}
	return 1;
}

/* Parses s[0..n) as a canonical decimal below 2^64.  0 or -1. */
static int
decimal(uint64_t *out, const char *s, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The offset of the last "\n\n" in s[0..n), or -1. */
static long
last_blank(const char *s, size_t n)
{
	for (size_t i = n; i >= 2; i--)
		if (s[i - 2] == '\n' && s[i - 1] == '\n')
			return (long)(i - 2);
	return -1;
}

/* The line at s[*pos] (n bytes in s) without its "\n"; *pos moves past it.
 * -1 if there is no complete line left. */
static int
line_at(const char **line, size_t *len, const char *s, size_t n, size_t *pos)
{
	const char *nl;

	if (*pos >= n || (nl = memchr(s + *pos, '\n', n - *pos)) == NULL)
		return -1;
	*line = s + *pos;
	*len = (size_t)(nl - *line);
	*pos += *len + 1;
	return 0;
}

/* ---- hashing and signatures ------------------------------------------ */

/* out = SHA-256(a ‖ b ‖ c); any part may be empty. */
static void
sha256_3(unsigned char out[HASH], const void *a, size_t alen, const void *b, size_t blen,
	const void *c, size_t clen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 || EVP_DigestUpdate(ctx, b, blen) != 1 ||
	    EVP_DigestUpdate(ctx, c, clen) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != HASH)
		fail("OpenSSL SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

/* SHA-256(0x01 ‖ left ‖ right); out may alias either input. */
static void
node_hash(unsigned char out[HASH], const unsigned char left[HASH], const unsigned char right[HASH])
{
	static const unsigned char one = 0x01;
	unsigned char lr[2 * HASH];

	memcpy(lr, left, HASH);
	memcpy(lr + HASH, right, HASH);
	sha256_3(out, &one, 1, lr, sizeof(lr), "", 0);
}

/* SHA-256(0x00 ‖ file contents), read in pieces (documents may be large). */
static void
leaf_hash_file(unsigned char out[HASH], const char *path)
{
	static const unsigned char zero = 0x00;
	unsigned char buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *fp = fopen(path, "rb");
	unsigned int len = 0;
	size_t got;

	if (fp == NULL)
		fail("%s: %s", path, strerror(errno));
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &zero, 1) != 1)
		fail("OpenSSL SHA-256 failed");
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (EVP_DigestUpdate(ctx, buf, got) != 1)
			fail("OpenSSL SHA-256 failed");
	if (ferror(fp))
		fail("%s: read error", path);
	fclose(fp);
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != HASH)
		fail("OpenSSL SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

/* 1 if sig is a good Ed25519 signature by pub over msg[0..len). */
static int
ed25519_ok(const unsigned char pub[PUB], const unsigned char sig[SIG], const char *msg, size_t len)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PUB);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (pkey != NULL && ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1)
		ok = EVP_DigestVerify(ctx, sig, SIG, (const unsigned char *)msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}

/* ---- keys, notes, checkpoints, proofs -------------------------------- */

/* Parses the VKEY argument; fails unless its key ID checks out. */
static void
parse_vkey(struct vkey *k, const char *s)
{
	static const unsigned char alg = 0x01;
	const char *p1 = strchr(s, '+'), *p2 = p1 != NULL ? strchr(p1 + 1, '+') : NULL;
	unsigned char key[1 + PUB], md[HASH];

	if (p1 == NULL || p2 == NULL)
		fail("VKEY: expected name+keyid+key");
	k->namelen = (size_t)(p1 - s);
	if (!valid_name(s, k->namelen) || k->namelen >= sizeof(k->name))
		fail("VKEY: invalid key name");
	memcpy(k->name, s, k->namelen);
	k->name[k->namelen] = '\0';
	if (p2 - p1 - 1 != 8)
		fail("VKEY: key ID is not 8 hex digits");
	for (int i = 0; i < 4; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = p1[1 + 2 * i + j];
			int d = (c >= '0' && c <= '9') ? c - '0' :
				(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
				(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;

			if (d < 0)
				fail("VKEY: key ID is not 8 hex digits");
			v = v << 4 | (unsigned)d;
		}
		k->id[i] = (unsigned char)v;
	}
	if (unbase64(key, sizeof(key), p2 + 1, strlen(p2 + 1)) != (long)sizeof(key))
		fail("VKEY: key is not base64 of 33 bytes");
	if (key[0] != alg)
		fail("VKEY: algorithm 0x%02x is not Ed25519 (0x01)", key[0]);
	memcpy(k->pub, key + 1, PUB);
	sha256_3(md, k->name, k->namelen, "\n", 1, key, sizeof(key));
	if (memcmp(md, k->id, 4) != 0)
		fail("VKEY: key ID does not match the name and key");
}

/*
 * Checks the signed note note[0..len) against the key; on success *textlen
 * is the length of its text (which starts at note).  what names the file
 * in messages.
 */
static void
verify_note(size_t *textlen, const char *note, size_t len, const struct vkey *k,
	const char *what)
{
	static const char dash[] = "\xe2\x80\x94 ";   /* U+2014, space */
	size_t pos, tlen, nsigs = 0, good = 0;
	long split;

	if (!valid_text(note, len))
		fail("%s: note is not UTF-8 text without control characters", what);
	/* the text ends at the last blank line and must hold none itself */
	if ((split = last_blank(note, len)) < 0)
		fail("%s: note has no blank line before its signatures", what);
	tlen = (size_t)split + 1;
	if (note[0] == '\n' || last_blank(note, tlen) >= 0)
		fail("%s: note text holds a blank line", what);
	pos = tlen + 1;
	if (pos >= len || note[len - 1] != '\n')
		fail("%s: note has no signature lines", what);
	while (pos < len) {
		const char *line, *sp, *b64;
		size_t n, lname, blen;
		unsigned char sig[4 + SIG];
		long siglen;

		if (line_at(&line, &n, note, len, &pos) < 0)
			fail("%s: unterminated signature line", what);
		if (++nsigs > MAX_SIGS)
			fail("%s: more than %d signature lines", what, MAX_SIGS);
		if (n < 4 || memcmp(line, dash, 4) != 0)
			fail("%s: signature line %zu does not start with an em dash and a space",
				what, nsigs);
		line += 4;
		n -= 4;
		if ((sp = memchr(line, ' ', n)) == NULL)
			fail("%s: signature line %zu has no signature", what, nsigs);
		lname = (size_t)(sp - line);
		b64 = sp + 1;
		blen = n - lname - 1;
		if (!valid_name(line, lname))
			fail("%s: signature line %zu has an invalid key name", what, nsigs);
		if ((siglen = unbase64(NULL, 0, b64, blen)) < 5)
			fail("%s: signature line %zu is not base64 of a key ID and a signature",
				what, nsigs);
		if (lname != k->namelen || memcmp(line, k->name, lname) != 0)
			continue;   /* another signer */
		if (siglen != (long)sizeof(sig)) {
			unsigned char head[6];

			/* the key ID is in the first 8 characters */
			if (unbase64(head, sizeof(head), b64, 8) < 4 || memcmp(head, k->id, 4) != 0)
				continue;
			fail("%s: signature by %s is not 64 bytes", what, k->name);
		}
		if (unbase64(sig, sizeof(sig), b64, blen) != (long)sizeof(sig))
			fail("%s: signature line %zu is not base64", what, nsigs);
		if (memcmp(sig, k->id, 4) != 0)
			continue;   /* same name, another key */
		if (!ed25519_ok(k->pub, sig + 4, note, tlen))
			fail("%s: bad signature by %s", what, k->name);
		good++;
	}
	if (good == 0)
		fail("%s: no signature by %s", what, k->name);
	*textlen = tlen;
}

/* Parses checkpoint text t[0..n). */
static void
parse_checkpoint(struct checkpoint *c, const char *t, size_t n, const char *what)
{
	const char *line;
	size_t pos = 0, len;

	if (line_at(&line, &len, t, n, &pos) < 0 || len == 0)
		fail("%s: checkpoint has no origin line", what);
	c->origin = line;
	c->originlen = len;
	if (line_at(&line, &len, t, n, &pos) < 0 || decimal(&c->size, line, len) < 0)
		fail("%s: checkpoint tree size is not a decimal", what);
	if (line_at(&line, &len, t, n, &pos) < 0 ||
	    unbase64(c->root, HASH, line, len) != HASH)
		fail("%s: checkpoint root is not base64 of 32 bytes", what);
	while (pos < n)
		if (line_at(&line, &len, t, n, &pos) < 0 || len == 0)
			fail("%s: checkpoint has a bad extension line", what);
}

/* Verifies a checkpoint note and parses its text; its origin must be the
 * key's name. */
static void
open_checkpoint(struct checkpoint *c, const char *note, size_t len, const struct vkey *k,
	const char *what)
{
	size_t tlen;

	verify_note(&tlen, note, len, k, what);
	parse_checkpoint(c, note, tlen, what);
	if (c->originlen != k->namelen || memcmp(c->origin, k->name, k->namelen) != 0)
		fail("%s: checkpoint origin \"%.*s\" is not the key name \"%s\"", what,
			(int)c->originlen, c->origin, k->name);
}

/* Parses a proof file t[0..n) with the given first line and keyword. */
static void
parse_proof(struct proof *p, const char *t, size_t n, const char *header, const char *keyword,
	const char *what)
{
	size_t pos = 0, len, kw = strlen(keyword);
	const char *line;

	if (line_at(&line, &len, t, n, &pos) < 0 || len != strlen(header) ||
	    memcmp(line, header, len) != 0)
		fail("%s: first line is not \"%s\"", what, header);
	if (line_at(&line, &len, t, n, &pos) < 0)
		fail("%s: truncated", what);
	if (len >= 6 && memcmp(line, "extra ", 6) == 0) {
		if (unbase64(NULL, 0, line + 6, len - 6) < 0)
			fail("%s: extra data is not base64", what);
		if (line_at(&line, &len, t, n, &pos) < 0)
			fail("%s: truncated", what);
	}
	if (len <= kw || memcmp(line, keyword, kw) != 0 || line[kw] != ' ' ||
	    decimal(&p->value, line + kw + 1, len - kw - 1) < 0)
		fail("%s: expected \"%s <decimal>\"", what, keyword);
	p->n = 0;
	for (;;) {
		if (line_at(&line, &len, t, n, &pos) < 0)
			fail("%s: no blank line before the checkpoint", what);
		if (len == 0)
			break;
		if (p->n == MAX_HASHES)
			fail("%s: more than %d hashes", what, MAX_HASHES);
		if (unbase64(p->hash[p->n], HASH, line, len) != HASH)
			fail("%s: hash %zu is not base64 of 32 bytes", what, p->n + 1);
		p->n++;
	}
	if (pos >= n)
		fail("%s: no checkpoint after the blank line", what);
	p->note = t + pos;
	p->notelen = n - pos;
}

/* ---- RFC 9162 -------------------------------------------------------- */

/* RFC 9162 §2.1.3.2.  1 if the proof holds. */
static int
inclusion_ok(const unsigned char leaf[HASH], uint64_t index, uint64_t size,
	unsigned char proof[][HASH], size_t n, const unsigned char root[HASH])
{
	unsigned char r[HASH];
	uint64_t fn, sn;

	if (index >= size)
		return 0;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, HASH);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return 0;
		if ((fn & 1) || fn == sn) {
			node_hash(r, proof[i], r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			node_hash(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, HASH) == 0;
}

/* RFC 9162 §2.1.4.2 for 0 < m < n; the edge cases as described at the
 * top.  1 if the proof holds. */
static int
consistency_ok(uint64_t m, uint64_t n, const unsigned char old_root[HASH],
	const unsigned char new_root[HASH], unsigned char proof[][HASH], size_t count)
{
	unsigned char fr[HASH], sr[HASH], empty[HASH];
	uint64_t fn, sn;
	size_t i;

	if (m > n)
		return 0;
	if (m == n)
		return count == 0 && memcmp(old_root, new_root, HASH) == 0;
	if (m == 0) {
		sha256_3(empty, "", 0, "", 0, "", 0);
		return count == 0 && memcmp(old_root, empty, HASH) == 0;
	}
	if (count == 0)
		return 0;
	/* if m is a power of two, the path starts with the old root itself */
	if ((m & (m - 1)) == 0) {
		memcpy(fr, old_root, HASH);
		i = 0;
	} else {
		memcpy(fr, proof[0], HASH);
		i = 1;
	}
	memcpy(sr, fr, HASH);
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < count; i++) {
		if (sn == 0)
			return 0;
		if ((fn & 1) || fn == sn) {
			node_hash(fr, proof[i], fr);
			node_hash(sr, proof[i], sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			node_hash(sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, old_root, HASH) == 0 && memcmp(sr, new_root, HASH) == 0;
}

/* ---- commands -------------------------------------------------------- */

static int
cmd_inclusion(const char *vkeyarg, const char *proof_path, const char *doc_path)
{
	static struct proof p;
	struct vkey k;
	struct checkpoint c;
	unsigned char leaf[HASH];
	size_t len;
	char *text;

	parse_vkey(&k, vkeyarg);
	text = read_text(proof_path, &len);
	parse_proof(&p, text, len, INCLUSION_HEADER, "index", proof_path);
	open_checkpoint(&c, p.note, p.notelen, &k, proof_path);
	leaf_hash_file(leaf, doc_path);
	if (p.value >= c.size)
		fail("entry %llu is beyond the checkpoint's tree size %llu",
			(unsigned long long)p.value, (unsigned long long)c.size);
	if (!inclusion_ok(leaf, p.value, c.size, p.hash, p.n, c.root))
		fail("%s is not entry %llu of %s at size %llu (inclusion proof does not hold)",
			doc_path, (unsigned long long)p.value, k.name, (unsigned long long)c.size);
	printf("OK: entry %llu is in %s at size %llu\n", (unsigned long long)p.value, k.name,
		(unsigned long long)c.size);
	free(text);
	return 0;
}

static int
cmd_consistency(const char *vkeyarg, const char *old_path, const char *proof_path)
{
	static struct proof p;
	struct vkey k;
	struct checkpoint old, cur;
	size_t oldlen, len;
	char *oldnote, *text;

	parse_vkey(&k, vkeyarg);
	oldnote = read_text(old_path, &oldlen);
	open_checkpoint(&old, oldnote, oldlen, &k, old_path);
	text = read_text(proof_path, &len);
	parse_proof(&p, text, len, CONSISTENCY_HEADER, "old", proof_path);
	open_checkpoint(&cur, p.note, p.notelen, &k, proof_path);
	if (old.originlen != cur.originlen || memcmp(old.origin, cur.origin, old.originlen) != 0)
		fail("the two checkpoints have different origins");
	if (p.value != old.size)
		fail("the proof starts at size %llu but the old checkpoint has size %llu",
			(unsigned long long)p.value, (unsigned long long)old.size);
	if (old.size > cur.size)
		fail("the old checkpoint (size %llu) is larger than the new one (size %llu)",
			(unsigned long long)old.size, (unsigned long long)cur.size);
	if (!consistency_ok(old.size, cur.size, old.root, cur.root, p.hash, p.n))
		fail("%s at size %llu is not consistent with size %llu (consistency proof does not hold)",
			k.name, (unsigned long long)cur.size, (unsigned long long)old.size);
	printf("OK: %s at size %llu extends size %llu\n", k.name,
		(unsigned long long)cur.size, (unsigned long long)old.size);
	free(text);
	free(oldnote);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "inclusion") == 0)
		return cmd_inclusion(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "consistency") == 0)
		return cmd_consistency(argv[2], argv[3], argv[4]);
	fprintf(stderr,
		"usage: verify_proof inclusion VKEY PROOF_FILE DOCUMENT_FILE\n"
		"       verify_proof consistency VKEY OLD_CHECKPOINT_NOTE_FILE PROOF_FILE\n");
	return 2;
}
