/*
 * test_sig.c — keys, Ed25519, SSHSIG (checked byte for byte and against
 * the real ssh-keygen) and HMAC-SHA-256.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "custos/error.h"
#include "custos/sig.h"
#include "custos/util.h"

struct fixture {
	char dir[64];
	char key[128];
	cu_signer *signer;
};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/custos-sig-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->key, sizeof(f->key), "%s/signing.pem", f->dir);
	if (cu_sig_keygen(f->key) < 0 || cu_signer_load(&f->signer, f->key) < 0) {
		fprintf(stderr, "setup: %s\n", cu_error_last());
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	cu_signer_free(f->signer);
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void
path_in(char *out, size_t outsz, const struct fixture *f, const char *name)
{
	assert_true((size_t)snprintf(out, outsz, "%s/%s", f->dir, name) < outsz);
}

static void
write_text(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Runs a shell command with output discarded; returns its exit status
 * (or -1 if it did not exit normally). */
static int
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Test-side base64 decoder of the armor body, through OpenSSL's
 * EVP_Decode* so it shares no code with sig.c. */
static unsigned char *
decode_armor(size_t *len, const char *armored)
{
	const char *begin = "-----BEGIN SSH SIGNATURE-----\n";
	const char *end = strstr(armored, "\n-----END SSH SIGNATURE-----");
	const char *body;
	EVP_ENCODE_CTX *ctx;
	unsigned char *out;
	int n1 = 0, n2 = 0;

	assert_memory_equal(armored, begin, strlen(begin));
	assert_non_null(end);
	body = armored + strlen(begin);
	out = malloc((size_t)(end - body) + 16);
	assert_non_null(out);
	ctx = EVP_ENCODE_CTX_new();
	assert_non_null(ctx);
	EVP_DecodeInit(ctx);
	assert_true(EVP_DecodeUpdate(ctx, out, &n1, (const unsigned char *)body,
		(int)(end - body)) >= 0);
	assert_int_equal(EVP_DecodeFinal(ctx, out + n1, &n2), 1);
	EVP_ENCODE_CTX_free(ctx);
	*len = (size_t)(n1 + n2);
	return out;
}

/* Test-side armor of a blob, wrapped at 70 like ssh-keygen. */
static char *
encode_armor(const unsigned char *blob, size_t len)
{
	size_t b64cap = 4 * ((len + 2) / 3) + 1;
	char *b64 = malloc(b64cap), *out = malloc(2 * b64cap + 128), *p;
	size_t n;

	assert_non_null(b64);
	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
	n = strlen(b64);
	p = out + sprintf(out, "-----BEGIN SSH SIGNATURE-----\n");
	for (size_t i = 0; i < n; i += 70)
		p += sprintf(p, "%.70s\n", b64 + i);
	sprintf(p, "-----END SSH SIGNATURE-----");
	free(b64);
	return out;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks an SSH string at *off equals (want, wantlen) and advances. */
static void
check_ssh_string(const unsigned char *blob, size_t len, size_t *off, const void *want,
	size_t wantlen)
{
	assert_true(*off + 4 <= len);
	assert_int_equal(be32(blob + *off), wantlen);
	*off += 4;
	assert_true(*off + wantlen <= len);
	if (wantlen > 0)
		assert_memory_equal(blob + *off, want, wantlen);
	*off += wantlen;
}

static void
test_keygen_and_load(void **state)
{
	struct fixture *f = *state;
	static const unsigned char zero[CU_ED25519_PUB];
	cu_signer *again = NULL;
	struct stat st;
	char *pem = NULL;
	size_t len = 0;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(cu_read_file(&pem, &len, f->key, 4096), 0);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));  /* PKCS#8 */
	free(pem);
	assert_memory_not_equal(cu_signer_pub(f->signer), zero, CU_ED25519_PUB);

	/* loading twice gives the same key */
	assert_int_equal(cu_signer_load(&again, f->key), 0);
	assert_memory_equal(cu_signer_pub(again), cu_signer_pub(f->signer), CU_ED25519_PUB);
	cu_signer_free(again);

	/* the PEM is ordinary: openssl reads it as an Ed25519 key */
	assert_int_equal(run("openssl pkey -in '%s' -noout -text 2>/dev/null | grep -q ED25519",
		f->key), 0);
}

