/*
 * record.c — identifiers, money, time, input splitting and receipt
 * validation (see custos/record.h).
 *
 * Everything here is a pure function of its input (apart from "today" in
 * the birth-date check) and is fuzzed through tests/fuzz/fuzz_receipt.c, so
 * every scanner is written against an explicit length and never trusts a
 * terminator it has not checked for.  There is no floating point in this
 * file: money is integer fen from the first digit on.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/record.h"
#include "custos/util.h"

/* ---- small helpers ----------------------------------------------------- */

/* 1 if c is an ASCII digit. */
static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly n ASCII digits from s into *out.  0, or -1 if any of them
 * is not a digit (a NUL stops the scan, so s may be shorter than n). */
static int
read_digits(int *out, const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* 1 for a C0 control, DEL or a C1 control. */
static int
is_control(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Copies src (len bytes) into dst (dstsz > 0) for use inside an error
 * message: valid, printable UTF-8 is kept, every control character or
 * invalid byte becomes '?', and the copy stops before a character that
 * would not fit.  Input is hostile; messages must stay one clean line. */
static void
clean_text(char *dst, size_t dstsz, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t start = i;
		long cp = cu_utf8_next(s, len, &i);

		if (cp < 0 || is_control(cp)) {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = '?';
			if (cp < 0)
				i++;
			continue;
		}
		if (o + (i - start) >= dstsz)
			break;
		memcpy(dst + o, src + start, i - start);
		o += i - start;
	}
	dst[o] = '\0';
	cu_mask_digit_runs(dst);
}

/* ---- calendar ---------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil); no time zone or libc involved. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* 1 if y is a Gregorian leap year. */
static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* 1 if y-m-d is a real calendar date. */
static int
is_real_date(int y, int m, int d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* ---- identifiers ------------------------------------------------------- */

/* Today's day number in China Standard Time (UTC+8, no daylight saving):
 * resident IDs are issued for births in China, so "in the future" is
 * judged by the calendar there, not by the host's time zone. */
static int64_t
today_days_cst(void)
{
	int64_t t = (int64_t)time(NULL) + 8 * 3600;

	return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

/* See record.h.  Checks, in order: length, the 17 digits, the form of the
 * check character, the birth date, the check character's value.  The date
 * comes before the checksum because a mistyped date is the more specific
 * explanation.  Only the header's own example quotes part of the number
 * (an impossible date); nothing else in a message comes from s. */
int
cu_idno_check(const char *s)
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[] = "10X98765432";
	int sum = 0, y = 0, m = 0, d = 0;
	char c, expect;

	if (s == NULL || strnlen(s, 19) != 18)
		return cu_error_set(CU_EINVALID, "must be 18 characters");
	for (int i = 0; i < 17; i++) {
		if (!is_digit((unsigned char)s[i]))
			return cu_error_set(CU_EINVALID, "character %d must be a digit", i + 1);
		sum += (s[i] - '0') * weight[i];
	}
	c = s[17];
	if (!is_digit((unsigned char)c) && c != 'X' && c != 'x')
		return cu_error_set(CU_EINVALID, "check character must be a digit or X");
	read_digits(&y, s + 6, 4);
	read_digits(&m, s + 10, 2);
	read_digits(&d, s + 12, 2);
	if (!is_real_date(y, m, d))
		return cu_error_set(CU_EINVALID, "birth date is not a real date");
	if (y < 1850)
		return cu_error_set(CU_EINVALID, "birth date is before 1850");
	if (days_from_civil(y, m, d) > today_days_cst())
		return cu_error_set(CU_EINVALID, "birth date is in the future");
	expect = check[sum % 11];
	if ((c == 'x' ? 'X' : c) != expect)
		return cu_error_set(CU_EINVALID, "check character is %c, expected %c", c, expect);
	return 0;
}

/* See record.h.  Copies at most 18 characters; only 'x' changes. */
void
cu_idno_normalize(char out[19], const char *s)
{
	size_t n = strnlen(s, 18);

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] == 'x' ? 'X' : s[i];
	out[n] = '\0';
}

void
cu_mask_digit_runs(char *s)
{
	size_t n = strlen(s), i = 0, run;

	while (i < n) {
		for (run = 0; i + run < n && s[i + run] >= '0' && s[i + run] <= '9'; run++)
			;
		if (run > 0 && i + run < n && (s[i + run] == 'X' || s[i + run] == 'x'))
			run++;
		if (run >= 15)
			memset(s + i + 6, '*', run - 10);
		i += run ? run : 1;
	}
}

/* A character shown by cu_idno_mask: printable ASCII as it is, anything
 * else '*' so that a display string never holds half a UTF-8 sequence or
 * a control character. */
static char
mask_show(char c)
{
	return c > 0x20 && c < 0x7f ? c : '*';
}

/* See record.h.  A string longer than 18 characters is shown as 16 '*'
 * and its last 2 characters, so that the result always fits out[19]. */
void
cu_idno_mask(char out[19], const char *s)
{
	size_t n = strlen(s), keep, total;

	if (n == 18) {
		for (int i = 0; i < 6; i++)
			out[i] = mask_show(s[i]);
		memset(out + 6, '*', 8);
		for (int i = 14; i < 18; i++)
			out[i] = mask_show(s[i]);
		out[18] = '\0';
		return;
	}
	keep = n < 2 ? n : 2;
	total = n > 18 ? 18 : n;
	memset(out, '*', total - keep);
	for (size_t i = 0; i < keep; i++)
		out[total - keep + i] = mask_show(s[n - keep + i]);
	out[total] = '\0';
}

/* See record.h.  Upper case only: GB 32100 defines no lower-case form. */
int
cu_uscc_check(const char *s)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const int weight[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13,
		8, 24, 10, 30, 28 };
	int sum = 0, value[18];
	char expect;

	if (s == NULL || strnlen(s, 19) != 18)
		return cu_error_set(CU_EINVALID, "must be 18 characters");
	for (int i = 0; i < 18; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *at = c ? strchr(alphabet, c) : NULL;

		if (at == NULL) {
			if (c > 0x20 && c < 0x7f)
				return cu_error_set(CU_EINVALID,
					"character %d ('%c') is not in the code alphabet "
					"(0-9 and A-Z without I, O, S, V, Z)", i + 1, c);
			return cu_error_set(CU_EINVALID,
				"character %d is not in the code alphabet "
				"(0-9 and A-Z without I, O, S, V, Z)", i + 1);
		}
		value[i] = (int)(at - alphabet);
	}
	for (int i = 0; i < 17; i++)
		sum += value[i] * weight[i];
	expect = alphabet[(31 - sum % 31) % 31];
	if (s[17] != expect)
		return cu_error_set(CU_EINVALID, "check character is %c, expected %c", s[17], expect);
	return 0;
}

