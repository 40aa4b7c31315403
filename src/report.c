/*
 * report.c — the internal-control audit report: the model checked, then
 * rendered as one self-contained HTML5 file with inline SVG charts, or
 * written as canonical JSON (see custos/report.h, docs/fund-control.md).
 *
 * The HTML holds no script and no reference to anything outside itself
 * (no link, no image, no web font; inline SVG in HTML5 needs no namespace
 * URL), so it reads offline and prints the same anywhere.  Every text from
 * the model goes through one escaping function.  There is no floating
 * point: chart coordinates are integer arithmetic on integer counts, money
 * is integer fen formatted by cu_money_format.  Nothing here reads a clock
 * or the environment, so a model always gives the same bytes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/record.h"
#include "custos/report.h"
#include "custos/util.h"

/* Chart colours.  Each is used only inside the charts (the tables and the
 * page use greys), so a rendered page can be checked for its charts by
 * these colours alone (tests/e2e/report.sh). */
#define COL_DENY     "#c8102e"
#define COL_REVIEW   "#f2a900"
#define COL_NOTE     "#1f6fb2"
#define COL_QUEUE    "#6a3d9a"
#define COL_MATCHED  "#2e8b57"
#define COL_NOBOOKS  "#8c564b"
#define COL_NOBANK   "#e377c2"
#define COL_DIFFERS  "#17becf"

static const char *const top_fields[] = {
	"format", "period", "archive", "policy", "generated_at", "rules",
	"decisions", "queue", "denied", "makers", "reconciliation", "closes", NULL
};
static const char *const close_fields[] = { "period", "at", "findings", NULL };
static const char *const close_finding_fields[] = { "rule", "message", NULL };
static const char *const period_fields[] = { "from", "to", NULL };
static const char *const rule_fields[] = { "id", "title", "severity", NULL };
static const char *const decision_fields[] = {
	"month", "rule", "deny", "review", "note", NULL
};
static const char *const queue_fields[] = { "items", "histogram", NULL };
static const char *const item_fields[] = { "ref", "age_days", "rules", NULL };
static const char *const bucket_fields[] = { "min_days", "max_days", "count", NULL };
static const char *const denied_fields[] = {
	"ref", "posted_at", "maker", "rules", "txn_no", "kind", "amount_fen", NULL
};
static const char *const maker_fields[] = { "maker", "deny", "review", "note", NULL };
static const char *const recon_fields[] = {
	"statement", "account", "matched", "missing_in_books", "missing_at_bank",
	"amount_differs", NULL
};
static const char *const category_fields[] = { "count", "fen", NULL };
static const char *const severities[] = { "deny", "review", "note", "finding", NULL };

/* The reconciliation categories, in the order of the model, the chart and
 * the table. */
static const struct category {
	const char *key, *label, *colour;
} categories[4] = {
	{ "matched", "一致 matched", COL_MATCHED },
	{ "missing_in_books", "账内缺失 missing in books", COL_NOBOOKS },
	{ "missing_at_bank", "银行缺失 missing at bank", COL_NOBANK },
	{ "amount_differs", "金额不符 amount differs", COL_DIFFERS },
};

#define MAX_AGE_DAYS 100000

/* ---- checking the model ------------------------------------------------ */

/* The member key of obj, which must be present (else "FIELD: missing"). */
static int
member(const json_t **out, const json_t *obj, const char *key, const char *field)
{
	if ((*out = json_object_get(obj, key)) == NULL)
		return cu_field_fail(field, "missing");
	return 0;
}

/* An object with only the listed members; prefix is "field." or "". */
static int
object_of(const json_t *v, const char *field, const char *const *known, const char *prefix)
{
	if (!json_is_object(v))
		return cu_field_fail(field, "must be an object");
	return cu_field_unknown(v, known, prefix);
}

/* A list, at most CU_REPORT_MAX_ROWS long. */
static int
list_of(const json_t *v, const char *field)
{
	if (!json_is_array(v))
		return cu_field_fail(field, "must be a list");
	if (json_array_size(v) > CU_REPORT_MAX_ROWS)
		return cu_error_set(CU_ELIMIT, "%s: more than %d entries", field,
			CU_REPORT_MAX_ROWS);
	return 0;
}

/* The integer member key of obj within [min, max]; absent is 1 when not
 * required. */
static int
integer(long long *out, const json_t *obj, const char *key, const char *field,
	long long min, long long max, int required)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return required ? cu_field_fail(field, "missing") : 1;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return cu_field_fail(field, "must be an integer %lld-%lld", min, max);
	*out = json_integer_value(v);
	return 0;
}

/* A text member of 1..max bytes (valid UTF-8, no control characters). */
static int
text(const char **s, const json_t *obj, const char *key, const char *field,
	size_t max, int required)
{
	size_t len;
	int rc = cu_field_text(s, &len, obj, key, field, required, 0);

	if (rc != 0)
		return rc;
	if (len == 0)
		return cu_field_fail(field, "must not be empty");
	if (len > max)
		return cu_field_fail(field, "longer than %zu bytes", max);
	return 0;
}

/* A policy rule id: 1-16 of A-Z 0-9 -. */
static int
rule_id(const char *s, const char *field)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return cu_field_fail(field, "a rule id is 1-16 characters");
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return cu_field_fail(field, "a rule id has only A-Z, 0-9 and -");
	return 0;
}

/* A non-empty list of rule ids at obj[key]. */
static int
rule_list(const json_t *obj, const char *key, const char *field)
{
	const json_t *a, *v;
	char f[96];
	size_t i;
	int rc;

	if ((rc = member(&a, obj, key, field)) < 0 || (rc = list_of(a, field)) < 0)
		return rc;
	if (json_array_size(a) == 0)
		return cu_field_fail(field, "must name at least one rule");
	json_array_foreach(a, i, v) {
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (!json_is_string(v))
			return cu_field_fail(f, "must be a string");
		if ((rc = rule_id(json_string_value(v), f)) < 0)
			return rc;
	}
	return 0;
}

/* Entries of list a with the same string members k1 (and k2): 1 with the
 * pair *first < *second whose second comes earliest, else 0 (-1 when out of
 * memory).  Sorting, not comparing every pair: lists may be long. */
struct dupkey {
	const char *a, *b;
	size_t i;
};

static int
dupkey_cmp(const void *x, const void *y)
{
	const struct dupkey *p = x, *q = y;
	int c = strcmp(p->a, q->a);

	if (c == 0 && p->b != NULL)
		c = strcmp(p->b, q->b);
	if (c == 0)
		c = p->i < q->i ? -1 : p->i > q->i;
	return c;
}

