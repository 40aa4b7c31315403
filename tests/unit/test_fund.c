/* test_fund.c — fund transaction validation and the typed view (src/fund.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/record.h"

#define ID1 "11010519491231002X"
#define ID1_LOWER "11010519491231002x"
#define ID2 "440524188001010014"
#define USCC "91350100M000100Y43"

/* One valid transaction of each kind. */
static const char *const valid[CU_KIND_COUNT] = {
	[CU_KIND_CONTRIBUTION] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000001\",\"kind\":\"contribution\","
	"\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":\"1280.00\",\"period\":\"2026-11\","
	"\"posted_at\":\"2026-11-20T10:02:00+08:00\","
	"\"from_account\":{\"no\":\"PAY-0001\",\"class\":\"payer\"},"
	"\"to_account\":{\"no\":\"INC-P-01\",\"class\":\"income\"},"
	"\"person\":{\"id_no\":\"" ID1_LOWER "\",\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\"},"
	"\"org\":{\"uscc\":\"" USCC "\",\"name\":\"Fuzhou Example Co.\"},"
	"\"base\":\"8000.00\",\"maker\":\"op-017\",\"ext\":{\"batch\":\"B7\"}}",
	[CU_KIND_BENEFIT_PAYMENT] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000002\",\"kind\":\"benefit_payment\","
	"\"fund\":\"pension\",\"scheme\":\"resident\",\"amount\":\"3250.00\",\"period\":\"2026-11\","
	"\"posted_at\":\"2026-11-20T10:02:00+08:00\","
	"\"from_account\":{\"no\":\"EXP-P-01\",\"class\":\"expenditure\"},"
	"\"to_account\":{\"no\":\"6222020200112233\",\"class\":\"beneficiary\"},"
	"\"person\":{\"id_no\":\"" ID2 "\",\"name\":\"Li Si\"},"
	"\"maker\":\"op-017\",\"reviewer\":\"op-020\",\"approver\":\"op-031\"}",
	[CU_KIND_REFUND] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000003\",\"kind\":\"refund\","
	"\"fund\":\"medical\",\"scheme\":\"employee\",\"amount\":\"12.50\",\"period\":\"2026-10\","
	"\"posted_at\":\"2026-11-20T10:02:00+08:00\","
	"\"from_account\":{\"no\":\"INC-M-01\",\"class\":\"income\"},"
	"\"to_account\":{\"no\":\"PAY-0001\",\"class\":\"payer\"},"
	"\"org\":{\"uscc\":\"" USCC "\",\"name\":\"Fuzhou Example Co.\"},"
	"\"maker\":\"op-017\",\"reviewer\":\"op-020\",\"approver\":\"op-031\"}",
	[CU_KIND_TRANSFER] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000004\",\"kind\":\"transfer\","
	"\"fund\":\"work_injury\",\"scheme\":\"employee\",\"amount\":\"500000\",\"period\":\"2026-11\","
	"\"posted_at\":\"2026-11-30T16:00:00+08:00\","
	"\"from_account\":{\"no\":\"INC-W-01\",\"class\":\"income\"},"
	"\"to_account\":{\"no\":\"FIS-W-01\",\"class\":\"fiscal\",\"fund\":\"work_injury\"},"
	"\"maker\":\"op-032\",\"reviewer\":\"op-034\",\"approver\":\"op-033\"}",
	[CU_KIND_INTEREST] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000005\",\"kind\":\"interest\","
	"\"fund\":\"unemployment\",\"scheme\":\"employee\",\"amount\":\"0.01\",\"period\":\"2026-12\","
	"\"posted_at\":\"2026-12-21T09:00:00Z\","
	"\"to_account\":{\"no\":\"FIS-U-01\",\"class\":\"fiscal\"},\"maker\":\"op-032\"}",
	[CU_KIND_ACCOUNT_CHANGE] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000006\",\"kind\":\"account_change\","
	"\"fund\":\"pension\",\"scheme\":\"employee\",\"posted_at\":\"2026-10-03T09:00:00+08:00\","
	"\"person\":{\"id_no\":\"" ID1 "\",\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\"},"
	"\"event_date\":\"2026-10-03\",\"maker\":\"op-017\",\"reviewer\":\"op-020\","
	"\"approver\":\"op-031\"}",
	[CU_KIND_QUALIFICATION] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000007\",\"kind\":\"qualification\","
	"\"fund\":\"pension\",\"scheme\":\"resident\",\"period\":\"2026-01\","
	"\"posted_at\":\"2026-01-05T09:00:00+08:00\","
	"\"person\":{\"id_no\":\"" ID2 "\",\"name\":\"Li Si\"},"
	"\"event_date\":\"2025-12-30\",\"maker\":\"op-011\"}",
	[CU_KIND_DEATH_REPORT] =
	"{\"type\":\"fund_txn\",\"txn_no\":\"T-2026-000008\",\"kind\":\"death_report\","
	"\"fund\":\"maternity\",\"scheme\":\"employee\",\"posted_at\":\"2026-11-01T00:30:00+08:00\","
	"\"person\":{\"id_no\":\"" ID2 "\",\"name\":\"Li Si\"},"
	"\"event_date\":\"2026-11-01\",\"maker\":\"op-011\"}",
};

