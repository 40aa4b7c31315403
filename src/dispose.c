/*
 * dispose.c — retention, disposition and legal holds: cu_archive_hold,
 * cu_archive_due, cu_archive_propose, cu_archive_approve, cu_archive_reject
 * and cu_archive_record_state (custos/archive.h), and the disposition state
 * the index derives from the history (docs/disposition.md).
 *
 * The history holds everything: a hold is a "hold" event; a proposal is a
 * destruction list (a record of kind "disposal_list", kept permanently) and
 * a "disposal" event; an approval or a rejection is a revision of the list
 * and a "disposal" event.  The index keeps marks derived from those
 * documents alone (index.h, "dispo"), so a rebuilt index knows the same.
 * Removing objects from disk follows the commit of the approval: a crash
 * in between leaves "pending" marks that the next writer completes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/archive.h"
#include "custos/cas.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/record.h"
#include "custos/retention.h"
#include "custos/util.h"
#include "archive_int.h"

#define REASON_MAX 4000
#define KEYS_MAX 100000

/* Marks (index.h): by ref */
#define MARK_HELD     'H'
#define MARK_LISTED   'L'
#define MARK_DISPOSED 'D'
/* by content digest */
#define MARK_REMOVED  'R'
#define MARK_PENDING  'P'

/* ---- small helpers ------------------------------------------------------------ */

static const char *
kind_of(const json_t *doc)
{
	return arc_jstr(doc, "kind") ? arc_jstr(doc, "kind") : "receipt";
}

static int
is_list(const json_t *doc)
{
	return strcmp(kind_of(doc), "disposal_list") == 0;
}

/* 1 if text holds a resident ID number (a run of 17 digits and a digit or X
 * that passes GB 11643). */
static int
holds_idno(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + 18 <= n; i++) {
		char id[19];
		size_t k;
		if (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
			continue;
		for (k = 0; k < 17 && s[i + k] >= '0' && s[i + k] <= '9'; k++)
			;
		if (k < 17 || !((s[i + 17] >= '0' && s[i + 17] <= '9') || s[i + 17] == 'X' ||
		    s[i + 17] == 'x') || (s[i + 18] >= '0' && s[i + 18] <= '9'))
			continue;
		memcpy(id, s + i, 18);
		id[18] = '\0';
		if (cu_idno_check(id) == 0)
			return 1;
		cu_error_clear();
	}
	return 0;
}

int
arc_check_note(const char *reason, const char *option)
{
	if (reason == NULL || reason[0] == '\0')
		return cu_error_set(CU_EINVALID, "%s: a reason is required", option);
	if (strlen(reason) > REASON_MAX)
		return cu_error_set(CU_EINVALID, "%s: longer than %d bytes", option, REASON_MAX);
	for (const char *p = reason; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
			return cu_error_set(CU_EINVALID, "%s: holds a control character", option);
	/* reasons are kept in clear in the history and the index */
	if (holds_idno(reason))
		return cu_error_set(CU_EINVALID, "%s: holds a resident ID number; name the "
			"matter without it (it is kept in clear)", option);
	return 0;
}

static int
check_reason(const char *reason)
{
	return arc_check_note(reason, "--reason");
}

/* A record's mark as a JSON object: *out NULL (and 0) when there is none. */
static int
get_mark(json_t **out, cu_index_txn *t, char kind, const void *key, size_t klen)
{
	char *text = NULL;
	int error;

	*out = NULL;
	if ((error = cu_index_get_mark(&text, t, kind, key, klen)) == CU_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	if ((*out = json_loads(text, 0, NULL)) == NULL)
		error = cu_error_set(CU_ERROR, "index damaged: a disposition mark is not JSON; "
			"run custos reindex");
	free(text);
	return error;
}

static int
get_ref_mark(json_t **out, cu_index_txn *t, char kind, const char *ref)
{
	return get_mark(out, t, kind, ref, strlen(ref));
}

/* Puts a mark whose value is the JSON object v (taken over). */
static int
put_mark(cu_index_txn *t, char kind, const void *key, size_t klen, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int error;

	json_decref(v);
	if (text == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	error = cu_index_put_mark(t, kind, key, klen, text);
	free(text);
	return error;
}

static const char *
mstr(const json_t *mark, const char *key)
{
	return arc_jstr(mark, key) ? arc_jstr(mark, key) : "?";
}

/* "YYYY-MM-DD" of today in the archive's time zone, as YYYYMMDD. */
static int
today(const cu_archive *a)
{
	return cu_date_of_epoch((long long)time(NULL), cu_conf_tz_offset(a->conf));
}

/* The record a key names, and its current document.  Keys that name a
 * content digest (possibly shared) are refused: disposition acts on records. */
static int
resolve_doc(json_t **doc, char id_hex[65], cu_archive *a, const char *key)
{
	int error;

	*doc = NULL;
	if (strncmp(key, "sha256:", 7) == 0)
		return cu_error_set(CU_EINVALID, "a content digest may belong to several records: "
			"give the record's ref or id");
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0)
		return error;
	return arc_load_record(doc, a, id_hex);
}

/* ---- content objects of records ------------------------------------------------- */

typedef int (*obj_cb)(const unsigned char digest[32], const char *text, json_int_t size,
	void *payload);

static int
one_object(const char *text, json_int_t size, obj_cb cb, void *payload)
{
	unsigned char d[32];

	if (text == NULL || strncmp(text, "sha256:", 7) != 0 || cu_unhex(d, 32, text + 7) < 0) {
		cu_error_clear();   /* a malformed digest is verify's to report */
		return 0;
	}
	return cb(d, text, size, payload);
}

/* Every content object a record document names: its "content", and every
 * file of every volume of a case. */
static int
doc_objects(const json_t *doc, obj_cb cb, void *payload)
{
	const json_t *c = json_object_get(doc, "content");
	json_t *vol, *f;
	size_t i, j;
	int error = 0;

	if (c != NULL && (error = one_object(arc_jstr(c, "digest"),
			json_integer_value(json_object_get(c, "size")), cb, payload)) != 0)
		return error;
	json_array_foreach(json_object_get(doc, "volumes"), i, vol)
		json_array_foreach(json_object_get(vol, "files"), j, f)
			if ((error = one_object(arc_jstr(f, "digest"),
					json_integer_value(json_object_get(f, "size")), cb, payload)) != 0)
				return error;
	return 0;
}

static int
add_object(const unsigned char d[32], const char *text, json_int_t size, void *payload)
{
	(void)d;
	if (json_object_set_new(payload, text, json_integer(size)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* Adds the objects of every revision of a record to objs ({digest: size}). */
static int
record_objects(json_t *objs, cu_archive *a, const json_t *doc)
{
	long n = arc_revision(doc);
	int error = doc_objects(doc, add_object, objs);

	for (long k = 1; k < n && error == 0; k++) {
		json_t *old = NULL;
		if ((error = arc_load_revision(&old, a, arc_jstr(doc, "ref"), k)) == 0)
			error = doc_objects(old, add_object, objs);
		json_decref(old);
	}
	return error;
}

static int
cmp_cstr(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* objs ({digest: size}) as [{"digest", "size"}] in digest order (new). */
static json_t *
objects_array(const json_t *objs)
{
	const char **keys = calloc(json_object_size(objs) + 1, sizeof(*keys));
	json_t *arr = json_array(), *v;
	const char *k;
	size_t n = 0;

	if (keys == NULL || arr == NULL) {
		free(keys);
		json_decref(arr);
		return NULL;
	}
	json_object_foreach((json_t *)objs, k, v)
		keys[n++] = k;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_cstr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:O}", "digest", keys[i], "size",
			json_object_get(objs, keys[i])));
	free(keys);
	return arr;
}

/* ---- writing documents ------------------------------------------------------------ */

/* Gives doc the log's next leaf, seals it and appends it to the log. */
int
arc_log_doc(cu_index_txn *t, uint64_t *size, json_t *doc, char **text, size_t *len, char id[65])
{
	unsigned char leaf[CU_MLOG_HASH];
	cu_mlog_store st;
	int error;

	json_object_set_new(doc, "leaf", json_integer((json_int_t)*size));
	if ((error = arc_seal_document(text, len, id, doc)) < 0 ||
	    (error = cu_mlog_leaf_hash(leaf, *text, *len)) < 0)
		return error;
	cu_index_mlog_store(&st, t);
	if ((error = cu_mlog_append(&st, *size, leaf)) < 0)
		return error;
	(*size)++;
	return 0;
}

/* An event document: kind, action, who and when; the caller adds the rest. */
json_t *
arc_new_event(const cu_archive *a, const char *kind, const char *action, const char *now)
{
	return json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:I}}", "version", 1, "kind", kind,
		"action", action, "at", now, "by", "user", a->user, "uid", (json_int_t)a->uid);
}

