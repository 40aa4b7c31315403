/*
 * calendar.h — calendar expressions for the daemon's schedules: a documented
 * subset of systemd.time(7) calendar events (docs/daemon-config.md,
 * "Calendar expressions"):
 *
 *   [WEEKDAYS] [DATE] [TIME] [UTC]      or  minutely hourly daily weekly
 *                                           monthly yearly annually
 *   WEEKDAYS  Mon..Fri   Sat,Sun   Mon,Wed..Fri   (Mon Tue … or Monday …)
 *   DATE      YYYY-MM-DD or MM-DD; each field *, N, N..M, N/S, N..M/S, or a
 *             comma list of those:  *-*-01   *-01,07-01   2026-*-1..7
 *   TIME      HH:MM[:SS], each field the same:  02:30   *:0/15   08..18:00
 *
 * A missing date is *-*-*, a missing time 00:00:00, missing seconds 00.
 * Times are local (the TZ of the process) unless the expression ends in UTC.
 */
#ifndef CUSTOS_CALENDAR_H
#define CUSTOS_CALENDAR_H

#include <stdint.h>

#define CU_CALENDAR_YEAR_MIN 1970
#define CU_CALENDAR_YEAR_MAX 2199

/* A parsed expression: one bit per allowed value of each field. */
typedef struct cu_calendar {
	uint64_t year[4];     /* bit (year - 1970) */
	uint16_t month;       /* bits 1-12 */
	uint32_t day;         /* bits 1-31 */
	uint8_t weekday;      /* bits 0-6, Sunday = 0 (as tm_wday) */
	uint32_t hour;        /* bits 0-23 */
	uint64_t minute;      /* bits 0-59 */
	uint64_t second;      /* bits 0-59 */
	int utc;              /* 1: the fields are UTC, 0: local time */
} cu_calendar;

/* Parses expr.  CU_EINVALID for anything outside the subset, with a message
 * naming the offending part:
 *   calendar "Sun 02:61": minute "61": out of range 0-59 */
int cu_calendar_parse(cu_calendar *out, const char *expr);

/* The first time the expression matches strictly after `after` (epoch
 * seconds), in *out.  CU_ENOTFOUND when it never matches again before
 * 2200 (e.g. "*-02-30").
 *
 * Local time, where the clock changes:
 * - a time that does not exist (skipped when clocks go forward) is due at
 *   the first moment after the gap: "02:30" runs at 03:00 that day;
 * - a time that occurs twice (clocks go back) is due at its first
 *   occurrence only. */
int cu_calendar_next(int64_t *out, const cu_calendar *cal, int64_t after);

/* The random delay of a job, deterministic (like systemd's
 * RandomizedDelaySec= with FixedRandomDelay=yes): a number of seconds in
 * [0, max] taken from SHA-256(job NUL archive), so each job of each archive
 * always runs at the same offset after its time, and jobs of several archives
 * on one machine are spread out. */
uint32_t cu_calendar_delay(const char *job, const char *archive, uint32_t max);

#endif