static void
expect_ok(int rc)
{
	if (rc != 0)
		fail_msg("expected success, got %d (\"%s\")", rc, cu_error_last());
}

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (v == NULL)
		fail_msg("test JSON does not parse: %s", jerr.text);
	return v;
}

/* A valid transaction of the kind with member key replaced by the JSON
 * text value (NULL deletes it).  key may be "a.b" for a member of a
 * member. */
static json_t *
with(int kind, const char *key, const char *value)
{
	json_t *t = load(valid[kind]), *obj = t;
	char top[64];
	const char *dot = strchr(key, '.');

	if (dot != NULL) {
		snprintf(top, sizeof(top), "%.*s", (int)(dot - key), key);
		obj = json_object_get(t, top);
		if (obj == NULL)
			fail_msg("fixture has no %s", top);
		key = dot + 1;
	}
	if (value == NULL)
		json_object_del(obj, key);
	else
		json_object_set_new(obj, key, json_loads(value, JSON_DECODE_ANY, NULL));
	return t;
}

/* No message may hold an ID number, in either spelling, or its birth
 * date. */
static void
assert_no_id(const char *msg)
{
	const char *bad[] = { ID1, ID1_LOWER, ID2, "19491231", "18800101" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (strstr(msg, bad[i]) != NULL)
			fail_msg("message \"%s\" repeats \"%s\"", msg, bad[i]);
}

/* Validates in (consumed), expecting CU_EINVALID and exactly msg. */
static void
expect_error(json_t *in, const char *msg)
{
	json_t *out = (json_t *)1;
	int rc = cu_fund_validate(&out, in);

	if (rc != CU_EINVALID)
		fail_msg("expected \"%s\", got %d (\"%s\")", msg, rc, cu_error_last());
	assert_string_equal(cu_error_last(), msg);
	assert_null(out);
	assert_no_id(cu_error_last());
	json_decref(in);
}

/* Validates in (consumed), expecting success; returns the output. */
static json_t *
expect_valid(json_t *in)
{
	json_t *out = NULL;

	expect_ok(cu_fund_validate(&out, in));
	json_decref(in);
	return out;
}

static char *
canon(const json_t *v)
{
	char *text = NULL;
	size_t len;

	assert_int_equal(cu_canon(&text, &len, v), 0);
	return text;
}

/* ---- valid transactions ------------------------------------------------- */

static void
test_contribution_normalised(void **state)
{
	json_t *out;
	char *text;

	(void)state;
	out = expect_valid(load(valid[CU_KIND_CONTRIBUTION]));
	text = canon(out);
	assert_string_equal(text,
		"{\"amount_fen\":128000,\"base_fen\":800000,\"ext\":{\"batch\":\"B7\"},"
		"\"from_account\":{\"class\":\"payer\",\"no\":\"PAY-0001\"},"
		"\"fund\":\"pension\",\"kind\":\"contribution\",\"maker\":\"op-017\","
		"\"org\":{\"name\":\"Fuzhou Example Co.\",\"uscc\":\"" USCC "\"},"
		"\"period\":\"2026-11\",\"person\":{\"id_no\":\"" ID1 "\",\"name\":\"\xe5\xbc\xa0\xe4\xb8\x89\"},"
		"\"posted_at\":\"2026-11-20T10:02:00+08:00\",\"scheme\":\"employee\","
		"\"to_account\":{\"class\":\"income\",\"no\":\"INC-P-01\"},"
		"\"txn_no\":\"T-2026-000001\",\"type\":\"fund_txn\"}");
	free(text);
	json_decref(out);
}

static void
test_every_kind_valid(void **state)
{
	(void)state;
	for (int k = 0; k < CU_KIND_COUNT; k++) {
		json_t *out = expect_valid(load(valid[k]));

		assert_string_equal(json_string_value(json_object_get(out, "kind")), cu_fund_kinds[k]);
		assert_int_equal(json_object_get(out, "amount_fen") != NULL, cu_fund_kind_moves_money(k));
		json_decref(out);
	}
	/* transfer: "500000" is 500000.00; the account's own fund is kept */
	json_t *out = expect_valid(load(valid[CU_KIND_TRANSFER]));
	assert_int_equal(json_integer_value(json_object_get(out, "amount_fen")), 50000000);
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "to_account"),
		"fund")), "work_injury");
	assert_null(json_object_get(json_object_get(out, "from_account"), "fund"));
	json_decref(out);
}

