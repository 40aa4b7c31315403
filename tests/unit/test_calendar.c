/* test_calendar.c — calendar expressions and their next times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/calendar.h"
#include "custos/error.h"

static void
zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* "YYYY-MM-DD HH:MM:SS" in UTC as epoch seconds */
static int64_t
utc(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%Y-%m-%d %H:%M:%S", &tm) == NULL)
		fail_msg("bad time in test: %s", s);
	return (int64_t)timegm(&tm);
}

/* The next time of expr after `after` (UTC text), printed in the zone in
 * force with its abbreviation. */
static const char *
next(const char *expr, const char *after)
{
	static char buf[64];
	cu_calendar c;
	int64_t t;
	time_t tt;
	struct tm tm;

	if (cu_calendar_parse(&c, expr) < 0)
		fail_msg("%s: %s", expr, cu_error_last());
	if (cu_calendar_next(&t, &c, utc(after)) < 0)
		return "never";
	tt = (time_t)t;
	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm);
	return buf;
}

static void
test_next_utc(void **state)
{
	(void)state;
	zone("UTC");
	/* 2026-11-29 is a Sunday */
	assert_string_equal(next("Sun 02:00", "2026-11-29 01:59:59"), "2026-11-29 02:00:00 UTC");
	assert_string_equal(next("Sun 02:00", "2026-11-29 02:00:00"), "2026-12-06 02:00:00 UTC");
	assert_string_equal(next("*-*-* 02:30", "2026-11-29 02:46:00"), "2026-11-30 02:30:00 UTC");
	assert_string_equal(next("*-*-01 05:00", "2026-11-29 00:00:00"), "2026-12-01 05:00:00 UTC");
	assert_string_equal(next("*-*-01 05:00", "2026-12-01 05:00:00"), "2027-01-01 05:00:00 UTC");
	assert_string_equal(next("hourly", "2026-11-29 02:00:00"), "2026-11-29 03:00:00 UTC");
	assert_string_equal(next("daily", "2026-12-31 23:59:59"), "2027-01-01 00:00:00 UTC");
	assert_string_equal(next("weekly", "2026-11-29 12:00:00"), "2026-11-30 00:00:00 UTC");
	assert_string_equal(next("monthly", "2026-11-29 12:00:00"), "2026-12-01 00:00:00 UTC");
	assert_string_equal(next("yearly", "2026-11-29 12:00:00"), "2027-01-01 00:00:00 UTC");
	assert_string_equal(next("minutely", "2026-11-29 12:00:00"), "2026-11-29 12:01:00 UTC");
	assert_string_equal(next("*:0/15", "2026-11-29 12:00:00"), "2026-11-29 12:15:00 UTC");
	assert_string_equal(next("*:0/15", "2026-11-29 12:59:59"), "2026-11-29 13:00:00 UTC");
	assert_string_equal(next("*:05/20:30", "2026-11-29 12:45:31"), "2026-11-29 13:05:30 UTC");
	assert_string_equal(next("8..18:00/30", "2026-11-29 18:00:00"), "2026-11-29 18:30:00 UTC");
	assert_string_equal(next("8..18:00/30", "2026-11-29 18:30:00"), "2026-11-30 08:00:00 UTC");
	assert_string_equal(next("Mon..Fri 08:00", "2026-11-27 08:00:00"), "2026-11-30 08:00:00 UTC");
	assert_string_equal(next("Sat,Sun 10:15:30", "2026-11-29 10:15:30"), "2026-12-05 10:15:30 UTC");
	assert_string_equal(next("Mon,Wed..Fri 12:00", "2026-12-01 12:00:00"), "2026-12-02 12:00:00 UTC");
	assert_string_equal(next("*-01,07-01", "2026-11-29 00:00:00"), "2027-01-01 00:00:00 UTC");
	assert_string_equal(next("*-01,07-01", "2027-01-01 00:00:00"), "2027-07-01 00:00:00 UTC");
	/* days 1, 8, 15, 22, 29 */
	assert_string_equal(next("*-*-01/7 03:00", "2026-11-29 00:00:00"), "2026-11-29 03:00:00 UTC");
	assert_string_equal(next("*-*-01/7 03:00", "2026-11-29 03:00:00"), "2026-12-01 03:00:00 UTC");
	assert_string_equal(next("*-*-01/7 03:00", "2026-12-01 03:00:00"), "2026-12-08 03:00:00 UTC");
	assert_string_equal(next("*-*-01/7 03:00", "2026-12-29 03:00:00"), "2027-01-01 03:00:00 UTC");
	assert_string_equal(next("2027-*-* 00:00", "2026-03-03 00:00:00"), "2027-01-01 00:00:00 UTC");
	assert_string_equal(next("2027-*-* 00:00", "2027-12-31 00:00:00"), "never");
	assert_string_equal(next("12-25 09:00", "2026-12-25 09:00:01"), "2027-12-25 09:00:00 UTC");
	/* before 1970: the first time from 1970 on */
	assert_string_equal(next("*-*-* 02:30", "1969-07-20 20:17:00"), "1970-01-01 02:30:00 UTC");
	assert_string_equal(next("daily", "1969-12-31 23:59:59"), "1970-01-01 00:00:00 UTC");
	/* the time in an explicit UTC expression does not depend on TZ */
	zone("Asia/Shanghai");
	assert_string_equal(next("*-*-* 02:30 UTC", "2026-11-29 02:30:00"), "2026-11-30 10:30:00 CST");
	assert_string_equal(next("daily UTC", "2026-11-29 02:30:00"), "2026-11-30 08:00:00 CST");
	assert_string_equal(next("daily", "2026-11-29 02:30:00"), "2026-11-30 00:00:00 CST");
	zone("UTC");
}