/* ---- money ------------------------------------------------------------- */

/* Integer digits that can ever be within CU_MONEY_MAX_FEN (9999999999999.99). */
#define MONEY_INT_DIGITS_MAX 13

/* See record.h.  The grammar is checked completely before the value is
 * computed, so "12x" is "not a decimal number" whatever its length, and the
 * value is built from at most 15 digits, which cannot overflow int64. */
int
cu_money_parse(int64_t *fen, const char *s)
{
	const char *p, *int_start, *frac_start = NULL;
	size_t int_len, frac_len = 0;
	int64_t v = 0;
	int neg = 0;

	*fen = 0;
	if (s == NULL || *s == '\0')
		return cu_error_set(CU_EINVALID, "must not be empty");
	for (p = s; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\f' || *p == '\v')
			return cu_error_set(CU_EINVALID, "must not contain spaces");
	p = s;
	if (*p == '+')
		return cu_error_set(CU_EINVALID, "must not have a '+' sign");
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (int_start = p; is_digit((unsigned char)*p); p++)
		;
	int_len = (size_t)(p - int_start);
	if (*p == '.') {
		for (frac_start = ++p; is_digit((unsigned char)*p); p++)
			;
		frac_len = (size_t)(p - frac_start);
	}
	if (*p == 'e' || *p == 'E')
		return cu_error_set(CU_EINVALID, "exponents are not allowed");
	if (*p != '\0')
		return cu_error_set(CU_EINVALID, "not a decimal number");
	if (int_len == 0)
		return cu_error_set(CU_EINVALID, frac_start
			? "digits required before '.'" : "not a decimal number");
	if (frac_start != NULL && frac_len == 0)
		return cu_error_set(CU_EINVALID, "digits required after '.'");
	if (frac_len > 2)
		return cu_error_set(CU_EINVALID, "more than two decimals");
	if (int_len > 1 && *int_start == '0')
		return cu_error_set(CU_EINVALID, "leading zeros are not allowed");
	if (int_len > MONEY_INT_DIGITS_MAX)
		return cu_error_set(CU_EINVALID, "too large");
	for (size_t i = 0; i < int_len; i++)
		v = v * 10 + (int_start[i] - '0');
	v *= 100;
	if (frac_len >= 1)
		v += (frac_start[0] - '0') * 10;
	if (frac_len == 2)
		v += frac_start[1] - '0';
	if (v > CU_MONEY_MAX_FEN)
		return cu_error_set(CU_EINVALID, "too large");
	if (neg && v == 0)
		return cu_error_set(CU_EINVALID, "negative zero is not allowed");
	*fen = neg ? -v : v;
	return 0;
}

/* See record.h.  Works on the unsigned magnitude so that even INT64_MIN
 * formats correctly. */
void
cu_money_format(char *out, size_t outsz, int64_t fen)
{
	uint64_t mag = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;

	if (outsz == 0)
		return;
	snprintf(out, outsz, "%s%" PRIu64 ".%02u", fen < 0 ? "-" : "",
		mag / 100, (unsigned)(mag % 100));
}

/* ---- time -------------------------------------------------------------- */

#define TIME_SHAPE "not an RFC 3339 date-time like 2026-11-20T09:31:00+08:00"

/* Parses "YYYY-MM-DD" at s into y/m/d, checking that it is a real date.
 * 0, or CU_EINVALID. */
static int
parse_ymd(int *y, int *m, int *d, const char *s, const char *shape)
{
	if (read_digits(y, s, 4) < 0 || s[4] != '-' ||
	    read_digits(m, s + 5, 2) < 0 || s[7] != '-' ||
	    read_digits(d, s + 8, 2) < 0)
		return cu_error_set(CU_EINVALID, "%s", shape);
	if (!is_real_date(*y, *m, *d))
		return cu_error_set(CU_EINVALID, "%.10s is not a real date", s);
	return 0;
}

/* Parses the offset at s ("Z" or "+hh:mm"/"-hh:mm", then the end of the
 * string) into minutes east of UTC.  Only upper-case "Z" is accepted (see
 * cu_time_parse). */
static int
parse_offset(int *offset_min, const char *s)
{
	int hh, mm;

	if (*s == '\0')
		return cu_error_set(CU_EINVALID, "missing offset (Z, +hh:mm or -hh:mm)");
	if (s[0] == 'Z' && s[1] == '\0') {
		*offset_min = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || read_digits(&hh, s + 1, 2) < 0 ||
	    s[3] != ':' || read_digits(&mm, s + 4, 2) < 0 || s[6] != '\0')
		return cu_error_set(CU_EINVALID, "%s", TIME_SHAPE);
	if (hh > 23 || mm > 59)
		return cu_error_set(CU_EINVALID, "offset must be at most 23:59");
	*offset_min = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
	return 0;
}

/* See record.h.  RFC 3339 also allows lower-case "t" and "z"; custos takes
 * only the upper-case forms so that one instant has one spelling in the
 * archive (issued_at is stored as given).  The year must have exactly four
 * digits, and -00:00 is taken as UTC. */
int
cu_time_parse(cu_time *out, const char *s)
{
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, off = 0, error;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return cu_error_set(CU_EINVALID, "%s", TIME_SHAPE);
	if ((error = parse_ymd(&y, &mo, &d, s, TIME_SHAPE)) < 0)
		return error;
	if (s[10] == 't')
		return cu_error_set(CU_EINVALID, "use an upper-case T between date and time");
	if (s[10] != 'T' || read_digits(&h, s + 11, 2) < 0 || s[13] != ':' ||
	    read_digits(&mi, s + 14, 2) < 0 || s[16] != ':' ||
	    read_digits(&sec, s + 17, 2) < 0)
		return cu_error_set(CU_EINVALID, "%s", TIME_SHAPE);
	if (h > 23)
		return cu_error_set(CU_EINVALID, "hour must be 00-23");
	if (mi > 59)
		return cu_error_set(CU_EINVALID, "minute must be 00-59");
	if (sec > 59)
		return cu_error_set(CU_EINVALID, "second must be 00-59 (no leap seconds)");
	p = s + 19;
	if (*p == '.') {
		const char *digits = ++p;
		while (is_digit((unsigned char)*p))
			p++;
		if (p == digits)
			return cu_error_set(CU_EINVALID, "%s", TIME_SHAPE);
	}
	if (*p == 'z')
		return cu_error_set(CU_EINVALID, "use an upper-case Z for UTC");
	if ((error = parse_offset(&off, p)) < 0)
		return error;
	out->epoch = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
		- (int64_t)off * 60;
	out->offset_min = off;
	out->year = y;
	out->month = mo;
	out->day = d;
	return 0;
}

/* See record.h.  A bare date is recognised by being exactly ten bytes. */
int
cu_date_parse(int64_t *epoch, const char *s, int offset_min, int end_of_day)
{
	cu_time t;
	int y, m, d, error;

	*epoch = 0;
	if (s == NULL)
		return cu_error_set(CU_EINVALID, "not a date (YYYY-MM-DD) or an RFC 3339 date-time");
	if (offset_min <= -24 * 60 || offset_min >= 24 * 60)
		return cu_error_set(CU_EINVALID, "offset must be at most 23:59");
	if (strnlen(s, 11) == 10) {
		if ((error = parse_ymd(&y, &m, &d, s,
		    "not a date (YYYY-MM-DD) or an RFC 3339 date-time")) < 0)
			return error;
		*epoch = days_from_civil(y, m, d) * 86400 + (end_of_day ? 86399 : 0)
			- (int64_t)offset_min * 60;
		return 0;
	}
	if ((error = cu_time_parse(&t, s)) < 0)
		return error;
	*epoch = t.epoch;
	return 0;
}

/* See record.h. */
int64_t
cu_civil_days(int y, int m, int d)
{
	return days_from_civil(y, m, d);
}

/* See record.h.  The inverse of days_from_civil (H. Hinnant's
 * civil_from_days). */
void
cu_civil_from_days(int64_t day, int *y, int *m, int *d)
{
	int64_t z = day + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* See record.h.  Exactly ten bytes: "2026-10-03 " or "2026-10-3" are
 * refused, so one day has one spelling. */
int
cu_day_parse(int64_t *day, const char *s)
{
	int y, m, d, error;

	*day = 0;
	if (s == NULL || strnlen(s, 11) != 10)
		return cu_error_set(CU_EINVALID, "not a date like 2026-10-03");
	if ((error = parse_ymd(&y, &m, &d, s, "not a date like 2026-10-03")) < 0)
		return error;
	*day = days_from_civil(y, m, d);
	return 0;
}

/* See record.h. */
void
cu_day_format(char out[11], int64_t day)
{
	int y, m, d;

	cu_civil_from_days(day, &y, &m, &d);
	if (y < 0 || y > 9999)
		snprintf(out, 11, "%s", "0000-00-00");
	else
		snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* See record.h. */
int
cu_month_parse(int *month, const char *s)
{
	int y, m;

	*month = 0;
	if (s == NULL || strnlen(s, 8) != 7 || read_digits(&y, s, 4) < 0 || s[4] != '-' ||
	    read_digits(&m, s + 5, 2) < 0)
		return cu_error_set(CU_EINVALID, "not a month like 2026-11");
	if (m < 1 || m > 12)
		return cu_error_set(CU_EINVALID, "month must be 01-12");
	if (y < 1900)
		return cu_error_set(CU_EINVALID, "year must be 1900 or later");
	*month = y * 12 + m - 1;
	return 0;
}

/* See record.h. */
void
cu_month_format(char out[8], int month)
{
	if (month < 0 || month / 12 > 9999)
		snprintf(out, 8, "%s", "0000-00");
	else
		snprintf(out, 8, "%04d-%02d", month / 12, month % 12 + 1);
}

/* ---- input files ------------------------------------------------------- */

/* Deepest bracket nesting of an item (docs/formats.md: 64 levels; a
 * receipt needs 3).  A fixed limit also keeps the bracket stack small and
 * on the C stack whatever the input. */
#define SPLIT_MAX_DEPTH 64

struct scanner {
	const unsigned char *p;
	size_t len;
	size_t pos;
	size_t line;       /* line of p[pos] */
	size_t deep_line;  /* line where a top-level array went one level too
	                    * deep (0: none); an error unless that array turns
	                    * out to be the file's wrapper */
	cu_span *spans;
	size_t n, cap;
};

/* 1 for the four JSON whitespace bytes. */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips JSON whitespace, counting lines. */
static void
skip_ws(struct scanner *sc)
{
	while (sc->pos < sc->len && is_ws(sc->p[sc->pos])) {
		if (sc->p[sc->pos] == '\n')
			sc->line++;
		sc->pos++;
	}
}

/* Skips the string starting at p[pos] == '"'.  A raw line break cannot be
 * part of a JSON string, so reaching one (or the end) means the string was
 * never closed; reporting it there keeps the error on the right line of a
 * JSON-lines file instead of swallowing the rest of the file. */
static int
skip_string(struct scanner *sc)
{
	size_t start_line = sc->line;

	sc->pos++;
	while (sc->pos < sc->len) {
		unsigned char c = sc->p[sc->pos];

		if (c == '"') {
			sc->pos++;
			return 0;
		}
		if (c == '\n')
			break;
		if (c == '\\') {
			if (sc->pos + 1 >= sc->len || sc->p[sc->pos + 1] == '\n')
				break;
			sc->pos += 2;
			continue;
		}
		sc->pos++;
	}
	return cu_error_set(CU_EINVALID, "line %zu: unterminated string", start_line);
}

/* Skips the object or array starting at p[pos], matching brackets by kind
 * and stepping over strings.  Nesting deeper than SPLIT_MAX_DEPTH is an error;
 * with wrapper set (a top-level array that may hold the items) one more
 * level is followed and only noted in sc->deep_line. */
static int
skip_nested(struct scanner *sc, int wrapper)
{
	char stack[SPLIT_MAX_DEPTH + 1];
	size_t depth = 0, start_line = sc->line;
	size_t max_depth = SPLIT_MAX_DEPTH + (wrapper ? 1 : 0);
	int error;

	while (sc->pos < sc->len) {
		unsigned char c = sc->p[sc->pos];

		switch (c) {
		case '"':
			if ((error = skip_string(sc)) < 0)
				return error;
			continue;
		case '{':
		case '[':
			if (depth == max_depth)
				return cu_error_set(CU_EINVALID, "line %zu: nested more than %d levels deep",
					sc->line, SPLIT_MAX_DEPTH);
			if (depth == SPLIT_MAX_DEPTH && sc->deep_line == 0)
				sc->deep_line = sc->line;
			stack[depth++] = (char)c;
			break;
		case '}':
		case ']':
			if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '['))
				return cu_error_set(CU_EINVALID, "line %zu: unbalanced '%c'", sc->line, c);
			depth--;
			break;
		case '\n':
			sc->line++;
			break;
		default:
			break;
		}
		sc->pos++;
		if (depth == 0)
			return 0;
	}
	return cu_error_set(CU_EINVALID, "line %zu: unbalanced '%c'", start_line,
		depth > 0 ? stack[0] : '{');
}

/* 1 for a byte that ends a bare token (number, literal or garbage). */
static int
ends_token(int c)
{
	return is_ws(c) || c == '{' || c == '}' || c == '[' || c == ']' ||
		c == '"' || c == ',';
}

/* Skips one value starting at p[pos] (pos < len): a string, an object or
 * array, or a bare token of at least one byte.  Whether the token is
 * valid JSON is left to cu_item_parse.  `top` marks a top-level value,
 * which may be the array that wraps the items (see skip_nested). */
static int
skip_value(struct scanner *sc, int top)
{
	unsigned char c = sc->p[sc->pos];

	if (c == '"')
		return skip_string(sc);
	if (c == '{' || c == '[')
		return skip_nested(sc, top && c == '[');
	if (c == '}' || c == ']')
		return cu_error_set(CU_EINVALID, "line %zu: unbalanced '%c'", sc->line, c);
	sc->pos++;
	while (sc->pos < sc->len && !ends_token(sc->p[sc->pos]))
		sc->pos++;
	return 0;
}

/* Records the item p[off..pos).  0 or CU_ERROR. */
static int
add_span(struct scanner *sc, size_t off, size_t line)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 16;
		cu_span *s = realloc(sc->spans, cap * sizeof(*s));

		if (s == NULL)
			return cu_error_set(CU_ERROR, "out of memory");
		sc->spans = s;
		sc->cap = cap;
	}
	sc->spans[sc->n].off = off;
	sc->spans[sc->n].len = sc->pos - off;
	sc->spans[sc->n].line = line;
	sc->n++;
	return 0;
}

