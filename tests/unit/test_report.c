/* test_report.c — the audit report model and its HTML (src/report.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "custos/error.h"
#include "custos/record.h"
#include "custos/report.h"
#include "custos/util.h"

#define DIGEST "3f5a0c9e2b7d41a68e0f95c3d2b1a4e7f6c8d9b0a1e2f3c4d5b6a7988766554f"
#define HEAD(from, to) \
	"\"format\":1,\"period\":{\"from\":\"" from "\",\"to\":\"" to "\"}," \
	"\"archive\":\"SI01\",\"policy\":\"" DIGEST "\"," \
	"\"generated_at\":\"2026-12-01T09:00:00+08:00\""
#define EMPTY_QUEUE "{\"items\":[],\"histogram\":[{\"min_days\":0,\"max_days\":7,\"count\":0}," \
	"{\"min_days\":8,\"count\":0}]}"

/* An empty period: nothing decided, nothing queued. */
static const char empty_model[] =
	"{" HEAD("2026-11-01", "2026-11-30") ",\"rules\":[],\"decisions\":[],"
	"\"queue\":" EMPTY_QUEUE ",\"denied\":[],\"makers\":[],\"reconciliation\":[]}";

/* A typical month. */
static const char month_model[] =
	"{" HEAD("2026-11-01", "2026-11-30") ","
	"\"rules\":[{\"id\":\"AUTH-1\",\"title\":\"授权审批 approval authority by amount\",\"severity\":\"deny\"},"
	"{\"id\":\"QUAL-1\",\"title\":\"领取资格认证过期 qualification\",\"severity\":\"review\"}],"
	"\"decisions\":[{\"month\":\"2026-11\",\"rule\":\"AUTH-1\",\"deny\":30,\"review\":0,\"note\":0},"
	"{\"month\":\"2026-11\",\"rule\":\"QUAL-1\",\"deny\":0,\"review\":10,\"note\":0}],"
	"\"queue\":{\"items\":[{\"ref\":\"SI01-JJ·2026-D30-FUND-0007\",\"age_days\":3,\"rules\":[\"QUAL-1\"]},"
	"{\"ref\":\"SI01-JJ·2026-D30-FUND-0003\",\"age_days\":40,\"rules\":[\"QUAL-1\",\"ACCT-1\"]}],"
	"\"histogram\":[{\"min_days\":0,\"max_days\":7,\"count\":1},{\"min_days\":8,\"max_days\":30,\"count\":0},"
	"{\"min_days\":31,\"count\":1}]},"
	"\"denied\":[{\"ref\":\"SI01-JJ·2026-D30-FUND-0101\",\"txn_no\":\"T-2026-000311\",\"kind\":\"refund\","
	"\"posted_at\":\"2026-11-14T10:02:00+08:00\",\"maker\":\"op-017\",\"amount_fen\":5000001,"
	"\"rules\":[\"AUTH-1\"]},"
	"{\"ref\":\"SI01-JJ·2026-D30-FUND-0102\",\"posted_at\":\"2026-11-15T10:02:00+08:00\","
	"\"maker\":\"11010519491231002X\",\"amount_fen\":999999999999999,\"rules\":[\"AUTH-1\"]},"
	"{\"ref\":\"SI01-JJ·2026-D30-FUND-0103\",\"kind\":\"account_change\","
	"\"posted_at\":\"2026-11-16T10:02:00+08:00\",\"maker\":\"op-031\",\"rules\":[\"SOD-1\"]}],"
	"\"makers\":[{\"maker\":\"op-031\",\"deny\":1,\"review\":0,\"note\":0},"
	"{\"maker\":\"op-017\",\"deny\":29,\"review\":10,\"note\":0},"
	"{\"maker\":\"op-011\",\"deny\":1,\"review\":0,\"note\":0}],"
	"\"reconciliation\":[{\"statement\":\"ST-2026-11-INC-P\",\"account\":\"6222020200112233445\","
	"\"matched\":{\"count\":90,\"fen\":123456789},\"missing_in_books\":{\"count\":4,\"fen\":150000},"
	"\"missing_at_bank\":{\"count\":2,\"fen\":32500},\"amount_differs\":{\"count\":4,\"fen\":1001}}]}";

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (v == NULL)
		fail_msg("test JSON does not parse: %s", jerr.text);
	return v;
}

