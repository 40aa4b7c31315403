/* audit.c — the internal-control audit report's model gathered from the
 * archive (cu_archive_audit_model in custos/archive.h): the decisions of the
 * fund transactions posted in a period, the review queue, the denied
 * attempts and the makers' findings, for src/report.c to render
 * (docs/fund-control.md, "Audit report"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/archive.h"
#include "custos/conf.h"
#include "custos/error.h"
#include "custos/index.h"
#include "custos/policy.h"
#include "custos/record.h"
#include "custos/report.h"
#include "custos/util.h"
#include "archive_int.h"

/* ---- the period -------------------------------------------------------------- */

struct period {
	int64_t from_day, to_day;   /* day numbers (cu_civil_days) */
	int64_t from, to;           /* epoch seconds, to inclusive */
	int offset_min;             /* the archive's time zone */
};

static int
parse_period(struct period *p, const cu_archive *a, const char *from, const char *to)
{
	int fy, fm, fd, ty, tm, td, error;

	if (from == NULL || to == NULL)
		return cu_error_set(CU_EINVALID, "%s: required", from == NULL ? "--from" : "--to");
	if ((error = cu_day_parse(&p->from_day, from)) < 0)
		return cu_error_prefix(error, "--from");
	if ((error = cu_day_parse(&p->to_day, to)) < 0)
		return cu_error_prefix(error, "--to");
	if (p->to_day < p->from_day)
		return cu_error_set(CU_EINVALID, "--to: %s is before --from %s", to, from);
	cu_civil_from_days(p->from_day, &fy, &fm, &fd);
	cu_civil_from_days(p->to_day, &ty, &tm, &td);
	if ((ty * 12 + tm) - (fy * 12 + fm) + 1 > CU_REPORT_MAX_MONTHS)
		return cu_error_set(CU_ELIMIT, "--to: the period spans more than %d months",
			CU_REPORT_MAX_MONTHS);
	p->offset_min = cu_conf_tz_offset(a->conf);
	p->from = p->from_day * 86400 - (int64_t)p->offset_min * 60;
	p->to = (p->to_day + 1) * 86400 - (int64_t)p->offset_min * 60 - 1;
	return 0;
}

/* "YYYY-MM" of an instant in the archive's time zone. */
static void
month_of(char out[24], int64_t epoch, int offset_min)
{
	int64_t s = epoch + (int64_t)offset_min * 60;
	int64_t day = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	int y, m, d;

	cu_civil_from_days(day, &y, &m, &d);
	snprintf(out, 24, "%04d-%02d", y, m);
}

/* ---- the transactions of the period -------------------------------------------- */

struct scan {
	cu_index_txn *t;
	const struct period *p;
	json_t *txns;               /* [{id, mark, summary, epoch}] */
};

static int
scan_one(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct scan *s = payload;
	json_t *mark = NULL, *sum = NULL;
	char *sjson = NULL, idh[CU_SHA256_HEX];
	cu_time tm;
	int error = 0;

	if (klen != 32)
		return 0;
	cu_hex(idh, key, 32);
	if ((mark = json_loadb(val, vlen, 0, NULL)) == NULL)
		return cu_error_set(CU_EINVALID, "index: malformed decision mark of %s", idh);
	if ((error = cu_index_get_summary(&sjson, s->t, key)) < 0)
		goto done;
	if ((sum = json_loads(sjson, 0, NULL)) == NULL) {
		error = cu_error_set(CU_EINVALID, "index: malformed summary of %s", idh);
		goto done;
	}
	if (cu_time_parse(&tm, arc_jstr(sum, "time") ? arc_jstr(sum, "time") : "") < 0) {
		error = cu_error_prefix(CU_EINVALID, "index: summary of %s: posted_at", idh);
		goto done;
	}
	if (tm.epoch < s->p->from || tm.epoch > s->p->to)
		goto done;
	if (json_array_append_new(s->txns, json_pack("{s:s, s:O, s:O, s:I}", "id", idh,
			"mark", mark, "summary", sum, "epoch", (json_int_t)tm.epoch)) < 0)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	free(sjson);
	json_decref(sum);
	json_decref(mark);
	return error;
}

/* ---- tallies ----------------------------------------------------------------- */

/* Adds one finding of severity sev (deny, review or note) to the counts
 * object o ({deny, review, note}). */
static void
tally(json_t *o, const char *sev)
{
	json_t *c = json_object_get(o, sev);

	json_object_set_new(o, sev, json_integer(json_integer_value(c) + 1));
}

static json_t *
counts(void)
{
	return json_pack("{s:i, s:i, s:i}", "deny", 0, "review", 0, "note", 0);
}

