/*
 * index.c — the search index in LMDB (see custos/index.h).
 *
 * Layout decisions that the header leaves to this file:
 *
 *  - One environment, thirteen named databases, opened once per handle.
 *    Every handle is opened with MDB_NOTLS so that a read transaction is
 *    not tied to the thread that began it and one thread may hold several.
 *
 *  - Durability.  The writer keeps LMDB's default commit protocol: data
 *    pages are flushed, then the meta page is written synchronously.  That
 *    is two flushes per commit, and the archive commits once per batch of
 *    records, so the second flush costs a few milliseconds per batch.  The
 *    cheaper alternative (MDB_NOSYNC and one mdb_env_sync() after the
 *    commit) lets the kernel write the new meta page before the pages it
 *    points to; a power cut inside that one flush can then leave an index
 *    that opens but is corrupt.  The index is rebuildable, but nothing would
 *    tell the archive to rebuild it, so the order-preserving protocol wins.
 *
 *  - Map size.  A write transaction that hits MDB_MAP_FULL cannot be
 *    resumed (LMDB marks it failed and the caller would have to replay the
 *    whole batch after growing the map), so the map is made large once, up
 *    front: 64 GiB of address space.  On Linux that is only reserved
 *    address space; data.mdb grows with the pages actually written.  If the
 *    file records a larger map (set by a later version), that one is kept.
 *
 *  - Values in dupsort databases are time_be ‖ id (40 bytes, fixed size),
 *    so the duplicates of a key are in time order and a search walks them
 *    backwards for newest first, and the other filters of a query are
 *    checked by exact (key, value) lookups with MDB_GET_BOTH.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "custos/error.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/util.h"

#define INDEX_VERSION "1"
#define INDEX_MAPSIZE ((size_t)64 << 30)
#define INDEX_MAXDBS  24
#define TIME_BE_LEN   8
#define POSTING_LEN   (TIME_BE_LEN + 32)   /* time_be ‖ id */
#define TOKEN_MAX     64
#define PREFIX_COUNT_MAX 1000

enum {
	DB_META, DB_REC, DB_REF, DB_RKEY, DB_CONTENT, DB_TIME, DB_PERSON,
	DB_TERM, DB_TEXT, DB_ITEM, DB_OBJLOC, DB_PACKS, DB_EVENTS, DB_MLOG, DB_CKPT, DB_COMMIT,
	DB_DISPO,
	DB_F_DEATH, DB_F_QUAL, DB_F_ACCT, DB_F_BENEFIT, DB_F_MAKER, DB_F_BALANCE, DB_F_DECISION,
	DB_COUNT
};

static const struct {
	const char  *name;
	unsigned int flags;
} db_spec[DB_COUNT] = {
	[DB_META]    = { "meta",    0 },
	[DB_REC]     = { "rec",     0 },
	[DB_REF]     = { "ref",     0 },
	[DB_RKEY]    = { "rkey",    0 },
	[DB_CONTENT] = { "content", MDB_DUPSORT | MDB_DUPFIXED },
	[DB_TIME]    = { "time",    0 },
	[DB_PERSON]  = { "person",  MDB_DUPSORT | MDB_DUPFIXED },
	[DB_TERM]    = { "term",    MDB_DUPSORT | MDB_DUPFIXED },
	[DB_TEXT]    = { "text",    MDB_DUPSORT | MDB_DUPFIXED },
	[DB_ITEM]    = { "item",    0 },
	[DB_OBJLOC]  = { "objloc",  0 },
	[DB_PACKS]   = { "packs",   0 },
	[DB_EVENTS]  = { "events",  MDB_DUPSORT | MDB_DUPFIXED },
	[DB_MLOG]    = { "mlog",    0 },
	[DB_CKPT]    = { "ckpt",    0 },
	[DB_COMMIT]  = { "commit",  0 },
	[DB_DISPO]   = { "dispo",   0 },
	[DB_F_DEATH]    = { "f_death",    0 },
	[DB_F_QUAL]     = { "f_qual",     0 },
	[DB_F_ACCT]     = { "f_acct",     0 },
	[DB_F_BENEFIT]  = { "f_benefit",  0 },
	[DB_F_MAKER]    = { "f_maker",    0 },
	[DB_F_BALANCE]  = { "f_balance",  0 },
	[DB_F_DECISION] = { "f_decision", 0 },
};

/* Scratch space for the tokenizer, reused across calls so that indexing a
 * batch of records does not allocate per record. */
struct tok {
	uint32_t off, len, hash;
};

struct tok_scratch {
	char       *buf;     /* token bytes, each followed by a NUL */
	size_t      bufcap;
	struct tok *toks;
	size_t      tokcap;
	uint32_t   *slots;   /* open-addressing set: 0 empty, else toks index + 1 */
	size_t      slotcap;
};

struct cu_index {
	MDB_env *env;
	MDB_dbi  dbi[DB_COUNT];
	int      writable;
	size_t   maxkey;
	int      live_txns;  /* for the MDB_MAP_RESIZED recovery in begin */
};

struct cu_index_txn {
	cu_index          *ix;
	MDB_txn           *txn;
	int                write;
	struct tok_scratch scratch;
};

/* ---- small helpers ---------------------------------------------------- */

/* Maps an LMDB (or errno) result onto a custos code with a message that
 * names the operation and keeps LMDB's own words. */
static int
lmdb_error(int rc, const char *what)
{
	int code = CU_ERROR;

	if (rc == MDB_NOTFOUND)
		code = CU_ENOTFOUND;
	else if (rc == MDB_MAP_FULL)
		code = CU_ELIMIT;
	else if (rc == MDB_BAD_VALSIZE)
		code = CU_EINVALID;
	return cu_error_set(code, "index: %s: %s", what, mdb_strerror(rc));
}

static int
damaged(const char *what)
{
	return cu_error_set(CU_ERROR, "index damaged: %s; rebuild the index", what);
}

static int
need_write(const cu_index_txn *t)
{
	if (!t->write)
		return cu_error_set(CU_EINVALID, "index: transaction is read-only");
	return 0;
}

/* Keys must be 1 to maxkey bytes; checked here so the message names the
 * value rather than LMDB's MDB_BAD_VALSIZE. */
static int
check_key(const cu_index_txn *t, const char *what, size_t len)
{
	if (len == 0)
		return cu_error_set(CU_EINVALID, "index: empty %s", what);
	if (len > t->ix->maxkey)
		return cu_error_set(CU_EINVALID, "index: %s is %zu bytes, at most %zu can be indexed",
			what, len, t->ix->maxkey);
	return 0;
}

/* Epoch seconds as 8 big-endian bytes of time + 2^63: unsigned byte order
 * is then time order, negative times included. */
static void
time_be(unsigned char out[TIME_BE_LEN], int64_t time)
{
	uint64_t u = (uint64_t)time ^ ((uint64_t)1 << 63);

	for (int i = TIME_BE_LEN - 1; i >= 0; i--) {
		out[i] = (unsigned char)u;
		u >>= 8;
	}
}

static int64_t
time_from_be(const unsigned char in[TIME_BE_LEN])
{
	uint64_t u = 0;

	for (int i = 0; i < TIME_BE_LEN; i++)
		u = u << 8 | in[i];
	return (int64_t)(u ^ ((uint64_t)1 << 63));
}

static void
put_u64le(unsigned char *out, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64le(const unsigned char *in)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | in[i];
	return v;
}