int
arc_event_path(char *out, size_t outsz, const char *now, const char *id)
{
	return cu_pathf(out, outsz, "events/%.4s/%.5s/%s.json", now, now + 5, id);
}

/* Commits the files, with the log's checkpoint, as one signed commit, then
 * the index transaction (freed). */
int
arc_commit_docs(cu_archive *a, cu_index_txn *t, const cu_history_file *files, size_t n,
	uint64_t first, uint64_t size, const char *subject)
{
	char head[CU_OID_HEX];
	int error;

	if ((error = arc_commit_logged(a, t, files, n, size, NULL, subject, head)) < 0 ||
	    (error = cu_index_put_commit(t, first, head)) < 0) {
		cu_index_abort(t);
		return error;
	}
	return cu_index_commit(t);
}

/* One event as its own commit: logged at the next leaf, indexed, filed under
 * events/ by its "at", committed with subject; t is committed or aborted
 * (freed) either way. */
int
arc_commit_event(cu_archive *a, cu_index_txn *t, json_t *ev, const char *subject,
	char event_id[65])
{
	const char *at = arc_jstr(ev, "at");
	char path[160], *text = NULL;
	cu_history_file f;
	uint64_t size, first;
	size_t len;
	int error;

	event_id[0] = '\0';
	if (at == NULL || strlen(at) < 10) {
		cu_index_abort(t);
		return cu_error_set(CU_EINVALID, "event without time");
	}
	if ((error = cu_index_log_size(&size, t)) < 0)
		goto fail;
	first = size;
	if ((error = arc_log_doc(t, &size, ev, &text, &len, event_id)) < 0 ||
	    (error = arc_event_path(path, sizeof(path), at, event_id)) < 0 ||
	    (error = arc_index_event(t, ev)) < 0)
		goto fail;
	f = (cu_history_file){ path, text, len };
	error = arc_commit_docs(a, t, &f, 1, first, size, subject);
	free(text);
	if (error < 0)
		event_id[0] = '\0';
	return error;
fail:
	cu_index_abort(t);
	free(text);
	event_id[0] = '\0';
	return error;
}

int
cu_archive_record_denial(cu_archive *a, const char *command, const char *role,
	const char *reason, char event_id[65])
{
	cu_index_txn *t = NULL;
	char now[32], subject[256];
	json_t *ev;
	int error;

	event_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "recording a denial needs the archive lock");
	cu_now_rfc3339(now);
	if ((ev = arc_new_event(a, "access", "denied", now)) == NULL ||
	    json_object_set_new(ev, "request", json_pack("{s:s, s:s, s:s}", "command", command,
		"role", role, "reason", reason)) < 0) {
		json_decref(ev);
		return cu_error_set(CU_ERROR, "out of memory building the denial event");
	}
	snprintf(subject, sizeof(subject), "access: denied %s to uid %lu (needs role %s)",
		command, a->uid, role);
	if ((error = cu_index_begin(&t, a->ix, 1)) == 0)
		error = arc_commit_event(a, t, ev, subject, event_id);
	json_decref(ev);
	return error;
}

/* ---- the index's disposition state --------------------------------------------- */

static int
take_back(const unsigned char d[32], const char *text, json_int_t size, void *payload)
{
	cu_index_txn *t = payload;
	int error;

	(void)text;
	(void)size;
	if ((error = cu_index_del_mark(t, MARK_REMOVED, d, 32)) < 0)
		return error;
	return cu_index_del_mark(t, MARK_PENDING, d, 32);
}

int
arc_dispo_index_record(cu_archive *a, cu_index_txn *t, const json_t *doc)
{
	const json_t *dl = json_object_get(doc, "disposal_list");
	const json_t *appr = json_object_get(doc, "approval");
	const json_t *rej = json_object_get(doc, "rejection");
	const char *ref = arc_jstr(doc, "ref");
	json_t *rec, *o, *m = NULL;
	size_t i;
	int error = 0;

	(void)a;
	if (ref == NULL)
		return 0;
	if (!is_list(doc)) {
		/* a live record holds its objects: a disposal that removed the same
		 * bytes earlier no longer applies to them */
		if ((error = get_ref_mark(&m, t, MARK_DISPOSED, ref)) < 0)
			return error;
		if (m != NULL) {
			json_decref(m);
			return 0;
		}
		return doc_objects(doc, take_back, t);
	}
	json_array_foreach(json_object_get(dl, "records"), i, rec) {
		const char *r = arc_jstr(rec, "ref");
		if (r == NULL)
			continue;
		if (appr != NULL) {
			const json_t *by = json_object_get(appr, "approved_by");
			if ((error = cu_index_del_mark(t, MARK_LISTED, r, strlen(r))) < 0 ||
			    (error = put_mark(t, MARK_DISPOSED, r, strlen(r), json_pack(
				"{s:s, s:s?, s:s?, s:s?, s:I, s:s?}", "list", ref, "list_id",
				arc_jstr(doc, "id"), "at", arc_jstr(appr, "approved_at"),
				"by", arc_jstr(by, "user"),
				"uid", json_integer_value(json_object_get(by, "uid")), "proposed_by",
				arc_jstr(json_object_get(dl, "proposed_by"), "user")))) < 0)
				return error;
		} else if (rej != NULL) {
			/* the record is free again, unless another list took it since */
			if ((error = get_ref_mark(&m, t, MARK_LISTED, r)) < 0)
				return error;
			if (m != NULL && arc_jstr(m, "list") != NULL && strcmp(arc_jstr(m, "list"), ref) == 0)
				error = cu_index_del_mark(t, MARK_LISTED, r, strlen(r));
			json_decref(m);
			m = NULL;
			if (error < 0)
				return error;
		} else if ((error = put_mark(t, MARK_LISTED, r, strlen(r), json_pack(
				"{s:s, s:s?, s:s?, s:s?}", "list", ref, "list_id", arc_jstr(doc, "id"),
				"at", arc_jstr(dl, "proposed_at"),
				"by", arc_jstr(json_object_get(dl, "proposed_by"), "user")))) < 0) {
			return error;
		}
	}
	json_array_foreach(json_object_get(appr, "objects_removed"), i, o) {
		const char *d = arc_jstr(o, "digest");
		unsigned char digest[32];
		if (d == NULL || strncmp(d, "sha256:", 7) != 0 || cu_unhex(digest, 32, d + 7) < 0)
			return cu_error_set(CU_EINVALID, "destruction list %s: a removed object without "
				"a digest", ref);
		if ((error = put_mark(t, MARK_REMOVED, digest, 32, json_pack("{s:s, s:s?}", "list",
				ref, "at", arc_jstr(appr, "approved_at")))) < 0 ||
		    (error = cu_index_put_mark(t, MARK_PENDING, digest, 32, "{}")) < 0)
			return error;
	}
	return 0;
}

int
arc_dispo_index_event(cu_index_txn *t, const json_t *ev)
{
	const char *kind = arc_jstr(ev, "kind"), *action = arc_jstr(ev, "action");
	const json_t *by = json_object_get(ev, "by");
	json_t *rec;
	size_t i;
	int error;

	if (kind == NULL || strcmp(kind, "hold") != 0 || action == NULL)
		return 0;
	json_array_foreach(json_object_get(ev, "records"), i, rec) {
		const char *r = arc_jstr(rec, "ref");
		if (r == NULL)
			return cu_error_set(CU_EINVALID, "hold event %s names no ref", mstr(ev, "id"));
		if (strcmp(action, "add") == 0)
			error = put_mark(t, MARK_HELD, r, strlen(r), json_pack("{s:s?, s:s?, s:I, s:s?, "
				"s:s?}", "at", arc_jstr(ev, "at"), "by", arc_jstr(by, "user"),
				"uid", json_integer_value(json_object_get(by, "uid")),
				"reason", arc_jstr(ev, "reason"), "event", arc_jstr(ev, "id")));
		else
			error = cu_index_del_mark(t, MARK_HELD, r, strlen(r));
		if (error < 0)
			return error;
	}
	return 0;
}