/* The values of map as an array sorted by key (the keys sort as wanted). */
static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static json_t *
sorted_values(json_t *map)
{
	size_t n = json_object_size(map), i = 0;
	const char **keys, *k;
	json_t *out, *v;

	if ((out = json_array()) == NULL || (keys = calloc(n ? n : 1, sizeof(*keys))) == NULL) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach(map, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		json_array_append(out, json_object_get(map, keys[i]));
	free(keys);
	return out;
}

/* ---- the review queue ---------------------------------------------------------- */

static int
queue_item(const json_t *item, void *payload)
{
	json_int_t age = json_integer_value(json_object_get(item, "age_days"));
	json_t *rules = json_object_get(item, "rules");

	if (age < 0)
		age = 0;                /* decided "in the future" by a clock set ahead */
	if (age > 100000)
		age = 100000;
	if (!json_is_array(rules) || json_array_size(rules) == 0)
		return cu_error_set(CU_EINVALID, "review queue: %s: no rules",
			arc_jstr(item, "ref") ? arc_jstr(item, "ref") : "?");
	return json_array_append_new((json_t *)payload, json_pack("{s:s, s:I, s:O}", "ref",
		arc_jstr(item, "ref") ? arc_jstr(item, "ref") : arc_jstr(item, "id"), "age_days", age,
		"rules", rules)) < 0 ? cu_error_set(CU_ERROR, "out of memory") : 0;
}

static int
by_age(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t p = json_integer_value(json_object_get(a, "age_days"));
	json_int_t q = json_integer_value(json_object_get(b, "age_days"));

	if (p != q)
		return p > q ? -1 : 1;
	return strcmp(arc_jstr(a, "ref"), arc_jstr(b, "ref"));
}

static int
by_time(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t p = json_integer_value(json_object_get(a, "epoch"));
	json_int_t q = json_integer_value(json_object_get(b, "epoch"));

	if (p != q)
		return p < q ? -1 : 1;
	return strcmp(arc_jstr(a, "ref"), arc_jstr(b, "ref"));
}

/* Sorts the array arr in place with cmp. */
static int
sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr), i;
	json_t **v;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
	return 0;
}

/* ---- the model ------------------------------------------------------------------ */

/* The findings of one transaction into the decisions per month and rule and
 * the makers' counts; a denied one into denied. */
