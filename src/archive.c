/* archive.c — the facade over cas, history, index, record and conf (see
 * custos/archive.h).  Everything the command line and the daemon do to an
 * archive goes through here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "custos/archive.h"
#include "custos/canon.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/note.h"
#include "custos/record.h"
#include "custos/sig.h"
#include "custos/util.h"
#include "archive_int.h"

#define ARCHIVE_FORMAT 1


/* ---- small helpers ------------------------------------------------------- */

/* path of a file in the archive into out */
static int
apath(char *out, size_t outsz, const cu_archive *a, const char *rel)
{
	return cu_pathf(out, outsz, "%s/%s", a->path, rel);
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static int
rm_entry_below(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return f->level == 0 ? 0 : rm_entry(p, st, flag, f);
}

/* Removes a folder tree, or only what is inside it when keep_root is set
 * (only used to undo a failed init). */
static void
rm_tree(const char *path, int keep_root)
{
	nftw(path, keep_root ? rm_entry_below : rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static int
check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128)
		return cu_error_set(CU_EINVALID, "--name: must be 1 to 128 characters");
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("._/:-", c) != NULL))
			return cu_error_set(CU_EINVALID,
				"--name: only letters, digits and . _ / : - are allowed");
	}
	return 0;
}

/* Canonical text of a document and its id (hex SHA-256 of the canonical
 * form without "id"), then the final text with the id set. */
int
arc_seal_document(char **text, size_t *len, char id_hex[65], json_t *doc)
{
	unsigned char id[32];
	char *body = NULL;
	size_t blen;
	int error;

	json_object_del(doc, "id");
	if ((error = cu_canon(&body, &blen, doc)) < 0)
		return error;
	error = cu_sha256(id, body, blen);
	free(body);
	if (error < 0)
		return error;
	cu_hex(id_hex, id, 32);
	json_object_set_new(doc, "id", json_string(id_hex));
	return cu_canon(text, len, doc);
}

const char *
arc_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The history path of a record, from its ref:
 *     records/<fonds-category·year-retention-class>/<item / 1000>/<item>.json
 * Records are shelved by class and item number, as an archivist would, so a
 * batch rewrites only the few folders it adds to and the cost of a commit does
 * not grow with the archive (an id-based fan-out rewrites every folder). */
int
arc_record_path(char *out, size_t outsz, const char *ref, long revision)
{
	const char *dash = strrchr(ref, '-');
	char rev[32] = "";

	if (dash == NULL || dash[1] < '0' || dash[1] > '9')
		return cu_error_set(CU_EINVALID, "%s: malformed ref", ref);
	/* revisions after the first sit beside it: <item>.r2.json, … */
	if (revision > 1)
		snprintf(rev, sizeof(rev), ".r%ld", revision);
	return cu_pathf(out, outsz, "records/%.*s/%03lu/%s%s.json", (int)(dash - ref), ref,
		strtoul(dash + 1, NULL, 10) / 1000, dash + 1, rev);
}

/* A record document's revision (1 when it has none). */
long
arc_revision(const json_t *doc)
{
	json_t *r = json_object_get(doc, "revision");

	return json_is_integer(r) && json_integer_value(r) > 1 ? (long)json_integer_value(r) : 1;
}

/* ---- keys and person index ------------------------------------------------ */

/* HMAC of a (valid) resident ID number in its normalised form. */
static int
person_key(unsigned char out[32], const cu_archive *a, const char *idno)
{
	char norm[19];

	if (!a->have_hmac)
		return cu_error_set(CU_ERROR,
			"%s/keys/person.hmac: cannot read the person-index key", a->path);
	cu_idno_normalize(norm, idno);
	return cu_hmac_sha256(out, a->hmac, norm, 18);
}

/* ---- lock ------------------------------------------------------------------ */

long
cu_archive_lock_holder(const char *path)
{
	char p[4096], buf[32] = "";
	long pid = 0;
	int fd;

	if (cu_pathf(p, sizeof(p), "%s/lock", path) < 0)
		return 0;
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* nobody holds it exclusively */
		close(fd);
		return 0;
	}
	ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
	if (r > 0) {
		buf[r] = '\0';
		pid = strtol(buf, NULL, 10);
	}
	close(fd);
	return pid > 0 ? pid : -1;
}