/* The output is a copy: changing it leaves the input alone. */
static void
test_output_is_copy(void **state)
{
	json_t *in = load(valid[CU_KIND_CONTRIBUTION]), *out = NULL;

	(void)state;
	expect_ok(cu_fund_validate(&out, in));
	json_object_set_new(json_object_get(out, "ext"), "c", json_integer(3));
	json_object_set_new(json_object_get(out, "person"), "name", json_string("x"));
	assert_null(json_object_get(json_object_get(in, "ext"), "c"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(in, "person"), "name")),
		"\xe5\xbc\xa0\xe4\xb8\x89");
	json_decref(out);
	json_decref(in);
}

/* ---- what each kind needs ------------------------------------------------ */

static void
test_always_required(void **state)
{
	const char *required[] = { "type", "txn_no", "kind", "fund", "scheme", "posted_at", "maker" };

	(void)state;
	for (int k = 0; k < CU_KIND_COUNT; k++)
		for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++) {
			char msg[64];

			snprintf(msg, sizeof(msg), "%s: missing", required[i]);
			expect_error(with(k, required[i], NULL), msg);
		}
	/* reviewer, approver and ext are optional for every kind */
	for (int k = 0; k < CU_KIND_COUNT; k++) {
		json_t *t = load(valid[k]);

		json_object_del(t, "reviewer");
		json_object_del(t, "approver");
		json_object_del(t, "ext");
		json_decref(expect_valid(t));
	}
}

static void
test_money_kinds_need_money(void **state)
{
	(void)state;
	for (int k = 0; k < CU_KIND_COUNT; k++) {
		char msg[96];

		if (!cu_fund_kind_moves_money(k))
			continue;
		snprintf(msg, sizeof(msg), "amount: missing (required for kind %s)", cu_fund_kinds[k]);
		expect_error(with(k, "amount", NULL), msg);
		snprintf(msg, sizeof(msg), "period: missing (required for kind %s)", cu_fund_kinds[k]);
		expect_error(with(k, "period", NULL), msg);
		snprintf(msg, sizeof(msg), "to_account: missing (required for kind %s)", cu_fund_kinds[k]);
		expect_error(with(k, "to_account", NULL), msg);
		if (k != CU_KIND_INTEREST) {
			snprintf(msg, sizeof(msg), "from_account: missing (required for kind %s)",
				cu_fund_kinds[k]);
			expect_error(with(k, "from_account", NULL), msg);
		}
	}
	/* interest has no paying account */
	expect_error(with(CU_KIND_INTEREST, "from_account", "{\"no\":\"BANK\",\"class\":\"payer\"}"),
		"from_account: not used by kind interest");
}