static void
scratch_free(struct tok_scratch *s)
{
	free(s->buf);
	free(s->toks);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* ---- open, close, transactions ---------------------------------------- */

/* Opens (creating when writable) every named database in one transaction,
 * and checks or records the format version. */
static int
open_dbs(cu_index *ix, const char *dir)
{
	MDB_txn *txn = NULL;
	MDB_val k = { 7, "version" }, v;
	int rc, error = 0;

	if ((rc = mdb_txn_begin(ix->env, NULL, ix->writable ? 0 : MDB_RDONLY, &txn)) != 0) {
		error = lmdb_error(rc, "begin");
		goto done;
	}
	for (int i = 0; i < DB_COUNT; i++) {
		unsigned int flags = db_spec[i].flags | (ix->writable ? MDB_CREATE : 0);

		rc = mdb_dbi_open(txn, db_spec[i].name, flags, &ix->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			/* a reader arriving before the first writer committed */
			error = cu_error_set(CU_ENOTFOUND, "%s: index not built", dir);
			goto done;
		}
		if (rc != 0) {
			error = lmdb_error(rc, db_spec[i].name);
			goto done;
		}
	}
	rc = mdb_get(txn, ix->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND && ix->writable) {
		v.mv_data = INDEX_VERSION;
		v.mv_size = strlen(INDEX_VERSION);
		if ((rc = mdb_put(txn, ix->dbi[DB_META], &k, &v, 0)) != 0) {
			error = lmdb_error(rc, "writing version");
			goto done;
		}
	} else if (rc == MDB_NOTFOUND) {
		error = cu_error_set(CU_ENOTFOUND, "%s: index not built", dir);
		goto done;
	} else if (rc != 0) {
		error = lmdb_error(rc, "reading version");
		goto done;
	} else if (v.mv_size != strlen(INDEX_VERSION) ||
		memcmp(v.mv_data, INDEX_VERSION, v.mv_size) != 0) {
		error = cu_error_set(CU_EINVALID,
			"%s: index format version %.*s is not supported (expected %s); rebuild the index",
			dir, (int)(v.mv_size > 16 ? 16 : v.mv_size), (const char *)v.mv_data,
			INDEX_VERSION);
		goto done;
	}
	/* Committing (also for a read transaction) keeps the handles open. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		error = lmdb_error(rc, "opening databases");
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return error;
}

/* Copies one database of the snapshot rt into the same-named database of
 * the copy, in key order with MDB_APPEND (and MDB_APPENDDUP for the
 * duplicates of a key), so that every page the copy writes is filled before
 * the next is begun.  *wt is committed and begun again every
 * COPY_TXN_BYTES, so that a large index never makes LMDB spill dirty pages. */
#define COPY_TXN_BYTES ((size_t)16 << 20)

static int
copy_db(MDB_env *env, MDB_txn **wt, MDB_txn *rt, MDB_dbi src, const char *name,
	unsigned int flags, size_t *pending)
{
	MDB_cursor *from = NULL, *to = NULL;
	MDB_dbi dst;
	MDB_val k, v;
	int rc, dup = (flags & MDB_DUPSORT) != 0;

	if ((rc = mdb_dbi_open(*wt, name, flags | MDB_CREATE, &dst)) != 0 ||
	    (rc = mdb_cursor_open(rt, src, &from)) != 0 ||
	    (rc = mdb_cursor_open(*wt, dst, &to)) != 0)
		goto done;
	for (rc = mdb_cursor_get(from, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(from, &k, &v, MDB_NEXT_NODUP)) {
		unsigned int put = MDB_APPEND;
		do {
			if ((rc = mdb_cursor_put(to, &k, &v, put)) != 0)
				goto done;
			*pending += k.mv_size + v.mv_size;
			put = MDB_APPENDDUP;
		} while (dup && (rc = mdb_cursor_get(from, &k, &v, MDB_NEXT_DUP)) == 0);
		if (dup && rc != MDB_NOTFOUND)
			goto done;
		if (*pending >= COPY_TXN_BYTES) {
			mdb_cursor_close(to);
			to = NULL;
			rc = mdb_txn_commit(*wt);
			*wt = NULL;
			*pending = 0;
			if (rc != 0 || (rc = mdb_txn_begin(env, NULL, 0, wt)) != 0 ||
			    (rc = mdb_cursor_open(*wt, dst, &to)) != 0)
				goto done;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
done:
	if (to != NULL)
		mdb_cursor_close(to);
	if (from != NULL)
		mdb_cursor_close(from);
	return rc;
}

/* Writes the copy (see the header) into a new environment in the file path:
 * every database walked in key order from one read snapshot and appended.
 * Measured at 100,000 receipts: 186 MB against 306 MB for LMDB's own
 * compacting copy (mdb_env_copy2 with MDB_CP_COMPACT), which keeps each
 * page as full as the index had it, about two thirds after a life of
 * inserts; the walk takes about 0.3 s longer (0.55 s), and a backup then
 * hashes, compresses and writes two fifths less, and a restore too. */
int
cu_index_copy(cu_index *ix, const char *path)
{
	MDB_env *env = NULL;
	MDB_txn *rt = NULL, *wt = NULL;
	size_t pending = 0;
	int rc, error = 0;

	if ((rc = mdb_env_create(&env)) != 0) {
		env = NULL;
		goto done;
	}
	/* no lock file and no flush: the copy is this caller's alone, and a
	 * temporary file that it reads back at once */
	if ((rc = mdb_env_set_maxdbs(env, INDEX_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, INDEX_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC | MDB_NOTLS,
		0600)) != 0 ||
	    (rc = mdb_txn_begin(ix->env, NULL, MDB_RDONLY, &rt)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &wt)) != 0)
		goto done;
	for (int i = 0; i < DB_COUNT && rc == 0; i++)
		rc = copy_db(env, &wt, rt, ix->dbi[i], db_spec[i].name, db_spec[i].flags, &pending);
	if (rc == 0) {
		rc = mdb_txn_commit(wt);
		wt = NULL;
	}
done:
	if (wt != NULL)
		mdb_txn_abort(wt);
	if (rt != NULL)
		mdb_txn_abort(rt);
	if (env != NULL)
		mdb_env_close(env);
	if (rc != 0)
		error = cu_error_set(CU_ERROR, "index: copy to %s failed: %s", path,
			mdb_strerror(rc));
	return error;
}

/* Opens or creates the environment in dir; see the header and the notes at
 * the top of this file for the map size and flush policy. */
/* Writers of this process map the index writable (cu_index_set_writemap). */
static int writemap_on;

/* Room a write-mapped writer leaves itself beyond the pages in use (LMDB
 * extends the file to its map size when it maps it writable: a sparse tail). */
#define WRITEMAP_HEADROOM ((size_t)2 << 30)

void
cu_index_set_writemap(int on)
{
	writemap_on = on;
}

int
cu_index_open(cu_index **out, const char *dir, int writable)
{
	cu_index *ix = NULL;
	char data[PATH_MAX];
	MDB_envinfo info;
	struct stat st;
	unsigned int flags = MDB_NOTLS;
	int rc, error = 0;

	*out = NULL;
	if ((size_t)snprintf(data, sizeof(data), "%s/data.mdb", dir) >= sizeof(data))
		return cu_error_set(CU_EINVALID, "%s: path too long", dir);
	if (writable) {
		/* 0700: the index holds HMACs of ID numbers */
		if ((error = cu_mkdir_p(dir, 0700)) < 0)
			return error;
	} else if (stat(data, &st) < 0) {
		/* stat, not access: a process acting for a user (real uid) with the
		 * archive owner's rights (effective uid) must see the index */
		if (errno == ENOENT || errno == ENOTDIR)
			return cu_error_set(CU_ENOTFOUND, "%s: index not built", dir);
		return cu_error_sys("%s", data);
	}
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	ix->writable = writable != 0;
	if ((rc = mdb_env_create(&ix->env)) != 0) {
		ix->env = NULL;
		error = lmdb_error(rc, "creating environment");
		goto done;
	}
	if ((rc = mdb_env_set_maxdbs(ix->env, INDEX_MAXDBS)) != 0) {
		error = lmdb_error(rc, "setting database count");
		goto done;
	}
	if (!writable)
		flags |= MDB_RDONLY;
	if (writable && writemap_on) {
		/* the map covers what is in use (the file's allocated blocks: its
		 * tail beyond is sparse) plus the headroom; set before opening, as
		 * LMDB sizes the file to it */
		size_t used = stat(data, &st) == 0 ? (size_t)st.st_blocks * 512 : 0;
		size_t size = (used + WRITEMAP_HEADROOM + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
		flags |= MDB_WRITEMAP;
		if ((rc = mdb_env_set_mapsize(ix->env, size)) != 0) {
			error = lmdb_error(rc, "setting map size");
			goto done;
		}
	}
	if ((rc = mdb_env_open(ix->env, dir, flags, 0600)) != 0) {
		error = cu_error_set(rc == ENOENT ? CU_ENOTFOUND : CU_ERROR, "%s: opening index: %s",
			dir, mdb_strerror(rc));
		goto done;
	}
	/* Without a size set before opening, LMDB took the one the file
	 * records (or its 1 MiB default for a new file); raise it to ours
	 * unless the file already asks for more.  No transaction is live yet,
	 * which mdb_env_set_mapsize() requires. */
	if ((rc = mdb_env_info(ix->env, &info)) != 0) {
		error = lmdb_error(rc, "reading environment info");
		goto done;
	}
	if (!(flags & MDB_WRITEMAP) && info.me_mapsize < INDEX_MAPSIZE &&
		(rc = mdb_env_set_mapsize(ix->env, INDEX_MAPSIZE)) != 0) {
		error = lmdb_error(rc, "setting map size");
		goto done;
	}
	ix->maxkey = (size_t)mdb_env_get_maxkeysize(ix->env);
	if ((error = open_dbs(ix, dir)) < 0)
		goto done;
	*out = ix;
	ix = NULL;
done:
	cu_index_free(ix);
	return error;
}

/* MDB_NOSYNC on or off for this handle's commits (see the header). */
int
cu_index_set_durable(cu_index *ix, int durable)
{
	int rc = mdb_env_set_flags(ix->env, MDB_NOSYNC, durable ? 0 : 1);

	if (rc != 0)
		return lmdb_error(rc, "setting the flush policy");
	return 0;
}

/* Closes the environment; every transaction must have ended. */
void
cu_index_free(cu_index *ix)
{
	if (ix == NULL)
		return;
	if (ix->env != NULL)
		mdb_env_close(ix->env);
	free(ix);
}

/* Begins a transaction.  If another process has grown the map beyond ours
 * (MDB_MAP_RESIZED), adopt its size and retry once; LMDB allows that only
 * while this process has no live transaction, so otherwise report it. */
int
cu_index_begin(cu_index_txn **out, cu_index *ix, int write)
{
	cu_index_txn *t;
	unsigned int flags = write ? 0 : MDB_RDONLY;
	int rc;

	*out = NULL;
	if (write && !ix->writable)
		return cu_error_set(CU_EINVALID, "index: opened read-only, cannot write");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	rc = mdb_txn_begin(ix->env, NULL, flags, &t->txn);
	if (rc == MDB_MAP_RESIZED && __atomic_load_n(&ix->live_txns, __ATOMIC_SEQ_CST) == 0) {
		if ((rc = mdb_env_set_mapsize(ix->env, 0)) == 0)
			rc = mdb_txn_begin(ix->env, NULL, flags, &t->txn);
	}
	if (rc != 0) {
		free(t);
		return lmdb_error(rc, write ? "beginning write" : "beginning read");
	}
	t->ix = ix;
	t->write = write != 0;
	__atomic_add_fetch(&ix->live_txns, 1, __ATOMIC_SEQ_CST);
	*out = t;
	return 0;
}

static void
txn_release(cu_index_txn *t)
{
	__atomic_sub_fetch(&t->ix->live_txns, 1, __ATOMIC_SEQ_CST);
	scratch_free(&t->scratch);
	free(t);
}

/* Commits a write transaction (durable on return) or ends a read one;
 * frees t either way. */
int
cu_index_commit(cu_index_txn *t)
{
	int rc, error = 0;

	if (t == NULL)
		return 0;
	if (t->write) {
		if ((rc = mdb_txn_commit(t->txn)) != 0)
			error = lmdb_error(rc, "commit");
	} else {
		mdb_txn_abort(t->txn);
	}
	txn_release(t);
	return error;
}

/* Discards the transaction's changes and frees it.  NULL is a no-op. */
void
cu_index_abort(cu_index_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	txn_release(t);
}

/* ---- head --------------------------------------------------------------- */

/* Copies the recorded history commit into head, "" when none. */
int
cu_index_get_head(char head[41], cu_index_txn *t)
{
	MDB_val k = { 4, "head" }, v;
	int rc;

	head[0] = '\0';
	rc = mdb_get(t->txn, t->ix->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_error(rc, "reading head");
	if (v.mv_size > 40)
		return damaged("head is longer than 40 characters");
	memcpy(head, v.mv_data, v.mv_size);
	head[v.mv_size] = '\0';
	return 0;
}

/* Records head (40 hex digits, or "" to forget it). */
int
cu_index_set_head(cu_index_txn *t, const char *head)
{
	MDB_val k = { 4, "head" }, v;
	size_t n = strlen(head);
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	if (n == 0) {
		rc = mdb_del(t->txn, t->ix->dbi[DB_META], &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return lmdb_error(rc, "clearing head");
		return 0;
	}
	if (n != 40)
		return cu_error_set(CU_EINVALID, "index: head must be 40 hex digits");
	for (size_t i = 0; i < n; i++)
		if (cu_hex_digit((unsigned char)head[i]) < 0)
			return cu_error_set(CU_EINVALID, "index: head must be 40 hex digits");
	v.mv_size = n;
	v.mv_data = (void *)head;
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_META], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing head");
	return 0;
}

/* ---- tokens ------------------------------------------------------------- */

static int
is_cjk(long cp)
{
	return (cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
		(cp >= 0x20000 && cp <= 0x2FFFF);
}

struct tokenizer {
	struct tok_scratch *s;
	size_t              used;    /* bytes of s->buf in use */
	size_t              ntoks;
	uint32_t            mask;    /* slots in use this call, minus one */
	cu_token_cb         cb;
	void               *payload;
};

/* Sizes the scratch for a text of n bytes.  A text of n bytes has at most n
 * tokens (every token consumes at least one byte of its own, and a CJK run
 * of k characters yields at most k tokens) holding at most 2n bytes (each
 * CJK character is in at most two bigrams), plus one NUL per token. */
static int
scratch_reserve(struct tokenizer *tz, size_t n)
{
	struct tok_scratch *s = tz->s;
	size_t slots = 16;

	if (n > UINT32_MAX / 4)
		return cu_error_set(CU_ELIMIT, "index: text of %zu bytes is too long to tokenise", n);
	while (slots < 2 * (n + 1))
		slots *= 2;
	if (s->bufcap < 3 * n + 1) {
		char *p = realloc(s->buf, 3 * n + 1);
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		s->buf = p;
		s->bufcap = 3 * n + 1;
	}
	if (s->tokcap < n + 1) {
		struct tok *p = realloc(s->toks, (n + 1) * sizeof(*p));
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		s->toks = p;
		s->tokcap = n + 1;
	}
	if (s->slotcap < slots) {
		uint32_t *p = realloc(s->slots, slots * sizeof(*p));
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		s->slots = p;
		s->slotcap = slots;
	}
	memset(s->slots, 0, slots * sizeof(*s->slots));
	tz->mask = (uint32_t)(slots - 1);
	tz->used = 0;
	tz->ntoks = 0;
	return 0;
}

/* Records one token and calls the callback if it is new in this text. */
static int
emit(struct tokenizer *tz, const char *tok, size_t len)
{
	struct tok_scratch *s = tz->s;
	uint32_t h = 2166136261u;
	uint32_t i;

	for (size_t k = 0; k < len; k++)
		h = (h ^ (unsigned char)tok[k]) * 16777619u;
	for (i = h & tz->mask; s->slots[i] != 0; i = (i + 1) & tz->mask) {
		const struct tok *o = &s->toks[s->slots[i] - 1];
		if (o->hash == h && o->len == len && memcmp(s->buf + o->off, tok, len) == 0)
			return 0;
	}
	s->toks[tz->ntoks].off = (uint32_t)tz->used;
	s->toks[tz->ntoks].len = (uint32_t)len;
	s->toks[tz->ntoks].hash = h;
	s->slots[i] = (uint32_t)++tz->ntoks;
	memcpy(s->buf + tz->used, tok, len);
	s->buf[tz->used + len] = '\0';
	tz->used += len + 1;
	return tz->cb(s->buf + tz->used - len - 1, len, tz->payload);
}

/* The tokenizer proper, using caller-owned scratch (see cu_index_tokens). */
static int
tokenize(struct tok_scratch *s, const char *text, cu_token_cb cb, void *payload)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text), pos = 0;
	struct tokenizer tz = { .s = s, .cb = cb, .payload = payload };
	char word[TOKEN_MAX];
	size_t wlen = 0, inword = 0;
	size_t prev_off = 0, run = 0;   /* current CJK run: previous char, length */
	int error;

	if ((error = scratch_reserve(&tz, n)) < 0)
		return error;
	while (pos <= n) {
		size_t next = pos, adv;
		/* a byte that starts no well-formed character acts as a separator */
		long cp = pos < n ? cu_utf8_next(p, n, &next) : -1;

		adv = cp < 0 ? 1 : next - pos;
		int alnum = cp >= 0 && cp < 0x80 &&
			((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'));
		int cjk = cp >= 0 && is_cjk(cp);

		if (!alnum && inword) {
			if ((error = emit(&tz, word, wlen)) != 0)
				return error;
			inword = wlen = 0;
		}
		if (!cjk && run > 0) {
			/* a lone CJK character is its own token; longer runs
			 * were emitted as bigrams on the way */
			if (run == 1 && (error = emit(&tz, text + prev_off, pos - prev_off)) != 0)
				return error;
			run = 0;
		}
		if (alnum) {
			inword = 1;
			/* words longer than TOKEN_MAX are cut, the same way for
			 * records and queries, so they still match */
			if (wlen < TOKEN_MAX)
				word[wlen++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
		} else if (cjk) {
			if (run > 0 && (error = emit(&tz, text + prev_off, pos + adv - prev_off)) != 0)
				return error;
			prev_off = pos;
			run++;
		}
		pos += adv;
	}
	return 0;
}

/* Splits text into tokens (rules in the header) and calls cb once per
 * distinct token, with a NUL-terminated copy valid during the call.  A
 * non-zero return from cb stops the split and is returned. */
int
cu_index_tokens(const char *text, cu_token_cb cb, void *payload)
{
	struct tok_scratch s = { 0 };
	int error;

	if (text == NULL)
		return 0;
	error = tokenize(&s, text, cb, payload);
	scratch_free(&s);
	return error;
}

/* ---- put ---------------------------------------------------------------- */

struct put_ctx {
	cu_index_txn  *t;
	unsigned char *posting;   /* time_be ‖ id */
	int            file;      /* file-name tokens: keyed with FILE_TOKEN first */
};

/* File names are tokenised like text and kept in the text database under
 * this prefix byte, which no text token starts with. */
#define FILE_TOKEN '\x01'

/* tok, with FILE_TOKEN in front for a file name token, into buf[80]. */
static size_t
token_key(char *buf, const char *tok, size_t len, int file)
{
	size_t o = 0;

	if (file)
		buf[o++] = FILE_TOKEN;
	memcpy(buf + o, tok, len);
	return o + len;
}

static int
put_posting(cu_index_txn *t, int db, const void *key, size_t klen,
	const unsigned char posting[POSTING_LEN], const char *what)
{
	MDB_val k = { klen, (void *)key }, v = { POSTING_LEN, (void *)posting };
	int rc;

	if ((rc = mdb_put(t->txn, t->ix->dbi[db], &k, &v, 0)) != 0)
		return lmdb_error(rc, what);
	return 0;
}

static int
put_token(const char *tok, size_t len, void *payload)
{
	struct put_ctx *c = payload;
	char key[80];

	/* tokens are at most 64 bytes (or two 4-byte characters): always
	 * within LMDB's key size */
	return put_posting(c->t, DB_TEXT, key, token_key(key, tok, len, c->file), c->posting,
		"writing text token");
}

#define NTERMS 11
static const char *const term_fields[NTERMS] = {
	"org", "service", "insurance", "channel", "operator", "agency", "kind", "case",
	"case_type", "scheme", "period"
};

/* The term values of an entry or query, in term_fields order. */
#define term_values(vals, x) do { \
	(vals)[0] = (x)->org; (vals)[1] = (x)->service; (vals)[2] = (x)->insurance; \
	(vals)[3] = (x)->channel; (vals)[4] = (x)->operator_; (vals)[5] = (x)->agency; \
	(vals)[6] = (x)->kind; (vals)[7] = (x)->case_no; (vals)[8] = (x)->case_type; \
	(vals)[9] = (x)->scheme; (vals)[10] = (x)->period; \
} while (0)

/* Builds "<field>=<value>" into buf (bufsz bytes); returns its length, or
 * SIZE_MAX if it does not fit. */
static size_t
term_key(char *buf, size_t bufsz, const char *field, const char *value)
{
	size_t fl = strlen(field), vl = strlen(value);

	if (fl + 1 + vl > bufsz)
		return SIZE_MAX;
	memcpy(buf, field, fl);
	buf[fl] = '=';
	memcpy(buf + fl + 1, value, vl);
	return fl + 1 + vl;
}

/* Indexes one record under every key.  A record already present (by id) is
 * left alone and 0 returned.  The ref and identity key must not name
 * another record: CU_EEXISTS (ref) or CU_ECONFLICT (identity key), checked
 * before anything is written so that the transaction stays usable.
 * A ref written with '-' for '·' is stored in its normal form. */
int
cu_index_put(cu_index_txn *t, const cu_index_entry *e)
{
	MDB_dbi *dbi = t->ix->dbi;
	unsigned char posting[POSTING_LEN], rkval[64];
	char ref[512], term[512];
	const char *vals[NTERMS];
	size_t term_len[NTERMS], ref_len = 0, rkey_len = 0;
	MDB_val k, v;
	struct put_ctx pc = { t, posting, 0 };
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	k.mv_size = 32;
	k.mv_data = (void *)e->id;
	rc = mdb_get(t->txn, dbi[DB_REC], &k, &v);
	if (rc == 0)
		return 0;
	if (rc != MDB_NOTFOUND)
		return lmdb_error(rc, "reading record");
	if (e->summary_json == NULL)
		return cu_error_set(CU_EINVALID, "index: record has no summary");

	/* Validate everything before the first write. */
	if (e->ref != NULL) {
		if (cu_index_normalize_ref(ref, sizeof(ref), e->ref) == 0) {
			ref_len = strlen(ref);
		} else {
			cu_error_clear();
			if ((ref_len = strlen(e->ref)) >= sizeof(ref))
				return cu_error_set(CU_EINVALID, "index: ref is too long");
			memcpy(ref, e->ref, ref_len + 1);
		}
		if ((error = check_key(t, "ref", ref_len)) < 0)
			return error;
		k.mv_size = ref_len;
		k.mv_data = ref;
		rc = mdb_get(t->txn, dbi[DB_REF], &k, &v);
		if (rc == 0)
			return cu_error_set(CU_EEXISTS, "index: ref %s already names another record", ref);
		if (rc != MDB_NOTFOUND)
			return lmdb_error(rc, "reading ref");
	}
	if (e->rkey != NULL) {
		rkey_len = strlen(e->rkey);
		if ((error = check_key(t, "identity key", rkey_len)) < 0)
			return error;
		k.mv_size = rkey_len;
		k.mv_data = (void *)e->rkey;
		rc = mdb_get(t->txn, dbi[DB_RKEY], &k, &v);
		if (rc == 0)
			return cu_error_set(CU_ECONFLICT,
				"index: identity %s already names another record", e->rkey);
		if (rc != MDB_NOTFOUND)
			return lmdb_error(rc, "reading identity key");
	}
	term_values(vals, e);
	for (int i = 0; i < NTERMS; i++) {
		if (vals[i] == NULL)
			continue;
		term_len[i] = strlen(term_fields[i]) + 1 + strlen(vals[i]);
		if ((error = check_key(t, term_fields[i], term_len[i])) < 0)
			return error;
	}

	/* rec, ref, rkey, content, time.  The summary lives in the time
	 * database, whose keys mostly arrive in order (receipts are archived
	 * roughly as they are issued), so its pages fill at the end; rec, whose
	 * keys are random ids, holds only the 8-byte time.  Measured: a batch
	 * then dirties far fewer pages, and ingest no longer slows and grows
	 * in memory as the archive grows. */
	time_be(posting, e->time);
	memcpy(posting + TIME_BE_LEN, e->id, 32);
	k.mv_size = 32;
	k.mv_data = (void *)e->id;
	v.mv_size = TIME_BE_LEN;
	v.mv_data = posting;
	if ((rc = mdb_put(t->txn, dbi[DB_REC], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing record");
	if (e->ref != NULL) {
		k.mv_size = ref_len;
		k.mv_data = ref;
		v.mv_size = 32;
		v.mv_data = (void *)e->id;
		if ((rc = mdb_put(t->txn, dbi[DB_REF], &k, &v, 0)) != 0)
			return lmdb_error(rc, "writing ref");
	}
	if (e->rkey != NULL) {
		memcpy(rkval, e->id, 32);
		memcpy(rkval + 32, e->rkey_digest, 32);
		k.mv_size = rkey_len;
		k.mv_data = (void *)e->rkey;
		v.mv_size = 64;
		v.mv_data = rkval;
		if ((rc = mdb_put(t->txn, dbi[DB_RKEY], &k, &v, 0)) != 0)
			return lmdb_error(rc, "writing identity key");
	}
	if (e->has_content) {
		k.mv_size = 32;
		k.mv_data = (void *)e->content;
		v.mv_size = 32;
		v.mv_data = (void *)e->id;
		if ((rc = mdb_put(t->txn, dbi[DB_CONTENT], &k, &v, 0)) != 0)
			return lmdb_error(rc, "writing content");
	}
	for (size_t i = 0; i < e->n_more_content; i++) {
		k.mv_size = 32;
		k.mv_data = (void *)e->more_content[i];
		v.mv_size = 32;
		v.mv_data = (void *)e->id;
		if ((rc = mdb_put(t->txn, dbi[DB_CONTENT], &k, &v, 0)) != 0)
			return lmdb_error(rc, "writing content");
	}
	k.mv_size = POSTING_LEN;
	k.mv_data = posting;
	v.mv_size = strlen(e->summary_json);
	v.mv_data = (void *)e->summary_json;
	if ((rc = mdb_put(t->txn, dbi[DB_TIME], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing time");

	/* postings: person, terms, text */
	if (e->has_person &&
		(error = put_posting(t, DB_PERSON, e->person, 32, posting, "writing person")) < 0)
		return error;
	for (int i = 0; i < NTERMS; i++) {
		if (vals[i] == NULL)
			continue;
		term_key(term, sizeof(term), term_fields[i], vals[i]);
		if ((error = put_posting(t, DB_TERM, term, term_len[i], posting, "writing term")) < 0)
			return error;
	}
	if (e->text != NULL && (error = tokenize(&t->scratch, e->text, put_token, &pc)) < 0)
		return error;
	pc.file = 1;
	if (e->file_names != NULL &&
	    (error = tokenize(&t->scratch, e->file_names, put_token, &pc)) < 0)
		return error;
	return 0;
}

/* ---- lookups ------------------------------------------------------------ */

/* Identity key -> id and fields digest. */
int
cu_index_get_rkey(cu_index_txn *t, const char *rkey, unsigned char id[32],
	unsigned char digest[32])
{
	MDB_val k = { strlen(rkey), (void *)rkey }, v;
	int rc;

	if (k.mv_size == 0 || k.mv_size > t->ix->maxkey)
		return cu_error_set(CU_ENOTFOUND, "no record with identity %s", rkey);
	rc = mdb_get(t->txn, t->ix->dbi[DB_RKEY], &k, &v);
	if (rc == MDB_NOTFOUND)
		return cu_error_set(CU_ENOTFOUND, "no record with identity %s", rkey);
	if (rc != 0)
		return lmdb_error(rc, "reading identity key");
	if (v.mv_size != 64)
		return damaged("identity entry is not 64 bytes");
	memcpy(id, v.mv_data, 32);
	memcpy(digest, (const unsigned char *)v.mv_data + 32, 32);
	return 0;
}

/* Rewrites a ref in its normal form "F-C·Y-R-K-N" into out: the input is
 * split at every '-' and '·' and must give six non-empty parts (fonds,
 * category, year, retention, class, item), which no ref part contains.
 * CU_EINVALID "not a ref" otherwise, or if out (outsz bytes) is too small. */
int
cu_index_normalize_ref(char *out, size_t outsz, const char *in)
{
	const char *part[6], *p = in, *start = in;
	int plen[6];
	size_t n = 0, len;

	for (;;) {
		size_t sep = 0;

		if (*p == '-')
			sep = 1;
		else if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xB7)
			sep = 2;
		if (sep == 0 && *p != '\0') {
			p++;
			continue;
		}
		if (n == 6 || p == start || p - start > INT_MAX)
			return cu_error_set(CU_EINVALID, "%s: not a ref", in);
		part[n] = start;
		plen[n] = (int)(p - start);
		n++;
		if (*p == '\0')
			break;
		p += sep;
		start = p;
	}
	if (n != 6)
		return cu_error_set(CU_EINVALID, "%s: not a ref", in);
	len = (size_t)snprintf(out, outsz, "%.*s-%.*s\xC2\xB7%.*s-%.*s-%.*s-%.*s",
		plen[0], part[0], plen[1], part[1], plen[2], part[2],
		plen[3], part[3], plen[4], part[4], plen[5], part[5]);
	if (len >= outsz)
		return cu_error_set(CU_EINVALID, "%s: not a ref (too long)", in);
	return 0;
}

/* Ref (either separator form) -> id. */
int
cu_index_get_ref(cu_index_txn *t, const char *ref, unsigned char id[32])
{
	char norm[512];
	MDB_val k, v;
	int rc, error;

	if ((error = cu_index_normalize_ref(norm, sizeof(norm), ref)) < 0)
		return error;
	k.mv_size = strlen(norm);
	k.mv_data = norm;
	if (k.mv_size > t->ix->maxkey)
		return cu_error_set(CU_ENOTFOUND, "no record with ref %s", norm);
	rc = mdb_get(t->txn, t->ix->dbi[DB_REF], &k, &v);
	if (rc == MDB_NOTFOUND)
		return cu_error_set(CU_ENOTFOUND, "no record with ref %s", norm);
	if (rc != 0)
		return lmdb_error(rc, "reading ref");
	if (v.mv_size != 32)
		return damaged("ref entry is not 32 bytes");
	memcpy(id, v.mv_data, 32);
	return 0;
}

/* Does the 32-byte key k start with the n hex digits in pre (packed, high
 * nibble first)? */
static int
id_has_prefix(const MDB_val *k, const unsigned char *pre, size_t n)
{
	const unsigned char *b = k->mv_data;

	if (k->mv_size != 32 || memcmp(b, pre, n / 2) != 0)
		return 0;
	return n % 2 == 0 || (b[n / 2] >> 4) == (pre[n / 2] >> 4);
}

/* Hex prefix (12 to 64 digits, either case, odd lengths too) -> the one id
 * it names.  Seeks to the packed prefix (an odd last digit padded with 0,
 * which sorts first among ids with that digit) and counts the matches
 * from there, up to PREFIX_COUNT_MAX for the message. */
int
cu_index_get_id_prefix(cu_index_txn *t, const char *hex, unsigned char id[32])
{
	unsigned char pre[32] = { 0 };
	size_t n = strlen(hex), count = 0;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc, error = 0;

	if (n < 12 || n > 64)
		return cu_error_set(CU_EINVALID, "id prefix must have 12 to 64 hex digits, not %zu", n);
	for (size_t i = 0; i < n; i++) {
		int d = cu_hex_digit((unsigned char)hex[i]);
		if (d < 0)
			return cu_error_set(CU_EINVALID, "%s: not a hex id", hex);
		pre[i / 2] |= (unsigned char)(i % 2 ? d : d << 4);
	}
	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_REC], &c)) != 0)
		return lmdb_error(rc, "opening cursor");
	k.mv_size = (n + 1) / 2;
	k.mv_data = pre;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && id_has_prefix(&k, pre, n)) {
		if (count == 0)
			memcpy(id, k.mv_data, 32);
		if (++count > PREFIX_COUNT_MAX)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		error = lmdb_error(rc, "reading records");
		goto done;
	}
	if (count == 0)
		error = cu_error_set(CU_ENOTFOUND, "no record with id %s", hex);
	else if (count > PREFIX_COUNT_MAX)
		error = cu_error_set(CU_EAMBIGUOUS, "id prefix %s matches more than %d records",
			hex, PREFIX_COUNT_MAX);
	else if (count > 1)
		error = cu_error_set(CU_EAMBIGUOUS, "id prefix %s matches %zu records", hex, count);
done:
	mdb_cursor_close(c);
	return error;
}

/* Content digest -> the first record with it, in id order. */
int
cu_index_get_content(cu_index_txn *t, const unsigned char digest[32],
	unsigned char id[32])
{
	MDB_val k = { 32, (void *)digest }, v;
	char hex[CU_SHA256_HEX];
	int rc;

	rc = mdb_get(t->txn, t->ix->dbi[DB_CONTENT], &k, &v);
	if (rc == MDB_NOTFOUND) {
		cu_hex(hex, digest, 32);
		return cu_error_set(CU_ENOTFOUND, "no record with content %s", hex);
	}
	if (rc != 0)
		return lmdb_error(rc, "reading content");
	if (v.mv_size != 32)
		return damaged("content entry is not 32 bytes");
	memcpy(id, v.mv_data, 32);
	return 0;
}

/* A record's summary JSON as a new NUL-terminated string. */
int
cu_index_get_summary(char **json, cu_index_txn *t, const unsigned char id[32])
{
	MDB_val k = { 32, (void *)id }, v;
	unsigned char posting[POSTING_LEN];
	char hex[CU_SHA256_HEX];
	int rc;

	*json = NULL;
	rc = mdb_get(t->txn, t->ix->dbi[DB_REC], &k, &v);
	if (rc == MDB_NOTFOUND) {
		cu_hex(hex, id, 32);
		return cu_error_set(CU_ENOTFOUND, "no record with id %s", hex);
	}
	if (rc != 0)
		return lmdb_error(rc, "reading record");
	if (v.mv_size != TIME_BE_LEN)
		return damaged("a rec entry is not a time");
	memcpy(posting, v.mv_data, TIME_BE_LEN);
	memcpy(posting + TIME_BE_LEN, id, 32);
	k.mv_size = POSTING_LEN;
	k.mv_data = posting;
	rc = mdb_get(t->txn, t->ix->dbi[DB_TIME], &k, &v);
	if (rc == MDB_NOTFOUND)
		return damaged("a record has no time entry");
	if (rc != 0)
		return lmdb_error(rc, "reading record");
	if ((*json = malloc(v.mv_size + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memcpy(*json, v.mv_data, v.mv_size);
	(*json)[v.mv_size] = '\0';
	return 0;
}

/* ---- item numbers ------------------------------------------------------- */

static int
item_get(uint32_t *last, cu_index_txn *t, const char *class_key)
{
	MDB_val k = { strlen(class_key), (void *)class_key }, v;
	const unsigned char *b;
	int rc, error;

	*last = 0;
	if ((error = check_key(t, "class key", k.mv_size)) < 0)
		return error;
	rc = mdb_get(t->txn, t->ix->dbi[DB_ITEM], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_error(rc, "reading item number");
	if (v.mv_size != 4)
		return damaged("item number is not 4 bytes");
	b = v.mv_data;
	*last = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int
item_put(cu_index_txn *t, const char *class_key, uint32_t item)
{
	unsigned char b[4] = {
		(unsigned char)item, (unsigned char)(item >> 8),
		(unsigned char)(item >> 16), (unsigned char)(item >> 24)
	};
	MDB_val k = { strlen(class_key), (void *)class_key }, v = { 4, b };
	int rc;

	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_ITEM], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing item number");
	return 0;
}

/* Hands out last + 1 (1 for a new class) and records it. */
int
cu_index_next_item(uint32_t *item, cu_index_txn *t, const char *class_key)
{
	uint32_t last;
	int error;

	*item = 0;
	if ((error = need_write(t)) < 0 || (error = item_get(&last, t, class_key)) < 0)
		return error;
	if (last == UINT32_MAX)
		return cu_error_set(CU_ELIMIT, "%s: no item numbers left", class_key);
	if ((error = item_put(t, class_key, last + 1)) < 0)
		return error;
	*item = last + 1;
	return 0;
}

/* Raises the class's last number to item if item is above it. */
int
cu_index_note_item(cu_index_txn *t, const char *class_key, uint32_t item)
{
	uint32_t last;
	int error;

	if ((error = need_write(t)) < 0 || (error = item_get(&last, t, class_key)) < 0)
		return error;
	if (item <= last)
		return 0;
	return item_put(t, class_key, item);
}

/* The class's last number, 0 if it has none. */
int
cu_index_last_item(uint32_t *item, cu_index_txn *t, const char *class_key)
{
	return item_get(item, t, class_key);
}

/* ---- object locations and packs ---------------------------------------- */

/* Records that the object `digest` is at offset/size in pack (a file name
 * of 1 to 255 bytes). */
int
cu_index_put_objloc(cu_index_txn *t, const unsigned char digest[32],
	const char *pack, uint64_t offset, uint64_t size)
{
	unsigned char buf[256 + 16];
	size_t n = strlen(pack);
	MDB_val k = { 32, (void *)digest }, v;
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	if (n == 0 || n > 255)
		return cu_error_set(CU_EINVALID, "index: pack name must be 1 to 255 bytes");
	memcpy(buf, pack, n);
	buf[n] = '\0';
	put_u64le(buf + n + 1, offset);
	put_u64le(buf + n + 9, size);
	v.mv_size = n + 17;
	v.mv_data = buf;
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_OBJLOC], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing object location");
	return 0;
}

/* Where object `digest` is packed; CU_ENOTFOUND if it is not in a pack. */
int
cu_index_get_objloc(cu_index_txn *t, const unsigned char digest[32],
	char pack[256], uint64_t *offset, uint64_t *size)
{
	MDB_val k = { 32, (void *)digest }, v;
	const unsigned char *b, *nul;
	char hex[CU_SHA256_HEX];
	size_t n;
	int rc;

	rc = mdb_get(t->txn, t->ix->dbi[DB_OBJLOC], &k, &v);
	if (rc == MDB_NOTFOUND) {
		cu_hex(hex, digest, 32);
		return cu_error_set(CU_ENOTFOUND, "object %s is not in a pack", hex);
	}
	if (rc != 0)
		return lmdb_error(rc, "reading object location");
	b = v.mv_data;
	nul = memchr(b, '\0', v.mv_size < 256 ? v.mv_size : 256);
	if (nul == NULL || nul == b || v.mv_size != (size_t)(nul - b) + 17)
		return damaged("malformed object location");
	n = (size_t)(nul - b);
	memcpy(pack, b, n + 1);
	*offset = get_u64le(b + n + 1);
	*size = get_u64le(b + n + 9);
	return 0;
}

/* 1 if pack is recorded, 0 if not, or a negative code. */
int
cu_index_has_pack(cu_index_txn *t, const char *pack)
{
	MDB_val k = { strlen(pack), (void *)pack }, v;
	int rc;

	if (k.mv_size == 0 || k.mv_size > t->ix->maxkey)
		return 0;
	rc = mdb_get(t->txn, t->ix->dbi[DB_PACKS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_error(rc, "reading packs");
	return 1;
}

/* Records pack as one whose members are in objloc. */
int
cu_index_put_pack(cu_index_txn *t, const char *pack)
{
	MDB_val k = { strlen(pack), (void *)pack }, v = { 0, "" };
	int rc, error;

	if ((error = need_write(t)) < 0 || (error = check_key(t, "pack name", k.mv_size)) < 0)
		return error;
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_PACKS], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing pack");
	return 0;
}

/* ---- events ------------------------------------------------------------- */

/* Adds an event to a record's list (kept in time order by the dupsort
 * value); adding the same event twice leaves one entry. */
int
cu_index_put_event(cu_index_txn *t, const unsigned char record_id[32],
	int64_t time, const unsigned char event_id[32])
{
	unsigned char posting[POSTING_LEN];
	int error;

	if ((error = need_write(t)) < 0)
		return error;
	time_be(posting, time);
	memcpy(posting + TIME_BE_LEN, event_id, 32);
	return put_posting(t, DB_EVENTS, record_id, 32, posting, "writing event");
}

/* ---- search ------------------------------------------------------------- */

/* One key list of a query: the postings of a person, a term or a token. */
struct list {
	MDB_dbi     dbi;
	MDB_val     key;
	size_t      koff;    /* key bytes in the arena (pointers fixed later) */
	MDB_cursor *cur;
	size_t      count;
};

struct search {
	cu_index_txn *t;
	struct list  *lists;
	size_t        n, cap;
	char         *arena;
	size_t        used, arenacap;
	char         *summary;   /* NUL-terminated copy handed to the callback */
	size_t        summarycap;
	size_t        ntokens;
	int           file;       /* adding file-name tokens */
};

static int
add_list(struct search *s, int db, const void *key, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct list *p = realloc(s->lists, cap * sizeof(*p));
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		s->lists = p;
		s->cap = cap;
	}
	if (s->used + len > s->arenacap) {
		size_t cap = s->arenacap ? s->arenacap : 1024;
		char *p;
		while (cap < s->used + len)
			cap *= 2;
		if ((p = realloc(s->arena, cap)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		s->arena = p;
		s->arenacap = cap;
	}
	memcpy(s->arena + s->used, key, len);
	s->lists[s->n] = (struct list){ .dbi = s->t->ix->dbi[db], .koff = s->used };
	s->lists[s->n].key.mv_size = len;
	s->n++;
	s->used += len;
	return 0;
}

static int
add_token(const char *tok, size_t len, void *payload)
{
	struct search *s = payload;
	char key[80];

	s->ntokens++;
	return add_list(s, DB_TEXT, key, token_key(key, tok, len, s->file));
}

/* Positions the driver on its newest posting at or before `to` (if given)
 * and returns it in *cand.  For the time database the posting is the key;
 * for the others the value under the list's key. */
static int
drive_first(struct list *d, int timedb, const cu_index_query *q, MDB_val *cand)
{
	unsigned char bound[POSTING_LEN];
	MDB_val k = d->key, v;
	int rc;

	if (q->has_to) {
		/* the largest possible posting with time `to`: everything
		 * at or before `to` sorts at or below it */
		time_be(bound, q->to);
		memset(bound + TIME_BE_LEN, 0xff, 32);
	}
	if (timedb) {
		if (!q->has_to) {
			rc = mdb_cursor_get(d->cur, &k, &v, MDB_LAST);
		} else {
			k.mv_size = POSTING_LEN;
			k.mv_data = bound;
			rc = mdb_cursor_get(d->cur, &k, &v, MDB_SET_RANGE);
			if (rc == 0 && (k.mv_size != POSTING_LEN || memcmp(k.mv_data, bound, POSTING_LEN) > 0))
				rc = mdb_cursor_get(d->cur, &k, &v, MDB_PREV);
			else if (rc == MDB_NOTFOUND)
				rc = mdb_cursor_get(d->cur, &k, &v, MDB_LAST);
		}
		*cand = k;
		return rc;
	}
	if (q->has_to) {
		v.mv_size = POSTING_LEN;
		v.mv_data = bound;
		rc = mdb_cursor_get(d->cur, &k, &v, MDB_GET_BOTH_RANGE);
		if (rc == 0) {
			/* the first posting at or above the bound: step back
			 * once unless it is the bound itself */
			if (memcmp(v.mv_data, bound, POSTING_LEN) > 0)
				rc = mdb_cursor_get(d->cur, &k, &v, MDB_PREV_DUP);
			*cand = v;
			return rc;
		}
		if (rc != MDB_NOTFOUND)
			return rc;
		/* every posting is at or before `to`: start from the newest */
		k = d->key;
	}
	if ((rc = mdb_cursor_get(d->cur, &k, &v, MDB_SET)) == 0)
		rc = mdb_cursor_get(d->cur, &k, &v, MDB_LAST_DUP);
	*cand = v;
	return rc;
}

/* Steps the driver to the next older posting. */
static int
drive_next(struct list *d, int timedb, MDB_val *cand)
{
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_get(d->cur, &k, &v, timedb ? MDB_PREV : MDB_PREV_DUP);
	*cand = timedb ? k : v;
	return rc;
}

/* Copies the summary of the record a posting (time_be ‖ id) names into
 * s->summary, NUL-terminated (LMDB values are not), reusing the buffer
 * across hits. */
static int
load_summary(struct search *s, const unsigned char *posting)
{
	MDB_val k = { POSTING_LEN, (void *)posting }, v;
	int rc;

	rc = mdb_get(s->t->txn, s->t->ix->dbi[DB_TIME], &k, &v);
	if (rc == MDB_NOTFOUND)
		return damaged("a posting names a record that is not in time");
	if (rc != 0)
		return lmdb_error(rc, "reading record");
	if (v.mv_size + 1 > s->summarycap) {
		size_t cap = v.mv_size + 1 < 4096 ? 4096 : v.mv_size + 1;
		char *p = realloc(s->summary, cap);
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		s->summary = p;
		s->summarycap = cap;
	}
	memcpy(s->summary, v.mv_data, v.mv_size);
	s->summary[v.mv_size] = '\0';
	return 0;
}

/* Runs a query (see the header).  The summary passed to cb is valid during
 * the call only.  A non-zero return from cb stops the search and is
 * returned.  A text with no words is CU_EINVALID; a query nothing can match
 * (unknown value, empty time range) simply has no hits. */
int
cu_index_search(cu_index_txn *t, const cu_index_query *q, cu_index_hit_cb cb,
	void *payload, size_t *total)
{
	struct search s = { .t = t };
	struct list timelist = { 0 }, *drv;
	MDB_val cand;
	const char *vals[NTERMS];
	char term[512];
	size_t skipped = 0, delivered = 0;
	int timedb, none = 0, rc, error = 0;

	term_values(vals, q);
	if (q->has_person && (error = add_list(&s, DB_PERSON, q->person, 32)) < 0)
		goto done;
	for (int i = 0; i < NTERMS; i++) {
		size_t len;
		if (vals[i] == NULL)
			continue;
		len = term_key(term, sizeof(term), term_fields[i], vals[i]);
		if (len > t->ix->maxkey) {
			none = 1;   /* too long to have been indexed */
			continue;
		}
		if ((error = add_list(&s, DB_TERM, term, len)) < 0)
			goto done;
	}
	if (q->text != NULL) {
		if ((error = cu_index_tokens(q->text, add_token, &s)) < 0)
			goto done;
		if (s.ntokens == 0) {
			error = cu_error_set(CU_EINVALID, "search text has no words");
			goto done;
		}
	}
	if (q->file_name != NULL) {
		s.file = 1;
		s.ntokens = 0;
		if ((error = cu_index_tokens(q->file_name, add_token, &s)) < 0)
			goto done;
		if (s.ntokens == 0) {
			error = cu_error_set(CU_EINVALID, "file name has no words");
			goto done;
		}
	}
	if (none || (q->has_from && q->has_to && q->from > q->to))
		goto done;

	/* Open every list; an empty one means no hits.  The shortest drives. */
	drv = NULL;
	for (size_t i = 0; i < s.n; i++) {
		struct list *l = &s.lists[i];
		MDB_val v;

		l->key.mv_data = s.arena + l->koff;
		if ((rc = mdb_cursor_open(t->txn, l->dbi, &l->cur)) != 0) {
			error = lmdb_error(rc, "opening cursor");
			goto done;
		}
		rc = mdb_cursor_get(l->cur, &l->key, &v, MDB_SET);
		if (rc == MDB_NOTFOUND)
			goto done;
		if (rc != 0 || (rc = mdb_cursor_count(l->cur, &l->count)) != 0) {
			error = lmdb_error(rc, "reading postings");
			goto done;
		}
		if (drv == NULL || l->count < drv->count)
			drv = l;
	}
	timedb = drv == NULL;
	if (timedb) {
		if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_TIME], &timelist.cur)) != 0) {
			error = lmdb_error(rc, "opening cursor");
			goto done;
		}
		drv = &timelist;
	}

	/* Walk the driver newest first; check the rest by exact lookup. */
	for (rc = drive_first(drv, timedb, q, &cand); rc == 0; rc = drive_next(drv, timedb, &cand)) {
		const unsigned char *p = cand.mv_data;
		int64_t when;
		size_t i;

		if (cand.mv_size != POSTING_LEN) {
			error = damaged("a posting is not 40 bytes");
			goto done;
		}
		when = time_from_be(p);
		if (q->has_to && when > q->to)
			continue;
		if (q->has_from && when < q->from)
			break;
		for (i = 0; i < s.n; i++) {
			MDB_val key = s.lists[i].key, val = { POSTING_LEN, (void *)p };

			if (&s.lists[i] == drv)
				continue;
			rc = mdb_cursor_get(s.lists[i].cur, &key, &val, MDB_GET_BOTH);
			if (rc == MDB_NOTFOUND)
				break;
			if (rc != 0) {
				error = lmdb_error(rc, "checking postings");
				goto done;
			}
		}
		if (i < s.n)
			continue;
		if (skipped < q->offset) {
			skipped++;
			continue;
		}
		if ((error = load_summary(&s, p)) < 0)
			goto done;
		delivered++;
		if ((error = cb(p + TIME_BE_LEN, s.summary, payload)) != 0)
			goto done;
		if (delivered == q->limit)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "reading postings");
done:
	for (size_t i = 0; i < s.n; i++)
		if (s.lists[i].cur != NULL)
			mdb_cursor_close(s.lists[i].cur);
	if (timelist.cur != NULL)
		mdb_cursor_close(timelist.cur);
	free(s.lists);
	free(s.arena);
	free(s.summary);
	if (total != NULL)
		*total = delivered;
	return error;
}

/* ---- the Merkle log ------------------------------------------------------ */

/* Node keys are level ‖ index (big-endian), so each level fills in order. */
static void
mlog_key(unsigned char key[9], unsigned level, uint64_t index)
{
	key[0] = (unsigned char)level;
	for (int i = 0; i < 8; i++)
		key[1 + i] = (unsigned char)(index >> (56 - 8 * i));
}

static int
mlog_get(void *ctx, unsigned level, uint64_t index, unsigned char out[32])
{
	cu_index_txn *t = ctx;
	unsigned char key[9];
	MDB_val k = { sizeof(key), key }, v;
	int rc;

	mlog_key(key, level, index);
	rc = mdb_get(t->txn, t->ix->dbi[DB_MLOG], &k, &v);
	if (rc == MDB_NOTFOUND)
		return cu_error_set(CU_ENOTFOUND, "log node (%u, %llu) is not in the index", level,
			(unsigned long long)index);
	if (rc != 0)
		return lmdb_error(rc, "reading log node");
	if (v.mv_size != 32)
		return damaged("a log node is not 32 bytes");
	memcpy(out, v.mv_data, 32);
	return 0;
}

static int
mlog_put(void *ctx, unsigned level, uint64_t index, const unsigned char hash[32])
{
	cu_index_txn *t = ctx;
	unsigned char key[9];
	MDB_val k = { sizeof(key), key }, v = { 32, (void *)hash };
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	mlog_key(key, level, index);
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_MLOG], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing log node");
	return 0;
}

void
cu_index_mlog_store(cu_mlog_store *out, cu_index_txn *t)
{
	out->get = mlog_get;
	out->put = mlog_put;
	out->ctx = t;
}

int
cu_index_log_size(uint64_t *size, cu_index_txn *t)
{
	MDB_val k = { 8, "log_size" }, v;
	int rc;

	*size = 0;
	rc = mdb_get(t->txn, t->ix->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_error(rc, "reading log size");
	if (v.mv_size != 8)
		return damaged("log size is not 8 bytes");
	*size = get_u64le(v.mv_data);
	return 0;
}

int
cu_index_set_log_size(cu_index_txn *t, uint64_t size)
{
	unsigned char buf[8];
	MDB_val k = { 8, "log_size" }, v = { 8, buf };
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	put_u64le(buf, size);
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_META], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing log size");
	return 0;
}

int
cu_index_put_checkpoint(cu_index_txn *t, uint64_t size, const char *note)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v = { strlen(note), (void *)note };
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(size >> (56 - 8 * i));
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_CKPT], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing checkpoint");
	return 0;
}

int
cu_index_get_checkpoint(char **note, cu_index_txn *t, uint64_t size)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int rc;

	*note = NULL;
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(size >> (56 - 8 * i));
	rc = mdb_get(t->txn, t->ix->dbi[DB_CKPT], &k, &v);
	if (rc == MDB_NOTFOUND)
		return cu_error_set(CU_ENOTFOUND, "no checkpoint of size %llu (checkpoints are made "
			"at each commit)", (unsigned long long)size);
	if (rc != 0)
		return lmdb_error(rc, "reading checkpoint");
	if ((*note = malloc(v.mv_size + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memcpy(*note, v.mv_data, v.mv_size);
	(*note)[v.mv_size] = '\0';
	return 0;
}

/* ---- whole-index walks (verify) -------------------------------------------- */

int
cu_index_count_records(size_t *n, cu_index_txn *t)
{
	MDB_stat st;
	int rc;

	if ((rc = mdb_stat(t->txn, t->ix->dbi[DB_REC], &st)) != 0)
		return lmdb_error(rc, "counting records");
	*n = st.ms_entries;
	return 0;
}

int
cu_index_foreach_record(cu_index_txn *t, int (*cb)(const unsigned char id[32], void *payload),
	void *payload)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_REC], &c)) != 0)
		return lmdb_error(rc, "opening a cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && error == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 32) {
			error = damaged("a rec key is not 32 bytes");
			break;
		}
		error = cb(k.mv_data, payload);
	}
	mdb_cursor_close(c);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "walking records");
	return error;
}

