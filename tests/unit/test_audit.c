/* test_audit.c — the audit report's model gathered from an archive
 * (cu_archive_audit_model, src/audit.c): two months of fund transactions
 * that fire several rules, some reviewed, one denied; the model's counts
 * exactly, its validity, its rendering, and the period's errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "custos/archive.h"
#include "custos/error.h"
#include "custos/report.h"

static char tmpdir[] = "/tmp/custos-test-audit-XXXXXX";
static char arch[512];

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

#define IDNO "11010519491231002X"
#define BEN(no, at, maker) "{\"type\":\"fund_txn\",\"txn_no\":\"" no "\"," \
	"\"kind\":\"benefit_payment\",\"fund\":\"pension\",\"scheme\":\"employee\"," \
	"\"amount\":\"3250.00\",\"period\":\"2026-11\",\"posted_at\":\"" at "\"," \
	"\"from_account\":{\"no\":\"EXP-P\",\"class\":\"expenditure\"},\"to_account\":" \
	"{\"no\":\"6222020200112233\",\"class\":\"beneficiary\"},\"person\":{\"id_no\":\"" \
	IDNO "\",\"name\":\"张三\"},\"maker\":\"" maker "\",\"reviewer\":\"op-020\"," \
	"\"approver\":\"op-031\"}\n"
#define CONTRIB(no, base, at, maker) "{\"type\":\"fund_txn\",\"txn_no\":\"" no "\"," \
	"\"kind\":\"contribution\",\"fund\":\"pension\",\"scheme\":\"employee\",\"amount\":" \
	"\"500.00\",\"period\":\"2026-11\",\"posted_at\":\"" at "\",\"base\":\"" base "\"," \
	"\"from_account\":{\"no\":\"PAY-1\",\"class\":\"payer\"},\"to_account\":{\"no\":" \
	"\"INC-P\",\"class\":\"income\"},\"org\":{\"uscc\":\"91350100M000100Y43\",\"name\":" \
	"\"Example Co.\"},\"maker\":\"" maker "\"}\n"

/* Two months of business in an archive in +08:00 (the default):
 *   C-0  2026-10-15 Thu  op-017  review BASE-1      (stays queued)
 *   C-1  2026-11-03 Tue  op-017  allow
 *   C-2  2026-11-04 Wed  op-017  review BASE-1      (approved)
 *   C-3  2026-11-05 Thu  op-018  review BASE-1      (rejected)
 *   B-1  2026-11-20 Fri  op-017  review QUAL-1      (stays queued)
 *   B-2  2026-11-21 Sat  op-018  deny DUP-1, review QUAL-1, note TIME-1
 *   C-9  2026-12-01T00:30+08:00 (still 2026-11-30 in UTC): outside the
 *        period, queued (BASE-1). */
static int
setup(void **state)
{
	static const char text[] =
		CONTRIB("C-0", "5999.99", "2026-10-15T10:00:00+08:00", "op-017")
		CONTRIB("C-1", "8000.00", "2026-11-03T10:00:00+08:00", "op-017")
		CONTRIB("C-2", "5999.99", "2026-11-04T10:00:00+08:00", "op-017")
		CONTRIB("C-3", "5000.00", "2026-11-05T10:00:00+08:00", "op-018")
		BEN("B-1", "2026-11-20T10:02:00+08:00", "op-017")
		BEN("B-2", "2026-11-21T10:02:00+08:00", "op-018")
		CONTRIB("C-9", "5000.00", "2026-12-01T00:30:00+08:00", "op-017");
	cu_archive_init_opts o = { NULL, "SI01", NULL };
	char ref[128], ev[65];
	cu_ingest_stats st;
	cu_ingest *in = NULL;
	cu_archive *a = NULL;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(arch, sizeof(arch), "%s/arch", tmpdir);
	if (cu_archive_init(arch, &o) != 0 || cu_archive_open(&a, arch, CU_ARCHIVE_WRITE, 0) != 0 ||
	    cu_ingest_begin(&in, a, NULL, NULL) != 0 ||
	    cu_ingest_buffer(in, "t.jsonl", text, strlen(text)) != 0 ||
	    cu_ingest_finish(in, &st) != 0 ||
	    cu_archive_review(a, "txn:C-2", 1, "基数经核实", ref, ev) != 0 ||
	    cu_archive_review(a, "txn:C-3", 0, "基数有误", ref, ev) != 0) {
		fprintf(stderr, "setup: %s\n", cu_error_last());
		cu_archive_free(a);
		return -1;
	}
	cu_archive_free(a);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static json_t *
model_of(const char *from, const char *to, size_t *n)
{
	cu_archive *a = NULL;
	json_t *m = NULL;

	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0), 0);
	if (cu_archive_audit_model(a, from, to, &m, n) != 0)
		fail_msg("audit model: %s", cu_error_last());
	cu_archive_free(a);
	return m;
}

/* The (month, rule) row of the decisions as "deny/review/note", or "-". */
static void
row(char *out, size_t sz, const json_t *m, const char *month, const char *rule)
{
	const json_t *v;
	size_t i;

	snprintf(out, sz, "-");
	json_array_foreach(json_object_get(m, "decisions"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "month")), month) == 0 &&
		    strcmp(json_string_value(json_object_get(v, "rule")), rule) == 0)
			snprintf(out, sz, "%lld/%lld/%lld",
				(long long)json_integer_value(json_object_get(v, "deny")),
				(long long)json_integer_value(json_object_get(v, "review")),
				(long long)json_integer_value(json_object_get(v, "note")));
}