static void
test_kind_specific_fields(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_CONTRIBUTION, "base", NULL),
		"base: missing (required for kind contribution)");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person", NULL),
		"person: missing (required for kind benefit_payment)");
	for (int k = CU_KIND_ACCOUNT_CHANGE; k <= CU_KIND_DEATH_REPORT; k++) {
		char msg[96];

		snprintf(msg, sizeof(msg), "person: missing (required for kind %s)", cu_fund_kinds[k]);
		expect_error(with(k, "person", NULL), msg);
		snprintf(msg, sizeof(msg), "event_date: missing (required for kind %s)", cu_fund_kinds[k]);
		expect_error(with(k, "event_date", NULL), msg);
		/* kinds that move no money refuse money fields */
		snprintf(msg, sizeof(msg), "amount: not used by kind %s", cu_fund_kinds[k]);
		expect_error(with(k, "amount", "\"10.00\""), msg);
		snprintf(msg, sizeof(msg), "from_account: not used by kind %s", cu_fund_kinds[k]);
		expect_error(with(k, "from_account", "{\"no\":\"A\",\"class\":\"income\"}"), msg);
		snprintf(msg, sizeof(msg), "to_account: not used by kind %s", cu_fund_kinds[k]);
		expect_error(with(k, "to_account", "{\"no\":\"A\",\"class\":\"income\"}"), msg);
		snprintf(msg, sizeof(msg), "base: not used by kind %s", cu_fund_kinds[k]);
		expect_error(with(k, "base", "\"8000.00\""), msg);
		/* period is optional for them */
		json_decref(expect_valid(with(k, "period", NULL)));
	}
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "base", "\"8000.00\""),
		"base: not used by kind benefit_payment");
	expect_error(with(CU_KIND_CONTRIBUTION, "event_date", "\"2026-11-01\""),
		"event_date: not used by kind contribution");
	expect_error(with(CU_KIND_TRANSFER, "person", "{\"id_no\":\"" ID1 "\",\"name\":\"x\"}"),
		"person: not used by kind transfer");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "org", "{\"uscc\":\"" USCC "\",\"name\":\"x\"}"),
		"org: not used by kind benefit_payment");
	expect_error(with(CU_KIND_DEATH_REPORT, "org", "{\"uscc\":\"" USCC "\",\"name\":\"x\"}"),
		"org: not used by kind death_report");
}

/* A contribution or a refund names who paid: a person, an org or both. */
static void
test_party(void **state)
{
	json_t *t;

	(void)state;
	t = load(valid[CU_KIND_CONTRIBUTION]);
	json_object_del(t, "person");
	json_object_del(t, "org");
	expect_error(t, "person: missing (a contribution names a person or an org)");
	t = load(valid[CU_KIND_REFUND]);
	json_object_del(t, "org");
	expect_error(t, "person: missing (a refund names a person or an org)");
	json_decref(expect_valid(with(CU_KIND_CONTRIBUTION, "org", NULL)));
	json_decref(expect_valid(with(CU_KIND_CONTRIBUTION, "person", NULL)));
	json_decref(expect_valid(with(CU_KIND_REFUND, "person",
		"{\"id_no\":\"" ID1 "\",\"name\":\"x\"}")));
}

/* ---- field rules ---------------------------------------------------------- */

static void
test_wrong_types(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "txn_no", "7"), "txn_no: must be a string");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "kind", "null"), "kind: must be a string");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "amount", "3250"), "amount: must be a decimal string");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "amount", "3250.5"), "amount: must be a decimal string");
	expect_error(with(CU_KIND_CONTRIBUTION, "base", "8000"), "base: must be a decimal string");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "202611"), "period: must be a string");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "from_account", "\"EXP-P-01\""),
		"from_account: must be an object");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person", "[]"), "person: must be an object");
	expect_error(with(CU_KIND_REFUND, "org", "\"x\""), "org: must be an object");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "to_account.no", "6222"),
		"to_account.no: must be a string");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "ext", "[1]"), "ext: must be an object");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "type", "\"receipt\""), "type: must be \"fund_txn\"");
	expect_error(json_array(), "fund_txn: must be an object");
	expect_error(json_string("x"), "fund_txn: must be an object");
}

