/*
 * record.h — what a receipt is: identifier check digits, money, time,
 * splitting an input file into items, and validating one receipt.
 *
 * Nothing here touches the archive; these are pure functions over bytes and
 * JSON values, fuzzed through tests/fuzz/fuzz_receipt.c.
 */
#ifndef CUSTOS_RECORD_H
#define CUSTOS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ---- identifiers ------------------------------------------------------ */

/* Resident ID number (GB 11643-1999): 18 characters, 17 digits and a check
 * character (digit or X/x) by ISO 7064 MOD 11-2, positions 7-14 a real
 * date YYYYMMDD not before 1850 and not in the future.  0 if valid, else
 * CU_EINVALID with the reason ("must be 18 characters", "check character
 * is X, expected 5", "birth date is not a real date").  The
 * message never repeats the number itself. */
int cu_idno_check(const char *s);

/* Normalised form (upper-case X) of a valid ID number into out[19]. */
void cu_idno_normalize(char out[19], const char *s);

/* Display form with the birth date hidden: "110105********002X" (out[19]).
 * For a string that is not 18 characters, all but the last 2 characters
 * become '*'. */
void cu_idno_mask(char out[19], const char *s);

/* Masks, in place, every run of 15 or more digits in s (an X may end it)
 * to its first 6 and last 4 characters ("110105********002X"), so that an
 * ID number inside any text echoed from input (a member name, a code, a
 * JSON parser's excerpt) never reaches a message.  Long account numbers
 * are masked the same way. */
void cu_mask_digit_runs(char *s);

/* Unified social credit code (GB 32100-2015): 18 characters from
 * "0123456789ABCDEFGHJKLMNPQRTUWXY" with the mod-31 check character.
 * 0 or CU_EINVALID with the reason. */
int cu_uscc_check(const char *s);

/* ---- money ------------------------------------------------------------ */

/* Largest amount accepted, in fen: 10^15 - 1 (just under ten trillion yuan). */
#define CU_MONEY_MAX_FEN 999999999999999LL

/* Parses a yuan amount given as a decimal string into integer fen without
 * any floating point: "1234.50" -> 123450, "7" -> 700, "0.1" -> 10.
 * Grammar: optional '-', digits (no leading zeros except a lone "0"),
 * optionally '.' and one or two digits.  Rejected with CU_EINVALID and a
 * reason: empty, spaces, '+', exponents, more than two decimals ("1.005"),
 * a trailing or leading '.', "-0"/"-0.00" (negative zero), and magnitudes
 * above CU_MONEY_MAX_FEN ("too large", reported as "amount: too large"). */
int cu_money_parse(int64_t *fen, const char *s);

/* Formats fen as a yuan decimal string with two decimals ("1234.50",
 * "-0.05") into out (at least 24 bytes). */
void cu_money_format(char *out, size_t outsz, int64_t fen);

/* ---- time ------------------------------------------------------------- */

typedef struct cu_time {
	int64_t epoch;      /* seconds since 1970-01-01T00:00:00Z */
	int     offset_min; /* the offset written in the text, in minutes east of UTC */
	int     year;       /* calendar year in that offset (for the 档号) */
	int     month, day; /* calendar month (1-12) and day in that offset */
} cu_time;

/* Parses an RFC 3339 date-time with seconds and an offset ("Z" or ±hh:mm),
 * e.g. "2026-11-20T09:31:00+08:00"; an optional fraction of a second is
 * accepted and ignored.  Real calendar dates only, hour 00-23, minute and
 * second 00-59 (a leap second 60 is refused), offset at most ±23:59.
 * CU_EINVALID with the reason otherwise. */
int cu_time_parse(cu_time *out, const char *s);

/* Parses a date "YYYY-MM-DD" (taken in the offset given, minutes east of
 * UTC) or a full RFC 3339 date-time.  For a bare date, end_of_day selects
 * 23:59:59 instead of 00:00:00.  Used for search --from/--to. */
int cu_date_parse(int64_t *epoch, const char *s, int offset_min, int end_of_day);

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (negative
 * before), and back.  No time zone is involved. */
int64_t cu_civil_days(int y, int m, int d);
void cu_civil_from_days(int64_t day, int *y, int *m, int *d);

/* Parses exactly "YYYY-MM-DD", a real calendar date, into a day number
 * (cu_civil_days).  CU_EINVALID ("not a date like 2026-10-03", "2026-02-30
 * is not a real date") otherwise. */
int cu_day_parse(int64_t *day, const char *s);

/* "YYYY-MM-DD" of a day number into out (years outside 0-9999 print as
 * "0000-00-00"). */
void cu_day_format(char out[11], int64_t day);

/* Parses exactly "YYYY-MM" (month 01-12, year 1900 or later) into a month
 * number, year * 12 + month - 1, so that consecutive months differ by 1.
 * CU_EINVALID ("not a month like 2026-11", "month must be 01-12", "year
 * must be 1900 or later") otherwise. */
int cu_month_parse(int *month, const char *s);

/* "YYYY-MM" of a month number into out ("0000-00" outside years 0-9999). */
void cu_month_format(char out[8], int month);