static void
test_month_lengths_and_leap_years(void **state)
{
	(void)state;
	zone("UTC");
	assert_string_equal(next("*-*-31", "2026-04-01 00:00:00"), "2026-05-31 00:00:00 UTC");
	assert_string_equal(next("*-*-31", "2026-05-31 00:00:00"), "2026-07-31 00:00:00 UTC");
	assert_string_equal(next("*-*-30", "2027-01-30 00:00:00"), "2027-03-30 00:00:00 UTC");
	assert_string_equal(next("*-02-29", "2025-01-01 00:00:00"), "2028-02-29 00:00:00 UTC");
	assert_string_equal(next("*-02-29", "2028-02-29 00:00:00"), "2032-02-29 00:00:00 UTC");
	/* 2100 is not a leap year, 2000 was */
	assert_string_equal(next("*-02-29", "2096-03-01 00:00:00"), "2104-02-29 00:00:00 UTC");
	assert_string_equal(next("*-02-29", "1999-01-01 00:00:00"), "2000-02-29 00:00:00 UTC");
	assert_string_equal(next("*-02-30", "2026-01-01 00:00:00"), "never");
	assert_string_equal(next("*-04-31", "2026-01-01 00:00:00"), "never");
	assert_string_equal(next("*-*-31 23:59:59", "2026-12-31 23:59:58"), "2026-12-31 23:59:59 UTC");
	assert_string_equal(next("*-*-31 23:59:59", "2026-12-31 23:59:59"), "2027-01-31 23:59:59 UTC");
	/* Friday the 13th: 2026-02-13, then 2026-03-13, then 2026-11-13 */
	assert_string_equal(next("Fri *-*-13", "2026-01-01 00:00:00"), "2026-02-13 00:00:00 UTC");
	assert_string_equal(next("Fri *-*-13", "2026-03-13 00:00:00"), "2026-11-13 00:00:00 UTC");
	/* the first Monday of a month */
	assert_string_equal(next("Mon *-*-1..7 06:00", "2026-11-29 00:00:00"), "2026-12-07 06:00:00 UTC");
	assert_string_equal(next("*-*-* 02:00", "2199-12-31 02:00:00"), "never");
}

