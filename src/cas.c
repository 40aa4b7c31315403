/* cas.c — content objects, loose and packed (see custos/cas.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "custos/cas.h"
#include "custos/error.h"
#include "custos/util.h"

struct cu_cas {
	char dir[4000];        /* the objects folder */
};

struct pending {
	unsigned char digest[32];
	size_t off;            /* into the batch's data buffer */
	size_t len;
};

struct cu_cas_batch {
	cu_cas *cas;
	size_t threshold;
	char *data;            /* the small objects' bytes, one after another */
	size_t data_len, data_cap;
	struct pending *items;
	size_t n, cap;
	uint32_t *slots;       /* open-addressing set of item indexes + 1 */
	size_t nslots;
};

int
cu_cas_open(cu_cas **out, const char *objects_dir, int create)
{
	cu_cas *c;
	char path[4096];
	struct stat st;

	*out = NULL;
	if (strlen(objects_dir) >= sizeof(c->dir) - 100)
		return cu_error_set(CU_EINVALID, "%s: path too long", objects_dir);
	if (create) {
		int error;
		if ((error = cu_pathf(path, sizeof(path), "%s/sha256", objects_dir)) < 0)
		return error;
		if ((error = cu_mkdir_p(path, 0755)) < 0)
			return error;
		if ((error = cu_pathf(path, sizeof(path), "%s/packs", objects_dir)) < 0)
		return error;
		if ((error = cu_mkdir_p(path, 0755)) < 0)
			return error;
	} else if (stat(objects_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		return cu_error_set(CU_ENOTFOUND, "%s: no objects folder", objects_dir);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	snprintf(c->dir, sizeof(c->dir), "%s", objects_dir);
	*out = c;
	return 0;
}

void
cu_cas_free(cu_cas *c)
{
	free(c);
}

/* The member / relative name "sha256/ab/cdef…" of a digest into out[72]. */
static void
object_name(char out[80], const unsigned char digest[32])
{
	char hex[65];

	cu_hex(hex, digest, 32);
	snprintf(out, 80, "sha256/%.2s/%s", hex, hex + 2);
}

int
cu_cas_loose_path(char *out, size_t outsz, const cu_cas *c, const unsigned char digest[32])
{
	char name[80];

	object_name(name, digest);
	return cu_pathf(out, outsz, "%s/%s", c->dir, name);
}

/* "Is it there" is asked with the effective ids (AT_EACCESS), the ones
 * every open and rename here uses: a process acting for a user (its real
 * uid) with the archive owner's rights must see the objects it reads. */
int
cu_cas_has_loose(const cu_cas *c, const unsigned char digest[32])
{
	char path[4096];

	if (cu_cas_loose_path(path, sizeof(path), c, digest) < 0)
		return 0;
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

int
cu_cas_put_loose(cu_cas *c, const unsigned char digest[32], const void *data, size_t len)
{
	char path[4096], dir[4096], hex[65];
	int error;

	if ((error = cu_cas_loose_path(path, sizeof(path), c, digest)) < 0)
		return error;
	if (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0)
		return 0;
	cu_hex(hex, digest, 32);
	if ((error = cu_pathf(dir, sizeof(dir), "%s/sha256/%.2s", c->dir, hex)) < 0)
		return error;
	if (mkdir(dir, 0755) == 0) {
		/* a new fan-out folder must itself survive a crash */
		char parent[4096];
		if ((error = cu_pathf(parent, sizeof(parent), "%s/sha256", c->dir)) < 0)
		return error;
		if ((error = cu_fsync_dir(parent)) < 0)
			return error;
	} else if (errno != EEXIST) {
		return cu_error_sys("mkdir %s", dir);
	}
	error = cu_write_file_durable(path, data, len, 0444, 1);
	if (error == CU_EEXISTS)    /* written meanwhile: same name, same bytes */
		return 0;
	return error;
}

/* ---- streamed objects ---------------------------------------------------- */

struct cu_cas_writer {
	cu_cas *cas;
	int fd;
	char tmp[4096];
	EVP_MD_CTX *md;
	unsigned char digest[32];
	uint64_t size;
	int closed, committed;
};

int
cu_cas_writer_new(cu_cas_writer **out, cu_cas *c)
{
	static unsigned long seq;
	cu_cas_writer *w;
	char dir[4096];
	int error;

	*out = NULL;
	if ((error = cu_pathf(dir, sizeof(dir), "%s/incoming", c->dir)) < 0)
		return error;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cu_error_sys("mkdir %s", dir);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	w->cas = c;
	w->fd = -1;
	if ((error = cu_pathf(w->tmp, sizeof(w->tmp), "%s/%ld-%lu", dir, (long)getpid(),
			++seq)) < 0) {
		free(w);
		return error;
	}
	if ((w->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		cu_cas_writer_free(w);
		return cu_error_set(CU_ERROR, "OpenSSL: SHA-256 init failed");
	}
	if ((w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) < 0) {
		error = cu_error_sys("%s", w->tmp);
		w->tmp[0] = '\0';
		cu_cas_writer_free(w);
		return error;
	}
	*out = w;
	return 0;
}

int
cu_cas_writer_write(cu_cas_writer *w, const void *data, size_t len)
{
	const char *p = data;

	if (w->closed)
		return cu_error_set(CU_EINVALID, "object writer already closed");
	if (EVP_DigestUpdate(w->md, data, len) != 1)
		return cu_error_set(CU_ERROR, "OpenSSL: SHA-256 failed");
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cu_error_sys("%s", w->tmp);
		p += n;
		len -= (size_t)n;
		w->size += (uint64_t)n;
	}
	return 0;
}

int
cu_cas_writer_close(cu_cas_writer *w, unsigned char digest[32], uint64_t *size)
{
	unsigned int dlen;

	if (!w->closed) {
		if (EVP_DigestFinal_ex(w->md, w->digest, &dlen) != 1)
			return cu_error_set(CU_ERROR, "OpenSSL: SHA-256 failed");
		if (fsync(w->fd) < 0)
			return cu_error_sys("fsync %s", w->tmp);
		if (close(w->fd) < 0) {
			w->fd = -1;
			return cu_error_sys("close %s", w->tmp);
		}
		w->fd = -1;
		w->closed = 1;
	}
	memcpy(digest, w->digest, 32);
	if (size)
		*size = w->size;
	return 0;
}

int
cu_cas_writer_commit(cu_cas_writer *w)
{
	char path[4096], dir[4096], hex[65];
	int error;

	if (!w->closed)
		return cu_error_set(CU_EINVALID, "object writer not closed");
	if (w->committed)
		return 0;
	if ((error = cu_cas_loose_path(path, sizeof(path), w->cas, w->digest)) < 0)
		return error;
	cu_hex(hex, w->digest, 32);
	if ((error = cu_pathf(dir, sizeof(dir), "%s/sha256/%.2s", w->cas->dir, hex)) < 0)
		return error;
	if (mkdir(dir, 0755) == 0) {
		char parent[4096];
		if ((error = cu_pathf(parent, sizeof(parent), "%s/sha256", w->cas->dir)) < 0 ||
		    (error = cu_fsync_dir(parent)) < 0)
			return error;
	} else if (errno != EEXIST) {
		return cu_error_sys("mkdir %s", dir);
	}
	if (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0) {
		unlink(w->tmp);
	} else if (rename(w->tmp, path) < 0) {
		return cu_error_sys("rename %s", w->tmp);
	} else if ((error = cu_fsync_dir(dir)) < 0) {
		return error;
	}
	w->committed = 1;
	return 0;
}

void
cu_cas_writer_free(cu_cas_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (!w->committed && w->tmp[0])
		unlink(w->tmp);
	EVP_MD_CTX_free(w->md);
	free(w);
}

int
cu_cas_clean_incoming(cu_cas *c)
{
	char dir[4096], path[4400];
	struct dirent *e;
	DIR *d;
	int error;

	if ((error = cu_pathf(dir, sizeof(dir), "%s/incoming", c->dir)) < 0)
		return error;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : cu_error_sys("%s", dir);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (cu_pathf(path, sizeof(path), "%s/%s", dir, e->d_name) == 0)
			unlink(path);
	}
	closedir(d);
	return 0;
}

/* Checks that data hashes to digest; names the object otherwise. */
static int
check_digest(const void *data, size_t len, const unsigned char digest[32])
{
	unsigned char got[32];
	char hex[65];
	int error;

	if ((error = cu_sha256(got, data, len)) < 0)
		return error;
	if (memcmp(got, digest, 32) != 0) {
		cu_hex(hex, digest, 32);
		return cu_error_set(CU_EINVALID, "object %s does not match its name", hex);
	}
	return 0;
}

int
cu_cas_read_loose(char **out, size_t *len, const cu_cas *c, const unsigned char digest[32])
{
	char path[4096];
	int error;

	if ((error = cu_cas_loose_path(path, sizeof(path), c, digest)) < 0)
		return error;
	if ((error = cu_read_file(out, len, path, SIZE_MAX / 2)) < 0)
		return error;
	if ((error = check_digest(*out, *len, digest)) < 0) {
		free(*out);
		*out = NULL;
	}
	return error;
}

int
cu_cas_stream_loose(const cu_cas *c, const unsigned char digest[32], cu_cas_chunk_cb cb,
	void *payload)
{
	char path[4096], hex[65];
	unsigned char got[32], *buf = NULL;
	EVP_MD_CTX *md = NULL;
	int fd = -1, error;
	ssize_t n;

	if ((error = cu_cas_loose_path(path, sizeof(path), c, digest)) < 0)
		return error;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return cu_error_sys("%s", path);
	if ((buf = malloc(1 << 16)) == NULL || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	while ((n = read(fd, buf, 1 << 16)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = cu_error_sys("%s", path);
			goto done;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			error = cu_error_set(CU_ERROR, "OpenSSL: SHA-256 failed");
			goto done;
		}
		if ((error = cb(buf, (size_t)n, payload)) != 0)
			goto done;
	}
	if (EVP_DigestFinal_ex(md, got, NULL) != 1) {
		error = cu_error_set(CU_ERROR, "OpenSSL: SHA-256 failed");
		goto done;
	}
	if (memcmp(got, digest, 32) != 0) {
		cu_hex(hex, digest, 32);
		error = cu_error_set(CU_EINVALID, "object %s does not match its name", hex);
	}
done:
	EVP_MD_CTX_free(md);
	free(buf);
	close(fd);
	return error;
}

int
cu_cas_read_packed(char **out, size_t *len, const cu_cas *c, const char *pack,
	uint64_t offset, uint64_t size, const unsigned char digest[32])
{
	char path[4096], *buf = NULL;
	int fd, error = 0;

	*out = NULL;
	if (strchr(pack, '/') != NULL)
		return cu_error_set(CU_EINVALID, "%s: not a pack name", pack);
	if ((error = cu_pathf(path, sizeof(path), "%s/packs/%s", c->dir, pack)) < 0)
		return error;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cu_error_sys("%s", path);
	if (size > SIZE_MAX / 2 || (buf = malloc((size_t)size + 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "%s: out of memory", path);
		goto done;
	}
	if ((error = cu_pread_all(fd, buf, (size_t)size, offset)) < 0) {
		cu_error_prefix(error, "%s", path);
		goto done;
	}
	buf[size] = '\0';
	if ((error = check_digest(buf, (size_t)size, digest)) < 0) {
		cu_error_prefix(error, "%s", pack);
		goto done;
	}
	*out = buf;
	*len = (size_t)size;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return error;
}

/* ---- batches ------------------------------------------------------------ */

int
cu_cas_batch_new(cu_cas_batch **out, cu_cas *c, size_t threshold)
{
	cu_cas_batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	b->cas = c;
	b->threshold = threshold;   /* 0: nothing is packed */
	*out = b;
	return 0;
}

void
cu_cas_batch_free(cu_cas_batch *b)
{
	if (b == NULL)
		return;
	free(b->data);
	free(b->items);
	free(b->slots);
	free(b);
}

size_t
cu_cas_batch_count(const cu_cas_batch *b)
{
	return b->n;
}

static size_t
slot_of(const unsigned char digest[32], size_t nslots)
{
	uint64_t h;

	memcpy(&h, digest, sizeof(h));
	return (size_t)(h & (nslots - 1));
}

/* Finds digest among the pending items: its slot holds index+1, or the
 * empty slot where it would go. */
static size_t
find_slot(const cu_cas_batch *b, const unsigned char digest[32])
{
	size_t i = slot_of(digest, b->nslots);

	while (b->slots[i] != 0 && memcmp(b->items[b->slots[i] - 1].digest, digest, 32) != 0)
		i = (i + 1) & (b->nslots - 1);
	return i;
}

/* Keeps the set at most half full. */
static int
grow_slots(cu_cas_batch *b)
{
	size_t n = b->nslots ? b->nslots * 2 : 1024;
	uint32_t *old = b->slots;
	size_t oldn = b->nslots;

	if ((b->slots = calloc(n, sizeof(*b->slots))) == NULL) {
		b->slots = old;
		return cu_error_set(CU_ERROR, "out of memory");
	}
	b->nslots = n;
	for (size_t i = 0; i < oldn; i++)
		if (old[i] != 0)
			b->slots[find_slot(b, b->items[old[i] - 1].digest)] = old[i];
	free(old);
	return 0;
}

int
cu_cas_batch_add(cu_cas_batch *b, unsigned char digest[32], int *packed,
	const void *data, size_t len)
{
	size_t slot;
	int error;

	if ((error = cu_sha256(digest, data, len)) < 0)
		return error;
	if (len >= b->threshold) {
		if (packed)
			*packed = 0;
		return cu_cas_put_loose(b->cas, digest, data, len);
	}
	if (packed)
		*packed = 1;
	if (2 * (b->n + 1) > b->nslots && (error = grow_slots(b)) < 0)
		return error;
	slot = find_slot(b, digest);
	if (b->slots[slot] != 0)
		return 0;
	if (cu_grow(&b->items, &b->cap, b->n + 1, sizeof(*b->items)) < 0)
		return CU_ERROR;
	if (b->data_len + len > b->data_cap) {
		size_t cap = b->data_cap ? b->data_cap : 65536;
		char *d;
		while (cap < b->data_len + len)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		b->data = d;
		b->data_cap = cap;
	}
	memcpy(b->data + b->data_len, data, len);
	memcpy(b->items[b->n].digest, digest, 32);
	b->items[b->n].off = b->data_len;
	b->items[b->n].len = len;
	b->data_len += len;
	b->n++;
	b->slots[slot] = (uint32_t)b->n;
	return 0;
}

/* libarchive output: straight to the temporary file, hashing as it goes. */
struct pack_out {
	int fd;
	EVP_MD_CTX *md;
	int failed_errno;
	char failure[256];
};

static la_ssize_t
pack_write_cb(struct archive *a, void *client, const void *buf, size_t len)
{
	struct pack_out *o = client;

	(void)a;
	/* A failure is remembered, not returned: libarchive leaks its output
	 * buffer when a write callback fails, so the stream is run to its end
	 * (writing nothing more) and the caller reports the first failure. */
	if (o->failed_errno)
		return (la_ssize_t)len;
	if (cu_write_all(o->fd, buf, len) < 0) {
		o->failed_errno = errno ? errno : EIO;
		snprintf(o->failure, sizeof(o->failure), "%s", cu_error_last());
		return (la_ssize_t)len;
	}
	if (!EVP_DigestUpdate(o->md, buf, len)) {
		o->failed_errno = EIO;
		snprintf(o->failure, sizeof(o->failure), "SHA-256 failed");
	}
	return (la_ssize_t)len;
}

int
cu_cas_batch_write(cu_cas_batch *b, char pack_name[96], cu_cas_member_cb cb, void *payload)
{
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct pack_out o = { .fd = -1 };
	char tmp[4096], final[4096], packs[4096], hex[65];
	unsigned char rnd[8], sum[32];
	uint64_t pos = 0;
	time_t now = time(NULL);
	int error = 0, closed = 0;

	pack_name[0] = '\0';
	if (b->n == 0)
		return 0;
	if ((error = cu_pathf(packs, sizeof(packs), "%s/packs", b->cas->dir)) < 0)
		return error;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cu_error_set(CU_ERROR, "no randomness for a temporary name");
	cu_hex(hex, rnd, sizeof(rnd));
	if ((error = cu_pathf(tmp, sizeof(tmp), "%s/.tmp-%s.tar", packs, hex)) < 0)
		return error;
	if ((o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444)) < 0)
		return cu_error_sys("%s", tmp);
	if ((o.md = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(o.md, EVP_sha256(), NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 context failed");
		goto done;
	}
	if ((a = archive_write_new()) == NULL || (e = archive_entry_new()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	/* ustar headers only, so every member's data starts 512 bytes after
	 * its header and the offsets below are exact */
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &o, NULL, pack_write_cb, NULL) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(a));
		goto done;
	}
	for (size_t i = 0; i < b->n; i++) {
		char name[80];
		object_name(name, b->items[i].digest);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0444);
		archive_entry_set_size(e, (la_int64_t)b->items[i].len);
		archive_entry_set_mtime(e, now, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    archive_write_data(a, b->data + b->items[i].off, b->items[i].len)
			!= (la_ssize_t)b->items[i].len) {
			error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(a));
			goto done;
		}
		pos += 512 + ((b->items[i].len + 511) / 512) * 512;
		if (o.failed_errno)
			break;   /* the disk refused: no point in feeding the rest */
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(a));
		goto done;
	}
	if (o.failed_errno) {
		error = cu_error_set(CU_ERROR, "%s: %s", tmp, o.failure);
		goto done;
	}
	if (fsync(o.fd) < 0) {
		error = cu_error_sys("fsync %s", tmp);
		goto done;
	}
	if (close(o.fd) < 0) {
		o.fd = -1;
		error = cu_error_sys("%s", tmp);
		goto done;
	}
	o.fd = -1;
	if (!EVP_DigestFinal_ex(o.md, sum, NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 failed");
		goto done;
	}
	cu_hex(hex, sum, 32);
	snprintf(pack_name, 96, "pack-%s.tar", hex);
	if ((error = cu_pathf(final, sizeof(final), "%s/%s", packs, pack_name)) < 0)
		goto done;
	if (rename(tmp, final) < 0) {
		error = cu_error_sys("%s", final);
		goto done;
	}
	closed = 1;
	if ((error = cu_fsync_dir(packs)) < 0)
		goto done;
	pos = 0;
	for (size_t i = 0; i < b->n && cb != NULL; i++) {
		if ((error = cb(b->items[i].digest, pack_name, pos + 512, b->items[i].len,
				payload)) != 0)
			goto done;
		pos += 512 + ((b->items[i].len + 511) / 512) * 512;
	}
	b->n = 0;
	b->data_len = 0;
	if (b->slots)
		memset(b->slots, 0, b->nslots * sizeof(*b->slots));
done:
	if (a != NULL)
		archive_write_free(a);
	archive_entry_free(e);
	EVP_MD_CTX_free(o.md);
	if (o.fd >= 0)
		close(o.fd);
	if (error < 0 && !closed) {
		unlink(tmp);
		pack_name[0] = '\0';
	}
	return error;
}

/* ---- listing and scanning ------------------------------------------------- */

static int
cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

int
cu_cas_list_packs(const cu_cas *c, cu_cas_pack_cb cb, void *payload)
{
	char path[4096], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;
	int error = 0;

	if ((error = cu_pathf(path, sizeof(path), "%s/packs", c->dir)) < 0)
		return error;
	if ((dir = opendir(path)) == NULL)
		return cu_error_sys("%s", path);
	while ((d = readdir(dir)) != NULL) {
		size_t len = strlen(d->d_name);
		if (strncmp(d->d_name, "pack-", 5) != 0 || len < 9 ||
		    strcmp(d->d_name + len - 4, ".tar") != 0)
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*p));
			if (p == NULL) {
				error = cu_error_set(CU_ERROR, "out of memory");
				goto done;
			}
			names = p;
		}
		if ((names[n] = strdup(d->d_name)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && error == 0; i++)
		error = cb(names[i], payload);
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return error;
}

/* Parses "sha256/ab/<62 hex>" into a digest. */
static int
parse_member_name(unsigned char digest[32], const char *name)
{
	char hex[65];

	if (strlen(name) != 7 + 2 + 1 + 62 || strncmp(name, "sha256/", 7) != 0 ||
	    name[9] != '/')
		return CU_EINVALID;
	memcpy(hex, name + 7, 2);
	memcpy(hex + 2, name + 10, 62);
	hex[64] = '\0';
	for (int i = 0; i < 64; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return CU_EINVALID;
	return cu_unhex(digest, 32, hex);
}

int
cu_cas_scan_pack(const cu_cas *c, const char *pack, cu_cas_member_cb cb, void *payload)
{
	struct archive *a;
	struct archive_entry *e;
	char path[4096];
	int r, error = 0;

	if (strchr(pack, '/') != NULL)
		return cu_error_set(CU_EINVALID, "%s: not a pack name", pack);
	if ((error = cu_pathf(path, sizeof(path), "%s/packs/%s", c->dir, pack)) < 0)
		return error;
	if ((a = archive_read_new()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	/* packs are plain tar: no filters, no other formats */
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", path, archive_error_string(a));
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		unsigned char digest[32];
		la_int64_t hdr = archive_read_header_position(a);
		const char *name = archive_entry_pathname(e);
		if (archive_entry_filetype(e) != AE_IFREG || name == NULL ||
		    parse_member_name(digest, name) < 0 || archive_entry_size(e) < 0) {
			error = cu_error_set(CU_EINVALID, "%s: member %s is not an object",
				pack, name ? name : "(unnamed)");
			goto done;
		}
		if ((error = cb(digest, pack, (uint64_t)hdr + 512,
				(uint64_t)archive_entry_size(e), payload)) != 0)
			goto done;
	}
	if (r != ARCHIVE_EOF)
		error = cu_error_set(CU_EINVALID, "%s: %s", pack, archive_error_string(a));
done:
	archive_read_free(a);
	return error;
}

/* ---- disposal ------------------------------------------------------------- */

int
cu_cas_remove_loose(cu_cas *c, const unsigned char digest[32])
{
	char path[4096], dir[4096], hex[65];
	int error;

	if ((error = cu_cas_loose_path(path, sizeof(path), c, digest)) < 0)
		return error;
	cu_hex(hex, digest, 32);
	if ((error = cu_pathf(dir, sizeof(dir), "%s/sha256/%.2s", c->dir, hex)) < 0)
		return error;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return cu_error_sys("removing %s", path);
	}
	if ((error = cu_fsync_dir(dir)) < 0)
		return error;
	return 1;
}

int
cu_cas_remove_pack(cu_cas *c, const char *pack)
{
	char path[4096], packs[4096];
	int error;

	if (strchr(pack, '/') != NULL || strncmp(pack, "pack-", 5) != 0)
		return cu_error_set(CU_EINVALID, "%s: not a pack name", pack);
	if ((error = cu_pathf(packs, sizeof(packs), "%s/packs", c->dir)) < 0 ||
	    (error = cu_pathf(path, sizeof(path), "%s/%s", packs, pack)) < 0)
		return error;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return cu_error_sys("removing %s", path);
	}
	return cu_fsync_dir(packs);
}

struct kept {
	unsigned char digest[32];
	uint64_t size;
};

/* Copies one member's data from r to w, hashing it; CU_EINVALID if the
 * bytes do not match the member's name. */
static int
copy_member(struct archive *r, struct archive *w, const unsigned char digest[32],
	const char *pack, const char *tmp)
{
	static _Thread_local char buf[1 << 16];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char got[32];
	char hex[65];
	la_ssize_t n;
	int error = 0;

	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 context failed");
		goto done;
	}
	while ((n = archive_read_data(r, buf, sizeof(buf))) > 0) {
		if (!EVP_DigestUpdate(md, buf, (size_t)n)) {
			error = cu_error_set(CU_ERROR, "SHA-256 failed");
			goto done;
		}
		if (archive_write_data(w, buf, (size_t)n) != n) {
			error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(w));
			goto done;
		}
	}
	if (n < 0) {
		error = cu_error_set(CU_EINVALID, "%s: %s", pack, archive_error_string(r));
		goto done;
	}
	if (!EVP_DigestFinal_ex(md, got, NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 failed");
		goto done;
	}
	if (memcmp(got, digest, 32) != 0) {
		cu_hex(hex, digest, 32);
		error = cu_error_set(CU_EINVALID, "%s: object %s does not match its name; the "
			"pack is not rewritten (run custos verify)", pack, hex);
	}
done:
	EVP_MD_CTX_free(md);
	return error;
}

