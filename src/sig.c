/*
 * sig.c — Ed25519 keys, SSHSIG signatures and HMAC (see custos/sig.h).
 *
 * Everything cryptographic is OpenSSL 3; this file only adds the file
 * checks around the keys and the openssh wire format (PROTOCOL.sshsig)
 * that git expects in a commit's gpgsig header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "custos/error.h"
#include "custos/sig.h"
#include "custos/util.h"

struct cu_signer {
	EVP_PKEY     *pkey;
	unsigned char pub[CU_ED25519_PUB];
};

#define SSHSIG_MAGIC      "SSHSIG"
#define SSHSIG_MAGIC_LEN  6
#define SSHSIG_VERSION    1
#define SSHSIG_BEGIN      "-----BEGIN SSH SIGNATURE-----"
#define SSHSIG_END        "-----END SSH SIGNATURE-----"
#define SSHSIG_WRAP       70        /* what ssh-keygen -Y sign writes */
#define SSH_ED25519       "ssh-ed25519"

/* A key file is a few hundred bytes; anything much larger is not ours. */
#define KEY_FILE_MAX      (64 * 1024)
/* An armored Ed25519 SSHSIG is about 300 bytes; refuse absurd input early
 * rather than decode megabytes of hostile text. */
#define ARMOR_MAX         (64 * 1024)

/* The first OpenSSL error as text, for messages; clears the queue so a
 * stale error never leaks into a later message. */
static const char *
ssl_reason(void)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, sizeof(buf), "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/*
 * Reads a secret file after checking that it is a regular file (a final
 * symlink is refused), owned by the caller or root, and closed to group
 * and others.  On success *out is a NUL-terminated copy that the caller
 * must cleanse and free.
 */
static int
read_secret_file(unsigned char **out, size_t *len, const char *path)
{
	struct stat st;
	int fd, error = 0;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ELOOP)
			return cu_error_set(CU_EINVALID, "%s: is a symbolic link", path);
		return cu_error_sys("%s", path);
	}
	if (fstat(fd, &st) < 0) {
		error = cu_error_sys("%s", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = cu_error_set(CU_EINVALID, "%s: not a regular file", path);
		goto done;
	}
	if ((st.st_mode & 077) != 0) {
		error = cu_error_set(CU_EINVALID, "%s: mode %04o is too open, expected 0600",
			path, (unsigned)(st.st_mode & 07777));
		goto done;
	}
	if (st.st_uid != getuid() && st.st_uid != 0) {
		error = cu_error_set(CU_EINVALID, "%s: owned by uid %lu, expected %lu or root",
			path, (unsigned long)st.st_uid, (unsigned long)getuid());
		goto done;
	}
	error = cu_read_fd((char **)out, len, fd, path, KEY_FILE_MAX);
done:
	close(fd);
	return error;
}

/* PEM password callback that refuses: an encrypted key is not ours, and
 * OpenSSL's default callback would otherwise prompt on the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Generates the key in memory, serialises it as PKCS#8 PEM and hands it
 * to the durable writer with O_EXCL semantics; the PEM bytes are wiped
 * from memory before returning. */
int
cu_sig_keygen(const char *path)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long pemlen;
	int error = 0;

	if (access(path, F_OK) == 0)
		return cu_error_set(CU_EEXISTS, "%s: already exists", path);
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		error = cu_error_set(CU_ERROR, "Ed25519 key generation failed: %s", ssl_reason());
		goto done;
	}
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		error = cu_error_set(CU_ERROR, "%s: cannot encode the key: %s", path, ssl_reason());
		goto done;
	}
	if ((pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		error = cu_error_set(CU_ERROR, "%s: cannot encode the key", path);
		goto done;
	}
	error = cu_write_file_durable(path, pem, (size_t)pemlen, 0600, 1);
	OPENSSL_cleanse(pem, (size_t)pemlen);
done:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return error;
}

/* Loads and checks the key file, keeps the EVP_PKEY and a copy of the raw
 * public key for the SSHSIG blob. */
