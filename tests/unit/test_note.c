/*
 * test_note.c — C2SP signed notes (checked against the published vectors
 * of golang.org/x/mod/sumdb/note), tlog checkpoints and proofs, and the
 * parsers' behaviour on hostile input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "custos/error.h"
#include "custos/note.h"
#include "custos/sig.h"
#include "custos/util.h"

/* The example of the golang.org/x/mod/sumdb/note package documentation. */
#define GO_VKEY  "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_SKEY_B64 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  /* 0x01 ‖ seed */
#define GO_NAME  "PeterNeumann"
#define GO_TEXT  "If you think cryptography is the answer to your problem,\n" \
                 "then you don't know what your problem is.\n"
#define GO_SIG   "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define GO_NOTE  GO_TEXT "\n" GO_SIG

#define EM_DASH  "\xe2\x80\x94"
#define ORIGIN   "archive.example/log"

struct fixture {
	char dir[64];
	cu_signer *a, *b;   /* two fresh keys */
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/custos-note-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/a.pem", f->dir);
	if (cu_sig_keygen(path) < 0 || cu_signer_load(&f->a, path) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/b.pem", f->dir);
	if (cu_sig_keygen(path) < 0 || cu_signer_load(&f->b, path) < 0)
		goto fail;
	*state = f;
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", cu_error_last());
	return -1;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	cu_signer_free(f->a);
	cu_signer_free(f->b);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Test-side base64 decoding through OpenSSL alone (so it shares no code
 * with note.c): EVP_DecodeBlock counts padding as data, so the '=' are
 * subtracted here. */
static size_t
unb64(unsigned char *out, const char *in)
{
	size_t n = strlen(in);
	int r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);

	assert_true(r >= 0);
	if (n > 0 && in[n - 1] == '=')
		r--;
	if (n > 1 && in[n - 2] == '=')
		r--;
	return (size_t)r;
}

/* A copy of s with the first occurrence of from replaced by to. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	assert_non_null(at);
	out = cu_asprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	assert_non_null(out);
	return out;
}

/* Verifies and returns the result, discarding the text. */
static int
verify(const char *note, const char *name, const unsigned char *pub)
{
	return cu_note_verify(NULL, note, name, pub);
}

/* Loads the Go example's signer: the seed is written as a PKCS#8 PEM file
 * of mode 0600, since cu_signer has no constructor from raw bytes. */
static cu_signer *
go_signer(const struct fixture *f)
{
	unsigned char raw[64];
	char path[128];
	EVP_PKEY *pkey;
	cu_signer *s = NULL;
	FILE *fp;
	int fd;

	assert_int_equal(unb64(raw, GO_SKEY_B64), 33);
	assert_int_equal(raw[0], 0x01);
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	assert_non_null(pkey);
	snprintf(path, sizeof(path), "%s/go.pem", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL), 1);
	assert_int_equal(fclose(fp), 0);
	EVP_PKEY_free(pkey);
	OPENSSL_cleanse(raw, sizeof(raw));
	assert_int_equal(cu_signer_load(&s, path), 0);
	return s;
}

/* ---- the Go vectors -------------------------------------------------- */

static void
test_go_vkey(void **state)
{
	unsigned char pub[CU_ED25519_PUB], id[4];
	const unsigned char want_id[4] = { 0xc7, 0x4f, 0x20, 0xa3 };
	char *name = NULL, *vkey;

	(void)state;
	assert_int_equal(cu_note_parse_vkey(&name, pub, GO_VKEY), 0);
	assert_string_equal(name, GO_NAME);
	cu_note_key_id(id, name, pub);
	assert_memory_equal(id, want_id, 4);
	vkey = cu_note_vkey(name, pub);
	assert_non_null(vkey);
	assert_string_equal(vkey, GO_VKEY);
	free(vkey);
	free(name);

	/* the reference parser takes the key ID in either case */
	assert_int_equal(cu_note_parse_vkey(&name, pub,
		"PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), 0);
	free(name);
}

static void
test_go_verify(void **state)
{
	unsigned char pub[CU_ED25519_PUB];
	char *name = NULL, *text = NULL;

	(void)state;
	assert_int_equal(cu_note_parse_vkey(&name, pub, GO_VKEY), 0);
	assert_int_equal(cu_note_verify(&text, GO_NOTE, name, pub), 0);
	assert_string_equal(text, GO_TEXT);
	free(text);
	free(name);
}

static void
test_go_sign(void **state)
{
	unsigned char pub[CU_ED25519_PUB];
	char *name = NULL, *note = NULL;
	cu_signer *s = go_signer(*state);

	assert_int_equal(cu_note_parse_vkey(&name, pub, GO_VKEY), 0);
	assert_memory_equal(cu_signer_pub(s), pub, CU_ED25519_PUB);
	assert_int_equal(cu_note_sign(&note, GO_TEXT, GO_NAME, s), 0);
	assert_string_equal(note, GO_NOTE);
	free(note);
	free(name);
	cu_signer_free(s);
}

/* Every single-bit change and every truncation of the Go note fails. */
static void
test_go_note_every_change(void **state)
{
	unsigned char pub[CU_ED25519_PUB];
	size_t len = strlen(GO_NOTE);
	char *name = NULL;

	(void)state;
	assert_int_equal(cu_note_parse_vkey(&name, pub, GO_VKEY), 0);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *c = strdup(GO_NOTE);

			assert_non_null(c);
			c[i] ^= (char)(1 << bit);
			if (c[i] != '\0')
				assert_int_equal(verify(c, name, pub), CU_EINVALID);
			free(c);
		}
	}
	for (size_t k = 0; k < len; k++) {
		char *c = strndup(GO_NOTE, k);   /* exactly k + 1 bytes */

		assert_non_null(c);
		assert_int_equal(verify(c, name, pub), CU_EINVALID);
		free(c);
	}
	free(name);
}

