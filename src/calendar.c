/* calendar.c — calendar expressions and their next time (see custos/calendar.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "custos/calendar.h"
#include "custos/error.h"
#include "custos/util.h"

/* One field's allowed values: bit (value - base). */
struct bits {
	uint64_t w[4];
};

static void
bit_set(struct bits *b, int i)
{
	b->w[i / 64] |= 1ULL << (i % 64);
}

static int
bit_get(const uint64_t *w, int i)
{
	return (int)((w[i / 64] >> (i % 64)) & 1);
}

static int
bad(const char *expr, const char *part, const char *text, size_t len, const char *why)
{
	return cu_error_set(CU_EINVALID, "calendar \"%s\": %s \"%.*s\": %s", expr, part,
		(int)len, text, why);
}

/* A decimal number of 1 to 4 digits at s[*i]; -1 if there is none. */
static int
number(const char *s, size_t len, size_t *i)
{
	int v = 0;
	size_t start = *i;

	while (*i < len && isdigit((unsigned char)s[*i]) && *i - start < 4)
		v = v * 10 + (s[(*i)++] - '0');
	if (*i == start || (*i < len && isdigit((unsigned char)s[*i])))
		return -1;
	return v;
}

/* One field: "*" or a comma list of N, N..M, N/S, N..M/S, values in
 * [min, max], stored as bits from min. */
static int
parse_field(struct bits *out, const char *s, size_t len, int min, int max,
	const char *part, const char *expr)
{
	char why[96];
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (len == 1 && s[0] == '*') {
		for (int v = min; v <= max; v++)
			bit_set(out, v - min);
		return 0;
	}
	if (len == 0)
		return bad(expr, part, s, len, "empty");
	for (;;) {
		int a, b, step = 1;
		if (s[i] == '*')
			return bad(expr, part, s, len, i + 1 < len && s[i + 1] == '/' ?
				"a step needs a start (0/15, not */15)" :
				"* stands alone, not in a list");
		if ((a = number(s, len, &i)) < 0)
			return bad(expr, part, s, len, "not a number, range, list or *");
		b = a;
		if (i + 1 < len && s[i] == '.' && s[i + 1] == '.') {
			i += 2;
			if ((b = number(s, len, &i)) < 0)
				return bad(expr, part, s, len, "a range is N..M");
		}
		if (i < len && s[i] == '/') {
			i++;
			if ((step = number(s, len, &i)) < 1)
				return bad(expr, part, s, len, "a step is a number 1 or more");
			if (b == a)
				b = max;
		}
		if (a < min || a > max || b < min || b > max) {
			snprintf(why, sizeof(why), "out of range %d-%d", min, max);
			return bad(expr, part, s, len, why);
		}
		if (b < a)
			return bad(expr, part, s, len, "a range must go upwards");
		for (int v = a; v <= b; v += step)
			bit_set(out, v - min);
		if (i == len)
			return 0;
		if (s[i] != ',')
			return bad(expr, part, s, len, "not a number, range, list or *");
		if (++i == len)
			return bad(expr, part, s, len, "a list ends with a value");
	}
}

static const char *const wday_names[7][2] = {
	{ "Sun", "Sunday" }, { "Mon", "Monday" }, { "Tue", "Tuesday" },
	{ "Wed", "Wednesday" }, { "Thu", "Thursday" }, { "Fri", "Friday" },
	{ "Sat", "Saturday" },
};

/* Mon = 0 … Sun = 6 (the order of a range), or -1. */
static int
wday_of(const char *s, size_t len)
{
	for (int d = 0; d < 7; d++)
		for (int k = 0; k < 2; k++)
			if (strlen(wday_names[d][k]) == len && strncasecmp(s, wday_names[d][k], len) == 0)
				return (d + 6) % 7;
	return -1;
}

static int
parse_weekdays(uint8_t *out, const char *s, size_t len, const char *expr)
{
	size_t i = 0;

	*out = 0;
	while (i < len) {
		size_t j = i, k;
		int a, b;
		while (j < len && s[j] != ',' && s[j] != '.')
			j++;
		if ((a = wday_of(s + i, j - i)) < 0)
			return bad(expr, "weekday", s + i, j - i, "not a day (Mon … Sun)");
		b = a;
		if (j + 1 < len && s[j] == '.' && s[j + 1] == '.') {
			k = j + 2;
			while (k < len && s[k] != ',')
				k++;
			if ((b = wday_of(s + j + 2, k - j - 2)) < 0)
				return bad(expr, "weekday", s + j + 2, k - j - 2, "not a day (Mon … Sun)");
			if (b < a)
				return bad(expr, "weekdays", s + i, k - i,
					"a range goes from Mon towards Sun");
			j = k;
		} else if (j < len && s[j] == '.') {
			return bad(expr, "weekdays", s, len, "a range is Mon..Fri");
		}
		for (int d = a; d <= b; d++)
			*out |= (uint8_t)(1u << ((d + 1) % 7));
		if (j == len)
			break;
		if (++j == len)
			return bad(expr, "weekdays", s, len, "a list ends with a day");
		i = j;
	}
	return 0;
}

