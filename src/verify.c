/*
 * verify.c — custos verify: check the whole archive without trusting the
 * index (see cu_archive_verify in custos/archive.h and docs/verify.md).
 *
 * One pass over the objects (every loose file and pack member re-hashed),
 * one over the commits (signatures), one over every file of the history in
 * commit order, recomputing the Merkle log from the documents with a
 * frontier of at most 64 hashes, and comparing the index with what the
 * history says.  Memory stays flat as the archive grows: nothing is kept
 * per object or per record (a record's object is found on disk or through
 * the index and checked); only when the counts disagree does a second pass
 * gather the record paths and ids to name what is missing or extra.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/mlog.h"
#include "custos/note.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

/* ---- the run ---------------------------------------------------------------- */

struct cls {
	char key[96];
	uint32_t last;
};

struct pending {
	char ref[128];
	char id[65];
	char message[160];
};

struct vleaf {
	uint64_t index;
	unsigned char hash[CU_MLOG_HASH];
};

struct vctx {
	unsigned char (*damaged)[32];  /* objects that failed their digest (few) */
	size_t ndamaged;
	int collect;                /* second pass: gather record paths and ids */
	cu_archive *a;
	cu_verify_cb cb;
	void *payload;
	cu_verify_report *r;
	unsigned char pub[CU_ED25519_PUB];
	cu_index_txn *t;            /* a read snapshot of the index */
	/* the recomputed log: perfect subtrees on its right edge */
	unsigned char frontier[64][CU_MLOG_HASH];
	uint64_t size;
	/* the commit whose files are arriving */
	char commit[CU_OID_HEX];
	struct vleaf *leaves;
	size_t nleaves, capleaves;
	int has_ckpt;
	uint64_t ckpt_size;
	unsigned char ckpt_root[CU_MLOG_HASH];
	uint64_t last_ckpt_size;
	struct cls *classes;
	size_t nclasses;
	unsigned char (*ids)[32];   /* records of the history, for the index check */
	size_t nids, capids;
	char **paths;               /* where the history put each record */
	size_t npaths, cappaths;
	char **present;             /* marks for paths_sorted as the head tree is walked */
	char **paths_sorted;
	size_t tree_records;        /* record files in the head tree */
	unsigned char (*superseded)[32]; /* ids of revisions a later one replaced */
	size_t nsup, capsup;
	struct pending *pending;    /* index problems of records that may be superseded */
	size_t npending, cappending;
	/* a kept checkpoint, and the last run's log */
	int want_since, want_last;
	uint64_t since_size, last_size;
	unsigned char since_root[CU_MLOG_HASH], last_root[CU_MLOG_HASH];
	int history_broken;         /* a problem in the history or the log itself */
	int index_broken;
	/* disposition as the history tells it (docs/disposition.md) */
	size_t disposed_records;    /* records of approved destruction lists */
	long long holds;            /* holds added minus holds released */
};