static void
test_enumerations(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "kind", "\"bonus\""),
		"kind: must be one of contribution, benefit_payment, refund, transfer, interest, "
		"account_change, qualification, death_report");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "fund", "\"housing\""),
		"fund: must be one of pension, medical, work_injury, unemployment, maternity");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "scheme", "\"Employee\""),
		"scheme: must be one of employee, resident");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "to_account.class", "\"bank\""),
		"to_account.class: must be one of income, expenditure, fiscal, payer, beneficiary");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "from_account.fund", "\"housing\""),
		"from_account.fund: must be one of pension, medical, work_injury, unemployment, maternity");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "from_account.class", NULL),
		"from_account.class: missing");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "from_account.no", NULL),
		"from_account.no: missing");
	/* the resident scheme exists for pension and medical only */
	json_t *t = load(valid[CU_KIND_TRANSFER]);
	json_object_set_new(t, "scheme", json_string("resident"));
	expect_error(t, "scheme: resident exists only for pension and medical");
	json_decref(expect_valid(with(CU_KIND_REFUND, "scheme", "\"resident\"")));
}

static void
test_check_digits(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person.id_no", "\"440524188001010015\""),
		"person.id_no: check character is 5, expected 4");
	expect_error(with(CU_KIND_DEATH_REPORT, "person.id_no", "\"110105194912310023\""),
		"person.id_no: check character is 3, expected X");
	expect_error(with(CU_KIND_DEATH_REPORT, "person.id_no", "\"11010519491231002\""),
		"person.id_no: must be 18 characters");
	expect_error(with(CU_KIND_DEATH_REPORT, "person.id_no", "\"110105194902310026\""),
		"person.id_no: birth date is not a real date");
	expect_error(with(CU_KIND_REFUND, "org.uscc", "\"91350100M000100Y44\""),
		"org.uscc: check character is 4, expected 3");
	expect_error(with(CU_KIND_REFUND, "org.uscc", "\"91350100M00010OY43\""),
		"org.uscc: character 15 ('O') is not in the code alphabet (0-9 and A-Z without I, O, S, V, Z)");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person.id_no", NULL), "person.id_no: missing");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person.name", NULL), "person.name: missing");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person.name", "\"\""), "person.name: must not be empty");
	expect_error(with(CU_KIND_REFUND, "org.name", "\"a\\u0007b\""),
		"org.name: must not contain control characters");
	/* the ID number is normalised to upper-case X */
	json_t *out = expect_valid(load(valid[CU_KIND_CONTRIBUTION]));
	assert_string_equal(json_string_value(json_object_get(json_object_get(out, "person"), "id_no")), ID1);
	json_decref(out);
}

static void
test_bad_months(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026-13\""), "period: month must be 01-12");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026-00\""), "period: month must be 01-12");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026-1\""), "period: not a month like 2026-11");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026/11\""), "period: not a month like 2026-11");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026-11-01\""), "period: not a month like 2026-11");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026-11 \""), "period: not a month like 2026-11");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"\""), "period: not a month like 2026-11");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"1899-12\""), "period: year must be 1900 or later");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"+026-11\""), "period: not a month like 2026-11");
	json_decref(expect_valid(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"1900-01\"")));
	json_decref(expect_valid(with(CU_KIND_BENEFIT_PAYMENT, "period", "\"2026-12\"")));
	/* an optional period is still checked when given */
	expect_error(with(CU_KIND_DEATH_REPORT, "period", "\"2026-13\""), "period: month must be 01-12");
}