/* Splits s[0..len) at sep into at most n parts; returns the count, or n + 1
 * when there are more. */
static int
split(const char *s, size_t len, char sep, const char **p, size_t *plen, int n)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++)
		if (i == len || s[i] == sep) {
			if (k == n)
				return n + 1;
			p[k] = s + start;
			plen[k++] = i - start;
			start = i + 1;
		}
	return k;
}

static int
parse_date(cu_calendar *c, const char *s, size_t len, const char *expr)
{
	const char *p[3];
	size_t pl[3];
	struct bits y, m, d;
	int n = split(s, len, '-', p, pl, 3), error;

	if (n < 2 || n > 3)
		return bad(expr, "date", s, len, "a date is YYYY-MM-DD or MM-DD");
	if (n == 3) {
		if (!(pl[0] == 1 && p[0][0] == '*') && pl[0] < 4)
			return bad(expr, "year", p[0], pl[0], "years have four digits");
		if ((error = parse_field(&y, p[0], pl[0], CU_CALENDAR_YEAR_MIN,
		    CU_CALENDAR_YEAR_MAX, "year", expr)) < 0)
			return error;
		memcpy(c->year, y.w, sizeof(c->year));
	}
	if ((error = parse_field(&m, p[n - 2], pl[n - 2], 1, 12, "month", expr)) < 0 ||
	    (error = parse_field(&d, p[n - 1], pl[n - 1], 1, 31, "day", expr)) < 0)
		return error;
	c->month = (uint16_t)(m.w[0] << 1);
	c->day = (uint32_t)(d.w[0] << 1);
	return 0;
}

static int
parse_time(cu_calendar *c, const char *s, size_t len, const char *expr)
{
	const char *p[3];
	size_t pl[3];
	struct bits h, m, sec;
	int n = split(s, len, ':', p, pl, 3), error;

	if (n < 2 || n > 3)
		return bad(expr, "time", s, len, "a time is HH:MM or HH:MM:SS");
	if ((error = parse_field(&h, p[0], pl[0], 0, 23, "hour", expr)) < 0 ||
	    (error = parse_field(&m, p[1], pl[1], 0, 59, "minute", expr)) < 0)
		return error;
	if (n == 3) {
		if (memchr(p[2], '.', pl[2]) && !memmem(p[2], pl[2], "..", 2))
			return bad(expr, "second", p[2], pl[2], "fractions of seconds are not supported");
		if ((error = parse_field(&sec, p[2], pl[2], 0, 59, "second", expr)) < 0)
			return error;
		c->second = sec.w[0];
	}
	c->hour = (uint32_t)h.w[0];
	c->minute = m.w[0];
	return 0;
}