static void
test_keygen_refuses_existing(void **state)
{
	struct fixture *f = *state;
	char *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;

	assert_int_equal(cu_read_file(&before, &blen, f->key, 4096), 0);
	assert_int_equal(cu_sig_keygen(f->key), CU_EEXISTS);
	assert_int_equal(cu_hmac_keygen(f->key), CU_EEXISTS);
	assert_int_equal(cu_read_file(&after, &alen, f->key, 4096), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
}

static void
test_load_refuses_open_mode(void **state)
{
	struct fixture *f = *state;
	cu_signer *s = NULL;
	char want[256], other[160], link[160];

	assert_int_equal(chmod(f->key, 0644), 0);
	assert_int_equal(cu_signer_load(&s, f->key), CU_EINVALID);
	assert_null(s);
	snprintf(want, sizeof(want), "%s: mode 0644 is too open, expected 0600", f->key);
	assert_string_equal(cu_error_last(), want);

	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(cu_signer_load(&s, f->key), CU_EINVALID);
	assert_int_equal(chmod(f->key, 0604), 0);
	assert_int_equal(cu_signer_load(&s, f->key), CU_EINVALID);
	assert_int_equal(chmod(f->key, 0400), 0);
	assert_int_equal(cu_signer_load(&s, f->key), 0);
	cu_signer_free(s);
	s = NULL;
	assert_int_equal(chmod(f->key, 0600), 0);

	/* a symbolic link to a good key is refused (O_NOFOLLOW) */
	path_in(link, sizeof(link), f, "link.pem");
	assert_int_equal(symlink(f->key, link), 0);
	assert_int_equal(cu_signer_load(&s, link), CU_EINVALID);
	/* not a regular file */
	assert_int_equal(cu_signer_load(&s, f->dir), CU_EINVALID);
	/* missing */
	path_in(other, sizeof(other), f, "missing.pem");
	assert_int_equal(cu_signer_load(&s, other), CU_ENOTFOUND);
	/* not a key */
	path_in(other, sizeof(other), f, "junk.pem");
	assert_int_equal(cu_write_file_durable(other, "junk\n", 5, 0600, 1), 0);
	assert_int_equal(cu_signer_load(&s, other), CU_EINVALID);
	assert_null(s);
}

static void
test_load_refuses_other_key_types(void **state)
{
	struct fixture *f = *state;
	cu_signer *s = NULL;
	char p256[160];

	path_in(p256, sizeof(p256), f, "p256.pem");
	assert_int_equal(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
		"-out '%s' 2>/dev/null && chmod 600 '%s'", p256, p256), 0);
	assert_int_equal(cu_signer_load(&s, p256), CU_EINVALID);
	assert_null(s);
}

static void
test_plain_sign_verify(void **state)
{
	struct fixture *f = *state;
	unsigned char sig[CU_ED25519_SIG], pub[CU_ED25519_PUB];
	const char *msg = "receipt 2026-11-28 fen 12345";

	memcpy(pub, cu_signer_pub(f->signer), sizeof(pub));
	assert_int_equal(cu_sig_sign(sig, f->signer, msg, strlen(msg)), 0);
	assert_int_equal(cu_sig_verify(pub, sig, msg, strlen(msg)), 0);
	/* altered message */
	assert_int_equal(cu_sig_verify(pub, sig, "receipt 2026-11-28 fen 12346",
		strlen(msg)), CU_EINVALID);
	/* altered signature */
	sig[10] ^= 0x01;
	assert_int_equal(cu_sig_verify(pub, sig, msg, strlen(msg)), CU_EINVALID);
	sig[10] ^= 0x01;
	/* another key */
	pub[0] ^= 0x80;
	assert_true(cu_sig_verify(pub, sig, msg, strlen(msg)) < 0);
	/* the empty message is a message too */
	assert_int_equal(cu_sig_sign(sig, f->signer, NULL, 0), 0);
	assert_int_equal(cu_sig_verify(cu_signer_pub(f->signer), sig, "", 0), 0);
}