static int
take_lock(cu_archive *a, int wait_seconds)
{
	char p[4096], buf[32];
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	long waited_ms = 0;
	int error;

	if ((error = apath(p, sizeof(p), a, "lock")) < 0)
		return error;
	if ((a->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return cu_error_sys("%s", p);
	while (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return cu_error_sys("lock %s", p);
		if (waited_ms >= (long)wait_seconds * 1000) {
			long pid = cu_archive_lock_holder(a->path);
			char who[32] = "pid unknown";
			if (pid > 0)
				snprintf(who, sizeof(who), "pid %ld", pid);
			return cu_error_set(CU_ELOCKED,
				"%s: another writer (%s) holds the archive lock%s", a->path, who,
				wait_seconds > 0 ? "; gave up waiting" : "");
		}
		nanosleep(&tick, NULL);
		waited_ms += 100;
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(a->lock_fd, 0) < 0 || pwrite(a->lock_fd, buf, (size_t)n, 0) != n)
		return cu_error_sys("%s", p);
	return 0;
}

/* ---- index entries from documents -------------------------------------------- */

/* The display summary of a receipt record, with the ID number masked. */
static json_t *
receipt_summary(const json_t *doc)
{
	const json_t *r = json_object_get(doc, "receipt");
	const json_t *subj = json_object_get(r, "subject");
	const char *kind = arc_jstr(subj, "kind");
	char masked[19];
	json_t *s, *subject;

	if (kind != NULL && strcmp(kind, "person") == 0) {
		cu_idno_mask(masked, arc_jstr(subj, "id_no") ? arc_jstr(subj, "id_no") : "");
		subject = json_pack("{s:s, s:s, s:s?}", "kind", "person", "id", masked,
			"name", arc_jstr(subj, "name"));
	} else {
		subject = json_pack("{s:s, s:s?, s:s?}", "kind", "org", "id", arc_jstr(subj, "uscc"),
			"name", arc_jstr(subj, "name"));
	}
	s = json_pack("{s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:s?}",
		"id", arc_jstr(doc, "id"), "ref", arc_jstr(doc, "ref"), "kind", "receipt",
		"time", arc_jstr(r, "issued_at"), "service", arc_jstr(r, "service"),
		"insurance", arc_jstr(r, "insurance"), "channel", arc_jstr(r, "channel"),
		"agency", arc_jstr(r, "agency"), "operator", arc_jstr(r, "operator"),
		"subject", subject, "summary", arc_jstr(r, "summary"));
	if (s != NULL && json_object_get(r, "amount_fen") != NULL)
		json_object_set(s, "amount_fen", json_object_get(r, "amount_fen"));
	if (s != NULL && arc_revision(doc) > 1)
		json_object_set_new(s, "revision", json_integer(arc_revision(doc)));
	return s;
}

char *
arc_summary_json(const json_t *doc)
{
	json_t *summary = receipt_summary(doc);
	char *text = summary ? json_dumps(summary, JSON_COMPACT) : NULL;

	json_decref(summary);
	return text;
}

/* Puts a record document into the index (remove = 0), or takes it out of
 * every key (remove = 1): the same code serves the write path and the
 * replay after a crash, so the two can never disagree. */
static int
index_record_op(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove)
{
	const json_t *r = json_object_get(doc, "receipt");
	const json_t *subj = json_object_get(r, "subject");
	const char *ref = arc_jstr(doc, "ref"), *idh = arc_jstr(doc, "id");
	const char *content = arc_jstr(json_object_get(doc, "content"), "digest");
	cu_index_entry e;
	cu_time tm;
	json_t *summary = NULL;
	char *sjson = NULL, *text = NULL, *rkey = NULL, *cls = NULL, *dash;
	char digest_hex[65];
	int error;

	memset(&e, 0, sizeof(e));
	if (ref == NULL || idh == NULL || r == NULL || cu_unhex(e.id, 32, idh) < 0)
		return cu_error_set(CU_EINVALID, "record document without id, ref or receipt");
	if ((error = cu_time_parse(&tm, arc_jstr(r, "issued_at") ? arc_jstr(r, "issued_at") : "")) < 0)
		return cu_error_prefix(error, "record %s: issued_at", ref);
	e.ref = ref;
	e.time = tm.epoch;
	e.kind = "receipt";
	if (content != NULL && strncmp(content, "sha256:", 7) == 0 &&
	    cu_unhex(e.content, 32, content + 7) == 0)
		e.has_content = 1;
	if (arc_jstr(subj, "id_no") != NULL) {
		if ((error = person_key(e.person, a, arc_jstr(subj, "id_no"))) < 0)
			return error;
		e.has_person = 1;
	}
	e.org = arc_jstr(subj, "uscc");
	e.service = arc_jstr(r, "service");
	e.insurance = arc_jstr(r, "insurance");
	e.channel = arc_jstr(r, "channel");
	e.operator_ = arc_jstr(r, "operator");
	e.agency = arc_jstr(r, "agency");
	text = cu_asprintf("%s %s", arc_jstr(r, "summary") ? arc_jstr(r, "summary") : "",
		arc_jstr(subj, "name") ? arc_jstr(subj, "name") : "");
	rkey = cu_receipt_key(r);
	if (text == NULL || rkey == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	e.text = text;
	e.rkey = rkey;
	if ((error = cu_canon_digest(digest_hex, r)) < 0 ||
	    (error = cu_unhex(e.rkey_digest, 32, digest_hex)) < 0)
		goto done;
	if ((sjson = arc_summary_json(doc)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	e.summary_json = sjson;
	if (remove) {
		error = cu_index_remove(t, &e);
		goto done;
	}
	if ((error = cu_index_put(t, &e)) < 0)
		goto done;
	/* item numbers: the class key is the ref without its last level */
	if ((cls = strdup(ref)) == NULL || (dash = strrchr(cls, '-')) == NULL) {
		error = cu_error_set(CU_EINVALID, "record %s: malformed ref", ref);
		goto done;
	}
	*dash = '\0';
	error = cu_index_note_item(t, cls, (uint32_t)strtoul(dash + 1, NULL, 10));
done:
	free(cls);
	free(sjson);
	json_decref(summary);
	free(text);
	free(rkey);
	return error;
}

/* Reads the revision of a record the history holds at the head. */
static int
load_revision(json_t **doc, cu_archive *a, const char *ref, long revision)
{
	char path[256], *text = NULL;
	size_t len;
	json_error_t jerr;
	int error;

	*doc = NULL;
	if ((error = arc_record_path(path, sizeof(path), ref, revision)) < 0 ||
	    (error = cu_history_read(&text, &len, a->hist, NULL, path)) < 0)
		return error;
	if ((*doc = json_loadb(text, len, 0, &jerr)) == NULL)
		error = cu_error_set(CU_EINVALID, "history %s: %s", path, jerr.text);
	free(text);
	return error;
}

/* Indexes a record; a revision takes the place of the one it supersedes,
 * so that searches see current values only. */
static int
index_record(cu_archive *a, cu_index_txn *t, const json_t *doc)
{
	long rev = arc_revision(doc);
	json_t *old = NULL;
	int error;

	if (rev > 1) {
		const char *sup = arc_jstr(doc, "supersedes");
		if ((error = load_revision(&old, a, arc_jstr(doc, "ref") ? arc_jstr(doc, "ref") : "",
				rev - 1)) < 0)
			return cu_error_prefix(error, "record %s revision %ld", arc_jstr(doc, "ref"), rev);
		if (sup == NULL || arc_jstr(old, "id") == NULL || strcmp(sup, arc_jstr(old, "id")) != 0)
			error = cu_error_set(CU_EINVALID, "record %s revision %ld does not supersede "
				"revision %ld", arc_jstr(doc, "ref"), rev, rev - 1);
		else
			error = index_record_op(a, t, old, 1);
		json_decref(old);
		if (error < 0)
			return error;
	}
	return index_record_op(a, t, doc, 0);
}

/* Puts an event document into the index (access events name one record). */
static int
index_event(cu_index_txn *t, const json_t *doc)
{
	const json_t *recs = json_object_get(doc, "records");
	unsigned char eid[32], rid[32];
	cu_time tm;
	size_t i;
	json_t *v;
	int error;

	if (cu_unhex(eid, 32, arc_jstr(doc, "id") ? arc_jstr(doc, "id") : "") < 0)
		return cu_error_set(CU_EINVALID, "event document without id");
	if ((error = cu_time_parse(&tm, arc_jstr(doc, "at") ? arc_jstr(doc, "at") : "")) < 0)
		return cu_error_prefix(error, "event %s: at", arc_jstr(doc, "id"));
	if (!json_is_array(recs)) {
		/* about the whole archive (a verify run): filed under the zero id */
		memset(rid, 0, sizeof(rid));
		return cu_index_put_event(t, rid, tm.epoch, eid);
	}
	json_array_foreach(recs, i, v) {
		if (cu_unhex(rid, 32, arc_jstr(v, "id") ? arc_jstr(v, "id") : "") < 0)
			return cu_error_set(CU_EINVALID, "event %s: bad record id", arc_jstr(doc, "id"));
		if ((error = cu_index_put_event(t, rid, tm.epoch, eid)) < 0)
			return error;
	}
	return 0;
}

/* ---- replay: bring the index up to the history head --------------------------- */

struct leaf {
	uint64_t index;
	unsigned char hash[CU_MLOG_HASH];
};

struct replay_ctx {
	cu_archive *a;
	cu_index_txn *t;
	char commit[CU_OID_HEX];   /* the commit whose files are arriving */
	struct leaf *leaves;       /* its log leaves, appended when it ends */
	size_t nleaves, cap;
	uint64_t ckpt_size;        /* the size its checkpoint names */
	int has_ckpt;
};

static int
cmp_leaf(const void *x, const void *y)
{
	const struct leaf *a = x, *b = y;

	return a->index < b->index ? -1 : a->index > b->index;
}

/* Appends the finished commit's leaves to the log in leaf order; they must
 * continue the log without a gap and end where its checkpoint says. */
static int
replay_end_commit(struct replay_ctx *rc)
{
	cu_mlog_store st;
	uint64_t size;
	int error;

	if (rc->commit[0] == '\0')
		return 0;
	if ((error = cu_index_log_size(&size, rc->t)) < 0)
		return error;
	if (rc->nleaves > 1)
		qsort(rc->leaves, rc->nleaves, sizeof(*rc->leaves), cmp_leaf);
	if (rc->nleaves > 0 && (error = cu_index_put_commit(rc->t, size, rc->commit)) < 0)
		return error;
	cu_index_mlog_store(&st, rc->t);
	for (size_t i = 0; i < rc->nleaves; i++, size++) {
		if (rc->leaves[i].index != size)
			return cu_error_set(CU_EINVALID, "history commit %.12s: log leaf %llu where "
				"%llu was due", rc->commit, (unsigned long long)rc->leaves[i].index,
				(unsigned long long)size);
		if ((error = cu_mlog_append(&st, size, rc->leaves[i].hash)) < 0)
			return error;
	}
	if (rc->has_ckpt && rc->ckpt_size != size)
		return cu_error_set(CU_EINVALID, "history commit %.12s: checkpoint of size %llu "
			"but the log has %llu leaves", rc->commit, (unsigned long long)rc->ckpt_size,
			(unsigned long long)size);
	rc->nleaves = 0;
	rc->has_ckpt = 0;
	rc->commit[0] = '\0';
	return cu_index_set_log_size(rc->t, size);
}

/* Remembers a document's log leaf for the end of its commit. */
static int
replay_leaf(struct replay_ctx *rc, const json_t *doc, const char *data, size_t len,
	const char *path)
{
	json_t *leaf = json_object_get(doc, "leaf");

	if (!json_is_integer(leaf) || json_integer_value(leaf) < 0)
		return cu_error_set(CU_EINVALID, "history %s: no log leaf", path);
	if (rc->nleaves == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 1024;
		struct leaf *l = realloc(rc->leaves, cap * sizeof(*l));
		if (l == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		rc->leaves = l;
		rc->cap = cap;
	}
	rc->leaves[rc->nleaves].index = (uint64_t)json_integer_value(leaf);
	if (cu_mlog_leaf_hash(rc->leaves[rc->nleaves].hash, data, len) < 0)
		return CU_ERROR;
	rc->nleaves++;
	return 0;
}

static int
replay_file(const char *commit, const char *path, const char *data, size_t len, void *payload)
{
	struct replay_ctx *rc = payload;
	json_error_t jerr;
	json_t *doc;
	int error = 0;

	if (strcmp(commit, rc->commit) != 0) {
		if ((error = replay_end_commit(rc)) < 0)
			return error;
		snprintf(rc->commit, sizeof(rc->commit), "%s", commit);
	}
	if (strcmp(path, "log/checkpoint") == 0) {
		char *text = NULL, *origin = NULL, *note;
		unsigned char root[32];
		/* the note's text is everything before its blank line */
		if ((note = strndup(data, len)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		char *blank = strstr(note, "\n\n");
		if (blank == NULL || (text = strndup(note, (size_t)(blank - note) + 1)) == NULL ||
		    cu_checkpoint_parse(&origin, &rc->ckpt_size, root, text) < 0)
			error = cu_error_set(CU_EINVALID, "history commit %.12s: malformed checkpoint",
				commit);
		else
			error = cu_index_put_checkpoint(rc->t, rc->ckpt_size, note);
		rc->has_ckpt = error == 0;
		free(origin);
		free(text);
		free(note);
		return error;
	}
	if (strncmp(path, "records/", 8) != 0 && strncmp(path, "events/", 7) != 0)
		return 0;
	if ((doc = json_loadb(data, len, 0, &jerr)) == NULL)
		return cu_error_set(CU_EINVALID, "history %s: %s", path, jerr.text);
	if ((error = replay_leaf(rc, doc, data, len, path)) == 0)
		error = path[0] == 'r' ? index_record(rc->a, rc->t, doc) : index_event(rc->t, doc);

	json_decref(doc);
	return error;
}

static int
objloc_cb(const unsigned char digest[32], const char *pack, uint64_t offset, uint64_t size,
	void *payload)
{
	return cu_index_put_objloc(payload, digest, pack, offset, size);
}

static int
pack_cb(const char *pack, void *payload)
{
	struct replay_ctx *rc = payload;
	int error;

	if (cu_index_has_pack(rc->t, pack) == 1)
		return 0;
	if ((error = cu_cas_scan_pack(rc->a->cas, pack, objloc_cb, rc->t)) < 0)
		return error;
	return cu_index_put_pack(rc->t, pack);
}

/* Replays commits the index has not seen and registers packs it does not
 * know, in one write transaction.  *replayed (may be NULL) tells how many
 * commits were replayed. */
int
arc_index_sync(cu_archive *a, size_t *replayed)
{
	struct replay_ctx rc = { .a = a };
	char ihead[41], hhead[CU_OID_HEX];
	size_t n = 0;
	int error;

	if ((error = cu_index_begin(&rc.t, a->ix, 1)) < 0)
		return error;
	if ((error = cu_index_get_head(ihead, rc.t)) < 0)
		goto fail;
	if ((error = cu_history_head(hhead, a->hist)) == CU_ENOTFOUND)
		hhead[0] = '\0';
	else if (error < 0)
		goto fail;
	if ((error = cu_cas_list_packs(a->cas, pack_cb, &rc)) < 0)
		goto fail;
	if (strcmp(ihead, hhead) != 0) {
		if (ihead[0] && cu_history_count_since(&n, a->hist, ihead) < 0) {
			error = cu_error_set(CU_EINVALID, "the index reflects commit %.12s, which is not "
				"in the history (rolled back or rewritten?): run custos verify, then "
				"custos reindex", ihead);
			goto fail;
		}
		if ((error = cu_history_count_since(&n, a->hist, ihead[0] ? ihead : NULL)) < 0 ||
		    (error = cu_history_replay(a->hist, ihead[0] ? ihead : NULL, replay_file, &rc)) < 0 ||
		    (error = replay_end_commit(&rc)) < 0 ||
		    (error = cu_index_set_head(rc.t, hhead)) < 0)
			goto fail;
	}
	if (replayed)
		*replayed = n;
	free(rc.leaves);
	return cu_index_commit(rc.t);
fail:
	free(rc.leaves);
	cu_index_abort(rc.t);
	return cu_error_prefix(error, "rebuilding the index");
}

/* 1 if the index lags the history head, 0 if not. */
static int
index_lags(cu_archive *a)
{
	cu_index_txn *t;
	char ihead[41], hhead[CU_OID_HEX];

	if (cu_history_head(hhead, a->hist) < 0)
		return 0;
	if (cu_index_begin(&t, a->ix, 0) < 0)
		return 1;
	if (cu_index_get_head(ihead, t) < 0)
		ihead[0] = '\0';
	cu_index_abort(t);
	return strcmp(ihead, hhead) != 0;
}

/* ---- init and open ------------------------------------------------------------ */

static int
commit_files(cu_archive *a, const cu_history_file *files, size_t n, const char *subject,
	char head[CU_OID_HEX])
{
	char *msg = cu_asprintf("%s\n\nActor: %s (uid %lu)\nArchive: %s\n", subject, a->user,
		a->uid, a->name);
	char email[200];
	int error;

	if (msg == NULL)
		return CU_ERROR;
	snprintf(email, sizeof(email), "custos@%s.invalid", a->fonds);
	error = cu_history_commit(head, a->hist, files, n, msg, "custos", email, a->signer);
	free(msg);
	return error;
}

/* Commits files with the log's signed checkpoint at log_size added as
 * log/checkpoint, and records the checkpoint, the log size and the new head
 * in the index transaction t (which the caller commits).  Every history
 * commit carries the checkpoint of the log as it stands after it. */
int
arc_commit_logged(cu_archive *a, cu_index_txn *t, const cu_history_file *files, size_t n,
	uint64_t log_size, const unsigned char *given_root, const char *subject,
	char head[CU_OID_HEX])
{
	cu_mlog_store st;
	cu_history_file *all = NULL;
	unsigned char root[CU_MLOG_HASH];
	char *text = NULL, *note = NULL;
	int error = 0;

	if (given_root != NULL) {
		memcpy(root, given_root, CU_MLOG_HASH);
	} else {
		cu_index_mlog_store(&st, t);
		if ((error = cu_mlog_root(root, &st, log_size)) < 0)
			goto done;
	}
	if ((text = cu_checkpoint_text(a->name, log_size, root)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_note_sign(&note, text, a->name, a->signer)) < 0)
		goto done;
	if ((all = malloc((n + 1) * sizeof(*all))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if (n > 0)
		memcpy(all, files, n * sizeof(*all));
	all[n] = (cu_history_file){ "log/checkpoint", note, strlen(note) };
	if ((error = commit_files(a, all, n + 1, subject, head)) < 0)
		goto done;
	if (t != NULL &&
	    ((error = cu_index_put_checkpoint(t, log_size, note)) < 0 ||
	     (error = cu_index_set_log_size(t, log_size)) < 0 ||
	     (error = cu_index_set_head(t, head)) < 0))
		goto done;
done:
	free(all);
	free(note);
	free(text);
	return error;
}

int
cu_archive_init(const char *path, const cu_archive_init_opts *o)
{
	cu_archive a_, *a = &a_;
	char p[4096], *pub = NULL, *ident_text = NULL, now[32], head[CU_OID_HEX];
	const char *conf_text = o->conf_text ? o->conf_text : cu_conf_default_text();
	json_t *ident = NULL;
	size_t ident_len;
	struct stat st;
	int error, created = 0, existed = 0;
	cu_history_file files[2];

	memset(a, 0, sizeof(*a));
	a->lock_fd = -1;
	if (o->fonds == NULL)
		return cu_error_set(CU_EINVALID, "--fonds is required");
	if ((error = cu_conf_check_code(o->fonds, "--fonds")) < 0)
		return error;
	snprintf(a->fonds, sizeof(a->fonds), "%s", o->fonds);
	snprintf(a->name, sizeof(a->name), "custos/%s", o->fonds);
	if (o->name != NULL) {
		if ((error = check_name(o->name)) < 0)
			return error;
		snprintf(a->name, sizeof(a->name), "%s", o->name);
	}
	if (strlen(path) >= sizeof(a->path))
		return cu_error_set(CU_EINVALID, "%s: path too long", path);
	snprintf(a->path, sizeof(a->path), "%s", path);
	cu_user_name(a->user, sizeof(a->user));
	a->uid = (unsigned long)getuid();
	if ((error = cu_conf_parse(&a->conf, conf_text, "archive.conf")) < 0)
		return error;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || !dir_is_empty(path)) {
			error = cu_error_set(CU_EEXISTS,
				"%s: already exists and is not empty; custos init never overwrites",
				path);
			goto fail_early;
		}
		existed = 1;    /* an empty folder of the caller's: on failure, keep it */
	} else if (mkdir(path, 0750) < 0) {
		error = cu_error_sys("%s", path);
		goto fail_early;
	}
	created = 1;

	if ((error = apath(p, sizeof(p), a, "keys")) < 0)
		goto fail;
	if (mkdir(p, 0700) < 0) {
		error = cu_error_sys("%s", p);
		goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "keys/signing.pem")) < 0 ||
	    (error = cu_sig_keygen(p)) < 0 ||
	    (error = cu_signer_load(&a->signer, p)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "keys/person.hmac")) < 0 ||
	    (error = cu_hmac_keygen(p)) < 0)
		goto fail;
	if ((pub = cu_sig_ssh_pubkey(cu_signer_pub(a->signer))) == NULL) {
		error = CU_ERROR;
		goto fail;
	}
	{
		char *line = cu_asprintf("%s %s\n", pub, a->name);
		if (line == NULL || apath(p, sizeof(p), a, "keys/signing.pub") < 0) {
			free(line);
			error = CU_ERROR;
			goto fail;
		}
		error = cu_write_file_durable(p, line, strlen(line), 0644, 1);
		free(line);
		if (error < 0)
			goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "objects")) < 0 ||
	    (error = cu_cas_open(&a->cas, p, 1)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "history.git")) < 0 ||
	    (error = cu_history_init(p)) < 0 ||
	    (error = cu_history_open(&a->hist, p)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "index")) < 0)
		goto fail;
	if (mkdir(p, 0750) < 0) {
		error = cu_error_sys("%s", p);
		goto fail;
	}
	if ((error = cu_index_open(&a->ix, p, 1)) < 0)
		goto fail;
	if ((error = take_lock(a, 0)) < 0)
		goto fail;

	cu_now_rfc3339(now);
	ident = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "format", ARCHIVE_FORMAT,
		"name", a->name, "fonds", a->fonds, "created_at", now, "signing_key", pub,
		"software", "custos");
	if (ident == NULL || (error = cu_canon(&ident_text, &ident_len, ident)) < 0) {
		error = error < 0 ? error : cu_error_set(CU_ERROR, "out of memory");
		goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "archive.json")) < 0 ||
	    (error = cu_write_file_durable(p, ident_text, ident_len, 0644, 1)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "archive.conf")) < 0 ||
	    (error = cu_write_file_durable(p, conf_text, strlen(conf_text), 0644, 1)) < 0)
		goto fail;
	files[0] = (cu_history_file){ "archive.json", ident_text, ident_len };
	files[1] = (cu_history_file){ "archive.conf", conf_text, strlen(conf_text) };
	{
		char subject[256];
		snprintf(subject, sizeof(subject), "init: archive %.128s, fonds %.16s", a->name, a->fonds);
		cu_index_txn *t = NULL;
		/* the first commit carries the empty log's checkpoint */
		if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
			goto fail;
		if ((error = arc_commit_logged(a, t, files, 2, 0, NULL, subject, head)) < 0) {
			cu_index_abort(t);
			goto fail;
		}
		if ((error = cu_index_commit(t)) < 0)
			goto fail;
	}
	if ((error = arc_index_sync(a, NULL)) < 0 || (error = cu_fsync_dir(path)) < 0)
		goto fail;
	goto done;
