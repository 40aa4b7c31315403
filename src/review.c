/* review.c — the review queue of fund transactions (four eyes): what waits,
 * and a reviewer's approval or rejection, each an event record in the log
 * (see cu_archive_review* in custos/archive.h, docs/fund-control.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/index.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

/* ---- the queue ------------------------------------------------------------- */

struct queue_ctx {
	cu_index_txn *t;
	cu_review_cb cb;
	void *payload;
	size_t n;
	int64_t today;             /* days since 1970-01-01, UTC */
	int error;
};

static int
queue_one(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct queue_ctx *q = payload;
	json_t *mark = NULL, *hit = NULL;
	char *sjson = NULL;
	cu_time tm;
	int error;

	if (klen != 32)
		return 0;
	if ((mark = json_loadb(val, vlen, 0, NULL)) == NULL)
		return cu_error_set(CU_EINVALID, "index: malformed decision mark");
	if (arc_jstr(mark, "state") == NULL || strcmp(arc_jstr(mark, "state"), "standing") != 0) {
		json_decref(mark);
		return 0;
	}
	if ((error = cu_index_get_summary(&sjson, q->t, key)) < 0 ||
	    (hit = json_loads(sjson, 0, NULL)) == NULL) {
		error = error < 0 ? error : cu_error_set(CU_EINVALID, "index: malformed summary");
		goto done;
	}
	json_object_set(hit, "rules", json_object_get(mark, "rules"));
	json_object_set(hit, "decided_at", json_object_get(mark, "at"));
	if (cu_time_parse(&tm, arc_jstr(mark, "at") ? arc_jstr(mark, "at") : "") == 0)
		json_object_set_new(hit, "age_days",
			json_integer((json_int_t)(q->today - tm.epoch / 86400)));
	cu_error_clear();
	q->n++;
	error = q->cb(hit, q->payload);
done:
	free(sjson);
	json_decref(hit);
	json_decref(mark);
	return error;
}

int
cu_archive_review_queue(cu_archive *a, cu_review_cb cb, void *payload, size_t *n)
{
	struct queue_ctx q = { .cb = cb, .payload = payload };
	char now[32];
	cu_time tm;
	int error;

	if (n)
		*n = 0;
	cu_now_rfc3339(now);
	if (cu_time_parse(&tm, now) < 0)
		return CU_ERROR;
	q.today = tm.epoch / 86400;
	if ((error = cu_index_begin(&q.t, a->ix, 0)) < 0)
		return error;
	error = cu_index_fstate_scan(q.t, CU_FSTATE_DECISION, NULL, 0, queue_one, &q);
	cu_index_abort(q.t);
	if (n)
		*n = q.n;
	return error;
}

/* ---- a review ------------------------------------------------------------------ */

/* The reviewer may not be one of the transaction's own hands. */
static int
four_eyes(const cu_archive *a, const json_t *txn, const char *ref)
{
	static const char *const roles[] = { "maker", "reviewer", "approver" };
	const json_t *f = json_object_get(txn, "fund_txn");

	for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++) {
		const char *who = arc_jstr(f, roles[i]);
		if (who != NULL && strcmp(who, a->user) == 0)
			return cu_error_set(CU_ECONFLICT, "%s: %s is the transaction's %s: a review "
				"needs another person (four eyes)", ref, a->user, roles[i]);
	}
	return 0;
}

