/*
 * pstate.c — the policy state in memory (see custos/pstate.h).
 *
 * Three tables behind one small string-keyed hash map each: persons (a
 * list of facts per ID number), maker-days (totals per kind, fund and
 * scheme) and accounts (net movement per period).  Iteration follows
 * insertion order, so every answer, and the order of period-close
 * findings, is a function of the sequence of transactions recorded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/error.h"
#include "custos/fund.h"
#include "custos/policy.h"
#include "custos/pstate.h"
#include "custos/record.h"
#include "custos/util.h"

/* ---- a string-keyed map to array indexes ---------------------------------- */

struct map {
	char **keys;      /* cap slots, NULL when empty */
	size_t *vals;
	size_t cap, n;
};

/* FNV-1a, 64 bits. */
static uint64_t
hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
map_slot(const struct map *m, const char *key)
{
	size_t i = (size_t)hash(key) & (m->cap - 1);

	while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* 1 and *val when key is present, else 0. */
static int
map_get(const struct map *m, const char *key, size_t *val)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	i = map_slot(m, key);
	if (m->keys[i] == NULL)
		return 0;
	*val = m->vals[i];
	return 1;
}

/* Doubles the table (from 64 slots), keeping it under 70 % full. */
static int
map_grow(struct map *m)
{
	struct map bigger = { NULL, NULL, m->cap ? m->cap * 2 : 64, 0 };

	if ((bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys))) == NULL ||
	    (bigger.vals = calloc(bigger.cap, sizeof(*bigger.vals))) == NULL) {
		free(bigger.keys);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] != NULL) {
			size_t j = map_slot(&bigger, m->keys[i]);

			bigger.keys[j] = m->keys[i];
			bigger.vals[j] = m->vals[i];
			bigger.n++;
		}
	}
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