fail:
	if (created) {
		/* undo: the archive never became usable */
		cu_history_free(a->hist);
		a->hist = NULL;
		cu_index_free(a->ix);
		a->ix = NULL;
		rm_tree(path, existed);
	}
fail_early:
done:
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	free(pub);
	free(ident_text);
	json_decref(ident);
	cu_conf_free(a->conf);
	cu_cas_free(a->cas);
	cu_history_free(a->hist);
	cu_index_free(a->ix);
	cu_signer_free(a->signer);
	return error;
}

int
cu_archive_open(cu_archive **out, const char *path, int mode, int wait_seconds)
{
	cu_archive *a;
	char p[4096], *text = NULL;
	json_t *ident = NULL;
	json_error_t jerr;
	size_t len;
	int error;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	a->lock_fd = -1;
	a->mode = mode;
	if (strlen(path) >= sizeof(a->path)) {
		error = cu_error_set(CU_EINVALID, "%s: path too long", path);
		goto fail;
	}
	snprintf(a->path, sizeof(a->path), "%s", path);
	cu_user_name(a->user, sizeof(a->user));
	a->uid = (unsigned long)getuid();

	if ((error = apath(p, sizeof(p), a, "archive.json")) < 0)
		goto fail;
	if ((error = cu_read_file(&text, &len, p, 65536)) < 0) {
		if (error == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND,
				"%s: not a custos archive (no archive.json; see custos init)", path);
		goto fail;
	}
	if ((ident = json_loadb(text, len, 0, &jerr)) == NULL ||
	    json_integer_value(json_object_get(ident, "format")) != ARCHIVE_FORMAT ||
	    arc_jstr(ident, "name") == NULL || arc_jstr(ident, "fonds") == NULL) {
		error = cu_error_set(CU_EINVALID, "%s: not a custos archive identity of format %d",
			p, ARCHIVE_FORMAT);
		goto fail;
	}
	snprintf(a->name, sizeof(a->name), "%s", arc_jstr(ident, "name"));
	snprintf(a->fonds, sizeof(a->fonds), "%s", arc_jstr(ident, "fonds"));
	snprintf(a->signing_key, sizeof(a->signing_key), "%s",
		arc_jstr(ident, "signing_key") ? arc_jstr(ident, "signing_key") : "");
	if ((error = apath(p, sizeof(p), a, "archive.conf")) < 0 ||
	    (error = cu_conf_load(&a->conf, p)) < 0)
		goto fail;
	if (mode != CU_ARCHIVE_READ) {
		if ((error = take_lock(a, wait_seconds)) < 0)
			goto fail;
		if ((error = apath(p, sizeof(p), a, "keys/signing.pem")) < 0 ||
		    (error = cu_signer_load(&a->signer, p)) < 0)
			goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "keys/person.hmac")) < 0)
		goto fail;
	a->have_hmac = cu_hmac_key_load(a->hmac, p) == 0;
	if (mode != CU_ARCHIVE_READ && !a->have_hmac) {
		error = CU_ERROR;
		goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "objects")) < 0 ||
	    (error = cu_cas_open(&a->cas, p, 0)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "history.git")) < 0 ||
	    (error = cu_history_open(&a->hist, p)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "index")) < 0)
		goto fail;
	if (mode == CU_ARCHIVE_REPAIR) {
		/* verify and reindex look at the index as it is */
		if ((error = cu_index_open(&a->ix, p, 1)) < 0)
			goto fail;
	} else if (mode == CU_ARCHIVE_WRITE) {
		if ((error = cu_index_open(&a->ix, p, 1)) < 0 || (error = arc_index_sync(a, NULL)) < 0)
			goto fail;
	} else {
		error = cu_index_open(&a->ix, p, 0);
		if (error == CU_ENOTFOUND || (error == 0 && index_lags(a))) {
			/* a reader repairs the index only if no writer is busy */
			cu_index_free(a->ix);
			a->ix = NULL;
			if ((error = take_lock(a, 0)) == 0) {
				if ((error = cu_index_open(&a->ix, p, 1)) < 0 ||
				    (error = arc_index_sync(a, NULL)) < 0)
					goto fail;
				cu_index_free(a->ix);
				a->ix = NULL;
				close(a->lock_fd);
				a->lock_fd = -1;
			}
			cu_error_clear();
			if ((error = cu_index_open(&a->ix, p, 0)) < 0)
				goto fail;
			a->index_behind = index_lags(a);
		} else if (error < 0) {
			goto fail;
		}
	}
	free(text);
	json_decref(ident);
	*out = a;
	return 0;
fail:
	free(text);
	json_decref(ident);
	cu_archive_free(a);
	return error;
}