/* ---- verifier keys --------------------------------------------------- */

static void
test_vkey_mangled(void **state)
{
	const char *vkey = GO_VKEY;
	size_t len = strlen(vkey);
	unsigned char pub[CU_ED25519_PUB];
	char *name = NULL;

	(void)state;
	/* every proper substring */
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			char *sub;

			if (i == 0 && j == len)
				continue;
			sub = strndup(vkey + i, j - i);
			assert_non_null(sub);
			assert_int_equal(cu_note_parse_vkey(&name, pub, sub), CU_EINVALID);
			assert_null(name);
			free(sub);
		}
	}
	/* every byte changed */
	for (size_t i = 0; i < len; i++) {
		char *c = strdup(vkey);

		assert_non_null(c);
		c[i]++;
		/* 'c' -> 'd' etc. in the ID, or a different name or key: the ID
		 * no longer matches, or the text is no longer well formed */
		assert_int_equal(cu_note_parse_vkey(&name, pub, c), CU_EINVALID);
		free(c);
	}
	assert_int_equal(cu_note_parse_vkey(&name, pub, ""), CU_EINVALID);
	assert_int_equal(cu_note_parse_vkey(&name, pub, "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
		CU_EINVALID);
	/* padding removed, whitespace added */
	assert_int_equal(cu_note_parse_vkey(&name, pub, GO_VKEY "="), CU_EINVALID);
	assert_int_equal(cu_note_parse_vkey(&name, pub, GO_VKEY "\n"), CU_EINVALID);
	assert_int_equal(cu_note_parse_vkey(&name, pub, " " GO_VKEY), CU_EINVALID);
}

/* An algorithm other than 0x01 is refused even with a consistent ID. */
static void
test_vkey_other_algorithm(void **state)
{
	unsigned char key[33], md[32], pub[CU_ED25519_PUB];
	char b64[64], idhex[9], vkey[128], *name = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;

	(void)state;
	assert_non_null(ctx);
	memset(key, 0x42, sizeof(key));
	key[0] = 0x02;
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, "k\n", 2), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, key, sizeof(key)), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	EVP_MD_CTX_free(ctx);
	cu_hex(idhex, md, 4);
	EVP_EncodeBlock((unsigned char *)b64, key, sizeof(key));
	snprintf(vkey, sizeof(vkey), "k+%s+%s", idhex, b64);
	assert_int_equal(cu_note_parse_vkey(&name, pub, vkey), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "algorithm"));
	assert_null(name);
}

static void
test_vkey_round_trip(void **state)
{
	struct fixture *f = *state;
	unsigned char pub[CU_ED25519_PUB];
	char *vkey, *name = NULL;

	vkey = cu_note_vkey("example.com/log", cu_signer_pub(f->a));
	assert_non_null(vkey);
	assert_int_equal(cu_note_parse_vkey(&name, pub, vkey), 0);
	assert_string_equal(name, "example.com/log");
	assert_memory_equal(pub, cu_signer_pub(f->a), CU_ED25519_PUB);
	free(name);
	free(vkey);

	assert_null(cu_note_vkey("", cu_signer_pub(f->a)));
	assert_null(cu_note_vkey("a b", cu_signer_pub(f->a)));
	assert_null(cu_note_vkey("a+b", cu_signer_pub(f->a)));
	assert_null(cu_note_vkey("a\xc2\xa0" "b", cu_signer_pub(f->a)));   /* U+00A0 */
	assert_null(cu_note_vkey("a\xe3\x80\x80" "b", cu_signer_pub(f->a))); /* U+3000 */
	assert_null(cu_note_vkey("a\xff", cu_signer_pub(f->a)));
	assert_int_equal(cu_error_code(), CU_EINVALID);
}