/* Reports one problem; returns the callback's verdict (non-zero stops). */
static int
problem(struct vctx *v, const char *kind, const char *ref, const char *id, const char *commit,
	const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int
problem(struct vctx *v, const char *kind, const char *ref, const char *id, const char *commit,
	const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	cu_verify_problem p = { kind, ref, id, commit, msg };

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->r->problems++;
	if (strcmp(kind, "commit") == 0 || strcmp(kind, "checkpoint") == 0 ||
	    strcmp(kind, "log") == 0 || strcmp(kind, "record") == 0 || strcmp(kind, "event") == 0)
		v->history_broken = 1;
	if (strcmp(kind, "index") == 0)
		v->index_broken = 1;
	return v->cb ? v->cb(&p, v->payload) : 0;
}

/* The root of the recomputed log from its frontier. */
static int
frontier_root(unsigned char out[CU_MLOG_HASH], const struct vctx *v)
{
	int first = 1;

	if (v->size == 0)
		return cu_sha256(out, "", 0);
	for (unsigned k = 0; k < 64; k++) {
		if (!(v->size & (UINT64_C(1) << k)))
			continue;
		if (first) {
			memcpy(out, v->frontier[k], CU_MLOG_HASH);
			first = 0;
		} else if (cu_mlog_node_hash(out, v->frontier[k], out) < 0) {
			return CU_ERROR;
		}
	}
	return 0;
}

/* Appends a leaf to the recomputed log; notes the roots a kept checkpoint
 * and the last run ask about. */
static int
frontier_append(struct vctx *v, const unsigned char leaf[CU_MLOG_HASH])
{
	unsigned char h[CU_MLOG_HASH];
	unsigned k = 0;
	int error;

	memcpy(h, leaf, CU_MLOG_HASH);
	while (v->size & (UINT64_C(1) << k)) {
		if ((error = cu_mlog_node_hash(h, v->frontier[k], h)) < 0)
			return error;
		k++;
	}
	memcpy(v->frontier[k], h, CU_MLOG_HASH);
	v->size++;
	for (int w = 0; w < 2; w++) {
		int *want = w ? &v->want_last : &v->want_since;
		uint64_t size = w ? v->last_size : v->since_size;
		unsigned char *root = w ? v->last_root : v->since_root, got[CU_MLOG_HASH];
		if (*want && size == v->size) {
			if ((error = frontier_root(got, v)) < 0)
				return error;
			if (memcmp(got, root, CU_MLOG_HASH) != 0 &&
			    (error = problem(v, "log", NULL, NULL, NULL, w
				? "the log's first %llu leaves differ from what the last verify run "
				  "saw: the history was rewritten"
				: "the log's first %llu leaves do not match the kept checkpoint: the "
				  "history was rewritten", (unsigned long long)size)) != 0)
				return error;
			*want = 0;
		}
	}
	return 0;
}

/* ---- objects ------------------------------------------------------------------ */

/* Remembers an object that failed its digest, so that the records pointing
 * at it are not reported a second time. */
static int
note_damaged(struct vctx *v, const unsigned char digest[32])
{
	unsigned char (*p)[32] = realloc(v->damaged, (v->ndamaged + 1) * sizeof(*p));

	if (p == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	v->damaged = p;
	memcpy(v->damaged[v->ndamaged++], digest, 32);
	return 0;
}

static int
is_damaged(const struct vctx *v, const unsigned char digest[32])
{
	for (size_t i = 0; i < v->ndamaged; i++)
		if (memcmp(v->damaged[i], digest, 32) == 0)
			return 1;
	return 0;
}

/* Finds a record's content object without keeping a list of all objects:
 * a loose file, or the pack member the index points at, read and checked
 * against its name.  *size receives its size; CU_ENOTFOUND if absent. */
static int
find_object(uint64_t *size, struct vctx *v, const unsigned char digest[32])
{
	char path[4096], pack[256], *data = NULL;
	uint64_t off, sz;
	size_t len;
	struct stat st;

	if (cu_cas_loose_path(path, sizeof(path), v->a->cas, digest) == 0 && lstat(path, &st) == 0) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	cu_error_clear();
	if (v->t == NULL || cu_index_get_objloc(v->t, digest, pack, &off, &sz) < 0 ||
	    cu_cas_read_packed(&data, &len, v->a->cas, pack, off, sz, digest) < 0) {
		cu_error_clear();
		return CU_ENOTFOUND;
	}
	free(data);
	*size = sz;
	return 0;
}

/* An object that a disposal removed must be gone: one still on disk (the
 * removal did not complete, or a copy came back) is a problem. */
static int
check_removed(struct vctx *v, const unsigned char digest[32], const char *hex,
	const char *where)
{
	char *mark = NULL;
	json_t *m;
	int error;

	if (v->t == NULL || cu_index_get_mark(&mark, v->t, 'R', digest, 32) < 0) {
		cu_error_clear();
		return 0;
	}
	m = json_loads(mark, 0, NULL);
	error = problem(v, "object", NULL, hex, NULL, "disposed of by destruction list %s on %s "
		"but still present (%s)", arc_jstr(m, "list") ? arc_jstr(m, "list") : "?",
		arc_jstr(m, "at") ? arc_jstr(m, "at") : "?", where);
	json_decref(m);
	free(mark);
	return error;
}

/* 1 if the index marks the record's content disposed of. */
static int
is_disposed(struct vctx *v, const char *ref)
{
	if (v->t == NULL || ref == NULL)
		return 0;
	if (cu_index_get_mark(NULL, v->t, 'D', ref, strlen(ref)) == 0)
		return 1;
	cu_error_clear();
	return 0;
}

/* SHA-256 of size bytes of fd from offset, streamed. */
static int
hash_fd(unsigned char out[32], int fd, uint64_t offset, uint64_t size, uint64_t *hashed)
{
	static _Thread_local unsigned char buf[1 << 16];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t done = 0;
	int error = 0;

	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		error = cu_error_set(CU_ERROR, "SHA-256 context failed");
		goto done;
	}
	while (done < size) {
		size_t want = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		ssize_t got = pread(fd, buf, want, (off_t)(offset + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* shorter than it claims: hash what is there, the digest will differ */
			break;
		}
		if (!EVP_DigestUpdate(md, buf, (size_t)got)) {
			error = cu_error_set(CU_ERROR, "SHA-256 failed");
			goto done;
		}
		done += (uint64_t)got;
	}
	if (!EVP_DigestFinal_ex(md, out, NULL))
		error = cu_error_set(CU_ERROR, "SHA-256 failed");
	*hashed += done;
done:
	EVP_MD_CTX_free(md);
	return error;
}

/* The saved stat of an object file from the last full run, for --quick. */
struct vstate_file {
	char name[160];
	uint64_t size, mtime_ns, ino;
};

struct vstate {
	struct vstate_file *files;
	size_t n, cap;
	uint64_t log_size;
	unsigned char log_root[CU_MLOG_HASH];
	int has_log;
};

static int
vstate_add(struct vstate *s, const char *name, const struct stat *st)
{
	if (cu_grow(&s->files, &s->cap, s->n + 1, sizeof(*s->files)) < 0)
		return CU_ERROR;
	snprintf(s->files[s->n].name, sizeof(s->files[s->n].name), "%s", name);
	s->files[s->n].size = (uint64_t)st->st_size;
	s->files[s->n].mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL +
		(uint64_t)st->st_mtim.tv_nsec;
	s->files[s->n].ino = (uint64_t)st->st_ino;
	s->n++;
	return 0;
}

static int
vstate_unchanged(const struct vstate *s, const char *name, const struct stat *st)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->files[i].name, name) == 0)
			return s->files[i].size == (uint64_t)st->st_size &&
				s->files[i].ino == (uint64_t)st->st_ino &&
				s->files[i].mtime_ns == (uint64_t)st->st_mtim.tv_sec * 1000000000ULL +
					(uint64_t)st->st_mtim.tv_nsec;
	return 0;
}

/* ARCHIVE/verify.state: "log <size> <hex root>" and "file <name> <size>
 * <mtime ns> <inode>" lines, written after each run. */
static int
vstate_load(struct vstate *s, const cu_archive *a)
{
	char p[4096], *text = NULL, *line, *save = NULL;
	size_t len;
	int error;

	memset(s, 0, sizeof(*s));
	if ((error = cu_pathf(p, sizeof(p), "%s/verify.state", a->path)) < 0)
		return error;
	if (cu_read_file(&text, &len, p, 64u << 20) < 0) {
		cu_error_clear();
		return 0;     /* no earlier run */
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[160], hex[65];
		unsigned long long a1, a2, a3;
		if (sscanf(line, "log %llu %64s", &a1, hex) == 2 && cu_unhex(s->log_root, 32, hex) == 0) {
			s->log_size = a1;
			s->has_log = 1;
		} else if (sscanf(line, "file %159s %llu %llu %llu", name, &a1, &a2, &a3) == 4) {
			struct stat st;
			memset(&st, 0, sizeof(st));
			st.st_size = (off_t)a1;
			st.st_mtim.tv_sec = (time_t)(a2 / 1000000000ULL);
			st.st_mtim.tv_nsec = (long)(a2 % 1000000000ULL);
			st.st_ino = (ino_t)a3;
			if ((error = vstate_add(s, name, &st)) < 0)
				break;
		}
	}
	cu_error_clear();
	free(text);
	return 0;
}

static int
vstate_save(const struct vstate *s, const cu_archive *a)
{
	char p[4096], hex[65], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int error;

	if ((error = cu_pathf(p, sizeof(p), "%s/verify.state", a->path)) < 0)
		return error;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return cu_error_sys("memory stream");
	cu_hex(hex, s->log_root, 32);
	fprintf(f, "# custos verify: the log and the object files seen by the last run\n");
	fprintf(f, "log %llu %s\n", (unsigned long long)s->log_size, hex);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "file %s %llu %llu %llu\n", s->files[i].name,
			(unsigned long long)s->files[i].size, (unsigned long long)s->files[i].mtime_ns,
			(unsigned long long)s->files[i].ino);
	fclose(f);
	error = cu_write_file_durable(p, buf, len, 0644, 0);
	free(buf);
	return error;
}

