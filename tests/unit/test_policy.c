/* test_policy.c — the fund-control policy: parsing, digest, every rule
 * over real sequences of transactions with the in-memory state, period
 * close (src/policy.c, src/pstate.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/policy.h"
#include "custos/pstate.h"
#include "custos/record.h"
#include "custos/util.h"

/* Valid resident ID numbers (GB 11643 check characters computed). */
#define P1 "11010519491231002X"
#define P2 "440524188001010014"
#define P3 "110105195001010012"
#define P4 "320102196005151239"
#define P5 "440301195511304565"

static const char *const all_ids[] = { P1, P2, P3, P4, P5, "11010519491231002x" };

static void
expect_ok(int rc)
{
	if (rc != 0)
		fail_msg("expected success, got %d (\"%s\")", rc, cu_error_last());
}

/* No decision or error message may hold an ID number or a birth date. */
static void
assert_no_id(const char *msg)
{
	const char *bad[] = { P1, P2, P3, P4, P5, "11010519491231002x", "19491231", "18800101",
		"19500101", "19600515", "19551130" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (strstr(msg, bad[i]) != NULL)
			fail_msg("message \"%s\" repeats \"%s\"", msg, bad[i]);
}

/* ---- policies ------------------------------------------------------------ */

static cu_policy *
shipped(void)
{
	const char *r = cu_policy_default_rules(), *s = cu_policy_default_staff();
	cu_policy *p = NULL;

	expect_ok(cu_policy_parse(&p, r, strlen(r), "fund-control.conf", s, strlen(s), "staff.conf"));
	return p;
}

/* A policy of the given rules text and the shipped staff. */
static cu_policy *
with_rules(const char *rules)
{
	const char *s = cu_policy_default_staff();
	cu_policy *p = NULL;

	expect_ok(cu_policy_parse(&p, rules, strlen(rules), "r.conf", s, strlen(s), "staff.conf"));
	return p;
}

/* Expects the rules text (with the shipped staff) to be refused with
 * exactly msg. */
static void
bad_rules(const char *rules, const char *msg)
{
	const char *s = cu_policy_default_staff();
	cu_policy *p = (cu_policy *)1;
	int rc = cu_policy_parse(&p, rules, strlen(rules), "r.conf", s, strlen(s), "staff.conf");

	if (rc != CU_EINVALID)
		fail_msg("expected \"%s\", got %d (\"%s\")", msg, rc, cu_error_last());
	assert_null(p);
	assert_string_equal(cu_error_last(), msg);
}

/* Expects the staff text (with the shipped rules) to be refused with
 * exactly msg. */
static void
bad_staff(const char *staff, const char *msg)
{
	const char *r = cu_policy_default_rules();
	cu_policy *p = (cu_policy *)1;
	int rc = cu_policy_parse(&p, r, strlen(r), "fund-control.conf", staff, strlen(staff), "s.conf");

	if (rc != CU_EINVALID)
		fail_msg("expected \"%s\", got %d (\"%s\")", msg, rc, cu_error_last());
	assert_null(p);
	assert_string_equal(cu_error_last(), msg);
}

/* ---- transactions ---------------------------------------------------------- */

/* The fields of a test transaction; NULL takes the kind's default, "-"
 * leaves the field out. */
struct tx {
	int kind;
	const char *fund, *scheme, *amount, *period, *posted;
	const char *from_class, *from_no, *from_fund;
	const char *to_class, *to_no, *to_fund;
	const char *person, *base, *event, *maker, *reviewer, *approver;
};

#define TX(...) make_txn((struct tx){ __VA_ARGS__ })
#define CONTRIB  .kind = CU_KIND_CONTRIBUTION
#define BENEFIT  .kind = CU_KIND_BENEFIT_PAYMENT
#define REFUND   .kind = CU_KIND_REFUND
#define TRANSFER .kind = CU_KIND_TRANSFER
#define INTEREST .kind = CU_KIND_INTEREST
#define ACCOUNT  .kind = CU_KIND_ACCOUNT_CHANGE
#define QUALIFY  .kind = CU_KIND_QUALIFICATION
#define DEATH    .kind = CU_KIND_DEATH_REPORT

static int txn_counter;

/* v unless it is NULL (then def); "-" gives NULL (left out). */
static const char *
pick(const char *v, const char *def)
{
	if (v == NULL)
		v = def;
	return v != NULL && strcmp(v, "-") == 0 ? NULL : v;
}

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

static void
set_account(json_t *o, const char *key, const char *cls, const char *no, const char *fund)
{
	json_t *a;

	if (cls == NULL)
		return;
	a = json_object();
	set_str(a, "class", cls);
	set_str(a, "no", no);
	set_str(a, "fund", fund);
	json_object_set_new(o, key, a);
}

/* Builds, validates (it must be valid) and returns a transaction. */
static json_t *
make_txn(struct tx t)
{
	static const char *const from_class[] = { "payer", "expenditure", "income", "income", NULL };
	static const char *const to_class[] = { "income", "beneficiary", "payer", "fiscal", "fiscal" };
	static const char *const from_no[] = { "PAY-0001", "EXP-P", "INC-P", "INC-P", NULL };
	static const char *const to_no[] = { "INC-P", "BEN-0001", "PAY-0001", "FIS-P", "FIS-P" };
	int money = cu_fund_kind_moves_money(t.kind);
	json_t *o = json_object(), *out = NULL;
	const char *person;
	char no[32];

	snprintf(no, sizeof(no), "T-%06d", ++txn_counter);
	set_str(o, "type", "fund_txn");
	set_str(o, "txn_no", no);
	set_str(o, "kind", cu_fund_kinds[t.kind]);
	set_str(o, "fund", pick(t.fund, "pension"));
	set_str(o, "scheme", pick(t.scheme, "employee"));
	set_str(o, "amount", pick(t.amount, money ? "3250.00" : "-"));
	set_str(o, "period", pick(t.period, money ? "2026-11" : "-"));
	set_str(o, "posted_at", pick(t.posted, "2026-11-20T10:00:00+08:00"));
	if (money) {
		set_account(o, "from_account", pick(t.from_class, from_class[t.kind]),
			pick(t.from_no, from_no[t.kind] ? from_no[t.kind] : "X-1"), pick(t.from_fund, "-"));
		set_account(o, "to_account", pick(t.to_class, to_class[t.kind]),
			pick(t.to_no, to_no[t.kind]), pick(t.to_fund, "-"));
	}
	person = pick(t.person, t.kind == CU_KIND_TRANSFER || t.kind == CU_KIND_INTEREST ? "-" : P1);
	if (person != NULL && t.kind != CU_KIND_TRANSFER && t.kind != CU_KIND_INTEREST)
		json_object_set_new(o, "person", json_pack("{s:s,s:s}", "id_no", person,
			"name", "\xe5\xbc\xa0\xe4\xb8\x89"));
	if (t.kind == CU_KIND_REFUND && person == NULL)
		json_object_set_new(o, "org", json_pack("{s:s,s:s}", "uscc", "91350100M000100Y43",
			"name", "Example Co."));
	set_str(o, "base", pick(t.base, t.kind == CU_KIND_CONTRIBUTION ? "8000.00" : "-"));
	set_str(o, "event_date", pick(t.event, money ? "-" : "2026-10-03"));
	set_str(o, "maker", pick(t.maker, "op-017"));
	set_str(o, "reviewer", pick(t.reviewer, "op-020"));
	set_str(o, "approver", pick(t.approver, "op-031"));
	if (cu_fund_validate(&out, o) < 0)
		fail_msg("test transaction %s is invalid: %s", no, cu_error_last());
	json_decref(o);
	return out;
}

/* ---- a world: a policy, its state, the last decision ----------------------- */

struct world {
	cu_policy *p;
	cu_pstate *s;
	cu_policy_state st;
	cu_decision d;
};

static void
world_init(struct world *w, cu_policy *p)
{
	w->p = p;
	expect_ok(cu_pstate_new(&w->s));
	cu_pstate_iface(&w->st, w->s);
	cu_decision_init(&w->d);
}

static void
world_free(struct world *w)
{
	cu_decision_free(&w->d);
	cu_pstate_free(w->s);
	cu_policy_free(w->p);
}

/* Evaluates txn (consumed) and, when record is set, records it in the
 * state as its verdict says.  Returns the verdict; w->d holds the
 * decision. */
static int
eval_txn(struct world *w, json_t *txn, int record)
{
	cu_fund_txn t;

	expect_ok(cu_policy_eval(w->p, txn, &w->st, &w->d));
	assert_string_equal(w->d.policy, cu_policy_digest(w->p));
	for (size_t i = 0; i < w->d.n; i++) {
		assert_no_id(w->d.findings[i].message);
		assert_true(strlen(w->d.findings[i].message) > 0);
	}
	if (record) {
		expect_ok(cu_fund_view(&t, txn));
		expect_ok(cu_pstate_apply(w->s, &t, w->d.verdict));
	}
	json_decref(txn);
	return w->d.verdict;
}

/* Judges and records. */
static int
judge(struct world *w, json_t *txn)
{
	return eval_txn(w, txn, 1);
}

/* Judges without recording. */
static int
peek(struct world *w, json_t *txn)
{
	return eval_txn(w, txn, 0);
}

/* The finding of rule id in the last decision, or NULL. */
static const cu_policy_finding *
fired(const struct world *w, const char *id)
{
	for (size_t i = 0; i < w->d.n; i++)
		if (strcmp(w->d.findings[i].rule, id) == 0)
			return &w->d.findings[i];
	return NULL;
}

/* Asserts that rule id fired with exactly msg. */
static void
expect_fired(const struct world *w, const char *id, const char *msg)
{
	const cu_policy_finding *f = fired(w, id);

	if (f == NULL) {
		fprintf(stderr, "decision %s:\n", cu_policy_verdicts[w->d.verdict]);
		for (size_t i = 0; i < w->d.n; i++)
			fprintf(stderr, "  %s: %s\n", w->d.findings[i].rule, w->d.findings[i].message);
		fail_msg("%s did not fire", id);
	}
	if (msg != NULL)
		assert_string_equal(f->message, msg);
}

static void
expect_quiet(const struct world *w, const char *id)
{
	const cu_policy_finding *f = fired(w, id);

	if (f != NULL)
		fail_msg("%s fired: %s", id, f->message);
}

/* ---- parsing ----------------------------------------------------------------- */

static void
test_shipped_policy(void **state)
{
	const char *ids[] = { "SOD-1", "AUTH-1", "DUP-1", "DUP-2", "DEATH-1", "QUAL-1", "ACCT-1",
		"FLOW-1", "FUND-1", "BASE-1", "TIME-1", "VEL-1", "CLOSE-1" };
	const int chk[] = { CU_CHECK_SEPARATION, CU_CHECK_AUTHORITY, CU_CHECK_DUPLICATE_BENEFIT,
		CU_CHECK_DUAL_SCHEME, CU_CHECK_AFTER_DEATH, CU_CHECK_QUALIFICATION,
		CU_CHECK_ACCOUNT_CHANGE, CU_CHECK_FLOW, CU_CHECK_FUND, CU_CHECK_BASE, CU_CHECK_HOURS,
		CU_CHECK_VELOCITY, CU_CHECK_CLOSE };
	const int sev[] = { CU_SEV_DENY, CU_SEV_DENY, CU_SEV_DENY, CU_SEV_REVIEW, CU_SEV_DENY,
		CU_SEV_REVIEW, CU_SEV_REVIEW, CU_SEV_DENY, CU_SEV_DENY, CU_SEV_REVIEW, CU_SEV_NOTE,
		CU_SEV_REVIEW, CU_SEV_FINDING };
	cu_policy *p = shipped();
	cu_policy_rule_info info;
	const cu_staff_member *m;
	json_t *canon = NULL;
	char digest[65];
	int posts[CU_POST_COUNT] = { 0 }, auths[CU_AUTH_COUNT] = { 0 };

	(void)state;
	assert_int_equal(cu_policy_rule_count(p), 13);
	for (size_t i = 0; i < 13; i++) {
		expect_ok(cu_policy_rule(&info, p, i));
		assert_string_equal(info.id, ids[i]);
		assert_int_equal(info.check, chk[i]);
		assert_int_equal(info.severity, sev[i]);
		assert_true(info.line > 0);
		assert_true(strlen(info.title) > 0);
	}
	assert_int_equal(cu_policy_rule(&info, p, 13), CU_ENOTFOUND);
	expect_ok(cu_policy_rule(&info, p, 3));
	assert_int_equal(info.scope.kinds, 1u << CU_KIND_BENEFIT_PAYMENT);
	assert_int_equal(info.scope.funds, 1u << CU_FUND_PENSION);
	assert_int_equal(info.scope.schemes, 0);

	m = cu_policy_staff(p, "op-017");
	assert_non_null(m);
	assert_string_equal(m->name, "\xe7\x8e\x8b\xe8\x8a\xb3");   /* 王芳 */
	assert_int_equal(m->post, CU_POST_BUSINESS);
	assert_int_equal(m->authority, CU_AUTH_CLERK);
	m = cu_policy_staff(p, "op-033");
	assert_int_equal(m->post, CU_POST_FINANCE);
	assert_int_equal(m->authority, CU_AUTH_DIRECTOR);
	assert_null(cu_policy_staff(p, "op-999"));
	assert_null(cu_policy_staff(p, NULL));
	/* the shipped staff has several people per post class and authority */
	static const char *const every[] = { "op-011", "op-017", "op-018", "op-020", "op-021",
		"op-031", "op-032", "op-033", "op-034", "op-041", "op-042", "op-051", "op-052", "op-053" };
	for (size_t i = 0; i < sizeof(every) / sizeof(*every); i++) {
		m = cu_policy_staff(p, every[i]);
		assert_non_null(m);
		posts[m->post]++;
		auths[m->authority]++;
	}
	for (int i = 0; i < CU_POST_COUNT; i++)
		assert_true(posts[i] >= 2);
	for (int i = 0; i < CU_AUTH_COUNT; i++)
		assert_true(auths[i] >= 2);

	/* the digest is the SHA-256 of the canonical form */
	assert_int_equal(strlen(cu_policy_digest(p)), 64);
	expect_ok(cu_policy_json(&canon, p));
	expect_ok(cu_canon_digest(digest, canon));
	assert_string_equal(digest, cu_policy_digest(p));
	assert_int_equal(json_array_size(json_object_get(canon, "rules")), 13);
	assert_int_equal(json_array_size(json_object_get(canon, "staff")), 14);
	json_t *auth = json_array_get(json_object_get(canon, "rules"), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(auth, "levels"), 0), "above_fen")), 5000000);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(auth, "levels"), 1), "above_fen")), 50000000);
	json_decref(canon);
	cu_policy_free(p);
}