static void
test_sshsig_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *msg = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
	unsigned char pub[CU_ED25519_PUB];
	char *armored = NULL, *nl;
	size_t n;

	assert_int_equal(cu_sshsig_sign(&armored, f->signer, "git", msg, strlen(msg)), 0);
	n = strlen(armored);
	assert_true(n > 0 && armored[n - 1] != '\n');
	assert_int_equal(cu_sshsig_verify(pub, armored, "git", msg, strlen(msg)), 0);
	assert_memory_equal(pub, cu_signer_pub(f->signer), CU_ED25519_PUB);
	assert_int_equal(cu_sshsig_verify(NULL, armored, "git", msg, strlen(msg)), 0);

	/* with a final newline, as ssh-keygen writes it */
	nl = cu_asprintf("%s\n", armored);
	assert_int_equal(cu_sshsig_verify(NULL, nl, "git", msg, strlen(msg)), 0);
	free(nl);

	/* altered message, other namespace */
	assert_int_equal(cu_sshsig_verify(NULL, armored, "git", "tree 4", 6), CU_EINVALID);
	assert_int_equal(cu_sshsig_verify(NULL, armored, "file", msg, strlen(msg)),
		CU_EINVALID);

	/* altered signature: one base64 digit in the last full line, which
	 * holds signature bytes */
	{
		char *alt = strdup(armored), *last = strrchr(alt, '\n');
		char *line = last - 20;

		assert_non_null(alt);
		*line = *line == 'A' ? 'B' : 'A';
		assert_int_equal(cu_sshsig_verify(NULL, alt, "git", msg, strlen(msg)),
			CU_EINVALID);
		free(alt);
	}

	/* no namespace */
	free(armored);
	armored = NULL;
	assert_int_equal(cu_sshsig_sign(&armored, f->signer, "", msg, strlen(msg)),
		CU_EINVALID);
	assert_null(armored);
}

