/* test_retention.c — disposal dates from refs: every retention code, year
 * boundaries, permanent records, dates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "custos/error.h"
#include "custos/retention.h"

static void
test_retention_codes(void **state)
{
	int y;

	(void)state;
	assert_int_equal(cu_retention_years(&y, "Y"), 0);
	assert_int_equal(y, CU_RETENTION_PERMANENT);
	assert_int_equal(cu_retention_years(&y, "D100"), 0);
	assert_int_equal(y, 100);
	assert_int_equal(cu_retention_years(&y, "D50"), 0);
	assert_int_equal(y, 50);
	assert_int_equal(cu_retention_years(&y, "D30"), 0);
	assert_int_equal(y, 30);
	assert_int_equal(cu_retention_years(&y, "D10"), 0);
	assert_int_equal(y, 10);
	/* nothing else: not other periods, not lower case, not padded */
	const char *bad[] = { "", "y", "D20", "D5", "D010", "D100 ", " Y", "X", "D", "permanent" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(cu_retention_years(&y, bad[i]), CU_EINVALID);
		assert_non_null(strstr(cu_error_last(), "must be one of Y, D100, D50, D30, D10"));
	}
}

/* The disposal date of a ref as "YYYY-MM-DD" ("" when permanent). */
static const char *
disposal(const char *ref)
{
	static char out[16];
	int date = -1;

	if (cu_disposal_date(&date, ref) < 0)
		return "error";
	cu_date_format(out, date);
	return out;
}

static void
test_disposal_dates(void **state)
{
	(void)state;
	/* 1 January of the year after formation, plus the period */
	assert_string_equal(disposal("SI01-SB·2026-D30-DY-000001"), "2057-01-01");
	assert_string_equal(disposal("SI01-SB·2026-D10-JF-000123"), "2037-01-01");
	assert_string_equal(disposal("SI01-SB·2026-D50-GS-000001"), "2077-01-01");
	assert_string_equal(disposal("SI01-SB·2026-D100-DJ-000001"), "2127-01-01");
	assert_string_equal(disposal("SI01-SB·1999-D100-DJ-000001"), "2100-01-01");
	assert_string_equal(disposal("SI01-SB·2025-D10-JF-000001"), "2036-01-01");
	/* permanent: never */
	assert_string_equal(disposal("SI01-SB·2026-Y-DJ-000001"), "");
	/* '-' for '·', a class key without an item, a case file's ref, cases */
	assert_string_equal(disposal("SI01-SB-2010-D10-JF-000001"), "2021-01-01");
	assert_string_equal(disposal("SI01-SB·2010-D10-JF"), "2021-01-01");
	assert_string_equal(disposal("SI01-YW·2026-D50-GS-000001-01-0001"), "2077-01-01");
	assert_string_equal(disposal("Z109-WS·2011-Y-BGS-0001"), "");
	/* the last years a 4-digit ref can name */
	assert_string_equal(disposal("SI01-SB·9999-D100-DJ-000001"), "10100-01-01");
	/* not refs */
	const char *bad[] = { "", "SI01", "SI01-SB·26-D30-DY-000001", "SI01-SB·2026-D30",
		"SI01-SB·20x6-D30-DY-000001", "SI01-SB·2026-D20-DY-000001", "SI01-SB·0999-D10-JF-1",
		"SI01-SB·2026--DY-000001", "SI01-SB·2026-D30-" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int date = 42;
		if (cu_disposal_date(&date, bad[i]) != CU_EINVALID)
			fail_msg("%s accepted", bad[i]);
		assert_int_equal(date, 0);
	}
}

static void
test_due_at_year_boundaries(void **state)
{
	int date, at;

	(void)state;
	assert_int_equal(cu_disposal_date(&date, "SI01-SB·2026-D30-DY-000001"), 0);
	assert_int_equal(date, 20570101);
	/* the last day before is not due; the first of January is */
	assert_int_equal(cu_date_ymd(&at, "2056-12-31"), 0);
	assert_false(cu_disposal_due(date, at));
	assert_int_equal(cu_date_ymd(&at, "2057-01-01"), 0);
	assert_true(cu_disposal_due(date, at));
	assert_int_equal(cu_date_ymd(&at, "2099-06-30"), 0);
	assert_true(cu_disposal_due(date, at));
	/* a record formed on the last day of a year counts from the next */
	assert_int_equal(cu_disposal_date(&date, "SI01-SB·2025-D10-JF-000001"), 0);
	assert_int_equal(cu_date_ymd(&at, "2035-12-31"), 0);
	assert_false(cu_disposal_due(date, at));
	assert_int_equal(cu_date_ymd(&at, "2036-01-01"), 0);
	assert_true(cu_disposal_due(date, at));
	/* permanent records are never due */
	assert_int_equal(cu_disposal_date(&date, "SI01-SB·1900-Y-DJ-000001"), 0);
	assert_int_equal(cu_date_ymd(&at, "9999-12-31"), 0);
	assert_false(cu_disposal_due(date, at));
}

static void
test_dates(void **state)
{
	int d;
	char out[16];

	(void)state;
	assert_int_equal(cu_date_ymd(&d, "2024-02-29"), 0);
	assert_int_equal(d, 20240229);
	cu_date_format(out, d);
	assert_string_equal(out, "2024-02-29");
	assert_int_equal(cu_date_ymd(&d, "2000-02-29"), 0);
	assert_int_equal(cu_date_ymd(&d, "1900-02-29"), CU_EINVALID);
	assert_non_null(strstr(cu_error_last(), "not a real date"));
	assert_int_equal(cu_date_ymd(&d, "2026-02-29"), CU_EINVALID);
	assert_int_equal(cu_date_ymd(&d, "2026-04-31"), CU_EINVALID);
	assert_int_equal(cu_date_ymd(&d, "2026-13-01"), CU_EINVALID);
	assert_int_equal(cu_date_ymd(&d, "2026-00-10"), CU_EINVALID);
	assert_int_equal(cu_date_ymd(&d, "2026-01-00"), CU_EINVALID);
	const char *shape[] = { "", "2026-1-01", "2026/01/01", "26-01-01", "2026-01-01T00:00:00Z",
		"2026-01-0a", " 2026-01-01" };
	for (size_t i = 0; i < sizeof(shape) / sizeof(*shape); i++) {
		assert_int_equal(cu_date_ymd(&d, shape[i]), CU_EINVALID);
		assert_non_null(strstr(cu_error_last(), "must be YYYY-MM-DD"));
	}
	cu_date_format(out, 0);
	assert_string_equal(out, "");
	/* the calendar date of an instant in a zone: 2026-12-31T16:30Z is
	 * already 2027 in China (+08:00) and still 2026 at UTC-05:00 */
	assert_int_equal(cu_date_of_epoch(1798734600LL, 8 * 60), 20270101);
	assert_int_equal(cu_date_of_epoch(1798734600LL, 0), 20261231);
	assert_int_equal(cu_date_of_epoch(1798734600LL, -5 * 60), 20261231);
	assert_int_equal(cu_date_of_epoch(0, 0), 19700101);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retention_codes),
		cmocka_unit_test(test_disposal_dates),
		cmocka_unit_test(test_due_at_year_boundaries),
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