int
cu_signer_load(cu_signer **out, const char *path)
{
	cu_signer *s = NULL;
	unsigned char *buf = NULL;
	size_t len = 0, publen = CU_ED25519_PUB;
	BIO *bio = NULL;
	int error;

	*out = NULL;
	if ((error = read_secret_file(&buf, &len, path)) < 0)
		return error;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		error = cu_error_set(CU_ERROR, "%s: %s", path, ssl_reason());
		goto done;
	}
	if ((s->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL) {
		error = cu_error_set(CU_EINVALID, "%s: not a PEM private key: %s",
			path, ssl_reason());
		goto done;
	}
	if (!EVP_PKEY_is_a(s->pkey, "ED25519")) {
		error = cu_error_set(CU_EINVALID, "%s: not an Ed25519 key", path);
		goto done;
	}
	if (!EVP_PKEY_get_raw_public_key(s->pkey, s->pub, &publen) ||
	    publen != CU_ED25519_PUB) {
		error = cu_error_set(CU_ERROR, "%s: cannot read the public key: %s",
			path, ssl_reason());
		goto done;
	}
	*out = s;
	s = NULL;
done:
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	cu_signer_free(s);
	return error;
}

/* Frees the key; NULL is allowed.  The struct is wiped before free. */
void
cu_signer_free(cu_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->pkey);   /* OpenSSL wipes the private key material */
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* The raw public key, valid while s lives. */
const unsigned char *
cu_signer_pub(const cu_signer *s)
{
	return s->pub;
}

/* Ed25519 is "pure": the message goes to EVP_DigestSign in one piece and
 * no digest is named. */
int
cu_sig_sign(unsigned char sig[CU_ED25519_SIG], const cu_signer *s,
	const void *msg, size_t len)
{
	static const unsigned char empty[1];
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = CU_ED25519_SIG;
	int error = 0;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg != NULL ? msg : empty, len) != 1 ||
	    siglen != CU_ED25519_SIG)
		error = cu_error_set(CU_ERROR, "Ed25519 signing failed: %s", ssl_reason());
	EVP_MD_CTX_free(ctx);
	return error;
}

/* 0 for a good signature, CU_EINVALID for a bad one or a bad key,
 * CU_ERROR if OpenSSL itself fails. */
int
cu_sig_verify(const unsigned char pub[CU_ED25519_PUB],
	const unsigned char sig[CU_ED25519_SIG], const void *msg, size_t len)
{
	static const unsigned char empty[1];
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	int error = 0, ok;

	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
			CU_ED25519_PUB)) == NULL) {
		error = cu_error_set(CU_EINVALID, "not a valid Ed25519 public key");
		ERR_clear_error();
		goto done;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1) {
		error = cu_error_set(CU_ERROR, "Ed25519 verification failed: %s", ssl_reason());
		goto done;
	}
	ok = EVP_DigestVerify(ctx, sig, CU_ED25519_SIG, msg != NULL ? msg : empty, len);
	if (ok != 1) {
		ERR_clear_error();
		error = cu_error_set(CU_EINVALID, "bad Ed25519 signature");
	}
done:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return error;
}

/*
 * A growable byte buffer for the SSH wire format.  Allocation failure is
 * sticky (oom), so a sequence of puts needs one check at the end.
 */
struct wbuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