/* ---- destruction lists in the index and on display -------------------------------- */

static const char *
list_state(const json_t *doc)
{
	if (json_object_get(doc, "approval") != NULL)
		return "approved";
	if (json_object_get(doc, "rejection") != NULL)
		return "rejected";
	return "open";
}

json_t *
arc_list_summary(const json_t *doc)
{
	const json_t *dl = json_object_get(doc, "disposal_list");
	size_t n = json_array_size(json_object_get(dl, "records"));
	char *text = cu_asprintf("销毁清册 destruction list, %zu record%s, %s: %s", n,
		n == 1 ? "" : "s", list_state(doc), mstr(dl, "reason"));
	json_t *s;

	if (text == NULL)
		return NULL;
	s = json_pack("{s:s?, s:s?, s:s, s:s?, s:s, s:s, s:I, s:s?}", "id", arc_jstr(doc, "id"),
		"ref", arc_jstr(doc, "ref"), "kind", "disposal_list",
		"time", arc_jstr(dl, "proposed_at"), "summary", text, "state", list_state(doc),
		"records", (json_int_t)n,
		"proposed_by", arc_jstr(json_object_get(dl, "proposed_by"), "user"));
	free(text);
	if (s != NULL && arc_revision(doc) > 1)
		json_object_set_new(s, "revision", json_integer(arc_revision(doc)));
	return s;
}