int
cu_cas_repack(cu_cas *c, const char *pack,
	int (*drop)(const unsigned char digest[32], void *payload), void *drop_payload,
	char new_name[96], cu_cas_member_cb cb, void *payload, size_t *dropped)
{
	struct archive *r = NULL, *w = NULL;
	struct archive_entry *e, *out = NULL;
	struct pack_out o = { .fd = -1 };
	struct kept *kept = NULL;
	size_t nkept = 0, capkept = 0;
	char path[4096], packs[4096], tmp[4096], final[4096], hex[65];
	unsigned char rnd[8], sum[32];
	uint64_t pos;
	int rc, error = 0, renamed = 0;

	new_name[0] = '\0';
	*dropped = 0;
	if (strchr(pack, '/') != NULL)
		return cu_error_set(CU_EINVALID, "%s: not a pack name", pack);
	if ((error = cu_pathf(packs, sizeof(packs), "%s/packs", c->dir)) < 0 ||
	    (error = cu_pathf(path, sizeof(path), "%s/%s", packs, pack)) < 0)
		return error;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cu_error_set(CU_ERROR, "no randomness for a temporary name");
	cu_hex(hex, rnd, sizeof(rnd));
	if ((error = cu_pathf(tmp, sizeof(tmp), "%s/.tmp-%s.tar", packs, hex)) < 0)
		return error;
	if ((r = archive_read_new()) == NULL || (w = archive_write_new()) == NULL ||
	    (out = archive_entry_new()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	archive_read_support_format_tar(r);
	if (archive_read_open_filename(r, path, 65536) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", path, archive_error_string(r));
		goto done;
	}
	if ((o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444)) < 0) {
		error = cu_error_sys("%s", tmp);
		goto done;
	}
	if ((o.md = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(o.md, EVP_sha256(), NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 context failed");
		goto done;
	}
	/* the same writer settings as a batch's pack: ustar, exact offsets */
	if (archive_write_set_format_ustar(w) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK ||
	    archive_write_open(w, &o, NULL, pack_write_cb, NULL) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(w));
		goto done;
	}
	while ((rc = archive_read_next_header(r, &e)) == ARCHIVE_OK) {
		unsigned char digest[32];
		const char *name = archive_entry_pathname(e);
		if (archive_entry_filetype(e) != AE_IFREG || name == NULL ||
		    parse_member_name(digest, name) < 0 || archive_entry_size(e) < 0) {
			error = cu_error_set(CU_EINVALID, "%s: member %s is not an object", pack,
				name ? name : "(unnamed)");
			goto done;
		}
		if (drop(digest, drop_payload)) {
			(*dropped)++;
			continue;   /* libarchive skips its data */
		}
		archive_entry_clear(out);
		archive_entry_set_pathname(out, name);
		archive_entry_set_filetype(out, AE_IFREG);
		archive_entry_set_perm(out, 0444);
		archive_entry_set_size(out, archive_entry_size(e));
		archive_entry_set_mtime(out, archive_entry_mtime(e), 0);
		if (archive_write_header(w, out) != ARCHIVE_OK) {
			error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(w));
			goto done;
		}
		if ((error = copy_member(r, w, digest, pack, tmp)) < 0)
			goto done;
		if ((error = cu_grow(&kept, &capkept, nkept + 1, sizeof(*kept))) < 0)
			goto done;
		memcpy(kept[nkept].digest, digest, 32);
		kept[nkept].size = (uint64_t)archive_entry_size(e);
		nkept++;
		if (o.failed_errno)
			break;
	}
	if (rc != ARCHIVE_OK && rc != ARCHIVE_EOF) {
		error = cu_error_set(CU_EINVALID, "%s: %s", pack, archive_error_string(r));
		goto done;
	}
	if (archive_write_close(w) != ARCHIVE_OK) {
		error = cu_error_set(CU_ERROR, "%s: %s", tmp, archive_error_string(w));
		goto done;
	}
	if (o.failed_errno) {
		error = cu_error_set(CU_ERROR, "%s: %s", tmp, o.failure);
		goto done;
	}
	if (*dropped == 0 || nkept == 0)
		goto done;    /* nothing to rewrite, or nothing to keep */
	if (fsync(o.fd) < 0) {
		error = cu_error_sys("fsync %s", tmp);
		goto done;
	}
	if (close(o.fd) < 0) {
		o.fd = -1;
		error = cu_error_sys("%s", tmp);
		goto done;
	}
	o.fd = -1;
	if (!EVP_DigestFinal_ex(o.md, sum, NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 failed");
		goto done;
	}
	cu_hex(hex, sum, 32);
	snprintf(new_name, 96, "pack-%s.tar", hex);
	if ((error = cu_pathf(final, sizeof(final), "%s/%s", packs, new_name)) < 0)
		goto done;
	/* an earlier run that stopped half-way made the very same file */
	if (rename(tmp, final) < 0) {
		error = cu_error_sys("%s", final);
		goto done;
	}
	renamed = 1;
	if ((error = cu_fsync_dir(packs)) < 0)
		goto done;
	pos = 0;
	for (size_t i = 0; i < nkept && cb != NULL; i++) {
		if ((error = cb(kept[i].digest, new_name, pos + 512, kept[i].size, payload)) != 0)
			goto done;
		pos += 512 + ((kept[i].size + 511) / 512) * 512;
	}
done:
	if (r != NULL)
		archive_read_free(r);
	if (w != NULL)
		archive_write_free(w);
	archive_entry_free(out);
	EVP_MD_CTX_free(o.md);
	if (o.fd >= 0)
		close(o.fd);
	if (!renamed) {
		unlink(tmp);
		if (error < 0)
			new_name[0] = '\0';
	}
	if (error < 0 && !renamed)
		*dropped = 0;
	free(kept);
	return error;
}