/* Splits the whole buffer into top-level values. */
static int
split_top(struct scanner *sc)
{
	int error;

	for (;;) {
		size_t off, line;

		skip_ws(sc);
		if (sc->pos >= sc->len)
			return 0;
		off = sc->pos;
		line = sc->line;
		if ((error = skip_value(sc, 1)) < 0 || (error = add_span(sc, off, line)) < 0)
			return error;
	}
}

/* Replaces the spans with the elements of the array that starts at
 * p[off] on the given line (already known to be balanced).  Commas are
 * checked here because the elements are parsed one by one, so jansson
 * never sees them. */
static int
split_array(struct scanner *sc, size_t off, size_t line)
{
	int error, after_comma = 0;

	sc->n = 0;
	sc->pos = off + 1;
	sc->line = line;
	for (;;) {
		size_t start, start_line;

		skip_ws(sc);
		if (sc->pos >= sc->len)
			return cu_error_set(CU_EINVALID, "line %zu: unbalanced '['", line);
		if (sc->p[sc->pos] == ']') {
			if (after_comma)
				return cu_error_set(CU_EINVALID, "line %zu: ',' before ']'", sc->line);
			return 0;
		}
		if (sc->p[sc->pos] == ',')
			return cu_error_set(CU_EINVALID, "line %zu: missing value before ','", sc->line);
		start = sc->pos;
		start_line = sc->line;
		if ((error = skip_value(sc, 0)) < 0 || (error = add_span(sc, start, start_line)) < 0)
			return error;
		skip_ws(sc);
		if (sc->pos >= sc->len)
			return cu_error_set(CU_EINVALID, "line %zu: unbalanced '['", line);
		if (sc->p[sc->pos] == ']')
			return 0;
		if (sc->p[sc->pos] != ',')
			return cu_error_set(CU_EINVALID,
				"line %zu: expected ',' or ']' after an array element", sc->line);
		sc->pos++;
		after_comma = 1;
	}
}