void
cu_archive_free(cu_archive *a)
{
	if (a == NULL)
		return;
	cu_index_free(a->ix);
	cu_history_free(a->hist);
	cu_cas_free(a->cas);
	cu_conf_free(a->conf);
	cu_signer_free(a->signer);
	explicit_bzero(a->hmac, sizeof(a->hmac));
	if (a->lock_fd >= 0)
		close(a->lock_fd);  /* releases the flock */
	free(a);
}

const char *cu_archive_name(const cu_archive *a) { return a->name; }
int cu_archive_index_behind(const cu_archive *a) { return a->index_behind; }
const char *cu_archive_fonds(const cu_archive *a) { return a->fonds; }

void
cu_archive_set_actor(cu_archive *a, const char *user, unsigned long uid)
{
	snprintf(a->user, sizeof(a->user), "%s", user);
	a->uid = uid;
}

/* ---- ingest --------------------------------------------------------------------- */

struct outcome {
	cu_ingest_status status;
	char *source;
	char *ref;
	char id[65];
	char *reason;
};

struct cu_ingest {
	cu_archive *a;
	cu_ingest_cb cb;
	void *payload;
	cu_index_txn *txn;           /* the current batch's write transaction */
	cu_cas_batch *objs;
	cu_history_file *files;      /* record documents of the batch */
	size_t nfiles, cap_files;
	struct outcome *outs;        /* outcomes waiting for the batch's commit */
	size_t nouts, cap_outs;
	size_t batch_records, batch_dups, batch_rejected;
	uint64_t log_size;           /* leaves in the log, this batch's included */
	cu_ingest_stats stats;
	char now[32];
};

int
cu_ingest_begin(cu_ingest **out, cu_archive *a, cu_ingest_cb cb, void *payload)
{
	cu_ingest *in;
	int error;

	*out = NULL;
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "ingest needs the archive opened for writing");
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	in->a = a;
	in->cb = cb;
	in->payload = payload;
	if ((error = cu_cas_batch_new(&in->objs, a->cas, cu_conf_pack_threshold(a->conf))) < 0) {
		free(in);
		return error;
	}
	*out = in;
	return 0;
}

static void
clear_batch(cu_ingest *in)
{
	for (size_t i = 0; i < in->nfiles; i++) {
		free((char *)in->files[i].path);
		free((void *)in->files[i].data);
	}
	in->nfiles = 0;
	for (size_t i = 0; i < in->nouts; i++) {
		free(in->outs[i].source);
		free(in->outs[i].ref);
		free(in->outs[i].reason);
	}
	in->nouts = 0;
	in->batch_records = in->batch_dups = in->batch_rejected = 0;
}