static void
test_amounts(void **state)
{
	(void)state;
	for (int k = 0; k < CU_KIND_COUNT; k++) {
		if (!cu_fund_kind_moves_money(k))
			continue;
		expect_error(with(k, "amount", "\"0\""), "amount: must be more than 0");
		expect_error(with(k, "amount", "\"0.00\""), "amount: must be more than 0");
		expect_error(with(k, "amount", "\"-5.00\""), "amount: must be more than 0");
		expect_error(with(k, "amount", "\"-0.00\""), "amount: negative zero is not allowed");
		expect_error(with(k, "amount", "\"1.005\""), "amount: more than two decimals");
		expect_error(with(k, "amount", "\"1e3\""), "amount: exponents are not allowed");
		expect_error(with(k, "amount", "\"10000000000000.00\""), "amount: too large");
		expect_error(with(k, "amount", "\" 1.00\""), "amount: must not contain spaces");
	}
	expect_error(with(CU_KIND_CONTRIBUTION, "base", "\"0.00\""), "base: must be more than 0");
	expect_error(with(CU_KIND_CONTRIBUTION, "base", "\"-8000.00\""), "base: must be more than 0");
	expect_error(with(CU_KIND_CONTRIBUTION, "base", "\"8000.001\""), "base: more than two decimals");

	json_t *out = expect_valid(with(CU_KIND_BENEFIT_PAYMENT, "amount", "\"0.01\""));
	assert_int_equal(json_integer_value(json_object_get(out, "amount_fen")), 1);
	json_decref(out);
	out = expect_valid(with(CU_KIND_BENEFIT_PAYMENT, "amount", "\"9999999999999.99\""));
	assert_int_equal(json_integer_value(json_object_get(out, "amount_fen")), CU_MONEY_MAX_FEN);
	json_decref(out);
}

static void
test_times_and_dates(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "posted_at", "\"2026-11-20 10:02:00+08:00\""),
		"posted_at: not an RFC 3339 date-time like 2026-11-20T09:31:00+08:00");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "posted_at", "\"2026-11-20T10:02:00\""),
		"posted_at: missing offset (Z, +hh:mm or -hh:mm)");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "posted_at", "\"2026-02-29T10:02:00Z\""),
		"posted_at: 2026-02-29 is not a real date");
	expect_error(with(CU_KIND_DEATH_REPORT, "event_date", "\"2026-02-30\""),
		"event_date: 2026-02-30 is not a real date");
	expect_error(with(CU_KIND_DEATH_REPORT, "event_date", "\"2026-10-3\""),
		"event_date: not a date like 2026-10-03");
	expect_error(with(CU_KIND_DEATH_REPORT, "event_date", "\"2026-10-03T00:00:00Z\""),
		"event_date: not a date like 2026-10-03");
	expect_error(with(CU_KIND_DEATH_REPORT, "event_date", "20261003"),
		"event_date: must be a string");
	/* an event is reported on or after its day, judged in posted_at's offset:
	 * 2026-11-01T00:30:00+08:00 is 2026-10-31 in UTC, still 11-01 here */
	expect_error(with(CU_KIND_DEATH_REPORT, "event_date", "\"2026-11-02\""),
		"event_date: after the date of posted_at");
	json_decref(expect_valid(with(CU_KIND_DEATH_REPORT, "event_date", "\"2026-11-01\"")));
	expect_error(with(CU_KIND_QUALIFICATION, "event_date", "\"2026-01-06\""),
		"event_date: after the date of posted_at");
}

static void
test_codes(void **state)
{
	char longno[80];

	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "txn_no", "\"T 1\""),
		"txn_no: character 2 is not allowed (only A-Z a-z 0-9 . _ - /)");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "txn_no", "\"\""), "txn_no: must not be empty");
	json_decref(expect_valid(with(CU_KIND_BENEFIT_PAYMENT, "txn_no", "\"T/2026.1_a-b\"")));
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "maker", "\"op 17\""),
		"maker: character 3 is not allowed (only A-Z a-z 0-9 . _ -)");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "reviewer", "\"op/20\""),
		"reviewer: character 3 is not allowed (only A-Z a-z 0-9 . _ -)");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "approver", "\"\""), "approver: must not be empty");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "maker", "\"op-0123456789012345678901234567890\""),
		"maker: longer than 32 characters");
	snprintf(longno, sizeof(longno), "\"%065d\"", 1);
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "to_account.no", longno),
		"to_account.no: longer than 64 characters");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "to_account.no", "\"6222 0202\""),
		"to_account.no: character 5 is not allowed (only A-Z a-z 0-9 . _ -)");
}

