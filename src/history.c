/*
 * history.c — the record ledger in a bare git repository (see
 * custos/history.h).
 *
 * A batch is written like this: blobs, trees and the commit go into
 * libgit2's in-memory object store (mempack, top priority in the odb, so
 * nothing reaches objects/xx/ as loose files); the new objects are then
 * written as one pack with its index, each fsynced before it is renamed
 * into place, and the folder fsynced; only then does refs/heads/main move,
 * by compare-and-swap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <openssl/evp.h>
#include <libdeflate.h>
#include <sys/stat.h>

#include "custos/error.h"
#include "custos/history.h"
#include "custos/sig.h"
#include "custos/util.h"

#define MAIN_REF       "refs/heads/main"
#define PATH_MAX_LEN   4096
#define NAME_MAX_LEN   255

struct cu_history {
	git_repository  *repo;
	git_odb         *odb;
	git_odb_backend *mempack;   /* owned by odb */
};

/*
 * Test seam, not part of the contract in history.h: when set,
 * cu_history_commit calls it after the new commit is written and before
 * refs/heads/main is moved, so a test can move the ref in between and see
 * the compare-and-swap refuse.  NULL outside tests.
 */
void (*cu_history_test_before_publish)(cu_history *h, void *payload);
void *cu_history_test_payload;

static pthread_once_t libgit2_once = PTHREAD_ONCE_INIT;
static int libgit2_init_error;

static void
libgit2_init_once(void)
{
	/* Strict object creation makes every tree entry inserted look its
	 * object up in the odb; every id put into a tree here was just
	 * computed from the object written (or read from a stored tree), so
	 * the check only costs (measured: a third of building the trees). */
	if (git_libgit2_init() < 0 ||
	    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1) < 0 ||
	    git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0) < 0)
		libgit2_init_error = -1;
	/* The history is the archive's alone: no system, user or XDG git
	 * configuration changes how it is written (and a daemon whose $HOME
	 * it cannot read still works). */
	static const int levels[] = { GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
		GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA };
	for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
		if (git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "") < 0)
			libgit2_init_error = -1;
}

/* libgit2 is initialised once per process and never shut down: handles
 * may be opened and freed many times, and git_libgit2_shutdown would tear
 * down state another handle still uses. */
static int
libgit2_ready(void)
{
	pthread_once(&libgit2_once, libgit2_init_once);
	if (libgit2_init_error < 0)
		return cu_error_set(CU_ERROR, "libgit2 initialisation failed");
	return 0;
}

/* Maps a libgit2 return code to ours. */
static int
map_git_code(int code)
{
	switch (code) {
	case GIT_ENOTFOUND:
		return CU_ENOTFOUND;
	case GIT_EEXISTS:
		return CU_EEXISTS;
	case GIT_EMODIFIED:
		return CU_ECONFLICT;
	case GIT_ELOCKED:
		return CU_ELOCKED;
	case GIT_EINVALID:
	case GIT_EINVALIDSPEC:
		return CU_EINVALID;
	default:
		return CU_ERROR;
	}
}

/* Sets the last error to "<what>: <libgit2 message>" and returns the
 * mapped code. */
static int __attribute__((format(printf, 2, 3)))
fail_git(int gitcode, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cu_error_set(map_git_code(gitcode), "%s: %s", what,
		e != NULL && e->message != NULL ? e->message : "libgit2 error");
}

/* Parses a full 40-digit commit id. */
static int
parse_oid(git_oid *oid, const char *hex)
{
	if (hex == NULL || strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(oid, hex) < 0)
		return cu_error_set(CU_EINVALID, "\"%s\": not a 40-digit commit id",
			hex != NULL ? hex : "(null)");
	return 0;
}

/* The commit `hex` (NULL = head) as a looked-up object. */
static int
lookup_commit(git_commit **out, cu_history *h, const char *hex)
{
	git_oid oid;
	int error;

	*out = NULL;
	if (hex == NULL) {
		if ((error = git_reference_name_to_id(&oid, h->repo, MAIN_REF)) < 0)
			return error == GIT_ENOTFOUND
				? cu_error_set(CU_ENOTFOUND, "history has no commit yet")
				: fail_git(error, "reading " MAIN_REF);
	} else if ((error = parse_oid(&oid, hex)) < 0) {
		return error;
	}
	if ((error = git_commit_lookup(out, h->repo, &oid)) < 0)
		return fail_git(error, "commit %s", hex != NULL ? hex : "at head");
	return 0;
}

/* "Anything there" means any directory entry: an empty folder (made by an
 * installer, say) is fine, a file or a non-empty folder is not. */
static int
check_empty(const char *path)
{
	struct dirent *de;
	DIR *d;
	int error = 0;

	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR)
			return cu_error_set(CU_EEXISTS, "%s: already exists", path);
		return cu_error_sys("%s", path);
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			error = cu_error_set(CU_EEXISTS, "%s: already exists and is not empty",
				path);
			break;
		}
	}
	if (de == NULL && errno != 0)
		error = cu_error_sys("%s", path);
	closedir(d);
	return error;
}

/* fsync() one file by name. */
static int
fsync_file(const char *path)
{
	int fd, error = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return cu_error_sys("%s", path);
	if (fsync(fd) < 0)
		error = cu_error_sys("fsync %s", path);
	close(fd);
	return error;
}

/* libgit2 fsyncs objects and refs, but not the files and folders that
 * git_repository_init creates; without this a crash soon after init
 * could leave a repository with an empty HEAD or config. */
static int
sync_new_repo(const char *path)
{
	static const char *const files[] = { "HEAD", "config" };
	static const char *const dirs[] = { "objects/pack", "objects", "refs/heads",
		"refs", "." };
	char buf[PATH_MAX_LEN + 32];
	int error;

	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", path, files[i]) >= sizeof(buf))
			return cu_error_set(CU_EINVALID, "%s: path too long", path);
		if ((error = fsync_file(buf)) < 0)
			return error;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", path, dirs[i]) >= sizeof(buf))
			return cu_error_set(CU_EINVALID, "%s: path too long", path);
		if ((error = cu_fsync_dir(buf)) < 0)
			return error;
	}
	/* and the folder that holds the new repository's name */
	if ((size_t)snprintf(buf, sizeof(buf), "%s/..", path) >= sizeof(buf))
		return cu_error_set(CU_EINVALID, "%s: path too long", path);
	return cu_fsync_dir(buf);
}

/* A bare repository whose HEAD names refs/heads/main, so that stock git
 * (log, fsck, clone) sees the ledger without options. */
