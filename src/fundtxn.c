/* fundtxn.c — fund transactions in the archive (issue 5): intake, index
 * entries and display summary, the decision event, and the fund-control
 * state in LMDB that the policy reads (docs/fund-control.md, "State";
 * include/custos/index.h lists the state databases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/archive.h"
#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/index.h"
#include "custos/policy.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

/* ---- keys: numbers big-endian and offset, so that keys sort as numbers ---- */

static void
put_be32(unsigned char *p, int64_t v)
{
	uint32_t u = (uint32_t)((int32_t)v) + 0x80000000u;

	p[0] = (unsigned char)(u >> 24); p[1] = (unsigned char)(u >> 16);
	p[2] = (unsigned char)(u >> 8); p[3] = (unsigned char)u;
}

static int
get_be32(const unsigned char *p)
{
	uint32_t u = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];

	return (int)(int32_t)(u - 0x80000000u);
}

static void
put_be64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v + (UINT64_C(1) << 63);

	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)u;
}

static int64_t
get_be64(const unsigned char *p)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	return (int64_t)(u - (UINT64_C(1) << 63));
}

static int64_t
get_le64(const void *v)
{
	const unsigned char *p = v;
	uint64_t u = 0;

	for (int i = 7; i >= 0; i--)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

/* Adds delta to the counter at key; a counter that reaches 0 is removed. */
static int
state_add(cu_index_txn *t, int db, const void *key, size_t klen, int64_t delta)
{
	unsigned char v[8];
	size_t vl = 0;
	int64_t cur = 0;
	uint64_t u;
	int error;

	error = cu_index_fstate_get(t, db, key, klen, v, sizeof(v), &vl);
	if (error == 0 && vl == 8)
		cur = get_le64(v);
	else if (error < 0 && error != CU_ENOTFOUND)
		return error;
	cur += delta;
	if (cur == 0)
		return cu_index_fstate_del(t, db, key, klen);
	u = (uint64_t)cur;
	for (int i = 0; i < 8; i++, u >>= 8)
		v[i] = (unsigned char)u;
	return cu_index_fstate_put(t, db, key, klen, v, 8);
}

/* ---- the state the policy reads (cu_policy_state over LMDB) ---------------- */

struct fstate {
	const cu_archive *a;
	cu_index_txn *t;
};

struct scan {
	int64_t until;        /* account changes: not after this day */
	int found;
	int64_t value;
	const cu_policy_scope *scope;
};

static int
first_month_cb(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct scan *s = payload;

	(void)val; (void)vlen;
	if (klen != 36)
		return 0;
	s->found = 1;
	s->value = get_be32((const unsigned char *)key + 32);
	return 1;
}

static int
last_day_cb(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct scan *s = payload;
	int64_t day;

	(void)val; (void)vlen;
	if (klen != 40)
		return 0;
	day = get_be64((const unsigned char *)key + 32);
	if (day > s->until)
		return 1;
	s->found = 1;
	s->value = day;
	return 0;
}

static int
st_death_month(void *payload, const char *id_no, int *found, int *month)
{
	struct fstate *fs = payload;
	unsigned char hk[32];
	struct scan s = { 0 };
	int error;

	if ((error = arc_person_key(hk, fs->a, id_no)) < 0 ||
	    (error = cu_index_fstate_scan(fs->t, CU_FSTATE_DEATH, hk, 32, first_month_cb, &s)) < 0)
		return error;
	*found = s.found;
	*month = (int)s.value;
	return 0;
}

static int
last_day(struct fstate *fs, int db, const char *id_no, int64_t until, int *found, int64_t *day)
{
	unsigned char hk[32];
	struct scan s = { .until = until };
	int error;

	if ((error = arc_person_key(hk, fs->a, id_no)) < 0 ||
	    (error = cu_index_fstate_scan(fs->t, db, hk, 32, last_day_cb, &s)) < 0)
		return error;
	*found = s.found;
	*day = s.value;
	return 0;
}

static int
st_last_qualification(void *payload, const char *id_no, int *found, int64_t *day)
{
	return last_day(payload, CU_FSTATE_QUAL, id_no, INT64_MAX, found, day);
}

static int
st_last_account_change(void *payload, const char *id_no, int64_t until, int *found,
	int64_t *day)
{
	return last_day(payload, CU_FSTATE_ACCT, id_no, until, found, day);
}

static int
benefit_key(unsigned char key[38], const cu_archive *a, const char *id_no, int fund, int scheme,
	int period)
{
	int error;

	if ((error = arc_person_key(key, a, id_no)) < 0)
		return error;
	key[32] = (unsigned char)fund;
	key[33] = (unsigned char)scheme;
	put_be32(key + 34, period);
	return 0;
}

static int
st_benefit_count(void *payload, const char *id_no, int fund, int scheme, int period,
	uint64_t *count)
{
	struct fstate *fs = payload;
	unsigned char key[38], v[8];
	size_t vl = 0;
	int error;

	*count = 0;
	if ((error = benefit_key(key, fs->a, id_no, fund, scheme, period)) < 0)
		return error;
	error = cu_index_fstate_get(fs->t, CU_FSTATE_BENEFIT, key, sizeof(key), v, 8, &vl);
	if (error == CU_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	*count = vl == 8 ? (uint64_t)get_le64(v) : 0;
	return 0;
}

/* maker NUL day[8] (kind fund scheme); returns the prefix length or 0. */
static size_t
maker_key(unsigned char *key, size_t sz, const char *maker, int64_t day)
{
	size_t ml = strlen(maker);

	if (ml + 1 + 8 + 3 > sz)
		return 0;
	memcpy(key, maker, ml + 1);
	put_be64(key + ml + 1, day);
	return ml + 9;
}

static int
maker_sum_cb(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct scan *s = payload;
	const unsigned char *k = key;

	if (vlen != 8 || klen < 3)
		return 0;
	if (cu_policy_scope_match(s->scope, k[klen - 3], k[klen - 2], k[klen - 1]))
		s->value += get_le64(val);
	return 0;
}

static int
st_maker_day_total(void *payload, const char *maker, int64_t day, const cu_policy_scope *scope,
	int64_t *fen)
{
	struct fstate *fs = payload;
	unsigned char key[64];
	size_t n = maker_key(key, sizeof(key), maker, day);
	struct scan s = { .scope = scope };
	int error;

	*fen = 0;
	if (n == 0)
		return cu_error_set(CU_EINVALID, "maker: too long");
	if ((error = cu_index_fstate_scan(fs->t, CU_FSTATE_MAKER, key, n, maker_sum_cb, &s)) < 0)
		return error;
	*fen = s.value;
	return 0;
}

struct balances {
	int period;
	cu_policy_balance_fn fn;
	void *arg;
	unsigned char cur[80];    /* class fund no NUL of the account being summed */
	size_t curlen;
	int64_t sum;
};

static int
balance_flush(struct balances *b)
{
	cu_policy_balance pb;

	if (b->curlen == 0)
		return 0;
	pb.cls = b->cur[0];
	pb.fund = b->cur[1];
	pb.no = (const char *)b->cur + 2;
	pb.balance_fen = b->sum;
	b->curlen = 0;
	b->sum = 0;
	return b->fn(b->arg, &pb);
}

static int
balance_cb(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct balances *b = payload;
	const unsigned char *k = key;
	int error;

	if (klen < 7 || klen - 4 > sizeof(b->cur) || vlen != 8)
		return 0;
	if (b->curlen != klen - 4 || memcmp(b->cur, k, klen - 4) != 0) {
		if ((error = balance_flush(b)) != 0)
			return error;
		memcpy(b->cur, k, klen - 4);
		b->curlen = klen - 4;
	}
	if (get_be32(k + klen - 4) <= b->period)
		b->sum += get_le64(val);
	return 0;
}

static int
st_each_balance(void *payload, int period, cu_policy_balance_fn fn, void *arg)
{
	struct fstate *fs = payload;
	struct balances b = { .period = period, .fn = fn, .arg = arg };
	int error;

	if ((error = cu_index_fstate_scan(fs->t, CU_FSTATE_BALANCE, NULL, 0, balance_cb, &b)) != 0)
		return error;
	return balance_flush(&b);
}

static void
state_iface(cu_policy_state *st, struct fstate *fs)
{
	memset(st, 0, sizeof(*st));
	st->payload = fs;
	st->death_month = st_death_month;
	st->last_qualification = st_last_qualification;
	st->last_account_change = st_last_account_change;
	st->benefit_count = st_benefit_count;
	st->maker_day_total = st_maker_day_total;
	st->each_balance = st_each_balance;
}

/* ---- updating the state: what a transaction establishes -------------------- */

/* Records (sign 1) or withdraws (sign -1) the facts of a standing
 * transaction: the same table as cu_pstate_record. */
static int
state_record(const cu_archive *a, cu_index_txn *t, const cu_fund_txn *v, int sign)
{
	unsigned char key[64];
	int error;

	if (v->person_id != NULL) {
		int y, m, d;
		if ((error = arc_person_key(key, a, v->person_id)) < 0)
			return error;
		if (v->kind == CU_KIND_DEATH_REPORT && v->has_event) {
			cu_civil_from_days(v->event_day, &y, &m, &d);
			put_be32(key + 32, (int64_t)y * 12 + m - 1);
			if ((error = state_add(t, CU_FSTATE_DEATH, key, 36, sign)) < 0)
				return error;
		} else if ((v->kind == CU_KIND_QUALIFICATION || v->kind == CU_KIND_ACCOUNT_CHANGE) &&
			   v->has_event) {
			put_be64(key + 32, v->event_day);
			if ((error = state_add(t, v->kind == CU_KIND_QUALIFICATION ? CU_FSTATE_QUAL
					: CU_FSTATE_ACCT, key, 40, sign)) < 0)
				return error;
		} else if (v->kind == CU_KIND_BENEFIT_PAYMENT && v->has_period) {
			if ((error = benefit_key(key, a, v->person_id, v->fund, v->scheme, v->period)) < 0 ||
			    (error = state_add(t, CU_FSTATE_BENEFIT, key, 38, sign)) < 0)
				return error;
		}
	}
	if (cu_fund_kind_moves_money(v->kind)) {
		size_t n = maker_key(key, sizeof(key), v->maker, v->posted_day);
		if (n == 0)
			return cu_error_set(CU_EINVALID, "fund_txn %s: maker too long", v->txn_no);
		key[n] = (unsigned char)v->kind;
		key[n + 1] = (unsigned char)v->fund;
		key[n + 2] = (unsigned char)v->scheme;
		if ((error = state_add(t, CU_FSTATE_MAKER, key, n + 3, sign * v->amount_fen)) < 0)
			return error;
	}
	return 0;
}

static int
move(cu_index_txn *t, const cu_fund_account *acc, int period, int64_t fen)
{
	unsigned char key[80];
	size_t nl = strlen(acc->no);

	if (nl + 7 > sizeof(key))
		return cu_error_set(CU_EINVALID, "account number too long");
	key[0] = (unsigned char)acc->cls;
	key[1] = (unsigned char)acc->fund;
	memcpy(key + 2, acc->no, nl + 1);
	put_be32(key + 3 + nl, period);
	return state_add(t, CU_FSTATE_BALANCE, key, nl + 7, fen);
}

/* Posts an effective money transaction to the balances (cu_pstate_post). */
static int
state_post(cu_index_txn *t, const cu_fund_txn *v)
{
	int error;

	if (!cu_fund_kind_moves_money(v->kind))
		return 0;
	if (!v->has_period)
		return cu_error_set(CU_EINVALID, "fund_txn: a money transaction without a period");
	if (v->from.present && (error = move(t, &v->from, v->period, -v->amount_fen)) < 0)
		return error;
	if (v->to.present && (error = move(t, &v->to, v->period, v->amount_fen)) < 0)
		return error;
	return 0;
}

/* The decision mark of a transaction record: its JSON into *out (new
 * reference); CU_ENOTFOUND without a message when it has none. */
static int
get_mark(json_t **out, cu_index_txn *t, const unsigned char id[32])
{
	char buf[2048];
	size_t vl = 0;
	int error;

	*out = NULL;
	if ((error = cu_index_fstate_get(t, CU_FSTATE_DECISION, id, 32, buf, sizeof(buf) - 1,
			&vl)) < 0)
		return error;
	if (vl >= sizeof(buf))
		return cu_error_set(CU_EINVALID, "index: decision mark too long");
	buf[vl] = '\0';
	if ((*out = json_loads(buf, 0, NULL)) == NULL)
		return cu_error_set(CU_EINVALID, "index: malformed decision mark");
	return 0;
}

static int
put_mark(cu_index_txn *t, const unsigned char id[32], json_t *mark)
{
	char *text = json_dumps(mark, JSON_COMPACT | JSON_SORT_KEYS);
	int error;

	if (text == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	error = cu_index_fstate_put(t, CU_FSTATE_DECISION, id, 32, text, strlen(text));
	free(text);
	return error;
}

int
arc_fund_state_apply(cu_archive *a, cu_index_txn *t, const json_t *txn_doc,
	const json_t *decision_doc, int fresh)
{
	const json_t *dec = json_object_get(decision_doc, "decision"), *f;
	const char *verdict = arc_jstr(dec, "verdict");
	unsigned char id[32];
	cu_fund_txn v;
	json_t *mark = NULL, *rules = NULL;
	size_t i;
	int error, vd;

	if (cu_unhex(id, 32, arc_jstr(txn_doc, "id") ? arc_jstr(txn_doc, "id") : "") < 0 ||
	    verdict == NULL || (vd = cu_fund_lookup(cu_policy_verdicts, verdict)) < 0)
		return cu_error_set(CU_EINVALID, "decision %s: no verdict or transaction id",
			arc_jstr(decision_doc, "id") ? arc_jstr(decision_doc, "id") : "?");
	if (fresh)
		error = CU_ENOTFOUND;
	else if ((error = get_mark(&mark, t, id)) == 0) {
		json_decref(mark);      /* already applied (a replay) */
		return 0;
	}
	if (error != CU_ENOTFOUND)
		return error;
	if ((error = cu_fund_view(&v, json_object_get(txn_doc, "fund_txn"))) < 0)
		return cu_error_prefix(error, "record %s", arc_jstr(txn_doc, "ref"));
	if (vd != CU_VERDICT_DENY && (error = state_record(a, t, &v, 1)) < 0)
		return error;
	if (vd == CU_VERDICT_ALLOW && (error = state_post(t, &v)) < 0)
		return error;
	if ((rules = json_array()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_array_foreach(json_object_get(dec, "findings"), i, f)
		json_array_append_new(rules, json_string(arc_jstr(f, "rule") ? arc_jstr(f, "rule") : "?"));
	mark = json_pack("{s:s, s:o, s:s?, s:s?, s:s}", "verdict", verdict, "rules", rules,
		"event", arc_jstr(decision_doc, "id"), "at", arc_jstr(decision_doc, "at"), "state",
		vd == CU_VERDICT_ALLOW ? "effective" : vd == CU_VERDICT_REVIEW ? "standing" : "none");
	if (mark == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	error = put_mark(t, id, mark);
	json_decref(mark);
	return error;
}

int
arc_fund_state_effective(cu_archive *a, cu_index_txn *t, const json_t *txn_doc, int approve)
{
	unsigned char id[32];
	const char *state;
	cu_fund_txn v;
	json_t *mark = NULL;
	int error;

	(void)a;
	if (cu_unhex(id, 32, arc_jstr(txn_doc, "id") ? arc_jstr(txn_doc, "id") : "") < 0)
		return cu_error_set(CU_EINVALID, "fund transaction without id");
	if ((error = get_mark(&mark, t, id)) < 0)
		return error == CU_ENOTFOUND ? cu_error_set(CU_ENOTFOUND, "record %s has no decision",
			arc_jstr(txn_doc, "ref")) : error;
	state = arc_jstr(mark, "state");
	if (state == NULL || strcmp(state, "standing") != 0) {
		error = cu_error_set(CU_EINVALID, "record %s is not waiting for review",
			arc_jstr(txn_doc, "ref"));
		goto done;
	}
	if ((error = cu_fund_view(&v, json_object_get(txn_doc, "fund_txn"))) < 0)
		goto done;
	if (approve)
		error = state_post(t, &v);
	else
		error = state_record(a, t, &v, -1);
	if (error < 0)
		goto done;
	json_object_set_new(mark, "state", json_string(approve ? "effective" : "none"));
	error = put_mark(t, id, mark);
done:
	json_decref(mark);
	return error;
}

int
arc_fund_replay_decision(cu_archive *a, cu_index_txn *t, const json_t *decision_doc)
{
	const json_t *r = json_array_get(json_object_get(decision_doc, "records"), 0);
	json_t *txn = NULL;
	int error;

	if (arc_jstr(r, "ref") == NULL)
		return cu_error_set(CU_EINVALID, "decision %s: names no transaction",
			arc_jstr(decision_doc, "id") ? arc_jstr(decision_doc, "id") : "?");
	if ((error = arc_load_revision(&txn, a, arc_jstr(r, "ref"), 1)) < 0)
		return cu_error_prefix(error, "decision %s", arc_jstr(decision_doc, "id"));
	if (arc_jstr(txn, "id") == NULL || arc_jstr(r, "id") == NULL ||
	    strcmp(arc_jstr(txn, "id"), arc_jstr(r, "id")) != 0)
		error = cu_error_set(CU_EINVALID, "decision %s: record %s is not the one it names",
			arc_jstr(decision_doc, "id"), arc_jstr(r, "ref"));
	else
		error = arc_fund_state_apply(a, t, txn, decision_doc, 0);
	json_decref(txn);
	return error;
}

int
arc_fund_mark(json_t **out, cu_index_txn *t, const unsigned char id[32])
{
	return get_mark(out, t, id);
}

void
arc_fund_mark_hit(cu_index_txn *t, json_t *hit)
{
	unsigned char id[32];
	json_t *mark = NULL;

	if (cu_unhex(id, 32, arc_jstr(hit, "id") ? arc_jstr(hit, "id") : "") < 0)
		return;
	if (get_mark(&mark, t, id) < 0) {
		cu_error_clear();
		return;
	}
	json_object_set(hit, "decision", json_object_get(mark, "verdict"));
	json_decref(mark);
}

int
cu_archive_decision(json_t **out, cu_archive *a, const char *id_hex)
{
	unsigned char id[32];
	cu_index_txn *t = NULL;
	json_t *mark = NULL;
	int error;

	*out = NULL;
	if (cu_unhex(id, 32, id_hex) < 0)
		return cu_error_set(CU_EINVALID, "not a record id");
	if ((error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	error = get_mark(&mark, t, id);
	cu_index_abort(t);
	if (error < 0)
		return error;
	if (arc_jstr(mark, "event") != NULL && arc_jstr(mark, "at") != NULL &&
	    strlen(arc_jstr(mark, "at")) >= 10) {
		char path[200], *text = NULL;
		const char *at = arc_jstr(mark, "at");
		size_t len;
		json_t *ev = NULL;
		if ((error = cu_pathf(path, sizeof(path), "events/%.4s/%.5s/%s.json", at, at + 5,
				arc_jstr(mark, "event"))) == 0 &&
		    (error = cu_history_read(&text, &len, a->hist, NULL, path)) == 0) {
			if ((ev = json_loadb(text, len, 0, NULL)) == NULL)
				error = cu_error_set(CU_EINVALID, "history %s: not JSON", path);
			else
				json_object_set(mark, "decision", json_object_get(ev, "decision"));
		}
		free(text);
		json_decref(ev);
		if (error < 0) {
			json_decref(mark);
			return error;
		}
	}
	*out = mark;
	return 0;
}

/* ---- index entries and summary -------------------------------------------- */

json_t *
arc_fund_summary(const json_t *doc)
{
	const json_t *f = json_object_get(doc, "fund_txn");
	const json_t *p = json_object_get(f, "person"), *o = json_object_get(f, "org");
	json_t *s, *subject = NULL;
	char masked[19];

	if (p != NULL) {
		cu_idno_mask(masked, arc_jstr(p, "id_no") ? arc_jstr(p, "id_no") : "");
		subject = json_pack("{s:s, s:s, s:s?}", "kind", "person", "id", masked,
			"name", arc_jstr(p, "name"));
	} else if (o != NULL) {
		subject = json_pack("{s:s, s:s?, s:s?}", "kind", "org", "id", arc_jstr(o, "uscc"),
			"name", arc_jstr(o, "name"));
	}
	s = json_pack("{s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
		"id", arc_jstr(doc, "id"), "ref", arc_jstr(doc, "ref"), "kind", "fund_txn",
		"time", arc_jstr(f, "posted_at"), "txn_no", arc_jstr(f, "txn_no"),
		"service", arc_jstr(f, "kind"), "insurance", arc_jstr(f, "fund"),
		"scheme", arc_jstr(f, "scheme"), "period", arc_jstr(f, "period"),
		"operator", arc_jstr(f, "maker"));
	if (s == NULL) {
		json_decref(subject);
		return NULL;
	}
	if (subject != NULL)
		json_object_set_new(s, "subject", subject);
	if (json_object_get(f, "amount_fen") != NULL)
		json_object_set(s, "amount_fen", json_object_get(f, "amount_fen"));
	{
		/* the summary column of search: number, amount in yuan, period */
		char money[32] = "", *line;
		if (json_is_integer(json_object_get(f, "amount_fen")))
			cu_money_format(money, sizeof(money),
				(int64_t)json_integer_value(json_object_get(f, "amount_fen")));
		line = cu_asprintf("%s%s%s%s%s", arc_jstr(f, "txn_no") ? arc_jstr(f, "txn_no") : "",
			money[0] ? " " : "", money, arc_jstr(f, "period") ? " " : "",
			arc_jstr(f, "period") ? arc_jstr(f, "period") : "");
		if (line != NULL)
			json_object_set_new(s, "summary", json_string(line));
		free(line);
	}
	return s;
}

int
arc_index_fund(cu_archive *a, cu_index_txn *t, const json_t *doc, int remove)
{
	const json_t *f = json_object_get(doc, "fund_txn");
	const json_t *p = json_object_get(f, "person"), *o = json_object_get(f, "org");
	const char *ref = arc_jstr(doc, "ref"), *idh = arc_jstr(doc, "id");
	const char *content = arc_jstr(json_object_get(doc, "content"), "digest");
	cu_index_entry e;
	cu_time tm;
	char *text = NULL, *rkey = NULL;
	int error;

	memset(&e, 0, sizeof(e));
	if (ref == NULL || idh == NULL || f == NULL || cu_unhex(e.id, 32, idh) < 0)
		return cu_error_set(CU_EINVALID, "record document without id, ref or fund_txn");
	if ((error = cu_time_parse(&tm, arc_jstr(f, "posted_at") ? arc_jstr(f, "posted_at") : "")) < 0)
		return cu_error_prefix(error, "record %s: posted_at", ref);
	e.ref = ref;
	e.time = tm.epoch;
	e.kind = "fund_txn";
	if (content != NULL && strncmp(content, "sha256:", 7) == 0 &&
	    cu_unhex(e.content, 32, content + 7) == 0)
		e.has_content = 1;
	if (arc_jstr(p, "id_no") != NULL) {
		if ((error = arc_person_key(e.person, a, arc_jstr(p, "id_no"))) < 0)
			return error;
		e.has_person = 1;
	}
	e.org = arc_jstr(o, "uscc");
	e.service = arc_jstr(f, "kind");
	e.insurance = arc_jstr(f, "fund");
	e.scheme = arc_jstr(f, "scheme");
	e.period = arc_jstr(f, "period");
	e.operator_ = arc_jstr(f, "maker");
	text = cu_asprintf("%s %s %s", arc_jstr(f, "txn_no") ? arc_jstr(f, "txn_no") : "",
		arc_jstr(p, "name") ? arc_jstr(p, "name") : "",
		arc_jstr(o, "name") ? arc_jstr(o, "name") : "");
	rkey = cu_fund_key(f);
	if (text == NULL || rkey == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	e.text = text;
	e.rkey = rkey;
	error = arc_index_entry_apply(a, t, &e, doc, f, remove);
done:
	free(text);
	free(rkey);
	return error;
}

/* ---- intake -------------------------------------------------------------- */

/* "allow", "review QUAL-1" or "deny SOD-1,AUTH-1" into out. */
static void
verdict_line(char *out, size_t sz, const cu_decision *d)
{
	size_t used = (size_t)snprintf(out, sz, "%s", cu_policy_verdicts[d->verdict]);

	for (size_t i = 0, k = 0; i < d->n && used < sz; i++) {
		if (d->verdict == CU_VERDICT_ALLOW ||
		    (d->verdict == CU_VERDICT_REVIEW && d->findings[i].severity != CU_SEV_REVIEW) ||
		    (d->verdict == CU_VERDICT_DENY && d->findings[i].severity != CU_SEV_DENY))
			continue;
		used += (size_t)snprintf(out + used, sz - used, "%s%s", k++ ? "," : " ",
			d->findings[i].rule);
	}
}

int
arc_ingest_fund(cu_ingest *in, cu_archive *a, const char *source, const json_t *raw,
	const char *content, size_t content_len)
{
	json_t *txn = NULL, *doc = NULL, *ev = NULL, *dj = NULL;
	unsigned char digest[32], have_id[32], have_digest[32], tdig[32];
	char tdig_hex[65], cdig[80], cdig_hex[65], id_hex[65], ev_hex[65], ref[128], class_key[96];
	char *key = NULL, *reason = NULL, line[512];
	const char *now;
	cu_index_txn *t;
	cu_class cls;
	cu_time tm;
	cu_decision dec;
	cu_policy_state st;
	struct fstate fs;
	uint32_t item;
	int error;

	cu_decision_init(&dec);
	if ((error = arc_ingest_txn(in, &t, &now)) < 0)
		return error;
	if (cu_fund_validate(&txn, raw) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if ((key = cu_fund_key(txn)) == NULL ||
	    (error = cu_canon_digest(tdig_hex, txn)) < 0 || (error = cu_unhex(tdig, 32, tdig_hex)) < 0)
		goto done;
	error = cu_index_get_rkey(t, key, have_id, have_digest);
	if (error == 0) {
		char *have_ref = arc_ref_of(t, have_id);
		cu_hex(id_hex, have_id, 32);
		if (memcmp(have_digest, tdig, 32) == 0) {
			error = arc_ingest_outcome(in, CU_INGEST_DUPLICATE, source,
				have_ref ? have_ref : "?", id_hex, NULL);
		} else {
			reason = cu_asprintf("conflict: fund transaction %s is already archived as %s "
				"with different content", key, have_ref ? have_ref : id_hex);
			error = arc_ingest_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL,
				reason ? reason : "conflict");
		}
		free(have_ref);
		goto done;
	} else if (error != CU_ENOTFOUND) {
		goto done;
	}
	cu_error_clear();
	if (a->policy == NULL) {
		reason = strdup("no fund-control policy is installed in this archive "
			"(custos policy install DIR)");
		goto reject;
	}
	if (cu_conf_classify(&cls, a->conf, "fund_txn", arc_jstr(txn, "kind"), NULL) < 0) {
		reason = strdup(cu_error_last());
		goto reject;
	}
	if ((error = cu_time_parse(&tm, arc_jstr(txn, "posted_at"))) < 0)
		goto done;
	/* judge it against the state as it stands, this batch's earlier
	 * transactions included (they live in the same write transaction) */
	fs.a = a;
	fs.t = t;
	state_iface(&st, &fs);
	if ((error = cu_policy_eval(a->policy, txn, &st, &dec)) < 0 ||
	    (error = cu_decision_json(&dj, &dec)) < 0)
		goto done;
	if ((error = cu_pathf(class_key, sizeof(class_key), "%s-%s\xc2\xb7%04d-%s-%s", a->fonds,
			cls.category, tm.year, cls.retention, cls.class_)) < 0 ||
	    (error = cu_index_next_item(&item, t, class_key)) < 0 ||
	    (error = cu_pathf(ref, sizeof(ref), "%s-%06u", class_key, item)) < 0)
		goto done;
	if ((error = arc_ingest_store(in, digest, content, content_len)) < 0)
		goto done;
	cu_hex(cdig_hex, digest, 32);
	snprintf(cdig, sizeof(cdig), "sha256:%s", cdig_hex);
	doc = json_pack("{s:i, s:s, s:s, s:O, s:{s:s, s:I}, s:s, s:s, s:{s:s, s:I}}",
		"version", 1, "kind", "fund_txn", "ref", ref, "fund_txn", txn,
		"content", "digest", cdig, "size", (json_int_t)content_len,
		"source", source, "archived_at", now,
		"archived_by", "user", a->user, "uid", (json_int_t)a->uid);
	if (doc == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the record");
		goto done;
	}
	if ((error = arc_ingest_record_held(in, doc, source, id_hex)) < 0)
		goto done;
	ev = json_pack("{s:i, s:s, s:s, s:{s:s, s:I}, s:[{s:s, s:s}], s:O}",
		"version", 1, "kind", "decision", "at", now,
		"by", "user", a->user, "uid", (json_int_t)a->uid,
		"records", "id", id_hex, "ref", ref, "decision", dj);
	if (ev == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory building the decision");
		goto done;
	}
	if ((error = arc_ingest_event(in, ev, ev_hex)) < 0 ||
	    (error = arc_fund_state_apply(a, t, doc, ev, 1)) < 0)
		goto done;
	verdict_line(line, sizeof(line), &dec);
	if ((error = arc_ingest_set_decision(in, line, dec.verdict == CU_VERDICT_DENY)) < 0)
		goto done;
	error = arc_ingest_maybe_flush(in);
	goto done;
reject:
	error = arc_ingest_outcome(in, CU_INGEST_REJECTED, source, NULL, NULL,
		reason ? reason : "rejected");
done:
	cu_decision_free(&dec);
	free(reason);
	free(key);
	json_decref(txn);
	json_decref(doc);
	json_decref(ev);
	json_decref(dj);
	return error;
}

int
cu_archive_fund_close(cu_archive *a, int period, cu_decision *out)
{
	const cu_policy *p;
	cu_policy_state st;
	struct fstate fs;
	cu_index_txn *t = NULL;
	int error;

	if ((error = cu_archive_policy(&p, a)) < 0 ||
	    (error = cu_index_begin(&t, a->ix, 0)) < 0)
		return error;
	fs.a = a;
	fs.t = t;
	state_iface(&st, &fs);
	error = cu_policy_close(p, period, &st, out);
	cu_index_abort(t);
	return error;
}

int
cu_archive_fund_close_record(cu_archive *a, int period, cu_decision *out, char event_id[65])
{
	const cu_policy *p;
	cu_policy_state st;
	struct fstate fs;
	cu_index_txn *t = NULL;
	json_t *ev = NULL, *dj = NULL;
	char now[32], month[8], subject[160];
	int error;

	event_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "a period close needs the archive opened for writing");
	if ((error = cu_archive_policy(&p, a)) < 0 ||
	    (error = cu_index_begin(&t, a->ix, 1)) < 0)
		return error;
	fs.a = a;
	fs.t = t;
	state_iface(&st, &fs);
	if ((error = cu_policy_close(p, period, &st, out)) < 0 ||
	    (error = cu_decision_json(&dj, out)) < 0)
		goto done;
	cu_now_rfc3339(now);
	cu_month_format(month, period);
	if ((ev = arc_new_event(a, "period_close", "close", now)) == NULL ||
	    json_object_set_new(ev, "period", json_string(month)) < 0 ||
	    json_object_set(ev, "policy", json_object_get(dj, "policy")) < 0 ||
	    json_object_set(ev, "findings", json_object_get(dj, "findings")) < 0) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	snprintf(subject, sizeof(subject), "period close: %s, %zu finding%s", month, out->n,
		out->n == 1 ? "" : "s");
	error = arc_commit_event(a, t, ev, subject, event_id);
	t = NULL;
done:
	if (t != NULL)
		cu_index_abort(t);
	if (error < 0)
		event_id[0] = '\0';
	json_decref(ev);
	json_decref(dj);
	return error;
}