/* ---- which commit holds a document (trace) ---------------------------------- */

/* One entry per commit: the first log leaf it added -> its id.  Leaves grow
 * with commits, so the keys arrive in order and a leaf's commit is the entry
 * with the greatest key not above it. */
static void
leaf_key(unsigned char key[8], uint64_t leaf)
{
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(leaf >> (56 - 8 * i));
}

int
cu_index_put_commit(cu_index_txn *t, uint64_t first_leaf, const char *commit)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v = { strlen(commit), (void *)commit };
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	if (v.mv_size != 40)
		return cu_error_set(CU_EINVALID, "index: a commit id has 40 hex digits");
	leaf_key(key, first_leaf);
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_COMMIT], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing commit");
	return 0;
}

int
cu_index_get_commit(char commit[41], cu_index_txn *t, uint64_t leaf)
{
	unsigned char key[8];
	MDB_cursor *c;
	MDB_val k = { 8, key }, v;
	int rc;

	commit[0] = '\0';
	leaf_key(key, leaf);
	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_COMMIT], &c)) != 0)
		return lmdb_error(rc, "opening a cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && memcmp(k.mv_data, key, 8) != 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return cu_error_set(CU_ENOTFOUND, "no commit recorded for leaf %llu",
			(unsigned long long)leaf);
	if (rc != 0)
		return lmdb_error(rc, "reading commit");
	if (v.mv_size != 40)
		return damaged("a commit id is not 40 hex digits");
	memcpy(commit, v.mv_data, 40);
	commit[40] = '\0';
	return 0;
}