int
cu_history_init(const char *path)
{
	git_repository_init_options opts;
	git_repository *repo = NULL;
	int error;

	if ((error = libgit2_ready()) < 0 || (error = check_empty(path)) < 0)
		return error;
	/* the _init functions rather than the _INIT macros, whose partial
	 * initialisers trip -Wmissing-field-initializers */
	if ((error = git_repository_init_options_init(&opts,
			GIT_REPOSITORY_INIT_OPTIONS_VERSION)) < 0)
		return fail_git(error, "%s: cannot create repository", path);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
		GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	opts.description = "custos record ledger";
	if ((error = git_repository_init_ext(&repo, path, &opts)) < 0)
		return fail_git(error, "%s: cannot create repository", path);
	git_repository_free(repo);
	return sync_new_repo(path);
}

/* Opens the repository and puts a fresh mempack in front of its odb; the
 * odb owns the backend, the handle keeps a pointer to read the batch's objects
 * back out of it and to reset it. */
int
cu_history_open(cu_history **out, const char *path)
{
	cu_history *h = NULL;
	git_odb_backend *mempack = NULL;
	int error;

	*out = NULL;
	if ((error = libgit2_ready()) < 0)
		return error;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = git_repository_open_bare(&h->repo, path)) < 0) {
		error = fail_git(error, "%s: cannot open repository", path);
		goto done;
	}
	if ((error = git_repository_odb(&h->odb, h->repo)) < 0) {
		error = fail_git(error, "%s: cannot open object database", path);
		goto done;
	}
	if ((error = git_mempack_new(&mempack)) < 0) {
		error = fail_git(error, "%s: cannot create in-memory object store", path);
		goto done;
	}
	if ((error = git_odb_add_backend(h->odb, mempack, 999)) < 0) {
		mempack->free(mempack);
		error = fail_git(error, "%s: cannot add in-memory object store", path);
		goto done;
	}
	h->mempack = mempack;
	*out = h;
	h = NULL;
done:
	cu_history_free(h);
	return error;
}

int
cu_history_clean_tmp(cu_history *h)
{
	char dir[PATH_MAX_LEN], path[PATH_MAX_LEN + 300];
	struct dirent *e;
	DIR *d;
	int error;

	if ((error = cu_pathf(dir, sizeof(dir), "%sobjects/pack", git_repository_path(h->repo))) < 0)
		return error;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : cu_error_sys("%s", dir);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "tmp_pack_", 9) != 0 && strncmp(e->d_name, "tmp_idx_", 8) != 0)
			continue;
		if (cu_pathf(path, sizeof(path), "%s/%s", dir, e->d_name) == 0 &&
		    unlink(path) < 0 && errno != ENOENT) {
			error = cu_error_sys("%s", path);
			break;
		}
	}
	closedir(d);
	return error;
}

/* Drops any objects still in memory and closes the repository; NULL is
 * allowed. */
void
cu_history_free(cu_history *h)
{
	if (h == NULL)
		return;
	if (h->mempack != NULL)
		git_mempack_reset(h->mempack);
	git_odb_free(h->odb);
	git_repository_free(h->repo);
	free(h);
}

/* Reads refs/heads/main afresh from disk each time (another handle or
 * process may have moved it). */
int
cu_history_head(char head[CU_OID_HEX], cu_history *h)
{
	git_oid oid;
	int error;

	if ((error = git_reference_name_to_id(&oid, h->repo, MAIN_REF)) < 0) {
		if (error == GIT_ENOTFOUND)
			return cu_error_set(CU_ENOTFOUND, "history has no commit yet");
		return fail_git(error, "reading " MAIN_REF);
	}
	git_oid_tostr(head, CU_OID_HEX, &oid);
	return 0;
}

/* The ids of the objects one batch wrote, to be packed. */
struct oidvec {
	git_oid *v;
	size_t n, cap;
};

/* Appends an id; CU_ERROR when out of memory. */
static int
oidvec_push(struct oidvec *o, const git_oid *oid)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 1024;
		git_oid *v = realloc(o->v, cap * sizeof(*v));

		if (v == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		o->v = v;
		o->cap = cap;
	}
	git_oid_cpy(&o->v[o->n++], oid);
	return 0;
}

/* One file of the batch after its blob is written. */
struct bentry {
	const char *path;
	git_oid     oid;
};

/* Byte order of paths, which is also git's tree order for full paths. */
static int
bentry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bentry *)a)->path, ((const struct bentry *)b)->path);
}

/* Paths are relative, '/'-separated, without empty, "." or ".."
 * components and without ".git" (which git refuses to check out). */