/* Renders the model text; fails the test on an error. */
static char *
render(const char *text)
{
	json_t *m = load(text);
	char *html = NULL;
	size_t len = 0;

	if (cu_report_html(&html, &len, m) != 0)
		fail_msg("cu_report_html: %s", cu_error_last());
	assert_int_equal(len, strlen(html));
	json_decref(m);
	return html;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* No script, no reference to anything outside the file, in any case. */
static void
assert_self_contained(const char *html)
{
	char *lower = strdup(html);

	assert_non_null(lower);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	assert_null(strstr(lower, "<script"));
	assert_null(strstr(lower, "http"));
	assert_null(strstr(lower, "src="));
	assert_null(strstr(lower, "href="));
	assert_null(strstr(lower, "url("));
	assert_null(strstr(lower, "@import"));
	assert_null(strstr(lower, "javascript:"));
	assert_null(strstr(lower, " on"));   /* no event handler attribute: "<x onload=" */
	free(lower);
}

static void
assert_every_chart(const char *html)
{
	assert_int_equal(count(html, "\n<svg id=\"chart-months\" "), 1);
	assert_int_equal(count(html, "\n<svg id=\"chart-rules\" "), 1);
	assert_int_equal(count(html, "\n<svg id=\"chart-queue\" "), 1);
	assert_int_equal(count(html, "\n<svg id=\"chart-recon\" "), 1);
	assert_int_equal(count(html, "<svg"), 4);
	assert_int_equal(count(html, "</svg>\n"), 4);
}

static void
test_empty_period(void **state)
{
	char *html = render(empty_model);

	(void)state;
	assert_true(strncmp(html, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">",
		63) == 0);
	assert_non_null(strstr(html, "@media print"));
	assert_non_null(strstr(html, "@page{size:A4"));
	assert_non_null(strstr(html, "\"Noto Sans CJK SC\""));
	assert_self_contained(html);
	assert_every_chart(html);
	assert_non_null(strstr(html, "no decisions in the period"));
	assert_non_null(strstr(html, "no findings in the period"));
	assert_non_null(strstr(html, "the review queue is empty"));
	assert_non_null(strstr(html, "no statements in the period"));
	assert_non_null(strstr(html, "<tr><td>2026-11</td><td class=\"n\">0</td>"));
	/* the colours only in the legends: no bar is drawn */
	assert_int_equal(count(html, "fill=\"#c8102e\""), 2);
	assert_int_equal(count(html, "fill=\"#6a3d9a\""), 0);
	assert_true(strcmp(html + strlen(html) - 16, "</body>\n</html>\n") == 0);
	free(html);
}

static void
test_typical_month(void **state)
{
	char *html = render(month_model);

	(void)state;
	assert_self_contained(html);
	assert_every_chart(html);
	/* one month, 30 deny and 10 review: axis 0-40 by 10 over 200 pixels;
	 * the slot is 640 wide, the bar two thirds of it */
	assert_non_null(strstr(html, "<rect x=\"171\" y=\"86\" width=\"426\" height=\"150\" fill=\"#c8102e\">"
		"<title>deny: 30</title></rect>"));
	assert_non_null(strstr(html, "<rect x=\"171\" y=\"36\" width=\"426\" height=\"50\" fill=\"#f2a900\">"
		"<title>review: 10</title></rect>"));
	assert_null(strstr(html, "<title>note: 0</title>"));
	/* per rule: 30 of an axis of 30 fills the 510 pixels, 10 a third */
	assert_non_null(strstr(html, "<rect x=\"130\" y=\"35\" width=\"510\" height=\"16\" fill=\"#c8102e\">"));
	assert_non_null(strstr(html, "<rect x=\"130\" y=\"57\" width=\"170\" height=\"16\" fill=\"#f2a900\">"));
	/* the histogram: 1, 0, 1 */
	assert_int_equal(count(html, "fill=\"#6a3d9a\""), 2);
	/* reconciliation: 90 of 100 lines matched over 524 pixels */
	assert_non_null(strstr(html, "<rect x=\"180\" y=\"35\" width=\"471\" height=\"18\" fill=\"#2e8b57\">"));
	/* money from integer fen */
	assert_non_null(strstr(html, "<td class=\"n\">50,000.01</td>"));
	assert_non_null(strstr(html, "<td class=\"n\">9,999,999,999,999.99</td>"));
	assert_non_null(strstr(html, "90 / 1,234,567.89"));
	assert_non_null(strstr(html, "4 / 10.01"));
	/* a kind that moves no money has no amount */
	assert_non_null(strstr(html, "<td>account_change</td><td>2026-11-16T10:02:00+08:00</td>"
		"<td>op-031</td><td class=\"n\">—</td>"));
	/* ID numbers as codes are masked, and so are long account numbers */
	assert_null(strstr(html, "11010519491231002X"));
	assert_non_null(strstr(html, "110105********002X"));
	assert_null(strstr(html, "6222020200112233445"));
	assert_non_null(strstr(html, "622202*********3445"));
	/* top makers: most findings first, ties by id */
	{
		const char *mk = strstr(html, "<section id=\"makers\">");
		assert_non_null(mk);
		assert_true(strstr(mk, ">op-017<") < strstr(mk, ">op-011<"));
		assert_true(strstr(mk, ">op-011<") < strstr(mk, ">op-031<"));
		assert_non_null(strstr(mk, "<tr><td class=\"n\">1</td><td>op-017</td><td class=\"n\">29</td>"));
	}
	/* the queue, oldest first */
	assert_true(strstr(html, "FUND-0003") < strstr(html, "FUND-0007"));
	assert_non_null(strstr(html, "<td>QUAL-1, ACCT-1</td>"));
	/* Chinese text as UTF-8 */
	assert_non_null(strstr(html, "授权审批 approval authority by amount"));
	assert_non_null(strstr(html, "<dd>2026-11-01 – 2026-11-30</dd>"));
	assert_non_null(strstr(html, "<code>" DIGEST "</code>"));
	free(html);
}

static void
test_many_rules(void **state)
{
	json_t *m = load(empty_model), *rules = json_array(), *dec = json_array();
	char *html = NULL, id[17], needle[64];
	size_t len;

	(void)state;
	json_object_set_new(json_object_get(m, "period"), "from", json_string("2025-12-01"));
	json_object_set_new(json_object_get(m, "period"), "to", json_string("2026-11-30"));
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "R-%03d", i);
		if (i % 2 == 0)   /* half are listed, with a title */
			json_array_append_new(rules, json_pack("{s:s,s:s,s:s}", "id", id,
				"title", "规则 rule", "severity", "review"));
		for (int mo = 0; mo < 12; mo += 5)
			json_array_append_new(dec, json_pack("{s:s,s:s,s:i,s:i,s:i}",
				"month", mo == 0 ? "2025-12" : mo == 5 ? "2026-05" : "2026-10",
				"rule", id, "deny", i, "review", 1, "note", mo));
	}
	json_object_set_new(m, "rules", rules);
	json_object_set_new(m, "decisions", dec);
	assert_int_equal(cu_report_html(&html, &len, m), 0);
	assert_every_chart(html);
	assert_self_contained(html);
	/* 200 rows in the rule chart */
	assert_non_null(strstr(html, "<svg id=\"chart-rules\" class=\"chart\" width=\"720\" height=\"4444\""));
	for (int i = 0; i < 200; i++) {
		snprintf(needle, sizeof(needle), "\">R-%03d</text>", i);
		assert_int_equal(count(html, needle), 1);
	}
	/* listed rules first (R-000, R-002, ...), the others after them by id */
	assert_true(strstr(html, ">R-198</text>") < strstr(html, ">R-001</text>"));
	assert_true(strstr(html, ">R-001</text>") < strstr(html, ">R-003</text>"));
	/* twelve months in the month chart and table */
	{
		char *months = strndup(strstr(html, "<section id=\"months\">"),
			(size_t)(strstr(html, "<section id=\"rules\">") - strstr(html, "<section id=\"months\">")));
		assert_int_equal(count(months, "<tr><td>2026-0"), 9);
		assert_int_equal(count(months, "<tr><td>"), 12);
		free(months);
	}
	assert_non_null(strstr(html, "<tr><td>2025-12</td><td class=\"n\">19,900</td>"
		"<td class=\"n\">200</td><td class=\"n\">0</td><td class=\"n\">20,100</td></tr>"));
	free(html);
	json_decref(m);
}

