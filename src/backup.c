/* backup.c — backups of an archive and their restore (custos/backup.h,
 * docs/backup.md).
 *
 * The order of things is what makes a backup safe: the files, the head and
 * the checkpoint are taken under the writers' lock (mutable files read into
 * memory then); the lock is let go while the immutable files are copied;
 * the backup is written under a hidden .part name, fsynced, made read-only
 * and renamed; only then is the backup event committed.  A restore writes
 * into a hidden folder and renames it into place once everything passed. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "custos/backup.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/note.h"
#include "custos/sig.h"
#include "custos/util.h"
#include "archive_int.h"

#define BK_MAGIC "CUSTOSBK"
#define BK_VERSION 1
#define BK_CIPHER "aes-256-gcm"
#define BK_CHUNK ((size_t)1 << 20)       /* plaintext bytes per encrypted chunk */
#define BK_ALIGN 4096                     /* O_DIRECT: buffers, offsets and lengths */
#define BK_DIRECT_MIN ((uint64_t)1 << 20) /* members written past the page cache */
#define BK_TAG 16
#define BK_SALT 32
#define BK_FIXED 81                      /* magic 8, version 1, cipher 16, chunk 4,
                                            key id 16, salt 32, summary length 4 */
#define BK_MAX_SUMMARY 65536
#define BK_MAX_MANIFEST ((size_t)256 << 20)
#define BK_MAX_SIG 4096
#define BK_MAX_MEMBERS 4000000u
#define BK_MAX_MEMBER ((uint64_t)1 << 40)
#define BK_MAX_SMALL ((size_t)16 << 20)  /* a mutable file read under the lock */
#define BK_NS "custos-backup"
#define MANIFEST "custos-backup/manifest.json"
#define MANIFEST_SIG "custos-backup/manifest.sig"
/* a full backup's compact copy of the index (a cache, but rebuilding it is
 * most of a restore's time: docs/backup.md) */
#define INDEX_MEMBER "index/data.mdb"
#define PERSON_KEY_CHECK "custos backup person key check v1"

/* ---- keys ------------------------------------------------------------------------- */

void
cu_backup_key_id(char out[17], const unsigned char key[CU_BACKUP_KEY_LEN])
{
	static const char label[] = "custos backup key id\n";
	unsigned char buf[sizeof(label) - 1 + CU_BACKUP_KEY_LEN], d[32];

	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, key, CU_BACKUP_KEY_LEN);
	cu_sha256(d, buf, sizeof(buf));
	cu_hex(out, d, 8);
	explicit_bzero(buf, sizeof(buf));
}

int
cu_backup_keygen(const char *path, char key_id[17])
{
	unsigned char key[CU_BACKUP_KEY_LEN];
	int error;

	/* 32 random bytes, 0600, never over an existing file: the HMAC key's writer */
	if ((error = cu_hmac_keygen(path)) < 0)
		return error;
	if (key_id != NULL) {
		if ((error = cu_hmac_key_load(key, path)) < 0)
			return error;
		cu_backup_key_id(key_id, key);
		explicit_bzero(key, sizeof(key));
	}
	return 0;
}

static int
load_key(unsigned char key[CU_BACKUP_KEY_LEN], char key_id[17], const char *path)
{
	int error;

	if ((error = cu_hmac_key_load(key, path)) < 0)
		return cu_error_prefix(error, "--key");
	cu_backup_key_id(key_id, key);
	return 0;
}