static int
check_path(const char *path)
{
	const char *p = path, *slash;
	size_t n;

	if (path == NULL || *path == '\0')
		return cu_error_set(CU_EINVALID, "empty path in history batch");
	if (strlen(path) > PATH_MAX_LEN)
		return cu_error_set(CU_EINVALID, "%.64s...: path too long", path);
	for (;;) {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    (n == 4 && strncasecmp(p, ".git", 4) == 0))
			return cu_error_set(CU_EINVALID, "%s: invalid path in history batch", path);
		if (n > NAME_MAX_LEN)
			return cu_error_set(CU_EINVALID, "%s: path component too long", path);
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

/* State shared by the recursive tree build of one batch. */
struct tree_ctx {
	git_repository *repo;
	struct bentry  *e;
	struct oidvec  *written;
};

/*
 * Builds the tree for the folder whose paths start with the first plen
 * bytes of e[lo].path, from the existing tree `base` (NULL if the folder
 * is new) plus entries e[lo..hi), and writes it bottom-up.  The entries are
 * sorted with strcmp, and all paths that share a prefix are contiguous in
 * that order, so each subfolder is one sub-range and only folders that the
 * batch touches are read or rewritten.
 */
static int
build_tree(git_oid *out, struct tree_ctx *ctx, size_t lo, size_t hi, size_t plen,
	const git_tree *base)
{
	git_treebuilder *bld = NULL;
	git_tree *sub = NULL;
	int error;

	if ((error = git_treebuilder_new(&bld, ctx->repo, base)) < 0) {
		error = fail_git(error, "cannot start tree");
		goto done;
	}
	for (size_t i = lo; i < hi; ) {
		const char *path = ctx->e[i].path, *rest = path + plen;
		const char *slash = strchr(rest, '/');
		const git_tree_entry *old;

		if (slash == NULL) {
			old = git_treebuilder_get(bld, rest);
			if (old != NULL && git_tree_entry_type(old) == GIT_OBJECT_TREE) {
				error = cu_error_set(CU_EINVALID, "%s: a folder of that name exists", path);
				goto done;
			}
			if ((error = git_treebuilder_insert(NULL, bld, rest, &ctx->e[i].oid,
					GIT_FILEMODE_BLOB)) < 0) {
				error = fail_git(error, "%s", path);
				goto done;
			}
			i++;
		} else {
			size_t clen = (size_t)(slash - rest), sublen = plen + clen + 1, j;
			char name[NAME_MAX_LEN + 1];
			git_oid suboid;

			memcpy(name, rest, clen);
			name[clen] = '\0';
			for (j = i + 1; j < hi && strncmp(ctx->e[j].path, path, sublen) == 0; j++)
				;
			old = git_treebuilder_get(bld, name);
			if (old != NULL) {
				if (git_tree_entry_type(old) != GIT_OBJECT_TREE) {
					error = cu_error_set(CU_EINVALID, "%.*s: a file of that name exists",
						(int)(plen + clen), path);
					goto done;
				}
				if ((error = git_tree_lookup(&sub, ctx->repo, git_tree_entry_id(old))) < 0) {
					error = fail_git(error, "tree %.*s", (int)(plen + clen), path);
					goto done;
				}
			}
			if ((error = build_tree(&suboid, ctx, i, j, sublen, sub)) < 0)
				goto done;
			git_tree_free(sub);
			sub = NULL;
			if ((error = git_treebuilder_insert(NULL, bld, name, &suboid,
					GIT_FILEMODE_TREE)) < 0) {
				error = fail_git(error, "%.*s", (int)(plen + clen), path);
				goto done;
			}
			i = j;
		}
	}
	if ((error = git_treebuilder_write(out, bld)) < 0) {
		error = fail_git(error, "cannot write tree");
		goto done;
	}
	error = oidvec_push(ctx->written, out);
done:
	git_tree_free(sub);
	git_treebuilder_free(bld);
	return error;
}

/*
 * The pack of one batch and its index, written by hand in git's formats
 * (gitformat-pack(5)).  The pack, version 2: "PACK", version, object count,
 * then each object as a type-and-size header and its zlib-format deflated
 * bytes, then the SHA-1 of everything before.  Objects are stored whole,
 * never as deltas.  The index, version 2: a fan-out table, the sorted
 * object ids, the CRC-32 of each object's packed bytes, their offsets, then
 * the pack's SHA-1 and the SHA-1 of the index itself.
 *
 * Why not git_mempack_dump: in libgit2 1.5 it inserts each commit with
 * git_packbuilder_insert_commit, which walks the commit's entire tree, so
 * every batch's pack would repeat every object of the ledger (measured:
 * packs of 1.2, 2.5, 3.7, 5.0 MB for four equal batches, and 6,400
 * files/s by the fourth).  Why not a git_packbuilder with just the new
 * objects: its delta search cannot be switched off through the API, and it
 * grew to more than half of the batch time, because each batch rewrites
 * the 256 fan-out trees, which grow with the ledger, and the packbuilder
 * tries each against ten others.  Deltas could only be taken against
 * objects of the same pack anyway (a pack on disk must not be thin), so
 * they saved little here; `git repack` can deltify offline.
 *
 * Why not the odb's pack writer (libgit2's indexer) for the index: it
 * inflates and hashes every object again to learn what the writer already
 * knows — each object's id, offset and CRC-32 — and cost a third of the
 * pack's time (measured on 10,000 receipts: 92 of 264 ms).
 *
 * Why libdeflate and not zlib: records are small (about 700 bytes), and
 * zlib's per-stream set-up dominated; zlib's Huffman-only mode took 15.6 µs
 * per record and compressed to 77 %, libdeflate's level 1 takes 6 µs and
 * compresses to 73 % (measured on 10,000 receipt documents).
 */
#define PACK_CHUNK (1024 * 1024)

struct pack_entry {
	git_oid  oid;
	uint64_t offset;
	uint32_t crc;
};

struct pack_out {
	int                  fd;
	const char          *path;      /* for messages */
	EVP_MD_CTX          *sha1;      /* the pack trailer */
	unsigned char       *buf;
	size_t               len;
	uint64_t             offset;    /* bytes of the pack so far */
};

/* Writes the gathered bytes to the pack file. */
static int
pack_flush(struct pack_out *po)
{
	int error = 0;

	if (po->len > 0 && (error = cu_write_all(po->fd, po->buf, po->len)) < 0)
		cu_error_prefix(error, "%s", po->path);
	po->len = 0;
	return error;
}

/* Appends bytes to the pack, hashing them for the trailer. */
static int
pack_put(struct pack_out *po, const void *data, size_t size)
{
	const unsigned char *p = data;
	int error;

	if (EVP_DigestUpdate(po->sha1, data, size) != 1)
		return cu_error_set(CU_ERROR, "SHA-1 failed");
	po->offset += size;
	if (size >= PACK_CHUNK) {
		if ((error = pack_flush(po)) < 0)
			return error;
		if ((error = cu_write_all(po->fd, data, size)) < 0)
			cu_error_prefix(error, "%s", po->path);
		return error;
	}
	if (PACK_CHUNK - po->len < size && (error = pack_flush(po)) < 0)
		return error;
	memcpy(po->buf + po->len, p, size);
	po->len += size;
	return 0;
}

/* One object of the pack: read out of the mempack, then compressed (by
 * whichever thread takes it), then written in id order. */
struct pack_obj {
	void          *data;        /* mempack's copy of the object */
	size_t         len;
	git_object_t   type;
	unsigned char  hdr[16];     /* type and size */
	size_t         hlen;
	unsigned char *z;           /* zlib-format deflated data */
	size_t         zlen;
	uint32_t       crc;         /* CRC-32 of hdr and z, for the index */
};

/* The header (type in bits 4-6 of the first byte, the size in
 * little-endian groups of 4 then 7 bits, high bit = more follows), the
 * deflated data, and the CRC-32 of both.  0, or -1 (out of memory). */
static int
compress_object(struct pack_obj *o, struct libdeflate_compressor *c)
{
	size_t n = 0, sz = o->len, bound;
	unsigned char b = (unsigned char)(((unsigned)o->type << 4) | (sz & 15));

	for (sz >>= 4; sz > 0; sz >>= 7) {
		o->hdr[n++] = b | 0x80;
		b = sz & 0x7f;
	}
	o->hdr[n++] = b;
	o->hlen = n;
	bound = libdeflate_zlib_compress_bound(c, o->len);
	if ((o->z = malloc(bound)) == NULL)
		return -1;
	if ((o->zlen = libdeflate_zlib_compress(c, o->data, o->len, o->z, bound)) == 0)
		return -1;
	o->crc = libdeflate_crc32(libdeflate_crc32(0, o->hdr, n), o->z, o->zlen);
	return 0;
}

/* A share of the objects [from, to) for one thread, with its own
 * compressor; failed is set if any could not be compressed. */
struct pack_share {
	struct pack_obj *obj;
	size_t           from, to;
	int              failed;
};

static void *
compress_share(void *arg)
{
	struct pack_share *sh = arg;
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);

	if (c == NULL) {
		sh->failed = 1;
		return NULL;
	}
	for (size_t i = sh->from; i < sh->to && !sh->failed; i++)
		if (compress_object(&sh->obj[i], c) < 0)
			sh->failed = 1;
	libdeflate_free_compressor(c);
	return NULL;
}