/* The blob, field by field, as PROTOCOL.sshsig lays it out. */
static void
test_sshsig_bytes(void **state)
{
	struct fixture *f = *state;
	const unsigned char *pub = cu_signer_pub(f->signer);
	const char *msg = "the message";
	unsigned char key[51], sigblob[83], h[64], tbs[6 + 4 + 3 + 4 + 4 + 6 + 4 + 64];
	unsigned char *blob;
	char *armored = NULL, *line, *save = NULL;
	size_t len, off = 0, t = 0;
	int nlines = 0;

	assert_int_equal(cu_sshsig_sign(&armored, f->signer, "git", msg, strlen(msg)), 0);

	/* armor: BEGIN, lines of at most 70 characters, END */
	{
		char *copy = strdup(armored);

		assert_non_null(copy);
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			if (nlines++ == 0)
				assert_string_equal(line, "-----BEGIN SSH SIGNATURE-----");
			else if (strncmp(line, "-----", 5) == 0)
				assert_string_equal(line, "-----END SSH SIGNATURE-----");
			else
				assert_true(strlen(line) <= 70);
		}
		free(copy);
	}
	assert_true(nlines >= 4);

	blob = decode_armor(&len, armored);
	assert_memory_equal(blob, "SSHSIG", 6);
	off = 6;
	assert_int_equal(be32(blob + off), 1);
	off += 4;
	/* publickey: string "ssh-ed25519" ‖ string pub[32] */
	memcpy(key, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	memcpy(key + 19, pub, 32);
	check_ssh_string(blob, len, &off, key, sizeof(key));
	check_ssh_string(blob, len, &off, "git", 3);
	check_ssh_string(blob, len, &off, "", 0);
	check_ssh_string(blob, len, &off, "sha512", 6);
	/* signature: string "ssh-ed25519" ‖ string sig[64] */
	assert_true(off + 4 + sizeof(sigblob) == len);
	assert_int_equal(be32(blob + off), sizeof(sigblob));
	memcpy(sigblob, blob + off + 4, sizeof(sigblob));
	assert_memory_equal(sigblob, "\0\0\0\x0bssh-ed25519\0\0\0\x40", 19);

	/* the signature is Ed25519 over the signed data, rebuilt here */
	assert_non_null(SHA512((const unsigned char *)msg, strlen(msg), h));
	memcpy(tbs, "SSHSIG", 6), t = 6;
	memcpy(tbs + t, "\0\0\0\3git", 7), t += 7;
	memcpy(tbs + t, "\0\0\0\0", 4), t += 4;
	memcpy(tbs + t, "\0\0\0\6sha512", 10), t += 10;
	memcpy(tbs + t, "\0\0\0\x40", 4), t += 4;
	memcpy(tbs + t, h, 64), t += 64;
	assert_int_equal(t, sizeof(tbs));
	assert_int_equal(cu_sig_verify(pub, sigblob + 19, tbs, sizeof(tbs)), 0);

	free(blob);
	free(armored);
}

/* The real ssh-keygen accepts our signatures, and we accept its. */
static void
test_sshsig_ssh_keygen(void **state)
{
	struct fixture *f = *state;
	const char *msg = "tree 0123\nauthor custos <custos@example.org> 1 +0000\n\nbatch\n";
	char allowed[160], sigf[160], msgf[160], badf[160], sshkey[160], sshpub[176];
	char *line, *armored = NULL, *theirs = NULL, *pubtext = NULL, *mine;
	unsigned char pub[CU_ED25519_PUB];
	size_t len;

	path_in(allowed, sizeof(allowed), f, "allowed_signers");
	path_in(sigf, sizeof(sigf), f, "ours.sig");
	path_in(msgf, sizeof(msgf), f, "msg");
	path_in(badf, sizeof(badf), f, "bad");
	line = cu_sig_allowed_signers(cu_signer_pub(f->signer), "custos@example.org");
	assert_non_null(line);
	{
		char *withnl = cu_asprintf("%s\n", line);

		write_text(allowed, withnl, strlen(withnl));
		free(withnl);
	}
	free(line);
	assert_int_equal(cu_sshsig_sign(&armored, f->signer, "git", msg, strlen(msg)), 0);
	write_text(sigf, armored, strlen(armored));
	write_text(msgf, msg, strlen(msg));
	write_text(badf, "tree 0124", 9);

	assert_int_equal(run("ssh-keygen -Y verify -f '%s' -I custos@example.org -n git "
		"-s '%s' < '%s' >/dev/null 2>&1", allowed, sigf, msgf), 0);
	assert_int_not_equal(run("ssh-keygen -Y verify -f '%s' -I custos@example.org -n git "
		"-s '%s' < '%s' >/dev/null 2>&1", allowed, sigf, badf), 0);
	assert_int_not_equal(run("ssh-keygen -Y verify -f '%s' -I custos@example.org -n file "
		"-s '%s' < '%s' >/dev/null 2>&1", allowed, sigf, msgf), 0);
	free(armored);

	/* the other way: a key and a signature made by ssh-keygen */
	path_in(sshkey, sizeof(sshkey), f, "id_ed25519");
	snprintf(sshpub, sizeof(sshpub), "%s.pub", sshkey);
	assert_int_equal(run("ssh-keygen -q -t ed25519 -N '' -C '' -f '%s' >/dev/null 2>&1 && "
		"ssh-keygen -q -Y sign -f '%s' -n git '%s' >/dev/null 2>&1",
		sshkey, sshkey, msgf), 0);
	{
		char theirsf[176];

		snprintf(theirsf, sizeof(theirsf), "%s.sig", msgf);
		assert_int_equal(cu_read_file(&theirs, &len, theirsf, 65536), 0);
	}
	assert_int_equal(cu_sshsig_verify(pub, theirs, "git", msg, strlen(msg)), 0);
	assert_int_equal(cu_sshsig_verify(pub, theirs, "git", "x", 1), CU_EINVALID);
	assert_int_equal(cu_read_file(&pubtext, &len, sshpub, 4096), 0);
	mine = cu_sig_ssh_pubkey(pub);
	assert_non_null(mine);
	assert_memory_equal(pubtext, mine, strlen(mine));  /* same key line */
	free(mine);
	free(pubtext);
	free(theirs);
}