static void
test_daylight_saving(void **state)
{
	(void)state;
	/* Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST (at 01:00 UTC) */
	zone("Europe/Berlin");
	assert_string_equal(next("*-*-* 02:30", "2026-03-28 12:00:00"), "2026-03-29 03:00:00 CEST");
	assert_int_equal(0, strcmp(next("*-*-* 02:30", "2026-03-29 01:00:00"), "2026-03-30 02:30:00 CEST"));
	assert_string_equal(next("*-*-* 02:00", "2026-03-28 12:00:00"), "2026-03-29 03:00:00 CEST");
	assert_string_equal(next("*-*-* 01:59:59", "2026-03-28 12:00:00"), "2026-03-29 01:59:59 CET");
	assert_string_equal(next("*-*-* 03:00", "2026-03-28 12:00:00"), "2026-03-29 03:00:00 CEST");
	assert_string_equal(next("*:0/15", "2026-03-29 00:50:00"), "2026-03-29 03:00:00 CEST");
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET (at 01:00 UTC); 02:30 happens
	 * twice and is due at the first only */
	assert_string_equal(next("*-*-* 02:30", "2026-10-24 12:00:00"), "2026-10-25 02:30:00 CEST");
	assert_string_equal(next("*-*-* 02:30", "2026-10-25 00:30:00"), "2026-10-26 02:30:00 CET");
	assert_string_equal(next("*-*-* 02:30", "2026-10-25 00:45:00"), "2026-10-26 02:30:00 CET");
	assert_string_equal(next("*:0/15", "2026-10-25 00:50:00"), "2026-10-25 03:00:00 CET");
	assert_string_equal(next("*:0/15", "2026-10-25 01:10:00"), "2026-10-25 03:00:00 CET");
	assert_string_equal(next("hourly", "2026-10-24 23:30:00"), "2026-10-25 02:00:00 CEST");
	assert_string_equal(next("hourly", "2026-10-25 00:00:00"), "2026-10-25 03:00:00 CET");
	/* New York, 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST */
	zone("America/New_York");
	assert_string_equal(next("Sun 02:30", "2026-03-07 00:00:00"), "2026-03-08 03:00:00 EDT");
	assert_string_equal(next("Sun 01:30", "2026-11-01 05:00:00"), "2026-11-01 01:30:00 EDT");
	assert_string_equal(next("Sun 01:30", "2026-11-01 05:30:00"), "2026-11-08 01:30:00 EST");
	/* the same wall time in UTC expressions is untouched */
	assert_string_equal(next("*-*-* 01:30 UTC", "2026-03-08 00:00:00"), "2026-03-07 20:30:00 EST");
	zone("UTC");
}

/* expr is refused with a message containing want. */
static void
expect_bad(const char *expr, const char *want)
{
	cu_calendar c;

	assert_int_equal(cu_calendar_parse(&c, expr), CU_EINVALID);
	if (strstr(cu_error_last(), want) == NULL)
		fail_msg("message [%s] lacks [%s]", cu_error_last(), want);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_bad("", "calendar \"\": empty");
	expect_bad("   ", "empty");
	expect_bad("Sun 02:61", "calendar \"Sun 02:61\": minute \"61\": out of range 0-59");
	expect_bad("24:00", "hour \"24\": out of range 0-23");
	expect_bad("*-13-01", "month \"13\": out of range 1-12");
	expect_bad("*-*-32", "day \"32\": out of range 1-31");
	expect_bad("*-*-00", "day \"00\": out of range 1-31");
	expect_bad("1969-01-01", "year \"1969\": out of range 1970-2199");
	expect_bad("26-01-01", "year \"26\": years have four digits");
	expect_bad("Sunday..Mon 02:00", "weekdays \"Sunday..Mon\": a range goes from Mon towards Sun");
	expect_bad("Son 02:00", "weekday \"Son\": not a day (Mon … Sun)");
	expect_bad("Mon. 02:00", "weekdays \"Mon.\": a range is Mon..Fri");
	expect_bad("Mon, 02:00", "a list ends with a day");
	expect_bad("*:*/15", "minute \"*/15\": a step needs a start (0/15, not */15)");
	expect_bad("*:0/0", "minute \"0/0\": a step is a number 1 or more");
	expect_bad("*:10..5", "minute \"10..5\": a range must go upwards");
	expect_bad("*:1,", "minute \"1,\": a list ends with a value");
	expect_bad("*:1,*", "* stands alone");
	expect_bad("02:00:00.5", "second \"00.5\": fractions of seconds are not supported");
	expect_bad("02", "part \"02\": not a weekday, a date (YYYY-MM-DD) or a time (HH:MM)");
	expect_bad("02:00 2026-01-01", "part \"2026-01-01\": the date comes once, before the time");
	expect_bad("02:00 03:00", "part \"03:00\": a second time");
	expect_bad("2026-01", "month \"2026\": out of range 1-12");
	expect_bad("2026-01-01-01", "date \"2026-01-01-01\": a date is YYYY-MM-DD or MM-DD");
	expect_bad("02:00:00:00", "a time is HH:MM or HH:MM:SS");
	expect_bad("02:00 Europe/Berlin", "part \"Europe/Berlin\"");
	expect_bad("UTC", "UTC of what?");
	expect_bad("UTC 02:00", "UTC comes last");
	expect_bad("daily 02:00", "a shorthand like daily stands alone");
	expect_bad("02:0x", "minute \"0x\": not a number, range, list or *");
	expect_bad("*:00000", "minute \"00000\"");
	expect_bad("Mon Tue 02:00", "part \"Tue\"");
}