/* See record.h.  Two passes: the top-level values first, then, when the
 * only one is an array, its elements.  An item nested more than 64 levels
 * deep is CU_EINVALID; an item larger than CU_INPUT_MAX_ITEM and an input
 * larger than CU_INPUT_MAX_FILE give CU_ELIMIT. */
int
cu_input_split(cu_span **out, size_t *n, const char *buf, size_t len)
{
	struct scanner sc = { (const unsigned char *)buf, len, 0, 1, 0, NULL, 0, 0 };
	int error = 0;

	*out = NULL;
	*n = 0;
	if (len > CU_INPUT_MAX_FILE) {
		error = cu_error_set(CU_ELIMIT, "input is %zu bytes, more than the limit of %u",
			len, CU_INPUT_MAX_FILE);
		goto done;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		sc.pos = 3;
	if ((error = split_top(&sc)) < 0)
		goto done;
	if (sc.n == 0) {
		error = cu_error_set(CU_EINVALID, "empty file");
		goto done;
	}
	if (sc.n == 1 && sc.p[sc.spans[0].off] == '[') {
		if ((error = split_array(&sc, sc.spans[0].off, sc.spans[0].line)) < 0)
			goto done;
	} else if (sc.deep_line != 0) {
		error = cu_error_set(CU_EINVALID, "line %zu: nested more than %d levels deep",
			sc.deep_line, SPLIT_MAX_DEPTH);
		goto done;
	}
	for (size_t i = 0; i < sc.n; i++) {
		if (sc.spans[i].len > CU_INPUT_MAX_ITEM) {
			error = cu_error_set(CU_ELIMIT, "line %zu: item is %zu bytes, more than the limit of %u",
				sc.spans[i].line, sc.spans[i].len, CU_INPUT_MAX_ITEM);
			goto done;
		}
	}
	if (sc.n > 0) {
		*out = sc.spans;
		*n = sc.n;
		sc.spans = NULL;
	}
done:
	free(sc.spans);
	return error;
}

/* A word for the type of v, for messages. */
static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "an array";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER:
	case JSON_REAL:    return "a number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	case JSON_NULL:    return "null";
	}
	return "a value";
}