/* Writes text to dir/name. */
static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	expect_ok(cu_write_file_durable(path, text, strlen(text), 0644, 0));
}

static void
test_load_dir(void **state)
{
	char dir[] = "/tmp/custos-policy-XXXXXX", path[512];
	cu_policy *a = NULL, *b = shipped();

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "fund-control.conf", cu_policy_default_rules());
	assert_int_equal(cu_policy_load(&a, dir), CU_ENOTFOUND);
	assert_null(a);
	assert_non_null(strstr(cu_error_last(), "staff.conf"));
	write_file(dir, "staff.conf", cu_policy_default_staff());
	expect_ok(cu_policy_load(&a, dir));
	assert_string_equal(cu_policy_digest(a), cu_policy_digest(b));
	cu_policy_free(a);
	/* messages name the file by its path */
	write_file(dir, "staff.conf", "staff = (\n { id = \"a\"; name = \"A\"; post = \"boss\"; authority = \"clerk\"; }\n);\n");
	assert_int_equal(cu_policy_load(&a, dir), CU_EINVALID);
	snprintf(path, sizeof(path), "%s/staff.conf:2: a: post: must be one of business, finance, data, audit", dir);
	assert_string_equal(cu_error_last(), path);
	snprintf(path, sizeof(path), "%s/staff.conf", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fund-control.conf", dir);
	unlink(path);
	rmdir(dir);
	cu_policy_free(b);
}

#define RULE_F "{ id = \"F-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; }"

static void
test_rules_errors(void **state)
{
	(void)state;
	/* the file itself */
	bad_rules("rules = (\n " RULE_F ",\n  oops\n);\n", "r.conf:3: syntax error");
	bad_rules("rules = ( " RULE_F " );\ncolour = 3;\n", "r.conf:2: unknown setting colour");
	bad_rules("# nothing\n", "r.conf: rules: missing (rules = ( { id = …; … }, … );)");
	bad_rules("rules = 3;\n", "r.conf:1: rules: must be a list ( { id = …; … }, … )");
	bad_rules("rules = ( " RULE_F " );\n  @include \"/etc/passwd\"\n",
		"r.conf:2: @include is not allowed: a policy is its two files");
	bad_rules("rules = ( 3 );\n", "r.conf:1: rules[0]: each rule must be a group { id = …; check = …; … }");
	/* id, check, title, severity */
	bad_rules("rules = (\n { check = \"fund\"; title = \"t\"; severity = \"deny\"; }\n);",
		"r.conf:2: rules[0]: id: missing");
	bad_rules("rules = ( { id = \"f-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; } );",
		"r.conf:1: rules[0]: id: only A-Z, 0-9 and - are allowed");
	bad_rules("rules = ( { id = \"FUND-0123456789AB\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; } );",
		"r.conf:1: rules[0]: id: must be 1-16 characters");
	bad_rules("rules = ( { id = 7; check = \"fund\"; title = \"t\"; severity = \"deny\"; } );",
		"r.conf:1: rules[0]: id: must be a string");
	bad_rules("rules = (\n " RULE_F ",\n\n " RULE_F "\n);",
		"r.conf:4: F-1: id: already used at line 2");
	bad_rules("rules = ( { id = \"X-1\"; check = \"magic\"; title = \"t\"; severity = \"deny\"; } );",
		"r.conf:1: X-1: check: must be one of separation, authority, duplicate_benefit, "
		"dual_scheme, after_death, qualification, account_change, flow, fund, base, hours, "
		"velocity, close");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; severity = \"deny\"; } );",
		"r.conf:1: X-1: title: missing");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"\"; severity = \"deny\"; } );",
		"r.conf:1: X-1: title: must be 1-200 bytes");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"a\\x01b\"; severity = \"deny\"; } );",
		"r.conf:1: X-1: title: must not contain control characters");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"fatal\"; } );",
		"r.conf:1: X-1: severity: must be one of note, review, deny, finding");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"finding\"; } );",
		"r.conf:1: X-1: severity: must be deny, review or note (finding is for period close)");
	bad_rules("rules = ( { id = \"X-1\"; check = \"close\"; title = \"t\"; severity = \"deny\"; classes = [\"income\"]; } );",
		"r.conf:1: X-1: severity: a period close yields a finding (severity = \"finding\")");
	/* members: unknown, or a parameter of another check */
	bad_rules("rules = (\n { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\";\n   days = 30; }\n);",
		"r.conf:3: X-1: unknown setting days for fund");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; Scope = {}; } );",
		"r.conf:1: X-1: unknown setting Scope for fund");
	/* scope */
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; scope = [\"pension\"]; } );",
		"r.conf:1: X-1: scope: must be a group { kinds = [...]; funds = [...]; schemes = [...]; }");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\";\n scope = { kinds = [ \"refund\", \"bonus\" ]; }; } );",
		"r.conf:2: X-1: scope.kinds: each must be one of contribution, benefit_payment, refund, "
		"transfer, interest, account_change, qualification, death_report");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; scope = { funds = [ \"pension\", \"pension\" ]; }; } );",
		"r.conf:1: X-1: scope.funds: pension listed twice");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; scope = { schemes = \"resident\"; }; } );",
		"r.conf:1: X-1: scope.schemes: must be a list like [\"a\", \"b\"]");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; scope = { insurance = []; }; } );",
		"r.conf:1: X-1: unknown setting insurance for scope");
	bad_rules("rules = ( { id = \"X-1\"; check = \"base\"; title = \"t\"; severity = \"review\";\n"
		" scope = { kinds = [ \"benefit_payment\" ]; };\n"
		" average_wage = \"10000.00\"; min_bp = 6000; max_bp = 30000; } );",
		"r.conf:2: X-1: scope.kinds: check base judges only contribution");
	bad_rules("rules = ( { id = \"X-1\"; check = \"fund\"; title = \"t\"; severity = \"deny\"; scope = { kinds = [ \"death_report\" ]; }; } );",
		"r.conf:1: X-1: scope.kinds: check fund judges only contribution, benefit_payment, "
		"refund, transfer, interest");
	bad_rules("rules = ( { id = \"C-1\"; check = \"close\"; title = \"t\"; severity = \"finding\";\n"
		" scope = { kinds = [ \"contribution\" ]; }; classes = [ \"income\" ]; } );",
		"r.conf:2: C-1: scope: a period close judges account balances; only scope.funds applies");
}