int
cu_archive_review(cu_archive *a, const char *key, int approve, const char *note,
	char ref_out[128], char event_id[65])
{
	char id_hex[65], now[32], subject[256];
	unsigned char id[32];
	const char *ref;
	json_t *doc = NULL, *ev = NULL, *mark = NULL;
	cu_index_txn *t = NULL;
	int error;

	ref_out[0] = event_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "a review needs the archive opened for writing");
	if ((error = arc_check_note(note, "--note")) < 0 ||
	    (error = cu_archive_resolve(id_hex, a, key)) < 0 ||
	    (error = arc_load_record(&doc, a, id_hex)) < 0)
		goto done;
	ref = arc_jstr(doc, "ref") ? arc_jstr(doc, "ref") : id_hex;
	snprintf(ref_out, 128, "%s", ref);
	if (arc_jstr(doc, "kind") == NULL || strcmp(arc_jstr(doc, "kind"), "fund_txn") != 0) {
		error = cu_error_set(CU_EINVALID, "%s is not a fund transaction", key);
		goto done;
	}
	if ((error = four_eyes(a, doc, ref)) < 0)
		goto done;
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0 || (error = cu_unhex(id, 32, id_hex)) < 0)
		goto done;
	if ((error = arc_fund_mark(&mark, t, id)) < 0) {
		if (error == CU_ENOTFOUND)
			error = cu_error_set(CU_ENOTFOUND, "%s has no decision", ref);
		goto done;
	}
	if (arc_jstr(mark, "state") == NULL || strcmp(arc_jstr(mark, "state"), "standing") != 0) {
		const char *st = arc_jstr(mark, "state") ? arc_jstr(mark, "state") : "";
		error = cu_error_set(CU_ECONFLICT, "%s is not waiting for review: decided %s%s", ref,
			arc_jstr(mark, "verdict") ? arc_jstr(mark, "verdict") : "?",
			strcmp(st, "effective") == 0 && strcmp(arc_jstr(mark, "verdict") ?
			arc_jstr(mark, "verdict") : "", "review") == 0 ? ", then approved" :
			strcmp(st, "none") == 0 && strcmp(arc_jstr(mark, "verdict") ?
			arc_jstr(mark, "verdict") : "", "review") == 0 ? ", then rejected" : "");
		goto done;
	}
	cu_now_rfc3339(now);
	if ((ev = arc_new_event(a, "review", approve ? "approve" : "reject", now)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "records", json_pack("[{s:s, s:s}]", "id", id_hex, "ref", ref));
	json_object_set_new(ev, "note", json_string(note));
	json_object_set(ev, "rules", json_object_get(mark, "rules"));
	/* the state change goes in the same index transaction as the event */
	if ((error = arc_fund_state_effective(a, t, doc, approve)) < 0)
		goto done;
	/* the note stays out of the commit message: it is free text */
	snprintf(subject, sizeof(subject), "review: %s %.100s", approve ? "approved" : "rejected",
		ref);
	error = arc_commit_event(a, t, ev, subject, event_id);
	t = NULL;
done:
	if (t)
		cu_index_abort(t);
	if (error < 0)
		event_id[0] = '\0';
	json_decref(mark);
	json_decref(ev);
	json_decref(doc);
	return error;
}

int
arc_fund_replay_review(cu_archive *a, cu_index_txn *t, const json_t *review_doc)
{
	const json_t *r = json_array_get(json_object_get(review_doc, "records"), 0);
	const char *action = arc_jstr(review_doc, "action");
	unsigned char id[32];
	json_t *txn = NULL, *mark = NULL;
	int error;

	if (arc_jstr(r, "ref") == NULL || arc_jstr(r, "id") == NULL || action == NULL ||
	    cu_unhex(id, 32, arc_jstr(r, "id")) < 0)
		return cu_error_set(CU_EINVALID, "review %s: names no transaction or action",
			arc_jstr(review_doc, "id") ? arc_jstr(review_doc, "id") : "?");
	/* applied already (the index had it): nothing to do */
	if ((error = arc_fund_mark(&mark, t, id)) < 0)
		return cu_error_prefix(error, "review %s", arc_jstr(review_doc, "id"));
	if (arc_jstr(mark, "state") == NULL || strcmp(arc_jstr(mark, "state"), "standing") != 0) {
		json_decref(mark);
		return 0;
	}
	json_decref(mark);
	if ((error = arc_load_revision(&txn, a, arc_jstr(r, "ref"), 1)) < 0)
		return cu_error_prefix(error, "review %s", arc_jstr(review_doc, "id"));
	error = arc_fund_state_effective(a, t, txn, strcmp(action, "approve") == 0);
	json_decref(txn);
	return error;
}
