/*
 * fund.c — fund transactions: validation and the typed view (see
 * custos/fund.h, docs/fund-control.md).
 *
 * The checks are the receipt validator's own (record.h's field helpers,
 * cu_money_parse, cu_time_parse, the check-digit functions), so that a fund
 * transaction and a receipt are judged by one set of rules.  Which fields a
 * kind needs is one table, kind_fields below.  There is no floating point:
 * amounts are integer fen from the first digit on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/error.h"
#include "custos/fund.h"
#include "custos/record.h"
#include "custos/util.h"

const char *const cu_fund_kinds[] = {
	"contribution", "benefit_payment", "refund", "transfer", "interest",
	"account_change", "qualification", "death_report", NULL
};
const char *const cu_fund_codes[] = {
	"pension", "medical", "work_injury", "unemployment", "maternity", NULL
};
const char *const cu_fund_schemes[] = { "employee", "resident", NULL };
const char *const cu_account_classes[] = {
	"income", "expenditure", "fiscal", "payer", "beneficiary", NULL
};

static const char *const top_fields[] = {
	"type", "txn_no", "kind", "fund", "scheme", "amount", "period", "posted_at",
	"from_account", "to_account", "person", "org", "base", "event_date",
	"maker", "reviewer", "approver", "ext", NULL
};
static const char *const account_fields[] = { "no", "class", "fund", NULL };
static const char *const person_fields[] = { "id_no", "name", NULL };
static const char *const org_fields[] = { "uscc", "name", NULL };

/* How a kind treats a field: refused (a value that would be ignored looks
 * like a fact that was checked), optional, or required. */
enum { NOT_USED, OPTIONAL, REQUIRED };

struct kind_fields {
	char amount, period, from, to, person, org, base, event;
	char party;    /* 1: a person or an org (or both) is required */
};

static const struct kind_fields kind_fields[CU_KIND_COUNT] = {
	[CU_KIND_CONTRIBUTION] = { REQUIRED, REQUIRED, REQUIRED, REQUIRED,
		OPTIONAL, OPTIONAL, REQUIRED, NOT_USED, 1 },
	[CU_KIND_BENEFIT_PAYMENT] = { REQUIRED, REQUIRED, REQUIRED, REQUIRED,
		REQUIRED, NOT_USED, NOT_USED, NOT_USED, 0 },
	[CU_KIND_REFUND] = { REQUIRED, REQUIRED, REQUIRED, REQUIRED,
		OPTIONAL, OPTIONAL, NOT_USED, NOT_USED, 1 },
	[CU_KIND_TRANSFER] = { REQUIRED, REQUIRED, REQUIRED, REQUIRED,
		NOT_USED, NOT_USED, NOT_USED, NOT_USED, 0 },
	[CU_KIND_INTEREST] = { REQUIRED, REQUIRED, NOT_USED, REQUIRED,
		NOT_USED, NOT_USED, NOT_USED, NOT_USED, 0 },
	[CU_KIND_ACCOUNT_CHANGE] = { NOT_USED, OPTIONAL, NOT_USED, NOT_USED,
		REQUIRED, NOT_USED, NOT_USED, REQUIRED, 0 },
	[CU_KIND_QUALIFICATION] = { NOT_USED, OPTIONAL, NOT_USED, NOT_USED,
		REQUIRED, NOT_USED, NOT_USED, REQUIRED, 0 },
	[CU_KIND_DEATH_REPORT] = { NOT_USED, OPTIONAL, NOT_USED, NOT_USED,
		REQUIRED, NOT_USED, NOT_USED, REQUIRED, 0 },
};

int
cu_fund_lookup(const char *const *list, const char *s)
{
	return s == NULL ? -1 : cu_list_find(list, s, strlen(s));
}

int
cu_fund_kind_moves_money(int kind)
{
	return kind >= 0 && kind < CU_KIND_COUNT && kind_fields[kind].amount == REQUIRED;
}

/* ---- validation --------------------------------------------------------- */