static int
add_outcome(cu_ingest *in, cu_ingest_status st, const char *source, const char *ref,
	const char *id, const char *reason)
{
	struct outcome *o;

	if (in->nouts == in->cap_outs) {
		size_t cap = in->cap_outs ? in->cap_outs * 2 : 256;
		struct outcome *p = realloc(in->outs, cap * sizeof(*p));
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		in->outs = p;
		in->cap_outs = cap;
	}
	o = &in->outs[in->nouts];
	memset(o, 0, sizeof(*o));
	o->status = st;
	o->source = strdup(source);
	o->ref = ref ? strdup(ref) : NULL;
	o->reason = reason ? strdup(reason) : NULL;
	if (id)
		snprintf(o->id, sizeof(o->id), "%s", id);
	if (o->source == NULL || (ref && !o->ref) || (reason && !o->reason)) {
		free(o->source);
		free(o->ref);
		free(o->reason);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	in->nouts++;
	if (st == CU_INGEST_REJECTED)
		in->batch_rejected++;
	else if (st == CU_INGEST_DUPLICATE)
		in->batch_dups++;
	return 0;
}

static int
batch_objloc_cb(const unsigned char digest[32], const char *pack, uint64_t offset,
	uint64_t size, void *payload)
{
	return cu_index_put_objloc(payload, digest, pack, offset, size);
}

/* Makes the batch durable and visible, then acknowledges its items:
 * objects (pack fsynced) -> history commit (the commit point) -> index. */
static int
flush_batch(cu_ingest *in)
{
	cu_archive *a = in->a;
	char pack[96], head[CU_OID_HEX], subject[256];
	int error = 0;

	if (in->batch_records > 0) {
		if ((error = cu_cas_batch_write(in->objs, pack, batch_objloc_cb, in->txn)) < 0)
			goto fail;
		if (pack[0] && (error = cu_index_put_pack(in->txn, pack)) < 0)
			goto fail;
		snprintf(subject, sizeof(subject),
			"ingest: %zu receipt%s archived (%zu duplicate%s, %zu rejected)",
			in->batch_records, in->batch_records == 1 ? "" : "s", in->batch_dups,
			in->batch_dups == 1 ? "" : "s", in->batch_rejected);
		if ((error = arc_commit_logged(a, in->txn, in->files, in->nfiles, in->log_size, NULL, subject,
				head)) < 0)
			goto fail;
		if ((error = cu_index_put_commit(in->txn, in->log_size - in->batch_records, head)) < 0)
			goto fail;
		in->stats.commits++;
		error = cu_index_commit(in->txn);
		in->txn = NULL;
		if (error < 0) {
			/* the history holds the batch; the next open replays it.  LMDB
			 * reports a full disk as an I/O error: say which it was */
			struct statvfs fs;
			if (statvfs(a->path, &fs) == 0 && fs.f_bavail == 0)
				cu_error_prefix(error, "No space left on device");
			cu_error_prefix(error, "index (the records are archived; it will be rebuilt)");
			goto fail_nocommit;
		}
	} else if (in->txn != NULL) {
		cu_index_abort(in->txn);
		in->txn = NULL;
	}
	in->stats.archived += in->batch_records;
	in->stats.duplicates += in->batch_dups;
	in->stats.rejected += in->batch_rejected;
	for (size_t i = 0; i < in->nouts && error == 0; i++) {
		cu_ingest_result r = { in->outs[i].status, in->outs[i].source, in->outs[i].ref,
			in->outs[i].id[0] ? in->outs[i].id : NULL, in->outs[i].reason,
			i + 1 == in->nouts };
		if (in->cb)
			error = in->cb(&r, in->payload);
	}
	clear_batch(in);
	return error;
fail:
	if (in->txn != NULL) {
		cu_index_abort(in->txn);
		in->txn = NULL;
	}
fail_nocommit:
	clear_batch(in);
	return error;
}

static int
ensure_txn(cu_ingest *in)
{
	int error;

	if (in->txn != NULL)
		return 0;
	cu_now_rfc3339(in->now);
	if ((error = cu_index_begin(&in->txn, in->a->ix, 1)) < 0)
		return error;
	return cu_index_log_size(&in->log_size, in->txn);
}

/* Stores the content bytes unless an identical object is already stored. */
static int
store_content(cu_ingest *in, unsigned char digest[32], const char *buf, size_t len)
{
	char pack[256];
	uint64_t off, size;

	if (cu_sha256(digest, buf, len) < 0)
		return CU_ERROR;
	if (cu_index_get_objloc(in->txn, digest, pack, &off, &size) == 0 ||
	    cu_cas_has_loose(in->a->cas, digest))
		return 0;
	cu_error_clear();
	return cu_cas_batch_add(in->objs, digest, NULL, buf, len);
}

/* Ref of a record id already in the index (for duplicates and conflicts). */
static char *
ref_rev_of(cu_index_txn *t, const unsigned char id[32], long *revision)
{
	char *sjson = NULL, *ref = NULL;
	json_t *s;

	if (revision)
		*revision = 1;
	if (cu_index_get_summary(&sjson, t, id) < 0)
		return NULL;
	if ((s = json_loads(sjson, 0, NULL)) != NULL && arc_jstr(s, "ref") != NULL) {
		ref = strdup(arc_jstr(s, "ref"));
		if (revision && json_is_integer(json_object_get(s, "revision")))
			*revision = (long)json_integer_value(json_object_get(s, "revision"));
	}
	json_decref(s);
	free(sjson);
	return ref;
}

static char *
ref_of(cu_index_txn *t, const unsigned char id[32])
{
	return ref_rev_of(t, id, NULL);
}

/* One receipt: validate the item's bytes, deduplicate, store the content
 * bytes (the whole file for a file of one item, else the item's own bytes),
 * give a ref, write its document into the batch.  Bad input becomes a
 * "rejected" outcome and returns 0; only system failures return an error. */
static int
ingest_item(cu_ingest *in, const char *source, const char *buf, size_t len,
	const char *content, size_t content_len)
{
	cu_archive *a = in->a;
	json_t *raw = NULL, *rec = NULL, *doc = NULL;
	unsigned char digest[32], have_id[32], have_digest[32], rdig[32];
	char rdig_hex[65], cdig_hex[65], id_hex[65], ref[128], class_key[96], *key = NULL;
	char *text = NULL, path[160], *reason = NULL;
	size_t tlen;
	const json_t *subj;
	cu_class cls;
	cu_time tm;
	uint32_t item;
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	if (len > CU_INPUT_MAX_ITEM) {
		reason = cu_asprintf("item of %zu bytes, more than the limit of %u", len,
			CU_INPUT_MAX_ITEM);
		goto reject;
	}
	if (cu_item_parse(&raw, buf, len) < 0 || cu_receipt_validate(&rec, raw) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if ((key = cu_receipt_key(rec)) == NULL ||
	    (error = cu_canon_digest(rdig_hex, rec)) < 0 || (error = cu_unhex(rdig, 32, rdig_hex)) < 0)
		goto done;
	error = cu_index_get_rkey(in->txn, key, have_id, have_digest);
	if (error == 0) {
		char *have_ref = ref_of(in->txn, have_id);
		cu_hex(id_hex, have_id, 32);
		if (memcmp(have_digest, rdig, 32) == 0) {
			error = add_outcome(in, CU_INGEST_DUPLICATE, source, have_ref ? have_ref : "?",
				id_hex, NULL);
		} else {
			reason = cu_asprintf("conflict: receipt %s is already archived as %s with "
				"different content (corrections go through amendment)", key,
				have_ref ? have_ref : id_hex);
			error = add_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL,
				reason ? reason : "conflict");
		}
		free(have_ref);
		goto done;
	} else if (error != CU_ENOTFOUND) {
		goto done;
	}
	cu_error_clear();

	subj = json_object_get(rec, "subject");
	if ((error = cu_time_parse(&tm, arc_jstr(rec, "issued_at"))) < 0)
		goto done;
	if (cu_conf_classify(&cls, a->conf, "receipt", arc_jstr(rec, "service"),
			arc_jstr(subj, "kind")) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if ((error = cu_pathf(class_key, sizeof(class_key), "%s-%s\xc2\xb7%04d-%s-%s", a->fonds,
			cls.category, tm.year, cls.retention, cls.class_)) < 0 ||
	    (error = cu_index_next_item(&item, in->txn, class_key)) < 0 ||
	    (error = cu_pathf(ref, sizeof(ref), "%s-%06u", class_key, item)) < 0)
		goto done;
	if ((error = store_content(in, digest, content, content_len)) < 0)
		goto done;
	cu_hex(cdig_hex, digest, 32);
	{
		char cdig[80];
		snprintf(cdig, sizeof(cdig), "sha256:%s", cdig_hex);
		doc = json_pack("{s:i, s:s, s:s, s:O, s:{s:s, s:I}, s:s, s:s, s:{s:s, s:I}, s:I}",
			"version", 1, "kind", "receipt", "ref", ref, "receipt", rec,
			"content", "digest", cdig, "size", (json_int_t)content_len,
			"source", source, "archived_at", in->now,
			"archived_by", "user", a->user, "uid", (json_int_t)a->uid,
			"leaf", (json_int_t)in->log_size);
	}
	if (doc == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the record");
		goto done;
	}
	if ((error = arc_seal_document(&text, &tlen, id_hex, doc)) < 0 ||
	    (error = index_record(a, in->txn, doc)) < 0)
		goto done;
	{
		/* the record is the log's next leaf */
		unsigned char leaf[CU_MLOG_HASH];
		cu_mlog_store st;
		cu_index_mlog_store(&st, in->txn);
		if ((error = cu_mlog_leaf_hash(leaf, text, tlen)) < 0 ||
		    (error = cu_mlog_append(&st, in->log_size, leaf)) < 0)
			goto done;
		in->log_size++;
	}
	if ((error = arc_record_path(path, sizeof(path), ref, 1)) < 0)
		goto done;
	if (in->nfiles == in->cap_files) {
		size_t cap = in->cap_files ? in->cap_files * 2 : 1024;
		cu_history_file *f = realloc(in->files, cap * sizeof(*f));
		if (f == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		in->files = f;
		in->cap_files = cap;
	}
	if ((in->files[in->nfiles].path = strdup(path)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	in->files[in->nfiles].data = text;
	in->files[in->nfiles].len = tlen;
	in->nfiles++;
	text = NULL;
	in->batch_records++;
	if ((error = add_outcome(in, CU_INGEST_ARCHIVED, source, ref, id_hex, NULL)) < 0)
		goto done;
	if (in->batch_records >= cu_conf_batch_size(a->conf))
		error = flush_batch(in);
	goto done;
reject:
	error = add_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL,
		reason ? reason : "rejected");
done:
	free(reason);
	free(text);
	free(key);
	json_decref(raw);
	json_decref(rec);
	json_decref(doc);
	return error;
}

int
cu_ingest_buffer(cu_ingest *in, const char *source, const char *buf, size_t len)
{
	cu_span *spans = NULL;
	size_t n = 0;
	int error;

	if ((error = ensure_txn(in)) < 0)
		return error;
	if (cu_input_split(&spans, &n, buf, len) < 0)
		return add_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL, cu_error_last());
	for (size_t i = 0; i < n && error == 0; i++) {
		char src[4200];
		if (n > 1)
			snprintf(src, sizeof(src), "%s#%zu", source, i + 1);
		else
			snprintf(src, sizeof(src), "%s", source);
		/* a file of one item keeps its exact bytes, final newline included */
		error = ingest_item(in, src, buf + spans[i].off, spans[i].len,
			n == 1 ? buf : buf + spans[i].off, n == 1 ? len : spans[i].len);
	}
	free(spans);
	return error;
}

static int
ingest_file(cu_ingest *in, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	if (strcmp(path, "-") == 0) {
		size_t cap = 65536;
		if ((buf = malloc(cap)) == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		for (;;) {
			size_t r = fread(buf + len, 1, cap - len, stdin);
			len += r;
			if (r == 0)
				break;
			if (len > CU_INPUT_MAX_FILE) {
				free(buf);
				return add_outcome(in, CU_INGEST_REJECTED, "-", NULL, NULL,
					"standard input is larger than the 64 MiB limit");
			}
			if (len == cap) {
				char *p = realloc(buf, cap *= 2);
				if (p == NULL) {
					free(buf);
					return cu_error_set(CU_ERROR, "out of memory");
				}
				buf = p;
			}
		}
		error = cu_ingest_buffer(in, "-", buf, len);
		free(buf);
		return error;
	}
	if ((error = cu_read_file(&buf, &len, path, CU_INPUT_MAX_FILE)) < 0) {
		if (error == CU_ERROR && errno != EACCES && errno != EISDIR)
			return error;   /* an I/O failure, not bad input */
		if ((error = ensure_txn(in)) < 0)
			return error;
		/* cu_read_file's message already names the file */
		const char *msg = cu_error_last();
		size_t pl = strlen(path);
		if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
			msg += pl + 2;
		return add_outcome(in, CU_INGEST_REJECTED, path, NULL, NULL, msg);
	}
	error = cu_ingest_buffer(in, path, buf, len);
	free(buf);
	return error;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A folder: its files and folders in name order, recursively; hidden names
 * (".…") are skipped, symbolic links are reported and not followed. */
static int
ingest_dir(cu_ingest *in, const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int error = 0;

	if (depth > 32)
		return add_outcome(in, CU_INGEST_REJECTED, path, NULL, NULL,
			"folders nested more than 32 deep");
	if ((d = opendir(path)) == NULL)
		return cu_error_sys("%s", path);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*p));
			if (p == NULL) {
				error = cu_error_set(CU_ERROR, "out of memory");
				goto done;
			}
			names = p;
		}
		if ((names[n] = cu_asprintf("%s/%s", path, e->d_name)) == NULL) {
			error = CU_ERROR;
			goto done;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && error == 0; i++) {
		struct stat st;
		if (lstat(names[i], &st) < 0)
			error = cu_error_sys("%s", names[i]);
		else if (S_ISDIR(st.st_mode))
			error = ingest_dir(in, names[i], depth + 1);
		else if (S_ISREG(st.st_mode))
			error = ingest_file(in, names[i]);
		else {
			if ((error = ensure_txn(in)) == 0)
				error = add_outcome(in, CU_INGEST_REJECTED, names[i], NULL, NULL,
				S_ISLNK(st.st_mode) ? "is a symbolic link (not followed)"
						    : "not a regular file");
		}
	}
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return error;
}

int
cu_ingest_path(cu_ingest *in, const char *path)
{
	struct stat st;
	int error;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return ingest_dir(in, path, 0);
	if (strcmp(path, "-") != 0 && lstat(path, &st) < 0) {
		if ((error = ensure_txn(in)) < 0)
			return error;
		return add_outcome(in, CU_INGEST_REJECTED, path, NULL, NULL, strerror(errno));
	}
	return ingest_file(in, path);
}

int
cu_ingest_finish(cu_ingest *in, cu_ingest_stats *st)
{
	int error = flush_batch(in);

	if (st)
		*st = in->stats;
	cu_ingest_abort(in);
	return error;
}

void
cu_ingest_abort(cu_ingest *in)
{
	if (in == NULL)
		return;
	if (in->txn)
		cu_index_abort(in->txn);
	clear_batch(in);
	free(in->files);
	free(in->outs);
	cu_cas_batch_free(in->objs);
	free(in);
}

/* ---- retrieval -------------------------------------------------------------------- */

int
cu_archive_resolve(char id_hex[65], cu_archive *a, const char *key)
{
	cu_index_txn *t;
	unsigned char id[32], digest[32];
	int error;

	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	if (strncmp(key, "sha256:", 7) == 0) {
		if ((error = cu_unhex(digest, 32, key + 7)) < 0)
			error = cu_error_set(CU_EINVALID, "%s: sha256: needs 64 hex digits", key);
		else if ((error = cu_index_get_content(t, digest, id)) == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s: no record has this content", key);
	} else if (strchr(key, '-') != NULL || strstr(key, "\xc2\xb7") != NULL) {
		if ((error = cu_index_get_ref(t, key, id)) == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s: no such ref", key);
	} else {
		error = cu_index_get_id_prefix(t, key, id);
		if (error == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s: no record with this id", key);
	}
	cu_index_abort(t);
	if (error == 0)
		cu_hex(id_hex, id, 32);
	return error;
}

/* Loads a record document from the history head: the index gives its ref,
 * the ref its path, and the document must carry the id asked for. */
static int
load_record_raw(json_t **doc, char **raw, size_t *rawlen, cu_archive *a, const char *id_hex)
{
	char path[256], *text = NULL, *ref = NULL;
	long revision;
	unsigned char id[32];
	cu_index_txn *t;
	size_t len;
	json_error_t jerr;
	int error;

	*doc = NULL;
	if ((error = cu_unhex(id, 32, id_hex)) < 0 || (error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	ref = ref_rev_of(t, id, &revision);
	cu_index_abort(t);
	if (ref == NULL)
		return cu_error_set(CU_ENOTFOUND, "record %s is not in the index", id_hex);
	if ((error = arc_record_path(path, sizeof(path), ref, revision)) < 0 ||
	    (error = cu_history_read(&text, &len, a->hist, NULL, path)) < 0)
		goto done;
	if ((*doc = json_loadb(text, len, 0, &jerr)) == NULL)
		error = cu_error_set(CU_EINVALID, "history %s: %s", path, jerr.text);
	else if (arc_jstr(*doc, "id") == NULL || strcmp(arc_jstr(*doc, "id"), id_hex) != 0) {
		error = cu_error_set(CU_EINVALID, "history %s: holds another record than %s",
			path, id_hex);
		json_decref(*doc);
		*doc = NULL;
	}
	if (error == 0 && raw != NULL) {
		*raw = text;
		*rawlen = len;
		text = NULL;
	}
done:
	free(ref);
	free(text);
	return error;
}

static int
load_record(json_t **doc, cu_archive *a, const char *id_hex)
{
	return load_record_raw(doc, NULL, NULL, a, id_hex);
}

/* Replaces the resident ID number of a record document by its masked form. */
static void
mask_document(json_t *doc)
{
	json_t *subj = json_object_get(json_object_get(doc, "receipt"), "subject");
	const char *idno = arc_jstr(subj, "id_no");
	char masked[19];

	if (idno == NULL)
		return;
	cu_idno_mask(masked, idno);
	json_object_set_new(subj, "id_no", json_string(masked));
}

/* Commits an access event: who, when, which records, why.  records is an
 * array of {id, ref}. */
static int
record_access(cu_archive *a, const char *action, json_t *records, const char *purpose,
	int unmasked, const char *output, const char *what)
{
	json_t *ev = NULL;
	char *text = NULL, id_hex[65], path[160], now[32], head[CU_OID_HEX], subject[256];
	unsigned char leaf[CU_MLOG_HASH];
	uint64_t size;
	size_t len;
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	cu_history_file f;
	int error;

	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "recording an access needs the archive lock");
	cu_now_rfc3339(now);
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0 ||
	    (error = cu_index_log_size(&size, t)) < 0)
		goto done;
	ev = json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:I}, s:O, s:s?, s:b, s:s, s:I}",
		"version", 1, "kind", "access", "action", action, "at", now,
		"by", "user", a->user, "uid", (json_int_t)a->uid, "records", records,
		"purpose", purpose, "unmasked", unmasked, "output", output,
		"leaf", (json_int_t)size);
	if (ev == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the access event");
		goto done;
	}
	if ((error = arc_seal_document(&text, &len, id_hex, ev)) < 0)
		goto done;
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_leaf_hash(leaf, text, len)) < 0 ||
	    (error = cu_mlog_append(&st, size, leaf)) < 0)
		goto done;
	if ((error = cu_pathf(path, sizeof(path), "events/%.4s/%.5s/%s.json", now, now + 5,
			id_hex)) < 0)
		goto done;
	f = (cu_history_file){ path, text, len };
	snprintf(subject, sizeof(subject), "access: %s %s%s", action, what,
		unmasked ? " (unmasked)" : "");
	if ((error = index_event(t, ev)) < 0 ||
	    (error = arc_commit_logged(a, t, &f, 1, size + 1, NULL, subject, head)) < 0 ||
	    (error = cu_index_put_commit(t, size, head)) < 0)
		goto done;
	error = cu_index_commit(t);
	t = NULL;
done:
	if (t)
		cu_index_abort(t);
	free(text);
	json_decref(ev);
	return error;
}