static int
find_twice(size_t *first, size_t *second, const json_t *a, const char *k1, const char *k2)
{
	size_t n = json_array_size(a), i;
	struct dupkey *keys;
	int found = 0;

	if (n < 2)
		return 0;
	if ((keys = malloc(n * sizeof(*keys))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		keys[i].a = json_string_value(json_object_get(v, k1));
		keys[i].b = k2 ? json_string_value(json_object_get(v, k2)) : NULL;
		keys[i].i = i;
	}
	qsort(keys, n, sizeof(*keys), dupkey_cmp);
	for (i = 1; i < n; i++) {
		struct dupkey p = keys[i - 1], q = keys[i];
		if (strcmp(p.a, q.a) != 0 || (p.b != NULL && strcmp(p.b, q.b) != 0))
			continue;
		if (!found || q.i < *second) {
			*first = p.i;
			*second = q.i;
			found = 1;
		}
	}
	free(keys);
	return found;
}

static int
check_head(const json_t *m, int *first_month, int *last_month)
{
	const json_t *p;
	const char *s, *from, *to;
	long long format;
	int64_t dfrom, dto;
	cu_time t;
	int rc, y, mo, d;

	if ((rc = integer(&format, m, "format", "format", CU_REPORT_FORMAT,
	    CU_REPORT_FORMAT, 1)) < 0)
		return rc;
	if ((rc = member(&p, m, "period", "period")) < 0 ||
	    (rc = object_of(p, "period", period_fields, "period.")) < 0 ||
	    (rc = text(&from, p, "from", "period.from", 10, 1)) < 0 ||
	    (rc = text(&to, p, "to", "period.to", 10, 1)) < 0)
		return rc;
	if (cu_day_parse(&dfrom, from) < 0)
		return cu_error_prefix(CU_EINVALID, "period.from");
	if (cu_day_parse(&dto, to) < 0)
		return cu_error_prefix(CU_EINVALID, "period.to");
	if (dto < dfrom)
		return cu_field_fail("period.to", "before period.from");
	cu_civil_from_days(dfrom, &y, &mo, &d);
	*first_month = y * 12 + mo - 1;
	cu_civil_from_days(dto, &y, &mo, &d);
	*last_month = y * 12 + mo - 1;
	if (*last_month - *first_month + 1 > CU_REPORT_MAX_MONTHS)
		return cu_error_set(CU_ELIMIT, "period: more than %d months",
			CU_REPORT_MAX_MONTHS);
	if ((rc = text(&s, m, "archive", "archive", CU_NAME_MAX, 1)) < 0 ||
	    (rc = text(&s, m, "policy", "policy", 64, 1)) < 0)
		return rc;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return cu_field_fail("policy", "must be 64 lower-case hex digits (the policy digest)");
	if ((rc = text(&s, m, "generated_at", "generated_at", 64, 1)) < 0)
		return rc;
	if (cu_time_parse(&t, s) < 0)
		return cu_error_prefix(CU_EINVALID, "generated_at");
	return 0;
}

static int
check_rules(const json_t *m)
{
	const json_t *a, *r;
	const char *s;
	char f[96], g[112];
	size_t i, j;
	int rc;

	if ((rc = member(&a, m, "rules", "rules")) < 0 || (rc = list_of(a, "rules")) < 0)
		return rc;
	json_array_foreach(a, i, r) {
		snprintf(f, sizeof(f), "rules[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(r, f, rule_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.id", f);
		if ((rc = text(&s, r, "id", g, 16, 1)) < 0 || (rc = rule_id(s, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.title", f);
		if ((rc = text(&s, r, "title", g, CU_NAME_MAX, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.severity", f);
		if ((rc = text(&s, r, "severity", g, 16, 1)) < 0)
			return rc;
		if (cu_list_find(severities, s, strlen(s)) < 0)
			return cu_field_fail(g, "must be one of deny, review, note, finding");
	}
	if ((rc = find_twice(&i, &j, a, "id", NULL)) < 0)
		return rc;
	if (rc == 1) {
		snprintf(g, sizeof(g), "rules[%zu].id", j);
		return cu_field_fail(g, "%s is listed twice (rules[%zu])",
			json_string_value(json_object_get(json_array_get(a, j), "id")), i);
	}
	return 0;
}

/* The three counts deny, review, note of row r (field prefix f). */
static int
check_counts(const json_t *r, const char *f)
{
	static const char *const keys[] = { "deny", "review", "note" };
	char g[112];
	long long n;
	int rc;

	for (int k = 0; k < 3; k++) {
		snprintf(g, sizeof(g), "%s.%s", f, keys[k]);
		if ((rc = integer(&n, r, keys[k], g, 0, CU_REPORT_MAX_COUNT, 1)) < 0)
			return rc;
	}
	return 0;
}

static int
check_decisions(const json_t *m, int first_month, int last_month)
{
	const json_t *a, *r;
	const char *month, *rule;
	char f[96], g[112], mtext[8];
	size_t i, j;
	int rc, mo;

	if ((rc = member(&a, m, "decisions", "decisions")) < 0 ||
	    (rc = list_of(a, "decisions")) < 0)
		return rc;
	json_array_foreach(a, i, r) {
		snprintf(f, sizeof(f), "decisions[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(r, f, decision_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.month", f);
		if ((rc = text(&month, r, "month", g, 7, 1)) < 0)
			return rc;
		if (cu_month_parse(&mo, month) < 0)
			return cu_error_prefix(CU_EINVALID, "%s", g);
		if (mo < first_month || mo > last_month) {
			cu_month_format(mtext, mo);
			return cu_field_fail(g, "%s is outside the period", mtext);
		}
		snprintf(g, sizeof(g), "%s.rule", f);
		if ((rc = text(&rule, r, "rule", g, 16, 1)) < 0 || (rc = rule_id(rule, g)) < 0)
			return rc;
		if ((rc = check_counts(r, f)) < 0)
			return rc;
	}
	if ((rc = find_twice(&i, &j, a, "month", "rule")) < 0)
		return rc;
	if (rc == 1) {
		r = json_array_get(a, j);
		snprintf(g, sizeof(g), "decisions[%zu]", j);
		return cu_field_fail(g, "%s %s is listed twice (decisions[%zu])",
			json_string_value(json_object_get(r, "rule")),
			json_string_value(json_object_get(r, "month")), i);
	}
	return 0;
}

/* Which histogram bucket an age falls in: -1 when none. */
static long
bucket_of(const json_t *histogram, long long age)
{
	const json_t *b;
	size_t i;

	json_array_foreach(histogram, i, b) {
		const json_t *max = json_object_get(b, "max_days");
		if (age >= json_integer_value(json_object_get(b, "min_days")) &&
		    (max == NULL || age <= json_integer_value(max)))
			return (long)i;
	}
	return -1;
}

static int
check_queue(const json_t *m)
{
	const json_t *q, *items, *hist, *v;
	const char *s;
	char f[96], g[112];
	long long n, next = 0, *counted = NULL;
	size_t i, nb;
	int rc;

	if ((rc = member(&q, m, "queue", "queue")) < 0 ||
	    (rc = object_of(q, "queue", queue_fields, "queue.")) < 0 ||
	    (rc = member(&items, q, "items", "queue.items")) < 0 ||
	    (rc = list_of(items, "queue.items")) < 0)
		return rc;
	json_array_foreach(items, i, v) {
		snprintf(f, sizeof(f), "queue.items[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(v, f, item_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.ref", f);
		if ((rc = text(&s, v, "ref", g, CU_NAME_MAX, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.age_days", f);
		if ((rc = integer(&n, v, "age_days", g, 0, MAX_AGE_DAYS, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.rules", f);
		if ((rc = rule_list(v, "rules", g)) < 0)
			return rc;
	}
	if ((rc = member(&hist, q, "histogram", "queue.histogram")) < 0 ||
	    (rc = list_of(hist, "queue.histogram")) < 0)
		return rc;
	if ((nb = json_array_size(hist)) == 0)
		return cu_field_fail("queue.histogram", "must have at least one bucket");
	if (nb > 64)
		return cu_error_set(CU_ELIMIT, "queue.histogram: more than 64 buckets");
	json_array_foreach(hist, i, v) {
		long long min, max;

		snprintf(f, sizeof(f), "queue.histogram[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(v, f, bucket_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.min_days", f);
		if ((rc = integer(&min, v, "min_days", g, 0, MAX_AGE_DAYS, 1)) < 0)
			return rc;
		if (min != next)
			return cu_field_fail(g, "must be %lld (%s)", next, i == 0
				? "the first bucket starts at 0 days"
				: "one more than the bucket before ends");
		snprintf(g, sizeof(g), "%s.max_days", f);
		if ((rc = integer(&max, v, "max_days", g, min, MAX_AGE_DAYS, 0)) < 0)
			return rc;
		if (rc == 1 && i + 1 < nb)
			return cu_field_fail(g, "missing (only the last bucket is open)");
		next = rc == 1 ? 0 : max + 1;
		snprintf(g, sizeof(g), "%s.count", f);
		if ((rc = integer(&n, v, "count", g, 0, CU_REPORT_MAX_ROWS, 1)) < 0)
			return rc;
	}
	if ((counted = calloc(nb, sizeof(*counted))) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_array_foreach(items, i, v) {
		long b = bucket_of(hist, json_integer_value(json_object_get(v, "age_days")));
		if (b < 0) {
			free(counted);
			snprintf(g, sizeof(g), "queue.items[%zu].age_days", i);
			return cu_field_fail(g, "falls in no bucket of queue.histogram");
		}
		counted[b]++;
	}
	json_array_foreach(hist, i, v) {
		n = json_integer_value(json_object_get(v, "count"));
		if (n != counted[i]) {
			long long c = counted[i];
			free(counted);
			snprintf(g, sizeof(g), "queue.histogram[%zu].count", i);
			return cu_field_fail(g, "%lld item%s fall%s in this bucket, not %lld",
				c, c == 1 ? "" : "s", c == 1 ? "s" : "", n);
		}
	}
	free(counted);
	return 0;
}

static int
check_denied(const json_t *m)
{
	const json_t *a, *v;
	const char *s;
	char f[96], g[112];
	long long n;
	size_t i;
	cu_time t;
	int rc;

	if ((rc = member(&a, m, "denied", "denied")) < 0 || (rc = list_of(a, "denied")) < 0)
		return rc;
	json_array_foreach(a, i, v) {
		snprintf(f, sizeof(f), "denied[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(v, f, denied_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.ref", f);
		if ((rc = text(&s, v, "ref", g, CU_NAME_MAX, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.posted_at", f);
		if ((rc = text(&s, v, "posted_at", g, 64, 1)) < 0)
			return rc;
		if (cu_time_parse(&t, s) < 0)
			return cu_error_prefix(CU_EINVALID, "%s", g);
		snprintf(g, sizeof(g), "%s.maker", f);
		if ((rc = text(&s, v, "maker", g, 64, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.rules", f);
		if ((rc = rule_list(v, "rules", g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.txn_no", f);
		if ((rc = text(&s, v, "txn_no", g, 64, 0)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.kind", f);
		if ((rc = text(&s, v, "kind", g, 32, 0)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.amount_fen", f);
		if ((rc = integer(&n, v, "amount_fen", g, 0, CU_MONEY_MAX_FEN, 0)) < 0)
			return rc;
	}
	return 0;
}

static int
check_makers(const json_t *m)
{
	const json_t *a, *v;
	const char *s;
	char f[96], g[112];
	size_t i, j;
	int rc;

	if ((rc = member(&a, m, "makers", "makers")) < 0 || (rc = list_of(a, "makers")) < 0)
		return rc;
	json_array_foreach(a, i, v) {
		snprintf(f, sizeof(f), "makers[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(v, f, maker_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.maker", f);
		if ((rc = text(&s, v, "maker", g, 64, 1)) < 0)
			return rc;
		if ((rc = check_counts(v, f)) < 0)
			return rc;
	}
	if ((rc = find_twice(&i, &j, a, "maker", NULL)) < 0)
		return rc;
	if (rc == 1) {
		snprintf(g, sizeof(g), "makers[%zu].maker", j);
		return cu_field_fail(g, "listed twice (makers[%zu])", i);
	}
	return 0;
}

static int
check_reconciliation(const json_t *m)
{
	const json_t *a, *v, *c;
	const char *s;
	char f[96], g[112], h[128];
	long long n;
	size_t i;
	int rc;

	if ((rc = member(&a, m, "reconciliation", "reconciliation")) < 0 ||
	    (rc = list_of(a, "reconciliation")) < 0)
		return rc;
	json_array_foreach(a, i, v) {
		snprintf(f, sizeof(f), "reconciliation[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(v, f, recon_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.statement", f);
		if ((rc = text(&s, v, "statement", g, 64, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.account", f);
		if ((rc = text(&s, v, "account", g, 64, 1)) < 0)
			return rc;
		for (int k = 0; k < 4; k++) {
			snprintf(g, sizeof(g), "%s.%s", f, categories[k].key);
			snprintf(h, sizeof(h), "%s.", g);
			if ((rc = member(&c, v, categories[k].key, g)) < 0 ||
			    (rc = object_of(c, g, category_fields, h)) < 0)
				return rc;
			snprintf(h, sizeof(h), "%s.count", g);
			if ((rc = integer(&n, c, "count", h, 0, CU_REPORT_MAX_COUNT, 1)) < 0)
				return rc;
			snprintf(h, sizeof(h), "%s.fen", g);
			if ((rc = integer(&n, c, "fen", h, 0, CU_CANON_INT_MAX, 1)) < 0)
				return rc;
		}
	}
	return 0;
}

/* The period closes run in the report's period (optional: absent is none). */
static int
check_closes(const json_t *m)
{
	const json_t *a = json_object_get(m, "closes"), *v, *fl, *x;
	const char *s;
	char f[64], g[96], h[128];
	size_t i, j;
	int rc, month;

	if (a == NULL)
		return 0;
	if ((rc = list_of(a, "closes")) < 0)
		return rc;
	json_array_foreach(a, i, v) {
		snprintf(f, sizeof(f), "closes[%zu]", i);
		snprintf(g, sizeof(g), "%s.", f);
		if ((rc = object_of(v, f, close_fields, g)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.period", f);
		if ((rc = text(&s, v, "period", g, 7, 1)) < 0)
			return rc;
		if (cu_month_parse(&month, s) < 0)
			return cu_field_fail(g, "must be a month YYYY-MM");
		snprintf(g, sizeof(g), "%s.at", f);
		if ((rc = text(&s, v, "at", g, 40, 1)) < 0)
			return rc;
		snprintf(g, sizeof(g), "%s.findings", f);
		if ((rc = member(&fl, v, "findings", g)) < 0 || (rc = list_of(fl, g)) < 0)
			return rc;
		json_array_foreach(fl, j, x) {
			snprintf(g, sizeof(g), "%s.findings[%zu]", f, j);
			snprintf(h, sizeof(h), "%s.", g);
			if ((rc = object_of(x, g, close_finding_fields, h)) < 0)
				return rc;
			snprintf(h, sizeof(h), "%s.rule", g);
			if ((rc = text(&s, x, "rule", h, 16, 1)) < 0 || (rc = rule_id(s, h)) < 0)
				return rc;
			snprintf(h, sizeof(h), "%s.message", g);
			if ((rc = text(&s, x, "message", h, 400, 1)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Checks the model; first_month and last_month (month numbers, as
 * cu_month_parse) of the period on success. */
static int
check_model(const json_t *m, int *first_month, int *last_month)
{
	int rc;

	if (!json_is_object(m))
		return cu_error_set(CU_EINVALID, "the report model must be a JSON object");
	if ((rc = cu_field_unknown(m, top_fields, "")) < 0 ||
	    (rc = check_head(m, first_month, last_month)) < 0 ||
	    (rc = check_rules(m)) < 0 ||
	    (rc = check_decisions(m, *first_month, *last_month)) < 0 ||
	    (rc = check_queue(m)) < 0 ||
	    (rc = check_denied(m)) < 0 ||
	    (rc = check_makers(m)) < 0 ||
	    (rc = check_reconciliation(m)) < 0 ||
	    (rc = check_closes(m)) < 0)
		return rc;
	return 0;
}

int
cu_report_validate(const json_t *model)
{
	int first, last;

	return check_model(model, &first, &last);
}

/* ---- output buffer ----------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	int failed;       /* out of memory: everything after is dropped */
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 65536;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
putf(struct out *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		o->failed = 1;   /* every format here is short: a bug, not input */
		return;
	}
	put(o, buf, (size_t)n);
}

/* Text from the model, HTML-escaped for element content and for quoted
 * attribute values alike (& < > " '). */
static void
esc(struct out *o, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		put(o, run, (size_t)(s - run));
		puts_(o, rep);
		run = s + 1;
	}
	put(o, run, (size_t)(s - run));
}

/* An identifier from the model, escaped, with every run of 15 or more
 * digits (an X may end it) shown as its first 6 and last 4 characters
 * ("110105********002X"), as policy decisions show staff ids and account
 * numbers: an ID number used as a code never reaches the page in clear. */
static void
esc_id(struct out *o, const char *s)
{
	size_t n = strlen(s), i = 0, run;
	char *c = strdup(s);

	if (c == NULL) {
		o->failed = 1;
		return;
	}
	while (i < n) {
		for (run = 0; i + run < n && c[i + run] >= '0' && c[i + run] <= '9'; run++)
			;
		if (run > 0 && i + run < n && (c[i + run] == 'X' || c[i + run] == 'x'))
			run++;
		if (run >= 15)
			memset(c + i + 6, '*', run - 10);
		i += run ? run : 1;
	}
	esc(o, c);
	free(c);
}

/* s escaped, cut to at most max columns (a character from U+1100 on, CJK
 * and the like, takes two) with "…" when cut: for chart labels; the tables
 * show the whole text.  Never cuts inside a UTF-8 sequence. */
static void
esc_label(struct out *o, const char *s, int max, int id)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, keep = 0;
	int width = 0;
	long cp;
	char *cut;

	while (i < len && (cp = cu_utf8_next(u, len, &i)) >= 0) {
		width += cp >= 0x1100 ? 2 : 1;
		if (width > max)
			break;
		keep = i;
	}
	if (width <= max) {
		id ? esc_id(o, s) : esc(o, s);
		return;
	}
	if ((cut = strndup(s, keep)) == NULL) {
		o->failed = 1;
		return;
	}
	id ? esc_id(o, cut) : esc(o, cut);
	free(cut);
	puts_(o, "…");
}

/* plain (an optional '-', digits, then anything from the first non-digit
 * on) with a comma between each group of three digits. */
static void
put_grouped(struct out *o, const char *plain)
{
	char grouped[64];
	size_t start = plain[0] == '-', digits = start, j = 0;

	while (plain[digits] >= '0' && plain[digits] <= '9')
		digits++;
	for (size_t i = 0; plain[i] != '\0' && j + 2 < sizeof(grouped); i++) {
		if (i > start && i < digits && (digits - i) % 3 == 0)
			grouped[j++] = ',';
		grouped[j++] = plain[i];
	}
	grouped[j] = '\0';
	puts_(o, grouped);
}

/* Money in fen as yuan with thousands separators: "1,234,567.89". */
static void
put_money(struct out *o, long long fen)
{
	char plain[32];

	cu_money_format(plain, sizeof(plain), fen);
	put_grouped(o, plain);
}

/* A count with thousands separators. */
static void
put_count(struct out *o, long long n)
{
	char plain[32];

	snprintf(plain, sizeof(plain), "%lld", n);
	put_grouped(o, plain);
}

/* ---- the model, summed for the page ------------------------------------ */

struct tally {
	long long deny, review, note;
};

static long long
tally_total(const struct tally *t)
{
	return t->deny + t->review + t->note;
}

static void
tally_add(struct tally *t, const json_t *row)
{
	t->deny += json_integer_value(json_object_get(row, "deny"));
	t->review += json_integer_value(json_object_get(row, "review"));
	t->note += json_integer_value(json_object_get(row, "note"));
}

struct rule_sum {
	const char *id, *title;
	struct tally t;
};

struct page {
	const json_t *m;
	int first_month, nmonths;
	struct tally *months;      /* [nmonths] */
	struct tally all;
	struct rule_sum *rules;    /* listed rules, then the others by id */
	size_t nrules;
};

static int
rule_cmp_id(const void *a, const void *b)
{
	return strcmp(((const struct rule_sum *)a)->id, ((const struct rule_sum *)b)->id);
}

static int
page_build(struct page *pg, const json_t *m, int first, int last)
{
	const json_t *listed = json_object_get(m, "rules");
	const json_t *dec = json_object_get(m, "decisions"), *r;
	size_t i, j, nlisted = json_array_size(listed), cap;
	int mo;

	memset(pg, 0, sizeof(*pg));
	pg->m = m;
	pg->first_month = first;
	pg->nmonths = last - first + 1;
	cap = nlisted + json_array_size(dec) + 1;
	pg->months = calloc((size_t)pg->nmonths, sizeof(*pg->months));
	pg->rules = calloc(cap, sizeof(*pg->rules));
	if (pg->months == NULL || pg->rules == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	json_array_foreach(listed, i, r) {
		pg->rules[i].id = json_string_value(json_object_get(r, "id"));
		pg->rules[i].title = json_string_value(json_object_get(r, "title"));
	}
	pg->nrules = nlisted;
	json_array_foreach(dec, i, r) {
		const char *id = json_string_value(json_object_get(r, "rule"));

		cu_month_parse(&mo, json_string_value(json_object_get(r, "month")));
		tally_add(&pg->months[mo - first], r);
		tally_add(&pg->all, r);
		for (j = 0; j < pg->nrules && strcmp(pg->rules[j].id, id) != 0; j++)
			;
		if (j == pg->nrules)
			pg->rules[pg->nrules++].id = id;
		tally_add(&pg->rules[j].t, r);
	}
	/* rules not listed in the model: after the listed ones, by id */
	qsort(pg->rules + nlisted, pg->nrules - nlisted, sizeof(*pg->rules), rule_cmp_id);
	return 0;
}

static void
page_free(struct page *pg)
{
	free(pg->months);
	free(pg->rules);
}

/* ---- charts ------------------------------------------------------------ */

/* The axis for values up to v: the step is the smallest of 1, 2, 5, 10,
 * 20, 50, ... that covers v in at most 5 steps, the maximum v rounded up to
 * a whole step (0-4 by 1 when v is 0). */
static void
axis(long long v, long long *max, long long *step)
{
	long long p = 1;

	if (v <= 0) {
		*max = 4;
		*step = 1;
		return;
	}
	for (;;) {
		static const int mult[] = { 1, 2, 5 };
		for (int k = 0; k < 3; k++) {
			long long s = p * mult[k];
			if (s * 5 >= v) {
				*step = s;
				*max = (v + s - 1) / s * s;
				return;
			}
		}
		p *= 10;
	}
}

static void
svg_open(struct out *o, const char *id, int w, int h, const char *label)
{
	/* "<svg" starts its line and "</svg>" ends one: a chart is a block of
	 * lines (the browser test removes them to make its control page) */
	putf(o, "\n<svg id=\"%s\" class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"role=\"img\" aria-label=\"", id, w, h, w, h);
	esc(o, label);
	puts_(o, "\">\n");
}

static void
svg_close(struct out *o)
{
	puts_(o, "</svg>\n");
}

static void
legend(struct out *o, int x, int y, const char *colour, const char *label)
{
	putf(o, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		"<text x=\"%d\" y=\"%d\">", x, y, colour, x + 16, y + 10);
	esc(o, label);
	puts_(o, "</text>\n");
}

/* A filled rectangle with a tooltip; nothing when it has no area. */
static void
bar(struct out *o, int x, int y, int w, int h, const char *colour, const char *what,
	long long n)
{
	if (w <= 0 || h <= 0)
		return;
	putf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>",
		x, y, w, h, colour);
	esc(o, what);
	puts_(o, ": ");
	put_count(o, n);
	puts_(o, "</title></rect>\n");
}

/* The y axis of a vertical chart: gridlines and labels from 0 to max. */
static void
y_axis(struct out *o, int left, int right, int top, int bottom, long long max, long long step)
{
	int ph = bottom - top;

	for (long long v = 0; v <= max; v += step) {
		int y = bottom - (int)(v * ph / max);
		putf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"grid\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left, y, right, y,
			left - 6, y + 4);
		put_count(o, v);
		puts_(o, "</text>\n");
	}
}

#define CHART_W 720

/* Decisions per month: one bar per month, stacked deny / review / note. */
static void
chart_months(struct out *o, const struct page *pg)
{
	const int left = 64, right = CHART_W - 16, top = 36, bottom = 236, h = 272;
	int n = pg->nmonths, slot = (right - left) / n, bw = slot * 2 / 3, every;
	long long peak = 0, max, step;

	for (int i = 0; i < n; i++)
		if (tally_total(&pg->months[i]) > peak)
			peak = tally_total(&pg->months[i]);
	axis(peak, &max, &step);
	svg_open(o, "chart-months", CHART_W, h, "每月决定 decisions per month");
	legend(o, left, 8, COL_DENY, "拒绝 deny");
	legend(o, left + 110, 8, COL_REVIEW, "复核 review");
	legend(o, left + 230, 8, COL_NOTE, "提示 note");
	y_axis(o, left, right, top, bottom, max, step);
	if (bw < 1)
		bw = 1;
	every = (n + 11) / 12;   /* at most 12 month labels */
	for (int i = 0; i < n; i++) {
		const struct tally *t = &pg->months[i];
		int x = left + i * slot + (slot - bw) / 2;
		long long c0 = t->deny, c1 = c0 + t->review, c2 = c1 + t->note;
		int y0 = bottom - (int)(c0 * (bottom - top) / max);
		int y1 = bottom - (int)(c1 * (bottom - top) / max);
		int y2 = bottom - (int)(c2 * (bottom - top) / max);
		char mtext[8];

		cu_month_format(mtext, pg->first_month + i);
		bar(o, x, y0, bw, bottom - y0, COL_DENY, "deny", t->deny);
		bar(o, x, y1, bw, y0 - y1, COL_REVIEW, "review", t->review);
		bar(o, x, y2, bw, y1 - y2, COL_NOTE, "note", t->note);
		if (i % every == 0)
			putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
				left + i * slot + slot / 2, bottom + 18, mtext);
	}
	putf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n",
		left, bottom, right, bottom);
	if (peak == 0)
		putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"empty\">"
			"本期无决定 no decisions in the period</text>\n",
			(left + right) / 2, (top + bottom) / 2);
	svg_close(o);
}

/* Findings per rule: one horizontal bar per rule, stacked by severity. */
static void
chart_rules(struct out *o, const struct page *pg)
{
	const int left = 130, right = CHART_W - 80, top = 32, row = 22;
	int n = (int)pg->nrules, h = top + (n ? n : 1) * row + 12, pw = right - left;
	long long peak = 0, max, step;

	for (int i = 0; i < n; i++)
		if (tally_total(&pg->rules[i].t) > peak)
			peak = tally_total(&pg->rules[i].t);
	axis(peak, &max, &step);
	svg_open(o, "chart-rules", CHART_W, h, "每条规则的发现 findings per rule");
	legend(o, left, 8, COL_DENY, "拒绝 deny");
	legend(o, left + 110, 8, COL_REVIEW, "复核 review");
	legend(o, left + 230, 8, COL_NOTE, "提示 note");
	for (int i = 0; i < n; i++) {
		const struct rule_sum *r = &pg->rules[i];
		int y = top + i * row;
		long long c0 = r->t.deny, c1 = c0 + r->t.review, c2 = c1 + r->t.note;
		int x0 = left + (int)(c0 * pw / max);
		int x1 = left + (int)(c1 * pw / max);
		int x2 = left + (int)(c2 * pw / max);

		putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + 15);
		esc(o, r->id);
		puts_(o, "</text>\n");
		bar(o, left, y + 3, x0 - left, row - 6, COL_DENY, "deny", r->t.deny);
		bar(o, x0, y + 3, x1 - x0, row - 6, COL_REVIEW, "review", r->t.review);
		bar(o, x1, y + 3, x2 - x1, row - 6, COL_NOTE, "note", r->t.note);
		putf(o, "<text x=\"%d\" y=\"%d\">", x2 + 6, y + 15);
		put_count(o, c2);
		puts_(o, "</text>\n");
	}
	putf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n",
		left, top, left, top + (n ? n : 1) * row);
	if (n == 0)
		putf(o, "<text x=\"%d\" y=\"%d\" class=\"empty\">本期无发现 no findings in the period</text>\n",
			left + 8, top + 15);
	svg_close(o);
}

/* The review queue's age histogram: one vertical bar per bucket. */
static void
chart_queue(struct out *o, const json_t *hist)
{
	const int left = 64, right = CHART_W - 16, top = 16, bottom = 216, h = 256;
	int n = (int)json_array_size(hist), slot = (right - left) / n, bw = slot * 3 / 4;
	long long peak = 0, max, step;
	const json_t *b;
	size_t i;

	json_array_foreach(hist, i, b)
		if (json_integer_value(json_object_get(b, "count")) > peak)
			peak = json_integer_value(json_object_get(b, "count"));
	axis(peak, &max, &step);
	svg_open(o, "chart-queue", CHART_W, h, "复核队列账龄 review queue age");
	y_axis(o, left, right, top, bottom, max, step);
	json_array_foreach(hist, i, b) {
		long long c = json_integer_value(json_object_get(b, "count"));
		const json_t *mx = json_object_get(b, "max_days");
		int x = left + (int)i * slot + (slot - bw) / 2;
		int y = bottom - (int)(c * (bottom - top) / max);
		char label[64];

		if (mx != NULL)
			snprintf(label, sizeof(label), "%lld–%lld 天 days",
				(long long)json_integer_value(json_object_get(b, "min_days")),
				(long long)json_integer_value(mx));
		else
			snprintf(label, sizeof(label), "≥ %lld 天 days",
				(long long)json_integer_value(json_object_get(b, "min_days")));
		bar(o, x, y, bw, bottom - y, COL_QUEUE, label, c);
		putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			left + (int)i * slot + slot / 2, bottom + 18, label);
		if (c > 0) {
			putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
				left + (int)i * slot + slot / 2, y - 4);
			put_count(o, c);
			puts_(o, "</text>\n");
		}
	}
	putf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n",
		left, bottom, right, bottom);
	if (peak == 0)
		putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"empty\">"
			"复核队列为空 the review queue is empty</text>\n",
			(left + right) / 2, (top + bottom) / 2);
	svg_close(o);
}

static long long
category_value(const json_t *stmt, int k, const char *what)
{
	return json_integer_value(json_object_get(json_object_get(stmt, categories[k].key), what));
}

/* Reconciliation: one bar per statement, its lines split by outcome (each
 * bar is the statement's whole, so the share of problems shows). */
static void
chart_recon(struct out *o, const json_t *recon)
{
	const int left = 180, right = CHART_W - 16, top = 32, row = 24;
	int n = (int)json_array_size(recon), h = top + (n ? n : 1) * row + 12, pw = right - left;
	const json_t *s;
	size_t i;

	svg_open(o, "chart-recon", CHART_W, h, "对账结果 reconciliation");
	for (int k = 0; k < 4; k++)
		legend(o, 8 + k * 178, 8, categories[k].colour, categories[k].label);
	json_array_foreach(recon, i, s) {
		int y = top + (int)i * row;
		long long total = 0, cum = 0;

		for (int k = 0; k < 4; k++)
			total += category_value(s, k, "count");
		putf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 8, y + 16);
		esc_label(o, json_string_value(json_object_get(s, "statement")), 24, 1);
		puts_(o, "</text>\n");
		putf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>\n",
			left, y + 3, pw, row - 6);
		if (total == 0)
			continue;
		for (int k = 0; k < 4; k++) {
			long long c = category_value(s, k, "count");
			int x0 = left + (int)(cum * pw / total);
			int x1 = left + (int)((cum + c) * pw / total);

			bar(o, x0, y + 3, x1 - x0, row - 6, categories[k].colour,
				categories[k].label, c);
			cum += c;
		}
	}
	if (n == 0)
		putf(o, "<text x=\"%d\" y=\"%d\" class=\"empty\">本期无对账 no statements in the period</text>\n",
			left + 8, top + 16);
	svg_close(o);
}

/* ---- the page ----------------------------------------------------------- */

static const char style[] =
	"<style>\n"
	":root{color:#222;background:#fff}\n"
	"body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro Hei\","
	"\"WenQuanYi Zen Hei\",\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\",SimHei,"
	"\"Noto Sans\",\"DejaVu Sans\",Arial,sans-serif;font-size:14px;line-height:1.45;"
	"margin:24px auto;max-width:980px;padding:0 16px}\n"
	"h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;"
	"border-bottom:1px solid #999;padding-bottom:2px}\n"
	"dl.head{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0 0 12px}\n"
	"dl.head dt{color:#555}dl.head dd{margin:0;word-break:break-all}\n"
	"table{border-collapse:collapse;margin:8px 0;font-size:13px}\n"
	"th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}\n"
	"th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"p.none{color:#555;font-style:italic}\n"
	"svg.chart{display:block;max-width:100%;height:auto;margin:8px 0}\n"
	"svg.chart text{font-size:11px;fill:#222}\n"
	"svg.chart text.empty{fill:#777;font-size:13px}\n"
	"svg.chart line.grid{stroke:#ddd;stroke-width:1}\n"
	"svg.chart line.axis{stroke:#444;stroke-width:1}\n"
	"svg.chart rect.frame{fill:none;stroke:#bbb}\n"
	"footer{margin-top:32px;color:#555;font-size:12px}\n"
	"@media print{\n"
	"@page{size:A4;margin:15mm 12mm}\n"
	"body{margin:0;max-width:none;padding:0;font-size:10pt}\n"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
	"h2{break-after:avoid}svg.chart{break-inside:avoid;width:100%}\n"
	"thead{display:table-header-group}tr{break-inside:avoid}\n"
	"section{break-before:auto}\n"
	"}\n"
	"</style>\n";

static void
head(struct out *o, const json_t *m)
{
	const json_t *p = json_object_get(m, "period");
	const char *from = json_string_value(json_object_get(p, "from"));
	const char *to = json_string_value(json_object_get(p, "to"));
	const char *arch = json_string_value(json_object_get(m, "archive"));

	puts_(o, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>基金内控审计报告 Audit report ");
	esc(o, arch);
	putf(o, " %s – %s</title>\n", from, to);
	puts_(o, style);
	puts_(o, "</head>\n<body>\n<header>\n<h1>基金内控审计报告 Fund internal-control audit report</h1>\n"
		"<dl class=\"head\">\n<dt>期间 Period</dt><dd>");
	putf(o, "%s – %s", from, to);
	puts_(o, "</dd>\n<dt>档案库 Archive</dt><dd>");
	esc(o, arch);
	puts_(o, "</dd>\n<dt>内控策略 Policy digest</dt><dd><code>");
	esc(o, json_string_value(json_object_get(m, "policy")));
	puts_(o, "</code></dd>\n<dt>生成时间 Generated at</dt><dd>");
	esc(o, json_string_value(json_object_get(m, "generated_at")));
	puts_(o, "</dd>\n</dl>\n</header>\n");
}

static void
summary(struct out *o, const struct page *pg)
{
	const json_t *m = pg->m;

	puts_(o, "<section id=\"summary\">\n<h2>概要 Summary</h2>\n<table>\n<tbody>\n"
		"<tr><th>发现 findings (拒绝 deny / 复核 review / 提示 note)</th><td class=\"n\">");
	put_count(o, tally_total(&pg->all));
	puts_(o, " (");
	put_count(o, pg->all.deny);
	puts_(o, " / ");
	put_count(o, pg->all.review);
	puts_(o, " / ");
	put_count(o, pg->all.note);
	puts_(o, ")</td></tr>\n<tr><th>复核队列 items in the review queue</th><td class=\"n\">");
	put_count(o, (long long)json_array_size(json_object_get(json_object_get(m, "queue"), "items")));
	puts_(o, "</td></tr>\n<tr><th>拒绝的尝试 denied attempts</th><td class=\"n\">");
	put_count(o, (long long)json_array_size(json_object_get(m, "denied")));
	puts_(o, "</td></tr>\n<tr><th>对账单 bank statements reconciled</th><td class=\"n\">");
	put_count(o, (long long)json_array_size(json_object_get(m, "reconciliation")));
	puts_(o, "</td></tr>\n</tbody>\n</table>\n</section>\n");
}

static void
tally_cells(struct out *o, const struct tally *t)
{
	puts_(o, "<td class=\"n\">");
	put_count(o, t->deny);
	puts_(o, "</td><td class=\"n\">");
	put_count(o, t->review);
	puts_(o, "</td><td class=\"n\">");
	put_count(o, t->note);
	puts_(o, "</td><td class=\"n\">");
	put_count(o, tally_total(t));
	puts_(o, "</td>");
}

#define TALLY_HEAD "<th>拒绝 deny</th><th>复核 review</th><th>提示 note</th><th>合计 total</th>"

static void
section_months(struct out *o, const struct page *pg)
{
	char mtext[8];

	puts_(o, "<section id=\"months\">\n<h2>每月决定 Decisions per month</h2>\n");
	chart_months(o, pg);
	puts_(o, "<table>\n<thead><tr><th>月份 month</th>" TALLY_HEAD "</tr></thead>\n<tbody>\n");
	for (int i = 0; i < pg->nmonths; i++) {
		cu_month_format(mtext, pg->first_month + i);
		putf(o, "<tr><td>%s</td>", mtext);
		tally_cells(o, &pg->months[i]);
		puts_(o, "</tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
}

static void
section_rules(struct out *o, const struct page *pg)
{
	puts_(o, "<section id=\"rules\">\n<h2>按规则的发现 Findings per rule</h2>\n");
	chart_rules(o, pg);
	puts_(o, "<table>\n<thead><tr><th>规则 rule</th><th>名称 title</th>" TALLY_HEAD
		"</tr></thead>\n<tbody>\n");
	for (size_t k = 0; k < pg->nrules; k++) {
		puts_(o, "<tr><td>");
		esc(o, pg->rules[k].id);
		puts_(o, "</td><td>");
		esc(o, pg->rules[k].title ? pg->rules[k].title : "—");
		puts_(o, "</td>");
		tally_cells(o, &pg->rules[k].t);
		puts_(o, "</tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
}

/* The detail behind both charts, last: it is the longest table. */
static void
section_detail(struct out *o, const struct page *pg)
{
	const json_t *dec = json_object_get(pg->m, "decisions"), *r;
	size_t i;

	puts_(o, "<section id=\"detail\">\n<h2>按规则和月份 Findings per rule and month</h2>\n");
	if (json_array_size(dec) == 0) {
		puts_(o, "<p class=\"none\">本期无发现 No findings in the period.</p>\n</section>\n");
		return;
	}
	puts_(o, "<table>\n<thead><tr><th>月份 month</th><th>规则 rule</th>" TALLY_HEAD
		"</tr></thead>\n<tbody>\n");
	json_array_foreach(dec, i, r) {
		struct tally t = { 0, 0, 0 };

		tally_add(&t, r);
		puts_(o, "<tr><td>");
		esc(o, json_string_value(json_object_get(r, "month")));
		puts_(o, "</td><td>");
		esc(o, json_string_value(json_object_get(r, "rule")));
		puts_(o, "</td>");
		tally_cells(o, &t);
		puts_(o, "</tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
}

/* A list of rule ids, comma separated. */
static void
rule_ids(struct out *o, const json_t *a)
{
	const json_t *v;
	size_t i;

	json_array_foreach(a, i, v) {
		if (i > 0)
			puts_(o, ", ");
		esc(o, json_string_value(v));
	}
}

static int
item_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	json_int_t ax = json_integer_value(json_object_get(x, "age_days"));
	json_int_t ay = json_integer_value(json_object_get(y, "age_days"));

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "ref")),
		json_string_value(json_object_get(y, "ref")));
}

static void
section_queue(struct out *o, const json_t *m)
{
	const json_t *q = json_object_get(m, "queue");
	const json_t *items = json_object_get(q, "items");
	size_t n = json_array_size(items), i;
	const json_t **sorted;

	puts_(o, "<section id=\"queue\">\n<h2>复核队列 Review queue</h2>\n");
	chart_queue(o, json_object_get(q, "histogram"));
	if (n == 0) {
		puts_(o, "<p class=\"none\">复核队列为空 The review queue is empty.</p>\n</section>\n");
		return;
	}
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL) {
		o->failed = 1;
		return;
	}
	for (i = 0; i < n; i++)
		sorted[i] = json_array_get(items, i);
	qsort(sorted, n, sizeof(*sorted), item_cmp);
	puts_(o, "<table>\n<thead><tr><th>档号 ref</th><th>账龄 age (days)</th>"
		"<th>规则 rules</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		puts_(o, "<tr><td>");
		esc_id(o, json_string_value(json_object_get(sorted[i], "ref")));
		puts_(o, "</td><td class=\"n\">");
		put_count(o, json_integer_value(json_object_get(sorted[i], "age_days")));
		puts_(o, "</td><td>");
		rule_ids(o, json_object_get(sorted[i], "rules"));
		puts_(o, "</td></tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
	free(sorted);
}

static void
section_denied(struct out *o, const json_t *m)
{
	const json_t *a = json_object_get(m, "denied"), *v, *x;
	size_t i;

	puts_(o, "<section id=\"denied\">\n<h2>拒绝的尝试 Denied attempts</h2>\n");
	if (json_array_size(a) == 0) {
		puts_(o, "<p class=\"none\">本期无拒绝 No attempt was denied in the period.</p>\n</section>\n");
		return;
	}
	puts_(o, "<table>\n<thead><tr><th>档号 ref</th><th>交易号 txn</th><th>类型 kind</th>"
		"<th>记账时间 posted at</th><th>经办 maker</th><th>金额 amount (yuan)</th>"
		"<th>规则 rules</th></tr></thead>\n<tbody>\n");
	json_array_foreach(a, i, v) {
		puts_(o, "<tr><td>");
		esc_id(o, json_string_value(json_object_get(v, "ref")));
		puts_(o, "</td><td>");
		x = json_object_get(v, "txn_no");
		esc_id(o, x ? json_string_value(x) : "—");
		puts_(o, "</td><td>");
		x = json_object_get(v, "kind");
		esc(o, x ? json_string_value(x) : "—");
		puts_(o, "</td><td>");
		esc(o, json_string_value(json_object_get(v, "posted_at")));
		puts_(o, "</td><td>");
		esc_id(o, json_string_value(json_object_get(v, "maker")));
		puts_(o, "</td><td class=\"n\">");
		if ((x = json_object_get(v, "amount_fen")) != NULL)
			put_money(o, json_integer_value(x));
		else
			puts_(o, "—");
		puts_(o, "</td><td>");
		rule_ids(o, json_object_get(v, "rules"));
		puts_(o, "</td></tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
}

static long long
maker_total(const json_t *v)
{
	struct tally t = { 0, 0, 0 };

	tally_add(&t, v);
	return tally_total(&t);
}

/* Most findings first; ties by maker id. */
static int
maker_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	long long tx = maker_total(x), ty = maker_total(y);

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "maker")),
		json_string_value(json_object_get(y, "maker")));
}

static void
section_makers(struct out *o, const json_t *m)
{
	const json_t *a = json_object_get(m, "makers");
	size_t n = json_array_size(a), i;
	const json_t **sorted;

	puts_(o, "<section id=\"makers\">\n<h2>发现最多的经办人 Top makers by findings</h2>\n");
	if (n == 0) {
		puts_(o, "<p class=\"none\">本期无发现 No findings in the period.</p>\n</section>\n");
		return;
	}
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL) {
		o->failed = 1;
		return;
	}
	for (i = 0; i < n; i++)
		sorted[i] = json_array_get(a, i);
	qsort(sorted, n, sizeof(*sorted), maker_cmp);
	puts_(o, "<table>\n<thead><tr><th>#</th><th>经办 maker</th>" TALLY_HEAD
		"</tr></thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		struct tally t = { 0, 0, 0 };

		tally_add(&t, sorted[i]);
		putf(o, "<tr><td class=\"n\">%zu</td><td>", i + 1);
		esc_id(o, json_string_value(json_object_get(sorted[i], "maker")));
		puts_(o, "</td>");
		tally_cells(o, &t);
		puts_(o, "</tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
	free(sorted);
}

static void
section_recon(struct out *o, const json_t *m)
{
	const json_t *a = json_object_get(m, "reconciliation"), *s;
	size_t i;

	puts_(o, "<section id=\"reconciliation\">\n<h2>对账结果 Reconciliation</h2>\n");
	chart_recon(o, a);
	if (json_array_size(a) == 0) {
		puts_(o, "</section>\n");
		return;
	}
	puts_(o, "<table>\n<thead><tr><th>对账单 statement</th><th>账户 account</th>");
	for (int k = 0; k < 4; k++)
		putf(o, "<th>%s<br>笔数 lines / 金额 yuan</th>", categories[k].label);
	puts_(o, "</tr></thead>\n<tbody>\n");
	json_array_foreach(a, i, s) {
		puts_(o, "<tr><td>");
		esc_id(o, json_string_value(json_object_get(s, "statement")));
		puts_(o, "</td><td>");
		esc_id(o, json_string_value(json_object_get(s, "account")));
		puts_(o, "</td>");
		for (int k = 0; k < 4; k++) {
			puts_(o, "<td class=\"n\">");
			put_count(o, category_value(s, k, "count"));
			puts_(o, " / ");
			put_money(o, category_value(s, k, "fen"));
			puts_(o, "</td>");
		}
		puts_(o, "</tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
}

/* The period closes: when, which month, what each found. */
static void
section_closes(struct out *o, const json_t *m)
{
	const json_t *a = json_object_get(m, "closes"), *c, *f;
	size_t i, j;

	puts_(o, "<section id=\"closes\">\n<h2>期末检查 Period closes</h2>\n");
	if (json_array_size(a) == 0) {
		puts_(o, "<p>本期未运行期末检查 no period close was run in this period.</p>\n"
			"</section>\n");
		return;
	}
	puts_(o, "<table>\n<thead><tr><th>期间 period</th><th>运行时间 run at</th>"
		"<th>发现 findings</th></tr></thead>\n<tbody>\n");
	json_array_foreach(a, i, c) {
		const json_t *fl = json_object_get(c, "findings");
		puts_(o, "<tr><td>");
		esc(o, json_string_value(json_object_get(c, "period")));
		puts_(o, "</td><td>");
		esc(o, json_string_value(json_object_get(c, "at")));
		puts_(o, "</td><td>");
		if (json_array_size(fl) == 0)
			puts_(o, "无 none");
		json_array_foreach(fl, j, f) {
			if (j > 0)
				puts_(o, "<br>");
			esc(o, json_string_value(json_object_get(f, "rule")));
			puts_(o, ": ");
			esc_id(o, json_string_value(json_object_get(f, "message")));
		}
		puts_(o, "</td></tr>\n");
	}
	puts_(o, "</tbody>\n</table>\n</section>\n");
}

int
cu_report_html(char **out, size_t *len, const json_t *model)
{
	struct out o = { NULL, 0, 0, 0 };
	struct page pg;
	int first, last, rc;

	*out = NULL;
	*len = 0;
	if ((rc = check_model(model, &first, &last)) < 0)
		return rc;
	if ((rc = page_build(&pg, model, first, last)) < 0) {
		page_free(&pg);
		return rc;
	}
	head(&o, model);
	summary(&o, &pg);
	section_months(&o, &pg);
	section_rules(&o, &pg);
	section_queue(&o, model);
	section_recon(&o, model);
	section_closes(&o, model);
	section_denied(&o, model);
	section_makers(&o, model);
	section_detail(&o, &pg);
	puts_(&o, "<footer>custos — GB/T 27768-2011 §6.3 基金内控. 金额单位：元 (amounts in yuan).</footer>\n"
		"</body>\n</html>\n");
	page_free(&pg);
	if (o.failed) {
		free(o.p);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	*out = o.p;
	*len = o.len;
	return 0;
}

int
cu_report_json(char **out, size_t *len, const json_t *model)
{
	char *c = NULL, *p;
	size_t n = 0;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = cu_report_validate(model)) < 0 || (rc = cu_canon(&c, &n, model)) < 0)
		return rc;
	if ((p = realloc(c, n + 2)) == NULL) {
		free(c);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	p[n] = '\n';
	p[n + 1] = '\0';
	*out = p;
	*len = n + 1;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcasecmp(s + n - k, suffix) == 0;
}

int
cu_report_write(const char *path, const json_t *model, int exclusive)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (ends_with(path, ".html") || ends_with(path, ".htm"))
		rc = cu_report_html(&buf, &len, model);
	else if (ends_with(path, ".json"))
		rc = cu_report_json(&buf, &len, model);
	else
		return cu_error_set(CU_EINVALID, "%s: the report file must end in .html or .json", path);
	if (rc < 0)
		return rc;
	rc = cu_write_file_durable(path, buf, len, 0644, exclusive);
	free(buf);
	return rc;
}

int
cu_report_histogram(json_t **out, const json_t *items)
{
	static const long long bounds[][2] = {
		{ 0, 7 }, { 8, 30 }, { 31, 60 }, { 61, 90 }, { 91, -1 }
	};
	long long counts[5] = { 0 };
	const json_t *v;
	json_t *h;
	size_t i;
	char f[48];

	*out = NULL;
	if (!json_is_array(items))
		return cu_field_fail("queue.items", "must be a list");
	json_array_foreach(items, i, v) {
		const json_t *a = json_object_get(v, "age_days");
		json_int_t age;

		snprintf(f, sizeof(f), "queue.items[%zu].age_days", i);
		if (!json_is_integer(a) || (age = json_integer_value(a)) < 0 || age > MAX_AGE_DAYS)
			return cu_field_fail(f, "must be an integer 0-%d", MAX_AGE_DAYS);
		for (int k = 0; k < 5; k++)
			if (age >= bounds[k][0] && (bounds[k][1] < 0 || age <= bounds[k][1])) {
				counts[k]++;
				break;
			}
	}
	if ((h = json_array()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	for (int k = 0; k < 5; k++) {
		json_t *b = bounds[k][1] < 0
			? json_pack("{s:I,s:I}", "min_days", (json_int_t)bounds[k][0],
				"count", (json_int_t)counts[k])
			: json_pack("{s:I,s:I,s:I}", "min_days", (json_int_t)bounds[k][0],
				"max_days", (json_int_t)bounds[k][1], "count", (json_int_t)counts[k]);
		if (b == NULL || json_array_append_new(h, b) < 0) {
			json_decref(h);
			return cu_error_set(CU_ERROR, "out of memory");
		}
	}
	*out = h;
	return 0;
}