static int
gather_txn(cu_archive *a, const struct period *p, const json_t *x, json_t *dmap, json_t *mmap,
	json_t *denied)
{
	const json_t *sum = json_object_get(x, "summary"), *mark = json_object_get(x, "mark");
	const json_t *f;
	const char *maker = arc_jstr(sum, "operator"), *verdict = arc_jstr(mark, "verdict");
	json_t *dec = NULL, *drules = NULL, *row;
	char month[24], key[64];
	size_t i;
	int error;

	if ((error = cu_archive_decision(&dec, a, arc_jstr(x, "id"))) < 0)
		return cu_error_prefix(error, "%s", arc_jstr(sum, "ref") ? arc_jstr(sum, "ref") :
			arc_jstr(x, "id"));
	month_of(month, json_integer_value(json_object_get(x, "epoch")), p->offset_min);
	if ((drules = json_array()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(json_object_get(json_object_get(dec, "decision"), "findings"), i, f) {
		const char *rule = arc_jstr(f, "rule"), *sev = arc_jstr(f, "severity");
		/* a transaction's findings are deny, review or note; nothing else counts */
		if (rule == NULL || sev == NULL || (strcmp(sev, "deny") != 0 &&
		    strcmp(sev, "review") != 0 && strcmp(sev, "note") != 0))
			continue;
		snprintf(key, sizeof(key), "%s %s", month, rule);
		if ((row = json_object_get(dmap, key)) == NULL) {
			row = counts();
			json_object_set_new(row, "month", json_string(month));
			json_object_set_new(row, "rule", json_string(rule));
			json_object_set_new(dmap, key, row);
		}
		tally(row, sev);
		if (maker != NULL) {
			if ((row = json_object_get(mmap, maker)) == NULL) {
				row = counts();
				json_object_set_new(row, "maker", json_string(maker));
				json_object_set_new(mmap, maker, row);
			}
			tally(row, sev);
		}
		if (sev != NULL && strcmp(sev, "deny") == 0)
			json_array_append_new(drules, json_string(rule));
	}
	if (verdict != NULL && strcmp(verdict, "deny") == 0) {
		if (json_array_size(drules) == 0)
			json_array_extend(drules, json_object_get(mark, "rules"));
		row = json_pack("{s:s?, s:s?, s:s?, s:O, s:s?, s:s?}", "ref", arc_jstr(sum, "ref"),
			"posted_at", arc_jstr(sum, "time"), "maker", maker, "rules", drules,
			"txn_no", arc_jstr(sum, "txn_no"), "kind", arc_jstr(sum, "service"));
		if (row == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		if (json_is_integer(json_object_get(sum, "amount_fen")))
			json_object_set(row, "amount_fen", json_object_get(sum, "amount_fen"));
		json_object_set(row, "epoch", json_object_get(x, "epoch"));
		json_array_append_new(denied, row);
	}
done:
	json_decref(drules);
	json_decref(dec);
	return error;
}

/* ---- reconciliations ------------------------------------------------------ */

struct recon_ctx {
	cu_archive *a;
	const struct period *p;
	json_t *out;                /* the model's reconciliation rows */
	json_t *closes;             /* and its period closes */
	int error;
};

/* A period_close event becomes a row of the model's closes. */
static int
close_row(struct recon_ctx *rc, const json_t *ev)
{
	json_t *fl = json_array(), *f, *row;
	size_t i;

	if (fl == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_array_foreach(json_object_get(ev, "findings"), i, f)
		json_array_append_new(fl, json_pack("{s:s, s:s}", "rule",
			arc_jstr(f, "rule") ? arc_jstr(f, "rule") : "?",
			"message", arc_jstr(f, "message") ? arc_jstr(f, "message") : "?"));
	row = json_pack("{s:s, s:s, s:o}", "period", arc_jstr(ev, "period") ?
		arc_jstr(ev, "period") : "?", "at", arc_jstr(ev, "at") ? arc_jstr(ev, "at") : "?",
		"findings", fl);
	if (row == NULL || json_array_append_new(rc->closes, row) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

static json_t *
category(json_int_t count, json_int_t fen)
{
	return json_pack("{s:I, s:I}", "count", count, "fen", fen);
}

/* One archive-wide event: a reconciliation report archived in the period
 * becomes a row: counts and sums per outcome from its items (amounts that
 * differ count |bank - books|). */
static int
recon_one(int64_t time, const unsigned char event_id[32], void *payload)
{
	struct recon_ctx *rc = payload;
	char id_hex[65], day[16], path[160], *text = NULL;
	json_int_t cnt[4] = { 0 }, fen[4] = { 0 };
	static const char *const outcomes[4] = { "matched", "missing_in_books",
		"missing_at_bank", "amount_differs" };
	json_t *ev = NULL, *it, *row;
	const json_t *st;
	size_t len, i;
	time_t tt = (time_t)time;
	struct tm g;
	int error;

	if (time < rc->p->from || time > rc->p->to)
		return 0;
	cu_hex(id_hex, event_id, 32);
	gmtime_r(&tt, &g);
	strftime(day, sizeof(day), "%Y-%m-%d", &g);
	if ((error = arc_event_path(path, sizeof(path), day, id_hex)) < 0)
		return error;
	if ((error = cu_history_read(&text, &len, rc->a->hist, NULL, path)) < 0) {
		/* an archive-wide event of another day's folder is not ours */
		cu_error_clear();
		return 0;
	}
	ev = json_loadb(text, len, 0, NULL);
	free(text);
	if (ev != NULL && arc_jstr(ev, "kind") != NULL &&
	    strcmp(arc_jstr(ev, "kind"), "period_close") == 0) {
		error = close_row(rc, ev);
		json_decref(ev);
		return error;
	}
	if (ev == NULL || arc_jstr(ev, "kind") == NULL ||
	    strcmp(arc_jstr(ev, "kind"), "reconciliation") != 0) {
		json_decref(ev);
		return 0;
	}
	json_array_foreach(json_object_get(json_object_get(ev, "report"), "items"), i, it) {
		const char *o = arc_jstr(it, "outcome");
		json_int_t bank = json_integer_value(json_object_get(json_object_get(it, "bank"),
			"amount_fen"));
		json_int_t book = json_integer_value(json_object_get(json_object_get(it, "book"),
			"amount_fen"));
		for (int k = 0; o != NULL && k < 4; k++) {
			if (strcmp(o, outcomes[k]) != 0)
				continue;
			cnt[k]++;
			fen[k] += k == 2 ? book : k == 3 ? (bank > book ? bank - book : book - bank) : bank;
		}
	}
	st = json_object_get(ev, "statement");
	{
		/* the statement by its file name, else its digest */
		const char *src = arc_jstr(st, "source"), *slash = src ? strrchr(src, '/') : NULL;
		char name[65];
		snprintf(name, sizeof(name), "%s", slash ? slash + 1 : src ? src :
			arc_jstr(st, "digest") ? arc_jstr(st, "digest") + 7 : "?");
		row = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "statement", name[0] ? name : "?",
			"account", arc_jstr(ev, "account") ? arc_jstr(ev, "account") : "?",
			"matched", category(cnt[0], fen[0]), "missing_in_books", category(cnt[1], fen[1]),
			"missing_at_bank", category(cnt[2], fen[2]), "amount_differs",
			category(cnt[3], fen[3]));
	}
	json_decref(ev);
	if (row == NULL || json_array_append_new(rc->out, row) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

int
cu_archive_audit_model(cu_archive *a, const char *from, const char *to, json_t **model,
	size_t *ntxn)
{
	const cu_policy *pol = NULL;
	struct period p;
	struct scan s = { 0 };
	json_t *m = NULL, *rules = NULL, *dmap = NULL, *mmap = NULL, *denied = NULL;
	json_t *items = NULL, *hist = NULL, *recon = NULL, *closes = NULL, *x;
	char now[32];
	size_t i, n;
	int error;

	*model = NULL;
	if (ntxn)
		*ntxn = 0;
	if ((error = parse_period(&p, a, from, to)) < 0 ||
	    (error = cu_archive_policy(&pol, a)) < 0)
		return error;
	if ((rules = json_array()) == NULL || (dmap = json_object()) == NULL ||
	    (mmap = json_object()) == NULL || (denied = json_array()) == NULL ||
	    (items = json_array()) == NULL || (s.txns = json_array()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	for (i = 0, n = cu_policy_rule_count(pol); i < n; i++) {
		cu_policy_rule_info r;
		if ((error = cu_policy_rule(&r, pol, i)) < 0)
			goto done;
		json_array_append_new(rules, json_pack("{s:s, s:s, s:s}", "id", r.id, "title",
			r.title, "severity", cu_policy_severities[r.severity]));
	}
	/* the marks first, in one read transaction; the decision events after it */
	s.p = &p;
	if ((error = cu_index_begin(&s.t, a->ix, 0)) < 0)
		goto done;
	error = cu_index_fstate_scan(s.t, CU_FSTATE_DECISION, NULL, 0, scan_one, &s);
	cu_index_abort(s.t);
	if (error < 0)
		goto done;
	json_array_foreach(s.txns, i, x)
		if ((error = gather_txn(a, &p, x, dmap, mmap, denied)) < 0)
			goto done;
	if ((error = sort_array(denied, by_time)) < 0)
		goto done;
	json_array_foreach(denied, i, x)
		json_object_del(x, "epoch");
	if ((error = cu_archive_review_queue(a, queue_item, items, NULL)) < 0 ||
	    (error = sort_array(items, by_age)) < 0 ||
	    (error = cu_report_histogram(&hist, items)) < 0)
		goto done;
	{
		/* the reconciliations archived in the period (archive-wide events) */
		unsigned char zero[32] = { 0 };
		struct recon_ctx rc = { a, &p, NULL, NULL, 0 };
		if ((recon = rc.out = json_array()) == NULL ||
		    (closes = rc.closes = json_array()) == NULL) {
			error = cu_error_set(CU_ERROR, "out of memory");
			goto done;
		}
		if ((error = cu_index_begin(&s.t, a->ix, 0)) < 0)
			goto done;
		error = cu_index_foreach_event(s.t, zero, recon_one, &rc);
		cu_index_abort(s.t);
		if (error < 0)
			goto done;
	}
	cu_now_rfc3339(now);
	/* cu_day_parse took exactly YYYY-MM-DD: the days as given */
	{
		m = json_pack("{s:i, s:{s:s, s:s}, s:s, s:s, s:s, s:O, s:o, s:{s:O, s:O}, s:O, "
			"s:o, s:O}", "format", CU_REPORT_FORMAT, "period", "from", from, "to", to,
			"archive", a->name, "policy", cu_policy_digest(pol), "generated_at", now,
			"rules", rules, "decisions", sorted_values(dmap), "queue", "items", items,
			"histogram", hist, "denied", denied, "makers", sorted_values(mmap),
			"reconciliation", recon);
		if (m != NULL)
			json_object_set(m, "closes", closes);
	}
	if (m == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the audit model");
		goto done;
	}
	if ((error = cu_report_validate(m)) < 0) {
		cu_error_prefix(error, "audit model");
		goto done;
	}
	if (ntxn)
		*ntxn = json_array_size(s.txns);
	*model = m;
	m = NULL;
done:
	json_decref(m);
	json_decref(recon);
	json_decref(closes);
	json_decref(hist);
	json_decref(items);
	json_decref(denied);
	json_decref(mmap);
	json_decref(dmap);
	json_decref(rules);
	json_decref(s.txns);
	return error;
}