/* ---- signing and verifying ------------------------------------------- */

static void
test_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *text = ORIGIN "\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	char *note = NULL, *got = NULL;

	assert_int_equal(cu_note_sign(&note, text, ORIGIN, f->a), 0);
	assert_int_equal(strncmp(note, text, strlen(text)), 0);
	assert_int_equal(strncmp(note + strlen(text), "\n" EM_DASH " " ORIGIN " ",
		strlen("\n" EM_DASH " " ORIGIN " ")), 0);
	assert_int_equal(cu_note_verify(&got, note, ORIGIN, cu_signer_pub(f->a)), 0);
	assert_string_equal(got, text);
	free(got);
	assert_int_equal(verify(note, ORIGIN, cu_signer_pub(f->a)), 0);

	/* UTF-8 text and name */
	free(note);
	assert_int_equal(cu_note_sign(&note, "caf\xc3\xa9\nna\xc3\xafve\n", "\xc3\xa9t\xc3\xa9", f->a), 0);
	assert_int_equal(verify(note, "\xc3\xa9t\xc3\xa9", cu_signer_pub(f->a)), 0);
	free(note);
}

static void
test_alterations_rejected(void **state)
{
	struct fixture *f = *state;
	const char *text = "one\ntwo\n";
	const unsigned char *pa = cu_signer_pub(f->a);
	char *note = NULL, *c, *nl, *b64;

	assert_int_equal(cu_note_sign(&note, text, "log", f->a), 0);

	/* wrong key, wrong name */
	assert_int_equal(verify(note, "log", cu_signer_pub(f->b)), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "no signature"));
	assert_int_equal(verify(note, "lo", pa), CU_EINVALID);
	assert_int_equal(verify(note, "logs", pa), CU_EINVALID);

	/* altered text */
	c = replace(note, "two", "twO");
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "bad signature"));
	free(c);

	/* altered name in the signature line */
	c = replace(note, EM_DASH " log ", EM_DASH " Log ");
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "no signature"));
	free(c);

	/* altered key ID (first base64 character) and signature (a middle
	 * one): a change within the alphabet keeps the encoding canonical */
	b64 = strstr(note, EM_DASH " log ") + strlen(EM_DASH " log ");
	for (size_t at = 0; at < 90; at += 3) {
		c = strdup(note);
		assert_non_null(c);
		c[b64 - note + at] = c[b64 - note + at] == 'A' ? 'B' : 'A';
		assert_int_equal(verify(c, "log", pa), CU_EINVALID);
		assert_non_null(strstr(cu_error_last(), at < 5 ? "no signature" : "bad signature"));
		free(c);
	}

	/* signature of the same key over another text */
	{
		char *other = NULL;

		assert_int_equal(cu_note_sign(&other, "one\ntwO\n", "log", f->a), 0);
		nl = strstr(other, "\n\n");
		c = cu_asprintf("%s\n%s", text, nl + 2);
		assert_int_equal(verify(c, "log", pa), CU_EINVALID);
		free(c);
		free(other);
	}
	free(note);
}