struct pack_ctx {
	struct vctx *v;
	int fd;
	const unsigned char *map;   /* the pack, mapped: members hashed in place */
	uint64_t map_len;
	int skip;      /* unchanged since the last full run: census only */
	const char *pack;
};

static int
pack_member(const unsigned char digest[32], const char *pack, uint64_t offset, uint64_t size,
	void *payload)
{
	struct pack_ctx *pc = payload;
	struct vctx *v = pc->v;
	unsigned char got[32];
	char hex[65];
	int error;

	(void)pack;
	cu_hex(hex, digest, 32);
	v->r->objects++;
	if (pc->skip) {
		char where[300];
		v->r->objects_skipped++;
		snprintf(where, sizeof(where), "in packs/%s", pc->pack);
		return check_removed(v, digest, hex, where);
	}
	if (pc->map != NULL) {
		/* a member past the end of the file hashes to what is there */
		uint64_t n = offset >= pc->map_len ? 0
			: (size < pc->map_len - offset ? size : pc->map_len - offset);
		if ((error = cu_sha256(got, pc->map + (offset < pc->map_len ? offset : 0), n)) < 0)
			return error;
		v->r->bytes_hashed += n;
	} else if ((error = hash_fd(got, pc->fd, offset, size, &v->r->bytes_hashed)) < 0) {
		return error;
	}
	if (memcmp(got, digest, 32) != 0) {
		if ((error = note_damaged(v, digest)) < 0)
			return error;
		return problem(v, "object", NULL, hex, NULL,
			"packed object in %s does not match its name", pc->pack);
	}
	{
		char where[300];
		snprintf(where, sizeof(where), "in packs/%s", pc->pack);
		return check_removed(v, digest, hex, where);
	}
}

static int
check_pack(const char *pack, void *payload)
{
	struct vctx *v = ((void **)payload)[0];
	struct vstate *old = ((void **)payload)[1], *now = ((void **)payload)[2];
	struct pack_ctx pc = { .v = v, .fd = -1, .pack = pack };
	char p[4096], name[160];
	struct stat st;
	int error;

	if ((error = cu_pathf(p, sizeof(p), "%s/objects/packs/%s", v->a->path, pack)) < 0)
		return error;
	snprintf(name, sizeof(name), "packs/%s", pack);
	if ((pc.fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(pc.fd, &st) < 0) {
		error = cu_error_sys("%s", p);
		goto done;
	}
	pc.skip = v->r->quick && vstate_unchanged(old, name, &st);
	if (!pc.skip && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, pc.fd, 0);
		if (m != MAP_FAILED) {
			madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
			pc.map = m;
			pc.map_len = (uint64_t)st.st_size;
		}
	}
	error = cu_cas_scan_pack(v->a->cas, pack, pack_member, &pc);
	if (error == CU_EINVALID)
		error = problem(v, "object", NULL, NULL, NULL, "%s", cu_error_last());
	else if (error == 0)
		error = vstate_add(now, name, &st);
done:
	if (pc.map != NULL)
		munmap((void *)pc.map, (size_t)pc.map_len);
	if (pc.fd >= 0)
		close(pc.fd);
	return error;
}

/* Every loose object under objects/sha256/xx/, hashed against its name. */
static int
check_loose(struct vctx *v, struct vstate *old, struct vstate *now)
{
	char base[4096], dir[4200], p[4600], name[160], hex[65];
	unsigned char digest[32], got[32];
	int error = 0;

	if ((error = cu_pathf(base, sizeof(base), "%s/objects/sha256", v->a->path)) < 0)
		return error;
	for (int x = 0; x < 256 && error == 0; x++) {
		DIR *d;
		struct dirent *e;
		snprintf(dir, sizeof(dir), "%s/%02x", base, x);
		if ((d = opendir(dir)) == NULL)
			continue;
		while (error == 0 && (e = readdir(d)) != NULL) {
			struct stat st;
			int fd;
			if (e->d_name[0] == '.')
				continue;
			snprintf(hex, sizeof(hex), "%02x%.62s", x, e->d_name);
			if (cu_pathf(p, sizeof(p), "%s/%s", dir, e->d_name) < 0)
				continue;
			snprintf(name, sizeof(name), "sha256/%02x/%.62s", x, e->d_name);
			if (strlen(e->d_name) != 62 || cu_unhex(digest, 32, hex) < 0) {
				cu_error_clear();
				error = problem(v, "object", NULL, NULL, NULL,
					"objects/%s is not named by a digest", name);
				continue;
			}
			if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
				if (fd >= 0)
					close(fd);
				error = problem(v, "object", NULL, hex, NULL, "cannot read: %s",
					strerror(errno));
				continue;
			}
			if (v->r->quick && vstate_unchanged(old, name, &st)) {
				v->r->objects_skipped++;
			} else if ((error = hash_fd(got, fd, 0, (uint64_t)st.st_size,
					&v->r->bytes_hashed)) == 0 && memcmp(got, digest, 32) != 0) {
				if ((error = note_damaged(v, digest)) == 0)
					error = problem(v, "object", NULL, hex, NULL,
						"object does not match its name");
			}
			close(fd);
			if (error == 0 && !is_damaged(v, digest))
				error = check_removed(v, digest, hex, "a loose file");
			if (error == 0 && (error = vstate_add(now, name, &st)) == 0)
				v->r->objects++;
		}
		closedir(d);
	}
	return error;
}

/* ---- commits ------------------------------------------------------------------ */

static int
check_commit(const char *commit, const char *parent, size_t n, void *payload)
{
	struct vctx *v = payload;
	unsigned char signer[CU_ED25519_PUB];

	(void)parent;
	(void)n;
	v->r->commits++;
	if (cu_history_check_signature(signer, v->a->hist, commit) < 0)
		return problem(v, "commit", NULL, NULL, commit, "%s", cu_error_last());
	if (memcmp(signer, v->pub, CU_ED25519_PUB) != 0)
		return problem(v, "commit", NULL, NULL, commit,
			"signed by another key than the archive's");
	return 0;
}

/* ---- documents -------------------------------------------------------------------- */