static void
test_unknown_members(void **state)
{
	(void)state;
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "colour", "\"red\""), "colour: unknown field");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "to_account.bank", "\"ICBC\""),
		"to_account.bank: unknown field");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person.phone", "\"1\""), "person.phone: unknown field");
	expect_error(with(CU_KIND_REFUND, "org.id_no", "\"" ID1 "\""), "org.id_no: unknown field");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "person.uscc", "\"" USCC "\""),
		"person.uscc: unknown field");
	/* a misspelt name is reported before the "missing" it causes */
	json_t *t = load(valid[CU_KIND_BENEFIT_PAYMENT]);
	json_object_set_new(t, "ammount", json_string("1.00"));
	json_object_del(t, "amount");
	expect_error(t, "ammount: unknown field");
	expect_error(with(CU_KIND_BENEFIT_PAYMENT, "ext", "{\"rate\":0.5}"),
		"ext.rate: real numbers are not allowed");
}

/* The first problem in the documented order is the one reported. */
static void
test_check_order(void **state)
{
	json_t *t;

	(void)state;
	t = load(valid[CU_KIND_BENEFIT_PAYMENT]);
	json_object_set_new(t, "kind", json_string("bonus"));
	json_object_set_new(t, "amount", json_string("-1"));
	expect_error(t, "kind: must be one of contribution, benefit_payment, refund, transfer, "
		"interest, account_change, qualification, death_report");
	t = load(valid[CU_KIND_BENEFIT_PAYMENT]);
	json_object_set_new(t, "amount", json_string("0"));
	json_object_set_new(t, "period", json_string("2026-13"));
	expect_error(t, "amount: must be more than 0");
	t = load(valid[CU_KIND_BENEFIT_PAYMENT]);
	json_object_set_new(json_object_get(t, "person"), "id_no", json_string("440524188001010015"));
	json_object_set_new(t, "maker", json_string(""));
	expect_error(t, "person.id_no: check character is 5, expected 4");
}

/* Every rejection of an item holding an ID number keeps it out of the
 * message, whatever field failed. */