int
arc_index_list(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove)
{
	const json_t *dl = json_object_get(doc, "disposal_list");
	const char *ref = arc_jstr(doc, "ref"), *idh = arc_jstr(doc, "id");
	cu_index_entry e;
	cu_time tm;
	json_t *summary = NULL;
	char *sjson = NULL, *text = NULL;
	int error;

	(void)a;
	memset(&e, 0, sizeof(e));
	if (ref == NULL || idh == NULL || dl == NULL || cu_unhex(e.id, 32, idh) < 0)
		return cu_error_set(CU_EINVALID, "destruction list document without id, ref or list");
	if ((error = cu_time_parse(&tm, mstr(dl, "proposed_at"))) < 0)
		return cu_error_prefix(error, "destruction list %s: proposed_at", ref);
	e.ref = ref;
	e.time = tm.epoch;
	e.kind = "disposal_list";
	if ((text = cu_asprintf("销毁清册 destruction list disposal %s", mstr(dl, "reason"))) == NULL ||
	    (summary = arc_list_summary(doc)) == NULL ||
	    (sjson = json_dumps(summary, JSON_COMPACT)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	e.text = text;
	e.summary_json = sjson;
	if (remove)
		error = cu_index_remove(t, &e);
	else if ((error = cu_index_put(t, &e)) == 0)
		error = arc_note_item(t, ref);
done:
	free(text);
	free(sjson);
	json_decref(summary);
	return error;
}

/* ---- what others ask --------------------------------------------------------------- */

int
arc_dispo_check_content(cu_archive *a, const json_t *doc)
{
	const char *ref = arc_jstr(doc, "ref");
	cu_index_txn *t;
	json_t *m = NULL;
	int error;

	if (ref == NULL)
		return 0;
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	error = get_ref_mark(&m, t, MARK_DISPOSED, ref);
	cu_index_abort(t);
	if (error == 0 && m != NULL)
		error = cu_error_set(CU_ENOTFOUND, "%s: its content was disposed of on %s by "
			"destruction list %s (approved by %s); the record's document remains "
			"(custos get without --content)", ref, mstr(m, "at"), mstr(m, "list"),
			mstr(m, "by"));
	json_decref(m);
	return error;
}

int
arc_dispo_refuse_change(cu_index_txn *t, const char *ref, char *reason, size_t rsz)
{
	json_t *m = NULL;

	if (ref == NULL)
		return 0;
	if (get_ref_mark(&m, t, MARK_DISPOSED, ref) < 0) {
		snprintf(reason, rsz, "%s: %s", ref, cu_error_last());
		cu_error_clear();
		return -1;
	}
	if (m == NULL)
		return 0;
	snprintf(reason, rsz, "%s: its content was disposed of on %s by destruction list %s; "
		"a disposed record takes no new revision", ref, mstr(m, "at"), mstr(m, "list"));
	json_decref(m);
	return -1;
}

void
arc_dispo_mark_hit(cu_index_txn *t, json_t *hit)
{
	const char *ref = arc_jstr(hit, "ref");
	json_t *m = NULL;

	if (t == NULL || ref == NULL)
		return;
	if (get_ref_mark(&m, t, MARK_DISPOSED, ref) == 0 && m != NULL)
		json_object_set_new(hit, "disposed", json_pack("{s:s?, s:s?}", "list",
			arc_jstr(m, "list"), "at", arc_jstr(m, "at")));
	json_decref(m);
	m = NULL;
	if (get_ref_mark(&m, t, MARK_HELD, ref) == 0 && m != NULL)
		json_object_set_new(hit, "held", json_pack("{s:s?}", "since", arc_jstr(m, "at")));
	json_decref(m);
	cu_error_clear();
}

int
arc_dispo_describe(const json_t *ev, const char **action, const char **time,
	const json_t **by, char *detail, size_t dsz)
{
	const char *kind = kind_of(ev), *act = arc_jstr(ev, "action");
	const json_t *list = json_object_get(ev, "list");
	size_t n = json_array_size(json_object_get(ev, "records"));

	if (strcmp(kind, "hold") == 0) {
		int add = act != NULL && strcmp(act, "add") == 0;
		*action = add ? "held" : "released";
		*time = arc_jstr(ev, "at");
		*by = json_object_get(ev, "by");
		snprintf(detail, dsz, "legal hold %s, reason \"%s\"", add ? "added" : "released",
			mstr(ev, "reason"));
		return 1;
	}
	if (strcmp(kind, "disposal") == 0) {
		*time = arc_jstr(ev, "at");
		*by = json_object_get(ev, "by");
		if (act != NULL && strcmp(act, "propose") == 0) {
			*action = "proposed";
			snprintf(detail, dsz, "proposed for disposal on destruction list %s (%zu "
				"record%s), reason \"%s\"", mstr(list, "ref"), n, n == 1 ? "" : "s",
				mstr(ev, "reason"));
		} else if (act != NULL && strcmp(act, "approve") == 0) {
			json_int_t k = json_integer_value(json_object_get(ev, "objects_removed"));
			*action = "disposed";
			snprintf(detail, dsz, "content disposed of: destruction list %s approved (%zu "
				"record%s, %lld object%s removed)", mstr(list, "ref"), n, n == 1 ? "" : "s",
				(long long)k, k == 1 ? "" : "s");
		} else {
			*action = "rejected";
			snprintf(detail, dsz, "destruction list %s rejected, reason \"%s\"",
				mstr(list, "ref"), mstr(ev, "reason"));
		}
		return 1;
	}
	if (strcmp(kind, "disposal_list") == 0) {
		const json_t *dl = json_object_get(ev, "disposal_list");
		const json_t *appr = json_object_get(ev, "approval");
		const json_t *rej = json_object_get(ev, "rejection");
		n = json_array_size(json_object_get(dl, "records"));
		if (appr != NULL) {
			size_t r = json_array_size(json_object_get(appr, "objects_removed"));
			size_t k = json_array_size(json_object_get(appr, "objects_kept"));
			*action = "approved";
			*time = arc_jstr(appr, "approved_at");
			*by = json_object_get(appr, "approved_by");
			snprintf(detail, dsz, "revision %ld: approved; %zu record%s disposed of, %zu "
				"object%s removed, %zu kept (held by other records)", arc_revision(ev), n,
				n == 1 ? "" : "s", r, r == 1 ? "" : "s", k);
		} else if (rej != NULL) {
			*action = "rejected";
			*time = arc_jstr(rej, "rejected_at");
			*by = json_object_get(rej, "rejected_by");
			snprintf(detail, dsz, "revision %ld: rejected, reason \"%s\"", arc_revision(ev),
				mstr(rej, "reason"));
		} else {
			*action = "proposed";
			*time = arc_jstr(dl, "proposed_at");
			*by = json_object_get(dl, "proposed_by");
			snprintf(detail, dsz, "%s: destruction list of %zu record%s proposed, reason "
				"\"%s\"", mstr(ev, "ref"), n, n == 1 ? "" : "s", mstr(dl, "reason"));
		}
		return 1;
	}
	return 0;
}

/* ---- record state ------------------------------------------------------------------- */

int
cu_archive_record_state(cu_archive *a, const char *key, cu_record_state *st)
{
	char id_hex[65], *sjson = NULL;
	unsigned char id[32];
	cu_index_txn *t = NULL;
	json_t *s = NULL, *m = NULL;
	int date, error;

	memset(st, 0, sizeof(*st));
	if ((error = cu_archive_resolve(id_hex, a, key)) < 0 || (error = cu_unhex(id, 32, id_hex)) < 0 ||
	    (error = cu_index_begin(&t, a->ix, 0)) < 0 ||
	    (error = cu_index_get_summary(&sjson, t, id)) < 0)
		goto done;
	if ((s = json_loads(sjson, 0, NULL)) == NULL || arc_jstr(s, "ref") == NULL) {
		error = cu_error_set(CU_ERROR, "index damaged: the summary of %s; run custos reindex",
			id_hex);
		goto done;
	}
	snprintf(st->ref, sizeof(st->ref), "%s", arc_jstr(s, "ref"));
	snprintf(st->kind, sizeof(st->kind), "%s", mstr(s, "kind"));
	if (cu_disposal_date(&date, st->ref) < 0)
		cu_error_clear();
	else
		cu_date_format(st->disposal_date, date);
	if ((error = get_ref_mark(&m, t, MARK_HELD, st->ref)) < 0)
		goto done;
	if (m != NULL) {
		st->held = 1;
		snprintf(st->held_since, sizeof(st->held_since), "%s", mstr(m, "at"));
		snprintf(st->held_by, sizeof(st->held_by), "%s", mstr(m, "by"));
		snprintf(st->hold_reason, sizeof(st->hold_reason), "%s", mstr(m, "reason"));
		json_decref(m);
	}
	if ((error = get_ref_mark(&m, t, MARK_LISTED, st->ref)) < 0)
		goto done;
	if (m != NULL) {
		st->listed = 1;
		snprintf(st->list_ref, sizeof(st->list_ref), "%s", mstr(m, "list"));
		json_decref(m);
	}
	if ((error = get_ref_mark(&m, t, MARK_DISPOSED, st->ref)) < 0)
		goto done;
	if (m != NULL) {
		st->disposed = 1;
		snprintf(st->disposed_by_list, sizeof(st->disposed_by_list), "%s", mstr(m, "list"));
		snprintf(st->disposed_at, sizeof(st->disposed_at), "%s", mstr(m, "at"));
		snprintf(st->approved_by, sizeof(st->approved_by), "%s", mstr(m, "by"));
		json_decref(m);
	}
	m = NULL;
done:
	if (t)
		cu_index_abort(t);
	json_decref(s);
	json_decref(m);
	free(sjson);
	return error;
}

/* ---- holds ---------------------------------------------------------------------------- */

int
cu_archive_hold(cu_archive *a, const char *key, int add, const char *reason, char ref_out[128],
	char event_id[65])
{
	char id_hex[65], now[32], subject[256];
	const char *ref;
	json_t *doc = NULL, *ev = NULL, *m = NULL;
	cu_index_txn *t = NULL;
	int error;

	ref_out[0] = event_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "a hold needs the archive opened for writing");
	if ((error = check_reason(reason)) < 0 || (error = resolve_doc(&doc, id_hex, a, key)) < 0)
		goto done;
	ref = arc_jstr(doc, "ref");
	if (ref == NULL) {
		error = cu_error_set(CU_EINVALID, "%s: the record has no ref", key);
		goto done;
	}
	snprintf(ref_out, 128, "%s", ref);
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
		goto done;
	if ((error = get_ref_mark(&m, t, MARK_DISPOSED, ref)) < 0)
		goto done;
	if (m != NULL && add) {
		error = cu_error_set(CU_ECONFLICT, "%s: its content was already disposed of on %s by "
			"destruction list %s: nothing is left to hold", ref, mstr(m, "at"),
			mstr(m, "list"));
		goto done;
	}
	json_decref(m);
	if ((error = get_ref_mark(&m, t, MARK_HELD, ref)) < 0)
		goto done;
	if (add && m != NULL) {
		error = cu_error_set(CU_ECONFLICT, "%s: already on hold since %s by %s (reason \"%s\")",
			ref, mstr(m, "at"), mstr(m, "by"), mstr(m, "reason"));
		goto done;
	}
	if (!add && m == NULL) {
		error = cu_error_set(CU_ECONFLICT, "%s: not on hold", ref);
		goto done;
	}
	cu_now_rfc3339(now);
	if ((ev = arc_new_event(a, "hold", add ? "add" : "release", now)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "records", json_pack("[{s:s, s:s}]", "id", id_hex, "ref", ref));
	json_object_set_new(ev, "reason", json_string(reason));
	/* the reason stays out of the commit message: it is free text */
	snprintf(subject, sizeof(subject), "hold: %s on %.100s", add ? "added" : "released", ref);
	error = arc_commit_event(a, t, ev, subject, event_id);
	t = NULL;
done:
	if (t)
		cu_index_abort(t);
	if (error < 0)
		event_id[0] = '\0';
	json_decref(m);
	json_decref(ev);
	json_decref(doc);
	return error;
}

struct holds_ctx {
	cu_hold_cb cb;
	void *payload;
	size_t n;
};

static int
hold_one(const void *key, size_t klen, const char *value, void *payload)
{
	struct holds_ctx *hc = payload;
	char ref[512];
	json_t *m = json_loads(value, 0, NULL);
	int error;

	snprintf(ref, sizeof(ref), "%.*s", (int)klen, (const char *)key);
	hc->n++;
	error = hc->cb(ref, mstr(m, "at"), mstr(m, "by"),
		(unsigned long)json_integer_value(json_object_get(m, "uid")), mstr(m, "reason"),
		hc->payload);
	json_decref(m);
	return error;
}

int
cu_archive_holds(cu_archive *a, cu_hold_cb cb, void *payload, size_t *n)
{
	struct holds_ctx hc = { cb, payload, 0 };
	cu_index_txn *t;
	int error;

	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	error = cu_index_foreach_mark(t, MARK_HELD, hold_one, &hc);
	cu_index_abort(t);
	if (n)
		*n = hc.n;
	return error;
}

/* ---- due ------------------------------------------------------------------------------ */

struct due_class {
	char key[160];
	uint32_t last;
	int date;
};

struct due_ctx {
	int at;
	struct due_class *v;
	size_t n, cap;
};

static int
due_class(const char *class_key, uint32_t last, void *payload)
{
	struct due_ctx *dc = payload;
	int date;

	if (cu_disposal_date(&date, class_key) < 0 || strlen(class_key) >= sizeof(dc->v->key)) {
		cu_error_clear();   /* not a class of refs: nothing of it is due */
		return 0;
	}
	if (!cu_disposal_due(date, dc->at))
		return 0;
	if (cu_grow(&dc->v, &dc->cap, dc->n + 1, sizeof(*dc->v)) < 0)
		return CU_ERROR;
	snprintf(dc->v[dc->n].key, sizeof(dc->v[dc->n].key), "%s", class_key);
	dc->v[dc->n].last = last;
	dc->v[dc->n].date = date;
	dc->n++;
	return 0;
}

int
cu_archive_due(cu_archive *a, const char *at, cu_due_cb cb, void *payload, size_t *n)
{
	struct due_ctx dc = { 0 };
	cu_index_txn *t = NULL;
	size_t count = 0;
	int error;

	if (n)
		*n = 0;
	if (at == NULL)
		dc.at = today(a);
	else if ((error = cu_date_ymd(&dc.at, at)) < 0)
		return cu_error_prefix(error, "--at");
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	if ((error = cu_index_foreach_class(t, due_class, &dc)) < 0)
		goto done;
	for (size_t i = 0; i < dc.n && error == 0; i++) {
		char date[16];
		cu_date_format(date, dc.v[i].date);
		for (uint32_t item = 1; item <= dc.v[i].last && error == 0; item++) {
			char ref[200], *sjson = NULL, id_hex[65];
			unsigned char id[32];
			json_t *s = NULL, *disp = NULL, *held = NULL, *listed = NULL;
			snprintf(ref, sizeof(ref), "%s-%06u", dc.v[i].key, item);
			if ((error = cu_index_get_ref(t, ref, id)) == CU_ENOTFOUND) {
				cu_error_clear();
				error = 0;
				continue;
			}
			if (error < 0 || (error = cu_index_get_summary(&sjson, t, id)) < 0)
				break;
			cu_hex(id_hex, id, 32);
			s = json_loads(sjson, 0, NULL);
			if ((error = get_ref_mark(&disp, t, MARK_DISPOSED, ref)) == 0 && disp == NULL &&
			    (error = get_ref_mark(&held, t, MARK_HELD, ref)) == 0 &&
			    (error = get_ref_mark(&listed, t, MARK_LISTED, ref)) == 0) {
				cu_due_entry e = { ref, id_hex, s ? mstr(s, "kind") : "?", date,
					held ? "held" : listed ? "proposed" : "due",
					listed ? mstr(listed, "list") : NULL,
					s && arc_jstr(s, "summary") ? arc_jstr(s, "summary") : "" };
				count++;
				error = cb(&e, payload);
			}
			json_decref(s);
			json_decref(disp);
			json_decref(held);
			json_decref(listed);
			free(sjson);
		}
	}
done:
	cu_index_abort(t);
	free(dc.v);
	if (n)
		*n = count;
	return error;
}

/* ---- proposals ------------------------------------------------------------------------ */

static int
refuse(cu_disposal_cb cb, void *payload, const char *key, const char *why)
{
	cu_disposal_line l = { "refused", key, NULL, 0, why };

	return cb ? cb(&l, payload) : 0;
}

/* The class of destruction lists: archive.conf's row, else the shipped
 * default's (archives created before the row existed). */
static int
list_class(cu_class *cls, const cu_archive *a)
{
	cu_conf *def = NULL;
	int error;

	if ((error = cu_conf_classify(cls, a->conf, "disposal_list", NULL, NULL)) != CU_ENOTFOUND)
		return error;
	cu_error_clear();
	if ((error = cu_conf_parse(&def, cu_conf_default_text(), "archive.conf")) < 0)
		return error;
	error = cu_conf_classify(cls, def, "disposal_list", NULL, NULL);
	cu_conf_free(def);
	return error;
}

/* Why a record may not be proposed now ("" if it may). */
static int
proposal_check(char *why, size_t wsz, cu_index_txn *t, const json_t *doc, int at, int *date)
{
	const char *ref = arc_jstr(doc, "ref");
	json_t *m = NULL;
	char day[16];
	int error;

	why[0] = '\0';
	if (is_list(doc)) {
		snprintf(why, wsz, "%s is a destruction list, kept permanently", ref);
		return 0;
	}
	if (cu_disposal_date(date, ref) < 0) {
		snprintf(why, wsz, "%s", cu_error_last());
		cu_error_clear();
		return 0;
	}
	if (*date == 0) {
		snprintf(why, wsz, "%s is kept permanently (retention Y)", ref);
		return 0;
	}
	cu_date_format(day, *date);
	if (!cu_disposal_due(*date, at)) {
		snprintf(why, wsz, "%s is not due for disposal until %s", ref, day);
		return 0;
	}
	if ((error = get_ref_mark(&m, t, MARK_DISPOSED, ref)) < 0)
		return error;
	if (m != NULL) {
		snprintf(why, wsz, "%s: its content was already disposed of on %s by destruction list "
			"%s", ref, mstr(m, "at"), mstr(m, "list"));
		json_decref(m);
		return 0;
	}
	if ((error = get_ref_mark(&m, t, MARK_HELD, ref)) < 0)
		return error;
	if (m != NULL) {
		snprintf(why, wsz, "%s is on hold since %s (reason \"%s\"): a held record cannot be "
			"proposed for disposal", ref, mstr(m, "at"), mstr(m, "reason"));
		json_decref(m);
		return 0;
	}
	if ((error = get_ref_mark(&m, t, MARK_LISTED, ref)) < 0)
		return error;
	if (m != NULL) {
		snprintf(why, wsz, "%s is already on the open destruction list %s", ref,
			mstr(m, "list"));
		json_decref(m);
	}
	return 0;
}

int
cu_archive_propose(cu_archive *a, const char *const *keys, size_t nkeys, const char *reason,
	cu_disposal_cb cb, void *payload, char list_ref[128], char list_id[65])
{
	char now[32], day[16], class_key[96], ref[128], path[256], epath[160], subject[256];
	char ev_id[65], why[1200], *ltext = NULL, *etext = NULL;
	json_t *recs = NULL, *evrecs = NULL, *seen = NULL, *list = NULL, *ev = NULL;
	cu_index_txn *t = NULL;
	cu_history_file files[2];
	uint64_t size, first;
	size_t llen, elen, refused = 0;
	uint32_t item;
	cu_class cls;
	int at = today(a), error;

	list_ref[0] = list_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "a proposal needs the archive opened for writing");
	if ((error = check_reason(reason)) < 0)
		return error;
	if (nkeys == 0 || nkeys > KEYS_MAX)
		return cu_error_set(CU_EINVALID, "give 1 to %d records to propose", KEYS_MAX);
	if ((error = list_class(&cls, a)) < 0)
		return error;
	recs = json_array();
	evrecs = json_array();
	seen = json_object();
	if (recs == NULL || evrecs == NULL || seen == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		goto done;
	for (size_t i = 0; i < nkeys; i++) {
		char id_hex[65], case_ref[128];
		long vol, fitem;
		json_t *doc = NULL, *objs = NULL, *hit = NULL;
		char *sjson = NULL;
		int date = 0;
		why[0] = '\0';
		if (arc_split_file_ref(keys[i], case_ref, sizeof(case_ref), &vol, &fitem) == 0) {
			snprintf(why, sizeof(why), "names one file of case %s: a case is disposed of "
				"whole (give the case's ref)", case_ref);
		} else if (resolve_doc(&doc, id_hex, a, keys[i]) < 0) {
			if (cu_error_code() != CU_ENOTFOUND && cu_error_code() != CU_EINVALID &&
			    cu_error_code() != CU_EAMBIGUOUS) {
				error = cu_error_code();
				goto done;
			}
			snprintf(why, sizeof(why), "%s", cu_error_last());
		} else if (json_object_get(seen, arc_jstr(doc, "ref")) != NULL) {
			snprintf(why, sizeof(why), "%s is named twice", arc_jstr(doc, "ref"));
		} else if ((error = proposal_check(why, sizeof(why), t, doc, at, &date)) < 0) {
			json_decref(doc);
			goto done;
		}
		cu_error_clear();
		if (why[0]) {
			refused++;
			json_decref(doc);
			if ((error = refuse(cb, payload, keys[i], why)) != 0)
				goto done;
			continue;
		}
		/* the record as the list names it: what it is and what goes */
		objs = json_object();
		if (objs == NULL || (error = record_objects(objs, a, doc)) < 0) {
			error = error < 0 ? error : cu_error_set(CU_ERROR, "out of memory");
			json_decref(objs);
			json_decref(doc);
			goto done;
		}
		{
			unsigned char id[32];
			if (cu_unhex(id, 32, id_hex) == 0 && cu_index_get_summary(&sjson, t, id) == 0)
				hit = json_loads(sjson, 0, NULL);
			cu_error_clear();
		}
		cu_date_format(day, date);
		json_array_append_new(recs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o}",
			"ref", arc_jstr(doc, "ref"), "id", id_hex, "kind", kind_of(doc),
			"title", hit && arc_jstr(hit, "summary") ? arc_jstr(hit, "summary") : "",
			"disposal_date", day, "revisions", (json_int_t)arc_revision(doc),
			"objects", objects_array(objs)));
		json_array_append_new(evrecs, json_pack("{s:s, s:s}", "id", id_hex, "ref",
			arc_jstr(doc, "ref")));
		json_object_set_new(seen, arc_jstr(doc, "ref"), json_true());
		json_decref(hit);
		free(sjson);
		json_decref(objs);
		json_decref(doc);
	}
	cu_index_abort(t);
	t = NULL;
	if (refused > 0) {
		error = cu_error_set(CU_ECONFLICT, "%zu of %zu record%s refused: no destruction list "
			"was made", refused, nkeys, nkeys == 1 ? "" : "s");
		goto done;
	}

	/* the list: a record of its own, kept permanently */
	cu_now_rfc3339(now);
	cu_date_format(day, at);
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0 || (error = cu_index_log_size(&size, t)) < 0)
		goto done;
	first = size;
	if ((error = cu_pathf(class_key, sizeof(class_key), "%s-%s\xc2\xb7%04d-%s-%s", a->fonds,
			cls.category, at / 10000, cls.retention, cls.class_)) < 0 ||
	    (error = cu_index_next_item(&item, t, class_key)) < 0 ||
	    (error = cu_pathf(ref, sizeof(ref), "%s-%06u", class_key, item)) < 0)
		goto done;
	list = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:{s:s, s:I}, s:s, s:O}, s:s, s:s, "
		"s:{s:s, s:I}}", "version", 1, "kind", "disposal_list", "ref", ref,
		"disposal_list", "reason", reason, "proposed_at", now, "proposed_by", "user", a->user,
		"uid", (json_int_t)a->uid, "due_on", day, "records", recs,
		"source", "proposal", "archived_at", now,
		"archived_by", "user", a->user, "uid", (json_int_t)a->uid);
	if (list == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the destruction list");
		goto done;
	}
	if ((error = arc_log_doc(t, &size, list, &ltext, &llen, list_id)) < 0 ||
	    (error = arc_index_record(a, t, list)) < 0 ||
	    (error = arc_record_path(path, sizeof(path), ref, 1)) < 0)
		goto done;
	if ((ev = arc_new_event(a, "disposal", "propose", now)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "list", json_pack("{s:s, s:s}", "id", list_id, "ref", ref));
	json_object_set(ev, "records", evrecs);
	json_object_set_new(ev, "reason", json_string(reason));
	if ((error = arc_log_doc(t, &size, ev, &etext, &elen, ev_id)) < 0 ||
	    (error = arc_event_path(epath, sizeof(epath), now, ev_id)) < 0 ||
	    (error = arc_index_event(t, ev)) < 0)
		goto done;
	files[0] = (cu_history_file){ path, ltext, llen };
	files[1] = (cu_history_file){ epath, etext, elen };
	snprintf(subject, sizeof(subject), "disposition: destruction list %.100s proposed "
		"(%zu record%s)", ref, nkeys, nkeys == 1 ? "" : "s");
	error = arc_commit_docs(a, t, files, 2, first, size, subject);
	t = NULL;
	if (error == 0)
		snprintf(list_ref, 128, "%s", ref);
done:
	if (t)
		cu_index_abort(t);
	if (error < 0)
		list_id[0] = '\0';
	free(ltext);
	free(etext);
	json_decref(recs);
	json_decref(evrecs);
	json_decref(seen);
	json_decref(list);
	json_decref(ev);
	return error;
}