static void
test_ssh_pubkey_lines(void **state)
{
	struct fixture *f = *state;
	char *key, *line, *want;

	key = cu_sig_ssh_pubkey(cu_signer_pub(f->signer));
	assert_non_null(key);
	/* every Ed25519 key line starts with the encoding of its type */
	assert_memory_equal(key, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 37);
	assert_int_equal(strlen(key), 12 + 68);
	line = cu_sig_allowed_signers(cu_signer_pub(f->signer), "archive@example.org");
	assert_non_null(line);
	want = cu_asprintf("archive@example.org namespaces=\"git\" %s", key);
	assert_string_equal(line, want);
	free(want);
	free(line);
	free(key);

	assert_null(cu_sig_allowed_signers(cu_signer_pub(f->signer), "two words"));
	assert_int_equal(cu_error_code(), CU_EINVALID);
	assert_null(cu_sig_allowed_signers(cu_signer_pub(f->signer), ""));
	assert_null(cu_sig_allowed_signers(cu_signer_pub(f->signer), "a\"b"));
}

/* Hostile input never crashes and is CU_EINVALID. */
static void
test_sshsig_garbage(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"garbage",
		"-----BEGIN SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAf////8=\n-----END SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\nQQ=\n-----END SSH SIGNATURE-----",
		"-----BEGIN SSH SIGNATURE-----\nQ===\n-----END SSH SIGNATURE-----",
		"-----END SSH SIGNATURE----------BEGIN SSH SIGNATURE-----",
		"junk -----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----",
	};
	const char *msg = "m";
	unsigned char *blob, *mut;
	char *armored = NULL, *re;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(cu_sshsig_verify(NULL, bad[i], "git", msg, 1), CU_EINVALID);
	assert_int_equal(cu_sshsig_verify(NULL, NULL, "git", msg, 1), CU_EINVALID);

	assert_int_equal(cu_sshsig_sign(&armored, f->signer, "git", msg, 1), 0);
	blob = decode_armor(&len, armored);
	mut = malloc(len + 8);
	assert_non_null(mut);

	/* every truncation and every one-byte extension */
	for (size_t n = 0; n < len; n++) {
		re = encode_armor(blob, n);
		assert_int_equal(cu_sshsig_verify(NULL, re, "git", msg, 1), CU_EINVALID);
		free(re);
	}
	memcpy(mut, blob, len);
	mut[len] = 0;
	re = encode_armor(mut, len + 1);
	assert_int_equal(cu_sshsig_verify(NULL, re, "git", msg, 1), CU_EINVALID);
	free(re);

	/* every byte flipped, and every length field made huge */
	for (size_t i = 0; i < len; i++) {
		memcpy(mut, blob, len);
		mut[i] ^= 0x5a;
		re = encode_armor(mut, len);
		assert_int_equal(cu_sshsig_verify(NULL, re, "git", msg, 1), CU_EINVALID);
		free(re);
	}
	for (size_t i = 6; i + 4 <= len; i++) {
		memcpy(mut, blob, len);
		memset(mut + i, 0xff, 4);
		re = encode_armor(mut, len);
		assert_int_equal(cu_sshsig_verify(NULL, re, "git", msg, 1), CU_EINVALID);
		free(re);
	}
	/* random bytes in place of the blob */
	srand(7);
	for (int round = 0; round < 500; round++) {
		for (size_t i = 0; i < len; i++)
			mut[i] = (unsigned char)rand();
		if (round % 2 == 0)
			memcpy(mut, "SSHSIG\0\0\0\1", 10);
		re = encode_armor(mut, (size_t)rand() % (len + 1));
		assert_int_equal(cu_sshsig_verify(NULL, re, "git", msg, 1), CU_EINVALID);
		free(re);
	}
	/* the untouched blob still verifies through the test's armor */
	re = encode_armor(blob, len);
	assert_int_equal(cu_sshsig_verify(NULL, re, "git", msg, 1), 0);
	free(re);
	free(mut);
	free(blob);
	free(armored);
}