/* Lines by other keys are skipped; any line by the key must verify. */
static void
test_other_signatures(void **state)
{
	struct fixture *f = *state;
	const unsigned char *pa = cu_signer_pub(f->a), *pb = cu_signer_pub(f->b);
	const char *text = "t\n";
	char *na = NULL, *nb = NULL, *nb2 = NULL, *c, *la, *lb, *lb2;

	assert_int_equal(cu_note_sign(&na, text, "log", f->a), 0);
	assert_int_equal(cu_note_sign(&nb, text, "witness", f->b), 0);
	assert_int_equal(cu_note_sign(&nb2, text, "log", f->b), 0);   /* same name, other key */
	la = strstr(na, "\n\n") + 2;
	lb = strstr(nb, "\n\n") + 2;
	lb2 = strstr(nb2, "\n\n") + 2;

	c = cu_asprintf("%s\n%s%s%s", text, lb, lb2, la);
	assert_int_equal(verify(c, "log", pa), 0);
	assert_int_equal(verify(c, "witness", pb), 0);
	assert_int_equal(verify(c, "log", pb), 0);
	free(c);

	/* an unknown algorithm's longer signature, by another name and by
	 * the same name under another key ID */
	{
		char big[4001];

		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		c = cu_asprintf("%s\n" EM_DASH " other %s\n%s" EM_DASH " log %s\n",
			text, big, la, big);
		assert_int_equal(verify(c, "log", pa), 0);
		free(c);
	}

	/* a second, bad line by the same key: the note is refused */
	{
		char *bad = replace(la, EM_DASH " log ", EM_DASH " log ");
		size_t at = strlen(bad) - 10;

		bad[at] = bad[at] == 'A' ? 'B' : 'A';
		c = cu_asprintf("%s\n%s%s", text, la, bad);
		assert_int_equal(verify(c, "log", pa), CU_EINVALID);
		assert_non_null(strstr(cu_error_last(), "bad signature"));
		free(c);
		free(bad);
	}

	/* a signature by the key's ID but of the wrong length */
	c = cu_asprintf("%s\n%s%.*s\n", text, la, (int)strlen(EM_DASH " log ") + 8, la);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "bad signature"));
	free(c);

	/* only unknown signatures */
	c = cu_asprintf("%s\n%s", text, lb);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "no signature"));
	free(c);
	free(na);
	free(nb);
	free(nb2);
}

static void
test_signature_limit(void **state)
{
	struct fixture *f = *state;
	const char *text = "t\n";
	char *na = NULL, *nb = NULL, *la, *lb;
	size_t cap = 200 * 200, len;
	char *buf = malloc(cap);

	assert_non_null(buf);
	assert_int_equal(cu_note_sign(&na, text, "log", f->a), 0);
	assert_int_equal(cu_note_sign(&nb, text, "other", f->b), 0);
	la = strstr(na, "\n\n") + 2;
	lb = strstr(nb, "\n\n") + 2;

	/* 99 others and ours: 100 lines */
	len = (size_t)snprintf(buf, cap, "%s\n", text);
	for (int i = 0; i < 99; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s", lb);
	snprintf(buf + len, cap - len, "%s", la);
	assert_int_equal(verify(buf, "log", cu_signer_pub(f->a)), 0);

	/* 101 */
	snprintf(buf + len, cap - len, "%s%s", lb, la);
	assert_int_equal(verify(buf, "log", cu_signer_pub(f->a)), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "more than 100"));
	free(buf);
	free(na);
	free(nb);
}