#define AUTH_HEAD "rules = ( { id = \"A-1\"; check = \"authority\"; title = \"t\"; severity = \"deny\";\n"

static void
test_parameter_errors(void **state)
{
	(void)state;
	/* authority */
	bad_rules(AUTH_HEAD "} );", "r.conf:1: A-1: levels: missing");
	bad_rules(AUTH_HEAD " levels = (); } );",
		"r.conf:2: A-1: levels: must be a non-empty list ( { above = \"…\"; authority = \"…\"; }, … )");
	bad_rules(AUTH_HEAD " levels = (\n { above = 50000.00; authority = \"supervisor\"; } ); } );",
		"r.conf:3: A-1: levels[0].above: must be a string like \"50000.00\" "
		"(money is a decimal string, never a number)");
	bad_rules(AUTH_HEAD " levels = (\n { above = 50000; authority = \"supervisor\"; } ); } );",
		"r.conf:3: A-1: levels[0].above: must be a string like \"50000.00\" "
		"(money is a decimal string, never a number)");
	bad_rules(AUTH_HEAD " levels = (\n { above = \"50000.001\"; authority = \"supervisor\"; } ); } );",
		"r.conf:3: A-1: levels[0].above: more than two decimals");
	bad_rules(AUTH_HEAD " levels = (\n { above = \"-1.00\"; authority = \"supervisor\"; } ); } );",
		"r.conf:3: A-1: levels[0].above: must not be negative");
	bad_rules(AUTH_HEAD " levels = ( { above = \"5.00\"; authority = \"king\"; } ); } );",
		"r.conf:2: A-1: authority: must be one of clerk, supervisor, director");
	bad_rules(AUTH_HEAD " levels = ( { above = \"5.00\"; authority = \"clerk\"; rank = 1; } ); } );",
		"r.conf:2: A-1: unknown setting rank for levels");
	bad_rules(AUTH_HEAD " levels = ( { above = \"500.00\"; authority = \"supervisor\"; },\n"
		"  { above = \"500.00\"; authority = \"director\"; } ); } );",
		"r.conf:3: A-1: levels[1].above: must be above the level before it");
	/* qualification, account_change */
	bad_rules("rules = ( { id = \"Q-1\"; check = \"qualification\"; title = \"t\"; severity = \"review\"; } );",
		"r.conf:1: Q-1: months: missing");
	bad_rules("rules = ( { id = \"Q-1\"; check = \"qualification\"; title = \"t\"; severity = \"review\"; months = 0; } );",
		"r.conf:1: Q-1: months: must be an integer 1-1200");
	bad_rules("rules = ( { id = \"Q-1\"; check = \"qualification\"; title = \"t\"; severity = \"review\"; months = \"12\"; } );",
		"r.conf:1: Q-1: months: must be an integer 1-1200");
	bad_rules("rules = ( { id = \"Q-1\"; check = \"qualification\"; title = \"t\"; severity = \"review\"; months = 12.0; } );",
		"r.conf:1: Q-1: months: must be an integer 1-1200");
	bad_rules("rules = ( { id = \"AC-1\"; check = \"account_change\"; title = \"t\"; severity = \"review\"; days = -1; } );",
		"r.conf:1: AC-1: days: must be an integer 0-3650");
	/* flow */
	bad_rules("rules = ( { id = \"FL-1\"; check = \"flow\"; title = \"t\"; severity = \"deny\";\n"
		" allow = ( { kind = \"death_report\"; to = \"income\"; } ); } );",
		"r.conf:2: FL-1: allow[0]: kind death_report moves no money");
	bad_rules("rules = ( { id = \"FL-1\"; check = \"flow\"; title = \"t\"; severity = \"deny\";\n"
		" allow = ( { kind = \"refund\"; from = \"income\"; to = \"payer\"; },\n"
		"           { kind = \"refund\"; from = \"income\"; to = \"payer\"; } ); } );",
		"r.conf:3: FL-1: allow[1]: the same flow is listed twice");
	bad_rules("rules = ( { id = \"FL-1\"; check = \"flow\"; title = \"t\"; severity = \"deny\";\n"
		" allow = ( { kind = \"refund\"; from = \"bank\"; to = \"payer\"; } ); } );",
		"r.conf:2: FL-1: from: must be one of income, expenditure, fiscal, payer, beneficiary");
	bad_rules("rules = ( { id = \"FL-1\"; check = \"flow\"; title = \"t\"; severity = \"deny\";\n"
		" allow = ( { kind = \"refund\"; from = \"income\"; } ); } );",
		"r.conf:2: FL-1: to: missing");
	/* base */
	bad_rules("rules = ( { id = \"B-1\"; check = \"base\"; title = \"t\"; severity = \"review\";\n"
		" average_wage = \"10000.00\"; min_bp = 6000;\n max_bp = 5999; } );",
		"r.conf:3: B-1: max_bp: must not be below min_bp");
	bad_rules("rules = ( { id = \"B-1\"; check = \"base\"; title = \"t\"; severity = \"review\";\n"
		" average_wage = \"0.00\"; min_bp = 6000; max_bp = 30000; } );",
		"r.conf:2: B-1: average_wage: must be more than 0");
	bad_rules("rules = ( { id = \"B-1\"; check = \"base\"; title = \"t\"; severity = \"review\";\n"
		" average_wage = \"100000000.01\"; min_bp = 6000; max_bp = 30000; } );",
		"r.conf:2: B-1: average_wage: must be at most 100000000.00");
	bad_rules("rules = ( { id = \"B-1\"; check = \"base\"; title = \"t\"; severity = \"review\";\n"
		" average_wage = \"10000.00\"; min_bp = 6000; max_bp = 100001; } );",
		"r.conf:2: B-1: max_bp: must be an integer 0-100000");
	/* hours */
	bad_rules("rules = ( { id = \"H-1\"; check = \"hours\"; title = \"t\"; severity = \"note\";\n"
		" start = \"8:00\"; end = \"18:00\"; days = [ \"mon\" ]; } );",
		"r.conf:2: H-1: start: must be a time of day like \"08:00\" or \"18:00:00\"");
	bad_rules("rules = ( { id = \"H-1\"; check = \"hours\"; title = \"t\"; severity = \"note\";\n"
		" start = \"08:00\"; end = \"24:00\"; days = [ \"mon\" ]; } );",
		"r.conf:2: H-1: end: must be a time of day like \"08:00\" or \"18:00:00\"");
	bad_rules("rules = ( { id = \"H-1\"; check = \"hours\"; title = \"t\"; severity = \"note\";\n"
		" start = \"18:00\"; end = \"08:00\"; days = [ \"mon\" ]; } );",
		"r.conf:2: H-1: end: must not be before start");
	bad_rules("rules = ( { id = \"H-1\"; check = \"hours\"; title = \"t\"; severity = \"note\";\n"
		" start = \"08:00\"; end = \"18:00\"; days = [ \"mon\", \"funday\" ]; } );",
		"r.conf:2: H-1: days: each must be one of sun, mon, tue, wed, thu, fri, sat");
	bad_rules("rules = ( { id = \"H-1\"; check = \"hours\"; title = \"t\"; severity = \"note\";\n"
		" start = \"08:00\"; end = \"18:00\"; days = [ ]; } );",
		"r.conf:2: H-1: days: must not be empty");
	/* velocity, close, separation */
	bad_rules("rules = ( { id = \"V-1\"; check = \"velocity\"; title = \"t\"; severity = \"review\"; } );",
		"r.conf:1: V-1: limit: missing");
	bad_rules("rules = ( { id = \"C-1\"; check = \"close\"; title = \"t\"; severity = \"finding\"; classes = []; } );",
		"r.conf:1: C-1: classes: must not be empty");
	bad_rules("rules = ( { id = \"S-1\"; check = \"separation\"; title = \"t\"; severity = \"deny\";\n"
		" maker_posts = [ \"business\" ]; approver_not_posts = [ \"business\" ]; } );",
		"r.conf:1: S-1: payment_kinds: missing");
	bad_rules("rules = ( { id = \"S-1\"; check = \"separation\"; title = \"t\"; severity = \"deny\";\n"
		" maker_posts = [ \"business\", \"boss\" ]; approver_not_posts = []; payment_kinds = []; } );",
		"r.conf:2: S-1: maker_posts: each must be one of business, finance, data, audit");
	/* bytes */
	const char nul[] = "rules = ( " RULE_F " );\0colour = 3;\n";
	const char *s = cu_policy_default_staff();
	cu_policy *p = NULL;
	assert_int_equal(cu_policy_parse(&p, nul, sizeof(nul) - 1, "r.conf", s, strlen(s), "staff.conf"),
		CU_EINVALID);
	assert_string_equal(cu_error_last(), "r.conf: holds a NUL byte");
}

#define MEMBER(id, post, auth) "{ id = \"" id "\"; name = \"N\"; post = " post "; authority = \"" auth "\"; }"