int
cu_index_foreach_event(cu_index_txn *t, const unsigned char record_id[32],
	int (*cb)(int64_t time, const unsigned char event_id[32], void *payload), void *payload)
{
	MDB_cursor *c;
	MDB_val k = { 32, (void *)record_id }, v;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_EVENTS], &c)) != 0)
		return lmdb_error(rc, "opening a cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0 && error == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		if (v.mv_size != POSTING_LEN) {
			error = damaged("an event posting is not 40 bytes");
			break;
		}
		error = cb(time_from_be(v.mv_data), (const unsigned char *)v.mv_data + TIME_BE_LEN,
			payload);
	}
	mdb_cursor_close(c);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "walking events");
	return error;
}

/* ---- removing a record (a newer revision supersedes it) ------------------- */

/* Deletes one (key, value) pair; a pair that is not there is fine (the
 * removal may be replayed). */
static int
del_pair(cu_index_txn *t, int db, const void *key, size_t klen, const void *val, size_t vlen,
	const char *what)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc = mdb_del(t->txn, t->ix->dbi[db], &k, val ? &v : NULL);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_error(rc, what);
	return 0;
}

struct del_ctx {
	cu_index_txn *t;
	const unsigned char *posting;
	int file;
};

static int
del_token(const char *tok, size_t len, void *payload)
{
	struct del_ctx *c = payload;
	char key[80];

	return del_pair(c->t, DB_TEXT, key, token_key(key, tok, len, c->file), c->posting,
		POSTING_LEN, "removing a token");
}