/* ---- approval and rejection -------------------------------------------------------------- */

/* Loads an open destruction list (LIST: ref or id); a list that is not open
 * is refused through cb (CU_ECONFLICT). */
static int
open_list(json_t **doc, char id_hex[65], cu_archive *a, const char *list, cu_disposal_cb cb,
	void *payload)
{
	const json_t *appr, *rej;
	char why[600] = "";
	int error;

	*doc = NULL;
	if ((error = resolve_doc(doc, id_hex, a, list)) < 0)
		return error;
	appr = json_object_get(*doc, "approval");
	rej = json_object_get(*doc, "rejection");
	if (!is_list(*doc))
		snprintf(why, sizeof(why), "%s is a %s record, not a destruction list",
			mstr(*doc, "ref"), kind_of(*doc));
	else if (appr != NULL)
		snprintf(why, sizeof(why), "%s was already approved on %s by %s", mstr(*doc, "ref"),
			mstr(appr, "approved_at"), mstr(json_object_get(appr, "approved_by"), "user"));
	else if (rej != NULL)
		snprintf(why, sizeof(why), "%s was rejected on %s by %s: it can no longer be approved",
			mstr(*doc, "ref"), mstr(rej, "rejected_at"),
			mstr(json_object_get(rej, "rejected_by"), "user"));
	if (why[0] == '\0')
		return 0;
	if ((error = refuse(cb, payload, list, why)) == 0)
		error = cu_error_set(CU_ECONFLICT, "%s", why);
	json_decref(*doc);
	*doc = NULL;
	return error;
}