static void
test_staff_errors(void **state)
{
	(void)state;
	bad_staff("staff = (\n " MEMBER("op-1", "[ \"business\", \"finance\" ]", "clerk") "\n);",
		"s.conf:2: op-1: post: one post class per person, not a list "
		"(business, finance, data and audit may not be combined)");
	bad_staff("staff = (\n " MEMBER("op-1", "( \"business\" )", "clerk") "\n);",
		"s.conf:2: op-1: post: one post class per person, not a list "
		"(business, finance, data and audit may not be combined)");
	bad_staff("staff = (\n " MEMBER("op-1", "\"business\"", "boss") "\n);",
		"s.conf:2: op-1: authority: must be one of clerk, supervisor, director");
	bad_staff("staff = (\n " MEMBER("op-1", "\"cashier\"", "clerk") "\n);",
		"s.conf:2: op-1: post: must be one of business, finance, data, audit");
	bad_staff("staff = (\n " MEMBER("op-1", "\"business\"", "clerk") ",\n "
		MEMBER("op-2", "\"audit\"", "clerk") ",\n " MEMBER("op-1", "\"finance\"", "director") ",\n "
		MEMBER("op-2", "\"audit\"", "clerk") "\n);",
		"s.conf:4: op-1: id: already declared at line 2");
	bad_staff("staff = (\n { id = \"op 1\"; name = \"N\"; post = \"audit\"; authority = \"clerk\"; }\n);",
		"s.conf:2: staff[0]: id: character 3 is not allowed (only A-Z a-z 0-9 . _ -)");
	bad_staff("staff = (\n { name = \"N\"; post = \"audit\"; authority = \"clerk\"; }\n);",
		"s.conf:2: staff[0]: id: missing");
	bad_staff("staff = (\n { id = \"op-1\"; post = \"audit\"; authority = \"clerk\"; }\n);",
		"s.conf:2: op-1: name: missing");
	bad_staff("staff = (\n { id = \"op-1\"; name = \"N\"; post = \"audit\"; authority = \"clerk\";\n   phone = \"1\"; }\n);",
		"s.conf:3: op-1: unknown setting phone");
	bad_staff("staff = (\n { id = \"op-1\"; name = \"N\"; authority = \"clerk\"; }\n);",
		"s.conf:2: op-1: post: missing");
	/* a staff member whose id is an ID number is not named in clear */
	bad_staff("staff = (\n " MEMBER(P1, "\"audit\"", "clerk") ",\n " MEMBER(P1, "\"data\"", "clerk") "\n);",
		"s.conf:3: 110105********002X: id: already declared at line 2");
	bad_staff("staff = (\n " MEMBER(P1, "\"cashier\"", "clerk") "\n);",
		"s.conf:2: 110105********002X: post: must be one of business, finance, data, audit");
	bad_staff("staff = ();", "s.conf:1: staff: must be a non-empty list ( { id = …; … }, … )");
	bad_staff("# nobody\n", "s.conf: staff: missing (staff = ( { id = …; … }, … );)");
	bad_staff("people = ();", "s.conf:1: unknown setting people");
	bad_staff("staff = ( " MEMBER("op-1", "\"audit\"", "clerk") " );\nstaff = ();",
		"s.conf:2: duplicate setting name");
}

static void
test_check_text(void **state)
{
	const char *kind = NULL, *r = cu_policy_default_rules(), *s = cu_policy_default_staff();
	const char *both = "rules = ();\nstaff = ();\n";

	(void)state;
	expect_ok(cu_policy_check_text(r, strlen(r), "fund-control.conf", &kind));
	assert_string_equal(kind, "rules");
	expect_ok(cu_policy_check_text(s, strlen(s), "staff.conf", &kind));
	assert_string_equal(kind, "staff");
	assert_int_equal(cu_policy_check_text("x = 1;", 6, "x.conf", NULL), CU_EINVALID);
	assert_string_equal(cu_error_last(),
		"x.conf: neither a rules file (rules = ( … );) nor a staff file (staff = ( … );)");
	assert_int_equal(cu_policy_check_text(both, strlen(both), "b.conf", NULL), CU_EINVALID);
	assert_string_equal(cu_error_last(), "b.conf: holds both rules and staff; they are two files");
	const char *bad = "rules = (\n { id = \"Q-1\"; check = \"qualification\"; title = \"t\";\n"
		"   severity = \"review\"; months = 0; }\n);\n";
	assert_int_equal(cu_policy_check_text(bad, strlen(bad), "q.conf", NULL), CU_EINVALID);
	assert_string_equal(cu_error_last(), "q.conf:3: Q-1: months: must be an integer 1-1200");
	/* an empty rule list is a policy that allows everything */
	expect_ok(cu_policy_check_text("rules = ();", 11, "e.conf", &kind));
}

/* Replaces the first occurrence of from in text by to (new string). */
static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	if (at == NULL)
		fail_msg("\"%s\" not in the text", from);
	out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	sprintf(out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

/* The digest of the shipped policy with one replacement in a file. */
static void
digest_with(char out[65], int staff_file, const char *from, const char *to)
{
	const char *r = cu_policy_default_rules(), *s = cu_policy_default_staff();
	char *changed = replace(staff_file ? s : r, from, to);
	cu_policy *p = NULL;

	if (staff_file)
		expect_ok(cu_policy_parse(&p, r, strlen(r), "r", changed, strlen(changed), "s"));
	else
		expect_ok(cu_policy_parse(&p, changed, strlen(changed), "r", s, strlen(s), "s"));
	snprintf(out, 65, "%s", cu_policy_digest(p));
	cu_policy_free(p);
	free(changed);
}

static void
test_digest(void **state)
{
	cu_policy *p = shipped();
	char base[65], d[65];

	(void)state;
	snprintf(base, sizeof(base), "%s", cu_policy_digest(p));
	cu_policy_free(p);

	/* meaning unchanged: comments, layout, order of sets and staff, the
	 * spelling of an amount */
	digest_with(d, 0, "# 授权审批", "# approval by amount, rewritten comment\n  # 授权审批");
	assert_string_equal(d, base);
	digest_with(d, 0, "    months = 12; },", "\n\n\tmonths   =   12;\n  },");
	assert_string_equal(d, base);
	digest_with(d, 0, "kinds = [ \"benefit_payment\", \"refund\" ]; };\n    limit",
		"kinds = [ \"refund\", \"benefit_payment\" ]; };\n    limit");
	assert_string_equal(d, base);
	digest_with(d, 0, "above = \"50000.00\"", "above = \"50000\"");
	assert_string_equal(d, base);
	digest_with(d, 0, "start = \"08:00\"", "start = \"08:00:00\"");
	assert_string_equal(d, base);
	digest_with(d, 1, "  { id = \"op-011\"; name = \"李娜\";   post = \"business\"; authority = \"clerk\"; },\n", "");
	assert_string_not_equal(d, base);   /* a person less is a change */
	digest_with(d, 1, "staff = (\n", "staff = (\n  { id = \"op-999\"; name = \"X\"; post = \"data\"; authority = \"clerk\"; },\n");
	assert_string_not_equal(d, base);
	{
		/* the same staff listed in another order */
		const char *r = cu_policy_default_rules();
		const char *s1 = "staff = ( " MEMBER("a", "\"audit\"", "clerk") ", " MEMBER("b", "\"data\"", "clerk") " );";
		const char *s2 = "staff = ( " MEMBER("b", "\"data\"", "clerk") ",\n " MEMBER("a", "\"audit\"", "clerk") " );";
		cu_policy *x = NULL, *y = NULL;

		expect_ok(cu_policy_parse(&x, r, strlen(r), "r", s1, strlen(s1), "s"));
		expect_ok(cu_policy_parse(&y, r, strlen(r), "r", s2, strlen(s2), "s"));
		assert_string_equal(cu_policy_digest(x), cu_policy_digest(y));
		cu_policy_free(x);
		cu_policy_free(y);
	}

	/* meaning changed: any parameter, severity, scope, title, staff entry */
	digest_with(d, 0, "above = \"50000.00\"", "above = \"50000.01\"");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "months = 12;", "months = 13;");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "min_bp = 6000;", "min_bp = 6001;");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "end = \"18:00\"", "end = \"18:00:01\"");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "limit = \"1000000.00\"", "limit = \"999999.99\"");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "title = \"重复发放 duplicate benefit for one period\"", "title = \"dup\"");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "check = \"dual_scheme\"; severity = \"review\"",
		"check = \"dual_scheme\"; severity = \"deny\"");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "funds = [ \"pension\" ]; }; },", "funds = [ \"pension\", \"medical\" ]; }; },");
	assert_string_not_equal(d, base);
	digest_with(d, 0, "{ kind = \"interest\";                              to = \"fiscal\"; }",
		"{ kind = \"interest\";  from = \"payer\";  to = \"fiscal\"; }");
	assert_string_not_equal(d, base);
	digest_with(d, 1, "name = \"王芳\";   post = \"business\"; authority = \"clerk\"",
		"name = \"王芳\";   post = \"business\"; authority = \"supervisor\"");
	assert_string_not_equal(d, base);
	digest_with(d, 1, "name = \"王芳\"", "name = \"王 芳\"");
	assert_string_not_equal(d, base);
}

/* ---- the rules ------------------------------------------------------------- */

static void
test_allowed_payment(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01"));
	assert_int_equal(w.d.verdict, CU_VERDICT_ALLOW);
	assert_int_equal(w.d.n, 0);
	assert_int_equal(judge(&w, TX(BENEFIT)), CU_VERDICT_ALLOW);
	assert_int_equal(w.d.n, 0);
	world_free(&w);
}