static void
test_hmac(void **state)
{
	unsigned char key[CU_HMAC_KEY_LEN], out[32], ref[32];
	const char *msg = "The quick brown fox jumps over the lazy dog";
	unsigned int reflen = 0;
	char hex[65];

	(void)state;
	for (int i = 0; i < CU_HMAC_KEY_LEN; i++)
		key[i] = (unsigned char)i;
	/* fixed vectors from `openssl dgst -sha256 -mac HMAC -macopt hexkey:0001…1f` */
	assert_int_equal(cu_hmac_sha256(out, key, msg, strlen(msg)), 0);
	cu_hex(hex, out, 32);
	assert_string_equal(hex,
		"f87ad256151fc7b4c5dffa4adb3ebe911a8eeb8a8ebdee3c2a4a8e5f5ec02c32");
	assert_int_equal(cu_hmac_sha256(out, key, NULL, 0), 0);
	cu_hex(hex, out, 32);
	assert_string_equal(hex,
		"d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb");
	/* and OpenSSL's one-shot HMAC on another message */
	assert_int_equal(cu_hmac_sha256(out, key, "110101199003077777", 18), 0);
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key),
		(const unsigned char *)"110101199003077777", 18, ref, &reflen));
	assert_int_equal(reflen, 32);
	assert_memory_equal(out, ref, 32);
}

static void
test_hmac_key_file(void **state)
{
	struct fixture *f = *state;
	unsigned char key[CU_HMAC_KEY_LEN], again[CU_HMAC_KEY_LEN];
	char path[160], shortp[160];
	struct stat st;

	path_in(path, sizeof(path), f, "hmac.key");
	assert_int_equal(cu_hmac_keygen(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, CU_HMAC_KEY_LEN);
	assert_int_equal(cu_hmac_key_load(key, path), 0);
	assert_int_equal(cu_hmac_key_load(again, path), 0);
	assert_memory_equal(key, again, sizeof(key));
	assert_int_equal(cu_hmac_keygen(path), CU_EEXISTS);
	assert_int_equal(cu_hmac_key_load(again, path), 0);
	assert_memory_equal(key, again, sizeof(key));

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cu_hmac_key_load(key, path), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "mode 0644 is too open, expected 0600"));

	path_in(shortp, sizeof(shortp), f, "short.key");
	assert_int_equal(cu_write_file_durable(shortp, "0123456789", 10, 0600, 1), 0);
	assert_int_equal(cu_hmac_key_load(key, shortp), CU_EINVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keygen_and_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keygen_refuses_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refuses_open_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_refuses_other_key_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_sign_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sshsig_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sshsig_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sshsig_ssh_keygen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_pubkey_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sshsig_garbage, setup, teardown),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test_setup_teardown(test_hmac_key_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