/* Writes revision 2 of a list (approved or rejected) and its event. */
static int
close_list(cu_archive *a, const json_t *doc, const char *id_hex, const char *member,
	json_t *body, const char *action, json_t *extra, const char *now, char new_id[65])
{
	const json_t *dl = json_object_get(doc, "disposal_list");
	char path[256], epath[160], subject[256], ev_id[65], *ltext = NULL, *etext = NULL;
	json_t *rev = NULL, *ev = NULL, *evrecs = json_array(), *rec;
	cu_index_txn *t = NULL;
	cu_history_file files[2];
	uint64_t size, first;
	size_t llen, elen, i, n = json_array_size(json_object_get(dl, "records"));
	int error;

	json_array_foreach(json_object_get(dl, "records"), i, rec)
		json_array_append_new(evrecs, json_pack("{s:s?, s:s?}", "id", arc_jstr(rec, "id"),
			"ref", arc_jstr(rec, "ref")));
	if ((rev = json_deep_copy(doc)) == NULL || evrecs == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_del(rev, "id");
	json_object_set_new(rev, "revision", json_integer(2));
	json_object_set_new(rev, "supersedes", json_string(id_hex));
	json_object_set(rev, member, body);
	json_object_set_new(rev, "source", json_string(member));
	json_object_set_new(rev, "archived_at", json_string(now));
	json_object_set_new(rev, "archived_by", json_pack("{s:s, s:I}", "user", a->user, "uid",
		(json_int_t)a->uid));
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0 || (error = cu_index_log_size(&size, t)) < 0)
		goto done;
	first = size;
	if ((error = arc_log_doc(t, &size, rev, &ltext, &llen, new_id)) < 0 ||
	    (error = arc_index_record(a, t, rev)) < 0 ||
	    (error = arc_record_path(path, sizeof(path), mstr(doc, "ref"), 2)) < 0)
		goto done;
	if ((ev = arc_new_event(a, "disposal", action, now)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "list", json_pack("{s:s, s:s}", "id", new_id, "ref",
		mstr(doc, "ref")));
	json_object_set(ev, "records", evrecs);
	if (extra != NULL)
		json_object_update(ev, extra);
	if ((error = arc_log_doc(t, &size, ev, &etext, &elen, ev_id)) < 0 ||
	    (error = arc_event_path(epath, sizeof(epath), now, ev_id)) < 0 ||
	    (error = arc_index_event(t, ev)) < 0)
		goto done;
	files[0] = (cu_history_file){ path, ltext, llen };
	files[1] = (cu_history_file){ epath, etext, elen };
	if (strcmp(action, "approve") == 0)
		snprintf(subject, sizeof(subject), "disposition: destruction list %.100s approved "
			"(%zu record%s disposed of, %zu object%s removed)", mstr(doc, "ref"), n,
			n == 1 ? "" : "s", json_array_size(json_object_get(body, "objects_removed")),
			json_array_size(json_object_get(body, "objects_removed")) == 1 ? "" : "s");
	else
		snprintf(subject, sizeof(subject), "disposition: destruction list %.100s rejected",
			mstr(doc, "ref"));
	error = arc_commit_docs(a, t, files, 2, first, size, subject);
	t = NULL;
done:
	if (t)
		cu_index_abort(t);
	free(ltext);
	free(etext);
	json_decref(rev);
	json_decref(ev);
	json_decref(evrecs);
	return error;
}

int
cu_archive_reject(cu_archive *a, const char *list, const char *reason, char list_ref[128],
	char list_id[65])
{
	char id_hex[65], now[32];
	json_t *doc = NULL, *body = NULL, *extra = NULL;
	int error;

	list_ref[0] = list_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "a rejection needs the archive opened for writing");
	if ((error = check_reason(reason)) < 0 ||
	    (error = open_list(&doc, id_hex, a, list, NULL, NULL)) < 0)
		return error;
	cu_now_rfc3339(now);
	body = json_pack("{s:s, s:{s:s, s:I}, s:s}", "rejected_at", now, "rejected_by", "user",
		a->user, "uid", (json_int_t)a->uid, "reason", reason);
	extra = json_pack("{s:s}", "reason", reason);
	if (body == NULL || extra == NULL)
		error = cu_error_set(CU_ERROR, "out of memory");
	else if ((error = close_list(a, doc, id_hex, "rejection", body, "reject", extra, now,
			list_id)) == 0)
		snprintf(list_ref, 128, "%s", mstr(doc, "ref"));
	json_decref(body);
	json_decref(extra);
	json_decref(doc);
	return error;
}