static void
test_sod1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01"));
	peek(&w, TX(BENEFIT));
	expect_quiet(&w, "SOD-1");
	assert_int_equal(peek(&w, TX(BENEFIT, .reviewer = "-")), CU_VERDICT_DENY);
	expect_fired(&w, "SOD-1", "reviewer missing");
	peek(&w, TX(BENEFIT, .reviewer = "-", .approver = "-"));
	expect_fired(&w, "SOD-1", "reviewer missing; approver missing");
	peek(&w, TX(BENEFIT, .reviewer = "op-017"));
	expect_fired(&w, "SOD-1", "maker and reviewer are the same person (op-017)");
	peek(&w, TX(BENEFIT, .approver = "op-020"));
	expect_fired(&w, "SOD-1", "reviewer and approver are the same person (op-020); "
		"approver op-020 holds post business, which may not approve a benefit_payment");
	peek(&w, TX(BENEFIT, .approver = "op-017"));
	expect_fired(&w, "SOD-1", "maker and approver are the same person (op-017); "
		"approver op-017 holds post business, which may not approve a benefit_payment");
	peek(&w, TX(BENEFIT, .maker = "op-999"));
	expect_fired(&w, "SOD-1", "maker op-999 is not on the staff list");
	peek(&w, TX(BENEFIT, .reviewer = "op-998", .approver = "op-997"));
	expect_fired(&w, "SOD-1", "reviewer op-998 is not on the staff list; "
		"approver op-997 is not on the staff list");
	/* posts: the maker of a payment is business, its approver not */
	peek(&w, TX(BENEFIT, .maker = "op-032"));
	expect_fired(&w, "SOD-1", "maker op-032 holds post finance; "
		"the maker of a benefit_payment must hold business");
	peek(&w, TX(REFUND, .approver = "op-021"));
	expect_fired(&w, "SOD-1", "approver op-021 holds post business, which may not approve a refund");
	peek(&w, TX(BENEFIT, .approver = "op-052"));    /* audit may approve */
	expect_quiet(&w, "SOD-1");
	/* a transfer is not a payment: finance makes it; three people still */
	peek(&w, TX(TRANSFER, .maker = "op-032", .reviewer = "op-034", .approver = "op-033"));
	expect_quiet(&w, "SOD-1");
	peek(&w, TX(TRANSFER, .maker = "op-032", .reviewer = "op-034", .approver = "op-034"));
	expect_fired(&w, "SOD-1", "reviewer and approver are the same person (op-034)");
	/* an account change needs three people, of any post */
	peek(&w, TX(ACCOUNT, .maker = "op-041", .reviewer = "op-042", .approver = "op-020"));
	expect_quiet(&w, "SOD-1");
	peek(&w, TX(ACCOUNT, .approver = "-"));
	expect_fired(&w, "SOD-1", "approver missing");
	/* outside the scope: contributions, qualifications, death reports */
	peek(&w, TX(CONTRIB, .reviewer = "-", .approver = "-", .maker = "op-999"));
	expect_quiet(&w, "SOD-1");
	peek(&w, TX(DEATH, .reviewer = "-", .approver = "-"));
	expect_quiet(&w, "SOD-1");
	assert_int_equal(w.d.verdict, CU_VERDICT_ALLOW);
	/* an operator code that is an ID number is masked in the message */
	peek(&w, TX(BENEFIT, .maker = P1));
	expect_fired(&w, "SOD-1", "maker 110105********002X is not on the staff list");
	peek(&w, TX(BENEFIT, .maker = "op-11010519491231002x017", .reviewer = "u.110105491231002"));
	expect_fired(&w, "SOD-1", "maker op-110105********002x017 is not on the staff list; "
		"reviewer u.110105*****1002 is not on the staff list");
	peek(&w, TX(BENEFIT, .maker = "op-12345678901234"));   /* 14 digits: shown */
	expect_fired(&w, "SOD-1", "maker op-12345678901234 is not on the staff list");
	world_free(&w);
}

static void
test_auth1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	/* op-034 is a finance clerk, op-031 a supervisor, op-033 a director */
	peek(&w, TX(BENEFIT, .amount = "50000.00", .approver = "op-034"));
	expect_quiet(&w, "AUTH-1");
	assert_int_equal(peek(&w, TX(BENEFIT, .amount = "50000.01", .approver = "op-034")),
		CU_VERDICT_DENY);
	expect_fired(&w, "AUTH-1", "amount 50000.01 is above 50000.00 and needs an approver "
		"with supervisor authority; approver op-034 has clerk authority");
	peek(&w, TX(BENEFIT, .amount = "50000.01", .approver = "op-031"));
	expect_quiet(&w, "AUTH-1");
	peek(&w, TX(BENEFIT, .amount = "500000.00", .approver = "op-031"));
	expect_quiet(&w, "AUTH-1");
	peek(&w, TX(BENEFIT, .amount = "500000.01", .approver = "op-031"));
	expect_fired(&w, "AUTH-1", "amount 500000.01 is above 500000.00 and needs an approver "
		"with director authority; approver op-031 has supervisor authority");
	peek(&w, TX(BENEFIT, .amount = "500000.01", .approver = "op-033"));
	expect_quiet(&w, "AUTH-1");
	peek(&w, TX(REFUND, .amount = "60000.00", .approver = "-"));
	expect_fired(&w, "AUTH-1", "amount 60000.00 is above 50000.00 and needs an approver "
		"with supervisor authority; there is none");
	peek(&w, TX(TRANSFER, .amount = "60000.00", .approver = "op-996", .maker = "op-032",
		.reviewer = "op-034"));
	expect_fired(&w, "AUTH-1", "amount 60000.00 is above 50000.00 and needs an approver "
		"with supervisor authority; approver op-996 is not on the staff list");
	/* the amount alone does not need an approver below the threshold */
	peek(&w, TX(REFUND, .amount = "49999.99", .approver = "-"));
	expect_quiet(&w, "AUTH-1");
	/* contributions are outside the scope */
	peek(&w, TX(CONTRIB, .amount = "9000000.00", .approver = "-"));
	expect_quiet(&w, "AUTH-1");
	world_free(&w);
}

static void
test_dup1(void **state)
{
	struct world w;
	cu_fund_txn t;
	json_t *queued;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01", .person = P1));
	judge(&w, TX(QUALIFY, .event = "2026-09-01", .person = P2));
	assert_int_equal(judge(&w, TX(BENEFIT)), CU_VERDICT_ALLOW);
	assert_int_equal(judge(&w, TX(BENEFIT)), CU_VERDICT_DENY);
	expect_fired(&w, "DUP-1", "a pension benefit (employee scheme) for 2026-11 "
		"is already on record for the person");
	/* another period, person, fund: no duplicate */
	peek(&w, TX(BENEFIT, .period = "2026-12"));
	expect_quiet(&w, "DUP-1");
	peek(&w, TX(BENEFIT, .period = "2026-10"));
	expect_quiet(&w, "DUP-1");
	peek(&w, TX(BENEFIT, .person = P2));
	expect_quiet(&w, "DUP-1");
	peek(&w, TX(BENEFIT, .fund = "medical", .from_fund = "medical"));
	expect_quiet(&w, "DUP-1");
	/* the denied second one was not recorded: a third is still the second */
	judge(&w, TX(BENEFIT));
	expect_fired(&w, "DUP-1", NULL);

	/* a denied attempt does not count: P2's first is denied (FLOW-1) */
	assert_int_equal(judge(&w, TX(BENEFIT, .person = P2, .from_class = "income")), CU_VERDICT_DENY);
	expect_quiet(&w, "DUP-1");
	assert_int_equal(judge(&w, TX(BENEFIT, .person = P2)), CU_VERDICT_ALLOW);

	/* one queued for review counts; once rejected (withdrawn) it does not */
	queued = TX(BENEFIT, .person = P3);            /* no qualification: QUAL-1 review */
	assert_int_equal(peek(&w, json_incref(queued)), CU_VERDICT_REVIEW);
	expect_ok(cu_fund_view(&t, queued));
	expect_ok(cu_pstate_apply(w.s, &t, CU_VERDICT_REVIEW));
	peek(&w, TX(BENEFIT, .person = P3));
	expect_fired(&w, "DUP-1", NULL);
	expect_ok(cu_pstate_withdraw(w.s, &t));
	peek(&w, TX(BENEFIT, .person = P3));
	expect_quiet(&w, "DUP-1");
	assert_int_equal(cu_pstate_withdraw(w.s, &t), CU_ENOTFOUND);
	json_decref(queued);
	world_free(&w);
}

static void
test_dup2(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01"));
	judge(&w, TX(BENEFIT, .scheme = "employee", .period = "2026-11"));
	assert_int_equal(peek(&w, TX(BENEFIT, .scheme = "resident", .period = "2026-11")),
		CU_VERDICT_REVIEW);
	expect_fired(&w, "DUP-2", "the person already has a pension benefit of the employee "
		"scheme for 2026-11");
	expect_quiet(&w, "DUP-1");
	peek(&w, TX(BENEFIT, .scheme = "resident", .period = "2026-12"));
	expect_quiet(&w, "DUP-2");
	/* the other way round */
	judge(&w, TX(BENEFIT, .scheme = "resident", .period = "2027-01"));
	peek(&w, TX(BENEFIT, .scheme = "employee", .period = "2027-01"));
	expect_fired(&w, "DUP-2", "the person already has a pension benefit of the resident "
		"scheme for 2027-01");
	/* medical is outside DUP-2's scope */
	judge(&w, TX(BENEFIT, .fund = "medical", .scheme = "employee", .period = "2026-11"));
	peek(&w, TX(BENEFIT, .fund = "medical", .scheme = "resident", .period = "2026-11"));
	expect_quiet(&w, "DUP-2");
	world_free(&w);
}

static void
test_death1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01"));
	peek(&w, TX(BENEFIT, .period = "2026-12"));
	expect_quiet(&w, "DEATH-1");
	assert_int_equal(judge(&w, TX(DEATH, .event = "2026-10-03", .posted = "2026-10-05T09:00:00+08:00")),
		CU_VERDICT_ALLOW);
	/* the month of death itself is paid; the month after is not */
	peek(&w, TX(BENEFIT, .period = "2026-10"));
	expect_quiet(&w, "DEATH-1");
	peek(&w, TX(BENEFIT, .period = "2026-09"));
	expect_quiet(&w, "DEATH-1");
	assert_int_equal(peek(&w, TX(BENEFIT, .period = "2026-11")), CU_VERDICT_DENY);
	expect_fired(&w, "DEATH-1", "benefit for 2026-11, after the month of the person's "
		"recorded death (2026-10)");
	peek(&w, TX(BENEFIT, .period = "2027-11", .fund = "medical"));
	expect_fired(&w, "DEATH-1", "benefit for 2027-11, after the month of the person's "
		"recorded death (2026-10)");
	/* another person */
	judge(&w, TX(QUALIFY, .event = "2026-09-01", .person = P2));
	peek(&w, TX(BENEFIT, .period = "2026-11", .person = P2));
	expect_quiet(&w, "DEATH-1");
	/* two reports: the earliest month counts */
	judge(&w, TX(DEATH, .event = "2026-07-31", .person = P1));
	peek(&w, TX(BENEFIT, .period = "2026-08"));
	expect_fired(&w, "DEATH-1", "benefit for 2026-08, after the month of the person's "
		"recorded death (2026-07)");
	world_free(&w);
}

