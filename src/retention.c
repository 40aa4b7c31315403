/* retention.c — disposal dates from refs (see custos/retention.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/error.h"
#include "custos/retention.h"

int
cu_retention_years(int *years, const char *code)
{
	static const struct {
		const char *code;
		int years;
	} codes[] = { { "Y", CU_RETENTION_PERMANENT }, { "D100", 100 }, { "D50", 50 },
		{ "D30", 30 }, { "D10", 10 } };

	for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++)
		if (strcmp(code, codes[i].code) == 0) {
			*years = codes[i].years;
			return 0;
		}
	return cu_error_set(CU_EINVALID, "retention code %.16s: must be one of Y, D100, D50, D30, "
		"D10", code);
}

int
cu_retention_of_ref(int *year, char code[8], const char *ref)
{
	const char *p = ref, *part[5];
	size_t len[5], n = 0;

	/* the first five levels, split at '-' and at '·' (U+00B7) */
	while (n < 5) {
		const char *q = p;
		while (*q && *q != '-' && !((unsigned char)q[0] == 0xc2 && (unsigned char)q[1] == 0xb7))
			q++;
		part[n] = p;
		len[n] = (size_t)(q - p);
		n++;
		if (*q == '\0')
			break;
		p = q + (*q == '-' ? 1 : 2);
	}
	if (n < 5 || len[2] != 4 || len[3] == 0 || len[3] >= 8 || len[4] == 0)
		goto bad;
	for (size_t i = 0; i < 4; i++)
		if (part[2][i] < '0' || part[2][i] > '9')
			goto bad;
	*year = atoi(part[2]);
	if (*year < 1000)
		goto bad;
	memcpy(code, part[3], len[3]);
	code[len[3]] = '\0';
	return 0;
bad:
	return cu_error_set(CU_EINVALID, "%.200s: not a ref with a year and a retention code", ref);
}

int
cu_disposal_date(int *date, const char *ref)
{
	char code[8];
	int year, years, error;

	*date = 0;
	if ((error = cu_retention_of_ref(&year, code, ref)) < 0)
		return error;
	if ((error = cu_retention_years(&years, code)) < 0)
		return cu_error_prefix(error, "%.200s", ref);
	if (years != CU_RETENTION_PERMANENT)
		*date = (year + 1 + years) * 10000 + 101;
	return 0;
}

int
cu_disposal_due(int date, int at)
{
	return date != 0 && at >= date;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

int
cu_date_ymd(int *date, const char *s)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1000 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return cu_error_set(CU_EINVALID, "%s: not a real date", s);
	*date = y * 10000 + m * 100 + d;
	return 0;
bad:
	return cu_error_set(CU_EINVALID, "%.40s: must be YYYY-MM-DD", s);
}

void
cu_date_format(char *out, int date)
{
	if (date == 0)
		out[0] = '\0';
	else
		snprintf(out, 16, "%04d-%02d-%02d", date / 10000, date / 100 % 100, date % 100);
}

int
cu_date_of_epoch(long long epoch, int offset_min)
{
	time_t t = (time_t)(epoch + (long long)offset_min * 60);
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}