/* The longest period: 120 months, a bar each, twelve of them labelled. */
static void
test_long_period(void **state)
{
	json_t *m = load(empty_model), *dec = json_array();
	char *html = NULL, *months, month[8];
	size_t len;

	(void)state;
	json_object_set_new(json_object_get(m, "period"), "from", json_string("2016-12-31"));
	json_object_set_new(json_object_get(m, "period"), "to", json_string("2026-11-01"));
	for (int i = 0; i < 120; i++) {
		cu_month_format(month, 2016 * 12 + 11 + i);
		json_array_append_new(dec, json_pack("{s:s,s:s,s:i,s:i,s:i}", "month", month,
			"rule", "TIME-1", "deny", 0, "review", 0, "note", i + 1));
	}
	json_object_set_new(m, "decisions", dec);
	assert_int_equal(cu_report_html(&html, &len, m), 0);
	assert_self_contained(html);
	months = strndup(strstr(html, "<section id=\"months\">"),
		(size_t)(strstr(html, "<section id=\"rules\">") - strstr(html, "<section id=\"months\">")));
	assert_int_equal(count(months, "<tr><td>"), 120);
	assert_int_equal(count(months, "fill=\"#1f6fb2\"><title>note: "), 120);
	assert_int_equal(count(months, "text-anchor=\"middle\">20"), 12);
	/* the tallest bar: 120 of an axis of 0-150 (steps of 50) over 200 pixels */
	assert_non_null(strstr(months, "height=\"160\" fill=\"#1f6fb2\"><title>note: 120</title>"));
	free(months);
	free(html);
	/* one day more is a month more */
	json_object_set_new(json_object_get(m, "period"), "to", json_string("2026-12-01"));
	assert_int_equal(cu_report_validate(m), CU_ELIMIT);
	assert_string_equal(cu_error_last(), "period: more than 120 months");
	json_decref(m);
}