static void
test_messages_hide_id_numbers(void **state)
{
	const char *edits[][2] = {
		{ "person.id_no", "\"11010519491231002Y\"" },
		{ "person.id_no", "\"110105194912310021\"" },
		{ "person.id_no", "\"1101051949123100X2\"" },
		{ "person.id_no", "\"11010519491231002X \"" },
		{ "person.name", "\"\"" },
		{ "person.nick", "\"11010519491231002X\"" },
		{ "maker", "\"11010519491231002X!\"" },
		{ "amount", "\"11010519491231002X\"" },
		{ "period", "\"11010519491231002X\"" },
		{ "to_account.no", "\"11010519491231002X \"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(edits) / sizeof(*edits); i++) {
		json_t *out = (json_t *)1;
		json_t *t = with(CU_KIND_BENEFIT_PAYMENT, edits[i][0], edits[i][1]);

		assert_int_equal(cu_fund_validate(&out, t), CU_EINVALID);
		assert_no_id(cu_error_last());
		json_decref(t);
	}
}

static void
test_key(void **state)
{
	json_t *out;
	char *key;

	(void)state;
	out = expect_valid(load(valid[CU_KIND_REFUND]));
	key = cu_fund_key(out);
	assert_string_equal(key, "txn/T-2026-000003");
	free(key);
	json_object_del(out, "txn_no");
	assert_null(cu_fund_key(out));
	assert_int_equal(cu_error_code(), CU_EINVALID);
	json_decref(out);
}

/* ---- the view ------------------------------------------------------------- */

static void
test_view(void **state)
{
	json_t *out;
	cu_fund_txn t;

	(void)state;
	out = expect_valid(load(valid[CU_KIND_CONTRIBUTION]));
	expect_ok(cu_fund_view(&t, out));
	assert_string_equal(t.txn_no, "T-2026-000001");
	assert_int_equal(t.kind, CU_KIND_CONTRIBUTION);
	assert_int_equal(t.fund, CU_FUND_PENSION);
	assert_int_equal(t.scheme, CU_SCHEME_EMPLOYEE);
	assert_int_equal(t.amount_fen, 128000);
	assert_true(t.has_base);
	assert_int_equal(t.base_fen, 800000);
	assert_true(t.has_period);
	assert_int_equal(t.period, 2026 * 12 + 10);
	assert_int_equal(t.posted_day, cu_civil_days(2026, 11, 20));
	assert_int_equal(t.posted_sec, 10 * 3600 + 2 * 60);
	assert_int_equal(t.posted_wday, 5);           /* 2026-11-20 is a Friday */
	assert_false(t.has_event);
	assert_true(t.from.present);
	assert_string_equal(t.from.no, "PAY-0001");
	assert_int_equal(t.from.cls, CU_ACCOUNT_PAYER);
	assert_int_equal(t.from.fund, CU_FUND_PENSION);  /* the transaction's */
	assert_false(t.from.own_fund);
	assert_int_equal(t.to.cls, CU_ACCOUNT_INCOME);
	assert_string_equal(t.person_id, ID1);
	assert_string_equal(t.org_uscc, USCC);
	assert_string_equal(t.maker, "op-017");
	assert_null(t.reviewer);
	assert_null(t.approver);
	json_decref(out);

	/* 01:00 in UTC is still the day before 08:00 there; the view uses the
	 * posting's own offset */
	out = expect_valid(with(CU_KIND_DEATH_REPORT, "posted_at", "\"2026-11-01T23:30:00-05:00\""));
	expect_ok(cu_fund_view(&t, out));
	assert_int_equal(t.posted_day, cu_civil_days(2026, 11, 1));
	assert_int_equal(t.posted_sec, 23 * 3600 + 30 * 60);
	assert_int_equal(t.posted_wday, 0);           /* a Sunday */
	assert_true(t.has_event);
	assert_int_equal(t.event_day, cu_civil_days(2026, 11, 1));
	assert_int_equal(t.amount_fen, 0);
	assert_false(t.from.present);
	assert_false(t.to.present);
	json_decref(out);

	out = expect_valid(load(valid[CU_KIND_TRANSFER]));
	expect_ok(cu_fund_view(&t, out));
	assert_true(t.to.own_fund);
	assert_int_equal(t.to.fund, CU_FUND_WORK_INJURY);
	json_object_set_new(out, "kind", json_string("bonus"));
	assert_int_equal(cu_fund_view(&t, out), CU_EINVALID);
	json_decref(out);
}

static void
test_days_and_months(void **state)
{
	int64_t day;
	int month, y, m, d;
	char buf[11];

	(void)state;
	expect_ok(cu_day_parse(&day, "1970-01-01"));
	assert_int_equal(day, 0);
	expect_ok(cu_day_parse(&day, "1969-12-31"));
	assert_int_equal(day, -1);
	expect_ok(cu_day_parse(&day, "2000-02-29"));
	cu_day_format(buf, day);
	assert_string_equal(buf, "2000-02-29");
	/* every day of four centuries goes there and back */
	for (int64_t k = cu_civil_days(1800, 1, 1); k < cu_civil_days(2200, 1, 1); k++) {
		cu_civil_from_days(k, &y, &m, &d);
		assert_int_equal(cu_civil_days(y, m, d), k);
	}
	assert_int_equal(cu_day_parse(&day, "2100-02-29"), CU_EINVALID);
	expect_ok(cu_month_parse(&month, "2026-11"));
	assert_int_equal(month, 2026 * 12 + 10);
	cu_month_format(buf, month + 2);
	assert_string_equal(buf, "2027-01");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contribution_normalised),
		cmocka_unit_test(test_every_kind_valid),
		cmocka_unit_test(test_output_is_copy),
		cmocka_unit_test(test_always_required),
		cmocka_unit_test(test_money_kinds_need_money),
		cmocka_unit_test(test_kind_specific_fields),
		cmocka_unit_test(test_party),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_enumerations),
		cmocka_unit_test(test_check_digits),
		cmocka_unit_test(test_bad_months),
		cmocka_unit_test(test_amounts),
		cmocka_unit_test(test_times_and_dates),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_unknown_members),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_messages_hide_id_numbers),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_days_and_months),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