/* Who else holds an object: the first record, other than those being
 * disposed of and those already disposed of, whose content includes it. */
struct holder_ctx {
	cu_index_txn *t;
	const json_t *disposing;   /* {ref: true} */
	char *holder;              /* its ref, new string */
	int error;
};

static int
holder_cb(const unsigned char id[32], void *payload)
{
	struct holder_ctx *hc = payload;
	char *ref = arc_ref_of(hc->t, id);
	json_t *m = NULL;

	if (ref == NULL) {
		cu_error_clear();
		return 0;
	}
	if (hc->disposing != NULL && json_object_get(hc->disposing, ref) != NULL) {
		free(ref);
		return 0;
	}
	if ((hc->error = get_ref_mark(&m, hc->t, MARK_DISPOSED, ref)) < 0) {
		free(ref);
		return 1;
	}
	if (m != NULL) {
		json_decref(m);
		free(ref);
		return 0;
	}
	hc->holder = ref;
	return 1;    /* one live holder is enough */
}

static int
live_holder(char **holder, cu_index_txn *t, const unsigned char digest[32],
	const json_t *disposing)
{
	struct holder_ctx hc = { t, disposing, NULL, 0 };
	int error = cu_index_foreach_content(t, digest, holder_cb, &hc);

	*holder = hc.holder;
	if (hc.error < 0)
		return hc.error;
	return error < 0 ? error : 0;
}