static int
cmp_vleaf(const void *x, const void *y)
{
	const struct vleaf *a = x, *b = y;

	return a->index < b->index ? -1 : a->index > b->index;
}

/* The end of a commit: its leaves continue the log without gap, and its
 * checkpoint is signed by the archive key and names the recomputed root. */
static int
end_commit(struct vctx *v)
{
	unsigned char root[CU_MLOG_HASH];
	int error;

	if (v->commit[0] == '\0')
		return 0;
	if (v->nleaves > 1)
		qsort(v->leaves, v->nleaves, sizeof(*v->leaves), cmp_vleaf);
	for (size_t i = 0; i < v->nleaves; i++) {
		if (v->leaves[i].index != v->size &&
		    (error = problem(v, "log", NULL, NULL, v->commit, "leaf %llu where %llu was due",
			(unsigned long long)v->leaves[i].index, (unsigned long long)v->size)) != 0)
			return error;
		if ((error = frontier_append(v, v->leaves[i].hash)) < 0)
			return error;
	}
	if (!v->has_ckpt) {
		if ((error = problem(v, "checkpoint", NULL, NULL, v->commit,
				"the commit carries no new log/checkpoint")) != 0)
			return error;
	} else {
		if ((error = frontier_root(root, v)) < 0)
			return error;
		if (v->ckpt_size != v->size)
			error = problem(v, "checkpoint", NULL, NULL, v->commit,
				"checkpoint of size %llu, but the log has %llu leaves",
				(unsigned long long)v->ckpt_size, (unsigned long long)v->size);
		else if (memcmp(root, v->ckpt_root, CU_MLOG_HASH) != 0)
			error = problem(v, "checkpoint", NULL, NULL, v->commit,
				"checkpoint root differs from the log recomputed from the documents");
		else if (v->ckpt_size < v->last_ckpt_size)
			error = problem(v, "checkpoint", NULL, NULL, v->commit,
				"the log shrank from %llu to %llu", (unsigned long long)v->last_ckpt_size,
				(unsigned long long)v->ckpt_size);
		if (error != 0)
			return error;
		v->last_ckpt_size = v->ckpt_size;
	}
	v->nleaves = 0;
	v->has_ckpt = 0;
	v->commit[0] = '\0';
	return 0;
}

static int
check_checkpoint(struct vctx *v, const char *data, size_t len)
{
	char *note = strndup(data, len), *text = NULL, *origin = NULL;
	int error = 0;

	if (note == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (cu_note_verify(&text, note, v->a->name, v->pub) < 0) {
		error = problem(v, "checkpoint", NULL, NULL, v->commit, "%s", cu_error_last());
	} else if (cu_checkpoint_parse(&origin, &v->ckpt_size, v->ckpt_root, text) < 0) {
		error = problem(v, "checkpoint", NULL, NULL, v->commit, "%s", cu_error_last());
	} else if (strcmp(origin, v->a->name) != 0) {
		error = problem(v, "checkpoint", NULL, NULL, v->commit,
			"checkpoint of another log (%s)", origin);
	} else {
		v->has_ckpt = 1;
	}
	free(origin);
	free(text);
	free(note);
	return error;
}

/* A class key ("SI01-SB·2026-D10-JF") must count its items 1, 2, 3, … */
static int
check_item(struct vctx *v, const char *ref, const char *id)
{
	const char *dash = strrchr(ref, '-');
	struct cls *c = NULL;
	unsigned long item;

	if (dash == NULL || (size_t)(dash - ref) >= sizeof(c->key))
		return problem(v, "record", ref, id, v->commit, "malformed ref");
	item = strtoul(dash + 1, NULL, 10);
	for (size_t i = 0; i < v->nclasses; i++)
		if (strncmp(v->classes[i].key, ref, (size_t)(dash - ref)) == 0 &&
		    v->classes[i].key[dash - ref] == '\0')
			c = &v->classes[i];
	if (c == NULL) {
		struct cls *p = realloc(v->classes, (v->nclasses + 1) * sizeof(*p));
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		v->classes = p;
		c = &v->classes[v->nclasses++];
		snprintf(c->key, sizeof(c->key), "%.*s", (int)(dash - ref), ref);
		c->last = 0;
	}
	if (item == c->last + 1) {
		c->last = (uint32_t)item;
		return 0;
	}
	if (item <= c->last)
		return problem(v, "item", ref, id, v->commit, "item %lu given twice in %s", item,
			c->key);
	{
		uint32_t from = c->last + 1;
		c->last = (uint32_t)item;
		return problem(v, "item", ref, id, v->commit,
			"gap in %s: item %lu follows %u (missing %u to %lu)", c->key, item, from - 1,
			from, item - 1);
	}
}

/* An index problem of a record: kept until the end, when it is reported
 * unless a later revision superseded the record (the index holds only the
 * current revision of each record). */
static int
defer_index_problem(struct vctx *v, const char *ref, const char *id, const char *message)
{
	struct pending *p;

	if (cu_grow(&v->pending, &v->cappending, v->npending + 1, sizeof(*v->pending)) < 0)
		return CU_ERROR;
	p = &v->pending[v->npending++];
	snprintf(p->ref, sizeof(p->ref), "%s", ref ? ref : "");
	snprintf(p->id, sizeof(p->id), "%s", id ? id : "");
	snprintf(p->message, sizeof(p->message), "%s", message);
	return 0;
}

/* The index must hold what the history says of this record. */
static int
check_index_record(struct vctx *v, const json_t *doc, const unsigned char id[32],
	const char *ref, const char *idh)
{
	unsigned char got[32], digest[32];
	char *want = NULL, *have = NULL, *rkey = NULL;
	int error = 0;

	if (cu_index_get_ref(v->t, ref, got) < 0 || memcmp(got, id, 32) != 0) {
		cu_error_clear();
		error = defer_index_problem(v, ref, idh, "the ref is missing from the index or "
			"names another record");
		goto done;
	}
	want = arc_summary_json(v->a, doc);
	if (cu_index_get_summary(&have, v->t, id) < 0) {
		cu_error_clear();
		error = defer_index_problem(v, ref, idh, "the record is missing from the index");
		goto done;
	}
	if (want == NULL || strcmp(want, have) != 0) {
		error = defer_index_problem(v, ref, idh, "the index entry differs from the history");
		goto done;
	}
	if (arc_jstr(doc, "kind") != NULL && strcmp(arc_jstr(doc, "kind"), "case") == 0)
		rkey = cu_asprintf("case/%s", arc_jstr(json_object_get(doc, "case"), "case_no") ?
			arc_jstr(json_object_get(doc, "case"), "case_no") : "");
	else if (arc_jstr(doc, "kind") != NULL && strcmp(arc_jstr(doc, "kind"), "fund_txn") == 0)
		rkey = cu_fund_key(json_object_get(doc, "fund_txn"));
	else
		rkey = cu_receipt_key(json_object_get(doc, "receipt"));
	if (rkey != NULL && (cu_index_get_rkey(v->t, rkey, got, digest) < 0 ||
			memcmp(got, id, 32) != 0)) {
		cu_error_clear();
		error = defer_index_problem(v, ref, idh, "the receipt's identity is missing from "
			"the index or names another record");
	}
done:
	free(want);
	free(have);
	free(rkey);
	return error;
}

/* A content object a record names: present, with the size recorded. */
static int
check_object(struct vctx *v, const char *ref, const char *idh, const char *digest,
	json_int_t size)
{
	unsigned char d[32];
	uint64_t osize = 0;

	if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || cu_unhex(d, 32, digest + 7) < 0) {
		cu_error_clear();
		return problem(v, "record", ref, idh, v->commit, "no content digest");
	}
	if (is_damaged(v, d))
		return 0;   /* already reported as a damaged object */
	if (find_object(&osize, v, d) < 0) {
		if (is_disposed(v, ref)) {
			/* absent as it should be: an approved disposal removed it */
			v->r->objects_disposed++;
			return 0;
		}
		return problem(v, "object", ref, digest + 7, NULL,
			"the record's content object is missing");
	}
	if (osize != (uint64_t)size)
		return problem(v, "object", ref, digest + 7, NULL,
			"the record's content object has %llu bytes, the record says %lld",
			(unsigned long long)osize, (long long)size);
	return 0;
}

