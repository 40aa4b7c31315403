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
	int error;

	json_object_del(doc, "id");
	if ((error = cu_canon_sealed(text, len, id_hex, "id", doc)) < 0)
		return error;
	if (json_object_set_new(doc, "id", json_string(id_hex)) < 0) {
		free(*text);
		*text = NULL;
		return cu_error_set(CU_ERROR, "out of memory");
	}
	return 0;
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
int
arc_person_key(unsigned char out[32], const cu_archive *a, const char *idno)
{
	struct arc_person_memo *m = a->person_memo;
	char norm[19];
	int error;

	if (!a->have_hmac || m == NULL)
		return cu_error_set(CU_ERROR,
			"%s/keys/person.hmac: cannot read the person-index key", a->path);
	cu_idno_normalize(norm, idno);
	/* a fund transaction asks for its person's key once per rule and
	 * state table that looks at the person: remember the last one */
	if (m->valid && memcmp(m->norm, norm, sizeof(norm)) == 0) {
		memcpy(out, m->key, 32);
		return 0;
	}
	m->valid = 0;
	if ((error = cu_hmac_sha256(out, a->hmac, norm, 18)) < 0)
		return error;
	memcpy(m->norm, norm, sizeof(norm));
	memcpy(m->key, out, 32);
	m->valid = 1;
	return 0;
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

/* backup.c lets the lock go while it copies immutable files, and takes it
 * again to record the backup. */
void
arc_unlock(cu_archive *a)
{
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	a->lock_fd = -1;
	a->mode = CU_ARCHIVE_READ;
}

int
arc_relock(cu_archive *a, int wait_seconds)
{
	int error;

	if (a->lock_fd >= 0)
		return 0;
	if ((error = take_lock(a, wait_seconds)) < 0) {
		if (a->lock_fd >= 0)
			close(a->lock_fd);
		a->lock_fd = -1;
		return error;
	}
	a->mode = CU_ARCHIVE_WRITE;
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
arc_summary_json(const cu_archive *a, const json_t *doc)
{
	const char *kind = arc_jstr(doc, "kind");
	json_t *summary = kind && strcmp(kind, "case") == 0 ? arc_case_summary(a, doc)
		: kind && strcmp(kind, "disposal_list") == 0 ? arc_list_summary(doc)
		: kind && strcmp(kind, "fund_txn") == 0 ? arc_fund_summary(doc)
		: receipt_summary(doc);
	char *text = summary ? json_dumps(summary, JSON_COMPACT) : NULL;

	json_decref(summary);
	return text;
}

static int index_receipt_op(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove);

int
arc_index_entry_apply(cu_archive *a, cu_index_txn *t, cu_index_entry *e, const json_t *doc,
	const json_t *identity, int remove)
{
	char digest_hex[65], *sjson;
	int error;

	if ((error = cu_canon_digest(digest_hex, identity)) < 0 ||
	    (error = cu_unhex(e->rkey_digest, 32, digest_hex)) < 0)
		return error;
	if ((sjson = arc_summary_json(a, doc)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	e->summary_json = sjson;
	if (remove)
		error = cu_index_remove(t, e);
	else if ((error = cu_index_put(t, e)) == 0)
		error = arc_note_item(t, e->ref);
	e->summary_json = NULL;
	free(sjson);
	return error;
}

int
arc_subject_entry(cu_index_entry *e, const cu_archive *a, const json_t *subj)
{
	int error;

	if (arc_jstr(subj, "id_no") != NULL) {
		if ((error = arc_person_key(e->person, a, arc_jstr(subj, "id_no"))) < 0)
			return error;
		e->has_person = 1;
	}
	e->org = arc_jstr(subj, "uscc");
	return 0;
}

/* Item numbers: the class key is the ref without its last level. */
int
arc_note_item(cu_index_txn *t, const char *ref)
{
	char *cls, *dash;
	int error;

	if ((cls = strdup(ref)) == NULL || (dash = strrchr(cls, '-')) == NULL) {
		free(cls);
		return cu_error_set(CU_EINVALID, "record %s: malformed ref", ref);
	}
	*dash = '\0';
	error = cu_index_note_item(t, cls, (uint32_t)strtoul(dash + 1, NULL, 10));
	free(cls);
	return error;
}

/* Puts a record document into the index (remove = 0), or takes it out of
 * every key (remove = 1): the same code serves the write path and the
 * replay after a crash, so the two can never disagree. */
static int
index_record_op(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove)
{
	if (arc_jstr(doc, "kind") != NULL && strcmp(arc_jstr(doc, "kind"), "case") == 0)
		return arc_index_case(a, t, doc, remove);
	if (arc_jstr(doc, "kind") != NULL && strcmp(arc_jstr(doc, "kind"), "disposal_list") == 0)
		return arc_index_list(a, t, doc, remove);
	if (arc_jstr(doc, "kind") != NULL && strcmp(arc_jstr(doc, "kind"), "fund_txn") == 0)
		return arc_index_fund(a, t, doc, remove);
	return index_receipt_op(a, t, doc, remove);
}

/* A receipt's index entries. */
static int
index_receipt_op(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove)
{
	const json_t *r = json_object_get(doc, "receipt");
	const json_t *subj = json_object_get(r, "subject");
	const char *ref = arc_jstr(doc, "ref"), *idh = arc_jstr(doc, "id");
	const char *content = arc_jstr(json_object_get(doc, "content"), "digest");
	cu_index_entry e;
	cu_time tm;
	char *text = NULL, *rkey = NULL;
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
	if ((error = arc_subject_entry(&e, a, subj)) < 0)
		return error;
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
	error = arc_index_entry_apply(a, t, &e, doc, r, remove);
done:
	free(text);
	free(rkey);
	return error;
}

/* Reads the revision of a record the history holds at the head. */
int
arc_load_revision(json_t **doc, cu_archive *a, const char *ref, long revision)
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
int
arc_index_record(cu_archive *a, cu_index_txn *t, const json_t *doc)
{
	long rev = arc_revision(doc);
	json_t *old = NULL;
	int error;

	if (rev > 1) {
		const char *sup = arc_jstr(doc, "supersedes");
		if ((error = arc_load_revision(&old, a, arc_jstr(doc, "ref") ? arc_jstr(doc, "ref") : "",
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
	if ((error = index_record_op(a, t, doc, 0)) < 0)
		return error;
	/* holds, lists and disposals follow from the documents too */
	return arc_dispo_index_record(a, t, doc);
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
	return arc_dispo_index_event(t, doc);
}

int
arc_index_event(cu_index_txn *t, const json_t *doc)
{
	return index_event(t, doc);
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
	if (cu_grow(&rc->leaves, &rc->cap, rc->nleaves + 1, sizeof(*rc->leaves)) < 0)
		return CU_ERROR;
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
		error = path[0] == 'r' ? arc_index_record(rc->a, rc->t, doc) : index_event(rc->t, doc);
	/* a decision's state follows from the transaction and the decision */
	if (error == 0 && path[0] == 'e' && arc_jstr(doc, "kind") != NULL &&
	    strcmp(arc_jstr(doc, "kind"), "decision") == 0)
		error = arc_fund_replay_decision(rc->a, rc->t, doc);
	/* and a review's from the review */
	if (error == 0 && path[0] == 'e' && arc_jstr(doc, "kind") != NULL &&
	    strcmp(arc_jstr(doc, "kind"), "review") == 0)
		error = arc_fund_replay_review(rc->a, rc->t, doc);

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
	char p[4096], *pub = NULL, *ident_text = NULL, now[32];
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
		/* the first commit carries archive.json, archive.conf and the
		 * shipped fund-control policy with its event (the log's first leaf) */
		char subject[256], digest[65];
		const char *r = cu_policy_default_rules(), *sf = cu_policy_default_staff();
		snprintf(subject, sizeof(subject), "init: archive %.128s, fonds %.16s", a->name, a->fonds);
		if ((error = arc_policy_commit(a, r, strlen(r), sf, strlen(sf), "shipped", files, 2,
				subject, digest)) < 0)
			goto fail;
	}
	if ((error = arc_index_sync(a, NULL)) < 0)
		goto fail;
	if ((error = cu_fsync_dir(path)) < 0)
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
	cu_policy_free(a->policy);
	return error;
}

/* A writer killed while git moved the ref leaves the ref's lock file
 * behind, and git then refuses every later commit.  Whoever holds the
 * archive's writers' lock is the only writer, so any such lock file is
 * stale: remove it (the ref itself is either the old or the new commit,
 * both complete). */
static int
clear_stale_git_locks(cu_archive *a)
{
	static const char *const locks[] = { "history.git/refs/heads/main.lock",
		"history.git/HEAD.lock", "history.git/packed-refs.lock" };
	char p[4096];
	int error;

	for (size_t i = 0; i < sizeof(locks) / sizeof(*locks); i++) {
		if ((error = apath(p, sizeof(p), a, locks[i])) < 0)
			return error;
		if (unlink(p) < 0 && errno != ENOENT)
			return cu_error_sys("removing the stale lock %s", p);
	}
	return 0;
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
	a->refs = 1;
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
		if ((error = clear_stale_git_locks(a)) < 0)
			goto fail;
		if ((error = apath(p, sizeof(p), a, "keys/signing.pem")) < 0 ||
		    (error = cu_signer_load(&a->signer, p)) < 0)
			goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "keys/person.hmac")) < 0)
		goto fail;
	a->have_hmac = cu_hmac_key_load(a->hmac, p) == 0;
	if (a->have_hmac && (a->person_memo = calloc(1, sizeof(*a->person_memo))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto fail;
	}
	if (mode != CU_ARCHIVE_READ && !a->have_hmac) {
		error = CU_ERROR;
		goto fail;
	}
	if ((error = apath(p, sizeof(p), a, "objects")) < 0 ||
	    (error = cu_cas_open(&a->cas, p, 0)) < 0)
		goto fail;
	/* a writer killed while streaming a case file left its temporary file */
	if (mode != CU_ARCHIVE_READ && (error = cu_cas_clean_incoming(a->cas)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "history.git")) < 0 ||
	    (error = cu_history_open(&a->hist, p)) < 0)
		goto fail;
	/* and one killed while writing a git pack, its temporary files */
	if (mode != CU_ARCHIVE_READ && (error = cu_history_clean_tmp(a->hist)) < 0)
		goto fail;
	if ((error = apath(p, sizeof(p), a, "index")) < 0)
		goto fail;
	if (mode == CU_ARCHIVE_REPAIR) {
		/* verify and reindex look at the index as it is */
		if ((error = cu_index_open(&a->ix, p, 1)) < 0)
			goto fail;
	} else if (mode == CU_ARCHIVE_WRITE) {
		if ((error = cu_index_open(&a->ix, p, 1)) < 0 || (error = arc_index_sync(a, NULL)) < 0 ||
		    (error = arc_policy_load(a)) < 0)
			goto fail;
		/* a disposal approved just before a crash: its objects go now; a
		 * failure leaves them for the next writer (verify reports them) */
		if (arc_dispo_complete(a) < 0)
			cu_error_clear();
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

cu_archive *
cu_archive_ref(cu_archive *a)
{
	a->refs++;
	return a;
}

void
cu_archive_refresh(cu_archive *a)
{
	if (a->mode == CU_ARCHIVE_READ)
		a->index_behind = index_lags(a);
	cu_error_clear();
}

void
cu_archive_free(cu_archive *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	cu_index_free(a->ix);
	cu_history_free(a->hist);
	cu_cas_free(a->cas);
	cu_conf_free(a->conf);
	cu_signer_free(a->signer);
	cu_policy_free(a->policy);
	explicit_bzero(a->hmac, sizeof(a->hmac));
	if (a->person_memo != NULL) {
		explicit_bzero(a->person_memo, sizeof(*a->person_memo));
		free(a->person_memo);
	}
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

/* ---- retrieval -------------------------------------------------------------------- */

/* 1 if the index holds the record as a case. */
static int
indexed_case(cu_index_txn *t, const unsigned char id[32])
{
	char *sjson = NULL;
	json_t *s;
	int yes;

	if (cu_index_get_summary(&sjson, t, id) < 0) {
		cu_error_clear();
		return 0;
	}
	s = json_loads(sjson, 0, NULL);
	yes = arc_jstr(s, "kind") != NULL && strcmp(arc_jstr(s, "kind"), "case") == 0;
	json_decref(s);
	free(sjson);
	return yes;
}

int
cu_archive_resolve(char id_hex[65], cu_archive *a, const char *key)
{
	cu_index_txn *t;
	unsigned char id[32], digest[32];
	int error;

	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	if (strncmp(key, "case:", 5) == 0 || strncmp(key, "txn:", 4) == 0) {
		/* a case by its number (External-Identifier), a fund
		 * transaction by its txn_no */
		char *rkey = key[0] == 'c' ? cu_asprintf("case/%s", key + 5)
					   : cu_asprintf("txn/%s", key + 4);
		if (rkey == NULL)
			error = CU_ERROR;
		else if ((error = cu_index_get_rkey(t, rkey, id, digest)) == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s: no %s with this number", key,
				key[0] == 'c' ? "case" : "fund transaction");
		free(rkey);
	} else if (strncmp(key, "sha256:", 7) == 0) {
		if ((error = cu_unhex(digest, 32, key + 7)) < 0)
			error = cu_error_set(CU_EINVALID, "%s: sha256: needs 64 hex digits", key);
		else if ((error = cu_index_get_content(t, digest, id)) == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s: no record has this content", key);
	} else if (strchr(key, '-') != NULL || strstr(key, "\xc2\xb7") != NULL) {
		char case_ref[256];
		long vol, item;
		if (arc_split_file_ref(key, case_ref, sizeof(case_ref), &vol, &item) == 0) {
			/* a file of a case: the case (a receipt has no files) */
			if ((error = cu_index_get_ref(t, case_ref, id)) == CU_ENOTFOUND)
				error = cu_error_set(CU_ENOTFOUND, "%s: no such case", case_ref);
			else if (error == 0 && !indexed_case(t, id))
				error = cu_error_set(CU_ENOTFOUND, "%s: no such file: %s is not a case",
					key, case_ref);
		} else if ((error = cu_index_get_ref(t, key, id)) == CU_ENOTFOUND) {
			error = cu_error_set(CU_ENOTFOUND, "%s: no such ref", key);
		}
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
int
arc_load_record_raw(json_t **doc, char **raw, size_t *rawlen, cu_archive *a, const char *id_hex)
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
	ref = arc_ref_rev_of(t, id, &revision);
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

int
arc_load_record(json_t **doc, cu_archive *a, const char *id_hex)
{
	return arc_load_record_raw(doc, NULL, NULL, a, id_hex);
}

/* Replaces the resident ID number of a record document by its masked form. */
void
arc_mask_document(json_t *doc)
{
	json_t *subj = json_object_get(json_object_get(doc, "receipt"), "subject");
	const char *idno;

	if (subj == NULL)   /* a case */
		subj = json_object_get(json_object_get(doc, "case"), "subject");
	if (subj == NULL)   /* a fund transaction */
		subj = json_object_get(json_object_get(doc, "fund_txn"), "person");
	idno = arc_jstr(subj, "id_no");
	char masked[19];

	if (idno == NULL)
		return;
	cu_idno_mask(masked, idno);
	json_object_set_new(subj, "id_no", json_string(masked));
}

/* Commits an access event: who, when, which records, why.  records is an
 * array of {id, ref}.  event (may be NULL) receives the event document's
 * exact text (caller frees). */
int
arc_record_access(cu_archive *a, const char *action, json_t *records, const char *purpose,
	int unmasked, const char *output, const char *what, char **event, size_t *event_len)
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
	if (error == 0 && event != NULL) {
		*event = text;
		*event_len = len;
		text = NULL;
	}
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
	const char *digest = NULL;
	unsigned char dbin[32];
	size_t blen = 0;
	int error, stream = 0;

	*doc = NULL;
	if (content)
		*content = NULL;
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0)
		return error;
	if ((error = arc_load_record(&d, a, id_hex)) < 0)
		return error;
	o->revisions = arc_revision(d);
	if (o->version != 0 && o->version != arc_revision(d)) {
		json_t *old = NULL;
		if (o->version < 1 || o->version > arc_revision(d)) {
			error = cu_error_set(CU_ENOTFOUND, "%s has revisions 1 to %ld", key,
				arc_revision(d));
			goto done;
		}
		if ((error = arc_load_revision(&old, a, arc_jstr(d, "ref"), o->version)) < 0)
			goto done;
		json_decref(d);
		d = old;
		snprintf(id_hex, sizeof(id_hex), "%s", arc_jstr(d, "id") ? arc_jstr(d, "id") : "");
	}
	if (o->content && json_object_get(d, "volumes") != NULL) {
		/* a case: one of its files */
		const json_t *f;
		if ((error = arc_case_file(&f, d, key, o->file)) < 0)
			goto done;
		digest = arc_jstr(f, "digest");
		recs = json_pack("[{s:s, s:s?, s:s?, s:s?}]", "id", id_hex, "ref", arc_jstr(d, "ref"),
			"file", arc_jstr(f, "path"), "file_ref", arc_jstr(f, "ref"));
	} else {
		if (o->file != NULL) {
			error = cu_error_set(CU_EINVALID, "%s: --file: the record is not a case", key);
			goto done;
		}
		digest = arc_jstr(json_object_get(d, "content"), "digest");
		recs = json_pack("[{s:s, s:s?}]", "id", id_hex, "ref", arc_jstr(d, "ref"));
	}
	/* content that a disposal removed: say which list, whatever is on disk */
	if (o->content && (error = arc_dispo_check_content(a, d)) < 0)
		goto done;
	/* a loose object is streamed after the access is recorded; anything
	 * else is read (and checked) first, so that a missing or damaged
	 * object is reported before an access is recorded */
	if (o->content && o->sink != NULL && digest != NULL && strncmp(digest, "sha256:", 7) == 0 &&
	    cu_unhex(dbin, 32, digest + 7) == 0 && cu_cas_has_loose(a->cas, dbin))
		stream = 1;
	else if (o->content && (error = read_content(&bytes, &blen, a, digest)) < 0)
		goto done;
	/* the exact bytes received hold the ID number in clear */
	if ((error = arc_record_access(a, "get", recs, o->purpose, o->unmask || o->content,
			o->content ? "content" : "record", arc_jstr(d, "ref") ? arc_jstr(d, "ref") : id_hex,
			NULL, NULL)) < 0)
		goto done;
	if (stream && (error = cu_cas_stream_loose(a->cas, dbin, o->sink, o->sink_payload)) != 0)
		goto done;
	if (o->content && o->sink != NULL && !stream &&
	    (error = o->sink(bytes, blen, o->sink_payload)) != 0)
		goto done;
	if (!o->unmask)
		arc_mask_document(d);
	*doc = d;
	d = NULL;
	if (o->content && o->sink == NULL) {
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
	cu_index_txn *t;    /* the search's snapshot (held and disposed marks) */
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
	arc_dispo_mark_hit(sc->t, hit);
	arc_fund_mark_hit(sc->t, hit);
	if (sc->q->unmask) {
		json_t *doc = NULL;
		const char *subj_kind = arc_jstr(json_object_get(hit, "subject"), "kind");
		if (subj_kind && strcmp(subj_kind, "person") == 0) {
			if ((error = arc_load_record(&doc, sc->a, arc_jstr(hit, "id"))) == 0) {
				const json_t *body = json_object_get(doc, "receipt") ?
					json_object_get(doc, "receipt") : json_object_get(doc, "case");
				const char *idno = arc_jstr(json_object_get(body, "subject"), "id_no");
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
	struct search_ctx sc = { a, q, cb, payload, NULL, NULL, NULL };
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
		if ((error = arc_person_key(iq.person, a, q->person)) < 0)
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
	iq.case_no = q->case_no;
	iq.file_name = q->file_name;
	if (q->scheme != NULL && strcmp(q->scheme, "employee") != 0 &&
	    strcmp(q->scheme, "resident") != 0)
		return cu_error_set(CU_EINVALID, "--scheme: must be employee or resident");
	if (q->period != NULL) {
		int month;
		if ((error = cu_month_parse(&month, q->period)) < 0)
			return cu_error_prefix(error, "--period");
	}
	iq.scheme = q->scheme;
	iq.period = q->period;
	if (q->type != NULL) {
		if (strcmp(q->type, "receipt") != 0 && strcmp(q->type, "case") != 0 &&
		    strcmp(q->type, "disposal_list") != 0 && strcmp(q->type, "fund_txn") != 0) {
			return cu_error_set(CU_EINVALID, "--type: must be receipt, case, disposal_list "
				"or fund_txn");
		}
		iq.kind = q->type;
	}
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
	sc.t = t;
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
			if ((error = arc_record_access(a, "search", sc.unmasked, q->purpose, 1, "summary",
					what, NULL, NULL)) < 0)
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
	if ((error = arc_index_sync(a, commits)) < 0)
		return error;
	/* removals an approval left pending are replayed as pending: finish them */
	if (arc_dispo_complete(a) < 0)
		cu_error_clear();
	return 0;
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