static void
test_qual1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	assert_int_equal(peek(&w, TX(BENEFIT)), CU_VERDICT_REVIEW);
	expect_fired(&w, "QUAL-1", "no qualification on record for the person");
	/* medical is outside QUAL-1's scope */
	peek(&w, TX(BENEFIT, .fund = "medical"));
	expect_quiet(&w, "QUAL-1");
	/* exactly 12 months before the period: still valid; a day earlier not */
	judge(&w, TX(QUALIFY, .event = "2025-10-31", .posted = "2025-11-03T09:00:00+08:00"));
	peek(&w, TX(BENEFIT, .period = "2026-11"));
	expect_fired(&w, "QUAL-1", "the person's last qualification (2025-10-31) is more than "
		"12 months before 2026-11");
	peek(&w, TX(BENEFIT, .period = "2026-10"));
	expect_quiet(&w, "QUAL-1");
	judge(&w, TX(QUALIFY, .event = "2025-11-01", .posted = "2025-11-03T09:00:00+08:00"));
	peek(&w, TX(BENEFIT, .period = "2026-11"));
	expect_quiet(&w, "QUAL-1");
	peek(&w, TX(BENEFIT, .period = "2026-12"));
	expect_fired(&w, "QUAL-1", "the person's last qualification (2025-11-01) is more than "
		"12 months before 2026-12");
	/* the latest one counts, whatever order they were recorded in */
	judge(&w, TX(QUALIFY, .event = "2024-01-15", .posted = "2025-11-04T09:00:00+08:00"));
	peek(&w, TX(BENEFIT, .period = "2026-11"));
	expect_quiet(&w, "QUAL-1");
	world_free(&w);
}

static void
test_acct1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01"));
	judge(&w, TX(ACCOUNT, .event = "2026-10-21", .posted = "2026-10-21T09:00:00+08:00"));
	/* posted 2026-11-20: day 30 after 10-21 */
	assert_int_equal(peek(&w, TX(BENEFIT)), CU_VERDICT_REVIEW);
	expect_fired(&w, "ACCT-1", "posted 30 days after the person's account change of "
		"2026-10-21 (within 30)");
	peek(&w, TX(BENEFIT, .posted = "2026-11-21T10:00:00+08:00"));
	expect_quiet(&w, "ACCT-1");
	/* the same day counts; the day is the posting's own */
	peek(&w, TX(BENEFIT, .posted = "2026-10-21T17:00:00+08:00"));
	expect_fired(&w, "ACCT-1", "posted 0 days after the person's account change of "
		"2026-10-21 (within 30)");
	/* 2026-11-21 in UTC+8, but the posting's own day is 11-20 */
	peek(&w, TX(BENEFIT, .posted = "2026-11-20T23:30:00-05:00"));
	expect_fired(&w, "ACCT-1", NULL);
	/* a refund to the person too; another person not */
	peek(&w, TX(REFUND, .posted = "2026-11-01T10:00:00+08:00"));
	expect_fired(&w, "ACCT-1", "posted 11 days after the person's account change of "
		"2026-10-21 (within 30)");
	peek(&w, TX(BENEFIT, .person = P2, .posted = "2026-11-01T10:00:00+08:00"));
	expect_quiet(&w, "ACCT-1");
	/* an earlier change, then a change dated after the payment: the last
	 * change on or before the payment's day counts */
	judge(&w, TX(ACCOUNT, .person = P3, .event = "2026-09-01", .posted = "2026-09-01T09:00:00+08:00"));
	judge(&w, TX(ACCOUNT, .person = P3, .event = "2026-12-01", .posted = "2026-12-01T09:00:00+08:00"));
	peek(&w, TX(BENEFIT, .person = P3, .posted = "2026-09-30T10:00:00+08:00"));
	expect_fired(&w, "ACCT-1", "posted 29 days after the person's account change of "
		"2026-09-01 (within 30)");
	peek(&w, TX(BENEFIT, .person = P3, .posted = "2026-10-02T10:00:00+08:00"));
	expect_quiet(&w, "ACCT-1");
	world_free(&w);
}

static void
test_flow1(void **state)
{
	const struct { int kind; const char *from, *to; } ok[] = {
		{ CU_KIND_CONTRIBUTION, "payer", "income" },
		{ CU_KIND_BENEFIT_PAYMENT, "expenditure", "beneficiary" },
		{ CU_KIND_REFUND, "income", "payer" },
		{ CU_KIND_REFUND, "beneficiary", "expenditure" },
		{ CU_KIND_TRANSFER, "income", "fiscal" },
		{ CU_KIND_TRANSFER, "fiscal", "expenditure" },
		{ CU_KIND_TRANSFER, "expenditure", "fiscal" },
		{ CU_KIND_INTEREST, NULL, "income" },
		{ CU_KIND_INTEREST, NULL, "expenditure" },
		{ CU_KIND_INTEREST, NULL, "fiscal" },
	}, bad[] = {
		{ CU_KIND_CONTRIBUTION, "payer", "expenditure" },
		{ CU_KIND_CONTRIBUTION, "payer", "fiscal" },
		{ CU_KIND_BENEFIT_PAYMENT, "income", "beneficiary" },
		{ CU_KIND_BENEFIT_PAYMENT, "fiscal", "beneficiary" },
		{ CU_KIND_BENEFIT_PAYMENT, "expenditure", "payer" },
		{ CU_KIND_REFUND, "expenditure", "payer" },
		{ CU_KIND_REFUND, "income", "beneficiary" },
		{ CU_KIND_TRANSFER, "income", "expenditure" },
		{ CU_KIND_TRANSFER, "fiscal", "income" },
		{ CU_KIND_TRANSFER, "expenditure", "beneficiary" },
		{ CU_KIND_TRANSFER, "income", "income" },
		{ CU_KIND_INTEREST, NULL, "payer" },
		{ CU_KIND_INTEREST, NULL, "beneficiary" },
	};
	struct world w;
	char msg[128];

	(void)state;
	world_init(&w, shipped());
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		peek(&w, TX(.kind = ok[i].kind, .from_class = ok[i].from, .to_class = ok[i].to,
			.maker = ok[i].kind == CU_KIND_TRANSFER ? "op-032" : NULL,
			.reviewer = ok[i].kind == CU_KIND_TRANSFER ? "op-034" : NULL));
		expect_quiet(&w, "FLOW-1");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(peek(&w, TX(.kind = bad[i].kind, .from_class = bad[i].from,
			.to_class = bad[i].to, .maker = bad[i].kind == CU_KIND_TRANSFER ? "op-032" : NULL,
			.reviewer = bad[i].kind == CU_KIND_TRANSFER ? "op-034" : NULL)), CU_VERDICT_DENY);
		snprintf(msg, sizeof(msg), "flow %s -> %s is not allowed for a %s",
			bad[i].from ? bad[i].from : "(no account)", bad[i].to, cu_fund_kinds[bad[i].kind]);
		expect_fired(&w, "FLOW-1", msg);
	}
	world_free(&w);
}

static void
test_fund1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	peek(&w, TX(CONTRIB, .to_fund = "pension", .from_fund = "pension"));
	expect_quiet(&w, "FUND-1");
	assert_int_equal(peek(&w, TX(CONTRIB, .to_fund = "medical")), CU_VERDICT_DENY);
	expect_fired(&w, "FUND-1", "to_account belongs to fund medical, the transaction to pension");
	peek(&w, TX(TRANSFER, .fund = "medical", .from_fund = "pension", .maker = "op-032",
		.reviewer = "op-034"));
	expect_fired(&w, "FUND-1", "from_account belongs to fund pension, the transaction to medical");
	peek(&w, TX(INTEREST, .fund = "unemployment", .to_fund = "work_injury"));
	expect_fired(&w, "FUND-1", "to_account belongs to fund work_injury, "
		"the transaction to unemployment");
	peek(&w, TX(BENEFIT, .fund = "medical", .from_fund = "maternity", .to_fund = "pension"));
	expect_fired(&w, "FUND-1", "from_account belongs to fund maternity, the transaction to "
		"medical; to_account belongs to fund pension, the transaction to medical");
	world_free(&w);
}

static void
test_base1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	peek(&w, TX(CONTRIB, .base = "6000.00"));
	expect_quiet(&w, "BASE-1");
	assert_int_equal(peek(&w, TX(CONTRIB, .base = "5999.99")), CU_VERDICT_REVIEW);
	expect_fired(&w, "BASE-1", "base 5999.99 is below 60.00 % of the average wage 10000.00");
	peek(&w, TX(CONTRIB, .base = "30000.00"));
	expect_quiet(&w, "BASE-1");
	peek(&w, TX(CONTRIB, .base = "30000.01"));
	expect_fired(&w, "BASE-1", "base 30000.01 is above 300.00 % of the average wage 10000.00");
	/* the largest base there is: no overflow in the comparison */
	peek(&w, TX(CONTRIB, .base = "9999999999999.99"));
	expect_fired(&w, "BASE-1", "base 9999999999999.99 is above 300.00 % of the average wage 10000.00");
	peek(&w, TX(CONTRIB, .base = "0.01"));
	expect_fired(&w, "BASE-1", "base 0.01 is below 60.00 % of the average wage 10000.00");
	world_free(&w);

	/* basis points, not whole percents */
	world_init(&w, with_rules("rules = ( { id = \"B-2\"; check = \"base\"; title = \"t\"; "
		"severity = \"review\"; average_wage = \"7777.77\"; min_bp = 6050; max_bp = 6050; } );"));
	/* 7777.77 x 60.50 % = 4705.55085: 4705.56 is the first base at or above it */
	peek(&w, TX(CONTRIB, .base = "4705.55"));
	expect_fired(&w, "B-2", "base 4705.55 is below 60.50 % of the average wage 7777.77");
	peek(&w, TX(CONTRIB, .base = "4705.56"));
	expect_fired(&w, "B-2", "base 4705.56 is above 60.50 % of the average wage 7777.77");
	world_free(&w);
}