/* Adds key (copied) with val; key must not be present. */
static int
map_put(struct map *m, const char *key, size_t val)
{
	size_t i;
	int error;

	if ((m->n + 1) * 10 > m->cap * 7 && (error = map_grow(m)) < 0)
		return error;
	i = map_slot(m, key);
	if ((m->keys[i] = strdup(key)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	m->vals[i] = val;
	m->n++;
	return 0;
}

static void
map_free(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}

/* ---- the tables ---------------------------------------------------------- */

enum { FACT_DEATH, FACT_QUALIFICATION, FACT_ACCOUNT_CHANGE, FACT_BENEFIT };

struct fact {
	int type;
	int fund, scheme;     /* FACT_BENEFIT */
	int64_t value;        /* death: month; qualification, account change: day; benefit: period */
};

struct person {
	struct fact *facts;
	size_t n, cap;
};

struct maker_day {
	int64_t total[CU_KIND_COUNT][CU_FUND_COUNT][CU_SCHEME_COUNT];
};

struct movement {
	int period;
	int64_t fen;
};

struct account {
	char *no;
	int cls, fund;
	struct movement *mv;
	size_t n, cap;
};

struct cu_pstate {
	struct map person_ix, maker_ix, account_ix;
	struct person *persons;
	size_t npersons, cap_persons;
	struct maker_day *makers;
	size_t nmakers, cap_makers;
	struct account *accounts;
	size_t naccounts, cap_accounts;
};

int
cu_pstate_new(cu_pstate **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

void
cu_pstate_free(cu_pstate *s)
{
	if (s == NULL)
		return;
	map_free(&s->person_ix);
	map_free(&s->maker_ix);
	map_free(&s->account_ix);
	for (size_t i = 0; i < s->npersons; i++)
		free(s->persons[i].facts);
	free(s->persons);
	free(s->makers);
	for (size_t i = 0; i < s->naccounts; i++) {
		free(s->accounts[i].no);
		free(s->accounts[i].mv);
	}
	free(s->accounts);
	free(s);
}

/* a + b, held at the int64 limits instead of overflowing. */
static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* The person with this ID number: NULL when absent and create is 0. */
static int
person_of(struct person **out, cu_pstate *s, const char *id_no, int create)
{
	size_t i;
	int error;

	*out = NULL;
	if (map_get(&s->person_ix, id_no, &i)) {
		*out = &s->persons[i];
		return 0;
	}
	if (!create)
		return 0;
	if ((error = cu_grow(&s->persons, &s->cap_persons, s->npersons + 1,
	    sizeof(*s->persons))) < 0 ||
	    (error = map_put(&s->person_ix, id_no, s->npersons)) < 0)
		return error;
	*out = &s->persons[s->npersons++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* The maker-day entry: key "<day> <maker>" (a maker code holds no space). */
static int
maker_day_of(struct maker_day **out, cu_pstate *s, const char *maker, int64_t day,
	int create)
{
	char key[128];
	size_t i;
	int error;

	*out = NULL;
	snprintf(key, sizeof(key), "%lld %s", (long long)day, maker);
	if (map_get(&s->maker_ix, key, &i)) {
		*out = &s->makers[i];
		return 0;
	}
	if (!create)
		return 0;
	if ((error = cu_grow(&s->makers, &s->cap_makers, s->nmakers + 1,
	    sizeof(*s->makers))) < 0 ||
	    (error = map_put(&s->maker_ix, key, s->nmakers)) < 0)
		return error;
	*out = &s->makers[s->nmakers++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* The account (class, fund, number), created when new. */
static int
account_of(struct account **out, cu_pstate *s, const cu_fund_account *a)
{
	char key[128];
	size_t i;
	int error;

	snprintf(key, sizeof(key), "%d %d %s", a->cls, a->fund, a->no);
	if (map_get(&s->account_ix, key, &i)) {
		*out = &s->accounts[i];
		return 0;
	}
	if ((error = cu_grow(&s->accounts, &s->cap_accounts, s->naccounts + 1,
	    sizeof(*s->accounts))) < 0)
		return error;
	*out = &s->accounts[s->naccounts];
	memset(*out, 0, sizeof(**out));
	if (((*out)->no = strdup(a->no)) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = map_put(&s->account_ix, key, s->naccounts)) < 0) {
		free((*out)->no);
		return error;
	}
	(*out)->cls = a->cls;
	(*out)->fund = a->fund;
	s->naccounts++;
	return 0;
}

/* Adds fen to an account's movement in period. */
static int
move(cu_pstate *s, const cu_fund_account *a, int period, int64_t fen)
{
	struct account *acc;
	int error;

	if ((error = account_of(&acc, s, a)) < 0)
		return error;
	for (size_t i = acc->n; i > 0; i--)
		if (acc->mv[i - 1].period == period) {
			acc->mv[i - 1].fen = add_sat(acc->mv[i - 1].fen, fen);
			return 0;
		}
	if ((error = cu_grow(&acc->mv, &acc->cap, acc->n + 1, sizeof(*acc->mv))) < 0)
		return error;
	acc->mv[acc->n++] = (struct movement){ period, fen };
	return 0;
}

/* The person fact a transaction establishes: 1 and *f, or 0 for none. */
static int
fact_of(struct fact *f, const cu_fund_txn *t)
{
	int y, m, d;

	memset(f, 0, sizeof(*f));
	if (t->person_id == NULL)
		return 0;
	switch (t->kind) {
	case CU_KIND_DEATH_REPORT:
		if (!t->has_event)
			return 0;
		cu_civil_from_days(t->event_day, &y, &m, &d);
		f->type = FACT_DEATH;
		f->value = (int64_t)y * 12 + m - 1;
		return 1;
	case CU_KIND_QUALIFICATION:
	case CU_KIND_ACCOUNT_CHANGE:
		if (!t->has_event)
			return 0;
		f->type = t->kind == CU_KIND_QUALIFICATION ? FACT_QUALIFICATION : FACT_ACCOUNT_CHANGE;
		f->value = t->event_day;
		return 1;
	case CU_KIND_BENEFIT_PAYMENT:
		if (!t->has_period)
			return 0;
		f->type = FACT_BENEFIT;
		f->fund = t->fund;
		f->scheme = t->scheme;
		f->value = t->period;
		return 1;
	default:
		return 0;
	}
}

static int
same_fact(const struct fact *a, const struct fact *b)
{
	return a->type == b->type && a->fund == b->fund && a->scheme == b->scheme &&
	       a->value == b->value;
}

/* Checks the codes of a view, so that a bad one cannot index the tables. */
static int
check_view(const cu_fund_txn *t)
{
	if (t->kind < 0 || t->kind >= CU_KIND_COUNT || t->fund < 0 || t->fund >= CU_FUND_COUNT ||
	    t->scheme < 0 || t->scheme >= CU_SCHEME_COUNT || t->maker == NULL)
		return cu_error_set(CU_EINVALID, "fund_txn: not a view of a validated transaction");
	return 0;
}

int
cu_pstate_record(cu_pstate *s, const cu_fund_txn *t)
{
	struct person *p;
	struct maker_day *md;
	struct fact f;
	int error;

	if ((error = check_view(t)) < 0)
		return error;
	if (fact_of(&f, t)) {
		if ((error = person_of(&p, s, t->person_id, 1)) < 0 ||
		    (error = cu_grow(&p->facts, &p->cap, p->n + 1, sizeof(*p->facts))) < 0)
			return error;
		p->facts[p->n++] = f;
	}
	if (cu_fund_kind_moves_money(t->kind)) {
		int64_t *tot;

		if ((error = maker_day_of(&md, s, t->maker, t->posted_day, 1)) < 0)
			return error;
		tot = &md->total[t->kind][t->fund][t->scheme];
		*tot = add_sat(*tot, t->amount_fen);
	}
	return 0;
}

int
cu_pstate_withdraw(cu_pstate *s, const cu_fund_txn *t)
{
	struct person *p = NULL;
	struct maker_day *md = NULL;
	struct fact f;
	int error, has_fact;
	size_t i = 0;

	if ((error = check_view(t)) < 0)
		return error;
	/* find everything first, so that a failure changes nothing */
	if ((has_fact = fact_of(&f, t))) {
		if ((error = person_of(&p, s, t->person_id, 0)) < 0)
			return error;
		for (i = p ? p->n : 0; i > 0 && !same_fact(&p->facts[i - 1], &f); i--)
			;
		if (i == 0)
			return cu_error_set(CU_ENOTFOUND, "transaction %s: its fact is not recorded",
				t->txn_no ? t->txn_no : "?");
	}
	if (cu_fund_kind_moves_money(t->kind)) {
		if ((error = maker_day_of(&md, s, t->maker, t->posted_day, 0)) < 0)
			return error;
		if (md == NULL || md->total[t->kind][t->fund][t->scheme] < t->amount_fen)
			return cu_error_set(CU_ENOTFOUND, "transaction %s: its amount is not recorded",
				t->txn_no ? t->txn_no : "?");
		md->total[t->kind][t->fund][t->scheme] -= t->amount_fen;
	}
	if (has_fact) {
		memmove(&p->facts[i - 1], &p->facts[i], (p->n - i) * sizeof(*p->facts));
		p->n--;
	}
	return 0;
}

int
cu_pstate_post(cu_pstate *s, const cu_fund_txn *t)
{
	int error;

	if ((error = check_view(t)) < 0)
		return error;
	if (!cu_fund_kind_moves_money(t->kind))
		return 0;
	if (!t->has_period)
		return cu_error_set(CU_EINVALID, "fund_txn: a money transaction without a period");
	if (t->from.present && (error = move(s, &t->from, t->period, -t->amount_fen)) < 0)
		return error;
	if (t->to.present && (error = move(s, &t->to, t->period, t->amount_fen)) < 0)
		return error;
	return 0;
}

int
cu_pstate_apply(cu_pstate *s, const cu_fund_txn *t, int verdict)
{
	int error;

	if (verdict == CU_VERDICT_DENY)
		return 0;
	if ((error = cu_pstate_record(s, t)) < 0)
		return error;
	return verdict == CU_VERDICT_ALLOW ? cu_pstate_post(s, t) : 0;
}

/* ---- the callbacks ---------------------------------------------------- */

static int
st_death_month(void *payload, const char *id_no, int *found, int *month)
{
	struct person *p;
	int error;

	*found = 0;
	if ((error = person_of(&p, payload, id_no, 0)) < 0 || p == NULL)
		return error;
	for (size_t i = 0; i < p->n; i++)
		if (p->facts[i].type == FACT_DEATH && (!*found || p->facts[i].value < *month)) {
			*month = (int)p->facts[i].value;
			*found = 1;
		}
	return 0;
}

/* The latest day of a fact type not after until. */
static int
latest(void *payload, const char *id_no, int type, int64_t until, int *found, int64_t *day)
{
	struct person *p;
	int error;

	*found = 0;
	if ((error = person_of(&p, payload, id_no, 0)) < 0 || p == NULL)
		return error;
	for (size_t i = 0; i < p->n; i++)
		if (p->facts[i].type == type && p->facts[i].value <= until &&
		    (!*found || p->facts[i].value > *day)) {
			*day = p->facts[i].value;
			*found = 1;
		}
	return 0;
}

static int
st_last_qualification(void *payload, const char *id_no, int *found, int64_t *day)
{
	return latest(payload, id_no, FACT_QUALIFICATION, INT64_MAX, found, day);
}

static int
st_last_account_change(void *payload, const char *id_no, int64_t until, int *found,
	int64_t *day)
{
	return latest(payload, id_no, FACT_ACCOUNT_CHANGE, until, found, day);
}

static int
st_benefit_count(void *payload, const char *id_no, int fund, int scheme, int period,
	uint64_t *count)
{
	struct person *p;
	int error;

	*count = 0;
	if ((error = person_of(&p, payload, id_no, 0)) < 0 || p == NULL)
		return error;
	for (size_t i = 0; i < p->n; i++)
		if (p->facts[i].type == FACT_BENEFIT && p->facts[i].fund == fund &&
		    p->facts[i].scheme == scheme && p->facts[i].value == period)
			(*count)++;
	return 0;
}

static int
st_maker_day_total(void *payload, const char *maker, int64_t day,
	const cu_policy_scope *scope, int64_t *fen)
{
	struct maker_day *md;
	int error;

	*fen = 0;
	if ((error = maker_day_of(&md, payload, maker, day, 0)) < 0 || md == NULL)
		return error;
	for (int k = 0; k < CU_KIND_COUNT; k++)
		for (int f = 0; f < CU_FUND_COUNT; f++)
			for (int sc = 0; sc < CU_SCHEME_COUNT; sc++)
				if (cu_policy_scope_match(scope, k, f, sc))
					*fen = add_sat(*fen, md->total[k][f][sc]);
	return 0;
}

static int
st_each_balance(void *payload, int period, cu_policy_balance_fn fn, void *arg)
{
	cu_pstate *s = payload;
	int error;

	for (size_t i = 0; i < s->naccounts; i++) {
		const struct account *a = &s->accounts[i];
		cu_policy_balance b = { a->no, a->cls, a->fund, 0 };

		for (size_t j = 0; j < a->n; j++)
			if (a->mv[j].period <= period)
				b.balance_fen = add_sat(b.balance_fen, a->mv[j].fen);
		if ((error = fn(arg, &b)) < 0)
			return error;
	}
	return 0;
}

void
cu_pstate_iface(cu_policy_state *out, cu_pstate *s)
{
	memset(out, 0, sizeof(*out));
	out->payload = s;
	out->death_month = st_death_month;
	out->last_qualification = st_last_qualification;
	out->last_account_change = st_last_account_change;
	out->benefit_count = st_benefit_count;
	out->maker_day_total = st_maker_day_total;
	out->each_balance = st_each_balance;
}