int
cu_calendar_parse(cu_calendar *out, const char *expr)
{
	static const struct {
		const char *name, *expands;
	} shorthands[] = {
		{ "minutely", "*-*-* *:*:00" },
		{ "hourly", "*-*-* *:00:00" },
		{ "daily", "*-*-* 00:00:00" },
		{ "weekly", "Mon *-*-* 00:00:00" },
		{ "monthly", "*-*-01 00:00:00" },
		{ "yearly", "*-01-01 00:00:00" },
		{ "annually", "*-01-01 00:00:00" },
	};
	const char *tok[5];
	size_t tlen[5];
	int ntok = 0, have_date = 0, have_time = 0, error;
	cu_calendar c;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (strlen(expr) > 256)
		return cu_error_set(CU_EINVALID, "calendar expression: too long (256 bytes at most)");
	for (const char *s = expr; *s;) {
		size_t n = 0;
		if (*s == ' ') {
			s++;
			continue;
		}
		while (s[n] && s[n] != ' ')
			n++;
		if (ntok == 5)
			return cu_error_set(CU_EINVALID, "calendar \"%s\": too many parts", expr);
		tok[ntok] = s;
		tlen[ntok++] = n;
		s += n;
	}
	if (ntok == 0)
		return cu_error_set(CU_EINVALID, "calendar \"%s\": empty", expr);
	/* every year, month, day, weekday; 00:00:00 */
	for (int y = 0; y <= CU_CALENDAR_YEAR_MAX - CU_CALENDAR_YEAR_MIN; y++)
		c.year[y / 64] |= 1ULL << (y % 64);
	c.month = 0x1ffe;
	c.day = 0xfffffffe;
	c.weekday = 0x7f;
	c.hour = 1;
	c.minute = 1;
	c.second = 1;
	if (tlen[ntok - 1] == 3 && strncmp(tok[ntok - 1], "UTC", 3) == 0) {
		c.utc = 1;
		if (--ntok == 0)
			return cu_error_set(CU_EINVALID, "calendar \"%s\": UTC of what?", expr);
	}
	for (size_t k = 0; k < sizeof(shorthands) / sizeof(*shorthands); k++)
		if (strlen(shorthands[k].name) == tlen[0] &&
		    strncmp(tok[0], shorthands[k].name, tlen[0]) == 0) {
			if (ntok != 1)
				return bad(expr, "part", tok[1], tlen[1],
					"a shorthand like daily stands alone (or with UTC)");
			if ((error = cu_calendar_parse(out, shorthands[k].expands)) < 0)
				return error;
			out->utc = c.utc;
			return 0;
		}
	for (int k = 0; k < ntok; k++) {
		const char *s = tok[k];
		size_t n = tlen[k];
		if (memchr(s, ':', n)) {
			if (have_time)
				return bad(expr, "part", s, n, "a second time");
			if ((error = parse_time(&c, s, n, expr)) < 0)
				return error;
			have_time = 1;
		} else if (memchr(s, '-', n)) {
			if (have_date || have_time)
				return bad(expr, "part", s, n, "the date comes once, before the time");
			if ((error = parse_date(&c, s, n, expr)) < 0)
				return error;
			have_date = 1;
		} else if (n == 3 && strncmp(s, "UTC", 3) == 0) {
			return bad(expr, "part", s, n, "UTC comes last");
		} else if (k == 0 && isalpha((unsigned char)s[0])) {
			if ((error = parse_weekdays(&c.weekday, s, n, expr)) < 0)
				return error;
		} else {
			return bad(expr, "part", s, n,
				"not a weekday, a date (YYYY-MM-DD) or a time (HH:MM)");
		}
	}
	*out = c;
	return 0;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : n[m - 1];
}

/* A wall-clock time as seconds since 1970-01-01 00:00:00 of the same clock. */
static int64_t
wall_of(const struct tm *t)
{
	return days_from_civil(t->tm_year + 1900LL, t->tm_mon + 1, t->tm_mday) * 86400 +
		t->tm_hour * 3600 + t->tm_min * 60 + t->tm_sec;
}

static int
to_wall(int64_t *out, int64_t e, int utc)
{
	time_t t = (time_t)e;
	struct tm tm;

	if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == NULL)
		return cu_error_set(CU_ERROR, "calendar: time %lld out of range", (long long)e);
	*out = wall_of(&tm);
	return 0;
}

/* The smallest wall-clock time strictly after w that matches c; -1 if none
 * before 2200. */
static int64_t
next_wall(const cu_calendar *c, int64_t w)
{
	int64_t days;
	int Y, M, D, h, m, s, v;

	if (w < 0)   /* before 1970: start at 1970-01-01 00:00:00 */
		w = -1;
	w++;
	days = w / 86400;
	s = (int)(w % 86400);
	h = s / 3600;
	m = s / 60 % 60;
	s %= 60;
	{
		/* civil_from_days */
		int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
		int64_t doe = z - era * 146097;
		int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		int64_t mp = (5 * doy + 2) / 153;
		D = (int)(doy - (153 * mp + 2) / 5 + 1);
		M = (int)(mp < 10 ? mp + 3 : mp - 9);
		Y = (int)(yoe + era * 400 + (M <= 2));
	}
	if (Y < CU_CALENDAR_YEAR_MIN)
		Y = CU_CALENDAR_YEAR_MIN, M = 1, D = 1, h = m = s = 0;
	for (;;) {
		if (Y > CU_CALENDAR_YEAR_MAX)
			return -1;
		if (!bit_get(c->year, Y - CU_CALENDAR_YEAR_MIN)) {
			Y++, M = 1, D = 1, h = m = s = 0;
			continue;
		}
		for (v = M; v <= 12 && !(c->month >> v & 1); v++)
			;
		if (v > 12) {
			Y++, M = 1, D = 1, h = m = s = 0;
			continue;
		}
		if (v != M)
			M = v, D = 1, h = m = s = 0;
		for (v = D; v <= days_in_month(Y, M); v++) {
			int wd = (int)((days_from_civil(Y, M, v) % 7 + 11) % 7);   /* 1970-01-01: Thursday */
			if ((c->day >> v & 1) && (c->weekday >> wd & 1))
				break;
		}
		if (v > days_in_month(Y, M)) {
			M++, D = 1, h = m = s = 0;
			continue;
		}
		if (v != D)
			D = v, h = m = s = 0;
		for (v = h; v <= 23 && !(c->hour >> v & 1); v++)
			;
		if (v > 23) {
			D++, h = m = s = 0;
			continue;
		}
		if (v != h)
			h = v, m = s = 0;
		for (v = m; v <= 59 && !(c->minute >> v & 1); v++)
			;
		if (v > 59) {
			h++, m = s = 0;
			continue;
		}
		if (v != m)
			m = v, s = 0;
		for (v = s; v <= 59 && !(c->second >> v & 1); v++)
			;
		if (v > 59) {
			m++, s = 0;
			continue;
		}
		s = v;
		return days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + s;
	}
}

