/* amend.c — revisions of records and the life of a record (cu_archive_amend
 * and cu_archive_trace in custos/archive.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/archive.h"
#include "custos/backup.h"
#include "custos/error.h"
#include "custos/history.h"
#include "custos/index.h"
#include "custos/mlog.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

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
	    (error = arc_load_record(&doc, a, id_hex)) < 0)
		goto done;
	rev = arc_revision(doc);
	if (json_object_get(doc, "receipt") == NULL) {
		/* a case changes by supplements, which add and never edit */
		error = cu_error_set(CU_EINVALID, "%s is a %s: only receipts are amended (documents "
			"are added to a case by ingesting a bag with its External-Identifier)", key,
			arc_jstr(doc, "kind") ? arc_jstr(doc, "kind") : "record without a receipt");
		goto done;
	}
	{
		/* a record whose content was disposed of is closed */
		char why[600];
		if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
			goto done;
		error = arc_dispo_refuse_change(t, arc_jstr(doc, "ref"), why, sizeof(why)) < 0
			? cu_error_set(CU_EINVALID, "%s", why) : 0;
		cu_index_abort(t);
		t = NULL;
		if (error < 0)
			goto done;
	}
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
	    (error = arc_index_record(a, t, ndoc)) < 0 ||
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
	if (cu_grow(&st->v, &st->cap, st->n + 1, sizeof(*st->v)) < 0)
		return CU_ERROR;
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

/* Appends to detail " (RULE, RULE), policy <12 hex>" for the findings of a
 * decision or a period close (just ", policy …" when none fired). */