static void
test_hostile_strings(void **state)
{
	static const char *const hostile[] = {
		"</svg><script>alert(1)</script>",
		"\"><img src=x onerror=alert(1)>",
		"'&lt;&amp;\"",
	};
	char *html = NULL;
	size_t len;

	(void)state;
	for (size_t h = 0; h < 3; h++) {
		json_t *m = load(month_model);
		const char *s = hostile[h];

		json_object_set_new(m, "archive", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "rules"), 0), "title", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "makers"), 0), "maker", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "denied"), 0), "maker", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "denied"), 0), "txn_no", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "denied"), 0), "kind", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "denied"), 0), "ref", json_string(s));
		json_object_set_new(json_array_get(json_object_get(json_object_get(m, "queue"), "items"), 0),
			"ref", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "reconciliation"), 0),
			"statement", json_string(s));
		json_object_set_new(json_array_get(json_object_get(m, "reconciliation"), 0),
			"account", json_string(s));
		if (cu_report_html(&html, &len, m) != 0)
			fail_msg("%s", cu_error_last());
		assert_every_chart(html);
		/* the text is there, as text: no element, no attribute from it */
		assert_null(strstr(html, "<script"));
		assert_null(strstr(html, "<img"));
		if (h == 1) {
			/* 11 places; the chart label of the statement is cut */
			assert_int_equal(count(html, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), 11);
		}
		assert_null(strstr(html, s));
		free(html);
		json_decref(m);
	}
	/* exactly how */
	{
		json_t *m = load(month_model);
		json_object_set_new(m, "archive", json_string("</svg><script>\"'&"));
		assert_int_equal(cu_report_html(&html, &len, m), 0);
		assert_int_equal(count(html, "&lt;/svg&gt;&lt;script&gt;&quot;&#39;&amp;"), 2);
		free(html);
		json_decref(m);
	}
}