static void
test_malformed_notes(void **state)
{
	struct fixture *f = *state;
	const unsigned char *pa = cu_signer_pub(f->a);
	char *note = NULL, *c;
	const char *sig;
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "two\n\n", "two\n" },                          /* no blank line */
		{ "one\n", "one\n\n" },                          /* blank line inside the text */
		{ "one\n", "\none\n" },                          /* text starts with a blank line */
		{ "two\n\n", "two\n\n\n" },                      /* two blank lines */
		{ EM_DASH " log", "- log" },                     /* ASCII hyphen */
		{ EM_DASH " log", "\xe2\x80\x93 log" },          /* en dash */
		{ EM_DASH " log", EM_DASH "log" },               /* no space after the dash */
		{ EM_DASH " log", EM_DASH "  log" },             /* two spaces */
		{ EM_DASH " log ", EM_DASH " log  " },           /* two spaces before base64 */
		{ EM_DASH " log ", EM_DASH " lo+g " },           /* '+' in the name */
		{ EM_DASH " log ", EM_DASH " lo\xc2\xa0g " },    /* no-break space in the name */
		{ "one", "o\rne" },                              /* control character */
		{ "one\ntwo\n", "one\r\ntwo\r\n" },              /* CRLF */
		{ "one", "o\xc3" "ne" },                         /* invalid UTF-8 */
		{ "one", "o\xed\xa0\x80ne" },                    /* a surrogate */
		{ "one", "o\xc0\xafne" },                        /* overlong */
	};

	assert_int_equal(cu_note_sign(&note, "one\ntwo\n", "log", f->a), 0);
	assert_int_equal(verify(note, "log", pa), 0);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		c = replace(note, edits[i].from, edits[i].to);
		assert_int_equal(verify(c, "log", pa), CU_EINVALID);
		free(c);
	}

	/* missing final newline; an extra empty line at the end; trailing space */
	c = strndup(note, strlen(note) - 1);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	free(c);
	c = cu_asprintf("%s\n", note);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	free(c);
	c = cu_asprintf("%.*s \n", (int)strlen(note) - 1, note);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	free(c);

	/* bad base64: padding removed, character outside the alphabet,
	 * non-zero fill bits, '=' inside */
	sig = strstr(note, EM_DASH " log ") + strlen(EM_DASH " log ");
	{
		size_t at = (size_t)(sig - note), blen = strlen(sig) - 1;   /* without "\n" */
		const char *tweaks[] = { "drop=", "bang", "fill", "mideq", "urlsafe" };

		for (size_t t = 0; t < sizeof(tweaks) / sizeof(tweaks[0]); t++) {
			c = strdup(note);
			assert_non_null(c);
			if (strcmp(tweaks[t], "drop=") == 0) {
				assert_int_equal(c[at + blen - 1], '=');
				memmove(c + at + blen - 1, c + at + blen, 2);
			} else if (strcmp(tweaks[t], "bang") == 0) {
				c[at + 10] = '!';
			} else if (strcmp(tweaks[t], "fill") == 0) {
				/* 68 bytes: one '=', two fill bits in the last character */
				int v = c[at + blen - 2];
				const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
				int idx = (int)(strchr(alpha, v) - alpha);

				c[at + blen - 2] = alpha[idx | 1];
			} else if (strcmp(tweaks[t], "mideq") == 0) {
				c[at + 40] = '=';
			} else {
				c[at + 10] = '-';
			}
			assert_int_equal(verify(c, "log", pa), CU_EINVALID);
			assert_non_null(strstr(cu_error_last(), "malformed"));
			free(c);
		}
	}

	/* too short signatures: empty, 4 bytes (a key ID alone) */
	c = cu_asprintf("one\ntwo\n\n" EM_DASH " log \n");
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "malformed"));
	free(c);
	c = cu_asprintf("one\ntwo\n\n" EM_DASH " log %.6s==\n", sig);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "malformed"));
	free(c);
	/* the key's ID followed by a signature too short to be Ed25519 */
	c = cu_asprintf("one\ntwo\n\n" EM_DASH " log %.8s\n", sig);
	assert_int_equal(verify(c, "log", pa), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "bad signature"));
	free(c);
	/* no signature at all, nothing after the blank line, empty note */
	assert_int_equal(verify("one\n" EM_DASH " log\n", "log", pa), CU_EINVALID);
	assert_int_equal(verify("one\n\n", "log", pa), CU_EINVALID);
	assert_int_equal(verify("one\n\n" EM_DASH " \n", "log", pa), CU_EINVALID);
	assert_int_equal(verify("\n\n", "log", pa), CU_EINVALID);
	assert_int_equal(verify("\n", "log", pa), CU_EINVALID);
	assert_int_equal(verify("", "log", pa), CU_EINVALID);
	/* the caller's own name must be valid */
	assert_int_equal(verify(note, "", pa), CU_EINVALID);
	assert_int_equal(verify(note, "a b", pa), CU_EINVALID);
	free(note);
}

static void
test_sign_refusals(void **state)
{
	struct fixture *f = *state;
	char *note = NULL;
	const char *texts[] = {
		"", "no newline", "\n", "\nleading blank\n", "a\n\nb\n", "a\n\n",
		"tab\there\n", "cr\r\n", "bad \xff utf-8\n", "nul-free but \x1b esc\n",
	};
	const char *names[] = { "", "a b", "a+b", "a\tb", "a\nb", "\xe2\x80\x83", "\xc3" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(cu_note_sign(&note, texts[i], "log", f->a), CU_EINVALID);
		assert_null(note);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(cu_note_sign(&note, "t\n", names[i], f->a), CU_EINVALID);
		assert_null(note);
	}
}

/* ---- checkpoints ----------------------------------------------------- */

