/*
 * retention.h — when a record may be disposed of.
 *
 * Every record's ref (档号) carries the year it was formed and its retention
 * code: <fonds>-<category>·<year>-<retention>-<class>-<item>.  Retention is
 * counted from 1 January of the year after the record was formed
 * (社会保险业务档案管理规定): a record of 2026 kept 30 years (D30) may be
 * disposed of on 2057-01-01.  Y (永久) means never.
 *
 * Dates are whole numbers YYYYMMDD, so that they compare as numbers.  Pure
 * functions: nothing here touches an archive.
 */
#ifndef CUSTOS_RETENTION_H
#define CUSTOS_RETENTION_H

/* The years of a retention code: "D100", "D50", "D30", "D10" give 100, 50,
 * 30, 10; "Y" gives CU_RETENTION_PERMANENT.  CU_EINVALID for anything else
 * ("retention code X: must be one of Y, D100, D50, D30, D10"). */
#define CU_RETENTION_PERMANENT (-1)
int cu_retention_years(int *years, const char *code);

/* The formation year and the retention code (into code[8]) of a ref or a
 * class key: "<fonds>-<category>·<year>-<retention>-<class>[-<item>…]",
 * with '-' allowed in place of '·'.  The year must be 4 digits.
 * CU_EINVALID "<ref>: not a ref with a year and a retention code". */
int cu_retention_of_ref(int *year, char code[8], const char *ref);

/* The disposal date of a record from its ref: 1 January of year + 1 +
 * retention years, as YYYYMMDD; 0 when the record is kept permanently. */
int cu_disposal_date(int *date, const char *ref);

/* 1 if a record whose disposal date is `date` (0 = never) is due on `at`. */
int cu_disposal_due(int date, int at);

/* Parses "YYYY-MM-DD", a real calendar date with a 4-digit year, into
 * YYYYMMDD.  CU_EINVALID "DATE: must be YYYY-MM-DD" / "… is not a real date". */
int cu_date_ymd(int *date, const char *s);

/* Formats YYYYMMDD as "YYYY-MM-DD" (out at least 16 bytes; "" for 0). */
void cu_date_format(char *out, int date);

/* The calendar date of an epoch second in a zone offset_min minutes east of
 * UTC, as YYYYMMDD. */
int cu_date_of_epoch(long long epoch, int offset_min);

#endif