int
cu_index_remove(cu_index_txn *t, const cu_index_entry *e)
{
	unsigned char posting[POSTING_LEN];
	char ref[512], term[512];
	const char *vals[NTERMS];
	struct del_ctx dc = { t, posting, 0 };
	size_t n;
	int error;

	if ((error = need_write(t)) < 0)
		return error;
	time_be(posting, e->time);
	memcpy(posting + TIME_BE_LEN, e->id, 32);
	if ((error = del_pair(t, DB_REC, e->id, 32, NULL, 0, "removing a record")) < 0 ||
	    (error = del_pair(t, DB_TIME, posting, POSTING_LEN, NULL, 0, "removing a time")) < 0)
		return error;
	if (e->ref != NULL) {
		if (cu_index_normalize_ref(ref, sizeof(ref), e->ref) < 0) {
			cu_error_clear();
			snprintf(ref, sizeof(ref), "%s", e->ref);
		}
		/* only if it still names this record */
		MDB_val k = { strlen(ref), ref }, v;
		if (mdb_get(t->txn, t->ix->dbi[DB_REF], &k, &v) == 0 && v.mv_size == 32 &&
		    memcmp(v.mv_data, e->id, 32) == 0 &&
		    (error = del_pair(t, DB_REF, ref, strlen(ref), NULL, 0, "removing a ref")) < 0)
			return error;
	}
	if (e->rkey != NULL) {
		MDB_val k = { strlen(e->rkey), (void *)e->rkey }, v;
		if (mdb_get(t->txn, t->ix->dbi[DB_RKEY], &k, &v) == 0 && v.mv_size == 64 &&
		    memcmp(v.mv_data, e->id, 32) == 0 &&
		    (error = del_pair(t, DB_RKEY, e->rkey, strlen(e->rkey), NULL, 0,
			"removing an identity")) < 0)
			return error;
	}
	if (e->has_content &&
	    (error = del_pair(t, DB_CONTENT, e->content, 32, e->id, 32, "removing content")) < 0)
		return error;
	for (size_t i = 0; i < e->n_more_content; i++)
		if ((error = del_pair(t, DB_CONTENT, e->more_content[i], 32, e->id, 32,
				"removing content")) < 0)
			return error;
	if (e->has_person &&
	    (error = del_pair(t, DB_PERSON, e->person, 32, posting, POSTING_LEN,
		"removing a person")) < 0)
		return error;
	term_values(vals, e);
	for (int i = 0; i < NTERMS; i++) {
		if (vals[i] == NULL || (n = term_key(term, sizeof(term), term_fields[i], vals[i])) ==
		    SIZE_MAX)
			continue;
		if ((error = del_pair(t, DB_TERM, term, n, posting, POSTING_LEN, "removing a term")) < 0)
			return error;
	}
	if (e->text != NULL && (error = tokenize(&t->scratch, e->text, del_token, &dc)) < 0)
		return error;
	dc.file = 1;
	if (e->file_names != NULL &&
	    (error = tokenize(&t->scratch, e->file_names, del_token, &dc)) < 0)
		return error;
	return 0;
}