/* Sets obj[key] to a copy of s[0..len).  0 or CU_ERROR. */
static int
put_text(json_t *obj, const char *key, const char *s, size_t len)
{
	if (json_object_set_new(obj, key, json_stringn(s, len)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* Sets obj[key] to the integer v.  0 or CU_ERROR. */
static int
put_int(json_t *obj, const char *key, int64_t v)
{
	if (json_object_set_new(obj, key, json_integer(v)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* Applies a kind's use of a field: 1 when the member should be read, 0
 * when it is absent and optional, or CU_EINVALID when it is missing or
 * not used by the kind. */
static int
field_use(const json_t *in, const char *key, int use, int kind)
{
	int present = json_object_get(in, key) != NULL;

	if (use == NOT_USED && present)
		return cu_field_fail(key, "not used by kind %s", cu_fund_kinds[kind]);
	if (use == REQUIRED && !present)
		return cu_field_fail(key, "missing (required for kind %s)", cu_fund_kinds[kind]);
	return present;
}

/* Copies a required code member (1..max bytes, see cu_field_code). */
static int
take_code(json_t *out, const json_t *in, const char *key, size_t max, int slash,
	int required)
{
	const char *s;
	size_t len;
	int error;

	if ((error = cu_field_text(&s, &len, in, key, key, required, 0)) != 0)
		return error < 0 ? error : 0;
	if ((error = cu_field_code(key, s, len, max, slash)) < 0)
		return error;
	return put_text(out, key, s, len);
}

/* Copies a required enumerated member and returns its index (>= 0), or a
 * negative code. */
static int
take_enum(json_t *out, const json_t *in, const char *key, const char *const *list)
{
	int error;

	if ((error = cu_field_enum(out, in, key, key, list)) < 0)
		return error;
	return cu_fund_lookup(list, json_string_value(json_object_get(out, key)));
}

/* A money member (yuan as a decimal string, more than 0) stored as
 * integer fen under out_key. */
static int
take_money(json_t *out, const json_t *in, const char *key, const char *out_key)
{
	const json_t *v = json_object_get(in, key);
	const char *s;
	size_t len;
	int64_t fen;
	int error;

	if (!json_is_string(v))
		return cu_field_fail(key, "must be a decimal string");
	if ((error = cu_field_text(&s, &len, in, key, key, 1, 0)) < 0)
		return error;
	if (cu_money_parse(&fen, s) < 0)
		return cu_error_prefix(CU_EINVALID, "%s", key);
	if (fen <= 0)
		return cu_field_fail(key, "must be more than 0");
	return put_int(out, out_key, fen);
}

/* period: "YYYY-MM", copied as given. */
static int
take_period(json_t *out, const json_t *in)
{
	const char *s;
	size_t len;
	int month, error;

	if ((error = cu_field_text(&s, &len, in, "period", "period", 1, 0)) < 0)
		return error;
	if (cu_month_parse(&month, s) < 0)
		return cu_error_prefix(CU_EINVALID, "period");
	return put_text(out, "period", s, len);
}

/* posted_at: RFC 3339, copied as given; *t is the parsed time. */
static int
take_posted(json_t *out, const json_t *in, cu_time *t)
{
	const char *s;
	size_t len;
	int error;

	if ((error = cu_field_text(&s, &len, in, "posted_at", "posted_at", 1, 0)) < 0)
		return error;
	if (cu_time_parse(t, s) < 0)
		return cu_error_prefix(CU_EINVALID, "posted_at");
	return put_text(out, "posted_at", s, len);
}

/* from_account or to_account: {"no", "class", "fund"?}. */
static int
take_account(json_t *out, const json_t *in, const char *key)
{
	const json_t *acct = json_object_get(in, key);
	json_t *res = NULL;
	char field[32], prefix[32];
	const char *s;
	size_t len;
	int error;

	if (!json_is_object(acct))
		return cu_field_fail(key, "must be an object");
	snprintf(prefix, sizeof(prefix), "%s.", key);
	if ((error = cu_field_unknown(acct, account_fields, prefix)) < 0)
		return error;
	if ((res = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	snprintf(field, sizeof(field), "%s.no", key);
	if ((error = cu_field_text(&s, &len, acct, "no", field, 1, 0)) < 0 ||
	    (error = cu_field_code(field, s, len, CU_ACCOUNT_NO_MAX, 0)) < 0 ||
	    (error = put_text(res, "no", s, len)) < 0)
		goto done;
	snprintf(field, sizeof(field), "%s.class", key);
	if ((error = cu_field_enum(res, acct, "class", field, cu_account_classes)) < 0)
		goto done;
	snprintf(field, sizeof(field), "%s.fund", key);
	if (json_object_get(acct, "fund") != NULL &&
	    (error = cu_field_enum(res, acct, "fund", field, cu_fund_codes)) < 0)
		goto done;
	if (json_object_set(out, key, res) < 0)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	json_decref(res);
	return error;
}

/* person {"id_no", "name"} or org {"uscc", "name"}.  The ID number is
 * normalised (upper-case X) and never quoted in a message. */
static int
take_party(json_t *out, const json_t *in, int org)
{
	const char *key = org ? "org" : "person";
	const json_t *obj = json_object_get(in, key);
	json_t *res = NULL;
	const char *s, *field = org ? "org.uscc" : "person.id_no";
	char norm[19];
	size_t len;
	int error;

	if (!json_is_object(obj))
		return cu_field_fail(key, "must be an object");
	if ((error = cu_field_unknown(obj, org ? org_fields : person_fields,
	    org ? "org." : "person.")) < 0)
		return error;
	if ((error = cu_field_text(&s, &len, obj, org ? "uscc" : "id_no", field, 1, 0)) < 0)
		return error;
	if ((org ? cu_uscc_check(s) : cu_idno_check(s)) < 0)
		return cu_error_prefix(CU_EINVALID, "%s", field);
	if ((res = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if (org) {
		error = put_text(res, "uscc", s, len);
	} else {
		cu_idno_normalize(norm, s);
		error = put_text(res, "id_no", norm, strlen(norm));
	}
	if (error < 0 ||
	    (error = cu_field_name(res, obj, org ? "org.name" : "person.name")) < 0)
		goto done;
	if (json_object_set(out, key, res) < 0)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	json_decref(res);
	return error;
}

/* event_date: "YYYY-MM-DD", not after the calendar day of posted_at in
 * posted_at's own offset (an event is reported after it happened). */
static int
take_event(json_t *out, const json_t *in, const cu_time *posted)
{
	const char *s;
	size_t len;
	int64_t day;
	int error;

	if ((error = cu_field_text(&s, &len, in, "event_date", "event_date", 1, 0)) < 0)
		return error;
	if (cu_day_parse(&day, s) < 0)
		return cu_error_prefix(CU_EINVALID, "event_date");
	if (day > cu_civil_days(posted->year, posted->month, posted->day))
		return cu_field_fail("event_date", "after the date of posted_at");
	return put_text(out, "event_date", s, len);
}

/* Validates the fields after type, txn_no and kind into res. */
static int
validate_body(json_t *res, const json_t *in, int kind)
{
	const struct kind_fields *kf = &kind_fields[kind];
	cu_time posted;
	int fund, scheme, use, error;

	if ((fund = take_enum(res, in, "fund", cu_fund_codes)) < 0)
		return fund;
	if ((scheme = take_enum(res, in, "scheme", cu_fund_schemes)) < 0)
		return scheme;
	if (scheme == CU_SCHEME_RESIDENT && fund != CU_FUND_PENSION && fund != CU_FUND_MEDICAL)
		return cu_field_fail("scheme", "resident exists only for pension and medical");
	if ((use = field_use(in, "amount", kf->amount, kind)) < 0 ||
	    (use && (error = take_money(res, in, "amount", "amount_fen")) < 0))
		return use < 0 ? use : error;
	if ((use = field_use(in, "period", kf->period, kind)) < 0 ||
	    (use && (error = take_period(res, in)) < 0))
		return use < 0 ? use : error;
	if ((error = take_posted(res, in, &posted)) < 0)
		return error;
	if ((use = field_use(in, "from_account", kf->from, kind)) < 0 ||
	    (use && (error = take_account(res, in, "from_account")) < 0))
		return use < 0 ? use : error;
	if ((use = field_use(in, "to_account", kf->to, kind)) < 0 ||
	    (use && (error = take_account(res, in, "to_account")) < 0))
		return use < 0 ? use : error;
	if (kf->party && json_object_get(in, "person") == NULL &&
	    json_object_get(in, "org") == NULL)
		return cu_field_fail("person", "missing (a %s names a person or an org)",
			cu_fund_kinds[kind]);
	if ((use = field_use(in, "person", kf->person, kind)) < 0 ||
	    (use && (error = take_party(res, in, 0)) < 0))
		return use < 0 ? use : error;
	if ((use = field_use(in, "org", kf->org, kind)) < 0 ||
	    (use && (error = take_party(res, in, 1)) < 0))
		return use < 0 ? use : error;
	if ((use = field_use(in, "base", kf->base, kind)) < 0 ||
	    (use && (error = take_money(res, in, "base", "base_fen")) < 0))
		return use < 0 ? use : error;
	if ((use = field_use(in, "event_date", kf->event, kind)) < 0 ||
	    (use && (error = take_event(res, in, &posted)) < 0))
		return use < 0 ? use : error;
	if ((error = take_code(res, in, "maker", CU_CODE_MAX, 0, 1)) < 0 ||
	    (error = take_code(res, in, "reviewer", CU_CODE_MAX, 0, 0)) < 0 ||
	    (error = take_code(res, in, "approver", CU_CODE_MAX, 0, 0)) < 0)
		return error;
	return cu_field_ext(res, in);
}

/* See fund.h.  Order of checks (the first problem is reported): the input
 * is an object; no unknown member (document order); then type, txn_no,
 * kind, fund, scheme, amount, period, posted_at, from_account,
 * to_account, person, org, base, event_date, maker, reviewer, approver,
 * ext — the order of the format in docs/fund-control.md. */
int
cu_fund_validate(json_t **out, const json_t *in)
{
	json_t *res = NULL;
	const char *s;
	size_t len;
	int kind, error;

	*out = NULL;
	if (in == NULL || !json_is_object(in))
		return cu_error_set(CU_EINVALID, "fund_txn: must be an object");
	if ((error = cu_field_unknown(in, top_fields, "")) < 0)
		return error;
	if ((error = cu_field_text(&s, &len, in, "type", "type", 1, 0)) < 0)
		return error;
	if (len != 8 || memcmp(s, "fund_txn", 8) != 0)
		return cu_field_fail("type", "must be \"fund_txn\"");
	if ((res = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = put_text(res, "type", "fund_txn", 8)) < 0 ||
	    (error = take_code(res, in, "txn_no", CU_TXN_NO_MAX, 1, 1)) < 0)
		goto done;
	if ((kind = error = take_enum(res, in, "kind", cu_fund_kinds)) < 0)
		goto done;
	if ((error = validate_body(res, in, kind)) < 0)
		goto done;
	*out = res;
	res = NULL;
done:
	json_decref(res);
	return error < 0 ? error : 0;
}

/* See fund.h. */
char *
cu_fund_key(const json_t *txn)
{
	const char *no = json_string_value(json_object_get(txn, "txn_no"));

	if (no == NULL) {
		cu_error_set(CU_EINVALID, "fund_txn: txn_no is required");
		return NULL;
	}
	return cu_asprintf("txn/%s", no);
}

/* ---- the typed view ----------------------------------------------------- */

/* An enumerated string member of obj as its index in list, or -1. */
static int
member_code(const json_t *obj, const char *key, const char *const *list)
{
	return cu_fund_lookup(list, json_string_value(json_object_get(obj, key)));
}

/* Fills an account of the view; 0 when absent. */
static int
view_account(cu_fund_account *a, const json_t *txn, const char *key, int txn_fund)
{
	const json_t *obj = json_object_get(txn, key);

	memset(a, 0, sizeof(*a));
	if (obj == NULL)
		return 0;
	a->no = json_string_value(json_object_get(obj, "no"));
	a->cls = member_code(obj, "class", cu_account_classes);
	a->own_fund = json_object_get(obj, "fund") != NULL;
	a->fund = a->own_fund ? member_code(obj, "fund", cu_fund_codes) : txn_fund;
	if (a->no == NULL || a->cls < 0 || a->fund < 0)
		return cu_error_set(CU_EINVALID, "fund_txn: %s: not a validated account", key);
	a->present = 1;
	return 0;
}

/* See fund.h.  Everything is read back from the normalised form, which
 * cu_fund_validate has checked; the checks here only keep a caller that
 * passes something else from reading garbage. */
int
cu_fund_view(cu_fund_txn *out, const json_t *txn)
{
	const json_t *v;
	const char *s;
	int64_t local;
	int error;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(txn))
		return cu_error_set(CU_EINVALID, "fund_txn: must be an object");
	out->txn_no = json_string_value(json_object_get(txn, "txn_no"));
	out->kind = member_code(txn, "kind", cu_fund_kinds);
	out->fund = member_code(txn, "fund", cu_fund_codes);
	out->scheme = member_code(txn, "scheme", cu_fund_schemes);
	out->maker = json_string_value(json_object_get(txn, "maker"));
	if (out->txn_no == NULL || out->kind < 0 || out->fund < 0 || out->scheme < 0 ||
	    out->maker == NULL)
		return cu_error_set(CU_EINVALID,
			"fund_txn: txn_no, kind, fund, scheme or maker missing or invalid");
	out->reviewer = json_string_value(json_object_get(txn, "reviewer"));
	out->approver = json_string_value(json_object_get(txn, "approver"));
	if (cu_time_parse(&out->posted, json_string_value(json_object_get(txn, "posted_at"))) < 0)
		return cu_error_prefix(CU_EINVALID, "fund_txn: posted_at");
	local = out->posted.epoch + (int64_t)out->posted.offset_min * 60;
	out->posted_day = cu_civil_days(out->posted.year, out->posted.month, out->posted.day);
	out->posted_sec = (int)(local - out->posted_day * 86400);
	/* 1970-01-01 was a Thursday */
	out->posted_wday = (int)(((out->posted_day % 7) + 7 + 4) % 7);
	if ((v = json_object_get(txn, "amount_fen")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return cu_error_set(CU_EINVALID, "fund_txn: amount_fen: not a positive integer");
		out->amount_fen = json_integer_value(v);
	} else if (cu_fund_kind_moves_money(out->kind)) {
		return cu_error_set(CU_EINVALID, "fund_txn: amount_fen: missing");
	}
	if ((v = json_object_get(txn, "base_fen")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return cu_error_set(CU_EINVALID, "fund_txn: base_fen: not a positive integer");
		out->has_base = 1;
		out->base_fen = json_integer_value(v);
	}
	if ((s = json_string_value(json_object_get(txn, "period"))) != NULL) {
		if (cu_month_parse(&out->period, s) < 0)
			return cu_error_prefix(CU_EINVALID, "fund_txn: period");
		out->has_period = 1;
	}
	if ((s = json_string_value(json_object_get(txn, "event_date"))) != NULL) {
		if (cu_day_parse(&out->event_day, s) < 0)
			return cu_error_prefix(CU_EINVALID, "fund_txn: event_date");
		out->has_event = 1;
	}
	if ((error = view_account(&out->from, txn, "from_account", out->fund)) < 0 ||
	    (error = view_account(&out->to, txn, "to_account", out->fund)) < 0)
		return error;
	out->person_id = json_string_value(json_object_get(json_object_get(txn, "person"), "id_no"));
	out->org_uscc = json_string_value(json_object_get(json_object_get(txn, "org"), "uscc"));
	return 0;
}