int
cu_archive_approve(cu_archive *a, const char *list, cu_disposal_cb cb, void *payload,
	cu_disposal_report *r)
{
	char id_hex[65], now[32], why[1200], where[300], cmsg[1400] = "";
	const json_t *dl, *proposer;
	json_t *doc = NULL, *disposing = NULL, *objs = NULL, *all = NULL, *removed = NULL;
	json_t *kept = NULL, *wheres = NULL, *body = NULL, *extra = NULL, *rec, *o;
	cu_index_txn *t = NULL;
	size_t i, refused = 0;
	int error, complete_error = 0;

	memset(r, 0, sizeof(*r));
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "an approval needs the archive opened for writing");
	if ((error = open_list(&doc, id_hex, a, list, cb, payload)) < 0)
		return error;
	dl = json_object_get(doc, "disposal_list");
	proposer = json_object_get(dl, "proposed_by");
	snprintf(r->list_ref, sizeof(r->list_ref), "%s", mstr(doc, "ref"));
	/* separation of duties: the one who proposed does not approve */
	if ((unsigned long)json_integer_value(json_object_get(proposer, "uid")) == a->uid ||
	    strcmp(mstr(proposer, "user"), a->user) == 0) {
		snprintf(why, sizeof(why), "%s was proposed by %s (uid %lld): another user must "
			"approve it", r->list_ref, mstr(proposer, "user"),
			(long long)json_integer_value(json_object_get(proposer, "uid")));
		if ((error = refuse(cb, payload, list, why)) == 0)
			error = cu_error_set(CU_ECONFLICT, "%s", why);
		goto done;
	}
	disposing = json_object();
	objs = json_object();
	removed = json_array();
	kept = json_array();
	wheres = json_array();
	if (disposing == NULL || objs == NULL || removed == NULL || kept == NULL || wheres == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		goto done;
	json_array_foreach(json_object_get(dl, "records"), i, rec) {
		const char *ref = mstr(rec, "ref");
		unsigned char id[32];
		char cur[65];
		json_t *m = NULL, *cdoc = NULL;
		why[0] = '\0';
		if ((error = cu_index_get_ref(t, ref, id)) == CU_ENOTFOUND) {
			cu_error_clear();
			snprintf(why, sizeof(why), "%s is not in the index (run custos verify)", ref);
		} else if (error < 0) {
			goto done;
		} else {
			cu_hex(cur, id, 32);
			if (strcmp(cur, mstr(rec, "id")) != 0) {
				char *r2 = NULL;
				long rev = 1;
				if ((r2 = arc_ref_rev_of(t, id, &rev)) == NULL)
					cu_error_clear();
				snprintf(why, sizeof(why), "%s changed since it was proposed (it is now "
					"revision %ld): reject this list and propose the record again", ref, rev);
				free(r2);
			} else if ((error = get_ref_mark(&m, t, MARK_HELD, ref)) < 0) {
				goto done;
			} else if (m != NULL) {
				snprintf(why, sizeof(why), "%s was put on hold on %s (reason \"%s\"): release "
					"the hold, or reject this list", ref, mstr(m, "at"), mstr(m, "reason"));
			} else if ((error = get_ref_mark(&m, t, MARK_DISPOSED, ref)) < 0) {
				goto done;
			} else if (m != NULL) {
				snprintf(why, sizeof(why), "%s: its content was already disposed of by %s",
					ref, mstr(m, "list"));
			}
			json_decref(m);
		}
		if (why[0]) {
			refused++;
			if ((error = refuse(cb, payload, ref, why)) != 0)
				goto done;
			continue;
		}
		json_object_set_new(disposing, ref, json_true());
		if ((error = arc_load_record(&cdoc, a, cur)) < 0 ||
		    (error = record_objects(objs, a, cdoc)) < 0) {
			json_decref(cdoc);
			goto done;
		}
		json_decref(cdoc);
	}
	if (refused > 0) {
		error = cu_error_set(CU_ECONFLICT, "%zu record%s of %s refused: nothing was disposed of",
			refused, refused == 1 ? "" : "s", r->list_ref);
		goto done;
	}
	/* an object goes only if no live record holds it (content is shared by
	 * digest: the same bytes received twice are one object) */
	if ((all = objects_array(objs)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(all, i, o) {
		unsigned char d[32];
		char *holder = NULL, pack[256];
		uint64_t off, sz;
		if (cu_unhex(d, 32, mstr(o, "digest") + 7) < 0) {
			error = CU_EINVALID;
			goto done;
		}
		if ((error = live_holder(&holder, t, d, disposing)) < 0)
			goto done;
		if (holder != NULL) {
			json_array_append_new(kept, json_pack("{s:O, s:O, s:s}", "digest",
				json_object_get(o, "digest"), "size", json_object_get(o, "size"),
				"held_by", holder));
			free(holder);
			continue;
		}
		json_array_append(removed, o);
		if (cu_cas_has_loose(a->cas, d))
			snprintf(where, sizeof(where), "loose");
		else if (cu_index_get_objloc(t, d, pack, &off, &sz) == 0)
			snprintf(where, sizeof(where), "packs/%s", pack);
		else
			snprintf(where, sizeof(where), "already absent");
		cu_error_clear();
		json_array_append_new(wheres, json_string(where));
	}
	cu_index_abort(t);
	t = NULL;

	/* 1. the approval, committed: the commit point */
	cu_now_rfc3339(now);
	body = json_pack("{s:s, s:{s:s, s:I}, s:O, s:O}", "approved_at", now, "approved_by",
		"user", a->user, "uid", (json_int_t)a->uid, "objects_removed", removed,
		"objects_kept", kept);
	extra = json_pack("{s:I}", "objects_removed", (json_int_t)json_array_size(removed));
	if (body == NULL || extra == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = close_list(a, doc, id_hex, "approval", body, "approve", extra, now,
			r->list_id)) < 0)
		goto done;
	r->records = json_object_size(disposing);
	json_array_foreach(json_object_get(dl, "records"), i, rec) {
		cu_disposal_line l = { "disposed", mstr(rec, "ref"), NULL, 0, NULL };
		if (cb && (error = cb(&l, payload)) != 0)
			goto done;
	}
	/* 2. then the files (a crash in between: the next writer finishes) */
	if ((complete_error = arc_dispo_complete(a)) < 0) {
		snprintf(cmsg, sizeof(cmsg), "the approval of %s is committed, but removing its "
			"objects failed (the next command that writes the archive tries again): %s",
			r->list_ref, cu_error_last());
		cu_error_clear();
	}
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		goto done;
	json_array_foreach(removed, i, o) {
		unsigned char d[32];
		int pending = 0;
		cu_unhex(d, 32, mstr(o, "digest") + 7);
		if ((error = cu_index_get_mark(NULL, t, MARK_PENDING, d, 32)) == 0)
			pending = 1;
		else if (error != CU_ENOTFOUND)
			goto done;
		error = 0;
		cu_disposal_line l = { pending ? "pending" : "removed", NULL, mstr(o, "digest"),
			(uint64_t)json_integer_value(json_object_get(o, "size")),
			json_string_value(json_array_get(wheres, i)) };
		if (pending) {
			r->pending++;
		} else {
			r->removed++;
			r->bytes_removed += l.size;
		}
		if (cb && (error = cb(&l, payload)) != 0)
			goto done;
	}
	json_array_foreach(kept, i, o) {
		cu_disposal_line l = { "kept", NULL, mstr(o, "digest"),
			(uint64_t)json_integer_value(json_object_get(o, "size")), mstr(o, "held_by") };
		r->kept++;
		if (cb && (error = cb(&l, payload)) != 0)
			goto done;
	}
	if (complete_error < 0)
		error = cu_error_set(complete_error, "%s", cmsg);
done:
	if (t)
		cu_index_abort(t);
	json_decref(doc);
	json_decref(disposing);
	json_decref(objs);
	json_decref(all);
	json_decref(removed);
	json_decref(kept);
	json_decref(wheres);
	json_decref(body);
	json_decref(extra);
	return error;
}

/* ---- removing objects from disk ------------------------------------------------------- */

struct pending_set {
	unsigned char (*d)[32];
	int *failed;        /* its removal failed somewhere: keep its mark */
	size_t n, cap;
	int hit;            /* the pack being scanned holds one of them */
};

static int
cmp_digest(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

static long
pending_find(const struct pending_set *ps, const unsigned char d[32])
{
	unsigned char (*p)[32] = bsearch(d, ps->d, ps->n, 32, cmp_digest);

	return p ? (long)(p - ps->d) : -1;
}

static int
gather_pending(const void *key, size_t klen, const char *value, void *payload)
{
	struct pending_set *ps = payload;

	(void)value;
	if (klen != 32)
		return 0;
	if (cu_grow(&ps->d, &ps->cap, ps->n + 1, 32) < 0)
		return CU_ERROR;
	memcpy(ps->d[ps->n++], key, 32);
	return 0;
}

static int
scan_hit(const unsigned char digest[32], const char *pack, uint64_t offset, uint64_t size,
	void *payload)
{
	struct pending_set *ps = payload;

	(void)pack;
	(void)offset;
	(void)size;
	if (pending_find(ps, digest) >= 0) {
		ps->hit = 1;
		return 1;    /* enough: this pack must be rewritten */
	}
	return 0;
}

static int
drop_pending(const unsigned char digest[32], void *payload)
{
	return pending_find(payload, digest) >= 0;
}

static int
moved_cb(const unsigned char digest[32], const char *pack, uint64_t offset, uint64_t size,
	void *payload)
{
	return cu_index_put_objloc(payload, digest, pack, offset, size);
}

struct pack_fix {
	cu_index_txn *t;
	const struct pending_set *ps;
	const char *old;
};

/* Forgets the location of a dropped member if it pointed into the old pack. */
static int
forget_dropped(const unsigned char digest[32], const char *pack, uint64_t offset,
	uint64_t size, void *payload)
{
	struct pack_fix *pf = payload;
	char have[256];
	uint64_t off, sz;

	(void)pack;
	(void)offset;
	(void)size;
	if (pending_find(pf->ps, digest) < 0)
		return 0;
	if (cu_index_get_objloc(pf->t, digest, have, &off, &sz) < 0) {
		cu_error_clear();
		return 0;
	}
	return strcmp(have, pf->old) == 0 ? cu_index_del_objloc(pf->t, digest) : 0;
}

/* Rewrites one pack without the pending objects: new pack durable, index
 * pointed at it (committed), old pack removed. */
static int
rewrite_pack(cu_archive *a, const char *pack, struct pending_set *ps)
{
	struct pack_fix pf = { NULL, ps, pack };
	char new_name[96];
	size_t dropped = 0;
	int error;

	if ((error = cu_index_begin(&pf.t, a->ix, 1)) < 0)
		return error;
	/* the members' old locations first, while the old pack is still there */
	if ((error = cu_cas_scan_pack(a->cas, pack, forget_dropped, &pf)) < 0 ||
	    (error = cu_cas_repack(a->cas, pack, drop_pending, ps, new_name, moved_cb, pf.t,
			&dropped)) < 0)
		goto fail;
	if (new_name[0] && (error = cu_index_put_pack(pf.t, new_name)) < 0)
		goto fail;
	if ((error = cu_index_del_pack(pf.t, pack)) < 0)
		goto fail;
	if ((error = cu_index_commit(pf.t)) < 0)
		return error;
	/* only now may the old pack go: the index points at the new one */
	return cu_cas_remove_pack(a->cas, pack);
fail:
	cu_index_abort(pf.t);
	return error;
}

struct packs_ctx {
	cu_archive *a;
	struct pending_set *ps;
	int error;            /* the first failure (the other packs are still done) */
	char msg[1024];
};

static void
note_failure(struct packs_ctx *pc, int error, const char *what)
{
	if (pc->error == 0) {
		pc->error = error;
		snprintf(pc->msg, sizeof(pc->msg), "%s: %s", what, cu_error_last());
	}
	cu_error_clear();
}

static int
each_pack(const char *pack, void *payload)
{
	struct packs_ctx *pc = payload;
	struct pending_set *ps = pc->ps;
	int error;

	ps->hit = 0;
	/* scan_hit stops the scan (returns 1) at the first pending member */
	if ((error = cu_cas_scan_pack(pc->a->cas, pack, scan_hit, ps)) > 0)
		error = 0;
	if (error == 0 && ps->hit)
		error = rewrite_pack(pc->a, pack, ps);
	if (error < 0) {
		char what[160];
		/* which pending objects were in it is unknown: keep every mark */
		for (size_t i = 0; i < ps->n; i++)
			ps->failed[i] = 1;
		snprintf(what, sizeof(what), "objects/packs/%.120s", pack);
		note_failure(pc, error, what);
	}
	return 0;
}

int
arc_dispo_complete(cu_archive *a)
{
	struct pending_set ps = { 0 };
	struct packs_ctx pc = { a, &ps, 0, "" };
	cu_index_txn *t = NULL;
	int error;

	if (a->mode == CU_ARCHIVE_READ)
		return 0;
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	error = cu_index_foreach_mark(t, MARK_PENDING, gather_pending, &ps);
	cu_index_abort(t);
	t = NULL;
	if (error < 0 || ps.n == 0)
		goto done;
	if (ps.n > 1)
		qsort(ps.d, ps.n, 32, cmp_digest);
	if ((ps.failed = calloc(ps.n, sizeof(*ps.failed))) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	/* never remove what a live record holds (belt and braces: its
	 * indexing took the mark back already) */
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
		goto done;
	for (size_t i = 0; i < ps.n; i++) {
		char *holder = NULL;
		if ((error = live_holder(&holder, t, ps.d[i], NULL)) < 0)
			goto done;
		if (holder != NULL) {
			free(holder);
			if ((error = take_back(ps.d[i], NULL, 0, t)) < 0)
				goto done;
			memmove(ps.d + i, ps.d + i + 1, (ps.n - i - 1) * 32);
			ps.n--;
			i--;
		}
	}
	if ((error = cu_index_commit(t)) < 0) {
		t = NULL;
		goto done;
	}
	t = NULL;
	/* loose files */
	for (size_t i = 0; i < ps.n; i++)
		if ((error = cu_cas_remove_loose(a->cas, ps.d[i])) < 0) {
			ps.failed[i] = 1;
			note_failure(&pc, error, "objects/sha256");
		}
	/* packs holding any of them (the index's locations are not trusted to
	 * know every copy: a pack left by a crashed batch may hold one too) */
	if (ps.n > 0 && (error = cu_cas_list_packs(a->cas, each_pack, &pc)) < 0)
		goto done;
	/* done: forget what is gone everywhere */
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
		goto done;
	for (size_t i = 0; i < ps.n; i++)
		if (!ps.failed[i] && (error = cu_index_del_mark(t, MARK_PENDING, ps.d[i], 32)) < 0)
			goto done;
	error = cu_index_commit(t);
	t = NULL;
	if (error == 0 && pc.error < 0)
		error = cu_error_set(pc.error, "removing disposed objects: %s", pc.msg);
done:
	if (t)
		cu_index_abort(t);
	free(ps.d);
	free(ps.failed);
	return error;
}