/* Appends n bytes, doubling the buffer as needed. */
static void
wbuf_put(struct wbuf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (n > SIZE_MAX - b->len) {
		b->oom = 1;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *p;

		while (cap < b->len + n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
wbuf_put_u32(struct wbuf *b, uint32_t v)
{
	unsigned char be[4] = {
		(unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v
	};

	wbuf_put(b, be, 4);
}

/* SSH "string": uint32 big-endian length, then the bytes. */
static void
wbuf_put_string(struct wbuf *b, const void *data, size_t n)
{
	if (n > UINT32_MAX) {
		b->oom = 1;
		return;
	}
	wbuf_put_u32(b, (uint32_t)n);
	wbuf_put(b, data, n);
}

/* Wipes (the buffers hold signed data and hashes) and frees. */
static void
wbuf_free(struct wbuf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* A bounds-checked reader over untrusted SSH wire data. */
struct rbuf {
	const unsigned char *p;
	size_t len, off;
};

static int
rbuf_get_u32(struct rbuf *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return -1;
	*v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
		(uint32_t)r->p[r->off + 2] << 8 | (uint32_t)r->p[r->off + 3];
	r->off += 4;
	return 0;
}

/* Reads an SSH string; -1 if its length runs past the end. */
static int
rbuf_get_string(struct rbuf *r, const unsigned char **data, size_t *n)
{
	uint32_t len;

	if (rbuf_get_u32(r, &len) < 0 || len > r->len - r->off)
		return -1;
	*data = r->p + r->off;
	*n = len;
	r->off += len;
	return 0;
}

/* 1 if the counted bytes equal the C string exactly. */
static int
bytes_eq(const unsigned char *a, size_t alen, const char *s)
{
	size_t slen = strlen(s);

	return alen == slen && memcmp(a, s, slen) == 0;
}

/* string "ssh-ed25519" ‖ string pub: the openssh public key blob. */
static void
put_ssh_pubkey(struct wbuf *b, const unsigned char pub[CU_ED25519_PUB])
{
	wbuf_put_string(b, SSH_ED25519, strlen(SSH_ED25519));
	wbuf_put_string(b, pub, CU_ED25519_PUB);
}

/* Base64 of data as a new NUL-terminated string, no line breaks. */
static char *
base64(const unsigned char *data, size_t len)
{
	size_t outlen;
	char *out;

	if (len > (size_t)INT32_MAX / 2) {
		cu_error_set(CU_ELIMIT, "too large to encode");
		return NULL;
	}
	outlen = 4 * ((len + 2) / 3);
	if ((out = malloc(outlen + 1)) == NULL) {
		cu_error_set(CU_ERROR, "out of memory");
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	out[outlen] = '\0';
	return out;
}

/*
 * Strict base64 decoder for the armor body: whitespace is skipped, any
 * other non-alphabet byte is an error, '=' padding is accepted only at the
 * end.  Written here rather than EVP_DecodeBlock because that one returns
 * padding bytes as data and accepts stray characters.  out must hold
 * 3 * (n / 4) + 3 bytes.
 */
static int
unbase64(unsigned char *out, size_t *outlen, const char *in, size_t n)
{
	uint32_t acc = 0;
	size_t o = 0, pad = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i], v;

		if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = cu_base64_value(c)) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* leftover bits must be the zero fill of a proper final quantum */
	if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	if ((bits == 4 && pad != 2 && pad != 0) || (bits == 2 && pad != 1 && pad != 0) ||
	    (bits == 0 && pad != 0))
		return -1;
	*outlen = o;
	return 0;
}

/* "ssh-ed25519 " + base64 of the key blob, as in an authorized_keys or
 * .pub file; NULL (error set) when out of memory. */
char *
cu_sig_ssh_pubkey(const unsigned char pub[CU_ED25519_PUB])
{
	struct wbuf b = { 0 };
	char *b64, *line = NULL;

	put_ssh_pubkey(&b, pub);
	if (b.oom) {
		cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((b64 = base64(b.p, b.len)) == NULL)
		goto done;
	line = cu_asprintf(SSH_ED25519 " %s", b64);
	free(b64);
done:
	wbuf_free(&b);
	return line;
}

/* The principal becomes the first field of an allowed-signers line, so
 * whitespace, quotes or control bytes in it would change the line's
 * meaning; they are refused rather than quoted. */
char *
cu_sig_allowed_signers(const unsigned char pub[CU_ED25519_PUB],
	const char *principal)
{
	char *key, *line;

	if (principal == NULL || *principal == '\0') {
		cu_error_set(CU_EINVALID, "empty principal");
		return NULL;
	}
	for (const unsigned char *p = (const unsigned char *)principal; *p; p++) {
		if (*p <= ' ' || *p == '"' || *p == 0x7f) {
			cu_error_set(CU_EINVALID,
				"principal \"%s\": no spaces, quotes or control characters allowed",
				principal);
			return NULL;
		}
	}
	if ((key = cu_sig_ssh_pubkey(pub)) == NULL)
		return NULL;
	line = cu_asprintf("%s namespaces=\"git\" %s", principal, key);
	free(key);
	return line;
}

/* H(message) for the hash algorithms SSHSIG allows. */
static int
sshsig_hash(unsigned char *out, size_t *outlen, const char *alg,
	const void *msg, size_t len)
{
	static const unsigned char empty[1];
	const EVP_MD *md;
	unsigned int n = 0;

	if (strcmp(alg, "sha512") == 0)
		md = EVP_sha512();
	else if (strcmp(alg, "sha256") == 0)
		md = EVP_sha256();
	else
		return cu_error_set(CU_EINVALID, "unsupported SSHSIG hash \"%s\"", alg);
	if (!EVP_Digest(msg != NULL ? msg : empty, len, out, &n, md, NULL))
		return cu_error_set(CU_ERROR, "%s failed: %s", alg, ssl_reason());
	*outlen = n;
	return 0;
}

/* The bytes the Ed25519 signature covers (PROTOCOL.sshsig, "Signed
 * Data"): the magic without a length, then four strings. */
static void
put_signed_data(struct wbuf *b, const void *ns, size_t nslen,
	const void *reserved, size_t reslen, const char *alg,
	const unsigned char *hash, size_t hashlen)
{
	wbuf_put(b, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	wbuf_put_string(b, ns, nslen);
	wbuf_put_string(b, reserved, reslen);
	wbuf_put_string(b, alg, strlen(alg));
	wbuf_put_string(b, hash, hashlen);
}

/* Builds the signed data, signs it, then the blob around the signature,
 * then the armor (PROTOCOL.sshsig); *armored is NULL on failure. */
int
cu_sshsig_sign(char **armored, const cu_signer *s, const char *ns,
	const void *msg, size_t len)
{
	unsigned char hash[EVP_MAX_MD_SIZE], sig[CU_ED25519_SIG];
	struct wbuf tbs = { 0 }, key = { 0 }, sigblob = { 0 }, blob = { 0 };
	size_t hashlen = 0, b64len, nlines, outlen;
	char *b64 = NULL, *out = NULL, *p;
	int error;

	*armored = NULL;
	if (ns == NULL || *ns == '\0')
		return cu_error_set(CU_EINVALID, "SSHSIG needs a namespace");
	if ((error = sshsig_hash(hash, &hashlen, "sha512", msg, len)) < 0)
		goto done;
	put_signed_data(&tbs, ns, strlen(ns), "", 0, "sha512", hash, hashlen);
	if (tbs.oom) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_sig_sign(sig, s, tbs.p, tbs.len)) < 0)
		goto done;

	put_ssh_pubkey(&key, s->pub);
	wbuf_put_string(&sigblob, SSH_ED25519, strlen(SSH_ED25519));
	wbuf_put_string(&sigblob, sig, sizeof(sig));

	wbuf_put(&blob, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN);
	wbuf_put_u32(&blob, SSHSIG_VERSION);
	wbuf_put_string(&blob, key.p, key.len);
	wbuf_put_string(&blob, ns, strlen(ns));
	wbuf_put_string(&blob, "", 0);
	wbuf_put_string(&blob, "sha512", 6);
	wbuf_put_string(&blob, sigblob.p, sigblob.len);
	if (key.oom || sigblob.oom || blob.oom) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((b64 = base64(blob.p, blob.len)) == NULL) {
		error = cu_error_code();
		goto done;
	}

	/* BEGIN line, body lines of 70 each ending in \n, END line with no
	 * newline: git_commit_create_with_signature copies the text as is,
	 * and a final newline would become an empty continuation line. */
	b64len = strlen(b64);
	nlines = (b64len + SSHSIG_WRAP - 1) / SSHSIG_WRAP;
	outlen = strlen(SSHSIG_BEGIN) + 1 + b64len + nlines + strlen(SSHSIG_END) + 1;
	if ((out = malloc(outlen)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	p = out;
	p += sprintf(p, "%s\n", SSHSIG_BEGIN);
	for (size_t i = 0; i < b64len; i += SSHSIG_WRAP) {
		size_t n = b64len - i < SSHSIG_WRAP ? b64len - i : SSHSIG_WRAP;

		memcpy(p, b64 + i, n);
		p += n;
		*p++ = '\n';
	}
	memcpy(p, SSHSIG_END, strlen(SSHSIG_END) + 1);
	*armored = out;
	out = NULL;
done:
	free(out);
	free(b64);
	wbuf_free(&tbs);
	wbuf_free(&key);
	wbuf_free(&sigblob);
	wbuf_free(&blob);
	OPENSSL_cleanse(hash, sizeof(hash));
	return error;
}

/* Finds the base64 body between the armor lines.  Leading and trailing
 * whitespace around the whole armor is tolerated (a final newline, CRLF
 * line ends); anything else outside the markers is not. */
static int
armor_body(const char **body, size_t *bodylen, const char *armored)
{
	const char *start = armored, *end, *endmark;
	size_t n = strnlen(armored, ARMOR_MAX + 1);

	if (n > ARMOR_MAX)
		return cu_error_set(CU_EINVALID, "SSH signature too long");
	end = armored + n;
	while (start < end && (*start == ' ' || *start == '\t' || *start == '\r' ||
	    *start == '\n'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
	    end[-1] == '\n'))
		end--;
	if ((size_t)(end - start) < strlen(SSHSIG_BEGIN) + strlen(SSHSIG_END) ||
	    memcmp(start, SSHSIG_BEGIN, strlen(SSHSIG_BEGIN)) != 0)
		return cu_error_set(CU_EINVALID, "not an SSH signature: no BEGIN line");
	endmark = end - strlen(SSHSIG_END);
	if (memcmp(endmark, SSHSIG_END, strlen(SSHSIG_END)) != 0)
		return cu_error_set(CU_EINVALID, "not an SSH signature: no END line");
	start += strlen(SSHSIG_BEGIN);
	if (endmark < start)
		return cu_error_set(CU_EINVALID, "not an SSH signature: malformed armor");
	*body = start;
	*bodylen = (size_t)(endmark - start);
	return 0;
}

/* Parses the armored blob (every length checked against what is left) and
 * then checks the Ed25519 signature over the reconstructed signed data. */
int
cu_sshsig_verify(unsigned char pub_out[CU_ED25519_PUB], const char *armored,
	const char *ns, const void *msg, size_t len)
{
	const unsigned char *pubkey, *sns, *reserved, *alg, *sigblob;
	const unsigned char *ktype, *kpub, *stype, *sig;
	size_t pubkeylen, snslen, reslen, alglen, sigbloblen;
	size_t ktypelen, kpublen, stypelen, siglen;
	unsigned char hash[EVP_MAX_MD_SIZE], *blob = NULL;
	char algname[8];
	struct rbuf r, kr, sr;
	struct wbuf tbs = { 0 };
	const char *body = NULL;
	size_t bodylen = 0, bloblen = 0, hashlen = 0;
	uint32_t version;
	int error;

	if (armored == NULL || ns == NULL)
		return cu_error_set(CU_EINVALID, "no SSH signature");
	if ((error = armor_body(&body, &bodylen, armored)) < 0)
		return error;
	if ((blob = malloc(3 * (bodylen / 4) + 3)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (unbase64(blob, &bloblen, body, bodylen) < 0) {
		error = cu_error_set(CU_EINVALID, "SSH signature: bad base64");
		goto done;
	}

	r = (struct rbuf){ blob, bloblen, 0 };
	if (bloblen < SSHSIG_MAGIC_LEN || memcmp(blob, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN) != 0) {
		error = cu_error_set(CU_EINVALID, "SSH signature: bad magic");
		goto done;
	}
	r.off = SSHSIG_MAGIC_LEN;
	if (rbuf_get_u32(&r, &version) < 0 || version != SSHSIG_VERSION) {
		error = cu_error_set(CU_EINVALID, "SSH signature: unsupported version");
		goto done;
	}
	if (rbuf_get_string(&r, &pubkey, &pubkeylen) < 0 ||
	    rbuf_get_string(&r, &sns, &snslen) < 0 ||
	    rbuf_get_string(&r, &reserved, &reslen) < 0 ||
	    rbuf_get_string(&r, &alg, &alglen) < 0 ||
	    rbuf_get_string(&r, &sigblob, &sigbloblen) < 0 ||
	    r.off != r.len) {
		error = cu_error_set(CU_EINVALID, "SSH signature: truncated or malformed blob");
		goto done;
	}

	kr = (struct rbuf){ pubkey, pubkeylen, 0 };
	if (rbuf_get_string(&kr, &ktype, &ktypelen) < 0 ||
	    !bytes_eq(ktype, ktypelen, SSH_ED25519)) {
		error = cu_error_set(CU_EINVALID, "SSH signature: key is not ssh-ed25519");
		goto done;
	}
	if (rbuf_get_string(&kr, &kpub, &kpublen) < 0 || kpublen != CU_ED25519_PUB ||
	    kr.off != kr.len) {
		error = cu_error_set(CU_EINVALID, "SSH signature: malformed public key");
		goto done;
	}
	if (!bytes_eq(sns, snslen, ns)) {
		error = cu_error_set(CU_EINVALID, "SSH signature: wrong namespace (expected \"%s\")",
			ns);
		goto done;
	}
	/* a non-empty reserved field is allowed and simply signed over, as
	 * PROTOCOL.sshsig asks verifiers to do */
	if (bytes_eq(alg, alglen, "sha512") || bytes_eq(alg, alglen, "sha256")) {
		memcpy(algname, alg, alglen);
		algname[alglen] = '\0';
	} else {
		error = cu_error_set(CU_EINVALID, "SSH signature: hash is not sha512 or sha256");
		goto done;
	}
	sr = (struct rbuf){ sigblob, sigbloblen, 0 };
	if (rbuf_get_string(&sr, &stype, &stypelen) < 0 ||
	    !bytes_eq(stype, stypelen, SSH_ED25519) ||
	    rbuf_get_string(&sr, &sig, &siglen) < 0 || siglen != CU_ED25519_SIG ||
	    sr.off != sr.len) {
		error = cu_error_set(CU_EINVALID, "SSH signature: malformed Ed25519 signature");
		goto done;
	}

	if ((error = sshsig_hash(hash, &hashlen, algname, msg, len)) < 0)
		goto done;
	put_signed_data(&tbs, sns, snslen, reserved, reslen, algname, hash, hashlen);
	if (tbs.oom) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_sig_verify(kpub, sig, tbs.p, tbs.len)) < 0) {
		if (error == CU_EINVALID)
			cu_error_set(CU_EINVALID, "SSH signature does not match the data");
		goto done;
	}
	if (pub_out != NULL)
		memcpy(pub_out, kpub, CU_ED25519_PUB);
done:
	wbuf_free(&tbs);
	free(blob);
	return error;
}

/* 32 bytes from the DRBG's private instance, written once (O_EXCL). */
int
cu_hmac_keygen(const char *path)
{
	unsigned char key[CU_HMAC_KEY_LEN];
	int error;

	if (access(path, F_OK) == 0)
		return cu_error_set(CU_EEXISTS, "%s: already exists", path);
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		return cu_error_set(CU_ERROR, "no random bytes: %s", ssl_reason());
	error = cu_write_file_durable(path, key, sizeof(key), 0600, 1);
	OPENSSL_cleanse(key, sizeof(key));
	return error;
}

/* The key file must pass the same checks as the signing key and hold
 * exactly 32 bytes; the read buffer is wiped. */
int
cu_hmac_key_load(unsigned char key[CU_HMAC_KEY_LEN], const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int error;

	if ((error = read_secret_file(&buf, &len, path)) < 0)
		return error;
	if (len != CU_HMAC_KEY_LEN)
		error = cu_error_set(CU_EINVALID, "%s: %zu bytes, expected a %d-byte key",
			path, len, CU_HMAC_KEY_LEN);
	else
		memcpy(key, buf, CU_HMAC_KEY_LEN);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return error;
}

int
cu_hmac_sha256(unsigned char out[32], const unsigned char key[CU_HMAC_KEY_LEN],
	const void *msg, size_t len)
{
	static const unsigned char empty[1];
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, CU_HMAC_KEY_LEN,
			msg != NULL ? msg : empty, len, out, 32, &outlen) == NULL ||
	    outlen != 32)
		return cu_error_set(CU_ERROR, "HMAC-SHA-256 failed: %s", ssl_reason());
	return 0;
}