static void
test_checkpoint(void **state)
{
	unsigned char root[32], got[32];
	char *text, *origin = NULL, *t;
	uint64_t size = 7;

	(void)state;
	for (int i = 0; i < 32; i++)
		root[i] = (unsigned char)i;
	text = cu_checkpoint_text(ORIGIN, 42, root);
	assert_non_null(text);
	assert_string_equal(text, ORIGIN "\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
	assert_int_equal(cu_checkpoint_parse(&origin, &size, got, text), 0);
	assert_string_equal(origin, ORIGIN);
	assert_true(size == 42);
	assert_memory_equal(got, root, 32);
	free(origin);
	free(text);

	text = cu_checkpoint_text("o", 0, root);
	assert_int_equal(cu_checkpoint_parse(&origin, &size, got, text), 0);
	assert_true(size == 0);
	free(origin);
	free(text);

	text = cu_checkpoint_text("o", UINT64_MAX, root);
	assert_non_null(strstr(text, "\n18446744073709551615\n"));
	assert_int_equal(cu_checkpoint_parse(&origin, &size, got, text), 0);
	assert_true(size == UINT64_MAX);
	free(origin);

	/* extension lines */
	t = cu_asprintf("%sext one\next two\n", text);
	assert_int_equal(cu_checkpoint_parse(&origin, &size, got, t), 0);
	free(origin);
	free(t);
	free(text);

	/* origin refusals */
	assert_null(cu_checkpoint_text("", 1, root));
	assert_null(cu_checkpoint_text("a\nb", 1, root));
	assert_null(cu_checkpoint_text("a\rb", 1, root));
	assert_null(cu_checkpoint_text("a\xff", 1, root));
	assert_int_equal(cu_error_code(), CU_EINVALID);
}

static void
test_checkpoint_rejects(void **state)
{
	const char *bad[] = {
		"",
		"o\n",
		"o\n1\n",
		"\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",           /* empty origin */
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",             /* no final newline */
		"o\n01\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",          /* leading zero */
		"o\n00\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n+1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n 1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n1 \nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n0x1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n18446744073709551616\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n99999999999999999999\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",             /* no padding */
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",           /* fill bits */
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",           /* 31 bytes */
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n",           /* 33 bytes */
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= \n",
		"o\n1\n AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\nHh8=\n",
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",         /* empty extension */
		"o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next",        /* unterminated */
		"o\r\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"o\xff\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	};
	unsigned char root[32];
	uint64_t size;
	char *origin = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cu_checkpoint_parse(&origin, &size, root, bad[i]), CU_EINVALID);
		assert_null(origin);
	}
}

/* ---- proofs ---------------------------------------------------------- */

/* A signed checkpoint for the proof tests. */
static char *
signed_checkpoint(const struct fixture *f, uint64_t size)
{
	unsigned char root[32];
	char *text, *note = NULL;

	memset(root, 0xab, sizeof(root));
	text = cu_checkpoint_text(ORIGIN, size, root);
	assert_non_null(text);
	assert_int_equal(cu_note_sign(&note, text, ORIGIN, f->a), 0);
	free(text);
	return note;
}

static void
fill_hashes(unsigned char h[][32], size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < 32; j++)
			h[i][j] = (unsigned char)(i * 32 + j);
}

static void
test_inclusion_proof(void **state)
{
	struct fixture *f = *state;
	unsigned char h[3][32], got[8][32];
	char *cp = signed_checkpoint(f, 5), *proof, *want, *note = NULL;
	uint64_t index = 99;
	size_t n = 99;

	fill_hashes(h, 3);
	proof = cu_proof_inclusion_text(4, h, 3, cp);
	assert_non_null(proof);
	want = cu_asprintf("c2sp.org/tlog-proof@v1\nindex 4\n"
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"
		"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\n"
		"\n%s", cp);
	assert_string_equal(proof, want);
	free(want);

	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 8, &note, proof), 0);
	assert_true(index == 4);
	assert_int_equal(n, 3);
	assert_memory_equal(got, h, sizeof(h));
	assert_string_equal(note, cp);
	assert_int_equal(verify(note, ORIGIN, cu_signer_pub(f->a)), 0);
	free(note);

	/* exactly max hashes is fine, one more is not */
	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 3, &note, proof), 0);
	free(note);
	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 2, &note, proof), CU_ELIMIT);
	assert_null(note);
	free(proof);

	/* no hashes (a tree of one leaf), with an extra line */
	proof = cu_proof_inclusion_text(0, NULL, 0, cp);
	assert_non_null(proof);
	assert_int_equal(strncmp(proof, "c2sp.org/tlog-proof@v1\nindex 0\n\n" ORIGIN "\n",
		strlen("c2sp.org/tlog-proof@v1\nindex 0\n\n" ORIGIN "\n")), 0);
	assert_int_equal(cu_proof_inclusion_parse(&index, NULL, &n, 0, &note, proof), 0);
	assert_true(index == 0);
	assert_int_equal(n, 0);
	free(note);
	{
		char *extra = replace(proof, "index", "extra YWJj\nindex");
		char *extra0 = replace(proof, "index", "extra \nindex");

		assert_int_equal(cu_proof_inclusion_parse(&index, NULL, &n, 0, &note, extra), 0);
		assert_string_equal(note, cp);
		free(note);
		assert_int_equal(cu_proof_inclusion_parse(&index, NULL, &n, 0, &note, extra0), 0);
		free(note);
		free(extra);
		free(extra0);
	}
	free(proof);

	proof = cu_proof_inclusion_text(UINT64_MAX, h, 1, cp);
	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 8, &note, proof), 0);
	assert_true(index == UINT64_MAX);
	free(note);
	free(proof);

	assert_null(cu_proof_inclusion_text(0, h, 1, ""));
	free(cp);
}