/* ---- disposition: holds, lists, disposals, removed objects ------------------ */

/* The key of a mark: its kind byte, then the key's bytes, into buf. */
static int
mark_key(MDB_val *k, unsigned char *buf, size_t bufsz, const cu_index_txn *t, char kind,
	const void *key, size_t klen)
{
	int error;

	if (klen + 1 > bufsz)
		return cu_error_set(CU_EINVALID, "index: mark key too long");
	if ((error = check_key(t, "mark", klen + 1)) < 0)
		return error;
	buf[0] = (unsigned char)kind;
	memcpy(buf + 1, key, klen);
	k->mv_size = klen + 1;
	k->mv_data = buf;
	return 0;
}

int
cu_index_put_mark(cu_index_txn *t, char kind, const void *key, size_t klen, const char *value)
{
	unsigned char buf[512];
	MDB_val k, v = { strlen(value), (void *)value };
	int rc, error;

	if ((error = need_write(t)) < 0 ||
	    (error = mark_key(&k, buf, sizeof(buf), t, kind, key, klen)) < 0)
		return error;
	if ((rc = mdb_put(t->txn, t->ix->dbi[DB_DISPO], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing a disposition mark");
	return 0;
}

int
cu_index_get_mark(char **value, cu_index_txn *t, char kind, const void *key, size_t klen)
{
	unsigned char buf[512];
	MDB_val k, v;
	int rc, error;

	if (value)
		*value = NULL;
	if ((error = mark_key(&k, buf, sizeof(buf), t, kind, key, klen)) < 0)
		return error;
	rc = mdb_get(t->txn, t->ix->dbi[DB_DISPO], &k, &v);
	if (rc == MDB_NOTFOUND)
		return CU_ENOTFOUND;     /* the common answer: no message */
	if (rc != 0)
		return lmdb_error(rc, "reading a disposition mark");
	if (value == NULL)
		return 0;
	if ((*value = malloc(v.mv_size + 1)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	memcpy(*value, v.mv_data, v.mv_size);
	(*value)[v.mv_size] = '\0';
	return 0;
}

int
cu_index_del_mark(cu_index_txn *t, char kind, const void *key, size_t klen)
{
	unsigned char buf[512];
	MDB_val k;
	int rc, error;

	if ((error = need_write(t)) < 0 ||
	    (error = mark_key(&k, buf, sizeof(buf), t, kind, key, klen)) < 0)
		return error;
	rc = mdb_del(t->txn, t->ix->dbi[DB_DISPO], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_error(rc, "removing a disposition mark");
	return 0;
}

int
cu_index_foreach_mark(cu_index_txn *t, char kind, cu_index_mark_cb cb, void *payload)
{
	unsigned char first = (unsigned char)kind;
	MDB_cursor *c;
	MDB_val k = { 1, &first }, v;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_DISPO], &c)) != 0)
		return lmdb_error(rc, "opening a cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     rc == 0 && error == 0 && k.mv_size >= 1 && ((unsigned char *)k.mv_data)[0] == first;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char *value = malloc(v.mv_size + 1);
		if (value == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			break;
		}
		memcpy(value, v.mv_data, v.mv_size);
		value[v.mv_size] = '\0';
		error = cb((const unsigned char *)k.mv_data + 1, k.mv_size - 1, value, payload);
		free(value);
	}
	mdb_cursor_close(c);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "walking disposition marks");
	return error;
}

static int
count_one(const void *key, size_t klen, const char *value, void *payload)
{
	(void)key;
	(void)klen;
	(void)value;
	(*(size_t *)payload)++;
	return 0;
}

int
cu_index_count_marks(size_t *n, cu_index_txn *t, char kind)
{
	*n = 0;
	return cu_index_foreach_mark(t, kind, count_one, n);
}

int
cu_index_foreach_content(cu_index_txn *t, const unsigned char digest[32],
	int (*cb)(const unsigned char id[32], void *payload), void *payload)
{
	MDB_cursor *c;
	MDB_val k = { 32, (void *)digest }, v;
	int rc, error = 0;

	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_CONTENT], &c)) != 0)
		return lmdb_error(rc, "opening a cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); rc == 0 && error == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		if (v.mv_size != 32) {
			error = damaged("content entry is not 32 bytes");
			break;
		}
		error = cb(v.mv_data, payload);
	}
	mdb_cursor_close(c);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "reading content");
	return error;
}