/* See record.h.  JSON_DECODE_ANY lets a scalar parse so that the message
 * can say what it was instead of jansson's "'[' or '{' expected".  NUL is
 * refused because JSON_ALLOW_NUL is not given. */
int
cu_item_parse(json_t **out, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *v;
	char text[sizeof(jerr.text)];
	int error = 0;

	*out = NULL;
	if ((v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)) == NULL) {
		clean_text(text, sizeof(text), jerr.text, strnlen(jerr.text, sizeof(jerr.text)));
		return cu_error_set(CU_EINVALID, "invalid JSON at line %d, column %d: %s",
			jerr.line, jerr.column, text);
	}
	if (!json_is_object(v)) {
		error = cu_error_set(CU_EINVALID, "not an object (found %s)", type_name(v));
		goto done;
	}
	*out = v;
	v = NULL;
done:
	json_decref(v);
	return error;
}

/* ---- receipts ---------------------------------------------------------- */

static const char *const top_fields[] = {
	"type", "receipt_no", "issued_at", "agency", "channel", "service",
	"insurance", "subject", "operator", "summary", "amount", "ext", NULL
};
static const char *const subject_fields[] = { "kind", "id_no", "uscc", "name", NULL };
static const char *const channels[] = {
	"window", "phone", "web", "sms", "self_service", NULL
};
static const char *const services[] = {
	"registration", "contribution", "benefit", "consultation", "archive_use",
	"complaint", NULL
};
static const char *const insurances[] = {
	"pension", "medical", "work_injury", "unemployment", "maternity", NULL
};
static const char *const kinds[] = { "person", "org", NULL };