/* NULL if s[0..len) is valid UTF-8 without control characters (newline
 * and tab allowed when multiline is set), else the reason. */
const char *cu_text_problem(const char *s, size_t len, int multiline);

/* 1 if s is an insurance code: pension, medical, work_injury,
 * unemployment, maternity. */
int cu_insurance_known(const char *s);

/* ---- input files ------------------------------------------------------ */

typedef struct cu_span {
	size_t off;  /* first byte of the item in the buffer */
	size_t len;  /* its length */
	size_t line; /* 1-based line number of its first byte */
} cu_span;

/* Largest input file custos reads, and largest single item in it. */
#define CU_INPUT_MAX_FILE (64u * 1024 * 1024)
#define CU_INPUT_MAX_ITEM (256u * 1024)

/* Splits an input file into its items without interpreting them:
 *   - a file whose only top-level value is an array: one item per element;
 *   - otherwise one item per top-level value (a single object, JSON lines,
 *     or objects one after another).
 * Items are byte ranges of buf; strings and escapes are respected when
 * matching brackets.  A UTF-8 byte-order mark at the start is skipped.
 * *out is a new array of *n spans (caller frees; NULL when n is 0).
 * CU_EINVALID ("line 7: unbalanced ']'", "line 3: unterminated string",
 * "empty file") when the structure cannot be split. */
int cu_input_split(cu_span **out, size_t *n, const char *buf, size_t len);

/* Parses one item (bytes of a JSON value) with jansson, rejecting
 * duplicate member names, invalid UTF-8 and NUL (\u0000), and anything
 * but an object.  *out is a new reference.  CU_EINVALID with the reason
 * (jansson's text and position when it fails). */
int cu_item_parse(json_t **out, const char *buf, size_t len);

/* ---- receipts --------------------------------------------------------- */

/* Field limits (bytes of UTF-8). */
#define CU_RECEIPT_NO_MAX   64
#define CU_NAME_MAX         200
#define CU_CODE_MAX         32    /* agency, operator */
#define CU_SUMMARY_MAX      4000
#define CU_EXT_MAX          16384 /* canonical size of ext */

/* Validates one receipt object as documented in docs/formats.md and
 * returns its normalised form (*out, a new object), ready to be the
 * "receipt" member of a record document:
 *   type "receipt", receipt_no, issued_at (as given), agency, channel,
 *   service, insurance, subject {kind, id_no (normalised, upper-case X) |
 *   uscc, name}, operator, summary, amount_fen (integer, only when amount
 *   was given), ext (only when given).
 * Strings must be valid UTF-8 without control characters (summary may hold
 * \n and \t), within the limits above; unknown top-level or subject members
 * are rejected; ext must be an object whose canonical form fits
 * CU_EXT_MAX and holds no real numbers.
 * On failure CU_EINVALID and a message "FIELD: reason", e.g.
 * "subject.id_no: check character is 3, expected X" or
 * "amount: more than two decimals". */
int cu_receipt_validate(json_t **out, const json_t *in);

/* The identity of a receipt: "<agency>/<receipt_no>" into a new string. */
char *cu_receipt_key(const json_t *receipt);

/* ---- field helpers for other validators (fund.c) ---------------------- */

/* The receipt validator's own checks, for other input objects that follow
 * the same rules.  Each returns 0 or CU_EINVALID with "FIELD: reason";
 * `field` is the dotted path used in the message ("from_account.no"). */

/* Sets CU_EINVALID with "FIELD: reason" and returns it. */
int cu_field_fail(const char *field, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Refuses the first member of obj (document order) not in the
 * NULL-terminated list known: "PREFIXname: unknown field". */
int cu_field_unknown(const json_t *obj, const char *const *known, const char *prefix);

/* The string member key of obj: *s and *len set when present and valid
 * UTF-8 without control characters (newline and tab allowed when
 * multiline).  0; 1 when absent and not required; or CU_EINVALID
 * ("FIELD: missing", "FIELD: must be a string", "FIELD: not valid UTF-8"). */
int cu_field_text(const char **s, size_t *len, const json_t *obj, const char *key,
	const char *field, int required, int multiline);

/* A code: 1..max bytes of A-Z a-z 0-9 . _ - (and / when slash is set). */
int cu_field_code(const char *field, const char *s, size_t len, size_t max, int slash);

/* Copies the required member key of in, which must be one of the
 * NULL-terminated list, to out ("FIELD: must be one of a, b, c"). */
int cu_field_enum(json_t *out, const json_t *in, const char *key, const char *field,
	const char *const *list);

/* Copies obj's "name" member (1..CU_NAME_MAX bytes, no control
 * characters) to out, reported as `field` ("person.name"). */
int cu_field_name(json_t *out, const json_t *obj, const char *field);

/* Copies the optional "ext" member of in to out (an object, canonical size
 * up to CU_EXT_MAX, no real numbers), as for receipts. */
int cu_field_ext(json_t *out, const json_t *in);

/* Index of s[0..len) in the NULL-terminated list, or -1. */
int cu_list_find(const char *const *list, const char *s, size_t len);

#endif