static void
test_parse_forms(void **state)
{
	cu_calendar a, b;

	(void)state;
	/* shorthands are the expressions they stand for */
	assert_int_equal(cu_calendar_parse(&a, "weekly"), 0);
	assert_int_equal(cu_calendar_parse(&b, "Mon *-*-* 00:00:00"), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(cu_calendar_parse(&a, "monday 00:00"), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* a missing date is every day, missing seconds are 0 */
	assert_int_equal(cu_calendar_parse(&a, "*-*-* 02:30:00"), 0);
	assert_int_equal(cu_calendar_parse(&b, "  02:30  "), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(b.utc, 0);
	assert_int_equal(cu_calendar_parse(&b, "02:30 UTC"), 0);
	assert_int_equal(b.utc, 1);
	assert_int_equal(cu_calendar_parse(&a, "Mon..Fri"), 0);
	assert_int_equal(a.weekday, 0x3e);
	assert_int_equal(a.hour, 1);
	assert_int_equal(cu_calendar_parse(&a, "Sat,Sun"), 0);
	assert_int_equal(a.weekday, 0x41);
	assert_int_equal(cu_calendar_parse(&a, "*:0/15"), 0);
	assert_int_equal(a.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45));
	assert_int_equal(cu_calendar_parse(&a, "*-*-1..3,28/2"), 0);
	assert_int_equal(a.day, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 28) | (1u << 30));
}

static void
test_random_delay(void **state)
{
	uint32_t d1, d2, d3, seen = 0;

	(void)state;
	assert_int_equal(cu_calendar_delay("verify", "/var/lib/custos/archive", 0), 0);
	d1 = cu_calendar_delay("verify", "/var/lib/custos/archive", 3600);
	d2 = cu_calendar_delay("verify", "/var/lib/custos/archive", 3600);
	assert_int_equal(d1, d2);
	assert_true(d1 <= 3600);
	/* another job or another archive: another offset (for these names) */
	d2 = cu_calendar_delay("backup_full", "/var/lib/custos/archive", 3600);
	d3 = cu_calendar_delay("verify", "/srv/other", 3600);
	assert_true(d1 != d2 || d1 != d3);
	/* spread over the whole range */
	for (int i = 0; i < 200; i++) {
		char job[16];
		snprintf(job, sizeof(job), "job%d", i);
		d1 = cu_calendar_delay(job, "/a", 9);
		assert_true(d1 <= 9);
		seen |= 1u << d1;
	}
	assert_int_equal(seen, 0x3ff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_utc),
		cmocka_unit_test(test_month_lengths_and_leap_years),
		cmocka_unit_test(test_daylight_saving),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_random_delay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