/* The per-file key: HKDF-SHA256 of the key with the file's salt. */
static int
subkey(unsigned char out[32], const unsigned char key[CU_BACKUP_KEY_LEN],
	const unsigned char salt[BK_SALT])
{
	static const char info[] = "custos backup v1 " BK_CIPHER;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t outlen = 32;
	int ok;

	ok = pc != NULL && EVP_PKEY_derive_init(pc) > 0 &&
		EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_salt(pc, salt, BK_SALT) > 0 &&
		EVP_PKEY_CTX_set1_hkdf_key(pc, key, CU_BACKUP_KEY_LEN) > 0 &&
		EVP_PKEY_CTX_add1_hkdf_info(pc, (const unsigned char *)info,
			(int)sizeof(info) - 1) > 0 &&
		EVP_PKEY_derive(pc, out, &outlen) > 0 && outlen == 32;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : cu_error_set(CU_ERROR, "OpenSSL: HKDF failed");
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* nonce = the chunk's index, 96-bit big-endian; AAD = the header's digest,
 * the index, the final flag */
static void
chunk_params(unsigned char nonce[12], unsigned char aad[41], const unsigned char hd[32],
	uint64_t index, int final)
{
	memset(nonce, 0, 4);
	put64(nonce + 4, index);
	memcpy(aad, hd, 32);
	put64(aad + 32, index);
	aad[40] = (unsigned char)(final ? 1 : 0);
}

/* ---- output: the plain tar.zst, or the same stream in encrypted chunks ----------- */

struct bk_out {
	int fd;
	const char *name;
	int enc;
	unsigned char key[32], hd[32];
	unsigned char *buf, *cbuf;
	size_t used;
	uint64_t index, bytes;
	EVP_CIPHER_CTX *cx;
	ZSTD_CCtx *z;       /* the tar stream's compression (before encryption) */
	unsigned char *zbuf;
	size_t zcap;
	int failed;
	char failure[256];
};

static int
raw_write(struct bk_out *o, const void *p, size_t n)
{
	if (cu_write_all(o->fd, p, n) < 0) {
		o->failed = 1;
		snprintf(o->failure, sizeof(o->failure), "%s", strerror(errno ? errno : EIO));
		return -1;
	}
	o->bytes += n;
	return 0;
}

static int
seal_chunk(struct bk_out *o, int final)
{
	unsigned char nonce[12], aad[41], lenb[4], tag[BK_TAG];
	int outl = 0, fin = 0;

	chunk_params(nonce, aad, o->hd, o->index, final);
	put32(lenb, (uint32_t)o->used | (final ? 0x80000000u : 0));
	if (EVP_EncryptInit_ex(o->cx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_EncryptInit_ex(o->cx, NULL, NULL, o->key, nonce) != 1 ||
	    EVP_EncryptUpdate(o->cx, NULL, &outl, aad, sizeof(aad)) != 1 ||
	    (o->used > 0 && EVP_EncryptUpdate(o->cx, o->cbuf, &outl, o->buf, (int)o->used) != 1) ||
	    EVP_EncryptFinal_ex(o->cx, o->cbuf + (o->used > 0 ? outl : 0), &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(o->cx, EVP_CTRL_GCM_GET_TAG, BK_TAG, tag) != 1) {
		o->failed = 1;
		snprintf(o->failure, sizeof(o->failure), "OpenSSL: AES-256-GCM failed");
		return -1;
	}
	if (raw_write(o, lenb, 4) < 0 || raw_write(o, o->cbuf, o->used) < 0 ||
	    raw_write(o, tag, BK_TAG) < 0)
		return -1;
	o->index++;
	o->used = 0;
	return 0;
}

static int
out_write(struct bk_out *o, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (o->failed)
		return -1;
	if (!o->enc)
		return raw_write(o, p, n);
	while (n > 0) {
		if (o->used == BK_CHUNK && seal_chunk(o, 0) < 0)
			return -1;
		size_t k = BK_CHUNK - o->used < n ? BK_CHUNK - o->used : n;
		memcpy(o->buf + o->used, s, k);
		o->used += k;
		s += k;
		n -= k;
	}
	return 0;
}

/* Compresses len bytes (mode ZSTD_e_continue) or ends the frame
 * (ZSTD_e_end), passing the output on; -1 on failure (remembered). */
static int
out_zstd(struct bk_out *o, const void *p, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { p, len, 0 };
	size_t left;

	do {
		ZSTD_outBuffer out = { o->zbuf, o->zcap, 0 };

		left = ZSTD_compressStream2(o->z, &out, &in, mode);
		if (ZSTD_isError(left)) {
			o->failed = 1;
			snprintf(o->failure, sizeof(o->failure), "zstd: %s", ZSTD_getErrorName(left));
			return -1;
		}
		if (out.pos > 0 && out_write(o, o->zbuf, out.pos) < 0)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

/*
 * zstd through libzstd itself rather than libarchive's filter: libarchive
 * 3.6 compresses on one thread, and zstd's own workers (one per core) took
 * a full backup from single-core speed to nearly twice it.  The output is
 * the same format, a zstd frame, read back by libarchive's zstd filter and
 * by `tar --zstd`.
 */
static int
out_zstd_begin(struct bk_out *o, int level)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if ((o->z = ZSTD_createCCtx()) == NULL || (o->zbuf = malloc(ZSTD_CStreamOutSize())) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	o->zcap = ZSTD_CStreamOutSize();
	if (ZSTD_isError(ZSTD_CCtx_setParameter(o->z, ZSTD_c_compressionLevel, level)))
		return cu_error_set(CU_ERROR, "zstd: cannot set the level");
	/* a libzstd built without threads refuses workers: one thread then */
	if (ncpu > 1)
		(void)ZSTD_CCtx_setParameter(o->z, ZSTD_c_nbWorkers, (int)(ncpu > 8 ? 8 : ncpu));
	return 0;
}

static la_ssize_t
out_cb(struct archive *ar, void *client, const void *buf, size_t len)
{
	struct bk_out *o = client;

	(void)ar;
	/* a failure is remembered and reported when the member ends */
	if (o->z != NULL)
		out_zstd(o, buf, len, ZSTD_e_continue);
	else
		out_write(o, buf, len);
	return (la_ssize_t)len;
}

static void
out_free(struct bk_out *o)
{
	ZSTD_freeCCtx(o->z);
	o->z = NULL;
	free(o->zbuf);
	o->zbuf = NULL;
	explicit_bzero(o->key, sizeof(o->key));
	if (o->buf)
		explicit_bzero(o->buf, BK_CHUNK);
	free(o->buf);
	free(o->cbuf);
	EVP_CIPHER_CTX_free(o->cx);
	o->buf = o->cbuf = NULL;
	o->cx = NULL;
}

/* The header of an encrypted backup: fixed fields, then the summary (JSON)
 * that list reads without the key; its digest is in every chunk's AAD. */
static int
out_begin_enc(struct bk_out *o, const unsigned char key[CU_BACKUP_KEY_LEN], const char *key_id,
	const char *summary)
{
	unsigned char fixed[BK_FIXED], salt[BK_SALT];
	size_t slen = strlen(summary);
	EVP_MD_CTX *m;
	int error;

	if (slen > BK_MAX_SUMMARY)
		return cu_error_set(CU_ELIMIT, "backup summary too long");
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return cu_error_set(CU_ERROR, "no random bytes");
	memset(fixed, 0, sizeof(fixed));
	memcpy(fixed, BK_MAGIC, 8);
	fixed[8] = BK_VERSION;
	memcpy(fixed + 9, BK_CIPHER, strlen(BK_CIPHER));
	put32(fixed + 25, (uint32_t)BK_CHUNK);
	memcpy(fixed + 29, key_id, 16);
	memcpy(fixed + 45, salt, BK_SALT);
	put32(fixed + 77, (uint32_t)slen);
	if ((m = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(m, fixed, sizeof(fixed)) != 1 ||
	    EVP_DigestUpdate(m, summary, slen) != 1 || EVP_DigestFinal_ex(m, o->hd, NULL) != 1) {
		EVP_MD_CTX_free(m);
		return cu_error_set(CU_ERROR, "OpenSSL: SHA-256 failed");
	}
	EVP_MD_CTX_free(m);
	if ((error = subkey(o->key, key, salt)) < 0)
		return error;
	if ((o->buf = malloc(BK_CHUNK)) == NULL || (o->cbuf = malloc(BK_CHUNK)) == NULL ||
	    (o->cx = EVP_CIPHER_CTX_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	o->enc = 1;
	if (raw_write(o, fixed, sizeof(fixed)) < 0 || raw_write(o, summary, slen) < 0)
		return cu_error_set(CU_ERROR, "%s: %s", o->name, o->failure);
	return 0;
}

/* ---- input: either kind of backup file, checked as it is read -------------------- */

struct bk_in {
	int fd;
	const char *file;
	int enc;                /* an encrypted file */
	int keyed;              /* ... and its key is known */
	char key_id[17];
	json_t *summary;        /* encrypted: the header's summary */
	unsigned char key[32], hd[32];
	uint32_t chunk;
	uint64_t index;
	int seen_final;
	unsigned char *buf, *cbuf;
	EVP_CIPHER_CTX *cx;
	int failed;
	char failure[300];
	uint64_t bytes;         /* read from the file */
	off_t size;
};

static void
in_fail(struct bk_in *in, const char *fmt, ...)
{
	va_list ap;

	if (in->failed)
		return;
	in->failed = 1;
	va_start(ap, fmt);
	vsnprintf(in->failure, sizeof(in->failure), fmt, ap);
	va_end(ap);
}

static ssize_t
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static la_ssize_t
in_cb(struct archive *ar, void *client, const void **out)
{
	struct bk_in *in = client;
	unsigned char lenb[4], nonce[12], aad[41], one;
	uint32_t len;
	int final, outl = 0, fin = 0;
	ssize_t r;

	(void)ar;
	*out = in->buf;
	if (in->failed)
		return -1;
	if (!in->enc) {
		if ((r = read(in->fd, in->buf, BK_CHUNK)) < 0) {
			in_fail(in, "%s", strerror(errno));
			return -1;
		}
		in->bytes += (uint64_t)r;
		return r;
	}
	if (in->seen_final) {
		if ((r = read_full(in->fd, &one, 1)) != 0) {
			in_fail(in, "bytes after the final chunk");
			return -1;
		}
		return 0;
	}
	r = read_full(in->fd, lenb, 4);
	if (r != 4) {
		in_fail(in, r < 0 ? strerror(errno) : "truncated: the stream ends before its final "
			"chunk (chunk %llu)", (unsigned long long)in->index);
		return -1;
	}
	len = get32(lenb) & 0x7fffffffu;
	final = (get32(lenb) & 0x80000000u) != 0;
	if (len > in->chunk || (len == 0 && !final)) {
		in_fail(in, "chunk %llu: bad length %u", (unsigned long long)in->index, len);
		return -1;
	}
	r = read_full(in->fd, in->cbuf, (size_t)len + BK_TAG);
	if (r != (ssize_t)len + BK_TAG) {
		in_fail(in, r < 0 ? strerror(errno) : "truncated in chunk %llu",
			(unsigned long long)in->index);
		return -1;
	}
	in->bytes += 4 + (uint64_t)len + BK_TAG;
	chunk_params(nonce, aad, in->hd, in->index, final);
	if (EVP_DecryptInit_ex(in->cx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_DecryptInit_ex(in->cx, NULL, NULL, in->key, nonce) != 1 ||
	    EVP_DecryptUpdate(in->cx, NULL, &outl, aad, sizeof(aad)) != 1 ||
	    (len > 0 && EVP_DecryptUpdate(in->cx, in->buf, &outl, in->cbuf, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(in->cx, EVP_CTRL_GCM_SET_TAG, BK_TAG, in->cbuf + len) != 1 ||
	    EVP_DecryptFinal_ex(in->cx, in->buf + (len > 0 ? outl : 0), &fin) != 1) {
		in_fail(in, "chunk %llu does not authenticate: the backup was altered, reordered "
			"or truncated, or the header changed", (unsigned long long)in->index);
		return -1;
	}
	in->index++;
	if (final)
		in->seen_final = 1;
	if (len == 0) {
		/* an empty final chunk: the end, once nothing follows it */
		if ((r = read_full(in->fd, &one, 1)) != 0) {
			in_fail(in, "bytes after the final chunk");
			return -1;
		}
		return 0;
	}
	return (la_ssize_t)len;
}

static void
in_close(struct bk_in *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	explicit_bzero(in->key, sizeof(in->key));
	if (in->buf)
		explicit_bzero(in->buf, BK_CHUNK);
	free(in->buf);
	free(in->cbuf);
	EVP_CIPHER_CTX_free(in->cx);
	json_decref(in->summary);
	in->buf = in->cbuf = NULL;
	in->cx = NULL;
	in->summary = NULL;
}

/* Opens a backup file: its header when encrypted (and, with the key, the
 * chunk key).  An encrypted file without key (key NULL) can only be
 * described by its summary. */
static int
in_open(struct bk_in *in, const char *file, const unsigned char *key, const char *key_id)
{
	unsigned char fixed[BK_FIXED];
	struct stat st;
	char *summary = NULL;
	uint32_t slen;
	EVP_MD_CTX *m;
	ssize_t r;
	int error = 0;

	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->file = file;
	if ((in->fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? cu_error_set(CU_ENOTFOUND, "%s: no such file", file)
				       : cu_error_sys("%s", file);
	if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return cu_error_set(CU_EINVALID, "%s: not a regular file", file);
	in->size = st.st_size;
	if ((in->buf = malloc(BK_CHUNK)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	r = read_full(in->fd, fixed, 8);
	if (r < 0)
		return cu_error_sys("%s", file);
	if (r < 8 || memcmp(fixed, BK_MAGIC, 8) != 0) {
		/* a plain tar.zst: read from the start */
		if (lseek(in->fd, 0, SEEK_SET) < 0)
			return cu_error_sys("%s", file);
		return 0;
	}
	in->enc = 1;
	if (read_full(in->fd, fixed + 8, BK_FIXED - 8) != BK_FIXED - 8)
		return cu_error_set(CU_EINVALID, "%s: truncated header", file);
	if (fixed[8] != BK_VERSION)
		return cu_error_set(CU_EINVALID, "%s: backup format version %u is not known (1 is)",
			file, fixed[8]);
	if (memcmp(fixed + 9, BK_CIPHER, strlen(BK_CIPHER)) != 0 || fixed[9 + strlen(BK_CIPHER)] != 0)
		return cu_error_set(CU_EINVALID, "%s: header: cipher is not %s", file, BK_CIPHER);
	in->chunk = get32(fixed + 25);
	if (in->chunk == 0 || in->chunk > BK_CHUNK)
		return cu_error_set(CU_EINVALID, "%s: header: chunk size %u out of range", file,
			in->chunk);
	memcpy(in->key_id, fixed + 29, 16);
	in->key_id[16] = '\0';
	for (int i = 0; i < 16; i++)
		if (cu_hex_digit(in->key_id[i]) < 0)
			return cu_error_set(CU_EINVALID, "%s: header: bad key id", file);
	slen = get32(fixed + 77);
	if (slen > BK_MAX_SUMMARY)
		return cu_error_set(CU_ELIMIT, "%s: header: summary of %u bytes is too long", file, slen);
	if ((summary = malloc((size_t)slen + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (read_full(in->fd, summary, slen) != (ssize_t)slen) {
		free(summary);
		return cu_error_set(CU_EINVALID, "%s: truncated header", file);
	}
	summary[slen] = '\0';
	in->bytes = BK_FIXED + (uint64_t)slen;
	if ((m = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(m, fixed, sizeof(fixed)) != 1 ||
	    EVP_DigestUpdate(m, summary, slen) != 1 || EVP_DigestFinal_ex(m, in->hd, NULL) != 1)
		error = cu_error_set(CU_ERROR, "OpenSSL: SHA-256 failed");
	EVP_MD_CTX_free(m);
	if (error == 0 && (in->summary = json_loadb(summary, slen, 0, NULL)) == NULL)
		error = cu_error_set(CU_EINVALID, "%s: header: the summary is not JSON", file);
	free(summary);
	if (error < 0)
		return error;
	if (key == NULL)
		return 0;
	if (strcmp(key_id, in->key_id) != 0)
		return cu_error_set(CU_EINVALID, "%s: key id %s does not match the backup's key id %s",
			file, key_id, in->key_id);
	if ((error = subkey(in->key, key, fixed + 45)) < 0)
		return error;
	if ((in->cbuf = malloc(BK_CHUNK + BK_TAG)) == NULL || (in->cx = EVP_CIPHER_CTX_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	in->keyed = 1;
	return 0;
}

/* ---- member names ------------------------------------------------------------------ */

static int
is_hex_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || cu_hex_digit((unsigned char)s[i]) < 0 ||
		    (s[i] >= 'A' && s[i] <= 'F'))
			return 0;
	return 1;
}

/* Content objects and packs are named by their SHA-256: the digest from
 * the name, or 0 if the path is not one of them. */
static int
named_digest(unsigned char sha[32], const char *p)
{
	char hex[65];

	if (strncmp(p, "objects/sha256/", 15) == 0 && strlen(p) == 15 + 2 + 1 + 62 &&
	    is_hex_n(p + 15, 2) && p[17] == '/' && is_hex_n(p + 18, 62)) {
		memcpy(hex, p + 15, 2);
		memcpy(hex + 2, p + 18, 62);
		hex[64] = '\0';
		return cu_unhex(sha, 32, hex) == 0;
	}
	if (strncmp(p, "objects/packs/pack-", 19) == 0 && strlen(p) == 19 + 64 + 4 &&
	    is_hex_n(p + 19, 64) && strcmp(p + 19 + 64, ".tar") == 0) {
		memcpy(hex, p + 19, 64);
		hex[64] = '\0';
		return cu_unhex(sha, 32, hex) == 0;
	}
	return 0;
}

/* Git files that never change once named: packs and loose objects. */
static int
git_immutable(const char *p)
{
	const char *q;

	if (strncmp(p, "history.git/objects/", 20) != 0)
		return 0;
	q = p + 20;
	if (strncmp(q, "pack/pack-", 10) == 0 && is_hex_n(q + 10, 40) &&
	    (strcmp(q + 50, ".pack") == 0 || strcmp(q + 50, ".idx") == 0 ||
	     strcmp(q + 50, ".rev") == 0))
		return 1;
	return strlen(q) == 41 && is_hex_n(q, 2) && q[2] == '/' && is_hex_n(q + 3, 38);
}

static int
is_secret(const char *p)
{
	return strcmp(p, "keys/signing.pem") == 0 || strcmp(p, "keys/person.hmac") == 0;
}

/* A member path a backup may hold: the archive's own files only, in plain
 * ASCII, relative, no empty, "." or ".." component, bounded. */
static int
member_path_ok(const char *p)
{
	size_t len = strlen(p), depth = 0;
	const char *c;

	if (len == 0 || len > 512 || p[0] == '/')
		return 0;
	for (c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-' || *c == '/'))
			return 0;
	for (c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (++depth > 10)
			return 0;
	}
	if (strcmp(p, "archive.json") == 0 || strcmp(p, "archive.conf") == 0 ||
	    strcmp(p, "keys/signing.pub") == 0 || is_secret(p) || strcmp(p, INDEX_MEMBER) == 0)
		return 1;
	if (strncmp(p, "objects/sha256/", 15) == 0 || strncmp(p, "objects/packs/", 14) == 0) {
		unsigned char d[32];
		return named_digest(d, p);
	}
	return strncmp(p, "history.git/", 12) == 0 && len > 12;
}

/* ---- reading a backup -------------------------------------------------------------- */

struct bk_reader {
	struct bk_in in;
	struct archive *ar;
	struct archive_entry *e;
	char *mtext;            /* the manifest's exact bytes */
	size_t mlen;
	unsigned char mdigest[32];
	char *sig;
	json_t *manifest;
};

static void
reader_close(struct bk_reader *r)
{
	if (r->ar)
		archive_read_free(r->ar);
	r->ar = NULL;
	in_close(&r->in);
	free(r->mtext);
	free(r->sig);
	json_decref(r->manifest);
	r->mtext = r->sig = NULL;
	r->manifest = NULL;
}

/* The reason the stream failed: ours (a chunk), else libarchive's. */
static const char *
reader_why(struct bk_reader *r)
{
	if (r->in.failed)
		return r->in.failure;
	return r->ar && archive_error_string(r->ar) ? archive_error_string(r->ar) : "unreadable";
}

/* The next member's header: 1 and the entry, 0 at the end, <0 on error. */
static int
reader_next(struct bk_reader *r)
{
	int rc = archive_read_next_header(r->ar, &r->e);

	if (rc == ARCHIVE_EOF)
		return 0;
	if (rc < ARCHIVE_WARN)
		return cu_error_set(CU_EINVALID, "%s: %s", r->in.file, reader_why(r));
	return 1;
}

/* Reads the current member whole into memory (small members only). */
static int
reader_slurp(struct bk_reader *r, char **out, size_t *len, size_t max, const char *what)
{
	la_int64_t size = archive_entry_size(r->e);
	char *buf;
	size_t got = 0;

	if (size < 0 || (uint64_t)size > max)
		return cu_error_set(CU_ELIMIT, "%s: %s: too large", r->in.file, what);
	if ((buf = malloc((size_t)size + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	while (got < (size_t)size) {
		la_ssize_t n = archive_read_data(r->ar, buf + got, (size_t)size - got);
		if (n <= 0) {
			free(buf);
			return cu_error_set(CU_EINVALID, "%s: %s: %s", r->in.file, what,
				n == 0 ? "truncated" : reader_why(r));
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* Opens a backup and reads its manifest and signature (the first two
 * members). */
static int
reader_open(struct bk_reader *r, const char *file, const unsigned char *key, const char *key_id)
{
	size_t siglen;
	json_error_t jerr;
	int error;

	memset(r, 0, sizeof(*r));
	if ((error = in_open(&r->in, file, key, key_id)) < 0)
		return error;
	if (r->in.enc && !r->in.keyed)
		return cu_error_set(CU_EINVALID, "%s: encrypted with key id %s: give --key",
			file, r->in.key_id);
	if ((r->ar = archive_read_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (archive_read_support_filter_zstd(r->ar) < ARCHIVE_WARN ||
	    archive_read_support_format_tar(r->ar) < ARCHIVE_WARN ||
	    archive_read_open(r->ar, &r->in, NULL, in_cb, NULL) != ARCHIVE_OK)
		return cu_error_set(CU_EINVALID, "%s: not a custos backup: %s", file, reader_why(r));
	if ((error = reader_next(r)) <= 0 ||
	    strcmp(archive_entry_pathname(r->e) ? archive_entry_pathname(r->e) : "", MANIFEST) != 0)
		return error < 0 ? cu_error_prefix(error, "not a custos backup") :
			cu_error_set(CU_EINVALID, "%s: not a custos backup (%s is not its first member)",
				file, MANIFEST);
	if ((error = reader_slurp(r, &r->mtext, &r->mlen, BK_MAX_MANIFEST, MANIFEST)) < 0)
		return error;
	cu_sha256(r->mdigest, r->mtext, r->mlen);
	if ((error = reader_next(r)) <= 0 ||
	    strcmp(archive_entry_pathname(r->e) ? archive_entry_pathname(r->e) : "", MANIFEST_SIG) != 0)
		return error < 0 ? error : cu_error_set(CU_EINVALID, "%s: %s: missing (the second "
			"member must be the manifest's signature)", file, MANIFEST_SIG);
	if ((error = reader_slurp(r, &r->sig, &siglen, BK_MAX_SIG, MANIFEST_SIG)) < 0)
		return error;
	if ((r->manifest = json_loadb(r->mtext, r->mlen, 0, &jerr)) == NULL ||
	    !json_is_object(r->manifest) ||
	    strcmp(arc_jstr(r->manifest, "format") ? arc_jstr(r->manifest, "format") : "",
		"custos-backup") != 0 ||
	    json_integer_value(json_object_get(r->manifest, "version")) != 1 ||
	    !json_is_array(json_object_get(r->manifest, "members")) ||
	    arc_jstr(r->manifest, "id") == NULL || arc_jstr(r->manifest, "kind") == NULL)
		return cu_error_set(CU_EINVALID, "%s: %s: not a custos backup manifest (version 1)",
			file, MANIFEST);
	if (json_array_size(json_object_get(r->manifest, "members")) > BK_MAX_MEMBERS)
		return cu_error_set(CU_ELIMIT, "%s: %s: too many members", file, MANIFEST);
	return 0;
}

/* The SHA-256 of an archive's archive.json, in hex. */
static int
archive_identity(char hex[65], const cu_archive *a)
{
	char p[4200], *ident = NULL;
	unsigned char d[32];
	size_t len;
	int error;

	if ((error = cu_pathf(p, sizeof(p), "%s/archive.json", a->path)) < 0 ||
	    (error = cu_read_file(&ident, &len, p, 65536)) < 0)
		return error;
	cu_sha256(d, ident, len);
	free(ident);
	cu_hex(hex, d, 32);
	return 0;
}

/* Checks the manifest's signature: by the key its archive names, and that
 * key equals trusted (when given: the key of the archive the backup claims
 * to be of). */
static int
check_signature(struct bk_reader *r, const char *trusted)
{
	unsigned char signer[CU_ED25519_PUB], pub[CU_ED25519_PUB], tpub[CU_ED25519_PUB];
	const char *key = arc_jstr(json_object_get(r->manifest, "archive"), "signing_key");
	int error;

	if ((error = cu_sshsig_verify(signer, r->sig, BK_NS, r->mtext, r->mlen)) < 0)
		return cu_error_prefix(error, "%s: %s", r->in.file, MANIFEST_SIG);
	if (key == NULL || arc_ssh_pub_raw(pub, key) < 0 || memcmp(pub, signer, sizeof(pub)) != 0)
		return cu_error_set(CU_EINVALID, "%s: %s: not signed by the archive's key",
			r->in.file, MANIFEST_SIG);
	if (trusted != NULL && (arc_ssh_pub_raw(tpub, trusted) < 0 ||
	    memcmp(tpub, signer, sizeof(tpub)) != 0))
		return cu_error_set(CU_EINVALID, "%s: %s: signed by another key than this archive's",
			r->in.file, MANIFEST_SIG);
	return 0;
}

/* ---- summaries: what list shows ------------------------------------------------------ */

static json_int_t
jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* The part of a manifest that list shows (and an encrypted header holds). */
static json_t *
summary_of(const json_t *m)
{
	const json_t *arch = json_object_get(m, "archive"), *par = json_object_get(m, "parent");

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I}",
		"id", arc_jstr(m, "id") ? arc_jstr(m, "id") : "",
		"kind", arc_jstr(m, "kind") ? arc_jstr(m, "kind") : "",
		"created_at", arc_jstr(m, "created_at") ? arc_jstr(m, "created_at") : "",
		"archive_id", arc_jstr(arch, "id") ? arc_jstr(arch, "id") : "",
		"archive_name", arc_jstr(arch, "name") ? arc_jstr(arch, "name") : "",
		"parent", arc_jstr(par, "id") ? arc_jstr(par, "id") : "",
		"parent_manifest", arc_jstr(par, "manifest") ? arc_jstr(par, "manifest") : "",
		"parent_log_size", jint(par, "log_size"),
		"log_size", jint(m, "log_size"),
		"head", arc_jstr(m, "head") ? arc_jstr(m, "head") : "",
		"members", (json_int_t)json_array_size(json_object_get(m, "members")),
		"bytes", jint(m, "bytes"));
}

static time_t
parse_utc(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return 0;
	return timegm(&tm);
}

/* A backup as list knows it: the summary (from the manifest, or an
 * encrypted file's header). */
struct bk_entry {
	char *file;
	char *problem;          /* a file that cannot be read: why (summary NULL) */
	json_t *summary;
	char key_id[17];
	uint64_t bytes_out;
};

static void
entry_info(cu_backup_info *b, const struct bk_entry *e)
{
	const json_t *s = e->summary;

	memset(b, 0, sizeof(*b));
	b->file = e->file;
	b->problem = e->problem;
	if (s == NULL) {
		b->id = b->kind = b->created_at = b->parent = b->archive_id = b->archive_name =
			b->head = b->key_id = "";
		return;
	}
	b->id = arc_jstr(s, "id");
	b->kind = arc_jstr(s, "kind");
	b->created_at = arc_jstr(s, "created_at");
	b->parent = arc_jstr(s, "parent");
	b->archive_id = arc_jstr(s, "archive_id");
	b->archive_name = arc_jstr(s, "archive_name");
	b->head = arc_jstr(s, "head");
	b->key_id = e->key_id;
	b->log_size = (uint64_t)jint(s, "log_size");
	b->parent_log_size = (uint64_t)jint(s, "parent_log_size");
	b->members = (uint64_t)jint(s, "members");
	b->bytes_in = (uint64_t)jint(s, "bytes");
	b->bytes_out = e->bytes_out;
	b->time = parse_utc(b->created_at);
}

/* The summary of one backup file without its key. */
static int
read_entry(struct bk_entry *e, const char *file)
{
	struct bk_reader r;
	int error;

	memset(e, 0, sizeof(*e));
	if ((e->file = strdup(file)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = in_open(&r.in, file, NULL, NULL)) < 0) {
		in_close(&r.in);
		return error;
	}
	e->bytes_out = (uint64_t)r.in.size;
	if (r.in.enc) {
		e->summary = json_incref(r.in.summary);
		snprintf(e->key_id, sizeof(e->key_id), "%s", r.in.key_id);
		in_close(&r.in);
	} else {
		in_close(&r.in);
		if ((error = reader_open(&r, file, NULL, NULL)) < 0) {
			reader_close(&r);
			return error;
		}
		e->summary = summary_of(r.manifest);
		reader_close(&r);
	}
	if (e->summary == NULL || arc_jstr(e->summary, "id") == NULL)
		return cu_error_set(CU_EINVALID, "%s: the backup's summary is incomplete", file);
	return 0;
}

static void
entries_free(struct bk_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].file);
		free(v[i].problem);
		json_decref(v[i].summary);
	}
	free(v);
}

static int
cmp_entry(const void *x, const void *y)
{
	const struct bk_entry *a = x, *b = y;
	int c;

	/* the files that cannot be read first, by name */
	if (a->summary == NULL || b->summary == NULL)
		return a->summary != NULL ? 1 : b->summary != NULL ? -1 : strcmp(a->file, b->file);
	c = strcmp(arc_jstr(a->summary, "created_at"), arc_jstr(b->summary, "created_at"));

	if (c != 0)
		return c;
	if (jint(a->summary, "log_size") != jint(b->summary, "log_size"))
		return jint(a->summary, "log_size") < jint(b->summary, "log_size") ? -1 : 1;
	return strcmp(a->file, b->file);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Every *.cbk in dir, oldest first; a file that cannot be read is an
 * entry with its problem (no summary), not an error. */
static int
scan_dir(struct bk_entry **out, size_t *n, const char *dir)
{
	struct bk_entry *v = NULL;
	size_t cap = 0, k = 0;
	struct dirent *de;
	char p[4096];
	DIR *d;
	int error = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? cu_error_set(CU_ENOTFOUND, "%s: no such folder", dir)
				       : cu_error_sys("%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !ends_with(de->d_name, ".cbk"))
			continue;
		if ((error = cu_pathf(p, sizeof(p), "%s/%s", dir, de->d_name)) < 0)
			break;
		if ((error = cu_grow(&v, &cap, k + 1, sizeof(*v))) < 0)
			break;
		if ((error = read_entry(&v[k], p)) < 0) {
			if (error == CU_ERROR && errno == ENOMEM) {
				k++;
				break;
			}
			json_decref(v[k].summary);
			v[k].summary = NULL;
			if ((v[k].problem = strdup(cu_error_last())) == NULL) {
				error = cu_error_set(CU_ERROR, "out of memory");
				k++;
				break;
			}
			cu_error_clear();
			error = 0;
		}
		k++;
	}
	closedir(d);
	if (error < 0) {
		entries_free(v, k);
		return error;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_entry);
	*out = v;
	*n = k;
	return 0;
}

int
cu_backup_list(const char *dir, cu_backup_list_cb cb, void *payload, size_t *n)
{
	struct bk_entry *v;
	cu_backup_info b;
	size_t k;
	int error;

	if ((error = scan_dir(&v, &k, dir)) < 0)
		return error;
	for (size_t i = 0; i < k && error == 0; i++) {
		entry_info(&b, &v[i]);
		error = cb(&b, payload);
	}
	entries_free(v, k);
	if (n)
		*n = k;
	return error;
}

/* ---- create: the snapshot ------------------------------------------------------------ */

struct member {
	char *path;
	uint64_t size;
	unsigned char sha[32];
	int have_sha;     /* read under the lock, or hashed before the manifest */
	int named;        /* named by its digest: checked while it is copied */
	int immutable;
	char *data;       /* a mutable file: its bytes as the lock saw them */
	char *src;        /* read from here, not from the archive (the index copy) */
};

struct snap {
	cu_archive *a;
	size_t root;
	struct member *v;
	size_t n, cap;
	int with_secrets;
	int error;
};

static __thread struct snap *cur_snap;

static void
members_free(struct member *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		if (v[i].data)
			explicit_bzero(v[i].data, v[i].size);
		free(v[i].data);
		free(v[i].src);
	}
	free(v);
}

/* A dense copy of the index into a hidden part file of the backup folder
 * (locked, so that another backup's clean-up leaves it alone; removed by
 * the caller through tmp), added to the snapshot as INDEX_MEMBER.  Taken
 * under the writers' lock, it reflects exactly the snapshot's head. */
static int
snap_add_index(struct snap *s, const char *dir, char tmp[4200], int *tmp_fd)
{
	struct member *m;
	struct stat st;
	int error;

	if ((error = cu_pathf(tmp, 4200, "%s/.custos-index-XXXXXX.cbk.part", dir)) < 0)
		return error;
	if ((*tmp_fd = mkstemps(tmp, 9)) < 0) {
		error = cu_error_sys("%s", tmp);
		tmp[0] = '\0';
		return error;
	}
	if (flock(*tmp_fd, LOCK_EX | LOCK_NB) < 0)
		return cu_error_sys("lock %s", tmp);
	if ((error = cu_index_copy(s->a->ix, tmp)) < 0)
		return error;
	if (fstat(*tmp_fd, &st) < 0)
		return cu_error_sys("%s", tmp);
	if ((error = cu_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v))) < 0)
		return error;
	m = &s->v[s->n];
	memset(m, 0, sizeof(*m));
	if ((m->path = strdup(INDEX_MEMBER)) == NULL || (m->src = strdup(tmp)) == NULL) {
		free(m->path);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	m->size = (uint64_t)st.st_size;
	s->n++;
	return 0;
}

static int
snap_add(struct snap *s, const char *rel, uint64_t size)
{
	struct member *m;
	char p[4200];
	size_t len;
	int error;

	if (!member_path_ok(rel))
		return 0;   /* debris (temporary files) is not part of the archive */
	if (is_secret(rel) && !s->with_secrets)
		return 0;
	if ((error = cu_grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v))) < 0)
		return error;
	m = &s->v[s->n];
	memset(m, 0, sizeof(*m));
	if ((m->path = strdup(rel)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	s->n++;
	m->size = size;
	if (named_digest(m->sha, rel)) {
		m->named = m->immutable = m->have_sha = 1;
		return 0;
	}
	if (git_immutable(rel)) {
		m->immutable = 1;
		return 0;
	}
	/* refs, HEAD, config, archive.conf, keys: read now, under the lock */
	if ((error = cu_pathf(p, sizeof(p), "%s/%s", s->a->path, rel)) < 0 ||
	    (error = cu_read_file(&m->data, &len, p, BK_MAX_SMALL)) < 0)
		return error;
	m->size = len;
	cu_sha256(m->sha, m->data, len);
	m->have_sha = 1;
	return 0;
}

static int
snap_walk_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	struct snap *s = cur_snap;
	const char *rel = p + s->root;

	(void)f;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (ends_with(rel, ".lock"))
		return 0;
	if (strncmp(rel, "history.git/objects/", 20) == 0 && !git_immutable(rel))
		return 0;
	if ((s->error = snap_add(s, rel, (uint64_t)st->st_size)) < 0)
		return 1;
	return 0;
}

static int
cmp_member(const void *x, const void *y)
{
	return strcmp(((const struct member *)x)->path, ((const struct member *)y)->path);
}

/* Every file of the archive a backup holds (sorted by path). */
static int
snapshot(struct snap *s)
{
	static const char *const top[] = { "archive.json", "archive.conf", "keys/signing.pub",
		"keys/signing.pem", "keys/person.hmac" };
	static const char *const trees[] = { "objects/sha256", "objects/packs", "history.git" };
	char p[4200];
	struct stat st;
	int error;

	s->root = strlen(s->a->path) + 1;
	for (size_t i = 0; i < sizeof(top) / sizeof(*top); i++) {
		if ((error = cu_pathf(p, sizeof(p), "%s/%s", s->a->path, top[i])) < 0)
			return error;
		if (lstat(p, &st) < 0) {
			if (errno == ENOENT && strcmp(top[i], "keys/signing.pub") != 0 &&
			    strcmp(top[i], "archive.json") != 0)
				continue;
			return cu_error_sys("%s", p);
		}
		if ((error = snap_add(s, top[i], (uint64_t)st.st_size)) < 0)
			return error;
	}
	for (size_t i = 0; i < sizeof(trees) / sizeof(*trees); i++) {
		if ((error = cu_pathf(p, sizeof(p), "%s/%s", s->a->path, trees[i])) < 0)
			return error;
		cur_snap = s;
		s->error = 0;
		if (nftw(p, snap_walk_cb, 32, FTW_PHYS) != 0) {
			cur_snap = NULL;
			return s->error < 0 ? s->error : cu_error_sys("%s", p);
		}
		cur_snap = NULL;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_member);
	return 0;
}

static int
hash_file(unsigned char sha[32], uint64_t *size, const char *path)
{
	unsigned char *buf;
	EVP_MD_CTX *m;
	ssize_t n;
	int fd, error = 0;

	*size = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cu_error_sys("%s", path);
	if ((buf = malloc(BK_CHUNK)) == NULL || (m = EVP_MD_CTX_new()) == NULL) {
		free(buf);
		close(fd);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	while ((n = read(fd, buf, BK_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cu_error_sys("%s", path);
			break;
		}
		EVP_DigestUpdate(m, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	if (error == 0)
		EVP_DigestFinal_ex(m, sha, NULL);
	EVP_MD_CTX_free(m);
	free(buf);
	close(fd);
	return error;
}

/* ---- the chain an incremental builds on -------------------------------------------- */

struct held {
	const char *path;   /* into the chain's manifests */
	char sha[65];       /* "" when the path was removed */
	size_t seq;
};

static int
cmp_held(const void *x, const void *y)
{
	const struct held *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c != 0 ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

static int
cmp_held_key(const void *k, const void *y)
{
	return strcmp(k, ((const struct held *)y)->path);
}

/* The files the chain holds, each with its latest digest: manifests full
 * first; removed paths dropped. */
static int
held_build(struct held **out, size_t *nout, json_t *const *manifests, size_t n)
{
	struct held *v = NULL;
	size_t cap = 0, k = 0, seq = 0, w = 0;
	const json_t *x;
	size_t i;
	int error;

	for (size_t b = 0; b < n; b++) {
		json_array_foreach(json_object_get(manifests[b], "members"), i, x) {
			if ((error = cu_grow(&v, &cap, k + 1, sizeof(*v))) < 0)
				goto fail;
			v[k].path = arc_jstr(x, "path") ? arc_jstr(x, "path") : "";
			snprintf(v[k].sha, sizeof(v[k].sha), "%s",
				arc_jstr(x, "sha256") ? arc_jstr(x, "sha256") : "");
			v[k++].seq = seq++;
		}
		json_array_foreach(json_object_get(manifests[b], "removed"), i, x) {
			if ((error = cu_grow(&v, &cap, k + 1, sizeof(*v))) < 0)
				goto fail;
			v[k].path = json_string_value(x) ? json_string_value(x) : "";
			v[k].sha[0] = '\0';
			v[k++].seq = seq++;
		}
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_held);
	/* the last word on each path */
	for (size_t r = 0; r < k; r++) {
		if (r + 1 < k && strcmp(v[r].path, v[r + 1].path) == 0)
			continue;
		if (v[r].sha[0] != '\0')
			v[w++] = v[r];
	}
	*out = v;
	*nout = w;
	return 0;
fail:
	free(v);
	return error;
}

static const struct held *
held_find(const struct held *v, size_t n, const char *path)
{
	return n ? bsearch(path, v, n, sizeof(*v), cmp_held_key) : NULL;
}

/* Keeps of the snapshot only what the chain does not hold with the same
 * digest: an immutable file the chain holds is not even read; the others
 * are hashed (git packs, once) and compared.  On failure every member is
 * still in s, to be freed. */
static int
keep_new(struct snap *s, const struct held *held, size_t nheld)
{
	char hex[65], p[4200];
	size_t k = 0, i;
	int error = 0;

	for (i = 0; i < s->n; i++) {
		struct member *m = &s->v[i];
		const struct held *h = held_find(held, nheld, m->path);
		if (h != NULL && !m->immutable) {
			/* compared below */
		} else if (h != NULL) {
			free(m->path);
			free(m->data);
			free(m->src);
			continue;
		}
		if (!m->have_sha) {
			if (m->src != NULL)
				error = cu_pathf(p, sizeof(p), "%s", m->src);
			else
				error = cu_pathf(p, sizeof(p), "%s/%s", s->a->path, m->path);
			if (error < 0 || (error = hash_file(m->sha, &m->size, p)) < 0)
				break;
			m->have_sha = 1;
		}
		cu_hex(hex, m->sha, 32);
		if (h != NULL && strcmp(h->sha, hex) == 0) {
			if (m->data)
				explicit_bzero(m->data, m->size);
			free(m->path);
			free(m->data);
			free(m->src);
			continue;
		}
		s->v[k++] = *m;
	}
	/* on failure the members not yet looked at stay, after those kept */
	for (; i < s->n; i++)
		s->v[k++] = s->v[i];
	s->n = k;
	return error;
}

/* ---- create: writing ----------------------------------------------------------------- */

struct bk_writer {
	struct bk_out out;
	struct archive *ar;
	struct archive_entry *e;
	time_t now;
	cu_backup_progress prog;
	cu_backup_progress_cb progress;
	void *payload;
	struct timespec last;
};

static int
writer_fail(struct bk_writer *w, const char *what)
{
	return cu_error_set(CU_ERROR, "%s: writing %s: %s", w->out.name, what,
		w->out.failed ? w->out.failure :
		(archive_error_string(w->ar) ? archive_error_string(w->ar) : "failed"));
}

static void
tick(cu_backup_progress_cb cb, void *payload, const cu_backup_progress *p, struct timespec *last,
	int force)
{
	struct timespec now;

	if (cb == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - last->tv_sec) * 1000 + (now.tv_nsec - last->tv_nsec) / 1000000 < 200)
		return;
	*last = now;
	cb(p, payload);
}

static int
writer_header(struct bk_writer *w, const char *path, uint64_t size, int mode)
{
	archive_entry_clear(w->e);
	archive_entry_set_pathname(w->e, path);
	archive_entry_set_filetype(w->e, AE_IFREG);
	archive_entry_set_perm(w->e, mode);
	archive_entry_set_size(w->e, (la_int64_t)size);
	archive_entry_set_mtime(w->e, w->now, 0);
	if (archive_write_header(w->ar, w->e) != ARCHIVE_OK || w->out.failed)
		return writer_fail(w, path);
	return 0;
}

static int
writer_mem(struct bk_writer *w, const char *path, const void *data, size_t len, int mode)
{
	int error;

	if ((error = writer_header(w, path, len, mode)) < 0)
		return error;
	if (len > 0 && (archive_write_data(w->ar, data, len) != (la_ssize_t)len || w->out.failed))
		return writer_fail(w, path);
	return 0;
}

static int
member_mode(const char *path)
{
	if (is_secret(path) || strcmp(path, INDEX_MEMBER) == 0)
		return 0600;
	if (strncmp(path, "objects/", 8) == 0 || strncmp(path, "history.git/objects/", 20) == 0)
		return 0444;
	return 0644;
}

/* Copies a file into the backup, hashing it on the way (one read): it must
 * still have the size and digest the manifest gives. */
static int
writer_file(struct bk_writer *w, cu_archive *a, const struct member *m, unsigned char *buf)
{
	unsigned char sha[32];
	char p[4200];
	uint64_t left = m->size;
	EVP_MD_CTX *md;
	int fd, error;

	if (m->data != NULL) {
		if ((error = writer_mem(w, m->path, m->data, m->size, member_mode(m->path))) < 0)
			return error;
		w->prog.bytes_done += m->size;
		return 0;
	}
	if (m->src != NULL)
		error = cu_pathf(p, sizeof(p), "%s", m->src);
	else
		error = cu_pathf(p, sizeof(p), "%s/%s", a->path, m->path);
	if (error < 0)
		return error;
	if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cu_error_sys("%s", p);
	if ((error = writer_header(w, m->path, m->size, member_mode(m->path))) < 0) {
		close(fd);
		return error;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		close(fd);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	while (left > 0) {
		size_t want = left < BK_CHUNK ? (size_t)left : BK_CHUNK;
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error = n < 0 ? cu_error_sys("%s", p) :
				cu_error_set(CU_EINVALID, "%s: shorter than when the backup began", p);
			break;
		}
		/* the index copy is this backup's own locked file, hashed a moment
		 * ago; a change since would fail the manifest's digest on verify */
		if (m->src == NULL)
			EVP_DigestUpdate(md, buf, (size_t)n);
		if (archive_write_data(w->ar, buf, (size_t)n) != n || w->out.failed) {
			error = writer_fail(w, m->path);
			break;
		}
		left -= (uint64_t)n;
		w->prog.bytes_done += (uint64_t)n;
		tick(w->progress, w->payload, &w->prog, &w->last, 0);
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	close(fd);
	if (error == 0 && m->src == NULL && memcmp(sha, m->sha, 32) != 0)
		error = cu_error_set(CU_EINVALID, "%s: does not match %s (run custos verify); "
			"no backup written", p, m->named ? "its name" : "the digest taken at the start");
	return error;
}

/* The file name: custos-<archive name, [A-Za-z0-9.-] kept>-<time>-<full|incr>.cbk */
static void
backup_name(char *out, size_t outsz, const char *name, time_t now, int incremental)
{
	char clean[64], ts[32];
	size_t k = 0;
	struct tm tm;

	for (const char *c = name; *c && k < sizeof(clean) - 1; c++)
		clean[k++] = ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			(*c >= '0' && *c <= '9') || *c == '.' || *c == '-') ? *c : '_';
	clean[k] = '\0';
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, outsz, "custos-%s-%s-%s.cbk", clean, ts, incremental ? "incr" : "full");
}

/* Removes the .part files of killed backups: a part file nobody holds a
 * lock on is debris. */
static void
clean_parts(const char *dir)
{
	struct dirent *de;
	char p[4200];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		int fd;
		if (de->d_name[0] != '.' || !ends_with(de->d_name, ".cbk.part") ||
		    cu_pathf(p, sizeof(p), "%s/%s", dir, de->d_name) < 0)
			continue;
		if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlink(p);
		close(fd);
	}
	closedir(d);
	cu_error_clear();
}

static uint64_t
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
		(uint64_t)((t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Commits a backup event (the caller holds the lock). */
static int
commit_event(cu_archive *a, json_t *ev, const char *subject, char event_id[65])
{
	cu_index_txn *t = NULL;
	int error;

	if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
		return error;
	return arc_commit_event(a, t, ev, subject, event_id);
}

/* Reads the manifests of the chain ending at entries[last] (full first). */
static int
load_chain(json_t ***out, size_t *nout, struct bk_entry *v, size_t n, size_t last,
	const unsigned char *key, const char *key_id, unsigned char parent_digest[32])
{
	json_t **chain = NULL;
	size_t k = 0, cap = 0, cur = last;
	struct bk_reader r;
	int error = 0;

	for (;;) {
		if ((error = reader_open(&r, v[cur].file, key, key_id)) < 0) {
			reader_close(&r);
			goto fail;
		}
		if (cur == last)
			memcpy(parent_digest, r.mdigest, 32);
		if ((error = cu_grow(&chain, &cap, k + 1, sizeof(*chain))) < 0) {
			reader_close(&r);
			goto fail;
		}
		chain[k++] = json_incref(r.manifest);
		reader_close(&r);
		const char *parent = arc_jstr(v[cur].summary, "parent");
		if (parent == NULL || parent[0] == '\0')
			break;
		size_t j;
		for (j = 0; j < n; j++)
			if (v[j].summary != NULL && strcmp(arc_jstr(v[j].summary, "id"), parent) == 0)
				break;
		if (j == n || k > n) {
			error = cu_error_set(CU_ENOTFOUND, "%s: its parent backup %s is not in the "
				"folder: make a full backup (--full)", v[cur].file, parent);
			goto fail;
		}
		cur = j;
	}
	/* full first */
	for (size_t i = 0; i < k / 2; i++) {
		json_t *t = chain[i];
		chain[i] = chain[k - 1 - i];
		chain[k - 1 - i] = t;
	}
	*out = chain;
	*nout = k;
	return 0;
fail:
	for (size_t i = 0; i < k; i++)
		json_decref(chain[i]);
	free(chain);
	return error;
}

int
cu_archive_backup(cu_archive *a, const cu_backup_opts *o, cu_backup_result *r)
{
	unsigned char key[CU_BACKUP_KEY_LEN], parent_digest[32], archive_id[32], rid[16], *buf = NULL;
	char key_id[17] = "", archive_hex[65], name[200], part[4200], dir_id[4096], now[32];
	char hex[65], subject[256], *ident = NULL, *mtext = NULL, *sig = NULL, *summary = NULL;
	struct snap s;
	struct bk_entry *ents = NULL;
	size_t nents = 0, nchain = 0, nheld = 0, ident_len, parent_ix = 0;
	json_t **chain = NULL, *manifest = NULL, *members = NULL, *removed = NULL, *ev = NULL;
	struct held *held = NULL;
	struct bk_writer w;
	struct timespec t0;
	time_t tnow;
	struct tm tm;
	int error, incremental, have_parent = 0, created = 0, keyed = o->key_file != NULL;
	char *ckpt = NULL, idx_tmp[4200] = "";
	uint64_t log_size = 0;
	cu_index_txn *t = NULL;
	int idx_fd = -1;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	memset(&w, 0, sizeof(w));
	w.out.fd = -1;
	s.a = a;
	s.with_secrets = keyed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "a backup needs the archive opened for writing");
	if (o->dir == NULL || o->dir[0] == '\0')
		return cu_error_set(CU_EINVALID, "--to: the backup folder is required");
	if (keyed && (error = load_key(key, key_id, o->key_file)) < 0)
		return error;
	if ((error = cu_mkdir_p(o->dir, 0700)) < 0)
		goto done;
	clean_parts(o->dir);
	/* this archive's identity */
	if ((error = cu_pathf(part, sizeof(part), "%s/archive.json", a->path)) < 0 ||
	    (error = cu_read_file(&ident, &ident_len, part, 65536)) < 0)
		goto done;
	cu_sha256(archive_id, ident, ident_len);
	cu_hex(archive_hex, archive_id, 32);
	/* the parent: the newest backup of this archive in the folder */
	if ((error = scan_dir(&ents, &nents, o->dir)) < 0)
		goto done;
	for (size_t i = 0; i < nents; i++)
		if (ents[i].summary != NULL &&
		    strcmp(arc_jstr(ents[i].summary, "archive_id"), archive_hex) == 0) {
			parent_ix = i;
			have_parent = 1;
		}
	if (o->kind == CU_BACKUP_INCREMENTAL && !have_parent) {
		error = cu_error_set(CU_ENOTFOUND, "%s: no backup of this archive to build an "
			"incremental on: make a full backup first", o->dir);
		goto done;
	}
	/* without a kind, a chain goes on with its own key; another key starts a
	 * new chain */
	incremental = o->kind == CU_BACKUP_INCREMENTAL || (o->kind == CU_BACKUP_AUTO && have_parent &&
		strcmp(ents[parent_ix].key_id, key_id) == 0);
	if (incremental) {
		if (strcmp(ents[parent_ix].key_id, key_id) != 0) {
			error = cu_error_set(CU_EINVALID, "%s: the parent backup is %s%s; an incremental "
				"uses its chain's key (or make a --full backup)", ents[parent_ix].file,
				ents[parent_ix].key_id[0] ? "encrypted with key id " : "not encrypted",
				ents[parent_ix].key_id);
			goto done;
		}
		if ((error = load_chain(&chain, &nchain, ents, nents, parent_ix, keyed ? key : NULL,
				key_id, parent_digest)) < 0 ||
		    (error = held_build(&held, &nheld, chain, nchain)) < 0)
			goto done;
	}
	/* the snapshot, under the lock: files, head, checkpoint */
	if ((error = snapshot(&s)) < 0 ||
	    (error = cu_history_head(r->head, a->hist)) < 0 ||
	    (error = cu_archive_checkpoint(&ckpt, a)) < 0 ||
	    (error = cu_index_begin(&t, a->ix, 0)) < 0 ||
	    (error = cu_index_log_size(&log_size, t)) < 0)
		goto done;
	cu_index_abort(t);
	t = NULL;
	/* a full backup carries the index as it stands at the head above, so that
	 * a restore need not rebuild it; an incremental's commits are replayed
	 * into it when its chain is restored */
	if (!incremental && (error = snap_add_index(&s, o->dir, idx_tmp, &idx_fd)) < 0)
		goto done;
	/* the files are immutable or read: writers may go on */
	arc_unlock(a);
	/* what the chain does not hold yet */
	if ((error = keep_new(&s, held, nheld)) < 0)
		goto done;
	if ((members = json_array()) == NULL || (removed = json_array()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s.n; i++) {
		cu_hex(hex, s.v[i].sha, 32);
		json_array_append_new(members, json_pack("{s:s, s:I, s:s}", "path", s.v[i].path,
			"size", (json_int_t)s.v[i].size, "sha256", hex));
		r->bytes_in += s.v[i].size;
	}
	r->members = s.n;
	/* paths the chain holds that are gone now (a disposal removed them) */
	for (size_t i = 0; i < nheld; i++) {
		char p[4200];
		struct stat st;
		if (cu_pathf(p, sizeof(p), "%s/%s", a->path, held[i].path) == 0 && lstat(p, &st) < 0 &&
		    errno == ENOENT)
			json_array_append_new(removed, json_string(held[i].path));
	}
	cu_error_clear();
	/* the manifest */
	tnow = time(NULL);
	gmtime_r(&tnow, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (RAND_bytes(rid, sizeof(rid)) != 1) {
		error = cu_error_set(CU_ERROR, "no random bytes");
		goto done;
	}
	cu_hex(r->id, rid, sizeof(rid));
	snprintf(r->kind, sizeof(r->kind), "%s", incremental ? "incremental" : "full");
	r->log_size = log_size;
	snprintf(r->key_id, sizeof(r->key_id), "%s", key_id);
	manifest = json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:o, s:I, s:s, "
		"s:s, s:b, s:s, s:b, s:I, s:O, s:O}",
		"format", "custos-backup", "version", 1, "id", r->id, "kind", r->kind,
		"created_at", now,
		"archive", "id", archive_hex, "name", a->name, "fonds", a->fonds,
		"signing_key", a->signing_key,
		"parent", json_null(),
		"log_size", (json_int_t)log_size, "checkpoint", ckpt, "head", r->head,
		"encrypted", keyed, "key_id", key_id, "secret_keys", keyed,
		"bytes", (json_int_t)r->bytes_in, "members", members, "removed", removed);
	if (manifest == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	{
		/* names the person key without revealing it: a restore given the
		 * keys from outside can tell whether the index it carries was
		 * keyed with the same one */
		unsigned char chk[32];
		if (a->have_hmac && (error = cu_hmac_sha256(chk, a->hmac, PERSON_KEY_CHECK,
				strlen(PERSON_KEY_CHECK))) < 0)
			goto done;
		if (a->have_hmac) {
			cu_hex(hex, chk, 32);
			json_object_set_new(manifest, "person_key_check", json_string(hex));
		}
	}
	if (incremental) {
		const json_t *pm = chain[nchain - 1];
		cu_hex(hex, parent_digest, 32);
		snprintf(r->parent, sizeof(r->parent), "%s", arc_jstr(pm, "id"));
		const char *pf = strrchr(ents[parent_ix].file, '/');
		json_object_set_new(manifest, "parent", json_pack("{s:s, s:s, s:s, s:I}", "id",
			r->parent, "manifest", hex, "file", pf ? pf + 1 : ents[parent_ix].file,
			"log_size", jint(pm, "log_size")));
	}
	if ((mtext = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_sshsig_sign(&sig, a->signer, BK_NS, mtext, strlen(mtext))) < 0)
		goto done;
	{
		json_t *sm = summary_of(manifest);
		summary = sm ? json_dumps(sm, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(sm);
		if (summary == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
	}
	/* the file: .<name>.part, locked while it is written */
	backup_name(name, sizeof(name), a->name, tnow, incremental);
	if ((error = cu_pathf(r->file, sizeof(r->file), "%s/%s", o->dir, name)) < 0 ||
	    (error = cu_pathf(part, sizeof(part), "%s/.%s.part", o->dir, name)) < 0)
		goto done;
	if (access(r->file, F_OK) == 0) {
		error = cu_error_set(CU_EEXISTS, "%s: already exists (one backup a second)", r->file);
		goto done;
	}
	if ((w.out.fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		error = cu_error_sys("%s", part);
		goto done;
	}
	created = 1;
	if (flock(w.out.fd, LOCK_EX | LOCK_NB) < 0) {
		error = cu_error_sys("lock %s", part);
		goto done;
	}
	w.out.name = r->file;
	w.now = tnow;
	w.progress = o->progress;
	w.payload = o->progress_payload;
	w.prog.bytes_total = r->bytes_in;
	w.prog.members_total = s.n;
	if (keyed && (error = out_begin_enc(&w.out, key, key_id, summary)) < 0)
		goto done;
	if ((w.ar = archive_write_new()) == NULL || (w.e = archive_entry_new()) == NULL ||
	    (buf = malloc(BK_CHUNK)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if (archive_write_set_format_pax_restricted(w.ar) != ARCHIVE_OK ||
	    archive_write_add_filter_none(w.ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w.ar, 65536) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w.ar, 1) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", r->file, archive_error_string(w.ar));
		goto done;
	}
	if ((error = out_zstd_begin(&w.out, 3)) < 0)
		goto done;
	if (archive_write_open(w.ar, &w.out, NULL, out_cb, NULL) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", r->file, archive_error_string(w.ar));
		goto done;
	}
	if ((error = writer_mem(&w, MANIFEST, mtext, strlen(mtext), 0644)) < 0 ||
	    (error = writer_mem(&w, MANIFEST_SIG, sig, strlen(sig), 0644)) < 0)
		goto done;
	for (size_t i = 0; i < s.n; i++) {
		if ((error = writer_file(&w, a, &s.v[i], buf)) < 0)
			goto done;
		w.prog.members_done++;
	}
	if (archive_write_close(w.ar) != ARCHIVE_OK || w.out.failed ||
	    out_zstd(&w.out, NULL, 0, ZSTD_e_end) < 0) {
		error = writer_fail(&w, "the end");
		goto done;
	}
	if (w.out.enc && seal_chunk(&w.out, 1) < 0) {
		error = writer_fail(&w, "the final chunk");
		goto done;
	}
	tick(w.progress, w.payload, &w.prog, &w.last, 1);
	r->bytes_out = w.out.bytes;
	/* durable and read-only before it gets its name */
	if (fchmod(w.out.fd, 0444) < 0 || fsync(w.out.fd) < 0) {
		error = cu_error_sys("%s", part);
		goto done;
	}
	if (renameat2(AT_FDCWD, part, AT_FDCWD, r->file, RENAME_NOREPLACE) < 0) {
		error = cu_error_sys("%s", r->file);
		goto done;
	}
	created = 0;
	snprintf(dir_id, sizeof(dir_id), "%s", o->dir);
	if ((error = cu_fsync_dir(dir_id)) < 0)
		goto done;
	r->duration_ms = ms_since(&t0);
	/* the event, under the lock again */
	if ((error = arc_relock(a, 600)) < 0) {
		error = cu_error_prefix(error, "%s is written and complete, but not recorded in the "
			"log", r->file);
		goto done;
	}
	cu_now_rfc3339(now);
	if ((ev = arc_new_event(a, "backup", "create", now)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "backup", json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
		"s:s, s:b, s:s}", "file", name, "id", r->id, "kind", r->kind, "parent", r->parent,
		"parent_log_size", incremental ? jint(chain[nchain - 1], "log_size") : 0,
		"members", (json_int_t)r->members, "bytes_in", (json_int_t)r->bytes_in,
		"bytes", (json_int_t)r->bytes_out, "log_size", (json_int_t)r->log_size,
		"head", r->head, "encrypted", keyed, "manifest", ""));
	json_object_set_new(json_object_get(ev, "backup"), "key_id", json_string(key_id));
	{
		unsigned char md[32];
		cu_sha256(md, mtext, strlen(mtext));
		cu_hex(hex, md, 32);
		json_object_set_new(json_object_get(ev, "backup"), "manifest", json_string(hex));
	}
	snprintf(subject, sizeof(subject), "backup: %s %s (%llu files, %llu bytes, log size %llu)",
		r->kind, name, (unsigned long long)r->members, (unsigned long long)r->bytes_out,
		(unsigned long long)r->log_size);
	if ((error = commit_event(a, ev, subject, r->event_id)) < 0) {
		error = cu_error_prefix(error, "%s is written and complete, but not recorded in the "
			"log", r->file);
		goto done;
	}
	r->duration_ms = ms_since(&t0);
done:
	if (t)
		cu_index_abort(t);
	if (w.ar)
		archive_write_free(w.ar);
	archive_entry_free(w.e);
	if (w.out.fd >= 0)
		close(w.out.fd);
	if (created)
		unlink(part);
	if (idx_tmp[0] != '\0')
		unlink(idx_tmp);
	if (idx_fd >= 0)
		close(idx_fd);
	out_free(&w.out);
	explicit_bzero(key, sizeof(key));
	free(buf);
	members_free(s.v, s.n);
	for (size_t i = 0; i < nchain; i++)
		json_decref(chain[i]);
	free(chain);
	free(held);
	entries_free(ents, nents);
	json_decref(manifest);
	json_decref(members);
	json_decref(removed);
	json_decref(ev);
	free(ident);
	free(ckpt);
	free(mtext);
	free(sig);
	free(summary);
	if (error < 0)
		r->event_id[0] = '\0';
	return error;
}

/* ---- reading members back: verify and restore ---------------------------------------- */

struct want {
	const char *path;
	uint64_t size;
	const char *sha;
	int seen;
};

static int
cmp_want(const void *x, const void *y)
{
	return strcmp(((const struct want *)x)->path, ((const struct want *)y)->path);
}

static int
cmp_want_key(const void *k, const void *y)
{
	return strcmp(k, ((const struct want *)y)->path);
}

struct rctx {
	cu_backup_problem_cb cb;
	void *payload;
	size_t problems;
	const char *dest;           /* restore: the folder members go to */
	int direct;                 /* restore: large members past the page cache */
	cu_backup_progress prog;
	cu_backup_progress_cb progress;
	void *progress_payload;
	struct timespec last;
	char first[600];            /* the first problem, for the error message */
};

static int
problem(struct rctx *x, const char *file, const char *member, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->problems++ == 0)
		snprintf(x->first, sizeof(x->first), "%s: %s%s%s", file, member ? member : "",
			member ? ": " : "", msg);
	if (x->cb) {
		cu_backup_problem p = { file, member, msg };
		return x->cb(&p, x->payload);
	}
	return 0;
}

/* Checks a manifest's member list: paths a backup may hold, sizes bounded,
 * digests in hex, no path twice.  Fills *out sorted. */
static int
manifest_wants(struct want **out, size_t *nout, struct rctx *x, const char *file, const json_t *m)
{
	const json_t *mem = json_object_get(m, "members"), *e;
	size_t n = json_array_size(mem), i;
	struct want *v;
	uint64_t total = 0;
	int bad = 0;

	*out = NULL;
	*nout = 0;
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_array_foreach(mem, i, e) {
		const char *p = arc_jstr(e, "path"), *sha = arc_jstr(e, "sha256");
		json_int_t size = jint(e, "size");
		if (p == NULL || !member_path_ok(p) || sha == NULL || strlen(sha) != 64 ||
		    !is_hex_n(sha, 64) || !json_is_integer(json_object_get(e, "size")) || size < 0 ||
		    (uint64_t)size > BK_MAX_MEMBER) {
			problem(x, file, p && strlen(p) < 200 ? p : MANIFEST,
				"the manifest's entry is not acceptable (path, size or digest)");
			bad = 1;
			continue;
		}
		{
			/* a content object or pack is named by its digest */
			unsigned char nd[32];
			char nhex[65];
			if (named_digest(nd, p)) {
				cu_hex(nhex, nd, 32);
				if (strcmp(nhex, sha) != 0) {
					problem(x, file, p, "the manifest gives it another digest than "
						"its name");
					bad = 1;
					continue;
				}
			}
		}
		v[i].path = p;
		v[i].size = (uint64_t)size;
		v[i].sha = sha;
		total += (uint64_t)size;
	}
	if (!bad && total != (uint64_t)jint(m, "bytes")) {
		problem(x, file, MANIFEST, "its members add up to %llu bytes, not the %lld it says",
			(unsigned long long)total, (long long)jint(m, "bytes"));
		bad = 1;
	}
	if (bad) {
		free(v);
		return 1;
	}
	qsort(v, n, sizeof(*v), cmp_want);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].path, v[i].path) == 0) {
			problem(x, file, v[i].path, "listed twice in the manifest");
			free(v);
			return 1;
		}
	*out = v;
	*nout = n;
	return 0;
}

/* Creates a member's file under dest (its folders too); an older copy from
 * an earlier backup of the chain is replaced.  With direct, the file is
 * opened with O_DIRECT where the file system allows it (*direct tells). */
static int
open_dest(int *fd, int *direct, const char *dest, const char *path)
{
	char p[4200], *slash;
	int error, flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

	if ((error = cu_pathf(p, sizeof(p), "%s/%s", dest, path)) < 0)
		return error;
	slash = strrchr(p, '/');
	*slash = '\0';
	if ((error = cu_mkdir_p(p, 0750)) < 0)
		return error;
	*slash = '/';
	if (unlink(p) < 0 && errno != ENOENT)
		return cu_error_sys("%s", p);
	*fd = *direct ? open(p, flags | O_DIRECT, 0600) : -1;
	if (*fd < 0) {
		/* EINVAL: a file system without O_DIRECT (tmpfs) */
		if (*direct && errno != EINVAL)
			return cu_error_sys("%s", p);
		*direct = 0;
		if ((*fd = open(p, flags, 0600)) < 0)
			return cu_error_sys("%s", p);
	}
	if (fchmod(*fd, (mode_t)member_mode(path)) < 0) {
		close(*fd);
		return cu_error_sys("%s", p);
	}
	return 0;
}

/*
 * SHA-256 on a second thread, and in a restore the writing on a third,
 * while the reading thread decrypts and decompresses the next block.
 * (Profiled at 100,000 receipts and 256 MiB of scans, on 2 cores, with the
 * writing on the reading thread: that thread 0.69 s, of it 0.28 s in
 * write(2), the hasher 0.38 s; and a write with O_DIRECT waits for the
 * device, which the reading thread should not.)  The reader alternates
 * between two buffers and hands each to every stage; submit waits until the
 * stage is done with the other, so a buffer is never refilled while it is
 * being hashed or written.
 */
struct stage {
	pthread_t       th;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	void          (*work)(struct stage *, const void *, size_t);
	EVP_MD_CTX     *md;      /* the hasher's digest */
	int             fd;      /* the writer's file, -1 for none */
	int             direct;  /* fd has O_DIRECT */
	int             err;     /* the writer's first errno */
	const void     *data;
	size_t          len;
	int             busy, quit, started;
};

static void
hash_work(struct stage *st, const void *data, size_t len)
{
	EVP_DigestUpdate(st->md, data, len);
}

/* Writes all of len bytes, returning errno (0 when done). */
static int
write_fully(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* (write(2) itself: the error is reported by the reading thread, from err.)
 * With O_DIRECT, whole blocks go past the page cache; the tail of a file
 * (its last block, shorter) and everything after a refusal (EINVAL: an
 * alignment the file system will not take) are written through it. */
static void
write_work(struct stage *st, const void *data, size_t len)
{
	const char *p = data;
	size_t whole = st->direct ? len & ~(size_t)(BK_ALIGN - 1) : 0;

	if (st->fd < 0 || st->err != 0)
		return;
	if (whole > 0) {
		st->err = write_fully(st->fd, p, whole);
		if (st->err == 0) {
			p += whole;
			len -= whole;
		} else if (st->err != EINVAL) {
			return;
		}
	}
	if (st->direct && (len > 0 || st->err == EINVAL)) {
		int fl = fcntl(st->fd, F_GETFL);
		st->direct = 0;
		st->err = fl < 0 || fcntl(st->fd, F_SETFL, fl & ~O_DIRECT) < 0 ? errno : 0;
		if (st->err != 0)
			return;
	}
	st->err = write_fully(st->fd, p, len);
}

static void *
stage_main(void *arg)
{
	struct stage *st = arg;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (!st->busy && !st->quit)
			pthread_cond_wait(&st->cv, &st->mu);
		if (st->quit)
			break;
		pthread_mutex_unlock(&st->mu);
		st->work(st, st->data, st->len);
		pthread_mutex_lock(&st->mu);
		st->busy = 0;
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* Waits until the stage has done everything submitted. */
static void
stage_wait(struct stage *st)
{
	if (!st->started)
		return;
	pthread_mutex_lock(&st->mu);
	while (st->busy)
		pthread_cond_wait(&st->cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
}

/* Hands over len bytes (used in place: not to be touched until the next
 * submit or wait returns); on one core, or without the thread, does the
 * work here. */
static void
stage_submit(struct stage *st, const void *data, size_t len)
{
	if (!st->started) {
		st->work(st, data, len);
		return;
	}
	pthread_mutex_lock(&st->mu);
	while (st->busy)
		pthread_cond_wait(&st->cv, &st->mu);
	st->data = data;
	st->len = len;
	st->busy = 1;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

static int
stage_start(struct stage *st, void (*work)(struct stage *, const void *, size_t), int hash)
{
	memset(st, 0, sizeof(*st));
	st->work = work;
	st->fd = -1;
	if (hash && (st->md = EVP_MD_CTX_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1 && pthread_create(&st->th, NULL, stage_main, st) == 0)
		st->started = 1;
	return 0;
}

static void
stage_stop(struct stage *st)
{
	if (st->started) {
		pthread_mutex_lock(&st->mu);
		while (st->busy)
			pthread_cond_wait(&st->cv, &st->mu);
		st->quit = 1;
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->th, NULL);
		st->started = 0;
	}
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	EVP_MD_CTX_free(st->md);
	st->md = NULL;
}

/* Reads every member after the signature: each must be listed, a regular
 * file of the listed size and digest, once; none may be missing.  With
 * x->dest, members are written there.  Problems go to x; the return is an
 * error only when the work itself failed (a file could not be written). */
static int
read_members(struct rctx *x, struct bk_reader *r, uint64_t *members, uint64_t *bytes)
{
	const char *file = r->in.file;
	struct want *v = NULL, *w;
	struct stage h, wr;
	size_t n = 0;
	unsigned char *bufs[2] = { NULL, NULL }, sha[32];
	char hex[65];
	int error = 0, rc, hstarted = 0, wstarted = 0;

	if ((rc = manifest_wants(&v, &n, x, file, r->manifest)) != 0)
		return rc < 0 ? rc : 0;
	if (posix_memalign((void **)&bufs[0], BK_ALIGN, BK_CHUNK) != 0 ||
	    posix_memalign((void **)&bufs[1], BK_ALIGN, BK_CHUNK) != 0 ||
	    (error = stage_start(&h, hash_work, 1)) < 0) {
		error = error < 0 ? error : cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	hstarted = 1;
	if (x->dest && (error = stage_start(&wr, write_work, 0)) < 0)
		goto done;
	wstarted = x->dest != NULL;
	for (size_t entries = 0;; entries++) {
		const char *path;
		la_int64_t size;
		uint64_t got = 0;

		rc = archive_read_next_header(r->ar, &r->e);
		if (rc == ARCHIVE_EOF)
			break;
		if (entries > n + 16) {
			/* a hostile file: no endless list of members or problems */
			problem(x, file, NULL, "more members than the manifest lists; not read further");
			goto done;
		}
		if (rc < ARCHIVE_WARN) {
			problem(x, file, NULL, "%s", reader_why(r));
			goto done;
		}
		path = archive_entry_pathname(r->e) ? archive_entry_pathname(r->e) : "";
		size = archive_entry_size(r->e);
		if (!member_path_ok(path)) {
			problem(x, file, strlen(path) < 200 ? path : "(a long name)",
				"not a name a backup may hold");
			continue;
		}
		if ((w = bsearch(path, v, n, sizeof(*v), cmp_want_key)) == NULL) {
			problem(x, file, path, "not in the manifest");
			continue;
		}
		if (w->seen) {
			problem(x, file, path, "in the backup twice");
			continue;
		}
		w->seen = 1;
		if (archive_entry_filetype(r->e) != AE_IFREG || archive_entry_hardlink(r->e) != NULL ||
		    archive_entry_symlink(r->e) != NULL) {
			problem(x, file, path, "not a regular file");
			continue;
		}
		if (size < 0 || (uint64_t)size != w->size) {
			problem(x, file, path, "%lld bytes where the manifest has %llu", (long long)size,
				(unsigned long long)w->size);
			continue;
		}
		stage_wait(&h);
		/* a large content object or pack is not read again by the
		 * restore: past the page cache, it costs no page of memory; the
		 * index and what the replay reads go through it */
		wr.direct = x->direct && w->size >= BK_DIRECT_MIN && strcmp(path, INDEX_MEMBER) != 0;
		if (x->dest && (error = open_dest(&wr.fd, &wr.direct, x->dest, path)) < 0)
			goto done;
		EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
		for (int cur = 0;; cur ^= 1) {
			size_t k = 0;
			/* whole buffers (whole blocks for O_DIRECT) but the last */
			while (k < BK_CHUNK) {
				la_ssize_t n1 = archive_read_data(r->ar, bufs[cur] + k, BK_CHUNK - k);
				if (n1 == 0)
					break;
				if (n1 < 0) {
					problem(x, file, path, "%s", reader_why(r));
					goto done;
				}
				k += (size_t)n1;
			}
			if (k == 0)
				break;
			stage_submit(&h, bufs[cur], k);
			if (wstarted)
				stage_submit(&wr, bufs[cur], k);
			got += (uint64_t)k;
			x->prog.bytes_done += (uint64_t)k;
			tick(x->progress, x->progress_payload, &x->prog, &x->last, 0);
			if (k < BK_CHUNK)
				break;
		}
		stage_wait(&h);
		EVP_DigestFinal_ex(h.md, sha, NULL);
		if (wstarted) {
			stage_wait(&wr);
			if (wr.err == 0 && close(wr.fd) < 0)
				wr.err = errno;
			else if (wr.err != 0)
				close(wr.fd);
			wr.fd = -1;
			if (wr.err != 0) {
				errno = wr.err;
				error = cu_error_sys("%s/%s", x->dest, path);
				goto done;
			}
		}
		cu_hex(hex, sha, 32);
		if (got != w->size)
			problem(x, file, path, "truncated: %llu of %llu bytes", (unsigned long long)got,
				(unsigned long long)w->size);
		else if (strcmp(hex, w->sha) != 0)
			problem(x, file, path, "its SHA-256 does not match the manifest (altered)");
		else {
			(*members)++;
			*bytes += got;
		}
		x->prog.members_done++;
	}
	for (size_t i = 0; i < n; i++)
		if (!v[i].seen)
			problem(x, file, v[i].path, "missing from the backup");
done:
	if (wstarted) {
		stage_stop(&wr);
		if (wr.fd >= 0)
			close(wr.fd);
	}
	if (hstarted)
		stage_stop(&h);
	free(bufs[0]);
	free(bufs[1]);
	free(v);
	return error;
}

/* ---- verify ------------------------------------------------------------------------ */

struct vseen {
	char *file;
	char id[40];
	char kind[16];
	char parent[40];
	char parent_manifest[65];
	char archive_id[65];
	unsigned char mdigest[32];
	int readable;
};

static char *
dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == file)
		return strdup("/");
	return strndup(file, (size_t)(slash - file));
}

/* The manifest digest of the backup with this id in dir (1 found, 0 not). */
static int
find_in_dir(unsigned char digest[32], char **found, const char *dir, const char *id,
	const unsigned char *key, const char *key_id)
{
	struct bk_entry *v;
	struct bk_reader r;
	size_t n;
	int rc = 0;

	if (scan_dir(&v, &n, dir) < 0) {
		cu_error_clear();
		return 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (v[i].summary == NULL || strcmp(arc_jstr(v[i].summary, "id"), id) != 0)
			continue;
		if (reader_open(&r, v[i].file, key, key_id) == 0) {
			memcpy(digest, r.mdigest, 32);
			*found = strdup(v[i].file);
			rc = 1;
		} else {
			rc = -1;
		}
		reader_close(&r);
	}
	entries_free(v, n);
	return rc;
}

int
cu_backup_verify(const char *const *files, size_t nfiles, const char *key_file,
	cu_archive *trusted, cu_backup_problem_cb cb, cu_backup_file_cb file_cb,
	void *payload, cu_backup_verify_report *rep)
{
	unsigned char key[CU_BACKUP_KEY_LEN];
	char key_id[17] = "", hex[65], trusted_id[65] = "";
	const char *trusted_key = NULL;
	struct vseen *seen = NULL;
	struct rctx x;
	int error = 0;

	memset(rep, 0, sizeof(*rep));
	memset(&x, 0, sizeof(x));
	x.cb = cb;
	x.payload = payload;
	if (key_file && (error = load_key(key, key_id, key_file)) < 0)
		return error;
	if (trusted != NULL && (error = archive_identity(trusted_id, trusted)) < 0)
		return error;
	if ((seen = calloc(nfiles ? nfiles : 1, sizeof(*seen))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct bk_reader r;
		struct bk_entry ent;
		cu_backup_info info;
		size_t before = x.problems;
		uint64_t members = 0, bytes = 0;

		memset(&ent, 0, sizeof(ent));
		seen[i].file = (char *)files[i];
		rep->files++;
		if (reader_open(&r, files[i], key_file ? key : NULL, key_id) < 0) {
			/* the whole message names the file already */
			const char *msg = cu_error_last();
			size_t fl = strlen(files[i]);
			problem(&x, files[i], NULL, "%s", strncmp(msg, files[i], fl) == 0 &&
				msg[fl] == ':' ? msg + fl + 2 : msg);
			reader_close(&r);
			cu_error_clear();
			goto file_done;
		}
		seen[i].readable = 1;
		memcpy(seen[i].mdigest, r.mdigest, 32);
		snprintf(seen[i].id, sizeof(seen[i].id), "%s", arc_jstr(r.manifest, "id"));
		snprintf(seen[i].kind, sizeof(seen[i].kind), "%s", arc_jstr(r.manifest, "kind"));
		{
			const json_t *par = json_object_get(r.manifest, "parent");
			snprintf(seen[i].parent, sizeof(seen[i].parent), "%s",
				arc_jstr(par, "id") ? arc_jstr(par, "id") : "");
			snprintf(seen[i].parent_manifest, sizeof(seen[i].parent_manifest), "%s",
				arc_jstr(par, "manifest") ? arc_jstr(par, "manifest") : "");
			const char *aid = arc_jstr(json_object_get(r.manifest, "archive"), "id");
			snprintf(seen[i].archive_id, sizeof(seen[i].archive_id), "%s", aid ? aid : "");
			if (rep->archive_id[0] == '\0')
				snprintf(rep->archive_id, sizeof(rep->archive_id), "%s", aid ? aid : "");
		}
		trusted_key = trusted != NULL && strcmp(seen[i].archive_id, trusted_id) == 0
			? trusted->signing_key : NULL;
		if (check_signature(&r, trusted_key) < 0) {
			problem(&x, files[i], MANIFEST_SIG, "%s", cu_error_last());
			cu_error_clear();
		}
		if (strcmp(seen[i].kind, "full") != 0 && strcmp(seen[i].kind, "incremental") != 0)
			problem(&x, files[i], MANIFEST, "kind \"%s\" is neither full nor incremental",
				seen[i].kind);
		if (strcmp(seen[i].kind, "incremental") == 0 && seen[i].parent[0] == '\0')
			problem(&x, files[i], MANIFEST, "an incremental backup without a parent");
		ent.summary = summary_of(r.manifest);
		if (r.in.enc) {
			/* the header's summary (what list shows) must say what the manifest says */
			char *a1 = json_dumps(ent.summary, JSON_COMPACT | JSON_SORT_KEYS);
			char *a2 = json_dumps(r.in.summary, JSON_COMPACT | JSON_SORT_KEYS);
			if (a1 == NULL || a2 == NULL || strcmp(a1, a2) != 0)
				problem(&x, files[i], NULL, "the header's summary differs from the manifest");
			free(a1);
			free(a2);
			snprintf(ent.key_id, sizeof(ent.key_id), "%s", r.in.key_id);
		}
		if ((error = read_members(&x, &r, &members, &bytes)) < 0) {
			reader_close(&r);
			json_decref(ent.summary);
			goto done;
		}
		rep->members += members;
		rep->bytes += bytes;
		ent.file = (char *)files[i];
		ent.bytes_out = (uint64_t)r.in.size;
		reader_close(&r);
file_done:
		if (file_cb && ent.summary) {
			entry_info(&info, &ent);
			file_cb(&info, x.problems - before, payload);
		} else if (file_cb) {
			memset(&info, 0, sizeof(info));
			info.file = files[i];
			info.id = info.kind = info.created_at = info.parent = info.archive_id =
				info.archive_name = info.head = info.key_id = "";
			file_cb(&info, x.problems - before, payload);
		}
		json_decref(ent.summary);
	}
	/* the chain: each incremental's parent present and matching */
	for (size_t i = 0; i < nfiles; i++) {
		size_t j;
		if (!seen[i].readable || seen[i].parent[0] == '\0')
			continue;
		for (j = 0; j < nfiles; j++)
			if (seen[j].readable && strcmp(seen[j].id, seen[i].parent) == 0)
				break;
		if (j < nfiles) {
			cu_hex(hex, seen[j].mdigest, 32);
			if (strcmp(hex, seen[i].parent_manifest) != 0)
				problem(&x, files[i], MANIFEST, "its parent %s (%s) has another manifest "
					"than the one it names", seen[i].parent, files[j]);
			else if (strcmp(seen[i].archive_id, seen[j].archive_id) != 0)
				problem(&x, files[i], MANIFEST, "its parent %s is a backup of another "
					"archive", files[j]);
			continue;
		}
		{
			unsigned char d[32];
			char *dir = dir_of(files[i]), *found = NULL;
			int rc = dir ? find_in_dir(d, &found, dir, seen[i].parent,
				key_file ? key : NULL, key_id) : 0;
			cu_error_clear();
			if (rc <= 0)
				problem(&x, files[i], MANIFEST, "its parent backup %s is %s", seen[i].parent,
					rc < 0 ? "in the folder but cannot be read" : "missing");
			else {
				cu_hex(hex, d, 32);
				if (strcmp(hex, seen[i].parent_manifest) != 0)
					problem(&x, files[i], MANIFEST, "its parent %s (%s) has another "
						"manifest than the one it names", seen[i].parent, found);
			}
			free(found);
			free(dir);
		}
	}
done:
	rep->problems = x.problems;
	explicit_bzero(key, sizeof(key));
	free(seen);
	return error;
}

/* ---- restore --------------------------------------------------------------------------- */

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static int
dir_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int empty = 1;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

struct chain_item {
	const char *file;
	json_t *manifest;
	unsigned char mdigest[32];
	int used;
};

static int
verify_count(const cu_verify_problem *p, void *payload)
{
	struct rctx *x = payload;

	return problem(x, "the restored archive", p->kind, "%s%s%s", p->ref ? p->ref : "",
		p->ref ? ": " : "", p->message);
}

/* 1 if the person key restored into tmp is the one the manifest names. */
static int
same_person_key(const char *tmp, const json_t *manifest)
{
	unsigned char key[CU_HMAC_KEY_LEN], chk[32];
	const char *want = arc_jstr(manifest, "person_key_check");
	char p[4200], hex[65];
	int same;

	if (want == NULL || cu_pathf(p, sizeof(p), "%s/keys/person.hmac", tmp) < 0 ||
	    cu_hmac_key_load(key, p) < 0 ||
	    cu_hmac_sha256(chk, key, PERSON_KEY_CHECK, strlen(PERSON_KEY_CHECK)) < 0) {
		explicit_bzero(key, sizeof(key));
		cu_error_clear();
		return 0;
	}
	explicit_bzero(key, sizeof(key));
	cu_hex(hex, chk, 32);
	same = strcmp(hex, want) == 0;
	return same;
}

/* The restored archive's log, as its index holds it, against the last
 * backup's signed checkpoint: the index must name the history head, hold
 * exactly the checkpoint's number of leaves, and their Merkle root must be
 * the checkpoint's.  *log_size gets the size. */
static int
check_restored_log(cu_archive *a, const json_t *last, uint64_t *log_size)
{
	unsigned char pub[CU_ED25519_PUB], root[32], want[32];
	char ihead[CU_OID_HEX], hhead[CU_OID_HEX], *text = NULL, *origin = NULL;
	const char *note = arc_jstr(last, "checkpoint");
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	uint64_t size = 0, want_size = 0;
	int error;

	if (note == NULL)
		return cu_error_set(CU_EINVALID, "the last backup's manifest has no checkpoint");
	if ((error = arc_ssh_pub_raw(pub, a->signing_key)) < 0 ||
	    (error = cu_note_verify(&text, note, a->name, pub)) < 0 ||
	    (error = cu_checkpoint_parse(&origin, &want_size, want, text)) < 0) {
		error = cu_error_prefix(CU_EINVALID, "the last backup's checkpoint");
		goto done;
	}
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0 ||
	    (error = cu_index_get_head(ihead, t)) < 0 ||
	    (error = cu_history_head(hhead, a->hist)) < 0 ||
	    (error = cu_index_log_size(&size, t)) < 0)
		goto done;
	if (strcmp(ihead, hhead) != 0) {
		error = cu_error_set(CU_EINVALID, "the restored index reflects commit %.12s, "
			"the history's head is %.12s", ihead, hhead);
		goto done;
	}
	if (size != want_size) {
		error = cu_error_set(CU_EINVALID, "the restored log holds %llu leaves, the "
			"checkpoint %llu", (unsigned long long)size, (unsigned long long)want_size);
		goto done;
	}
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_root(root, &st, size)) < 0)
		goto done;
	if (memcmp(root, want, 32) != 0) {
		error = cu_error_set(CU_EINVALID, "the restored log's root is not the checkpoint's");
		goto done;
	}
	*log_size = size;
done:
	if (t != NULL)
		cu_index_abort(t);
	free(text);
	free(origin);
	return error;
}

/* Puts a secret key file given on the command line into the new archive. */
static int
copy_secret(const char *tmp, const char *rel, const char *from)
{
	char p[4200], *data = NULL;
	size_t len;
	int error;

	if ((error = cu_read_file(&data, &len, from, 65536)) < 0)
		return error;
	if ((error = cu_pathf(p, sizeof(p), "%s/%s", tmp, rel)) == 0) {
		unlink(p);
		error = cu_write_file_durable(p, data, len, 0600, 1);
	}
	explicit_bzero(data, len);
	free(data);
	return error;
}

int
cu_backup_restore(const char *newdir, const char *const *files, size_t nfiles,
	const cu_restore_opts *o, cu_backup_problem_cb cb, void *payload, cu_restore_result *res)
{
	unsigned char key[CU_BACKUP_KEY_LEN];
	char key_id[17] = "", hex[65], tmp[4200] = "", parent[4096], base[256];
	struct chain_item *items = NULL, **order = NULL;
	struct timespec t0;
	struct stat st;
	struct rctx x;
	cu_archive *a = NULL;
	size_t norder = 0, nfull = 0;
	int error = 0, secrets = 0, made = 0;
	const char *keyf = o->key_file;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.cb = cb;
	x.payload = payload;
	x.progress = o->progress;
	x.progress_payload = o->progress_payload;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (nfiles == 0)
		return cu_error_set(CU_EINVALID, "no backup file given");
	if (keyf && (error = load_key(key, key_id, keyf)) < 0)
		return error;
	if (lstat(newdir, &st) == 0 && (!S_ISDIR(st.st_mode) || !dir_empty(newdir))) {
		error = cu_error_set(CU_EEXISTS, "%s: exists and is not empty; restore never "
			"overwrites", newdir);
		goto done;
	}
	/* 1. every manifest and signature, before anything is written */
	if ((items = calloc(nfiles, sizeof(*items))) == NULL ||
	    (order = calloc(nfiles, sizeof(*order))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nfiles; i++) {
		struct bk_reader r;
		items[i].file = files[i];
		if ((error = reader_open(&r, files[i], keyf ? key : NULL, key_id)) < 0 ||
		    (error = check_signature(&r, NULL)) < 0) {
			reader_close(&r);
			if (error != CU_ERROR && error != CU_ENOTFOUND)
				error = CU_EINVALID;
			goto done;
		}
		items[i].manifest = json_incref(r.manifest);
		memcpy(items[i].mdigest, r.mdigest, 32);
		reader_close(&r);
		if (json_is_true(json_object_get(items[i].manifest, "secret_keys")))
			secrets = 1;
		if (strcmp(arc_jstr(items[i].manifest, "kind"), "full") == 0) {
			if (nfull++ > 0) {
				error = cu_error_set(CU_EINVALID, "%s: a second full backup (%s is one): "
					"restore takes one chain", files[i], order[0]->file);
				goto done;
			}
			order[0] = &items[i];
		}
		if (i > 0 && strcmp(arc_jstr(json_object_get(items[i].manifest, "archive"), "id"),
		    arc_jstr(json_object_get(items[0].manifest, "archive"), "id")) != 0) {
			error = cu_error_set(CU_EINVALID, "%s: a backup of another archive than %s",
				files[i], files[0]);
			goto done;
		}
	}
	if (nfull == 0) {
		error = cu_error_set(CU_EINVALID, "%s: no full backup among the files: a chain starts "
			"with one", files[0]);
		goto done;
	}
	/* 2. the chain: each next backup names the one before, by id and digest */
	order[0]->used = 1;
	norder = 1;
	for (;;) {
		struct chain_item *next = NULL;
		const char *cur = arc_jstr(order[norder - 1]->manifest, "id");
		for (size_t i = 0; i < nfiles; i++) {
			const json_t *par = json_object_get(items[i].manifest, "parent");
			if (items[i].used || arc_jstr(par, "id") == NULL || strcmp(arc_jstr(par, "id"), cur))
				continue;
			if (next != NULL) {
				error = cu_error_set(CU_EINVALID, "%s and %s both follow %s: restore takes "
					"one chain", next->file, items[i].file, order[norder - 1]->file);
				goto done;
			}
			next = &items[i];
		}
		if (next == NULL)
			break;
		cu_hex(hex, order[norder - 1]->mdigest, 32);
		if (strcmp(arc_jstr(json_object_get(next->manifest, "parent"), "manifest")
			? arc_jstr(json_object_get(next->manifest, "parent"), "manifest") : "", hex) != 0) {
			error = cu_error_set(CU_EINVALID, "%s: its parent %s has another manifest than "
				"the one it names", next->file, order[norder - 1]->file);
			goto done;
		}
		next->used = 1;
		order[norder++] = next;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (!items[i].used) {
			const char *pid = arc_jstr(json_object_get(items[i].manifest, "parent"), "id");
			error = cu_error_set(CU_EINVALID, "%s: its parent backup %s is missing from the "
				"chain", items[i].file, pid ? pid : "?");
			goto done;
		}
	if (!secrets && (o->signing_key == NULL || o->person_key == NULL)) {
		error = cu_error_set(CU_ENOTFOUND, "%s: not encrypted, so it holds no secret keys: "
			"give --signing-key FILE --person-key FILE", order[0]->file);
		goto done;
	}
	if (!secrets) {
		/* the signing key must be the archive's */
		cu_signer *sg = NULL;
		unsigned char pub[CU_ED25519_PUB];
		const char *want = arc_jstr(json_object_get(order[0]->manifest, "archive"),
			"signing_key");
		unsigned char hk[CU_HMAC_KEY_LEN];
		if ((error = cu_signer_load(&sg, o->signing_key)) < 0 ||
		    (error = cu_hmac_key_load(hk, o->person_key)) < 0) {
			cu_signer_free(sg);
			goto done;
		}
		explicit_bzero(hk, sizeof(hk));
		if (want == NULL || arc_ssh_pub_raw(pub, want) < 0 ||
		    memcmp(pub, cu_signer_pub(sg), sizeof(pub)) != 0) {
			cu_signer_free(sg);
			error = cu_error_set(CU_EINVALID, "--signing-key %s: not the key of the archive "
				"backed up", o->signing_key);
			goto done;
		}
		cu_signer_free(sg);
	}
	for (size_t i = 0; i < norder; i++) {
		x.prog.bytes_total += (uint64_t)jint(order[i]->manifest, "bytes");
		x.prog.members_total += json_array_size(json_object_get(order[i]->manifest, "members"));
	}
	/* 3. into a hidden folder beside newdir */
	{
		const char *slash = strrchr(newdir, '/');
		size_t bl;
		if (slash == NULL)
			snprintf(parent, sizeof(parent), ".");
		else if (slash == newdir)
			snprintf(parent, sizeof(parent), "/");
		else
			snprintf(parent, sizeof(parent), "%.*s", (int)(slash - newdir), newdir);
		snprintf(base, sizeof(base), "%.100s", slash ? slash + 1 : newdir);
		bl = strlen(base);
		while (bl > 0 && base[bl - 1] == '/')
			base[--bl] = '\0';
		if ((error = cu_pathf(tmp, sizeof(tmp), "%s/.restore-%s-XXXXXX", parent, base)) < 0)
			goto done;
		if (mkdtemp(tmp) == NULL) {
			error = cu_error_sys("%s", tmp);
			tmp[0] = '\0';
			goto done;
		}
		made = 1;
		chmod(tmp, 0750);
	}
	{
		/* room for what the manifests say, before a byte is written */
		struct statvfs sv;
		if (statvfs(tmp, &sv) == 0 &&
		    (uint64_t)sv.f_bavail * sv.f_frsize < x.prog.bytes_total) {
			error = cu_error_set(CU_ELIMIT, "%s: the backups hold %llu bytes but only %llu "
				"are free there", parent, (unsigned long long)x.prog.bytes_total,
				(unsigned long long)sv.f_bavail * sv.f_frsize);
			goto done;
		}
	}
	x.dest = tmp;
	/* past the page cache, unless --verify reads every file back */
	x.direct = !o->full_check;
	for (size_t i = 0; i < norder; i++) {
		struct bk_reader r;
		const json_t *rm;
		size_t k;
		if ((error = reader_open(&r, order[i]->file, keyf ? key : NULL, key_id)) < 0) {
			reader_close(&r);
			goto done;
		}
		if (memcmp(r.mdigest, order[i]->mdigest, 32) != 0)
			problem(&x, order[i]->file, MANIFEST, "changed while the restore read it");
		else if ((error = read_members(&x, &r, &res->members, &res->bytes)) < 0) {
			reader_close(&r);
			goto done;
		}
		reader_close(&r);
		if (x.problems > 0)
			break;
		/* what was gone at this backup's time */
		json_array_foreach(json_object_get(order[i]->manifest, "removed"), k, rm) {
			char p[4200];
			const char *path = json_string_value(rm);
			if (path == NULL || !member_path_ok(path)) {
				problem(&x, order[i]->file, MANIFEST, "a removed path is not acceptable");
				break;
			}
			if (cu_pathf(p, sizeof(p), "%s/%s", tmp, path) == 0)
				unlink(p);
		}
		res->backups++;
	}
	tick(x.progress, x.progress_payload, &x.prog, &x.last, 1);
	if (x.problems > 0) {
		error = cu_error_set(CU_EINVALID, "%s", x.first);
		goto done;
	}
	/* 4. the folders an archive has, the keys, then the index and a full check */
	{
		static const char *const dirs[] = { "objects/sha256", "objects/packs",
			"objects/incoming", "index", "keys", "history.git/refs/tags",
			"history.git/objects/info" };
		char p[4200];
		for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
			if ((error = cu_pathf(p, sizeof(p), "%s/%s", tmp, dirs[i])) < 0 ||
			    (error = cu_mkdir_p(p, 0750)) < 0)
				goto done;
		if ((error = cu_pathf(p, sizeof(p), "%s/keys", tmp)) < 0)
			goto done;
		chmod(p, 0700);
	}
	if (!secrets && ((error = copy_secret(tmp, "keys/signing.pem", o->signing_key)) < 0 ||
	    (error = copy_secret(tmp, "keys/person.hmac", o->person_key)) < 0))
		goto done;
	{
		const json_t *last = order[norder - 1]->manifest;
		char head[CU_OID_HEX], ip[4200];
		uint64_t log_size = 0;
		int shipped;

		if ((error = cu_pathf(ip, sizeof(ip), "%s/%s", tmp, INDEX_MEMBER)) < 0)
			goto done;
		shipped = access(ip, F_OK) == 0;
		/* keys given from outside: the carried index holds person keys made
		 * with the archive's own key; with another, it is rebuilt */
		if (shipped && !secrets && !same_person_key(tmp, order[0]->manifest)) {
			if (unlink(ip) < 0) {
				error = cu_error_sys("%s", ip);
				goto done;
			}
			shipped = 0;
		}
		if (shipped) {
			/* the index came with the full backup, at its head: the
			 * incrementals' commits are replayed into it as a writer's
			 * open does, but without a flush of its own, as the whole
			 * folder is synced below before it is renamed */
			if ((error = cu_archive_open(&a, tmp, CU_ARCHIVE_REPAIR, 0)) < 0 ||
			    (error = cu_index_set_durable(a->ix, 0)) < 0 ||
			    (error = arc_index_sync(a, NULL)) < 0 ||
			    (error = arc_policy_load(a)) < 0) {
				error = cu_error_prefix(error, "the restored archive");
				goto done;
			}
			if (arc_dispo_complete(a) < 0)
				cu_error_clear();
			if ((error = check_restored_log(a, last, &log_size)) < 0)
				goto done;
			/* verify reads the archive as it is, as a repair would */
			if (o->full_check) {
				cu_archive_free(a);
				a = NULL;
				if ((error = cu_archive_open(&a, tmp, CU_ARCHIVE_REPAIR, 0)) < 0)
					goto done;
			}
		} else if ((error = cu_archive_open(&a, tmp, CU_ARCHIVE_REPAIR, 0)) < 0 ||
			   (error = cu_archive_reindex(a, &res->commits)) < 0) {
			error = cu_error_prefix(CU_EINVALID, "the restored archive");
			goto done;
		}
		if (!shipped || o->full_check) {
			cu_verify_opts vo;
			cu_verify_report vr;

			memset(&vo, 0, sizeof(vo));
			a->verify_no_record = 1;
			if ((error = cu_archive_verify(a, &vo, verify_count, &x, &vr)) < 0)
				goto done;
			if (x.problems > 0) {
				error = cu_error_set(CU_EINVALID, "%s", x.first);
				goto done;
			}
			log_size = vr.log_size;
		}
		if ((error = cu_history_head(head, a->hist)) < 0)
			goto done;
		snprintf(res->head, sizeof(res->head), "%s", head);
		res->log_size = log_size;
		if (strcmp(head, arc_jstr(last, "head") ? arc_jstr(last, "head") : "") != 0 ||
		    log_size != (uint64_t)jint(last, "log_size")) {
			error = cu_error_set(CU_EINVALID, "%s: the restored history (head %.12s, log size "
				"%llu) is not the one backed up (head %.12s, log size %lld)",
				order[norder - 1]->file, head, (unsigned long long)log_size,
				arc_jstr(last, "head") ? arc_jstr(last, "head") : "?",
				(long long)jint(last, "log_size"));
			goto done;
		}
		cu_archive_free(a);
		a = NULL;
	}
	/* 5. durable, then in place */
	{
		int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) < 0) {
			error = cu_error_sys("%s", tmp);
			if (fd >= 0)
				close(fd);
			goto done;
		}
		close(fd);
	}
	if (rename(tmp, newdir) < 0) {
		error = cu_error_sys("%s", newdir);
		goto done;
	}
	made = 0;
	if ((error = cu_fsync_dir(parent)) < 0)
		goto done;
	res->duration_ms = ms_since(&t0);
done:
	cu_archive_free(a);
	if (made && tmp[0]) {
		/* nothing half-restored: the hidden folder goes (mode 0444 files
		 * included: their folder is ours) */
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", cu_error_last());
		int code = cu_error_code();
		nftw(tmp, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
		cu_error_set(code != CU_OK ? code : error, "%s", msg);
	}
	explicit_bzero(key, sizeof(key));
	if (items)
		for (size_t i = 0; i < nfiles; i++)
			json_decref(items[i].manifest);
	free(items);
	free(order);
	return error;
}

/* ---- prune ---------------------------------------------------------------------------- */

static int
cmp_item_time(const void *x, const void *y)
{
	const cu_prune_item *a = *(cu_prune_item *const *)x, *b = *(cu_prune_item *const *)y;

	return a->time > b->time ? -1 : a->time < b->time;
}

/* One rule: the newest backup of each of the last `count` periods. */
static void
keep_periods(cu_prune_item **v, size_t n, int count, const char *fmt, const char *label)
{
	char last[32] = "", cur[32];
	struct tm tm;
	int seen = 0;

	for (size_t i = 0; i < n && seen < count; i++) {
		gmtime_r(&v[i]->time, &tm);
		strftime(cur, sizeof(cur), fmt, &tm);
		if (strcmp(cur, last) == 0)
			continue;
		snprintf(last, sizeof(last), "%s", cur);
		seen++;
		if (!v[i]->keep) {
			v[i]->keep = 1;
			snprintf(v[i]->why, sizeof(v[i]->why), "%s %s", label, cur);
		}
	}
}

void
cu_backup_prune_select(cu_prune_item *items, size_t n, int daily, int weekly, int monthly)
{
	cu_prune_item **v;
	int changed;

	for (size_t i = 0; i < n; i++) {
		items[i].keep = 0;
		items[i].why[0] = '\0';
	}
	if (n == 0 || (v = calloc(n, sizeof(*v))) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = &items[i];
	qsort(v, n, sizeof(*v), cmp_item_time);
	v[0]->keep = 1;
	snprintf(v[0]->why, sizeof(v[0]->why), "the newest backup");
	keep_periods(v, n, daily, "%Y-%m-%d", "daily");
	keep_periods(v, n, weekly, "%G-W%V", "weekly");
	keep_periods(v, n, monthly, "%Y-%m", "monthly");
	/* what a kept incremental needs: its parent, up to the full */
	do {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (!v[i]->keep || !v[i]->incremental || v[i]->parent == NULL || !v[i]->parent[0])
				continue;
			for (size_t j = 0; j < n; j++)
				if (!v[j]->keep && strcmp(v[j]->id, v[i]->parent) == 0) {
					v[j]->keep = 1;
					snprintf(v[j]->why, sizeof(v[j]->why), "needed by %.40s", v[i]->id);
					changed = 1;
				}
		}
	} while (changed);
	for (size_t i = 0; i < n; i++)
		if (!v[i]->keep)
			snprintf(v[i]->why, sizeof(v[i]->why), "not selected by --keep-daily %d "
				"--keep-weekly %d --keep-monthly %d", daily, weekly, monthly);
	free(v);
}

/* ---- events ---------------------------------------------------------------------------- */

int
cu_archive_backup_event(cu_archive *a, const char *action, const char *archive_id,
	json_t *details, char event_id[65])
{
	char hexid[65], now[32], subject[256];
	json_t *ev;
	int error;

	event_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "recording needs the archive opened for writing");
	if ((error = archive_identity(hexid, a)) < 0)
		return error;
	if (archive_id == NULL || strcmp(archive_id, hexid) != 0)
		return cu_error_set(CU_ENOTFOUND, "%s: the backups are not of this archive", a->path);
	cu_now_rfc3339(now);
	if ((ev = arc_new_event(a, "backup", action, now)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_object_set(ev, "backup", details);
	snprintf(subject, sizeof(subject), "backup: %s (%s)", action,
		arc_jstr(details, "result") ? arc_jstr(details, "result") : "done");
	error = commit_event(a, ev, subject, event_id);
	json_decref(ev);
	return error;
}

int
cu_backup_holds(const json_t *ev, uint64_t leaf, char *detail, size_t dsz)
{
	const json_t *b = json_object_get(ev, "backup");
	uint64_t size, from;
	int incr;

	if (strcmp(arc_jstr(ev, "kind") ? arc_jstr(ev, "kind") : "", "backup") != 0 ||
	    strcmp(arc_jstr(ev, "action") ? arc_jstr(ev, "action") : "", "create") != 0 || b == NULL)
		return 0;
	size = (uint64_t)jint(b, "log_size");
	incr = strcmp(arc_jstr(b, "kind") ? arc_jstr(b, "kind") : "", "incremental") == 0;
	from = incr ? (uint64_t)jint(b, "parent_log_size") : 0;
	if (leaf >= size || leaf < from)
		return 0;
	snprintf(detail, dsz, "in %s backup %s (id %.32s, log size %llu%s%.32s)",
		incr ? "incremental" : "full", arc_jstr(b, "file") ? arc_jstr(b, "file") : "?",
		arc_jstr(b, "id") ? arc_jstr(b, "id") : "?", (unsigned long long)size,
		incr ? ", parent " : "", incr ? arc_jstr(b, "parent") : "");
	return 1;
}

/* ---- the backups the log records ------------------------------------------------------ */

struct evlist {
	struct { int64_t time; char id[65]; } *v;
	size_t n, cap;
};

static int
collect_ev(int64_t time, const unsigned char event_id[32], void *payload)
{
	struct evlist *l = payload;

	if (cu_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return CU_ERROR;
	l->v[l->n].time = time;
	cu_hex(l->v[l->n].id, event_id, 32);
	l->n++;
	return 0;
}

int
cu_archive_backups(cu_archive *a, cu_backup_list_cb cb, void *payload, size_t *n)
{
	unsigned char zero[32] = { 0 };
	struct evlist l = { NULL, 0, 0 };
	cu_index_txn *t = NULL;
	size_t count = 0;
	int error;

	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	error = cu_index_foreach_event(t, zero, collect_ev, &l);
	cu_index_abort(t);
	for (size_t i = 0; i < l.n && error == 0; i++) {
		char path[160], day[32], *text = NULL;
		size_t len;
		struct tm tm;
		time_t when = (time_t)l.v[i].time;
		json_t *ev, *b;
		gmtime_r(&when, &tm);
		strftime(day, sizeof(day), "%Y/%m-%d", &tm);
		if ((error = cu_pathf(path, sizeof(path), "events/%s/%s.json", day, l.v[i].id)) < 0 ||
		    (error = cu_history_read(&text, &len, a->hist, NULL, path)) < 0)
			break;
		ev = json_loadb(text, len, 0, NULL);
		free(text);
		if (ev == NULL) {
			error = cu_error_set(CU_EINVALID, "history %s: not JSON", path);
			break;
		}
		b = json_object_get(ev, "backup");
		if (strcmp(arc_jstr(ev, "kind") ? arc_jstr(ev, "kind") : "", "backup") == 0 &&
		    strcmp(arc_jstr(ev, "action") ? arc_jstr(ev, "action") : "", "create") == 0 && b) {
			cu_backup_info info;
			memset(&info, 0, sizeof(info));
			info.file = arc_jstr(b, "file") ? arc_jstr(b, "file") : "";
			info.id = arc_jstr(b, "id") ? arc_jstr(b, "id") : "";
			info.kind = arc_jstr(b, "kind") ? arc_jstr(b, "kind") : "";
			info.created_at = arc_jstr(ev, "at") ? arc_jstr(ev, "at") : "";
			info.parent = arc_jstr(b, "parent") ? arc_jstr(b, "parent") : "";
			info.archive_id = "";
			info.archive_name = a->name;
			info.head = arc_jstr(b, "head") ? arc_jstr(b, "head") : "";
			info.key_id = arc_jstr(b, "key_id") ? arc_jstr(b, "key_id") : "";
			info.log_size = (uint64_t)jint(b, "log_size");
			info.parent_log_size = (uint64_t)jint(b, "parent_log_size");
			info.members = (uint64_t)jint(b, "members");
			info.bytes_in = (uint64_t)jint(b, "bytes_in");
			info.bytes_out = (uint64_t)jint(b, "bytes");
			info.time = (time_t)l.v[i].time;
			count++;
			error = cb(&info, payload);
		}
		json_decref(ev);
	}
	free(l.v);
	if (n)
		*n = count;
	return error;
}