/* 1 if a record the index holds as live (not disposed of) has the object. */
static int
live_user(const unsigned char id[32], void *payload)
{
	struct vctx *v = payload;
	char *ref = arc_ref_of(v->t, id);
	int live = ref != NULL && !is_disposed(v, ref);

	cu_error_clear();
	free(ref);
	return live;
}

/* An approved destruction list: the index must know its records disposed of
 * and the objects it removed (unless a live record holds them again). */
static int
check_list(struct vctx *v, const json_t *doc, const char *ref)
{
	const json_t *appr = json_object_get(doc, "approval"), *rec, *o;
	size_t i;
	int error = 0;

	if (appr == NULL)
		return 0;
	json_array_foreach(json_object_get(json_object_get(doc, "disposal_list"), "records"), i, rec) {
		const char *r = arc_jstr(rec, "ref");
		char *mark = NULL;
		json_t *m;
		v->disposed_records++;
		if (v->t == NULL || r == NULL)
			continue;
		if (cu_index_get_mark(&mark, v->t, 'D', r, strlen(r)) < 0) {
			cu_error_clear();
			error = problem(v, "index", r, arc_jstr(rec, "id"), NULL, "disposed of by "
				"destruction list %s, but the index does not know it", ref);
		} else if ((m = json_loads(mark, 0, NULL)) == NULL || arc_jstr(m, "list") == NULL ||
			   strcmp(arc_jstr(m, "list"), ref) != 0) {
			error = problem(v, "index", r, arc_jstr(rec, "id"), NULL, "disposed of by "
				"destruction list %s, but the index names another list", ref);
			json_decref(m);
		} else {
			json_decref(m);
		}
		free(mark);
		if (error != 0)
			return error;
	}
	json_array_foreach(json_object_get(appr, "objects_removed"), i, o) {
		const char *d = arc_jstr(o, "digest");
		unsigned char digest[32];
		if (v->t == NULL)
			break;
		if (d == NULL || strncmp(d, "sha256:", 7) != 0 || cu_unhex(digest, 32, d + 7) < 0) {
			cu_error_clear();
			if ((error = problem(v, "record", ref, arc_jstr(doc, "id"), v->commit,
					"a removed object without a digest")) != 0)
				return error;
			continue;
		}
		if (cu_index_get_mark(NULL, v->t, 'R', digest, 32) == 0)
			continue;
		cu_error_clear();
		if (cu_index_foreach_content(v->t, digest, live_user, v) == 1)
			continue;   /* the same bytes came back in a live record */
		cu_error_clear();
		if ((error = problem(v, "index", NULL, d + 7, NULL, "removed by destruction list %s, "
				"but the index does not know it", ref)) != 0)
			return error;
	}
	return 0;
}