/* Reads a record's content bytes from its loose file or its pack. */
static int
read_content(char **out, size_t *len, cu_archive *a, const char *digest_text)
{
	unsigned char digest[32];
	char pack[256];
	uint64_t off, size;
	cu_index_txn *t;
	int error;

	if (digest_text == NULL || strncmp(digest_text, "sha256:", 7) != 0 ||
	    cu_unhex(digest, 32, digest_text + 7) < 0)
		return cu_error_set(CU_EINVALID, "record has no content digest");
	if (cu_cas_has_loose(a->cas, digest))
		return cu_cas_read_loose(out, len, a->cas, digest);
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	error = cu_index_get_objloc(t, digest, pack, &off, &size);
	cu_index_abort(t);
	if (error < 0)
		return cu_error_set(CU_ENOTFOUND, "content object %s is missing", digest_text + 7);
	return cu_cas_read_packed(out, len, a->cas, pack, off, size, digest);
}

int
cu_archive_get(cu_archive *a, const char *key, cu_get_opts *o, json_t **doc,
	char **content, size_t *content_len)
{
	char id_hex[65];
	json_t *d = NULL, *recs = NULL;
	char *bytes = NULL;
	size_t blen = 0;
	int error;

	*doc = NULL;
	if (content)
		*content = NULL;
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0)
		return error;
	if ((error = load_record(&d, a, id_hex)) < 0)
		return error;
	o->revisions = arc_revision(d);
	if (o->version != 0 && o->version != arc_revision(d)) {
		json_t *old = NULL;
		if (o->version < 1 || o->version > arc_revision(d)) {
			error = cu_error_set(CU_ENOTFOUND, "%s has revisions 1 to %ld", key,
				arc_revision(d));
			goto done;
		}
		if ((error = load_revision(&old, a, arc_jstr(d, "ref"), o->version)) < 0)
			goto done;
		json_decref(d);
		d = old;
		snprintf(id_hex, sizeof(id_hex), "%s", arc_jstr(d, "id") ? arc_jstr(d, "id") : "");
	}
	if (o->content && (error = read_content(&bytes, &blen, a, arc_jstr(json_object_get(d,
			"content"), "digest"))) < 0)
		goto done;
	recs = json_pack("[{s:s, s:s?}]", "id", id_hex, "ref", arc_jstr(d, "ref"));
	/* the exact bytes received hold the ID number in clear */
	if ((error = record_access(a, "get", recs, o->purpose, o->unmask || o->content,
			o->content ? "content" : "record", arc_jstr(d, "ref") ? arc_jstr(d, "ref") : id_hex)) < 0)
		goto done;
	if (!o->unmask)
		mask_document(d);
	*doc = d;
	d = NULL;
	if (o->content) {
		*content = bytes;
		*content_len = blen;
		bytes = NULL;
	}
done:
	json_decref(recs);
	json_decref(d);
	free(bytes);
	return error;
}

/* ---- search ----------------------------------------------------------------------- */

struct search_ctx {
	cu_archive *a;
	const cu_search_query *q;
	cu_search_cb cb;
	void *payload;
	json_t *unmasked;   /* {id, ref} of hits shown in clear */
	json_t *hits;       /* collected hits when unmasking (delivered after the event) */
};

static int
search_hit(const unsigned char id[32], const char *summary_json, void *payload)
{
	struct search_ctx *sc = payload;
	json_t *hit;
	json_error_t jerr;
	int error = 0;

	(void)id;
	if ((hit = json_loads(summary_json, 0, &jerr)) == NULL)
		return cu_error_set(CU_EINVALID, "index summary: %s", jerr.text);
	if (sc->q->unmask) {
		json_t *doc = NULL;
		const char *subj_kind = arc_jstr(json_object_get(hit, "subject"), "kind");
		if (subj_kind && strcmp(subj_kind, "person") == 0) {
			if ((error = load_record(&doc, sc->a, arc_jstr(hit, "id"))) == 0) {
				const char *idno = arc_jstr(json_object_get(json_object_get(doc, "receipt"),
					"subject"), "id_no");
				json_object_set_new(json_object_get(hit, "subject"), "id",
					json_string(idno ? idno : ""));
				json_array_append_new(sc->unmasked, json_pack("{s:s?, s:s?}", "id",
					arc_jstr(hit, "id"), "ref", arc_jstr(hit, "ref")));
			}
			json_decref(doc);
		}
		if (error == 0)
			error = json_array_append(sc->hits, hit);
	} else {
		error = sc->cb(hit, sc->payload);
	}
	json_decref(hit);
	return error;
}

int
cu_archive_search(cu_archive *a, const cu_search_query *q, cu_search_cb cb, void *payload,
	size_t *nhits)
{
	struct search_ctx sc = { a, q, cb, payload, NULL, NULL };
	cu_index_query iq;
	cu_index_txn *t = NULL;
	size_t total = 0, i;
	json_t *hit;
	int error;

	memset(&iq, 0, sizeof(iq));
	if (nhits)
		*nhits = 0;
	if (q->person) {
		if ((error = cu_idno_check(q->person)) < 0)
			return cu_error_prefix(error, "--person");
		if ((error = person_key(iq.person, a, q->person)) < 0)
			return error;
		iq.has_person = 1;
	}
	if (q->org && (error = cu_uscc_check(q->org)) < 0)
		return cu_error_prefix(error, "--org");
	iq.org = q->org;
	iq.service = q->service;
	iq.insurance = q->insurance;
	iq.channel = q->channel;
	iq.operator_ = q->operator_;
	iq.agency = q->agency;
	iq.text = q->text;
	if (q->from) {
		if ((error = cu_date_parse(&iq.from, q->from, cu_conf_tz_offset(a->conf), 0)) < 0)
			return cu_error_prefix(error, "--from");
		iq.has_from = 1;
	}
	if (q->to) {
		if ((error = cu_date_parse(&iq.to, q->to, cu_conf_tz_offset(a->conf), 1)) < 0)
			return cu_error_prefix(error, "--to");
		iq.has_to = 1;
	}
	iq.limit = q->limit;
	iq.offset = q->offset;
	if (q->unmask) {
		if (a->mode != CU_ARCHIVE_WRITE)
			return cu_error_set(CU_EINVALID, "--unmask needs the archive lock");
		sc.unmasked = json_array();
		sc.hits = json_array();
	}
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		goto done;
	error = cu_index_search(t, &iq, search_hit, &sc, &total);
	cu_index_abort(t);
	if (error < 0)
		goto done;
	if (q->unmask) {
		/* the unmasking is recorded before anything is shown */
		if (json_array_size(sc.unmasked) > 0) {
			char what[64];
			snprintf(what, sizeof(what), "%zu record%s", json_array_size(sc.unmasked),
				json_array_size(sc.unmasked) == 1 ? "" : "s");
			if ((error = record_access(a, "search", sc.unmasked, q->purpose, 1, "summary",
					what)) < 0)
				goto done;
		}
		json_array_foreach(sc.hits, i, hit)
			if ((error = cb(hit, payload)) != 0)
				goto done;
	}
	if (nhits)
		*nhits = total;
done:
	json_decref(sc.unmasked);
	json_decref(sc.hits);
	return error;
}

/* ---- amendments ----------------------------------------------------------------------- */

static const char *const amendable[] = { "channel", "insurance", "operator", "summary", "amount",
	"subject.name", "subject.id_no", "subject.uscc" };
static const char *const fixed[] = { "ref", "type", "agency", "receipt_no", "service",
	"issued_at", "subject.kind", "id", "leaf", "content" };

/* The receipt as it would have been received: amount_fen back to yuan. */
static json_t *
receipt_as_input(const json_t *r)
{
	json_t *in = json_deep_copy(r);
	char yuan[32];

	if (in != NULL && json_object_get(in, "amount_fen") != NULL) {
		cu_money_format(yuan, sizeof(yuan),
			(int64_t)json_integer_value(json_object_get(in, "amount_fen")));
		json_object_del(in, "amount_fen");
		json_object_set_new(in, "amount", json_string(yuan));
	}
	return in;
}

/* The value of a dotted field of a normalised receipt ("amount" is read as
 * amount_fen), or NULL. */
static json_t *
field_of(const json_t *r, const char *field)
{
	if (strcmp(field, "amount") == 0)
		return json_object_get(r, "amount_fen");
	if (strncmp(field, "subject.", 8) == 0)
		return json_object_get(json_object_get(r, "subject"), field + 8);
	return json_object_get(r, field);
}