static void
test_time1(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	judge(&w, TX(QUALIFY, .event = "2026-09-01"));
	/* 2026-11-20 is a Friday */
	peek(&w, TX(CONTRIB, .posted = "2026-11-20T08:00:00+08:00"));
	expect_quiet(&w, "TIME-1");
	peek(&w, TX(CONTRIB, .posted = "2026-11-20T18:00:00+08:00"));
	expect_quiet(&w, "TIME-1");
	assert_int_equal(peek(&w, TX(CONTRIB, .posted = "2026-11-20T18:00:01+08:00")),
		CU_VERDICT_ALLOW);              /* a note alone allows */
	expect_fired(&w, "TIME-1", "posted on a Friday at 18:00:01 (+08:00), outside the working "
		"hours 08:00:00-18:00:00 mon tue wed thu fri");
	assert_int_equal(fired(&w, "TIME-1")->severity, CU_SEV_NOTE);
	peek(&w, TX(CONTRIB, .posted = "2026-11-20T07:59:59+08:00"));
	expect_fired(&w, "TIME-1", NULL);
	peek(&w, TX(CONTRIB, .posted = "2026-11-21T10:00:00+08:00"));
	expect_fired(&w, "TIME-1", "posted on a Saturday at 10:00:00 (+08:00), outside the working "
		"hours 08:00:00-18:00:00 mon tue wed thu fri");
	peek(&w, TX(CONTRIB, .posted = "2026-11-22T10:00:00+08:00"));
	expect_fired(&w, "TIME-1", NULL);
	peek(&w, TX(CONTRIB, .posted = "2026-11-23T10:00:00+08:00"));   /* Monday */
	expect_quiet(&w, "TIME-1");
	/* the posting's own offset: 09:00 in Beijing written as 01:00Z is at night */
	peek(&w, TX(CONTRIB, .posted = "2026-11-20T01:00:00Z"));
	expect_fired(&w, "TIME-1", "posted on a Friday at 01:00:00 (+00:00), outside the working "
		"hours 08:00:00-18:00:00 mon tue wed thu fri");
	peek(&w, TX(CONTRIB, .posted = "2026-11-20T17:30:00-05:30"));
	expect_quiet(&w, "TIME-1");
	peek(&w, TX(CONTRIB, .posted = "2026-11-20T20:30:00-05:30"));
	expect_fired(&w, "TIME-1", "posted on a Friday at 20:30:00 (-05:30), outside the working "
		"hours 08:00:00-18:00:00 mon tue wed thu fri");
	/* every kind is in scope, money or not */
	peek(&w, TX(DEATH, .posted = "2026-11-21T10:00:00+08:00"));
	expect_fired(&w, "TIME-1", NULL);
	world_free(&w);
}

static void
test_vel1(void **state)
{
	struct world w;
	const char *persons[] = { P1, P2, P3, P4, P5 };

	(void)state;
	world_init(&w, shipped());
	for (size_t i = 0; i < 5; i++)
		judge(&w, TX(QUALIFY, .event = "2026-09-01", .person = persons[i]));
	/* op-017 pays 600,000.00 and 399,999.99: the day's total is below */
	assert_int_equal(judge(&w, TX(BENEFIT, .person = P1, .amount = "600000.00",
		.approver = "op-033")), CU_VERDICT_ALLOW);
	assert_int_equal(judge(&w, TX(BENEFIT, .person = P2, .amount = "399999.99",
		.approver = "op-031")), CU_VERDICT_ALLOW);
	/* contributions and other days and makers do not count */
	judge(&w, TX(CONTRIB, .amount = "5000000.00"));
	judge(&w, TX(BENEFIT, .person = P3, .amount = "400000.00", .approver = "op-031",
		.posted = "2026-11-19T10:00:00+08:00"));
	judge(&w, TX(BENEFIT, .person = P4, .amount = "400000.00", .approver = "op-031",
		.maker = "op-018"));
	/* 0.01 more makes exactly 1,000,000.00: allowed */
	assert_int_equal(judge(&w, TX(REFUND, .person = P5, .amount = "0.01")), CU_VERDICT_ALLOW);
	expect_quiet(&w, "VEL-1");
	/* one fen more is above */
	assert_int_equal(peek(&w, TX(BENEFIT, .person = P5, .amount = "0.01")), CU_VERDICT_REVIEW);
	expect_fired(&w, "VEL-1", "maker op-017's total on 2026-11-20 would be 1000000.01, "
		"above the limit of 1000000.00");
	/* the day is the posting's own calendar day, whatever its offset */
	peek(&w, TX(BENEFIT, .person = P5, .amount = "0.01", .posted = "2026-11-20T10:00:00-05:00"));
	expect_fired(&w, "VEL-1", NULL);
	peek(&w, TX(BENEFIT, .person = P5, .amount = "0.01", .posted = "2026-11-21T09:00:00+08:00"));
	expect_quiet(&w, "VEL-1");
	/* one transaction alone above the limit */
	peek(&w, TX(BENEFIT, .person = P5, .amount = "1000000.01", .maker = "op-011",
		.approver = "op-033"));
	expect_fired(&w, "VEL-1", "maker op-011's total on 2026-11-20 would be 1000000.01, "
		"above the limit of 1000000.00");
	world_free(&w);
}

/* Collects the close findings' messages. */
static void
expect_close(struct world *w, const char *period, const char *const *msgs, size_t n)
{
	int month;

	expect_ok(cu_month_parse(&month, period));
	expect_ok(cu_policy_close(w->p, month, &w->st, &w->d));
	if (w->d.n != n) {
		for (size_t i = 0; i < w->d.n; i++)
			fprintf(stderr, "  %s\n", w->d.findings[i].message);
		fail_msg("close %s: %zu findings, expected %zu", period, w->d.n, n);
	}
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(w->d.findings[i].rule, "CLOSE-1");
		assert_int_equal(w->d.findings[i].severity, CU_SEV_FINDING);
		assert_string_equal(w->d.findings[i].message, msgs[i]);
	}
	assert_int_equal(w->d.verdict, n ? CU_VERDICT_REVIEW : CU_VERDICT_ALLOW);
}

static void
test_close1(void **state)
{
	struct world w;
	const char *const one[] = {
		"income account INC-P (pension) has a balance of 250.00 at the close of 2026-11, expected 0.00",
	};
	const char *const two[] = {
		"income account INC-P (pension) has a balance of 250.00 at the close of 2026-12, expected 0.00",
		"income account INC-M (medical) has a balance of -10.00 at the close of 2026-12, expected 0.00",
	};

	(void)state;
	world_init(&w, shipped());
	expect_close(&w, "2026-11", NULL, 0);
	/* November: 1,000.00 in, 1,000.00 on to the fiscal account: zero */
	judge(&w, TX(CONTRIB, .amount = "1000.00", .period = "2026-11"));
	judge(&w, TX(TRANSFER, .amount = "1000.00", .period = "2026-11", .maker = "op-032",
		.reviewer = "op-034"));
	expect_close(&w, "2026-11", NULL, 0);
	/* then 250.00 more in November that stays: a finding for November,
	 * none for October (periods up to the one closed count) */
	judge(&w, TX(CONTRIB, .amount = "250.00", .period = "2026-11", .base = "5000.00"));
	assert_int_equal(w.d.verdict, CU_VERDICT_REVIEW);   /* BASE-1: queued, not posted */
	expect_close(&w, "2026-11", NULL, 0);
	judge(&w, TX(CONTRIB, .amount = "250.00", .period = "2026-11"));
	assert_int_equal(w.d.verdict, CU_VERDICT_ALLOW);
	expect_close(&w, "2026-11", one, 1);
	expect_close(&w, "2026-10", NULL, 0);
	/* a denied transaction never counts in balances */
	assert_int_equal(judge(&w, TX(CONTRIB, .amount = "99.00", .to_fund = "medical")), CU_VERDICT_DENY);
	expect_close(&w, "2026-11", one, 1);
	/* December: a medical refund out of an income account that is empty;
	 * the expenditure and fiscal accounts are not judged */
	judge(&w, TX(REFUND, .fund = "medical", .from_no = "INC-M", .amount = "10.00",
		.period = "2026-12", .person = "-"));
	assert_int_equal(w.d.verdict, CU_VERDICT_ALLOW);
	judge(&w, TX(BENEFIT, .amount = "10.00", .period = "2026-12", .fund = "unemployment"));
	expect_close(&w, "2026-12", two, 2);
	world_free(&w);

	/* the classes and the funds scope are parameters */
	world_init(&w, with_rules("rules = ( { id = \"C-2\"; check = \"close\"; title = \"t\"; "
		"severity = \"finding\"; scope = { funds = [ \"medical\" ]; }; "
		"classes = [ \"income\", \"fiscal\" ]; } );"));
	judge(&w, TX(CONTRIB, .amount = "1000.00"));
	judge(&w, TX(TRANSFER, .fund = "medical", .from_no = "INC-M", .to_no = "FIS-M",
		.amount = "1.00"));
	expect_ok(cu_policy_close(w.p, 2026 * 12 + 10, &w.st, &w.d));
	assert_int_equal(w.d.n, 2);
	assert_string_equal(w.d.findings[0].message, "income account INC-M (medical) has a balance "
		"of -1.00 at the close of 2026-11, expected 0.00");
	assert_string_equal(w.d.findings[1].message, "fiscal account FIS-M (medical) has a balance "
		"of 1.00 at the close of 2026-11, expected 0.00");
	/* a long account number is shown masked, like an ID number */
	judge(&w, TX(CONTRIB, .fund = "medical", .to_no = "3501010020012233445", .amount = "5.00"));
	expect_ok(cu_policy_close(w.p, 2026 * 12 + 10, &w.st, &w.d));
	assert_int_equal(w.d.n, 3);
	assert_string_equal(w.d.findings[2].message, "income account 350101*********3445 (medical) "
		"has a balance of 5.00 at the close of 2026-11, expected 0.00");
	world_free(&w);
}

/* ---- decisions, scope, state ------------------------------------------------ */