static void
test_deterministic(void **state)
{
	/* the same model with its members in another order */
	json_t *a = load(month_model), *b = json_object();
	const char *key;
	json_t *v;
	char *h1, *h2, *h3, *j1, *j2;
	size_t l1, l2, l3, k1, k2;
	const char *order[] = { "reconciliation", "makers", "denied", "queue", "decisions",
		"rules", "generated_at", "policy", "archive", "period", "format" };

	(void)state;
	for (size_t i = 0; i < 11; i++)
		json_object_set(b, order[i], json_object_get(a, order[i]));
	assert_int_equal(json_object_size(a), json_object_size(b));
	json_object_foreach(a, key, v)
		assert_true(json_equal(v, json_object_get(b, key)));
	assert_int_equal(cu_report_html(&h1, &l1, a), 0);
	assert_int_equal(cu_report_html(&h2, &l2, a), 0);
	assert_int_equal(cu_report_html(&h3, &l3, b), 0);
	assert_int_equal(l1, l2);
	assert_int_equal(l1, l3);
	assert_memory_equal(h1, h2, l1);
	assert_memory_equal(h1, h3, l1);
	assert_int_equal(cu_report_json(&j1, &k1, a), 0);
	assert_int_equal(cu_report_json(&j2, &k2, b), 0);
	assert_string_equal(j1, j2);
	assert_true(strncmp(j1, "{\"archive\":\"SI01\",\"decisions\":[{\"deny\":30,", 41) == 0);
	assert_int_equal(j1[k1 - 1], '\n');
	/* the JSON form is the model: read back, the same page */
	{
		json_t *back = load(j1);
		char *h4;
		size_t l4;

		assert_true(json_equal(back, a));
		assert_int_equal(cu_report_html(&h4, &l4, back), 0);
		assert_int_equal(l4, l1);
		assert_memory_equal(h4, h1, l1);
		free(h4);
		json_decref(back);
	}
	free(h1);
	free(h2);
	free(h3);
	free(j1);
	free(j2);
	json_decref(a);
	json_decref(b);
}

/* Replaces the top-level member key of the month model with the JSON text
 * value and checks the refusal and its exact message. */
static void
expect_bad(const char *key, const char *value, int code, const char *msg)
{
	json_t *m = load(month_model);
	char *out = (char *)"sentinel";
	size_t len = 7;

	if (value == NULL)
		json_object_del(m, key);
	else
		json_object_set_new(m, key, json_loads(value, JSON_DECODE_ANY, NULL));
	assert_int_equal(cu_report_validate(m), code);
	assert_string_equal(cu_error_last(), msg);
	assert_int_equal(cu_report_html(&out, &len, m), code);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(cu_report_json(&out, &len, m), code);
	assert_null(out);
	json_decref(m);
}