int
cu_archive_amend(cu_archive *a, const char *key, const char *const *sets, size_t nsets,
	const char *reason, char new_id[65], char ref_out[128], long *revision)
{
	char id_hex[65], now[32], path[256], head[CU_OID_HEX], subject[256], *text = NULL;
	json_t *doc = NULL, *in = NULL, *rec = NULL, *changes = NULL, *ndoc = NULL;
	unsigned char leaf[CU_MLOG_HASH];
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	cu_history_file f;
	uint64_t size;
	size_t len;
	long rev;
	int error;

	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "amend needs the archive opened for writing");
	if (reason == NULL || reason[0] == '\0')
		return cu_error_set(CU_EINVALID, "--reason: an amendment needs a reason");
	if (strlen(reason) > CU_SUMMARY_MAX)
		return cu_error_set(CU_EINVALID, "--reason: longer than %d bytes", CU_SUMMARY_MAX);
	if (nsets == 0)
		return cu_error_set(CU_EINVALID, "--set: nothing to amend");
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0 ||
	    (error = load_record(&doc, a, id_hex)) < 0)
		goto done;
	rev = arc_revision(doc);
	if ((in = receipt_as_input(json_object_get(doc, "receipt"))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nsets; i++) {
		const char *eq = strchr(sets[i], '=');
		char field[64];
		int ok = 0;
		if (eq == NULL || (size_t)(eq - sets[i]) >= sizeof(field) || eq == sets[i]) {
			error = cu_error_set(CU_EINVALID, "--set %s: expected FIELD=VALUE", sets[i]);
			goto done;
		}
		snprintf(field, sizeof(field), "%.*s", (int)(eq - sets[i]), sets[i]);
		for (size_t k = 0; k < sizeof(fixed) / sizeof(*fixed); k++)
			if (strcmp(field, fixed[k]) == 0) {
				error = cu_error_set(CU_EINVALID, "--set %s: cannot be amended: it "
					"identifies the record or decides its ref", field);
				goto done;
			}
		for (size_t k = 0; k < sizeof(amendable) / sizeof(*amendable); k++)
			ok |= strcmp(field, amendable[k]) == 0;
		if (!ok) {
			error = cu_error_set(CU_EINVALID, "--set %s: not a field that can be amended "
				"(channel, insurance, operator, summary, amount, subject.name, "
				"subject.id_no, subject.uscc)", field);
			goto done;
		}
		json_object_set_new(strncmp(field, "subject.", 8) == 0 ? json_object_get(in, "subject")
			: in, strncmp(field, "subject.", 8) == 0 ? field + 8 : field,
			json_string(eq + 1));
	}
	if (cu_receipt_validate(&rec, in) < 0) {
		error = cu_error_prefix(CU_EINVALID, "--set");
		goto done;
	}
	changes = json_array();
	for (size_t i = 0; i < nsets; i++) {
		char field[64];
		json_t *ov, *nv;
		snprintf(field, sizeof(field), "%.*s", (int)(strchr(sets[i], '=') - sets[i]), sets[i]);
		ov = field_of(json_object_get(doc, "receipt"), field);
		nv = field_of(rec, field);
		if ((ov == NULL && nv == NULL) || (ov && nv && json_equal(ov, nv)))
			continue;
		json_array_append_new(changes, json_pack("{s:s, s:O?, s:O?}", "field", field,
			"old", ov, "new", nv));
	}
	if (json_array_size(changes) == 0) {
		error = cu_error_set(CU_EINVALID, "--set: nothing changes");
		goto done;
	}
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0 || (error = cu_index_log_size(&size, t)) < 0)
		goto done;
	cu_now_rfc3339(now);
	if ((ndoc = json_deep_copy(doc)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set(ndoc, "receipt", rec);
	json_object_set_new(ndoc, "revision", json_integer(rev + 1));
	json_object_set_new(ndoc, "supersedes", json_string(id_hex));
	json_object_set_new(ndoc, "amendment", json_pack("{s:s, s:O}", "reason", reason,
		"changes", changes));
	json_object_set_new(ndoc, "archived_at", json_string(now));
	json_object_set_new(ndoc, "archived_by", json_pack("{s:s, s:I}", "user", a->user, "uid",
		(json_int_t)a->uid));
	json_object_set_new(ndoc, "source", json_string("amendment"));
	json_object_set_new(ndoc, "leaf", json_integer((json_int_t)size));
	if ((error = arc_seal_document(&text, &len, new_id, ndoc)) < 0 ||
	    (error = cu_mlog_leaf_hash(leaf, text, len)) < 0)
		goto done;
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_append(&st, size, leaf)) < 0 ||
	    (error = index_record(a, t, ndoc)) < 0 ||
	    (error = arc_record_path(path, sizeof(path), arc_jstr(ndoc, "ref"), rev + 1)) < 0)
		goto done;
	f = (cu_history_file){ path, text, len };
	snprintf(subject, sizeof(subject), "amend: %.100s revision %ld (%zu field%s)",
		arc_jstr(ndoc, "ref"), rev + 1, json_array_size(changes),
		json_array_size(changes) == 1 ? "" : "s");
	if ((error = arc_commit_logged(a, t, &f, 1, size + 1, NULL, subject, head)) < 0 ||
	    (error = cu_index_put_commit(t, size, head)) < 0)
		goto done;
	error = cu_index_commit(t);
	t = NULL;
	if (error == 0) {
		snprintf(ref_out, 128, "%s", arc_jstr(ndoc, "ref"));
		*revision = rev + 1;
	}
done:
	if (t)
		cu_index_abort(t);
	free(text);
	json_decref(doc);
	json_decref(in);
	json_decref(rec);
	json_decref(changes);
	json_decref(ndoc);
	return error;
}

/* ---- trace -------------------------------------------------------------------------------- */

struct step {
	int64_t time;
	char id[65];
};

struct steps {
	struct step *v;
	size_t n, cap;
	int64_t since;   /* archive-wide events before the record was archived are not its */
};

static int
collect_step(int64_t time, const unsigned char event_id[32], void *payload)
{
	struct steps *st = payload;

	if (time < st->since)
		return 0;
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct step *p = realloc(st->v, cap * sizeof(*p));
		if (p == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		st->v = p;
		st->cap = cap;
	}
	st->v[st->n].time = time;
	cu_hex(st->v[st->n].id, event_id, 32);
	st->n++;
	return 0;
}

/* Loads the event document of a step (new reference). */
static int
load_event(json_t **ev, cu_archive *a, const struct step *s)
{
	char path[160], day[32], *text = NULL;
	size_t len;
	struct tm tm;
	time_t when = (time_t)s->time;
	int error;

	gmtime_r(&when, &tm);
	strftime(day, sizeof(day), "%Y/%m-%d", &tm);
	if ((error = cu_pathf(path, sizeof(path), "events/%s/%s.json", day, s->id)) < 0 ||
	    (error = cu_history_read(&text, &len, a->hist, NULL, path)) < 0)
		return error;
	if ((*ev = json_loadb(text, len, 0, NULL)) == NULL)
		error = cu_error_set(CU_EINVALID, "history %s: not JSON", path);
	free(text);
	return error;
}

static int
cmp_leaf_of(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "leaf"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "leaf"));

	return a < b ? -1 : a > b;
}

/* Delivers one event document as a trace entry. */
static int
trace_event(cu_index_txn *t, const json_t *ev, cu_trace_cb cb, void *payload)
{
	char commit[41] = "", detail[600];

	const char *kind, *action, *id = arc_jstr(ev, "id") ? arc_jstr(ev, "id") : "";
	const json_t *by = json_object_get(ev, "by");

	if (cu_index_get_commit(commit, t, (uint64_t)json_integer_value(json_object_get(ev, "leaf"))) < 0)
		cu_error_clear();
	kind = arc_jstr(ev, "kind") ? arc_jstr(ev, "kind") : "?";
	if (json_object_get(ev, "amendment") != NULL) {
		/* a revision of the record: what changed and why, ID numbers masked */
		const json_t *am = json_object_get(ev, "amendment"), *ch;
		size_t i, used;
		by = json_object_get(ev, "archived_by");
		action = "amended";
		used = (size_t)snprintf(detail, sizeof(detail), "revision %ld:", arc_revision(ev));
		json_array_foreach(json_object_get(am, "changes"), i, ch) {
			const char *field = arc_jstr(ch, "field") ? arc_jstr(ch, "field") : "?";
			char *ov = json_dumps(json_object_get(ch, "old"), JSON_ENCODE_ANY);
			char *nv = json_dumps(json_object_get(ch, "new"), JSON_ENCODE_ANY);
			char om[24], nm[24];
			if (strcmp(field, "subject.id_no") == 0) {
				cu_idno_mask(om, arc_jstr(ch, "old") ? arc_jstr(ch, "old") : "");
				cu_idno_mask(nm, arc_jstr(ch, "new") ? arc_jstr(ch, "new") : "");
			} else if (strcmp(field, "amount") == 0) {
				/* fen in the document, yuan for people */
				free(ov);
				free(nv);
				ov = nv = NULL;
				cu_money_format(om, sizeof(om),
					(int64_t)json_integer_value(json_object_get(ch, "old")));
				cu_money_format(nm, sizeof(nm),
					(int64_t)json_integer_value(json_object_get(ch, "new")));
				ov = json_object_get(ch, "old") ? strdup(om) : NULL;
				nv = json_object_get(ch, "new") ? strdup(nm) : NULL;
			}
			if (used < sizeof(detail))
				used += (size_t)snprintf(detail + used, sizeof(detail) - used, "%s %s %s → %s",
					i ? ";" : "", field,
					strcmp(field, "subject.id_no") == 0 ? om : (ov ? ov : "null"),
					strcmp(field, "subject.id_no") == 0 ? nm : (nv ? nv : "null"));
			free(ov);
			free(nv);
		}
		if (used < sizeof(detail))
			snprintf(detail + used, sizeof(detail) - used, "; reason \"%s\"",
				arc_jstr(am, "reason") ? arc_jstr(am, "reason") : "");
		cu_trace_entry e = { arc_jstr(ev, "archived_at"), action, arc_jstr(by, "user"),
			(unsigned long)json_integer_value(json_object_get(by, "uid")), detail, commit,
			(uint64_t)json_integer_value(json_object_get(ev, "leaf")), id };
		return cb(&e, payload);
	}
	if (strcmp(kind, "access") == 0) {
		action = "accessed";
		snprintf(detail, sizeof(detail), "%s of the %s, %s%s%s%s",
			arc_jstr(ev, "action") ? arc_jstr(ev, "action") : "?",
			arc_jstr(ev, "output") ? arc_jstr(ev, "output") : "record",
			json_is_true(json_object_get(ev, "unmasked")) ? "personal data in clear" : "masked",
			arc_jstr(ev, "purpose") ? ", purpose \"" : "",
			arc_jstr(ev, "purpose") ? arc_jstr(ev, "purpose") : "",
			arc_jstr(ev, "purpose") ? "\"" : "");
	} else if (strcmp(kind, "verify") == 0) {
		action = "verified";
		snprintf(detail, sizeof(detail), "verify run%s: %s, %lld problem%s, log size %lld",
			json_is_true(json_object_get(ev, "quick")) ? " (--quick)" : "",
			arc_jstr(ev, "result") ? arc_jstr(ev, "result") : "?",
			(long long)json_integer_value(json_object_get(ev, "problems")),
			json_integer_value(json_object_get(ev, "problems")) == 1 ? "" : "s",
			(long long)json_integer_value(json_object_get(ev, "log_size")));
	} else {
		action = kind;
		snprintf(detail, sizeof(detail), "%s event", kind);
	}
	cu_trace_entry e = { arc_jstr(ev, "at"), action, arc_jstr(by, "user"),
		(unsigned long)json_integer_value(json_object_get(by, "uid")), detail, commit,
		(uint64_t)json_integer_value(json_object_get(ev, "leaf")), id };
	return cb(&e, payload);
}