/* The instant of local wall time w: its first occurrence, or in a gap the
 * first instant after the gap.  Assumes at most one clock change within a
 * day of w. */
static int
local_instant(int64_t *out, int64_t w)
{
	int64_t before, after, cand[2], wall;
	int error;
	time_t t;
	struct tm tm;

	t = (time_t)(w - 86400);
	if (localtime_r(&t, &tm) == NULL)
		return cu_error_set(CU_ERROR, "calendar: local time out of range");
	before = tm.tm_gmtoff;
	t = (time_t)(w + 86400);
	if (localtime_r(&t, &tm) == NULL)
		return cu_error_set(CU_ERROR, "calendar: local time out of range");
	after = tm.tm_gmtoff;
	cand[0] = w - before;   /* with the offset before a change */
	cand[1] = w - after;    /* with the offset after it */
	if (cand[1] < cand[0]) {
		int64_t x = cand[0];
		cand[0] = cand[1];
		cand[1] = x;
	}
	for (int k = 0; k < 2; k++) {
		if ((error = to_wall(&wall, cand[k], 0)) < 0)
			return error;
		if (wall == w) {
			*out = cand[k];
			return 0;
		}
	}
	/* a gap: the first instant whose wall time is past w */
	{
		int64_t lo = cand[0], hi = cand[1];
		if ((error = to_wall(&wall, hi, 0)) < 0)
			return error;
		if (wall < w)
			return cu_error_set(CU_ERROR, "calendar: cannot place local time");
		while (lo < hi) {
			int64_t mid = lo + (hi - lo) / 2;
			if ((error = to_wall(&wall, mid, 0)) < 0)
				return error;
			if (wall > w)
				hi = mid;
			else
				lo = mid + 1;
		}
		*out = lo;
	}
	return 0;
}

int
cu_calendar_next(int64_t *out, const cu_calendar *cal, int64_t after)
{
	int64_t w, e = 0;
	int error;

	if ((error = to_wall(&w, after, cal->utc)) < 0)
		return error;
	for (;;) {
		if ((w = next_wall(cal, w)) < 0)
			return cu_error_set(CU_ENOTFOUND, "calendar: no time matches before %d",
				CU_CALENDAR_YEAR_MAX + 1);
		if (cal->utc) {
			e = w;
		} else if ((error = local_instant(&e, w)) < 0) {
			return error;
		}
		/* the second pass of a repeated hour is not a new time */
		if (e > after) {
			*out = e;
			return 0;
		}
	}
}

uint32_t
cu_calendar_delay(const char *job, const char *archive, uint32_t max)
{
	unsigned char md[CU_SHA256_LEN], buf[1024];
	size_t a = strlen(job), b = strlen(archive);
	uint64_t v = 0;

	if (max == 0)
		return 0;
	if (a + b + 1 > sizeof(buf)) {
		a = a > 256 ? 256 : a;
		b = sizeof(buf) - 1 - a < b ? sizeof(buf) - 1 - a : b;
	}
	memcpy(buf, job, a);
	buf[a] = '\0';
	memcpy(buf + a + 1, archive, b);
	if (cu_sha256(md, buf, a + 1 + b) < 0)
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | md[i];
	return (uint32_t)(v % ((uint64_t)max + 1));
}
