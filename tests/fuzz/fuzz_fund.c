/*
 * fuzz_fund.c — libFuzzer target for fund transactions and the policy
 * files: every input is read both ways.
 *
 *   - as transactions: split into items, parse, cu_fund_validate; every
 *     valid one is judged by the shipped policy with the in-memory state
 *     and recorded as its verdict says, so an input is a sequence;
 *   - as a policy file: cu_policy_check_text, and a rules file that passes
 *     is parsed with the shipped staff and its digest computed.
 *
 * Properties checked (an abort() is a finding):
 *   - a valid transaction's normalised form is valid again (with
 *     amount_fen and base_fen turned back into strings) and unchanged;
 *   - its view succeeds and evaluation succeeds with a full state;
 *   - no decision message holds the transaction's ID number, and no
 *     rejection of person.* repeats the number given;
 *   - a rules file that passes the check gives a policy whose digest is
 *     the digest of its canonical form.
 *
 * Build with `make fuzz`; tests/fuzz/replay.c runs the corpus
 * (tests/fuzz/corpus/fund) in make check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/policy.h"
#include "custos/pstate.h"
#include "custos/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cu_policy *policy;

/* The shipped policy, parsed once. */
static cu_policy *
shipped(void)
{
	const char *r = cu_policy_default_rules(), *s = cu_policy_default_staff();

	if (policy == NULL &&
	    cu_policy_parse(&policy, r, strlen(r), "fund-control.conf", s, strlen(s), "staff.conf") < 0)
		abort();
	return policy;
}

/* Turns a member name_fen back into a decimal string under name. */
static void
unfen(json_t *o, const char *fen_key, const char *key)
{
	json_t *v = json_object_get(o, fen_key);
	char buf[24];

	if (v == NULL)
		return;
	cu_money_format(buf, sizeof(buf), json_integer_value(v));
	json_object_set_new(o, key, json_string(buf));
	json_object_del(o, fen_key);
}

/* The normalised form validates again to itself. */
static void
check_revalidate(const json_t *norm)
{
	json_t *in = json_deep_copy(norm), *out = NULL;
	char *a = NULL, *b = NULL;
	size_t alen, blen;

	if (in == NULL)
		abort();
	unfen(in, "amount_fen", "amount");
	unfen(in, "base_fen", "base");
	if (cu_fund_validate(&out, in) != 0)
		abort();
	if (cu_canon(&a, &alen, norm) != 0 || cu_canon(&b, &blen, out) != 0 ||
	    alen != blen || memcmp(a, b, alen) != 0)
		abort();
	free(a);
	free(b);
	json_decref(out);
	json_decref(in);
}

/* One item: validate, judge, record. */
static void
run_item(cu_pstate *ps, const cu_policy_state *st, cu_decision *d, const char *buf, size_t len)
{
	json_t *item = NULL, *norm = NULL;
	cu_fund_txn t;
	char *key;

	if (cu_item_parse(&item, buf, len) < 0)
		return;
	if (cu_fund_validate(&norm, item) == 0) {
		if ((key = cu_fund_key(norm)) == NULL)
			abort();
		free(key);
		check_revalidate(norm);
		if (cu_fund_view(&t, norm) != 0 || cu_policy_eval(shipped(), norm, st, d) != 0)
			abort();
		for (size_t i = 0; i < d->n; i++)
			if (t.person_id != NULL && strstr(d->findings[i].message, t.person_id) != NULL)
				abort();
		if (cu_pstate_apply(ps, &t, d->verdict) != 0)
			abort();
	} else {
		const char *id = json_string_value(json_object_get(json_object_get(item, "person"),
			"id_no"));

		/* a rejection of the person never repeats the number given */
		if (id != NULL && strlen(id) == 18 && strncmp(cu_error_last(), "person.", 7) == 0 &&
		    strstr(cu_error_last(), id) != NULL)
			abort();
	}
	json_decref(norm);
	json_decref(item);
}

/* The input as a policy file. */
static void
run_policy(const char *text, size_t len)
{
	const char *kind = NULL, *s = cu_policy_default_staff();
	cu_policy *p = NULL;
	json_t *canon = NULL;
	char digest[65];

	if (cu_policy_check_text(text, len, "fuzz.conf", &kind) != 0 || strcmp(kind, "rules") != 0)
		return;
	if (cu_policy_parse(&p, text, len, "fuzz.conf", s, strlen(s), "staff.conf") != 0 ||
	    cu_policy_json(&canon, p) != 0 || cu_canon_digest(digest, canon) != 0 ||
	    strcmp(digest, cu_policy_digest(p)) != 0)
		abort();
	json_decref(canon);
	cu_policy_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cu_span *spans = NULL;
	cu_pstate *ps = NULL;
	cu_policy_state st;
	cu_decision d;
	size_t n = 0;

	run_policy((const char *)data, size);
	if (cu_input_split(&spans, &n, (const char *)data, size) < 0)
		return 0;
	if (cu_pstate_new(&ps) != 0)
		abort();
	cu_pstate_iface(&st, ps);
	cu_decision_init(&d);
	for (size_t i = 0; i < n; i++)
		run_item(ps, &st, &d, (const char *)data + spans[i].off, spans[i].len);
	cu_decision_free(&d);
	cu_pstate_free(ps);
	free(spans);
	return 0;
}