/* Compresses every object, on two threads when the machine has two
 * cores or more: the shares are cut at half of the bytes (a batch's
 * trees can be large), and the calling thread takes the first. */
static int
compress_all(struct pack_obj *obj, size_t n)
{
	struct pack_share sh[2] = { { obj, 0, n, 0 }, { obj, n, n, 0 } };
	size_t total = 0, acc = 0;
	pthread_t th;
	int threaded = 0;

	for (size_t i = 0; i < n; i++)
		total += obj[i].len;
	if (n > 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		size_t cut = 0;

		while (cut < n && acc + obj[cut].len <= total / 2)
			acc += obj[cut++].len;
		sh[0].to = sh[1].from = cut;
		threaded = pthread_create(&th, NULL, compress_share, &sh[1]) == 0;
		if (!threaded)
			sh[0].to = n;
	}
	compress_share(&sh[0]);
	if (threaded)
		pthread_join(th, NULL);
	if (sh[0].failed || sh[1].failed)
		return cu_error_set(CU_ERROR, "out of memory compressing the pack");
	return 0;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * The .idx of a pack (version 2) for entries sorted by id: "\377tOc", 2,
 * 256 cumulative counts by first byte, the ids, the CRC-32s, the offsets
 * (31 bits, or the high bit and an index into a table of 64-bit offsets),
 * the pack's trailer, and the SHA-1 of all of that.
 */
static int
idx_build(unsigned char **out, size_t *outlen, const struct pack_entry *e, size_t n,
	const unsigned char pack_sha1[20])
{
	size_t large = 0, len, off, k = 0;
	uint32_t fan[256] = { 0 };
	unsigned char *p;
	unsigned int mdlen = 0;

	for (size_t i = 0; i < n; i++) {
		fan[e[i].oid.id[0]]++;
		if (e[i].offset >= 0x80000000u)
			large++;
	}
	len = 8 + 256 * 4 + n * (20 + 4 + 4) + large * 8 + 20 + 20;
	if ((p = malloc(len)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memcpy(p, "\377tOc\0\0\0\2", 8);
	off = 8;
	for (uint32_t b = 0, sum = 0; b < 256; b++) {
		sum += fan[b];
		put_be32(p + off, sum);
		off += 4;
	}
	for (size_t i = 0; i < n; i++, off += 20)
		memcpy(p + off, e[i].oid.id, 20);
	for (size_t i = 0; i < n; i++, off += 4)
		put_be32(p + off, e[i].crc);
	for (size_t i = 0; i < n; i++, off += 4)
		put_be32(p + off, e[i].offset < 0x80000000u ? (uint32_t)e[i].offset :
			0x80000000u | (uint32_t)k++);
	for (size_t i = 0; i < n; i++) {
		if (e[i].offset < 0x80000000u)
			continue;
		put_be32(p + off, (uint32_t)(e[i].offset >> 32));
		put_be32(p + off + 4, (uint32_t)e[i].offset);
		off += 8;
	}
	memcpy(p + off, pack_sha1, 20);
	off += 20;
	if (EVP_Digest(p, off, p + off, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
		free(p);
		return cu_error_set(CU_ERROR, "SHA-1 failed");
	}
	*out = p;
	*outlen = len;
	return 0;
}

/* qsort order of object ids. */
static int
oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/*
 * Writes the objects of this batch that are in the mempack as one pack,
 * objects/pack/pack-<sha1>.pack, and its .idx: each first under a
 * temporary name, fsynced, mode 0444, then renamed (the pack before its
 * index, since git only looks at packs that have one), then the folder is
 * fsynced and the odb told to look again.  Ids the mempack does not hold
 * were already stored (libgit2 found them when the tree was written) and
 * are skipped.
 */
static int
write_pack(cu_history *h, struct oidvec *written)
{
	git_odb_backend *mp = h->mempack;
	struct pack_out po = { .fd = -1 };
	struct pack_entry *ent = NULL;
	struct pack_obj *obj = NULL;
	unsigned char hdr[12], trailer[EVP_MAX_MD_SIZE], *idx = NULL;
	char dir[PATH_MAX_LEN], tmp_pack[PATH_MAX_LEN], tmp_idx[PATH_MAX_LEN];
	char final[PATH_MAX_LEN], hex[41];
	size_t count = 0, u = 0, idxlen = 0;
	unsigned int tlen = 0;
	int error, idx_fd = -1;

	tmp_pack[0] = tmp_idx[0] = '\0';
	/* sort and drop repeats: one blob may back several files */
	qsort(written->v, written->n, sizeof(*written->v), oid_cmp);
	for (size_t i = 0; i < written->n; i++) {
		if (u > 0 && git_oid_equal(&written->v[u - 1], &written->v[i]))
			continue;
		git_oid_cpy(&written->v[u++], &written->v[i]);
	}
	written->n = u;
	for (size_t i = 0; i < written->n; i++)
		if (mp->exists(mp, &written->v[i]))
			count++;
	if (count > UINT32_MAX)
		return cu_error_set(CU_ELIMIT, "%zu objects are too many for one pack", count);
	if (count == 0)
		return 0;

	if ((error = cu_pathf(dir, sizeof(dir), "%sobjects/pack", git_repository_path(h->repo))) < 0 ||
	    (error = cu_pathf(tmp_pack, sizeof(tmp_pack), "%s/tmp_pack_XXXXXX", dir)) < 0)
		goto done;
	if ((ent = calloc(count, sizeof(*ent))) == NULL || (obj = calloc(count, sizeof(*obj))) == NULL ||
	    (po.buf = malloc(PACK_CHUNK)) == NULL || (po.sha1 = EVP_MD_CTX_new()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if (EVP_DigestInit_ex(po.sha1, EVP_sha1(), NULL) != 1) {
		error = cu_error_set(CU_ERROR, "SHA-1 unavailable");
		goto done;
	}
	if ((po.fd = mkstemp(tmp_pack)) < 0) {
		error = cu_error_sys("%s", tmp_pack);
		tmp_pack[0] = '\0';
		goto done;
	}
	po.path = tmp_pack;

	/* "PACK", version 2, object count; all big-endian */
	memcpy(hdr, "PACK\0\0\0\2", 8);
	put_be32(hdr + 8, (uint32_t)count);
	if ((error = pack_put(&po, hdr, sizeof(hdr))) < 0)
		goto done;
	u = 0;
	for (size_t i = 0; i < written->n; i++) {
		struct pack_obj *o = &obj[u];

		if ((error = mp->read(&o->data, &o->len, &o->type, mp, &written->v[i])) == GIT_ENOTFOUND)
			continue;
		if (error < 0) {
			error = fail_git(error, "cannot read new object");
			goto done;
		}
		git_oid_cpy(&ent[u].oid, &written->v[i]);
		if (++u == count)
			break;
	}
	if (u != count) {
		error = cu_error_set(CU_ERROR, "the in-memory store changed while packing");
		goto done;
	}
	if ((error = compress_all(obj, count)) < 0)
		goto done;
	for (size_t i = 0; i < count; i++) {
		ent[i].offset = po.offset;
		ent[i].crc = obj[i].crc;
		if ((error = pack_put(&po, obj[i].hdr, obj[i].hlen)) < 0 ||
		    (error = pack_put(&po, obj[i].z, obj[i].zlen)) < 0)
			goto done;
	}
	if (EVP_DigestFinal_ex(po.sha1, trailer, &tlen) != 1 || tlen != 20) {
		error = cu_error_set(CU_ERROR, "SHA-1 failed");
		goto done;
	}
	/* the trailer itself is not part of the hashed bytes */
	if ((error = pack_flush(&po)) < 0)
		goto done;
	if ((error = cu_write_all(po.fd, trailer, tlen)) < 0 ||
	    (fchmod(po.fd, 0444) < 0 && (error = cu_error_sys("%s", tmp_pack)) < 0) ||
	    (fsync(po.fd) < 0 && (error = cu_error_sys("%s: fsync", tmp_pack)) < 0))
		goto done;
	close(po.fd);
	po.fd = -1;

	if ((error = idx_build(&idx, &idxlen, ent, count, trailer)) < 0 ||
	    (error = cu_pathf(tmp_idx, sizeof(tmp_idx), "%s/tmp_idx_XXXXXX", dir)) < 0)
		goto done;
	if ((idx_fd = mkstemp(tmp_idx)) < 0) {
		error = cu_error_sys("%s", tmp_idx);
		tmp_idx[0] = '\0';
		goto done;
	}
	if ((error = cu_write_all(idx_fd, idx, idxlen)) < 0 ||
	    (fchmod(idx_fd, 0444) < 0 && (error = cu_error_sys("%s", tmp_idx)) < 0) ||
	    (fsync(idx_fd) < 0 && (error = cu_error_sys("%s: fsync", tmp_idx)) < 0))
		goto done;
	close(idx_fd);
	idx_fd = -1;

	cu_hex(hex, trailer, 20);
	if ((error = cu_pathf(final, sizeof(final), "%s/pack-%s.pack", dir, hex)) < 0)
		goto done;
	if (rename(tmp_pack, final) < 0) {
		error = cu_error_sys("%s", final);
		goto done;
	}
	tmp_pack[0] = '\0';
	if ((error = cu_pathf(final, sizeof(final), "%s/pack-%s.idx", dir, hex)) < 0)
		goto done;
	if (rename(tmp_idx, final) < 0) {
		error = cu_error_sys("%s", final);
		goto done;
	}
	tmp_idx[0] = '\0';
	if ((error = cu_fsync_dir(dir)) < 0)
		goto done;
	if ((error = git_odb_refresh(h->odb)) < 0)
		error = fail_git(error, "%s: cannot read the new pack", dir);
done:
	if (po.fd >= 0)
		close(po.fd);
	if (idx_fd >= 0)
		close(idx_fd);
	if (tmp_pack[0] != '\0' && error < 0)
		unlink(tmp_pack);
	if (tmp_idx[0] != '\0' && error < 0)
		unlink(tmp_idx);
	for (size_t i = 0; obj != NULL && i < count; i++) {
		if (obj[i].data != NULL)
			git_odb_backend_data_free(mp, obj[i].data);
		free(obj[i].z);
	}
	free(obj);
	EVP_MD_CTX_free(po.sha1);
	free(po.buf);
	free(idx);
	free(ent);
	return error;
}

/*
 * Writes a blob straight into the mempack backend.  git_blob_create_from_
 * buffer would go through git_odb_write, which first "freshens" the id in
 * every backend and, on a miss (that is, for every new object), re-scans
 * objects/pack and touches the would-be loose file: five or six system
 * calls per blob, measured at a fifth of a 10,000-file batch.  The cost of
 * skipping that check is that a blob already in an older pack is packed
 * again, which git tolerates and which content-addressed records make rare.
 */
static int
write_blob(git_oid *oid, cu_history *h, const void *data, size_t len)
{
	static const char empty[1];
	int error;

	if (data == NULL) {
		if (len > 0)
			return cu_error_set(CU_EINVALID, "no data for %zu bytes", len);
		data = empty;
	}
	if ((error = git_odb_hash(oid, data, len, GIT_OBJECT_BLOB)) < 0 ||
	    (error = h->mempack->write(h->mempack, oid, data, len, GIT_OBJECT_BLOB)) < 0)
		return fail_git(error, "cannot write blob");
	return 0;
}

/* git stores the message as given; a final newline is what git itself
 * writes and what `git log` expects. */
static char *
commit_message(const char *message)
{
	size_t n = message != NULL ? strlen(message) : 0;

	if (n > 0 && message[n - 1] == '\n')
		return cu_asprintf("%s", message);
	return cu_asprintf("%s\n", message != NULL ? message : "");
}

/*
 * The write path of one batch.  Everything before the ref update only
 * adds objects (first in memory, then one new pack); on any failure the
 * mempack is reset and nothing is visible, because only refs/heads/main
 * makes objects part of the ledger.
 */
int
cu_history_commit(char new_head[CU_OID_HEX], cu_history *h,
	const cu_history_file *files, size_t nfiles, const char *message,
	const char *ident_name, const char *ident_email, const cu_signer *signer)
{
	struct bentry *e = NULL;
	struct oidvec written = { 0 };
	struct tree_ctx ctx;
	git_reference *ref = NULL;
	git_signature *ident = NULL;
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_buf text = GIT_BUF_INIT_CONST(NULL, 0);
	git_oid parent_oid, tree_oid, commit_oid;
	char *armored = NULL, *msg = NULL;
	int error, have_parent = 0;

	if (nfiles > 0 && (e = calloc(nfiles, sizeof(*e))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (size_t i = 0; i < nfiles; i++) {
		if ((error = check_path(files[i].path)) < 0)
			goto done;
		e[i].path = files[i].path;
	}

	/* The head this batch builds on; the same value is the expected old
	 * value of the compare-and-swap below. */
	error = git_reference_name_to_id(&parent_oid, h->repo, MAIN_REF);
	if (error == 0) {
		have_parent = 1;
		if ((error = git_commit_lookup(&parent, h->repo, &parent_oid)) < 0 ||
		    (error = git_commit_tree(&base, parent)) < 0) {
			error = fail_git(error, "reading the head commit");
			goto done;
		}
	} else if (error != GIT_ENOTFOUND) {
		error = fail_git(error, "reading " MAIN_REF);
		goto done;
	}

	for (size_t i = 0; i < nfiles; i++) {
		if ((error = write_blob(&e[i].oid, h, files[i].data, files[i].len)) < 0) {
			cu_error_prefix(error, "%s", files[i].path);
			goto done;
		}
		if ((error = oidvec_push(&written, &e[i].oid)) < 0)
			goto done;
	}
	if (nfiles > 1)
		qsort(e, nfiles, sizeof(*e), bentry_cmp);
	for (size_t i = 1; i < nfiles; i++) {
		if (strcmp(e[i - 1].path, e[i].path) == 0) {
			error = cu_error_set(CU_EINVALID, "%s: twice in one batch", e[i].path);
			goto done;
		}
	}
	ctx = (struct tree_ctx){ h->repo, e, &written };
	if ((error = build_tree(&tree_oid, &ctx, 0, nfiles, 0, base)) < 0)
		goto done;
	if ((error = git_tree_lookup(&tree, h->repo, &tree_oid)) < 0) {
		error = fail_git(error, "reading the new tree");
		goto done;
	}

	if ((msg = commit_message(message)) == NULL) {
		error = cu_error_code();
		goto done;
	}
	if ((error = git_signature_now(&ident, ident_name, ident_email)) < 0) {
		error = fail_git(error, "identity \"%s <%s>\"", ident_name, ident_email);
		goto done;
	}
	if ((error = git_commit_create_buffer(&text, h->repo, ident, ident, NULL, msg,
			tree, have_parent ? 1 : 0,
			have_parent ? (const git_commit **)&parent : NULL)) < 0) {
		error = fail_git(error, "cannot create commit");
		goto done;
	}
	/* the signature covers exactly the bytes git will strip the gpgsig
	 * header back to when it verifies */
	if ((error = cu_sshsig_sign(&armored, signer, "git", text.ptr, text.size)) < 0)
		goto done;
	if ((error = git_commit_create_with_signature(&commit_oid, h->repo, text.ptr,
			armored, NULL)) < 0) {
		error = fail_git(error, "cannot write signed commit");
		goto done;
	}
	if ((error = oidvec_push(&written, &commit_oid)) < 0)
		goto done;

	if ((error = write_pack(h, &written)) < 0)
		goto done;

	if (cu_history_test_before_publish != NULL)
		cu_history_test_before_publish(h, cu_history_test_payload);

	/* The commit point.  With a parent, the ref must still hold it
	 * (libgit2 compares under the ref's lock file); for the first commit
	 * the ref must still not exist. */
	if (have_parent)
		error = git_reference_create_matching(&ref, h->repo, MAIN_REF, &commit_oid, 1,
			&parent_oid, NULL);
	else
		error = git_reference_create(&ref, h->repo, MAIN_REF, &commit_oid, 0, NULL);
	if (error == GIT_EMODIFIED || error == GIT_EEXISTS) {
		error = cu_error_set(CU_ECONFLICT,
			MAIN_REF " moved while the batch was being written; nothing published");
		goto done;
	}
	if (error < 0) {
		error = fail_git(error, "cannot update " MAIN_REF);
		goto done;
	}
	git_oid_tostr(new_head, CU_OID_HEX, &commit_oid);
done:
	/* On success the objects are in the new pack; on failure this is the
	 * undo.  Either way the memory store starts empty next time. */
	git_mempack_reset(h->mempack);
	git_reference_free(ref);
	git_signature_free(ident);
	git_buf_dispose(&text);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	free(armored);
	free(msg);
	free(written.v);
	free(e);
	return error;
}

/* Looks the path up in the commit's tree; a folder is not a file, so it
 * is CU_ENOTFOUND like a missing path. */
int
cu_history_read(char **out, size_t *len, cu_history *h, const char *at,
	const char *path)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	size_t n;
	char *buf;
	int error;

	*out = NULL;
	*len = 0;
	if ((error = lookup_commit(&commit, h, at)) < 0)
		goto done;
	if ((error = git_commit_tree(&tree, commit)) < 0) {
		error = fail_git(error, "reading tree");
		goto done;
	}
	if ((error = git_tree_entry_bypath(&entry, tree, path)) < 0) {
		if (error == GIT_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s: not in history", path);
		else
			error = fail_git(error, "%s", path);
		goto done;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		error = cu_error_set(CU_ENOTFOUND, "%s: a folder, not a file", path);
		goto done;
	}
	if ((error = git_blob_lookup(&blob, h->repo, git_tree_entry_id(entry))) < 0) {
		error = fail_git(error, "%s", path);
		goto done;
	}
	n = (size_t)git_blob_rawsize(blob);
	if ((buf = malloc(n + 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	memcpy(buf, git_blob_rawcontent(blob), n);
	buf[n] = '\0';
	*out = buf;
	*len = n;
done:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(commit);
	return error;
}

/*
 * Sets up a walk over from (exclusive) .. head (inclusive) in the given
 * order.  `from` must be the head or one of its ancestors: anything else
 * means the caller's state belongs to another history, and replaying it
 * would be wrong.  *walk is NULL (and the return 0) when there is nothing
 * to walk.
 */
static int
walk_since(git_revwalk **walk, cu_history *h, const char *from, unsigned int sort)
{
	git_oid head, base;
	int error;

	*walk = NULL;
	if (from != NULL && (error = parse_oid(&base, from)) < 0)
		return error;
	if ((error = git_reference_name_to_id(&head, h->repo, MAIN_REF)) < 0) {
		if (error != GIT_ENOTFOUND)
			return fail_git(error, "reading " MAIN_REF);
		if (from != NULL)
			return cu_error_set(CU_ENOTFOUND, "commit %s: history has no commit yet",
				from);
		return 0;
	}
	if (from != NULL) {
		git_commit *c = NULL;

		if (git_oid_equal(&head, &base))
			return 0;
		/* git_graph_descendant_of reports a missing commit as a generic
		 * error; look it up first for a proper CU_ENOTFOUND */
		if ((error = git_commit_lookup(&c, h->repo, &base)) < 0)
			return fail_git(error, "commit %s", from);
		git_commit_free(c);
		if ((error = git_graph_descendant_of(h->repo, &head, &base)) < 0)
			return fail_git(error, "commit %s", from);
		if (error == 0)
			return cu_error_set(CU_ENOTFOUND, "commit %s is not in the history of "
				MAIN_REF, from);
	}
	if ((error = git_revwalk_new(walk, h->repo)) < 0)
		return fail_git(error, "cannot walk history");
	if ((error = git_revwalk_sorting(*walk, sort)) < 0 ||
	    (error = git_revwalk_push(*walk, &head)) < 0 ||
	    (from != NULL && (error = git_revwalk_hide(*walk, &base)) < 0)) {
		error = fail_git(error, "cannot walk history");
		git_revwalk_free(*walk);
		*walk = NULL;
		return error;
	}
	return 0;
}

/* Reads one changed blob into a reusable NUL-terminated buffer (callers
 * of the replay parse JSON and may treat the bytes as a string). */
struct replay_buf {
	char  *p;
	size_t cap;
};

/* Calls cb for each file that commit oid added or changed against its
 * first parent (all files for the root commit), in path order.  Returns
 * cb's non-zero value as is. */
static int
replay_commit(cu_history *h, const git_oid *oid, struct replay_buf *rb,
	cu_history_file_cb cb, void *payload)
{
	git_diff_options opts;
	git_commit *commit = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	git_diff *diff = NULL;
	git_blob *blob = NULL;
	char hex[CU_OID_HEX];
	size_t ndeltas;
	int error;

	git_oid_tostr(hex, sizeof(hex), oid);
	if ((error = git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION)) < 0 ||
	    (error = git_commit_lookup(&commit, h->repo, oid)) < 0 ||
	    (error = git_commit_tree(&tree, commit)) < 0) {
		error = fail_git(error, "commit %s", hex);
		goto done;
	}
	if (git_commit_parentcount(commit) > 0 &&
	    ((error = git_commit_parent(&parent, commit, 0)) < 0 ||
	     (error = git_commit_tree(&ptree, parent)) < 0)) {
		error = fail_git(error, "parent of commit %s", hex);
		goto done;
	}
	/* tree-to-tree only compares ids, so unchanged folders are skipped;
	 * no content is examined */
	opts.flags |= GIT_DIFF_SKIP_BINARY_CHECK;
	if ((error = git_diff_tree_to_tree(&diff, h->repo, ptree, tree, &opts)) < 0) {
		error = fail_git(error, "diff of commit %s", hex);
		goto done;
	}
	ndeltas = git_diff_num_deltas(diff);
	for (size_t i = 0; i < ndeltas; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		size_t n;

		if (d->status != GIT_DELTA_ADDED && d->status != GIT_DELTA_MODIFIED &&
		    d->status != GIT_DELTA_TYPECHANGE)
			continue;
		if (d->new_file.mode != GIT_FILEMODE_BLOB &&
		    d->new_file.mode != GIT_FILEMODE_BLOB_EXECUTABLE)
			continue;
		if ((error = git_blob_lookup(&blob, h->repo, &d->new_file.id)) < 0) {
			error = fail_git(error, "%s in commit %s", d->new_file.path, hex);
			goto done;
		}
		n = (size_t)git_blob_rawsize(blob);
		if (n == SIZE_MAX) {
			error = cu_error_set(CU_ELIMIT, "%s: too large", d->new_file.path);
			goto done;
		}
		if (rb->p == NULL || n + 1 > rb->cap) {
			char *p = realloc(rb->p, n + 1);

			if (p == NULL) {
				error = cu_error_set(CU_ERROR, "out of memory");
				goto done;
			}
			rb->p = p;
			rb->cap = n + 1;
		}
		memcpy(rb->p, git_blob_rawcontent(blob), n);
		rb->p[n] = '\0';
		git_blob_free(blob);
		blob = NULL;
		if ((error = cb(hex, d->new_file.path, rb->p, n, payload)) != 0)
			goto done;
	}
done:
	git_blob_free(blob);
	git_diff_free(diff);
	git_tree_free(ptree);
	git_tree_free(tree);
	git_commit_free(parent);
	git_commit_free(commit);
	return error;
}

/* Oldest first, so an index rebuilt by the callbacks ends up in the
 * state of the head. */
int
cu_history_replay(cu_history *h, const char *from, cu_history_file_cb cb,
	void *payload)
{
	git_revwalk *walk = NULL;
	struct replay_buf rb = { 0 };
	git_oid oid;
	int error;

	if ((error = walk_since(&walk, h, from,
			GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0 || walk == NULL)
		return error;
	while ((error = git_revwalk_next(&oid, walk)) == 0) {
		if ((error = replay_commit(h, &oid, &rb, cb, payload)) != 0)
			goto done;
	}
	if (error == GIT_ITEROVER)
		error = 0;
	else
		error = fail_git(error, "walking history");
done:
	free(rb.p);
	git_revwalk_free(walk);
	return error;
}

/* Same walk as the replay, counting only. */
int
cu_history_count_since(size_t *n, cu_history *h, const char *from)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	size_t count = 0;
	int error;

	*n = 0;
	/* the order is irrelevant here, and an unsorted walk avoids the
	 * topological sort's extra pass */
	if ((error = walk_since(&walk, h, from, GIT_SORT_NONE)) < 0 || walk == NULL)
		return error;
	while ((error = git_revwalk_next(&oid, walk)) == 0)
		count++;
	if (error != GIT_ITEROVER) {
		error = fail_git(error, "walking history");
		goto done;
	}
	error = 0;
	*n = count;
done:
	git_revwalk_free(walk);
	return error;
}

/* The raw object bytes, gpgsig header included, so a caller can check
 * the signature independently of git. */
int
cu_history_commit_text(char **out, size_t *len, cu_history *h, const char *id)
{
	git_odb_object *obj = NULL;
	git_oid oid;
	size_t n;
	char *buf;
	int error;

	*out = NULL;
	*len = 0;
	if ((error = parse_oid(&oid, id)) < 0)
		return error;
	if ((error = git_odb_read(&obj, h->odb, &oid)) < 0)
		return fail_git(error, "commit %s", id);
	if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT) {
		error = cu_error_set(CU_EINVALID, "%s: not a commit", id);
		goto done;
	}
	n = git_odb_object_size(obj);
	if ((buf = malloc(n + 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	memcpy(buf, git_odb_object_data(obj), n);
	buf[n] = '\0';
	*out = buf;
	*len = n;
done:
	git_odb_object_free(obj);
	return error;
}

/* Reads the whole first-parent chain from the head (newest first) before
 * calling back, so a merge anywhere in it is refused before cb sees
 * anything; then calls back from the root. */
int
cu_history_walk(cu_history *h, cu_history_commit_cb cb, void *payload)
{
	struct oidvec chain = { 0 };
	git_commit *commit = NULL;
	char hex[CU_OID_HEX], parent[CU_OID_HEX];
	unsigned int nparents;
	git_oid oid;
	int error;

	if ((error = git_reference_name_to_id(&oid, h->repo, MAIN_REF)) < 0) {
		if (error == GIT_ENOTFOUND)
			return cu_error_set(CU_ENOTFOUND, "history has no commit yet");
		return fail_git(error, "reading " MAIN_REF);
	}
	for (;;) {
		if ((error = oidvec_push(&chain, &oid)) < 0)
			goto done;
		if ((error = git_commit_lookup(&commit, h->repo, &oid)) < 0) {
			/* a commit the chain names but the store lacks is damage,
			 * not an empty history */
			git_oid_tostr(hex, sizeof(hex), &oid);
			error = fail_git(error == GIT_ENOTFOUND ? GIT_ERROR : error,
				"history: commit %s cannot be read", hex);
			goto done;
		}
		nparents = git_commit_parentcount(commit);
		if (nparents == 0)
			break;
		if (nparents > 1) {
			git_oid_tostr(hex, sizeof(hex), &oid);
			error = cu_error_set(CU_EINVALID,
				"history: commit %s has %u parents (custos never merges)",
				hex, nparents);
			goto done;
		}
		git_oid_cpy(&oid, git_commit_parent_id(commit, 0));
		git_commit_free(commit);
		commit = NULL;
	}
	for (size_t i = chain.n; i-- > 0;) {
		git_oid_tostr(hex, sizeof(hex), &chain.v[i]);
		if (i + 1 < chain.n)
			git_oid_tostr(parent, sizeof(parent), &chain.v[i + 1]);
		else
			parent[0] = '\0';
		if ((error = cb(hex, parent, chain.n - 1 - i, payload)) != 0)
			goto done;
	}
done:
	git_commit_free(commit);
	free(chain.v);
	return error;
}

/* Consumes n bytes equal to s from the front of [*p, end). */
static int
take(const char **p, const char *end, const char *s, size_t n)
{
	if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/*
 * True if the stored commit raw[0..rawlen) is exactly what
 * git_commit_create_with_signature writes from the signed data and the
 * signature: the header, then "gpgsig " and the signature with every
 * further line indented by one space, then the blank line and the message.
 * git_commit_extract_signature alone does not ensure this: it takes the
 * first line starting "gpgsig " anywhere (the message included), drops
 * "gpgsig" from lines like "gpgsig-sha256 …" and stops at a NUL byte, so
 * its signed data can differ from the commit that git reads.
 */
static int
signature_in_place(const char *raw, size_t rawlen, const git_buf *sig,
	const git_buf *data)
{
	const char *p = raw, *end = raw + rawlen, *s = sig->ptr, *hend, *nl;
	size_t left = sig->size, hlen, n;

	if (data->ptr == NULL || sig->ptr == NULL ||
	    (hend = memmem(data->ptr, data->size, "\n\n", 2)) == NULL)
		return 0;
	hlen = (size_t)(hend - data->ptr) + 1;       /* the header's last LF */
	if (!take(&p, end, data->ptr, hlen) || !take(&p, end, "gpgsig ", 7))
		return 0;
	while (left > 0) {
		nl = memchr(s, '\n', left);
		n = nl != NULL ? (size_t)(nl - s) : left;
		if (!take(&p, end, s, n))
			return 0;
		if (nl == NULL)
			break;
		if (!take(&p, end, "\n ", 2))
			return 0;
		s += n + 1;
		left -= n + 1;
	}
	return take(&p, end, "\n", 1) &&
		take(&p, end, data->ptr + hlen, data->size - hlen) && p == end;
}

/* Whether the key is the archive's is for the caller to decide; this only
 * establishes who signed, and that the signature covers the commit as git
 * reads it. */
int
cu_history_check_signature(unsigned char signer[CU_ED25519_PUB], cu_history *h,
	const char *commit)
{
	git_buf field = GIT_BUF_INIT, sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	unsigned char pub[CU_ED25519_PUB];
	git_odb_object *obj = NULL;
	git_commit *c = NULL;
	git_oid oid;
	int error;

	memset(signer, 0, CU_ED25519_PUB);
	if ((error = parse_oid(&oid, commit)) < 0 ||
	    (error = lookup_commit(&c, h, commit)) < 0)
		goto done;
	/* only the header counts: a "gpgsig" line in the message is text */
	if ((error = git_commit_header_field(&field, c, "gpgsig")) < 0) {
		if (error == GIT_ENOTFOUND)
			error = cu_error_set(CU_EINVALID, "commit %s: no signature", commit);
		else
			error = fail_git(error, "commit %s", commit);
		goto done;
	}
	if ((error = git_commit_extract_signature(&sig, &data, h->repo, &oid, NULL)) < 0) {
		if (error == GIT_ENOTFOUND)
			error = cu_error_set(CU_EINVALID, "commit %s: no signature", commit);
		else
			error = cu_error_set(CU_EINVALID, "commit %s: bad signature: %s", commit,
				git_error_last() != NULL && git_error_last()->message != NULL
				? git_error_last()->message : "cannot extract it");
		goto done;
	}
	if ((error = git_odb_read(&obj, h->odb, &oid)) < 0) {
		error = fail_git(error, "commit %s", commit);
		goto done;
	}
	if (!signature_in_place(git_odb_object_data(obj), git_odb_object_size(obj),
			&sig, &data)) {
		error = cu_error_set(CU_EINVALID, "commit %s: bad signature: the gpgsig "
			"header is repeated, misplaced or malformed", commit);
		goto done;
	}
	if ((error = cu_sshsig_verify(pub, sig.ptr, "git", data.ptr, data.size)) < 0) {
		if (error == CU_EINVALID)
			error = cu_error_prefix(CU_EINVALID, "commit %s: bad signature", commit);
		else
			error = cu_error_prefix(error, "commit %s", commit);
		goto done;
	}
	memcpy(signer, pub, CU_ED25519_PUB);
done:
	git_odb_object_free(obj);
	git_buf_dispose(&data);
	git_buf_dispose(&sig);
	git_buf_dispose(&field);
	git_commit_free(c);
	return error;
}

/* snprintf truncates to outsz; ids are 64 hex digits, paths 80 bytes. */
void
cu_history_path(char *out, size_t outsz, const char *dir, const char *id_hex)
{
	size_t n = strlen(id_hex);

	snprintf(out, outsz, "%s/%.2s/%s.json", dir, id_hex, id_hex + (n < 2 ? n : 2));
}

struct list_ctx {
	const char *prefix;
	size_t plen;
	cu_history_path_cb cb;
	void *payload;
	int error;
};

static int
list_entry(const char *root, const git_tree_entry *entry, void *payload)
{
	struct list_ctx *lc = payload;
	char path[1024];

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(entry)) >=
	    sizeof(path))
		return 0;
	if (strncmp(path, lc->prefix, lc->plen) != 0)
		return 0;
	if ((lc->error = lc->cb(path, lc->payload)) != 0)
		return -1;   /* stops git_tree_walk */
	return 0;
}

/* Walks the head tree in git's order (pre-order: a folder's entries sorted
 * by name), calling cb for each file under prefix. */
int
cu_history_list(cu_history *h, const char *prefix, cu_history_path_cb cb, void *payload)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	struct list_ctx lc = { prefix, strlen(prefix), cb, payload, 0 };
	int error;

	if ((error = lookup_commit(&commit, h, NULL)) < 0)
		goto done;
	if ((error = git_commit_tree(&tree, commit)) < 0) {
		error = fail_git(error, "reading tree");
		goto done;
	}
	error = git_tree_walk(tree, GIT_TREEWALK_PRE, list_entry, &lc);
	if (lc.error != 0)
		error = lc.error;
	else if (error < 0)
		error = fail_git(error, "walking the tree");
done:
	git_tree_free(tree);
	git_commit_free(commit);
	return error;
}