static void
test_validate(void **state)
{
	json_t *m;

	(void)state;
	m = load(month_model);
	assert_int_equal(cu_report_validate(m), 0);
	json_decref(m);
	m = json_array();
	assert_int_equal(cu_report_validate(m), CU_EINVALID);
	assert_string_equal(cu_error_last(), "the report model must be a JSON object");
	json_decref(m);

	expect_bad("format", "2", CU_EINVALID, "format: must be an integer 1-1");
	expect_bad("format", NULL, CU_EINVALID, "format: missing");
	expect_bad("colour", "\"red\"", CU_EINVALID, "colour: unknown field");
	expect_bad("period", "{\"from\":\"2026-11-01\"}", CU_EINVALID, "period.to: missing");
	expect_bad("period", "{\"from\":\"2026-11-31\",\"to\":\"2026-12-01\"}", CU_EINVALID,
		"period.from: 2026-11-31 is not a real date");
	expect_bad("period", "{\"from\":\"2026-11-02\",\"to\":\"2026-11-01\"}", CU_EINVALID,
		"period.to: before period.from");
	expect_bad("period", "{\"from\":\"2016-11-01\",\"to\":\"2026-11-01\"}", CU_ELIMIT,
		"period: more than 120 months");
	expect_bad("period", "{\"from\":\"2026-11-01\",\"to\":\"2026-11-30\",\"x\":1}", CU_EINVALID,
		"period.x: unknown field");
	expect_bad("archive", "\"\"", CU_EINVALID, "archive: must not be empty");
	expect_bad("archive", "\"a\\u0007b\"", CU_EINVALID, "archive: must not contain control characters");
	expect_bad("policy", "\"3F5A\"", CU_EINVALID,
		"policy: must be 64 lower-case hex digits (the policy digest)");
	expect_bad("generated_at", "\"2026-12-01 09:00\"", CU_EINVALID,
		"generated_at: not an RFC 3339 date-time like 2026-11-20T09:31:00+08:00");
	expect_bad("rules", "[{\"id\":\"auth-1\",\"title\":\"t\",\"severity\":\"deny\"}]", CU_EINVALID,
		"rules[0].id: a rule id has only A-Z, 0-9 and -");
	expect_bad("rules", "[{\"id\":\"A\",\"title\":\"t\",\"severity\":\"deny\"},"
		"{\"id\":\"A\",\"title\":\"t\",\"severity\":\"fatal\"}]", CU_EINVALID,
		"rules[1].severity: must be one of deny, review, note, finding");
	expect_bad("rules", "[{\"id\":\"A\",\"title\":\"t\",\"severity\":\"deny\"},"
		"{\"id\":\"A\",\"title\":\"u\",\"severity\":\"note\"}]", CU_EINVALID,
		"rules[1].id: A is listed twice (rules[0])");
	expect_bad("decisions", "[{\"month\":\"2026-10\",\"rule\":\"A\",\"deny\":1,\"review\":0,\"note\":0}]",
		CU_EINVALID, "decisions[0].month: 2026-10 is outside the period");
	expect_bad("decisions", "[{\"month\":\"2026-11\",\"rule\":\"A\",\"deny\":1.5,\"review\":0,\"note\":0}]",
		CU_EINVALID, "decisions[0].deny: must be an integer 0-1000000000");
	expect_bad("decisions", "[{\"month\":\"2026-11\",\"rule\":\"A\",\"deny\":1,\"review\":-1,\"note\":0}]",
		CU_EINVALID, "decisions[0].review: must be an integer 0-1000000000");
	expect_bad("decisions", "[{\"month\":\"2026-11\",\"rule\":\"A\",\"deny\":1,\"review\":1}]",
		CU_EINVALID, "decisions[0].note: missing");
	expect_bad("decisions", "[{\"month\":\"2026-11\",\"rule\":\"B\",\"deny\":1,\"review\":1,\"note\":0},"
		"{\"month\":\"2026-11\",\"rule\":\"A\",\"deny\":1,\"review\":1,\"note\":0},"
		"{\"month\":\"2026-11\",\"rule\":\"B\",\"deny\":2,\"review\":1,\"note\":0}]",
		CU_EINVALID, "decisions[2]: B 2026-11 is listed twice (decisions[0])");
	expect_bad("decisions", "{}", CU_EINVALID, "decisions: must be a list");
	expect_bad("queue", "{\"items\":[{\"ref\":\"R\",\"age_days\":3,\"rules\":[]}],"
		"\"histogram\":[{\"min_days\":0,\"count\":1}]}", CU_EINVALID,
		"queue.items[0].rules: must name at least one rule");
	expect_bad("queue", "{\"items\":[{\"ref\":\"R\",\"age_days\":3,\"rules\":[\"A\"]}],"
		"\"histogram\":[{\"min_days\":0,\"count\":2}]}", CU_EINVALID,
		"queue.histogram[0].count: 1 item falls in this bucket, not 2");
	expect_bad("queue", "{\"items\":[{\"ref\":\"R\",\"age_days\":30,\"rules\":[\"A\"]}],"
		"\"histogram\":[{\"min_days\":0,\"max_days\":7,\"count\":0}]}", CU_EINVALID,
		"queue.items[0].age_days: falls in no bucket of queue.histogram");
	expect_bad("queue", "{\"items\":[],\"histogram\":[{\"min_days\":0,\"max_days\":7,\"count\":0},"
		"{\"min_days\":9,\"count\":0}]}", CU_EINVALID,
		"queue.histogram[1].min_days: must be 8 (one more than the bucket before ends)");
	expect_bad("queue", "{\"items\":[],\"histogram\":[{\"min_days\":0,\"count\":0},"
		"{\"min_days\":1,\"count\":0}]}", CU_EINVALID,
		"queue.histogram[0].max_days: missing (only the last bucket is open)");
	expect_bad("queue", "{\"items\":[],\"histogram\":[]}", CU_EINVALID,
		"queue.histogram: must have at least one bucket");
	expect_bad("denied", "[{\"ref\":\"R\",\"posted_at\":\"2026-11-14T10:02:00+08:00\",\"maker\":\"m\","
		"\"rules\":[\"A\"],\"amount_fen\":1000000000000000}]", CU_EINVALID,
		"denied[0].amount_fen: must be an integer 0-999999999999999");
	expect_bad("denied", "[{\"ref\":\"R\",\"posted_at\":\"2026-11-14T25:02:00+08:00\",\"maker\":\"m\","
		"\"rules\":[\"A\"]}]", CU_EINVALID,
		"denied[0].posted_at: hour must be 00-23");
	expect_bad("denied", "[{\"ref\":\"R\",\"posted_at\":\"2026-11-14T10:02:00+08:00\",\"maker\":\"m\","
		"\"rules\":[\"A\"],\"amount\":\"1.00\"}]", CU_EINVALID, "denied[0].amount: unknown field");
	expect_bad("makers", "[{\"maker\":\"a\",\"deny\":1,\"review\":0,\"note\":0},"
		"{\"maker\":\"a\",\"deny\":1,\"review\":0,\"note\":0}]", CU_EINVALID,
		"makers[1].maker: listed twice (makers[0])");
	expect_bad("reconciliation", "[{\"statement\":\"S\",\"account\":\"A\",\"matched\":{\"count\":1,\"fen\":1},"
		"\"missing_in_books\":{\"count\":0,\"fen\":0},\"missing_at_bank\":{\"count\":0,\"fen\":0}}]",
		CU_EINVALID, "reconciliation[0].amount_differs: missing");
	expect_bad("reconciliation", "[{\"statement\":\"S\",\"account\":\"A\",\"matched\":{\"count\":1,\"fen\":-1},"
		"\"missing_in_books\":{\"count\":0,\"fen\":0},\"missing_at_bank\":{\"count\":0,\"fen\":0},"
		"\"amount_differs\":{\"count\":0,\"fen\":0}}]",
		CU_EINVALID, "reconciliation[0].matched.fen: must be an integer 0-9007199254740991");
}