/* Sets CU_EINVALID with "FIELD: reason" and returns it. */
static int
vfail(const char *field, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static int
vfail(const char *field, const char *fmt, va_list ap)
{
	char reason[768];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	return cu_error_set(CU_EINVALID, "%s: %s", field, reason);
}

static int
fail(const char *field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(const char *field, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = vfail(field, fmt, ap);
	va_end(ap);
	return error;
}

/* Index of s[0..len) in the NULL-terminated list, or -1.  The length makes
 * a name with an embedded NUL never match. */
static int
list_find(const char *const *list, const char *s, size_t len)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return i;
	return -1;
}

/* Rejects the first member of obj (in document order) whose name is not
 * in `known`, as "PREFIXname: unknown field". */
static int
check_unknown(const json_t *obj, const char *const *known, const char *prefix)
{
	void *it;

	for (it = json_object_iter((json_t *)obj); it != NULL;
	     it = json_object_iter_next((json_t *)obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t keylen = json_object_iter_key_len(it);
		char clean[128];

		if (list_find(known, key, keylen) >= 0)
			continue;
		clean_text(clean, sizeof(clean), key, keylen);
		return cu_error_set(CU_EINVALID, "%s%s: unknown field", prefix, clean);
	}
	return 0;
}

/* Checks that s[0..len) is valid UTF-8 without control characters (\n and
 * \t allowed when multiline is set).  Returns NULL or the reason. */
static const char *
text_problem(const char *s, size_t len, int multiline)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		long cp = cu_utf8_next(u, len, &i);

		if (cp < 0)
			return "not valid UTF-8";
		if (is_control(cp) && !(multiline && (cp == '\n' || cp == '\t')))
			return multiline
				? "must not contain control characters other than newline and tab"
				: "must not contain control characters";
	}
	return NULL;
}

const char *
cu_text_problem(const char *s, size_t len, int multiline)
{
	return text_problem(s, len, multiline);
}

int
cu_insurance_known(const char *s)
{
	for (size_t i = 0; insurances[i] != NULL; i++)
		if (strcmp(s, insurances[i]) == 0)
			return 1;
	return 0;
}

/* Fetches the string member `key` of obj for validation.  s and len are set
 * when it is present and a clean string (see text_problem).  Returns 0,
 * 1 when it is absent and optional, or CU_EINVALID ("FIELD: missing",
 * "FIELD: must be a string", …). */
static int
get_text(const char **s, size_t *len, const json_t *obj, const char *key,
	const char *field, int required, int multiline)
{
	const json_t *v = json_object_get(obj, key);
	const char *problem;

	*s = NULL;
	*len = 0;
	if (v == NULL)
		return required ? fail(field, "missing") : 1;
	if (!json_is_string(v))
		return fail(field, "must be a string");
	*s = json_string_value(v);
	*len = json_string_length(v);
	if ((problem = text_problem(*s, *len, multiline)) != NULL)
		return fail(field, "%s", problem);
	return 0;
}

/* Sets obj[key] to a copy of s[0..len).  0 or CU_ERROR. */
static int
put_text(json_t *obj, const char *key, const char *s, size_t len)
{
	if (json_object_set_new(obj, key, json_stringn(s, len)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* A code: 1..max bytes of [A-Za-z0-9._-], plus '/' when slash is set. */
static int
check_code(const char *field, const char *s, size_t len, size_t max, int slash)
{
	if (len == 0)
		return fail(field, "must not be empty");
	if (len > max)
		return fail(field, "longer than %zu characters", max);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
		    c == '.' || c == '_' || c == '-' || (slash && c == '/'))
			continue;
		return fail(field, "character %zu is not allowed (only A-Z a-z 0-9 . _ -%s)",
			i + 1, slash ? " /" : "");
	}
	return 0;
}

/* Copies a required code member (see check_code) into out. */
static int
take_code(json_t *out, const json_t *in, const char *key, size_t max, int slash)
{
	const char *s;
	size_t len;
	int error;

	if ((error = get_text(&s, &len, in, key, key, 1, 0)) < 0 ||
	    (error = check_code(key, s, len, max, slash)) < 0)
		return error;
	return put_text(out, key, s, len);
}

/* Copies a required member that must be one of `list` into out; the
 * message lists the allowed values. */
static int
take_enum(json_t *out, const json_t *in, const char *key, const char *field,
	const char *const *list)
{
	const char *s;
	char allowed[256] = "";
	size_t len, used = 0;
	int error;

	if ((error = get_text(&s, &len, in, key, field, 1, 0)) < 0)
		return error;
	if (list_find(list, s, len) >= 0)
		return put_text(out, key, s, len);
	for (int i = 0; list[i] != NULL; i++)
		used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
			i ? ", " : "", list[i]);
	return fail(field, "must be one of %s", allowed);
}