int
cu_archive_trace(cu_archive *a, const char *key, cu_trace_cb cb, void *payload)
{
	char id_hex[65], commit[41] = "", detail[600];
	unsigned char zero[32] = { 0 };
	struct steps st = { NULL, 0, 0, 0 };
	json_t *doc = NULL, **evs = NULL, **revs = NULL, *first;
	size_t nevs = 0, nrevs = 0;
	cu_index_txn *t = NULL;
	cu_time when;
	long n;
	int error;

	if ((error = cu_archive_resolve(id_hex, a, key)) < 0 ||
	    (error = load_record(&doc, a, id_hex)) < 0 ||
	    (error = cu_index_begin(&t, a->ix, 0)) < 0)
		goto done;
	/* every revision, the first one (as ingested) first */
	n = arc_revision(doc);
	if ((revs = calloc((size_t)n, sizeof(*revs))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	revs[n - 1] = json_incref(doc);
	nrevs = (size_t)n;
	for (long k = n - 1; k >= 1; k--)
		if ((error = load_revision(&revs[k - 1], a, arc_jstr(doc, "ref"), k)) < 0)
			goto done;
	first = revs[0];
	if (cu_index_get_commit(commit, t, (uint64_t)json_integer_value(json_object_get(first, "leaf"))) < 0)
		cu_error_clear();
	if (cu_time_parse(&when, arc_jstr(first, "archived_at") ? arc_jstr(first, "archived_at") : "") == 0)
		st.since = when.epoch;
	cu_error_clear();
	{
		const json_t *by = json_object_get(first, "archived_by");
		snprintf(detail, sizeof(detail), "%s from %s (content sha256:%.12s…, %lld bytes)",
			arc_jstr(first, "ref") ? arc_jstr(first, "ref") : "?",
			arc_jstr(first, "source") ? arc_jstr(first, "source") : "?",
			arc_jstr(json_object_get(first, "content"), "digest")
				? arc_jstr(json_object_get(first, "content"), "digest") + 7 : "?",
			(long long)json_integer_value(json_object_get(json_object_get(first, "content"), "size")));
		cu_trace_entry e = { arc_jstr(first, "archived_at"), "ingested", arc_jstr(by, "user"),
			(unsigned long)json_integer_value(json_object_get(by, "uid")), detail, commit,
			(uint64_t)json_integer_value(json_object_get(first, "leaf")),
			arc_jstr(first, "id") ? arc_jstr(first, "id") : "" };
		if ((error = cb(&e, payload)) != 0)
			goto done;
	}
	/* the events about any revision, and the archive-wide ones since */
	for (size_t k = 0; k < nrevs; k++) {
		unsigned char rid[32];
		if (cu_unhex(rid, 32, arc_jstr(revs[k], "id") ? arc_jstr(revs[k], "id") : "") < 0) {
			cu_error_clear();
			continue;
		}
		if ((error = cu_index_foreach_event(t, rid, collect_step, &st)) < 0)
			goto done;
	}
	if ((error = cu_index_foreach_event(t, zero, collect_step, &st)) < 0)
		goto done;
	/* the log's order is the true order: events and revisions by leaf */
	if ((evs = calloc(st.n + nrevs, sizeof(*evs))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (nevs = 0; nevs < st.n; nevs++)
		if ((error = load_event(&evs[nevs], a, &st.v[nevs])) < 0)
			goto done;
	for (size_t k = 1; k < nrevs; k++)
		evs[nevs++] = json_incref(revs[k]);
	if (nevs > 1)
		qsort(evs, nevs, sizeof(*evs), cmp_leaf_of);
	for (size_t i = 0; i < nevs && error == 0; i++)
		error = trace_event(t, evs[i], cb, payload);
done:
	if (t)
		cu_index_abort(t);
	for (size_t i = 0; i < nevs; i++)
		json_decref(evs[i]);
	for (size_t i = 0; i < nrevs; i++)
		json_decref(revs[i]);
	free(evs);
	free(revs);
	free(st.v);
	json_decref(doc);
	return error;
}

/* ---- reindex ----------------------------------------------------------------------------- */

int
cu_archive_reindex(cu_archive *a, size_t *commits)
{
	char dir[4096], p[4096];
	int error;

	if (a->mode != CU_ARCHIVE_REPAIR)
		return cu_error_set(CU_EINVALID, "reindex needs the archive opened for repair");
	if ((error = apath(dir, sizeof(dir), a, "index")) < 0)
		return error;
	/* close the environment before its files go: LMDB must not see them vanish */
	cu_index_free(a->ix);
	a->ix = NULL;
	if ((error = cu_pathf(p, sizeof(p), "%s/data.mdb", dir)) < 0)
		return error;
	if (unlink(p) < 0 && errno != ENOENT)
		return cu_error_sys("%s", p);
	if ((error = cu_pathf(p, sizeof(p), "%s/lock.mdb", dir)) < 0)
		return error;
	if (unlink(p) < 0 && errno != ENOENT)
		return cu_error_sys("%s", p);
	if ((error = cu_index_open(&a->ix, dir, 1)) < 0)
		return error;
	return arc_index_sync(a, commits);
}

/* ---- the tamper-evident log ---------------------------------------------------------- */

int
cu_archive_checkpoint(char **note, cu_archive *a)
{
	size_t len;

	return cu_history_read(note, &len, a->hist, NULL, "log/checkpoint");
}

/* The raw Ed25519 key of "ssh-ed25519 <base64 of string "ssh-ed25519" ‖
 * string key>". */
int
arc_ssh_pub_raw(unsigned char pub[CU_ED25519_PUB], const char *line)
{
	static const unsigned char prefix[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2',
		'5', '5', '1', '9', 0, 0, 0, 32 };
	unsigned char blob[64];
	const char *b64 = strchr(line, ' ');
	size_t n;

	if (b64 == NULL || (n = strcspn(b64 + 1, " \n")) != 68 ||
	    EVP_DecodeBlock(blob, (const unsigned char *)b64 + 1, 68) != 51 ||
	    memcmp(blob, prefix, sizeof(prefix)) != 0)
		return cu_error_set(CU_EINVALID, "archive.json: signing_key is not an Ed25519 key");
	memcpy(pub, blob + sizeof(prefix), CU_ED25519_PUB);
	return 0;
}

char *
cu_archive_vkey(cu_archive *a)
{
	unsigned char pub[CU_ED25519_PUB];

	if (arc_ssh_pub_raw(pub, a->signing_key) < 0)
		return NULL;
	return cu_note_vkey(a->name, pub);
}

void
cu_proof_clear(cu_proof *p)
{
	free(p->checkpoint);
	free(p->text);
	free(p->document);
	memset(p, 0, sizeof(*p));
}

/* The latest log size, or checks that size has a checkpoint; fills the
 * checkpoint note and root of that size. */
static int
proof_target(cu_proof *p, cu_index_txn *t, uint64_t size)
{
	char *origin = NULL, *text = NULL, *blank;
	uint64_t got;
	int error;

	if (size == 0 && (error = cu_index_log_size(&size, t)) < 0)
		return error;
	if ((error = cu_index_get_checkpoint(&p->checkpoint, t, size)) < 0)
		return error;
	p->size = size;
	if ((blank = strstr(p->checkpoint, "\n\n")) == NULL ||
	    (text = strndup(p->checkpoint, (size_t)(blank - p->checkpoint) + 1)) == NULL ||
	    cu_checkpoint_parse(&origin, &got, p->root, text) < 0 || got != size)
		error = cu_error_set(CU_EINVALID, "the stored checkpoint of size %llu is malformed",
			(unsigned long long)size);
	free(origin);
	free(text);
	return error;
}

int
cu_archive_prove(cu_proof *out, cu_archive *a, const char *key, uint64_t size)
{
	char id_hex[65];
	json_t *doc = NULL, *leaf;
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	unsigned char root[CU_MLOG_HASH];
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0 ||
	    (error = load_record_raw(&doc, &out->document, &out->document_len, a, id_hex)) < 0)
		goto done;
	leaf = json_object_get(doc, "leaf");
	if (!json_is_integer(leaf) || json_integer_value(leaf) < 0) {
		error = cu_error_set(CU_EINVALID, "record %s has no log leaf", id_hex);
		goto done;
	}
	out->index = (uint64_t)json_integer_value(leaf);
	if ((error = cu_mlog_leaf_hash(out->leaf, out->document, out->document_len)) < 0 ||
	    (error = arc_record_path(out->history_path, sizeof(out->history_path),
			arc_jstr(doc, "ref") ? arc_jstr(doc, "ref") : "", arc_revision(doc))) < 0)
		goto done;
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0 || (error = proof_target(out, t, size)) < 0)
		goto done;
	if (out->index >= out->size) {
		error = cu_error_set(CU_EINVALID, "record %s is leaf %llu, not in a log of size %llu",
			id_hex, (unsigned long long)out->index, (unsigned long long)out->size);
		goto done;
	}
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_inclusion(out->path, &out->n, &st, out->index, out->size)) < 0 ||
	    (error = cu_mlog_root(root, &st, out->size)) < 0)
		goto done;
	/* the index and the signed checkpoint must agree, or the proof is void */
	if (memcmp(root, out->root, CU_MLOG_HASH) != 0) {
		error = cu_error_set(CU_EINVALID, "the index's log root at size %llu differs from "
			"the signed checkpoint; run custos verify", (unsigned long long)out->size);
		goto done;
	}
	if ((error = cu_mlog_verify_inclusion(out->leaf, out->index, out->size,
			(const unsigned char (*)[CU_MLOG_HASH])out->path, out->n, out->root)) < 0) {
		cu_error_prefix(error, "record %s is not in the log as stored", id_hex);
		goto done;
	}
	if ((out->text = cu_proof_inclusion_text(out->index,
			(const unsigned char (*)[32])out->path, out->n, out->checkpoint)) == NULL)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	if (t)
		cu_index_abort(t);
	json_decref(doc);
	if (error < 0)
		cu_proof_clear(out);
	return error;
}

int
cu_archive_prove_consistency(cu_proof *out, cu_archive *a, uint64_t m, uint64_t n)
{
	cu_index_txn *t = NULL;
	cu_mlog_store st;
	unsigned char root[CU_MLOG_HASH];
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0 || (error = proof_target(out, t, n)) < 0)
		goto done;
	if (m == 0 || m > out->size) {
		error = cu_error_set(CU_EINVALID, "consistency needs 0 < M <= N (N is %llu)",
			(unsigned long long)out->size);
		goto done;
	}
	out->index = m;
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_consistency(out->path, &out->n, &st, m, out->size)) < 0 ||
	    (error = cu_mlog_root(out->old_root, &st, m)) < 0 ||
	    (error = cu_mlog_root(root, &st, out->size)) < 0)
		goto done;
	if (memcmp(root, out->root, CU_MLOG_HASH) != 0) {
		error = cu_error_set(CU_EINVALID, "the index's log root at size %llu differs from "
			"the signed checkpoint; run custos verify", (unsigned long long)out->size);
		goto done;
	}
	if ((out->text = cu_proof_consistency_text(m, (const unsigned char (*)[32])out->path,
			out->n, out->checkpoint)) == NULL)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	if (t)
		cu_index_abort(t);
	if (error < 0)
		cu_proof_clear(out);
	return error;
}

/* ---- keys --------------------------------------------------------------------------- */

char *
cu_archive_public_key(cu_archive *a)
{
	if (a->signing_key[0] == '\0') {
		cu_error_set(CU_ENOTFOUND, "%s/archive.json: no signing_key", a->path);
		return NULL;
	}
	return strdup(a->signing_key);
}

char *
cu_archive_allowed_signers(cu_archive *a)
{
	unsigned char pub[CU_ED25519_PUB];

	if (arc_ssh_pub_raw(pub, a->signing_key) < 0)
		return NULL;
	return cu_sig_allowed_signers(pub, a->name);
}