static void
test_decision_json(void **state)
{
	struct world w;
	json_t *j = NULL;
	char *text = NULL;
	size_t len;
	char want[1024];

	(void)state;
	world_init(&w, shipped());
	peek(&w, TX(BENEFIT, .reviewer = "-", .posted = "2026-11-21T10:00:00+08:00"));
	assert_int_equal(w.d.verdict, CU_VERDICT_DENY);
	expect_ok(cu_decision_json(&j, &w.d));
	expect_ok(cu_canon(&text, &len, j));
	snprintf(want, sizeof(want), "{\"findings\":["
		"{\"message\":\"reviewer missing\",\"rule\":\"SOD-1\",\"severity\":\"deny\"},"
		"{\"message\":\"no qualification on record for the person\",\"rule\":\"QUAL-1\",\"severity\":\"review\"},"
		"{\"message\":\"posted on a Saturday at 10:00:00 (+08:00), outside the working hours "
		"08:00:00-18:00:00 mon tue wed thu fri\",\"rule\":\"TIME-1\",\"severity\":\"note\"}],"
		"\"policy\":\"%s\",\"verdict\":\"deny\"}", cu_policy_digest(w.p));
	assert_string_equal(text, want);
	free(text);
	json_decref(j);
	/* the same decision struct serves again: earlier findings are gone */
	peek(&w, TX(CONTRIB));
	assert_int_equal(w.d.n, 0);
	assert_int_equal(w.d.verdict, CU_VERDICT_ALLOW);
	world_free(&w);
}

/* Scopes by fund and scheme, two rules of one check, an empty policy. */
static void
test_scope(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, with_rules(
		"rules = (\n"
		" { id = \"VEL-M\"; check = \"velocity\"; title = \"medical\"; severity = \"review\";\n"
		"   scope = { funds = [ \"medical\" ]; }; limit = \"100.00\"; },\n"
		" { id = \"VEL-R\"; check = \"velocity\"; title = \"resident\"; severity = \"deny\";\n"
		"   scope = { schemes = [ \"resident\" ]; kinds = [ \"benefit_payment\" ]; }; limit = \"200.00\"; }\n"
		");\n"));
	judge(&w, TX(CONTRIB, .fund = "medical", .amount = "100.00"));
	expect_quiet(&w, "VEL-M");
	judge(&w, TX(REFUND, .fund = "pension", .amount = "100.00"));   /* not medical */
	peek(&w, TX(BENEFIT, .fund = "medical", .amount = "0.01"));
	expect_fired(&w, "VEL-M", "maker op-017's total on 2026-11-20 would be 100.01, above the "
		"limit of 100.00");
	expect_quiet(&w, "VEL-R");
	assert_int_equal(w.d.verdict, CU_VERDICT_REVIEW);
	peek(&w, TX(BENEFIT, .scheme = "resident", .amount = "200.01"));
	expect_fired(&w, "VEL-R", NULL);
	expect_quiet(&w, "VEL-M");
	assert_int_equal(w.d.verdict, CU_VERDICT_DENY);
	world_free(&w);

	world_init(&w, with_rules("rules = ();"));
	assert_int_equal(judge(&w, TX(BENEFIT, .reviewer = "-", .from_class = "income")),
		CU_VERDICT_ALLOW);
	assert_int_equal(w.d.n, 0);
	world_free(&w);

	cu_policy_scope s = { 0, 0, 0 };
	assert_true(cu_policy_scope_match(&s, CU_KIND_INTEREST, CU_FUND_MATERNITY, CU_SCHEME_RESIDENT));
	s.funds = 1u << CU_FUND_MEDICAL;
	assert_false(cu_policy_scope_match(&s, CU_KIND_INTEREST, CU_FUND_MATERNITY, CU_SCHEME_RESIDENT));
	assert_true(cu_policy_scope_match(&s, CU_KIND_INTEREST, CU_FUND_MEDICAL, CU_SCHEME_RESIDENT));
}

static int
failing_total(void *payload, const char *maker, int64_t day, const cu_policy_scope *scope,
	int64_t *fen)
{
	(void)payload; (void)maker; (void)day; (void)scope;
	*fen = 0;
	return cu_error_set(CU_ERROR, "state unreadable");
}

static void
test_state_errors(void **state)
{
	struct world w;
	json_t *t;

	(void)state;
	world_init(&w, shipped());
	/* a rule whose callback is missing cannot judge */
	w.st.death_month = NULL;
	t = TX(BENEFIT);
	assert_int_equal(cu_policy_eval(w.p, t, &w.st, &w.d), CU_EINVALID);
	assert_string_equal(cu_error_last(), "policy state has no death_month (needed by DEATH-1)");
	/* ... but one no rule in scope needs is not asked for */
	json_t *c = TX(CONTRIB);
	expect_ok(cu_policy_eval(w.p, c, &w.st, &w.d));
	json_decref(c);
	/* a state error is passed on */
	cu_pstate_iface(&w.st, w.s);
	w.st.maker_day_total = failing_total;
	assert_int_equal(cu_policy_eval(w.p, t, &w.st, &w.d), CU_ERROR);
	assert_string_equal(cu_error_last(), "state unreadable");
	/* the input must be a validated transaction */
	json_object_set_new(t, "kind", json_string("bonus"));
	assert_int_equal(cu_policy_eval(w.p, t, &w.st, &w.d), CU_EINVALID);
	json_decref(t);
	assert_int_equal(cu_policy_eval(w.p, NULL, &w.st, &w.d), CU_EINVALID);
	/* period close needs each_balance */
	w.st.each_balance = NULL;
	assert_int_equal(cu_policy_close(w.p, 2026 * 12, &w.st, &w.d), CU_EINVALID);
	assert_string_equal(cu_error_last(), "policy state has no each_balance (needed by CLOSE-1)");
	world_free(&w);
}

/* A month of an agency's work, judged in order with the shipped policy:
 * every decision as expected, then the close. */
static void
test_sequence(void **state)
{
	struct world w;
	const struct { json_t *txn; int verdict; const char *rules; } seq[] = {
		{ TX(QUALIFY, .person = P1, .event = "2026-01-10", .posted = "2026-01-12T09:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(QUALIFY, .person = P2, .event = "2026-06-01", .posted = "2026-06-02T09:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(CONTRIB, .person = P3, .amount = "1280.00", .posted = "2026-11-02T09:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(CONTRIB, .person = P4, .amount = "3200.00", .base = "40000.00", .posted = "2026-11-02T09:05:00+08:00"), CU_VERDICT_REVIEW, "BASE-1" },
		{ TX(BENEFIT, .person = P1, .posted = "2026-11-05T10:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(BENEFIT, .person = P1, .posted = "2026-11-05T10:01:00+08:00"), CU_VERDICT_DENY, "DUP-1" },
		{ TX(BENEFIT, .person = P1, .scheme = "resident", .posted = "2026-11-05T10:02:00+08:00"), CU_VERDICT_REVIEW, "DUP-2" },
		{ TX(DEATH, .person = P2, .event = "2026-10-20", .posted = "2026-11-06T11:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(BENEFIT, .person = P2, .posted = "2026-11-06T11:30:00+08:00"), CU_VERDICT_DENY, "DEATH-1" },
		{ TX(ACCOUNT, .person = P5, .event = "2026-11-09", .posted = "2026-11-09T09:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(QUALIFY, .person = P5, .event = "2026-11-09", .posted = "2026-11-09T09:10:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(BENEFIT, .person = P5, .posted = "2026-11-10T09:00:00+08:00"), CU_VERDICT_REVIEW, "ACCT-1" },
		{ TX(BENEFIT, .person = P5, .period = "2026-12", .posted = "2026-12-10T09:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(TRANSFER, .amount = "1280.00", .maker = "op-032", .reviewer = "op-034", .posted = "2026-11-30T16:00:00+08:00"), CU_VERDICT_ALLOW, "" },
		{ TX(TRANSFER, .amount = "80000.00", .maker = "op-032", .reviewer = "op-034", .approver = "op-032", .from_class = "income", .to_class = "expenditure", .posted = "2026-11-30T19:00:00+08:00"), CU_VERDICT_DENY, "SOD-1 AUTH-1 FLOW-1 TIME-1" },
	};
	char got[128];

	(void)state;
	world_init(&w, shipped());
	for (size_t i = 0; i < sizeof(seq) / sizeof(*seq); i++) {
		size_t used = 0;

		judge(&w, seq[i].txn);
		got[0] = '\0';
		for (size_t k = 0; k < w.d.n; k++)
			used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", k ? " " : "",
				w.d.findings[k].rule);
		if (w.d.verdict != seq[i].verdict || strcmp(got, seq[i].rules) != 0)
			fail_msg("transaction %zu: %s [%s], expected %s [%s]", i + 1,
				cu_policy_verdicts[w.d.verdict], got, cu_policy_verdicts[seq[i].verdict],
				seq[i].rules);
	}
	/* the reviewed contribution was not posted: 1,280.00 in, 1,280.00 out */
	expect_close(&w, "2026-11", NULL, 0);
	world_free(&w);
}

/* Messages name rules, staff, amounts, dates and accounts, never a person. */
static void
test_messages_hide_persons(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, shipped());
	for (size_t i = 0; i < sizeof(all_ids) / sizeof(*all_ids); i++) {
		judge(&w, TX(DEATH, .person = all_ids[i], .event = "2026-01-01"));
		judge(&w, TX(ACCOUNT, .person = all_ids[i], .event = "2026-11-19"));
		judge(&w, TX(BENEFIT, .person = all_ids[i]));
		assert_true(w.d.n >= 3);      /* DEATH-1, QUAL-1, ACCT-1 at least */
		judge(&w, TX(BENEFIT, .person = all_ids[i], .to_no = P1, .to_class = "payer",
			.maker = P2, .approver = P3, .reviewer = P4));
		for (size_t k = 0; k < w.d.n; k++)
			assert_null(strstr(w.d.findings[k].message, "\xe5\xbc\xa0"));  /* the name */
	}
	world_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_policy),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_parameter_errors),
		cmocka_unit_test(test_staff_errors),
		cmocka_unit_test(test_check_text),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_allowed_payment),
		cmocka_unit_test(test_sod1),
		cmocka_unit_test(test_auth1),
		cmocka_unit_test(test_dup1),
		cmocka_unit_test(test_dup2),
		cmocka_unit_test(test_death1),
		cmocka_unit_test(test_qual1),
		cmocka_unit_test(test_acct1),
		cmocka_unit_test(test_flow1),
		cmocka_unit_test(test_fund1),
		cmocka_unit_test(test_base1),
		cmocka_unit_test(test_time1),
		cmocka_unit_test(test_vel1),
		cmocka_unit_test(test_close1),
		cmocka_unit_test(test_decision_json),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_state_errors),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_messages_hide_persons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