/* The last buckets of the standard histogram, and a model built with it. */
/* Period closes: optional; each row's fields checked; rendered as a table
 * with every finding (an account number shown as its first 6 and last 4
 * characters), "none" for a close that found nothing. */
static void
test_closes(void **state)
{
	json_t *m;
	char *html = NULL;
	size_t len = 0;

	(void)state;
	expect_bad("closes", "{}", CU_EINVALID, "closes: must be a list");
	expect_bad("closes", "[{\"period\":\"2026-13\",\"at\":\"2026-12-01T09:00:00Z\",\"findings\":[]}]",
		CU_EINVALID, "closes[0].period: must be a month YYYY-MM");
	expect_bad("closes", "[{\"period\":\"2026-11\",\"findings\":[]}]", CU_EINVALID,
		"closes[0].at: missing");
	expect_bad("closes", "[{\"period\":\"2026-11\",\"at\":\"x\",\"findings\":[{\"rule\":\"close-1\","
		"\"message\":\"m\"}]}]", CU_EINVALID,
		"closes[0].findings[0].rule: a rule id has only A-Z, 0-9 and -");
	expect_bad("closes", "[{\"period\":\"2026-11\",\"at\":\"x\",\"findings\":[],\"by\":\"u\"}]",
		CU_EINVALID, "closes[0].by: unknown field");
	m = load(month_model);
	json_object_set_new(m, "closes", load("[{\"period\":\"2026-11\",\"at\":\"2026-12-01T09:00:00Z\","
		"\"findings\":[{\"rule\":\"CLOSE-1\",\"message\":\"income account 6222020200112233445 "
		"(pension) has a balance of 250.00 at the close of 2026-11, expected 0.00\"}]},"
		"{\"period\":\"2026-10\",\"at\":\"2026-11-01T09:00:00Z\",\"findings\":[]}]"));
	assert_int_equal(cu_report_validate(m), 0);
	assert_int_equal(cu_report_html(&html, &len, m), 0);
	assert_int_equal(count(html, "<section id=\"closes\">"), 1);
	assert_int_equal(count(html, "<tr><td>2026-11</td><td>2026-12-01T09:00:00Z</td><td>CLOSE-1: "
		"income account 622202*********3445 (pension)"), 1);
	assert_int_equal(count(html, "<tr><td>2026-10</td><td>2026-11-01T09:00:00Z</td><td>无 none</td>"), 1);
	assert_null(strstr(html, "6222020200112233445"));
	free(html);
	json_decref(m);
	/* absent: the section says none was run */
	html = render(month_model);
	assert_int_equal(count(html, "no period close was run in this period"), 1);
	free(html);
}