int
cu_index_foreach_class(cu_index_txn *t, int (*cb)(const char *class_key, uint32_t last,
	void *payload), void *payload)
{
	MDB_cursor *c;
	MDB_val k, v;
	char key[512];
	int rc, error = 0;

	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[DB_ITEM], &c)) != 0)
		return lmdb_error(rc, "opening a cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && error == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const unsigned char *b = v.mv_data;
		if (v.mv_size != 4 || k.mv_size >= sizeof(key)) {
			error = damaged("malformed item counter");
			break;
		}
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		error = cb(key, (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			(uint32_t)b[3] << 24, payload);
	}
	mdb_cursor_close(c);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "walking item counters");
	return error;
}

int
cu_index_del_objloc(cu_index_txn *t, const unsigned char digest[32])
{
	MDB_val k = { 32, (void *)digest };
	int rc, error;

	if ((error = need_write(t)) < 0)
		return error;
	rc = mdb_del(t->txn, t->ix->dbi[DB_OBJLOC], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_error(rc, "removing an object location");
	return 0;
}

int
cu_index_del_pack(cu_index_txn *t, const char *pack)
{
	MDB_val k = { strlen(pack), (void *)pack };
	int rc, error;

	if ((error = need_write(t)) < 0 || (error = check_key(t, "pack name", k.mv_size)) < 0)
		return error;
	rc = mdb_del(t->txn, t->ix->dbi[DB_PACKS], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_error(rc, "removing a pack");
	return 0;
}

/* ---- fund-control state (docs/fund-control.md, "State") ------------------- */

static int
state_db(int db, int *out)
{
	if (db < 0 || db >= CU_FSTATE_COUNT)
		return cu_error_set(CU_EINVALID, "index: no state database %d", db);
	*out = DB_F_DEATH + db;
	return 0;
}

int
cu_index_fstate_get(cu_index_txn *t, int db, const void *key, size_t klen, void *val,
	size_t valsz, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int d = 0, rc, error;

	if ((error = state_db(db, &d)) < 0)
		return error;
	if ((error = check_key(t, db_spec[d].name, klen)) < 0)
		return error;
	rc = mdb_get(t->txn, t->ix->dbi[d], &k, &v);
	if (rc == MDB_NOTFOUND)
		return CU_ENOTFOUND;
	if (rc != 0)
		return lmdb_error(rc, "reading fund state");
	if (vlen)
		*vlen = v.mv_size;
	if (val != NULL)
		memcpy(val, v.mv_data, v.mv_size < valsz ? v.mv_size : valsz);
	return 0;
}

int
cu_index_fstate_put(cu_index_txn *t, int db, const void *key, size_t klen, const void *val,
	size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int d = 0, rc, error;

	if ((error = state_db(db, &d)) < 0 || (error = check_key(t, db_spec[d].name, klen)) < 0)
		return error;
	if ((rc = mdb_put(t->txn, t->ix->dbi[d], &k, &v, 0)) != 0)
		return lmdb_error(rc, "writing fund state");
	return 0;
}

int
cu_index_fstate_del(cu_index_txn *t, int db, const void *key, size_t klen)
{
	int d = 0, error;

	if ((error = state_db(db, &d)) < 0 || (error = check_key(t, db_spec[d].name, klen)) < 0)
		return error;
	return del_pair(t, d, key, klen, NULL, 0, "removing fund state");
}

int
cu_index_fstate_scan(cu_index_txn *t, int db, const void *prefix, size_t plen,
	cu_index_fstate_cb cb, void *payload)
{
	MDB_cursor *c;
	MDB_val k = { plen, (void *)prefix }, v;
	int d = 0, rc, error = 0;

	if ((error = state_db(db, &d)) < 0)
		return error;
	if ((rc = mdb_cursor_open(t->txn, t->ix->dbi[d], &c)) != 0)
		return lmdb_error(rc, "reading fund state");
	rc = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
			break;
		if ((error = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, payload)) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (error == 0 && rc != 0 && rc != MDB_NOTFOUND)
		error = lmdb_error(rc, "reading fund state");
	return error;
}