static void
maker(char *out, size_t sz, const json_t *m, const char *who)
{
	const json_t *v;
	size_t i;

	snprintf(out, sz, "-");
	json_array_foreach(json_object_get(m, "makers"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "maker")), who) == 0)
			snprintf(out, sz, "%lld/%lld/%lld",
				(long long)json_integer_value(json_object_get(v, "deny")),
				(long long)json_integer_value(json_object_get(v, "review")),
				(long long)json_integer_value(json_object_get(v, "note")));
}

static void
test_counts(void **state)
{
	json_t *m, *d, *q;
	char buf[64], *out = NULL;
	size_t n = 99, len;

	(void)state;
	m = model_of("2026-10-01", "2026-11-30", &n);
	assert_int_equal(cu_report_validate(m), 0);
	assert_int_equal(n, 6);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "period"),
		"from")), "2026-10-01");
	assert_int_equal(json_array_size(json_object_get(m, "decisions")), 5);
	row(buf, sizeof(buf), m, "2026-10", "BASE-1"); assert_string_equal(buf, "0/1/0");
	row(buf, sizeof(buf), m, "2026-11", "BASE-1"); assert_string_equal(buf, "0/2/0");
	row(buf, sizeof(buf), m, "2026-11", "QUAL-1"); assert_string_equal(buf, "0/2/0");
	row(buf, sizeof(buf), m, "2026-11", "DUP-1"); assert_string_equal(buf, "1/0/0");
	row(buf, sizeof(buf), m, "2026-11", "TIME-1"); assert_string_equal(buf, "0/0/1");
	row(buf, sizeof(buf), m, "2026-12", "BASE-1"); assert_string_equal(buf, "-");
	assert_int_equal(json_array_size(json_object_get(m, "makers")), 2);
	maker(buf, sizeof(buf), m, "op-017"); assert_string_equal(buf, "0/3/0");
	maker(buf, sizeof(buf), m, "op-018"); assert_string_equal(buf, "1/2/1");

	/* the denied attempt, and only it */
	assert_int_equal(json_array_size(json_object_get(m, "denied")), 1);
	d = json_array_get(json_object_get(m, "denied"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "txn_no")), "B-2");
	assert_string_equal(json_string_value(json_object_get(d, "maker")), "op-018");
	assert_string_equal(json_string_value(json_object_get(d, "kind")), "benefit_payment");
	assert_string_equal(json_string_value(json_object_get(d, "posted_at")),
		"2026-11-21T10:02:00+08:00");
	assert_int_equal(json_integer_value(json_object_get(d, "amount_fen")), 325000);
	assert_int_equal(json_array_size(json_object_get(d, "rules")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "rules"), 0)),
		"DUP-1");

	/* the queue now: C-0, B-1 and C-9 (the period does not limit it); C-2
	 * approved and C-3 rejected have left it */
	q = json_object_get(m, "queue");
	assert_int_equal(json_array_size(json_object_get(q, "items")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(q,
		"histogram"), 0), "count")), 3);
	assert_int_equal(json_array_size(json_object_get(m, "reconciliation")), 0);
	/* every rule of the policy in force, with its severity */
	assert_true(json_array_size(json_object_get(m, "rules")) >= 10);

	/* renders; no ID number anywhere */
	assert_int_equal(cu_report_json(&out, &len, m), 0);
	assert_null(strstr(out, IDNO));
	assert_null(strstr(out, "张三"));
	free(out);
	assert_int_equal(cu_report_html(&out, &len, m), 0);
	assert_non_null(strstr(out, "<svg"));
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, IDNO));
	free(out);
	json_decref(m);

	/* one month: October alone */
	m = model_of("2026-10-01", "2026-10-31", &n);
	assert_int_equal(n, 1);
	assert_int_equal(json_array_size(json_object_get(m, "decisions")), 1);
	assert_int_equal(json_array_size(json_object_get(m, "denied")), 0);
	json_decref(m);

	/* the day after in the archive's time zone: C-9 alone */
	m = model_of("2026-12-01", "2026-12-01", &n);
	assert_int_equal(n, 1);
	row(buf, sizeof(buf), m, "2026-12", "BASE-1"); assert_string_equal(buf, "0/1/0");
	json_decref(m);

	/* nothing in the period: a valid, empty model */
	m = model_of("2025-01-01", "2025-12-31", &n);
	assert_int_equal(n, 0);
	assert_int_equal(cu_report_validate(m), 0);
	assert_int_equal(json_array_size(json_object_get(m, "decisions")), 0);
	assert_int_equal(json_array_size(json_object_get(m, "makers")), 0);
	json_decref(m);
}

static void
test_bad_period(void **state)
{
	cu_archive *a = NULL;
	json_t *m = (json_t *)1;

	(void)state;
	assert_int_equal(cu_archive_open(&a, arch, CU_ARCHIVE_READ, 0), 0);
	assert_int_equal(cu_archive_audit_model(a, "2026-02-30", "2026-03-01", &m, NULL),
		CU_EINVALID);
	assert_null(m);
	assert_non_null(strstr(cu_error_last(), "--from"));
	assert_int_equal(cu_archive_audit_model(a, "2026-11-01", "2026-11", &m, NULL),
		CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "--to"));
	assert_int_equal(cu_archive_audit_model(a, "2026-11-02", "2026-11-01", &m, NULL),
		CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "before"));
	/* 120 months is the longest period; 121 refused */
	assert_int_equal(cu_archive_audit_model(a, "2017-01-01", "2026-12-31", &m, NULL), 0);
	json_decref(m);
	assert_int_equal(cu_archive_audit_model(a, "2016-12-31", "2026-12-31", &m, NULL),
		CU_ELIMIT);
	assert_null(m);
	cu_archive_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_bad_period),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