/* Checks issued_at and copies it as given. */
static int
take_time(json_t *out, const json_t *in)
{
	const char *s;
	size_t len;
	cu_time t;
	int error;

	if ((error = get_text(&s, &len, in, "issued_at", "issued_at", 1, 0)) < 0)
		return error;
	if (cu_time_parse(&t, s) < 0)
		return cu_error_prefix(CU_EINVALID, "issued_at");
	return put_text(out, "issued_at", s, len);
}

/* Checks the name member of obj (reported as `field`, e.g. subject.name):
 * 1..CU_NAME_MAX bytes, no control characters. */
static int
take_name(json_t *out, const json_t *obj, const char *field)
{
	const char *s;
	size_t len;
	int error;

	if ((error = get_text(&s, &len, obj, "name", field, 1, 0)) < 0)
		return error;
	if (len == 0)
		return fail(field, "must not be empty");
	if (len > CU_NAME_MAX)
		return fail(field, "longer than %d bytes", CU_NAME_MAX);
	return put_text(out, "name", s, len);
}

/* Checks the identifier of a subject of the given kind (0 person: id_no,
 * 1 org: uscc), refuses the other kind's identifier, and copies the
 * identifier (an ID number normalised to upper-case X). */
static int
take_subject_id(json_t *out, const json_t *subj, int org)
{
	const char *key = org ? "uscc" : "id_no";
	const char *other = org ? "id_no" : "uscc";
	const char *field = org ? "subject.uscc" : "subject.id_no";
	const char *s;
	char norm[19];
	size_t len;
	int error;

	if ((error = get_text(&s, &len, subj, key, field, 1, 0)) < 0)
		return error;
	if ((org ? cu_uscc_check(s) : cu_idno_check(s)) < 0)
		return cu_error_prefix(CU_EINVALID, "%s", field);
	if (json_object_get(subj, other) != NULL)
		return fail(org ? "subject.id_no" : "subject.uscc",
			"not allowed when kind is %s", org ? "org" : "person");
	if (org)
		return put_text(out, key, s, len);
	cu_idno_normalize(norm, s);
	return put_text(out, key, norm, strlen(norm));
}

/* Checks the subject object and adds its normalised copy to out. */
static int
take_subject(json_t *out, const json_t *in)
{
	const json_t *subj = json_object_get(in, "subject");
	json_t *res = NULL;
	const char *kind;
	size_t kindlen;
	int error, k;

	if (subj == NULL)
		return fail("subject", "missing");
	if (!json_is_object(subj))
		return fail("subject", "must be an object");
	if ((error = check_unknown(subj, subject_fields, "subject.")) < 0)
		return error;
	if ((error = get_text(&kind, &kindlen, subj, "kind", "subject.kind", 1, 0)) < 0)
		return error;
	if ((k = list_find(kinds, kind, kindlen)) < 0)
		return fail("subject.kind", "must be one of person, org");
	if ((res = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = put_text(res, "kind", kind, kindlen)) < 0 ||
	    (error = take_subject_id(res, subj, k == 1)) < 0 ||
	    (error = take_name(res, subj, "subject.name")) < 0)
		goto done;
	if (json_object_set(out, "subject", res) < 0)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	json_decref(res);
	return error;
}

/* Checks summary: up to CU_SUMMARY_MAX bytes, may be empty, may hold \n
 * and \t. */
static int
take_summary(json_t *out, const json_t *in)
{
	const char *s;
	size_t len;
	int error;

	if ((error = get_text(&s, &len, in, "summary", "summary", 1, 1)) < 0)
		return error;
	if (len > CU_SUMMARY_MAX)
		return fail("summary", "longer than %d bytes", CU_SUMMARY_MAX);
	return put_text(out, "summary", s, len);
}

/* Checks the optional amount (a yuan decimal string, not negative) and
 * stores it as integer fen in amount_fen.  A JSON number is refused: it
 * would already have been through a binary float in most producers. */
static int
take_amount(json_t *out, const json_t *in)
{
	const json_t *v = json_object_get(in, "amount");
	const char *s;
	size_t len;
	int64_t fen;
	int error;

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fail("amount", "must be a decimal string");
	/* rules out an embedded NUL, which would end the string early */
	if ((error = get_text(&s, &len, in, "amount", "amount", 1, 0)) < 0)
		return error;
	if (cu_money_parse(&fen, s) < 0)
		return cu_error_prefix(CU_EINVALID, "amount");
	if (fen < 0)
		return fail("amount", "must not be negative");
	if (json_object_set_new(out, "amount_fen", json_integer(fen)) < 0)
		return cu_error_set(CU_ERROR, "out of memory");
	return 0;
}