/* One document of the history: canonical, hashed to its id, a leaf. */
static int
check_document(struct vctx *v, const char *path, const char *data, size_t len)
{
	int is_record = path[0] == 'r';
	const char *kind = is_record ? "record" : "event";
	json_error_t jerr;
	json_t *doc = NULL, *copy = NULL, *leaf;
	char *canon = NULL, *text = NULL, idh[65], want_path[256];
	const char *ref = NULL, *docid;
	unsigned char id[32];
	size_t clen, tlen;
	int error = 0;

	if ((doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		error = problem(v, kind, NULL, NULL, v->commit, "%s: not JSON: %s", path, jerr.text);
		goto done;
	}
	ref = arc_jstr(doc, "ref");
	docid = arc_jstr(doc, "id");
	if (cu_canon(&canon, &clen, doc) < 0 || clen != len || memcmp(canon, data, len) != 0) {
		cu_error_clear();
		error = problem(v, kind, ref, docid, v->commit, "%s: not in canonical form", path);
		goto done;
	}
	{
		/* the id is the digest of the canonical form without "id": a shallow
		 * copy suffices, only the top level loses a member */
		unsigned char sum[32];
		if ((copy = json_copy(doc)) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		json_object_del(copy, "id");
		if ((error = cu_canon(&text, &tlen, copy)) < 0 ||
		    (error = cu_sha256(sum, text, tlen)) < 0)
			goto done;
		cu_hex(idh, sum, 32);
	}
	if (docid == NULL || strcmp(docid, idh) != 0) {
		error = problem(v, kind, ref, docid, v->commit,
			"%s: the document does not hash to its id (it hashes to %.12s…)", path, idh);
		goto done;
	}
	cu_unhex(id, 32, idh);
	leaf = json_object_get(doc, "leaf");
	if (!json_is_integer(leaf) || json_integer_value(leaf) < 0) {
		error = problem(v, kind, ref, idh, v->commit, "%s: no log leaf", path);
		goto done;
	}
	if ((error = cu_grow(&v->leaves, &v->capleaves, v->nleaves + 1, sizeof(*v->leaves))) < 0)
		goto done;
	v->leaves[v->nleaves].index = (uint64_t)json_integer_value(leaf);
	if ((error = cu_mlog_leaf_hash(v->leaves[v->nleaves].hash, data, len)) < 0)
		goto done;
	v->nleaves++;
	if (!is_record) {
		const char *ekind = arc_jstr(doc, "kind"), *action = arc_jstr(doc, "action");
		v->r->events++;
		if (ekind != NULL && action != NULL && strcmp(ekind, "hold") == 0)
			v->holds += strcmp(action, "add") == 0 ? 1 : -1;
		goto done;
	}
	v->r->records++;
	if (arc_revision(doc) > 1) {
		const char *sup = arc_jstr(doc, "supersedes");
		if ((error = cu_grow(&v->superseded, &v->capsup, v->nsup + 1,
				sizeof(*v->superseded))) < 0)
			goto done;
		if (sup == NULL || cu_unhex(v->superseded[v->nsup], 32, sup) < 0) {
			cu_error_clear();
			error = problem(v, "record", ref, idh, v->commit,
				"revision %ld names no revision it supersedes", arc_revision(doc));
			goto done;
		}
		v->nsup++;
	}
	if (ref == NULL || arc_record_path(want_path, sizeof(want_path), ref, arc_revision(doc)) < 0 ||
	    strcmp(want_path, path) != 0) {
		cu_error_clear();
		error = problem(v, "record", ref, idh, v->commit, "%s: not where its ref puts it", path);
		goto done;
	}
	if (arc_jstr(doc, "kind") != NULL && strcmp(arc_jstr(doc, "kind"), "case") == 0) {
		/* a case: every file's object */
		size_t i, j;
		json_t *vol, *f;
		json_array_foreach(json_object_get(doc, "volumes"), i, vol)
			json_array_foreach(json_object_get(vol, "files"), j, f)
				if (error == 0)
					error = check_object(v, ref, idh, arc_jstr(f, "digest"),
						json_integer_value(json_object_get(f, "size")));
	} else if (arc_jstr(doc, "kind") != NULL &&
		   strcmp(arc_jstr(doc, "kind"), "disposal_list") == 0) {
		/* a destruction list names objects, it has none of its own */
		error = check_list(v, doc, ref);
	} else {
		/* its content object: present, with the size recorded */
		const json_t *c = json_object_get(doc, "content");
		error = check_object(v, ref, idh, arc_jstr(c, "digest"),
			json_integer_value(json_object_get(c, "size")));
	}
	if (error != 0)
		goto done;
	/* nothing is kept per record: memory stays flat as the archive grows */
	if (v->t != NULL)
		error = check_index_record(v, doc, id, ref, idh);
done:
	json_decref(doc);
	json_decref(copy);
	free(canon);
	free(text);
	return error;
}

static int
history_file(const char *commit, const char *path, const char *data, size_t len, void *payload)
{
	struct vctx *v = payload;
	int error;

	if (strcmp(commit, v->commit) != 0) {
		if ((error = end_commit(v)) != 0)
			return error;
		snprintf(v->commit, sizeof(v->commit), "%s", commit);
	}
	if (strcmp(path, "log/checkpoint") == 0)
		return check_checkpoint(v, data, len);
	if (strncmp(path, "records/", 8) == 0 || strncmp(path, "events/", 7) == 0)
		return check_document(v, path, data, len);
	return 0;
}

/* ---- the second pass, only for an archive that failed the counts ------------- */

/* Gathers every record path and id of the history (no checks). */
static int
collect_file(const char *commit, const char *path, const char *data, size_t len, void *payload)
{
	struct vctx *v = payload;
	json_t *doc;
	const char *id;

	(void)commit;
	if (strncmp(path, "records/", 8) != 0)
		return 0;
	if (cu_grow(&v->paths, &v->cappaths, v->npaths + 1, sizeof(*v->paths)) < 0 ||
	    cu_grow(&v->ids, &v->capids, v->npaths + 1, sizeof(*v->ids)) < 0)
		return CU_ERROR;
	if ((v->paths[v->npaths] = strdup(path)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memset(v->ids[v->npaths], 0, 32);
	if ((doc = json_loadb(data, len, 0, NULL)) != NULL && (id = arc_jstr(doc, "id")) != NULL &&
	    cu_unhex(v->ids[v->npaths], 32, id) < 0)
		cu_error_clear();
	json_decref(doc);
	v->npaths++;
	v->nids = v->npaths;
	return 0;
}

static int
collect_once(struct vctx *v)
{
	if (v->collect)
		return 0;
	v->collect = 1;
	return cu_history_replay(v->a->hist, NULL, collect_file, v);
}

/* ---- the current tree ------------------------------------------------------------ */

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A record file of the head tree: it was added by a commit of the history,
 * and its class counts its items without gaps. */
static int
tree_record(const char *path, void *payload)
{
	struct vctx *v = payload;
	const char *key = path;
	char **hit, ref[256], cls[160];
	const char *slash1, *slash3;

	v->tree_records++;
	if (v->present != NULL && (hit = bsearch(&key, v->paths, v->npaths, sizeof(*v->paths),
			cmp_str)) != NULL)
		v->present[hit - v->paths] = (char *)"";
	if (v->present != NULL)
		return 0;    /* the second walk only marks */
	/* records/<class>/<thousands>/<item>.json */
	slash1 = strchr(path + 8, '/');
	slash3 = strrchr(path, '/');
	if (slash1 == NULL || slash3 == NULL || slash3 <= slash1 ||
	    (size_t)(slash1 - path - 8) >= sizeof(cls))
		return problem(v, "record", NULL, NULL, NULL, "%s: not a record's place", path);
	snprintf(cls, sizeof(cls), "%.*s", (int)(slash1 - path - 8), path + 8);
	snprintf(ref, sizeof(ref), "%s-%.*s", cls, (int)strcspn(slash3 + 1, "."), slash3 + 1);
	/* later revisions (<item>.rN.json) share their item with the first */
	if (strstr(slash3, ".r") != NULL)
		return 0;
	return check_item(v, ref, NULL);
}

/* Every record the history added must still be in the head tree, and the
 * items of every class must run 1, 2, 3, … there. */
static int
check_tree(struct vctx *v)
{
	int error;

	if ((error = cu_history_list(v->a->hist, "records/", tree_record, v)) != 0)
		return error;
	if (v->tree_records >= v->r->records)
		return 0;
	/* fewer files than the history added: find which, in a second pass */
	if ((error = collect_once(v)) < 0)
		return error;
	if ((v->paths_sorted = malloc((v->npaths ? v->npaths : 1) * sizeof(char *))) == NULL ||
	    (v->present = calloc(v->npaths ? v->npaths : 1, sizeof(*v->present))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memcpy(v->paths_sorted, v->paths, v->npaths * sizeof(char *));
	{
		/* sort a copy: the ids stay parallel to the original order */
		char **orig = v->paths;
		v->paths = v->paths_sorted;
		if (v->npaths > 1)
			qsort(v->paths, v->npaths, sizeof(*v->paths), cmp_str);
		error = cu_history_list(v->a->hist, "records/", tree_record, v);
		v->paths_sorted = v->paths;
		v->paths = orig;
		if (error != 0)
			return error;
	}
	for (size_t i = 0; i < v->npaths; i++)
		if (v->present[i] == NULL &&
		    (error = problem(v, "record", NULL, NULL, NULL, "%s: archived by the history but "
			"missing from its current tree", v->paths_sorted[i])) != 0)
			return error;
	return 0;
}

/* ---- the index as a whole ------------------------------------------------------- */

static int
cmp_id(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

static int
extra_record(const unsigned char id[32], void *payload)
{
	struct vctx *v = payload;
	char hex[65];

	if (bsearch(id, v->ids, v->nids, 32, cmp_id) != NULL)
		return 0;
	cu_hex(hex, id, 32);
	return problem(v, "index", NULL, hex, NULL, "the index holds a record the history does not");
}

static int
report_pending(struct vctx *v)
{
	int error;

	if (v->nsup > 1)
		qsort(v->superseded, v->nsup, 32, cmp_id);
	for (size_t i = 0; i < v->npending; i++) {
		unsigned char id[32];
		if (cu_unhex(id, 32, v->pending[i].id) == 0 && v->nsup > 0 &&
		    bsearch(id, v->superseded, v->nsup, 32, cmp_id) != NULL)
			continue;
		cu_error_clear();
		if ((error = problem(v, "index", v->pending[i].ref[0] ? v->pending[i].ref : NULL,
				v->pending[i].id, NULL, "%s", v->pending[i].message)) != 0)
			return error;
	}
	return 0;
}

static int
check_index_whole(struct vctx *v)
{
	char ihead[41], hhead[CU_OID_HEX];
	unsigned char leaf[CU_MLOG_HASH];
	uint64_t isize;
	size_t n;
	cu_mlog_store st;
	int error;

	if ((error = report_pending(v)) != 0)
		return error;
	{
		/* holds and disposals: the index's marks against the history */
		size_t held = 0, disposed = 0;
		if ((error = cu_index_count_marks(&held, v->t, 'H')) < 0 ||
		    (error = cu_index_count_marks(&disposed, v->t, 'D')) < 0)
			return error;
		if ((long long)held != v->holds &&
		    (error = problem(v, "index", NULL, NULL, NULL, "the index holds %zu records on "
			"hold, the history %lld", held, v->holds)) != 0)
			return error;
		if (disposed != v->disposed_records &&
		    (error = problem(v, "index", NULL, NULL, NULL, "the index marks %zu records "
			"disposed of, the history %zu", disposed, v->disposed_records)) != 0)
			return error;
	}
	if ((error = cu_index_get_head(ihead, v->t)) < 0 ||
	    (error = cu_history_head(hhead, v->a->hist)) < 0 ||
	    (error = cu_index_log_size(&isize, v->t)) < 0 ||
	    (error = cu_index_count_records(&n, v->t)) < 0)
		return error;
	if (strcmp(ihead, hhead) != 0 &&
	    (error = problem(v, "index", NULL, NULL, hhead, "the index reflects commit %.12s, the "
		"history's head is %.12s", ihead[0] ? ihead : "(none)", hhead)) != 0)
		return error;
	if (isize != v->size &&
	    (error = problem(v, "index", NULL, NULL, NULL, "the index's log has %llu leaves, the "
		"history's %llu", (unsigned long long)isize, (unsigned long long)v->size)) != 0)
		return error;
	if (n > v->r->records - v->nsup) {
		/* the index holds records the history does not: find which */
		if ((error = collect_once(v)) < 0)
			return error;
		if (v->nids > 1)
			qsort(v->ids, v->nids, 32, cmp_id);
		if ((error = cu_index_foreach_record(v->t, extra_record, v)) != 0)
			return error;
	}
	/* the newest leaf in the index's log matches the recomputed one */
	if (v->size > 0 && isize >= v->size) {
		cu_index_mlog_store(&st, v->t);
		unsigned char root[CU_MLOG_HASH], want[CU_MLOG_HASH];
		if (cu_mlog_root(root, &st, v->size) < 0 || frontier_root(want, v) < 0 ||
		    memcmp(root, want, CU_MLOG_HASH) != 0) {
			cu_error_clear();
			if ((error = problem(v, "index", NULL, NULL, NULL, "the index's log differs from "
				"the log recomputed from the history")) != 0)
				return error;
		}
		(void)leaf;
	}
	return 0;
}

/* ---- recording the run ------------------------------------------------------------- */

static int
record_run(struct vctx *v)
{
	cu_archive *a = v->a;
	json_t *ev;
	char now[32], *text = NULL, path[160], head[CU_OID_HEX], subject[160];
	unsigned char leaf[CU_MLOG_HASH], root[CU_MLOG_HASH];
	uint64_t size = v->size;
	size_t len;
	cu_history_file f;
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	int error;

	cu_now_rfc3339(now);
	ev = json_pack("{s:i, s:s, s:s, s:{s:s, s:I}, s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I}",
		"version", 1, "kind", "verify", "at", now,
		"by", "user", a->user, "uid", (json_int_t)a->uid,
		"result", v->r->problems ? "problems" : "ok", "problems", (json_int_t)v->r->problems,
		"quick", v->r->quick, "commits", (json_int_t)v->r->commits,
		"records", (json_int_t)v->r->records, "objects", (json_int_t)v->r->objects,
		"log_size", (json_int_t)size, "leaf", (json_int_t)size);
	if (ev == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = arc_seal_document(&text, &len, v->r->event_id, ev)) < 0 ||
	    (error = cu_mlog_leaf_hash(leaf, text, len)) < 0 ||
	    (error = frontier_append(v, leaf)) < 0 ||
	    (error = frontier_root(root, v)) < 0)
		goto done;
	if ((error = cu_pathf(path, sizeof(path), "events/%.4s/%.5s/%s.json", now, now + 5,
			v->r->event_id)) < 0)
		goto done;
	f = (cu_history_file){ path, text, len };
	snprintf(subject, sizeof(subject), "verify: %s (%zu problem%s)%s",
		v->r->problems ? "problems found" : "ok", v->r->problems,
		v->r->problems == 1 ? "" : "s", v->r->quick ? " --quick" : "");
	if (!v->index_broken) {
		/* the index agrees with the history: keep it up to date */
		if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
			goto done;
		cu_index_mlog_store(&st, t);
		if ((error = cu_mlog_append(&st, size, leaf)) < 0)
			goto done;
	}
	/* the root is the recomputed one: never sign what the index alone says */
	if ((error = arc_commit_logged(a, t, &f, 1, size + 1, root, subject, head)) < 0)
		goto done;
	if (t != NULL) {
		/* an archive-wide event, filed under the zero id (see trace) */
		unsigned char zero[32] = { 0 }, eid[32];
		cu_time tm;
		if ((error = cu_unhex(eid, 32, v->r->event_id)) < 0 ||
		    (error = cu_time_parse(&tm, now)) < 0 ||
		    (error = cu_index_put_event(t, zero, tm.epoch, eid)) < 0 ||
		    (error = cu_index_put_commit(t, size, head)) < 0)
			goto done;
		error = cu_index_commit(t);
		t = NULL;
	}
	v->r->recorded = error == 0;
done:
	if (t != NULL)
		cu_index_abort(t);
	free(text);
	json_decref(ev);
	return error;
}

/* ---- the whole -------------------------------------------------------------------- */

int
cu_archive_verify(cu_archive *a, const cu_verify_opts *o, cu_verify_cb cb, void *payload,
	cu_verify_report *r)
{
	struct vctx v;
	struct vstate old, now;
	void *packarg[3];
	int error;

	memset(r, 0, sizeof(*r));
	memset(&v, 0, sizeof(v));
	memset(&now, 0, sizeof(now));
	if (a->mode != CU_ARCHIVE_REPAIR)
		return cu_error_set(CU_EINVALID, "verify needs the archive opened for repair");
	v.a = a;
	v.cb = cb;
	v.payload = payload;
	v.r = r;
	r->quick = o->quick;
	if ((error = arc_ssh_pub_raw(v.pub, a->signing_key)) < 0)
		return error;
	if ((error = vstate_load(&old, a)) < 0)
		return error;
	if (old.has_log) {
		v.want_last = old.log_size > 0;
		v.last_size = old.log_size;
		memcpy(v.last_root, old.log_root, CU_MLOG_HASH);
	}
	if (o->since_checkpoint != NULL) {
		char *text = NULL, *origin = NULL;
		if (cu_note_verify(&text, o->since_checkpoint, a->name, v.pub) < 0 ||
		    cu_checkpoint_parse(&origin, &v.since_size, v.since_root, text) < 0) {
			error = cu_error_prefix(CU_EINVALID, "--since-checkpoint");
			free(text);
			free(origin);
			goto done;
		}
		free(text);
		free(origin);
		v.want_since = v.since_size > 0;
	}
	/* 0. the ordinary recovery after a crash (the index behind the history);
	 * if the index cannot follow the history, that is reported below */
	if (arc_index_sync(a, NULL) < 0)
		cu_error_clear();
	/* and of an approval whose objects were not all removed yet */
	if (arc_dispo_complete(a) < 0)
		cu_error_clear();
	/* the index's snapshot: disposed objects are expected absent */
	if ((error = cu_index_begin(&v.t, a->ix, 0)) < 0)
		goto done;
	/* 1. objects */
	packarg[0] = &v;
	packarg[1] = &old;
	packarg[2] = &now;
	{
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((error = check_loose(&v, &old, &now)) < 0 ||
		    (error = cu_cas_list_packs(a->cas, check_pack, packarg)) < 0)
			goto done;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r->objects_usec = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
			(uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000);
	}
	/* 2. commits and their signatures */
	if ((error = cu_history_walk(a->hist, check_commit, &v)) < 0)
		goto done;
	/* 3. every document, the log, the index */
	if ((error = cu_history_replay(a->hist, NULL, history_file, &v)) < 0 ||
	    (error = end_commit(&v)) < 0)
		goto done;
	r->log_size = v.size;
	if ((error = check_tree(&v)) < 0)
		goto done;
	if (v.want_since && v.since_size > v.size &&
	    (error = problem(&v, "log", NULL, NULL, NULL, "the log has %llu leaves but the kept "
		"checkpoint has %llu: the history was rolled back",
		(unsigned long long)v.size, (unsigned long long)v.since_size)) != 0)
		goto done;
	if (v.want_last && v.last_size > v.size &&
	    (error = problem(&v, "log", NULL, NULL, NULL, "the log has %llu leaves, fewer than the "
		"%llu the last verify run saw: the history was rolled back",
		(unsigned long long)v.size, (unsigned long long)v.last_size)) != 0)
		goto done;
	if ((error = check_index_whole(&v)) < 0)
		goto done;
	cu_index_abort(v.t);
	v.t = NULL;
	/* 4. the run itself, in the history — unless the history is what failed */
	if (a->verify_no_record)
		goto done;
	if (!v.history_broken && (error = record_run(&v)) < 0)
		goto done;
	now.log_size = v.size;
	if ((error = frontier_root(now.log_root, &v)) < 0)
		goto done;
	now.has_log = 1;
	if (!v.history_broken)
		error = vstate_save(&now, a);
done:
	if (v.t != NULL)
		cu_index_abort(v.t);
	free(v.leaves);
	free(v.classes);
	free(v.ids);
	for (size_t i = 0; i < v.npaths; i++)
		free(v.paths[i]);
	free(v.paths);
	free(v.present);
	free(v.paths_sorted);
	free(v.damaged);
	free(v.superseded);
	free(v.pending);
	free(old.files);
	free(now.files);
	return error < 0 ? error : 0;
}