static void
test_histogram(void **state)
{
	static const int ages[] = { 0, 7, 8, 30, 31, 60, 61, 90, 91, 36500, 5 };
	json_t *items = json_array(), *h = NULL, *m;
	char *canon = NULL;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++)
		json_array_append_new(items, json_pack("{s:s,s:i,s:[s]}", "ref", "R",
			"age_days", ages[i], "rules", "QUAL-1"));
	assert_int_equal(cu_report_histogram(&h, items), 0);
	assert_int_equal(json_dumpb(h, NULL, 0, 0) > 0, 1);
	m = load(empty_model);
	json_object_set_new(json_object_get(m, "queue"), "items", items);
	json_object_set_new(json_object_get(m, "queue"), "histogram", h);
	assert_int_equal(cu_report_json(&canon, &len, m), 0);
	assert_non_null(strstr(canon, "\"histogram\":[{\"count\":3,\"max_days\":7,\"min_days\":0},"
		"{\"count\":2,\"max_days\":30,\"min_days\":8},{\"count\":2,\"max_days\":60,\"min_days\":31},"
		"{\"count\":2,\"max_days\":90,\"min_days\":61},{\"count\":2,\"min_days\":91}]"));
	free(canon);
	json_decref(m);
	items = json_pack("[{s:i}]", "age_days", -1);
	assert_int_equal(cu_report_histogram(&h, items), CU_EINVALID);
	assert_string_equal(cu_error_last(), "queue.items[0].age_days: must be an integer 0-100000");
	assert_null(h);
	json_decref(items);
}

static void
test_write(void **state)
{
	char dir[] = "/tmp/custos-test-report.XXXXXX", path[256], *text = NULL, *html = NULL;
	size_t len = 0, hlen = 0;
	json_t *m = load(month_model), *bad;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.html", dir);
	assert_int_equal(cu_report_write(path, m, 1), 0);
	assert_int_equal(cu_read_file(&text, &len, path, 1 << 20), 0);
	assert_int_equal(cu_report_html(&html, &hlen, m), 0);
	assert_int_equal(len, hlen);
	assert_memory_equal(text, html, len);
	free(text);
	free(html);
	assert_int_equal(cu_report_write(path, m, 1), CU_EEXISTS);
	assert_int_equal(cu_report_write(path, m, 0), 0);
	snprintf(path, sizeof(path), "%s/r.JSON", dir);
	assert_int_equal(cu_report_write(path, m, 1), 0);
	assert_int_equal(cu_read_file(&text, &len, path, 1 << 20), 0);
	assert_int_equal(text[0], '{');
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(path, sizeof(path), "%s/r.pdf", dir);
	assert_int_equal(cu_report_write(path, m, 1), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "r.pdf: the report file must end in .html or .json"));
	assert_int_equal(stat(path, &st), -1);
	/* a bad model writes nothing */
	bad = json_deep_copy(m);
	json_object_set_new(bad, "format", json_integer(0));
	snprintf(path, sizeof(path), "%s/bad.html", dir);
	assert_int_equal(cu_report_write(path, bad, 0), CU_EINVALID);
	assert_string_equal(cu_error_last(), "format: must be an integer 1-1");
	assert_int_equal(stat(path, &st), -1);
	json_decref(bad);
	json_decref(m);
	snprintf(path, sizeof(path), "%s/r.html", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/r.JSON", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* Long labels are cut by characters, never inside a UTF-8 sequence. */
static void
test_labels(void **state)
{
	json_t *m = load(month_model);
	char *html;
	size_t len;

	(void)state;
	json_object_set_new(json_array_get(json_object_get(m, "reconciliation"), 0), "statement",
		json_string("对账单对账单对账单对账单对账单对账单对账"));
	assert_int_equal(cu_report_html(&html, &len, m), 0);
	/* 12 wide characters (24 columns) then an ellipsis in the chart;
	 * whole in the table */
	assert_non_null(strstr(html, ">对账单对账单对账单对账单…</text>"));
	assert_non_null(strstr(html, "<td>对账单对账单对账单对账单对账单对账单对账</td>"));
	free(html);
	json_decref(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_period),
		cmocka_unit_test(test_typical_month),
		cmocka_unit_test(test_many_rules),
		cmocka_unit_test(test_long_period),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_closes),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