/* Checks the optional ext object and adds a deep copy.  It is serialised
 * inside a {"ext": …} wrapper so that cu_canon names the offending member
 * with its full path ("ext.rate: real numbers are not allowed"); the
 * wrapper adds exactly 8 bytes ({"ext":}) to the canonical length. */
static int
take_ext(json_t *out, const json_t *in)
{
	const json_t *v = json_object_get(in, "ext");
	json_t *copy = NULL, *wrap = NULL;
	char *text = NULL;
	size_t len;
	int error = 0;

	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return fail("ext", "must be an object");
	if ((copy = json_deep_copy(v)) == NULL || (wrap = json_object()) == NULL ||
	    json_object_set(wrap, "ext", copy) < 0) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_canon(&text, &len, wrap)) < 0)
		goto done;
	if (len - 8 > CU_EXT_MAX) {
		error = fail("ext", "canonical form is %zu bytes, more than %d", len - 8, CU_EXT_MAX);
		goto done;
	}
	if (json_object_set(out, "ext", copy) < 0)
		error = cu_error_set(CU_ERROR, "out of memory");
done:
	free(text);
	json_decref(wrap);
	json_decref(copy);
	return error;
}

/* See record.h.  Order of checks (the first problem is reported): the
 * input is an object; no unknown member (document order, so a misspelt
 * name is reported before the "missing" it causes); then type, receipt_no,
 * issued_at, agency, channel, service, insurance, subject (unknown
 * members, kind, id_no or uscc, the other identifier absent, name),
 * operator, summary, amount, ext. */
int
cu_receipt_validate(json_t **out, const json_t *in)
{
	json_t *res = NULL;
	const char *s;
	size_t len;
	int error;

	*out = NULL;
	if (in == NULL || !json_is_object(in))
		return cu_error_set(CU_EINVALID, "receipt: must be an object");
	if ((error = check_unknown(in, top_fields, "")) < 0)
		return error;
	if ((error = get_text(&s, &len, in, "type", "type", 1, 0)) < 0)
		return error;
	if (len != 7 || memcmp(s, "receipt", 7) != 0)
		return fail("type", "must be \"receipt\"");
	if ((res = json_object()) == NULL)
		return cu_error_set(CU_ERROR, "out of memory");
	if ((error = put_text(res, "type", "receipt", 7)) < 0 ||
	    (error = take_code(res, in, "receipt_no", CU_RECEIPT_NO_MAX, 1)) < 0 ||
	    (error = take_time(res, in)) < 0 ||
	    (error = take_code(res, in, "agency", CU_CODE_MAX, 0)) < 0 ||
	    (error = take_enum(res, in, "channel", "channel", channels)) < 0 ||
	    (error = take_enum(res, in, "service", "service", services)) < 0 ||
	    (error = take_enum(res, in, "insurance", "insurance", insurances)) < 0 ||
	    (error = take_subject(res, in)) < 0 ||
	    (error = take_code(res, in, "operator", CU_CODE_MAX, 0)) < 0 ||
	    (error = take_summary(res, in)) < 0 ||
	    (error = take_amount(res, in)) < 0 ||
	    (error = take_ext(res, in)) < 0)
		goto done;
	*out = res;
	res = NULL;
done:
	json_decref(res);
	return error;
}

/* See record.h.  NULL (with the last error set) if either member is
 * missing or not a string. */
char *
cu_receipt_key(const json_t *receipt)
{
	const char *agency = json_string_value(json_object_get(receipt, "agency"));
	const char *no = json_string_value(json_object_get(receipt, "receipt_no"));

	if (agency == NULL || no == NULL) {
		cu_error_set(CU_EINVALID, "receipt: agency and receipt_no are required");
		return NULL;
	}
	return cu_asprintf("%s/%s", agency, no);
}

/* ---- field helpers for other validators -------------------------------- */

/* These expose the receipt validator's own checks (see record.h) so that
 * other input objects are judged by exactly the same rules. */

int
cu_field_fail(const char *field, const char *fmt, ...)
{
	va_list ap;
	int error;

	va_start(ap, fmt);
	error = vfail(field, fmt, ap);
	va_end(ap);
	return error;
}

int
cu_field_unknown(const json_t *obj, const char *const *known, const char *prefix)
{
	return check_unknown(obj, known, prefix);
}

int
cu_field_text(const char **s, size_t *len, const json_t *obj, const char *key,
	const char *field, int required, int multiline)
{
	return get_text(s, len, obj, key, field, required, multiline);
}

int
cu_field_code(const char *field, const char *s, size_t len, size_t max, int slash)
{
	return check_code(field, s, len, max, slash);
}

int
cu_field_enum(json_t *out, const json_t *in, const char *key, const char *field,
	const char *const *list)
{
	return take_enum(out, in, key, field, list);
}

int
cu_field_name(json_t *out, const json_t *obj, const char *field)
{
	return take_name(out, obj, field);
}

int
cu_field_ext(json_t *out, const json_t *in)
{
	return take_ext(out, in);
}

int
cu_list_find(const char *const *list, const char *s, size_t len)
{
	return list_find(list, s, len);
}