static void
rules_and_policy(char *detail, size_t sz, const json_t *findings, const char *policy)
{
	size_t used = strlen(detail), i;
	const json_t *f;

	json_array_foreach(findings, i, f)
		if (used < sz)
			used += (size_t)snprintf(detail + used, sz - used, "%s%s", i ? ", " : " (",
				arc_jstr(f, "rule") ? arc_jstr(f, "rule") : "?");
	if (used < sz)
		snprintf(detail + used, sz - used, "%s, policy %.12s",
			json_array_size(findings) ? ")" : "", policy ? policy : "?");
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
	if (json_object_get(ev, "supplement") != NULL) {
		/* documents added to a case */
		const json_t *sup = json_object_get(ev, "supplement");
		json_int_t k = json_integer_value(json_object_get(sup, "files_added"));
		by = json_object_get(ev, "archived_by");
		snprintf(detail, sizeof(detail), "revision %ld: %lld file%s added from %s",
			arc_revision(ev), (long long)k, k == 1 ? "" : "s",
			arc_jstr(sup, "source") ? arc_jstr(sup, "source") : "?");
		cu_trace_entry e = { arc_jstr(ev, "archived_at"), "supplemented", arc_jstr(by, "user"),
			(unsigned long)json_integer_value(json_object_get(by, "uid")), detail, commit,
			(uint64_t)json_integer_value(json_object_get(ev, "leaf")), id };
		return cb(&e, payload);
	}
	{
		/* holds, disposals and the revisions of a destruction list */
		const char *when = NULL;
		if (arc_dispo_describe(ev, &action, &when, &by, detail, sizeof(detail))) {
			cu_trace_entry e = { when, action, arc_jstr(by, "user"),
				(unsigned long)json_integer_value(json_object_get(by, "uid")), detail, commit,
				(uint64_t)json_integer_value(json_object_get(ev, "leaf")), id };
			return cb(&e, payload);
		}
	}
	if (strcmp(kind, "access") == 0) {
		/* a case file's content names the file */
		const char *file = arc_jstr(json_array_get(json_object_get(ev, "records"), 0), "file");
		action = "accessed";
		snprintf(detail, sizeof(detail), "%s of the %s%s%s, %s%s%s%s",
			arc_jstr(ev, "action") ? arc_jstr(ev, "action") : "?",
			arc_jstr(ev, "output") ? arc_jstr(ev, "output") : "record",
			file ? " of file " : "", file ? file : "",
			json_is_true(json_object_get(ev, "unmasked")) ? "personal data in clear" : "masked",
			arc_jstr(ev, "purpose") ? ", purpose \"" : "",
			arc_jstr(ev, "purpose") ? arc_jstr(ev, "purpose") : "",
			arc_jstr(ev, "purpose") ? "\"" : "");
	} else if (strcmp(kind, "decision") == 0) {
		/* a fund transaction judged: the verdict, the rules, the policy */
		const json_t *d = json_object_get(ev, "decision");
		action = "decided";
		snprintf(detail, sizeof(detail), "%s",
			arc_jstr(d, "verdict") ? arc_jstr(d, "verdict") : "?");
		rules_and_policy(detail, sizeof(detail), json_object_get(d, "findings"),
			arc_jstr(d, "policy"));
	} else if (strcmp(kind, "review") == 0) {
		/* four eyes: a second person approved or rejected a queued transaction */
		action = "reviewed";
		snprintf(detail, sizeof(detail), "%s, note \"%s\"",
			arc_jstr(ev, "action") && strcmp(arc_jstr(ev, "action"), "approve") == 0
			? "approved: effective from now on" : "rejected: taken back",
			arc_jstr(ev, "note") ? arc_jstr(ev, "note") : "");
	} else if (strcmp(kind, "policy") == 0) {
		action = "policy";
		snprintf(detail, sizeof(detail), "fund-control policy %.12s installed (%lld rules) "
			"from %s", arc_jstr(ev, "policy") ? arc_jstr(ev, "policy") : "?",
			(long long)json_integer_value(json_object_get(ev, "rules")),
			arc_jstr(ev, "source") ? arc_jstr(ev, "source") : "?");
	} else if (strcmp(kind, "period_close") == 0) {
		/* a regular check of the balances: the period and what it found */
		size_t n = json_array_size(json_object_get(ev, "findings"));
		action = "closed";
		snprintf(detail, sizeof(detail), "period close of %s: %zu finding%s",
			arc_jstr(ev, "period") ? arc_jstr(ev, "period") : "?", n, n == 1 ? "" : "s");
		rules_and_policy(detail, sizeof(detail), json_object_get(ev, "findings"),
			arc_jstr(ev, "policy"));
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
	    (error = arc_load_record(&doc, a, id_hex)) < 0 ||
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
		if ((error = arc_load_revision(&revs[k - 1], a, arc_jstr(doc, "ref"), k)) < 0)
			goto done;
	first = revs[0];
	if (cu_index_get_commit(commit, t, (uint64_t)json_integer_value(json_object_get(first, "leaf"))) < 0)
		cu_error_clear();
	if (cu_time_parse(&when, arc_jstr(first, "archived_at") ? arc_jstr(first, "archived_at") : "") == 0)
		st.since = when.epoch;
	cu_error_clear();
	{
		const json_t *by = json_object_get(first, "archived_by");
		const char *act, *at;
		if (arc_dispo_describe(first, &act, &at, &by, detail, sizeof(detail))) {
			;   /* a destruction list: who proposed it and why */
		} else if (json_object_get(first, "volumes") != NULL) {
			/* a case */
			const json_t *bag = json_object_get(first, "bag");
			size_t i, nf = 0;
			json_t *vol;
			json_array_foreach(json_object_get(first, "volumes"), i, vol)
				nf += json_array_size(json_object_get(vol, "files"));
			snprintf(detail, sizeof(detail), "%s from %s (case %s, %zu file%s in %zu "
				"volume%s, %lld bytes)", arc_jstr(first, "ref") ? arc_jstr(first, "ref") : "?",
				arc_jstr(first, "source") ? arc_jstr(first, "source") : "?",
				arc_jstr(json_object_get(first, "case"), "case_no") ?
				arc_jstr(json_object_get(first, "case"), "case_no") : "?", nf,
				nf == 1 ? "" : "s", json_array_size(json_object_get(first, "volumes")),
				json_array_size(json_object_get(first, "volumes")) == 1 ? "" : "s",
				(long long)json_integer_value(json_object_get(bag, "payload_bytes")));
		} else {
			snprintf(detail, sizeof(detail), "%s from %s (content sha256:%.12s…, %lld bytes)",
				arc_jstr(first, "ref") ? arc_jstr(first, "ref") : "?",
				arc_jstr(first, "source") ? arc_jstr(first, "source") : "?",
				arc_jstr(json_object_get(first, "content"), "digest")
					? arc_jstr(json_object_get(first, "content"), "digest") + 7 : "?",
				(long long)json_integer_value(json_object_get(json_object_get(first, "content"), "size")));
		}
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
	for (size_t i = 0; i < nevs && error == 0; i++) {
		const char *ek = arc_jstr(evs[i], "kind");
		if (ek != NULL && strcmp(ek, "backup") == 0) {
			/* only the backups that hold (a revision of) the record */
			for (size_t k = 0; k < nrevs; k++) {
				uint64_t leaf = (uint64_t)json_integer_value(json_object_get(revs[k], "leaf"));
				if (!cu_backup_holds(evs[i], leaf, detail, sizeof(detail)))
					continue;
				const json_t *by = json_object_get(evs[i], "by");
				char ecommit[41] = "";
				if (cu_index_get_commit(ecommit, t, (uint64_t)json_integer_value(
						json_object_get(evs[i], "leaf"))) < 0)
					cu_error_clear();
				cu_trace_entry e = { arc_jstr(evs[i], "at"), "backed up", arc_jstr(by, "user"),
					(unsigned long)json_integer_value(json_object_get(by, "uid")), detail,
					ecommit, (uint64_t)json_integer_value(json_object_get(evs[i], "leaf")),
					arc_jstr(evs[i], "id") ? arc_jstr(evs[i], "id") : "" };
				error = cb(&e, payload);
				break;
			}
			continue;
		}
		error = trace_event(t, evs[i], cb, payload);
	}
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