static void
test_inclusion_proof_rejects(void **state)
{
	struct fixture *f = *state;
	unsigned char h[2][32], got[8][32];
	char *cp = signed_checkpoint(f, 5), *proof, *c, *note = NULL;
	uint64_t index;
	size_t n;
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v2\n" },
		{ "c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v1 \n" },
		{ "c2sp.org/tlog-proof@v1\n", "\nc2sp.org/tlog-proof@v1\n" },
		{ "c2sp.org/tlog-proof@v1\n", "custos.consistency-proof@v1\n" },
		{ "index 4\n", "index 04\n" },
		{ "index 4\n", "index  4\n" },
		{ "index 4\n", "index -4\n" },
		{ "index 4\n", "index\n" },
		{ "index 4\n", "index \n" },
		{ "index 4\n", "Index 4\n" },
		{ "index 4\n", "old 4\n" },
		{ "index 4\n", "index 18446744073709551616\n" },
		{ "index 4\n", "" },
		{ "index 4\n", "extra YWJj\n" },
		{ "index 4\n", "extra YWJ\nindex 4\n" },           /* extra not base64 */
		{ "index 4\n", "extra YWJj\nextra YWJj\nindex 4\n" },
		{ "index 4\n", "index 4\nextra YWJj\n" },
		{ "Hh8=\n", "Hh8\n" },                            /* hash without padding */
		{ "Hh8=\n", "Hh9=\n" },                           /* fill bits */
		{ "Hh8=\n", "Hg==\n" },                           /* 31 bytes */
		{ "Hh8=\n", "Hh8=\r\n" },
		{ "Hh8=\n", "Hh8= \n" },
		{ "Pj8=\n\n", "Pj8=\n" },                         /* no blank line */
	};

	fill_hashes(h, 2);
	proof = cu_proof_inclusion_text(4, h, 2, cp);
	assert_non_null(proof);
	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 8, &note, proof), 0);
	free(note);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		c = replace(proof, edits[i].from, edits[i].to);
		assert_true(cu_proof_inclusion_parse(&index, got, &n, 8, &note, c) < 0);
		assert_null(note);
		free(c);
	}
	/* nothing after the blank line */
	c = strndup(proof, (size_t)(strstr(proof, "\n\n") - proof) + 2);
	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 8, &note, c), CU_EINVALID);
	free(c);
	assert_int_equal(cu_proof_inclusion_parse(&index, got, &n, 8, &note, ""), CU_EINVALID);
	free(proof);
	free(cp);
}

static void
test_consistency_proof(void **state)
{
	struct fixture *f = *state;
	unsigned char h[2][32], got[4][32];
	char *cp = signed_checkpoint(f, 9), *proof, *want, *note = NULL, *c;
	uint64_t m = 0;
	size_t n = 0;

	fill_hashes(h, 2);
	proof = cu_proof_consistency_text(6, h, 2, cp);
	assert_non_null(proof);
	want = cu_asprintf("custos.consistency-proof@v1\nold 6\n"
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"
		"\n%s", cp);
	assert_string_equal(proof, want);
	free(want);
	assert_int_equal(cu_proof_consistency_parse(&m, got, &n, 4, &note, proof), 0);
	assert_true(m == 6);
	assert_int_equal(n, 2);
	assert_memory_equal(got, h, sizeof(h));
	assert_string_equal(note, cp);
	free(note);

	/* the kinds are not interchangeable */
	assert_int_equal(cu_proof_inclusion_parse(&m, got, &n, 4, &note, proof), CU_EINVALID);
	c = replace(proof, "old 6", "index 6");
	assert_int_equal(cu_proof_consistency_parse(&m, got, &n, 4, &note, c), CU_EINVALID);
	free(c);
	c = replace(proof, "old 6", "old 06");
	assert_int_equal(cu_proof_consistency_parse(&m, got, &n, 4, &note, c), CU_EINVALID);
	free(c);
	assert_int_equal(cu_proof_consistency_parse(&m, got, &n, 1, &note, proof), CU_ELIMIT);
	assert_null(note);
	free(proof);
	free(cp);
}

/*
 * Every truncation of a valid proof (each in a buffer of exactly its size,
 * so that AddressSanitizer sees any read past the end) is either refused
 * or yields a checkpoint note that no longer verifies.
 */
static void
truncations(const struct fixture *f, const char *proof, int consistency)
{
	size_t len = strlen(proof);
	unsigned char got[8][32];

	for (size_t k = 0; k < len; k++) {
		char *c = malloc(k + 1), *note = NULL;
		uint64_t v;
		size_t n;
		int r;

		assert_non_null(c);
		memcpy(c, proof, k);
		c[k] = '\0';
		r = consistency ? cu_proof_consistency_parse(&v, got, &n, 8, &note, c)
			: cu_proof_inclusion_parse(&v, got, &n, 8, &note, c);
		if (r == 0) {
			assert_int_equal(verify(note, ORIGIN, cu_signer_pub(f->a)), CU_EINVALID);
			free(note);
		} else {
			assert_int_equal(r, CU_EINVALID);
			assert_null(note);
		}
		free(c);
	}
}

static void
test_proof_truncations(void **state)
{
	struct fixture *f = *state;
	unsigned char h[5][32];
	char *cp = signed_checkpoint(f, 31), *p;

	fill_hashes(h, 5);
	p = cu_proof_inclusion_text(17, h, 5, cp);
	truncations(f, p, 0);
	free(p);
	p = cu_proof_consistency_text(12, h, 5, cp);
	truncations(f, p, 1);
	free(p);
	free(cp);
}

/* Random bytes and byte-level corruption: no crash, no over-read. */
static void
test_proof_garbage(void **state)
{
	struct fixture *f = *state;
	unsigned char h[4][32], got[8][32];
	char *cp = signed_checkpoint(f, 11), *p;
	size_t len;
	uint32_t seed = 12345;

	fill_hashes(h, 4);
	p = cu_proof_inclusion_text(3, h, 4, cp);
	len = strlen(p);
	for (size_t i = 0; i < len; i++) {
		static const char subst[] = { '\0', '\n', ' ', '=', 'A', '\x80', '0', '+' };

		for (size_t s = 0; s < sizeof(subst); s++) {
			char *c = malloc(len + 1), *note = NULL;
			uint64_t v;
			size_t n;

			assert_non_null(c);
			memcpy(c, p, len + 1);
			c[i] = subst[s];
			if (cu_proof_inclusion_parse(&v, got, &n, 8, &note, c) == 0) {
				unsigned char root[32];
				uint64_t size;
				char *text = NULL, *origin = NULL;

				if (cu_note_verify(&text, note, ORIGIN, cu_signer_pub(f->a)) == 0) {
					assert_int_equal(cu_checkpoint_parse(&origin, &size, root, text), 0);
					free(origin);
					free(text);
				}
				free(note);
			}
			free(c);
		}
	}
	for (int round = 0; round < 2000; round++) {
		size_t k = (size_t)(seed % 200);
		char *c = malloc(k + 1), *note = NULL;
		uint64_t v;
		size_t n;

		assert_non_null(c);
		for (size_t i = 0; i < k; i++) {
			seed = seed * 1103515245u + 12345u;
			c[i] = (char)(seed >> 16);
			if (c[i] == '\0')
				c[i] = '\n';
		}
		c[k] = '\0';
		if (round % 2 == 0 && k > 30)
			memcpy(c, "c2sp.org/tlog-proof@v1\nindex ", 29);
		seed = seed * 1103515245u + 12345u;
		if (cu_proof_inclusion_parse(&v, got, &n, 8, &note, c) == 0)
			free(note);
		assert_int_equal(verify(c, ORIGIN, cu_signer_pub(f->a)), CU_EINVALID);
		free(c);
	}
	free(p);
	free(cp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_vkey),
		cmocka_unit_test(test_go_verify),
		cmocka_unit_test_setup_teardown(test_go_sign, setup, teardown),
		cmocka_unit_test(test_go_note_every_change),
		cmocka_unit_test(test_vkey_mangled),
		cmocka_unit_test(test_vkey_other_algorithm),
		cmocka_unit_test_setup_teardown(test_vkey_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alterations_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_refusals, setup, teardown),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_checkpoint_rejects),
		cmocka_unit_test_setup_teardown(test_inclusion_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inclusion_proof_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consistency_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proof_truncations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proof_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
