/* test_recon.c — bank statements, matching and the report (src/recon.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/recon.h"
#include "custos/record.h"
#include "custos/util.h"

#define HDR CU_RECON_HEADER "\n"
#define ID1 "11010519491231002X"

static int64_t
day(const char *s)
{
	int64_t d;

	assert_int_equal(cu_day_parse(&d, s), 0);
	return d;
}

static cu_recon_statement *
parse_ok(const char *csv)
{
	cu_recon_statement *st = NULL;

	if (cu_recon_parse(&st, csv, strlen(csv), "stmt.csv") != 0)
		fail_msg("parse failed: %s", cu_error_last());
	return st;
}

/* The message for a statement that must be refused with code. */
static const char *
parse_fail(const char *csv, size_t len, int code)
{
	cu_recon_statement *st = (cu_recon_statement *)1;

	assert_int_equal(cu_recon_parse(&st, csv, len, "stmt.csv"), code);
	assert_null(st);
	return cu_error_last();
}

static void
test_parse_basic(void **state)
{
	const char *csv =
		"\xef\xbb\xbf" "date,amount,direction,reference,counterparty\r\n"
		"2026-11-20,3250.00,debit,T-2026-000002,6222020200112233\r\n"
		"\r\n"
		"2026-11-21,\"1,280.5\",credit,,x\r\n";
	cu_recon_statement *st;

	(void)state;
	/* a thousands separator is not a decimal number */
	assert_string_equal(parse_fail(csv, strlen(csv), CU_EINVALID),
		"stmt.csv:4: amount: not a decimal number");

	csv = "\xef\xbb\xbf" "date,amount,direction,reference,counterparty\r\n"
		"2026-11-20,3250.00,debit,T-2026-000002,6222020200112233\r\n"
		"\r\n"
		"\"2026-11-21\",12.5,\xe8\xb4\xb7,\"R \"\"7\"\"\",\"Fuzhou, Example \"\"Co.\"\"\r\nline two\"\r\n"
		"2026-11-22,0.01,\xe5\x80\x9f,,\n"
		"\n\n";
	st = parse_ok(csv);
	assert_int_equal(st->n, 3);
	assert_int_equal(st->lines[0].line, 2);
	assert_int_equal(st->lines[0].day, day("2026-11-20"));
	assert_int_equal(st->lines[0].amount_fen, 325000);
	assert_int_equal(st->lines[0].dir, CU_RECON_DEBIT);
	assert_string_equal(st->lines[0].reference, "T-2026-000002");
	assert_string_equal(st->lines[0].counterparty, "6222020200112233");
	assert_int_equal(st->lines[1].line, 4);
	assert_int_equal(st->lines[1].amount_fen, 1250);
	assert_int_equal(st->lines[1].dir, CU_RECON_CREDIT);
	assert_string_equal(st->lines[1].reference, "R \"7\"");
	/* a quoted CR LF is kept as a line feed */
	assert_string_equal(st->lines[1].counterparty, "Fuzhou, Example \"Co.\"\nline two");
	/* the quoted line break counts: the next record is on line 6 */
	assert_int_equal(st->lines[2].line, 6);
	assert_int_equal(st->lines[2].dir, CU_RECON_DEBIT);
	assert_string_equal(st->lines[2].reference, "");
	assert_string_equal(st->lines[2].counterparty, "");
	assert_int_equal(st->credit_fen, 1250);
	assert_int_equal(st->debit_fen, 325001);
	cu_recon_statement_free(st);

	/* a header alone is an empty statement; no final line feed is fine */
	st = parse_ok("date,amount,direction,reference,counterparty");
	assert_int_equal(st->n, 0);
	cu_recon_statement_free(st);
	st = parse_ok(HDR "2026-01-31,7,credit,a,b");
	assert_int_equal(st->n, 1);
	assert_int_equal(st->lines[0].amount_fen, 700);
	cu_recon_statement_free(st);
	/* quoted header fields are the same header */
	st = parse_ok("\"date\",amount,direction,reference,\"counterparty\"\n");
	cu_recon_statement_free(st);
}

struct bad {
	const char *csv;
	int code;
	const char *msg;
};

static void
test_parse_errors(void **state)
{
	static const struct bad bad[] = {
		{ "", CU_EINVALID, "stmt.csv:1: header: missing, expected " CU_RECON_HEADER },
		{ "\xef\xbb\xbf", CU_EINVALID, "stmt.csv:1: header: missing, expected " CU_RECON_HEADER },
		{ "2026-11-20,1.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:1: header: expected " CU_RECON_HEADER },
		{ "Date,Amount,Direction,Reference,Counterparty\n", CU_EINVALID,
		  "stmt.csv:1: header: expected " CU_RECON_HEADER },
		{ "date,amount,direction,reference\n", CU_EINVALID,
		  "stmt.csv:1: header: expected " CU_RECON_HEADER },
		{ "\ndate,amount,direction,reference,counterparty\n", CU_EINVALID,
		  "stmt.csv:1: header: expected " CU_RECON_HEADER },
		{ HDR "2026-11-20,1.00,credit,a\n", CU_EINVALID,
		  "stmt.csv:2: 4 fields, expected 5 (" CU_RECON_HEADER ")" },
		{ HDR "x\n", CU_EINVALID, "stmt.csv:2: 1 field, expected 5 (" CU_RECON_HEADER ")" },
		{ HDR "2026-11-20,1.00,credit,a,b,c\n", CU_EINVALID,
		  "stmt.csv:2: more than 5 fields, expected " CU_RECON_HEADER },
		{ HDR "2026-11-20,1.00,credit,a,b,\n", CU_EINVALID,
		  "stmt.csv:2: more than 5 fields, expected " CU_RECON_HEADER },
		{ HDR "2026-11-20,1.00,credit,a,b\n2026-11-31,1.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:3: date: 2026-11-31 is not a real date" },
		{ HDR "20261120,1.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: date: not a date like 2026-10-03" },
		{ HDR "2026/11/20,1.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: date: not a date like 2026-10-03" },
		{ HDR "2026-11-20,1.005,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: more than two decimals" },
		{ HDR "2026-11-20,1e3,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: exponents are not allowed" },
		{ HDR "2026-11-20, 1.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: must not contain spaces" },
		{ HDR "2026-11-20,,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: must not be empty" },
		{ HDR "2026-11-20,-1.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: must be more than 0 (the direction gives the sign)" },
		{ HDR "2026-11-20,0.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: must be more than 0 (the direction gives the sign)" },
		{ HDR "2026-11-20,10000000000000.00,credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: amount: too large" },
		{ HDR "2026-11-20,1.00,Credit,a,b\n", CU_EINVALID,
		  "stmt.csv:2: direction: must be credit, debit, \xe8\xb4\xb7 or \xe5\x80\x9f" },
		{ HDR "2026-11-20,1.00,credit,\" a\",b\n", CU_EINVALID,
		  "stmt.csv:2: reference: must not start or end with a space" },
		{ HDR "2026-11-20,1.00,credit,\"a\nb\",b\n", CU_EINVALID,
		  "stmt.csv:2: reference: must not contain control characters" },
		{ HDR "2026-11-20,1.00,credit,a,\"b\x01\"\n", CU_EINVALID,
		  "stmt.csv:2: counterparty: must not contain control characters other than newline and tab" },
		{ HDR "2026-11-20,1.00,credit,a,\xff\xfe\n", CU_EINVALID,
		  "stmt.csv:2: counterparty: not valid UTF-8" },
		{ HDR "2026-11-20,1.00,credit,a,\xe4\xb8\n", CU_EINVALID,
		  "stmt.csv:2: counterparty: not valid UTF-8" },
		{ HDR "2026-11-20,1.00,credit,\xc0\xaf,b\n", CU_EINVALID,
		  "stmt.csv:2: reference: not valid UTF-8" },
		{ HDR "2026-11-20,1.00,credit,a,\"b\n\nc\n", CU_EINVALID,
		  "stmt.csv:2: counterparty: quoted field not closed" },
		{ HDR "2026-11-20,1.00,credit,\"a\"x,b\n", CU_EINVALID,
		  "stmt.csv:2: reference: text after the closing quote" },
		{ HDR "2026-11-20,1.00,credit,a\"b,c\n", CU_EINVALID,
		  "stmt.csv:2: reference: quote inside an unquoted field (quote the whole field)" },
		{ HDR "2026-11-20,1.00,credit,a,b\rc\n", CU_EINVALID,
		  "stmt.csv:2: counterparty: carriage return without a line feed" },
		{ HDR "2026-11-20,1.00,credit,a,b\r", CU_EINVALID,
		  "stmt.csv:2: counterparty: carriage return without a line feed" },
		{ HDR "2026-11-20,1.00,credit,a,\"x\ny\"\n2026-11-20,1.00,credit,a,b,c\n",
		  CU_EINVALID, "stmt.csv:4: more than 5 fields, expected " CU_RECON_HEADER },
	};
	char msg[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "%s", parse_fail(bad[i].csv, strlen(bad[i].csv), bad[i].code));
		if (strcmp(msg, bad[i].msg) != 0)
			fail_msg("case %zu: got \"%s\", expected \"%s\"", i, msg, bad[i].msg);
	}
}

/* A NUL byte, an over-long reference, an over-long record. */
static void
test_parse_limits(void **state)
{
	static const char nul[] = HDR "2026-11-20,1.00,credit,a\0b,c\n";
	char *big;
	size_t n;

	(void)state;
	assert_string_equal(parse_fail(nul, sizeof(nul) - 1, CU_EINVALID),
		"stmt.csv:2: reference: must not contain control characters");

	big = malloc(CU_RECON_RECORD_MAX + 200);
	assert_non_null(big);
	n = (size_t)snprintf(big, 200, HDR "2026-11-20,1.00,credit,");
	memset(big + n, 'r', 129);
	memcpy(big + n + 129, ",b\n", 4);
	assert_string_equal(parse_fail(big, strlen(big), CU_EINVALID),
		"stmt.csv:2: reference: longer than 128 bytes");
	memset(big + n, 'r', 128);
	memcpy(big + n + 128, ",b\n", 4);
	cu_recon_statement_free(parse_ok(big));

	n = (size_t)snprintf(big, 200, HDR "2026-11-20,1.00,credit,a,\"");
	memset(big + n, 'c', CU_RECON_RECORD_MAX);
	memcpy(big + n + CU_RECON_RECORD_MAX, "\"\n", 3);
	assert_string_equal(parse_fail(big, strlen(big), CU_ELIMIT),
		"stmt.csv:2: record longer than 4096 bytes");
	/* unquoted too */
	n = (size_t)snprintf(big, 200, HDR "2026-11-20,1.00,credit,a,");
	memset(big + n, 'c', CU_RECON_RECORD_MAX);
	memcpy(big + n + CU_RECON_RECORD_MAX, "\n", 2);
	assert_string_equal(parse_fail(big, strlen(big), CU_ELIMIT),
		"stmt.csv:2: record longer than 4096 bytes");
	free(big);

	assert_string_equal(parse_fail("x", (size_t)CU_RECON_FILE_MAX + 1, CU_ELIMIT),
		"stmt.csv: larger than 64 MiB");
}

/* No message repeats a field: an ID number in any column stays out. */
static void
test_messages_hide_values(void **state)
{
	static const char *const csv[] = {
		HDR ID1 ",1.00,credit,a,b\n",
		HDR "2026-11-20," ID1 ",credit,a,b\n",
		HDR "2026-11-20,1.00," ID1 ",a,b\n",
		HDR "2026-11-20,1.00,credit, " ID1 ",b\n",
		HDR "2026-11-20,1.00,credit,a,\"" ID1 "\x01\"\n",
		HDR "2026-11-20,1.00,credit,a," ID1 ",x\n",
		HDR "2026-11-20,1.00,credit,a," ID1 "\"\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(csv) / sizeof(csv[0]); i++) {
		const char *m = parse_fail(csv[i], strlen(csv[i]), CU_EINVALID);

		if (strstr(m, ID1) != NULL || strstr(m, "1949") != NULL)
			fail_msg("case %zu repeats the value: %s", i, m);
	}
}

/* ---- matching ---------------------------------------------------------- */

static cu_recon_result *
match_ok(const cu_recon_statement *st, const cu_recon_entry *b, size_t n, int tol)
{
	cu_recon_result *r = NULL;

	if (cu_recon_match(&r, st, b, n, tol) != 0)
		fail_msg("match failed: %s", cu_error_last());
	return r;
}

/* The item whose bank line has this reference, or whose entry has this txn_no. */
static const cu_recon_item *
find(const cu_recon_result *r, const char *ref, const char *txn)
{
	for (size_t i = 0; i < r->n; i++) {
		const cu_recon_item *it = &r->items[i];

		if ((ref == NULL || (it->bank != NULL && strcmp(it->bank->reference, ref) == 0)) &&
		    (txn == NULL ? it->book == NULL : (it->book != NULL && strcmp(it->book->txn_no, txn) == 0)))
			return it;
	}
	fail_msg("no item %s / %s", ref ? ref : "-", txn ? txn : "-");
	return NULL;
}

static void
test_match_outcomes(void **state)
{
	cu_recon_statement *st = parse_ok(HDR
		"2026-11-20,3250.00,debit,T-1,6222020200112233\n"     /* matched by reference */
		"2026-11-20,100.00,debit,T-2,6222020200112234\n"      /* amount differs */
		"2026-11-21,80.00,credit,BANK-9,PAY-1\n"              /* matched by date and amount */
		"2026-11-22,5.00,credit,,\n"                          /* missing in the books */
		"2026-11-25,7.00,credit,T-5,\n");                     /* T-5 is a debit: no partner */
	const cu_recon_entry books[] = {
		{ "T-1", day("2026-11-18"), 325000, CU_RECON_DEBIT, "6222020200112233" },
		{ "T-2", day("2026-11-20"), 12000, CU_RECON_DEBIT, NULL },
		{ "T-3", day("2026-11-23"), 8000, CU_RECON_CREDIT, "PAY-1" },
		{ "T-4", day("2026-11-24"), 9900, CU_RECON_DEBIT, NULL },   /* missing at the bank */
		{ "T-5", day("2026-11-25"), 700, CU_RECON_DEBIT, NULL },    /* missing at the bank */
	};
	cu_recon_result *r = match_ok(st, books, 5, CU_RECON_TOLERANCE_DEFAULT);
	const cu_recon_item *it;

	(void)state;
	assert_int_equal(r->n, 7);
	it = find(r, "T-1", "T-1");
	assert_int_equal(it->outcome, CU_RECON_MATCHED);
	assert_int_equal(it->by, CU_RECON_BY_REFERENCE);
	it = find(r, "T-2", "T-2");
	assert_int_equal(it->outcome, CU_RECON_AMOUNT_DIFFERS);
	assert_int_equal(it->by, CU_RECON_BY_REFERENCE);
	it = find(r, "BANK-9", "T-3");
	assert_int_equal(it->outcome, CU_RECON_MATCHED);
	assert_int_equal(it->by, CU_RECON_BY_DATE_AMOUNT);
	it = find(r, "", NULL);
	assert_int_equal(it->outcome, CU_RECON_MISSING_IN_BOOKS);
	assert_int_equal(it->by, CU_RECON_BY_NONE);
	it = find(r, "T-5", NULL);
	assert_int_equal(it->outcome, CU_RECON_MISSING_IN_BOOKS);
	it = find(r, NULL, "T-4");
	assert_int_equal(it->outcome, CU_RECON_MISSING_AT_BANK);
	assert_null(it->bank);
	it = find(r, NULL, "T-5");
	assert_int_equal(it->outcome, CU_RECON_MISSING_AT_BANK);

	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 2);
	assert_int_equal(r->sum[CU_RECON_MATCHED].bank_debit_fen, 325000);
	assert_int_equal(r->sum[CU_RECON_MATCHED].bank_credit_fen, 8000);
	assert_int_equal(r->sum[CU_RECON_MATCHED].book_credit_fen, 8000);
	assert_int_equal(r->sum[CU_RECON_AMOUNT_DIFFERS].count, 1);
	assert_int_equal(r->sum[CU_RECON_AMOUNT_DIFFERS].bank_debit_fen, 10000);
	assert_int_equal(r->sum[CU_RECON_AMOUNT_DIFFERS].book_debit_fen, 12000);
	assert_int_equal(r->sum[CU_RECON_MISSING_IN_BOOKS].count, 2);
	assert_int_equal(r->sum[CU_RECON_MISSING_IN_BOOKS].bank_credit_fen, 1200);
	assert_int_equal(r->sum[CU_RECON_MISSING_AT_BANK].count, 2);
	assert_int_equal(r->sum[CU_RECON_MISSING_AT_BANK].book_debit_fen, 10600);
	assert_int_equal(r->sum[CU_RECON_MISSING_AT_BANK].bank_debit_fen, 0);
	assert_int_equal(cu_recon_unmatched(r), 5);
	cu_recon_result_free(r);

	/* no books: every line is missing in the books */
	r = match_ok(st, books, 0, 3);
	assert_int_equal(cu_recon_unmatched(r), 5);
	assert_int_equal(r->sum[CU_RECON_MISSING_IN_BOOKS].count, 5);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);

	st = parse_ok(HDR "2026-11-20,3250.00,debit,T-1,x\n");
	r = match_ok(st, books, 1, 0);
	assert_int_equal(cu_recon_unmatched(r), 0);
	assert_int_equal(r->n, 1);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
}

/* A payment returned by the bank with the original's reference pairs with
 * the books' own entry for the return, by date and amount. */
static void
test_returned_payment(void **state)
{
	cu_recon_statement *st = parse_ok(HDR
		"2026-11-20,3250.00,debit,T-1,6222020200112233\n"
		"2026-11-23,3250.00,credit,T-1,6222020200112233\n");
	const cu_recon_entry books[] = {
		{ "T-1", day("2026-11-20"), 325000, CU_RECON_DEBIT, "6222020200112233" },
		{ "T-7", day("2026-11-24"), 325000, CU_RECON_CREDIT, "6222020200112233" },
	};
	cu_recon_result *r = match_ok(st, books, 2, 3);
	const cu_recon_item *it;

	(void)state;
	assert_int_equal(r->n, 2);
	assert_int_equal(cu_recon_unmatched(r), 0);
	it = find(r, "T-1", "T-1");
	assert_int_equal(it->by, CU_RECON_BY_REFERENCE);
	assert_int_equal(it->bank->dir, CU_RECON_DEBIT);
	it = find(r, "T-1", "T-7");
	assert_int_equal(it->by, CU_RECON_BY_DATE_AMOUNT);
	assert_int_equal(it->outcome, CU_RECON_MATCHED);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
}

/* Exactly N days apart pairs, N + 1 does not, either side first. */
static void
test_tolerance(void **state)
{
	cu_recon_statement *st = parse_ok(HDR "2026-03-01,10.00,credit,,\n");
	cu_recon_entry e = { "T-1", 0, 1000, CU_RECON_CREDIT, NULL };
	cu_recon_result *r;
	static const struct { const char *day; int tol, matched; } cases[] = {
		{ "2026-02-26", 3, 1 }, { "2026-02-25", 3, 0 },   /* across February's end */
		{ "2026-03-04", 3, 1 }, { "2026-03-05", 3, 0 },
		{ "2026-03-01", 0, 1 }, { "2026-03-02", 0, 0 }, { "2026-02-28", 0, 0 },
		{ "2026-03-08", 7, 1 }, { "2026-03-09", 7, 0 },
		{ "2026-01-29", 31, 1 }, { "2026-01-28", 31, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e.day = day(cases[i].day);
		r = match_ok(st, &e, 1, cases[i].tol);
		if ((r->sum[CU_RECON_MATCHED].count == 1) != cases[i].matched)
			fail_msg("case %zu: book %s, tolerance %d", i, cases[i].day, cases[i].tol);
		assert_int_equal(r->n, cases[i].matched ? 1 : 2);
		cu_recon_result_free(r);
	}
	/* the same amount in the other direction never pairs */
	e.day = day("2026-03-01");
	e.dir = CU_RECON_DEBIT;
	r = match_ok(st, &e, 1, 3);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 0);
	cu_recon_result_free(r);
	/* nor another amount */
	e.dir = CU_RECON_CREDIT;
	e.amount_fen = 1001;
	r = match_ok(st, &e, 1, 3);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 0);
	assert_int_equal(r->sum[CU_RECON_AMOUNT_DIFFERS].count, 0);
	cu_recon_result_free(r);

	r = NULL;
	assert_int_equal(cu_recon_match(&r, st, &e, 1, -1), CU_EINVALID);
	assert_string_equal(cu_error_last(), "tolerance: must be 0-31 days");
	assert_int_equal(cu_recon_match(&r, st, &e, 1, 32), CU_EINVALID);
	assert_null(r);
	cu_recon_statement_free(st);
}

static void
test_duplicates(void **state)
{
	/* the bank paid T-1 twice: the second line is missing in the books,
	 * and does not take T-9 by date and amount */
	cu_recon_statement *st = parse_ok(HDR
		"2026-11-20,50.00,debit,T-1,a\n"
		"2026-11-20,50.00,debit,T-1,a\n"
		"2026-11-20,60.00,debit,T-2,a\n"      /* the one that agrees is the match */
		"2026-11-19,61.00,debit,T-2,a\n");
	cu_recon_entry books[] = {
		{ "T-1", day("2026-11-20"), 5000, CU_RECON_DEBIT, NULL },
		{ "T-9", day("2026-11-20"), 5000, CU_RECON_DEBIT, NULL },
		{ "T-2", day("2026-11-20"), 6000, CU_RECON_DEBIT, NULL },
	};
	cu_recon_result *r = match_ok(st, books, 3, 3);

	(void)state;
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 2);
	assert_int_equal(r->sum[CU_RECON_MISSING_IN_BOOKS].count, 2);
	assert_int_equal(r->sum[CU_RECON_MISSING_IN_BOOKS].bank_debit_fen, 5000 + 6100);
	assert_int_equal(r->sum[CU_RECON_MISSING_AT_BANK].count, 1);
	assert_string_equal(find(r, NULL, "T-9")->book->txn_no, "T-9");
	assert_int_equal(find(r, "T-2", "T-2")->bank->amount_fen, 6000);
	assert_int_equal(r->sum[CU_RECON_AMOUNT_DIFFERS].count, 0);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);

	/* two identical bank lines, three identical book entries but for
	 * txn_no: two pairs, the earliest txn_no first, one left */
	st = parse_ok(HDR "2026-11-20,1.00,credit,,\n2026-11-20,1.00,credit,,\n");
	books[0] = (cu_recon_entry){ "B", day("2026-11-20"), 100, CU_RECON_CREDIT, NULL };
	books[1] = (cu_recon_entry){ "C", day("2026-11-20"), 100, CU_RECON_CREDIT, NULL };
	books[2] = (cu_recon_entry){ "A", day("2026-11-20"), 100, CU_RECON_CREDIT, NULL };
	r = match_ok(st, books, 3, 3);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 2);
	assert_int_equal(r->sum[CU_RECON_MISSING_AT_BANK].count, 1);
	assert_string_equal(r->items[2].book->txn_no, "C");
	assert_int_equal(r->items[2].outcome, CU_RECON_MISSING_AT_BANK);
	assert_string_equal(r->items[0].book->txn_no, "A");
	assert_string_equal(r->items[1].book->txn_no, "B");
	cu_recon_result_free(r);

	/* the earliest entry in the window is taken, so that a later line
	 * still finds one: 11-10 takes 11-07, 11-13 takes 11-10 */
	cu_recon_statement_free(st);
	st = parse_ok(HDR "2026-11-10,1.00,credit,,\n2026-11-13,1.00,credit,,\n");
	books[0].day = day("2026-11-07");
	books[1].day = day("2026-11-10");
	r = match_ok(st, books, 2, 3);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 2);
	cu_recon_result_free(r);

	/* a txn_no given twice is the caller's mistake */
	books[1].txn_no = "B";
	r = (cu_recon_result *)1;
	assert_int_equal(cu_recon_match(&r, st, books, 2, 3), CU_EINVALID);
	assert_null(r);
	assert_string_equal(cu_error_last(), "books: txn_no B given twice");
	books[1].txn_no = "C";
	books[1].amount_fen = 0;
	assert_int_equal(cu_recon_match(&r, st, books, 2, 3), CU_EINVALID);
	assert_string_equal(cu_error_last(),
		"books: C: amount must be more than 0 and at most 999999999999999 fen");
	books[1].amount_fen = 100;
	books[1].txn_no = NULL;
	assert_int_equal(cu_recon_match(&r, st, books, 2, 3), CU_EINVALID);
	assert_string_equal(cu_error_last(), "books: entry 2: txn_no must be 1-64 bytes");
	books[1].txn_no = "C";
	books[1].dir = 2;
	assert_int_equal(cu_recon_match(&r, st, books, 2, 3), CU_EINVALID);
	books[1].dir = CU_RECON_CREDIT;
	books[1].day = day("1899-12-31");
	assert_int_equal(cu_recon_match(&r, st, books, 2, 3), CU_EINVALID);
	assert_string_equal(cu_error_last(), "books: C: date must be in 1900-9999");
	cu_recon_statement_free(st);
}

/* Totals the report could not hold are refused on either side. */
static void
test_totals_limit(void **state)
{
	static const char line[] = "2026-11-20,9999999999999.99,credit,,\n";
	cu_recon_entry books[10];
	char txn[10][16], *csv = malloc(sizeof(HDR) + 10 * sizeof(line)), *p = csv;
	cu_recon_statement *st;
	cu_recon_result *r = NULL;

	(void)state;
	assert_non_null(csv);
	p += sprintf(p, "%s", HDR);
	for (int i = 0; i < 9; i++)
		p += sprintf(p, "%s", line);
	st = parse_ok(csv);   /* 9 * (10^15 - 1) fen is below 2^53 */
	assert_int_equal(st->credit_fen, 9 * CU_MONEY_MAX_FEN);
	sprintf(p, "%s", line);
	assert_string_equal(parse_fail(csv, strlen(csv), CU_ELIMIT),
		"stmt.csv:11: amount: the statement's total passes 90071992547409.91 yuan");
	for (int i = 0; i < 10; i++) {
		snprintf(txn[i], sizeof(txn[i]), "T%d", i % 10);
		books[i] = (cu_recon_entry){ txn[i], day("2026-11-20"), CU_MONEY_MAX_FEN,
			CU_RECON_CREDIT, NULL };
	}
	r = match_ok(st, books, 9, 3);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 9);
	cu_recon_result_free(r);
	assert_int_equal(cu_recon_match(&r, st, books, 10, 3), CU_ELIMIT);
	assert_string_equal(cu_error_last(), "books: the total passes 90071992547409.91 yuan");
	cu_recon_statement_free(st);
	free(csv);
}

/* ---- the report -------------------------------------------------------- */

static void
test_report(void **state)
{
	cu_recon_statement *st = parse_ok(HDR
		"2026-11-20,3250.00,debit,T-1,\"Zhang\tSan " ID1 "\"\n"
		"2026-11-20,100.00,debit,T-2,\"two\nlines\"\n"
		"2026-11-21,0.05,credit,,\n");
	const cu_recon_entry books[] = {
		{ "T-1", day("2026-11-20"), 325000, CU_RECON_DEBIT, "6222020200112233" },
		{ "T-2", day("2026-11-20"), 12000, CU_RECON_DEBIT, NULL },
		{ "T-4", day("2026-11-19"), 9900, CU_RECON_CREDIT, "INC-1" },
	};
	cu_recon_result *r = match_ok(st, books, 3, 3);
	json_t *j = NULL;
	char *text = NULL, *canon = NULL;
	size_t len, clen;

	(void)state;
	assert_int_equal(cu_recon_report_text(&text, &len, r), 0);
	assert_int_equal(len, strlen(text));
	assert_string_equal(text,
		"missing_at_bank\t2026-11-19\t99.00\tT-4\tINC-1\n"
		"amount_differs\t2026-11-20\t-100.00/-120.00\tT-2\ttwo lines\n"
		"matched\t2026-11-20\t-3250.00\tT-1\tZhang San 110105********002X\n"
		"missing_in_books\t2026-11-21\t0.05\t\t\n");
	assert_null(strstr(text, ID1));
	free(text);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);

	/* an ID number inside a longer run of digits, and two overlapping
	 * (440524188001010014 and 001400198001010016) */
	st = parse_ok(HDR "2026-11-20,1.00,credit,9" ID1 ",Zha11010519491231002X231002X\n"
		"2026-11-20,2.00,credit,,44052418800101001400198001010016\n");
	r = match_ok(st, NULL, 0, 3);
	assert_int_equal(cu_recon_report_text(&text, &len, r), 0);
	assert_string_equal(text,
		"missing_in_books\t2026-11-20\t1.00\t9110105********002X\tZha110105********002X231002X\n"
		"missing_in_books\t2026-11-20\t2.00\t\t440524********001400********0016\n");
	free(text);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
	st = parse_ok(HDR
		"2026-11-20,3250.00,debit,T-1,\"Zhang\tSan " ID1 "\"\n"
		"2026-11-20,100.00,debit,T-2,\"two\nlines\"\n"
		"2026-11-21,0.05,credit,,\n");
	r = match_ok(st, books, 3, 3);

	assert_int_equal(cu_recon_report_json(&j, r, "EXP-P-01"), 0);
	assert_int_equal(cu_canon(&canon, &clen, j), 0);
	assert_string_equal(canon,
		"{\"account\":\"EXP-P-01\",\"bank_lines\":3,\"book_entries\":3,"
		"\"items\":["
		"{\"book\":{\"amount_fen\":9900,\"counterparty\":\"INC-1\",\"date\":\"2026-11-19\","
		"\"direction\":\"credit\",\"txn_no\":\"T-4\"},\"outcome\":\"missing_at_bank\"},"
		"{\"bank\":{\"amount_fen\":10000,\"counterparty\":\"two\\nlines\","
		"\"date\":\"2026-11-20\",\"direction\":\"debit\",\"reference\":\"T-2\"},"
		"\"book\":{\"amount_fen\":12000,\"counterparty\":\"\","
		"\"date\":\"2026-11-20\",\"direction\":\"debit\",\"txn_no\":\"T-2\"},"
		"\"by\":\"reference\",\"outcome\":\"amount_differs\"},"
		"{\"bank\":{\"amount_fen\":325000,\"counterparty\":\"Zhang\\tSan " ID1 "\","
		"\"date\":\"2026-11-20\",\"direction\":\"debit\",\"reference\":\"T-1\"},"
		"\"book\":{\"amount_fen\":325000,\"counterparty\":\"6222020200112233\","
		"\"date\":\"2026-11-20\",\"direction\":\"debit\",\"txn_no\":\"T-1\"},"
		"\"by\":\"reference\",\"outcome\":\"matched\"},"
		"{\"bank\":{\"amount_fen\":5,\"counterparty\":\"\",\"date\":\"2026-11-21\","
		"\"direction\":\"credit\",\"reference\":\"\"},\"outcome\":\"missing_in_books\"}],"
		"\"summary\":{"
		"\"amount_differs\":{\"bank_credit_fen\":0,\"bank_debit_fen\":10000,"
		"\"book_credit_fen\":0,\"book_debit_fen\":12000,\"count\":1},"
		"\"matched\":{\"bank_credit_fen\":0,\"bank_debit_fen\":325000,"
		"\"book_credit_fen\":0,\"book_debit_fen\":325000,\"count\":1},"
		"\"missing_at_bank\":{\"bank_credit_fen\":0,\"bank_debit_fen\":0,"
		"\"book_credit_fen\":9900,\"book_debit_fen\":0,\"count\":1},"
		"\"missing_in_books\":{\"bank_credit_fen\":5,\"bank_debit_fen\":0,"
		"\"book_credit_fen\":0,\"book_debit_fen\":0,\"count\":1}},"
		"\"tolerance_days\":3,\"type\":\"reconciliation\",\"unmatched\":3}");
	free(canon);
	json_decref(j);
	assert_int_equal(cu_recon_report_json(&j, r, NULL), 0);
	assert_null(json_object_get(j, "account"));
	json_decref(j);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
}

/* The example in docs/fund-control.md: tests/data/statement.csv against
 * the books of the pension expenditure account. */
static void
test_example(void **state)
{
	const cu_recon_entry books[] = {
		{ "T-2026-000002", day("2026-11-20"), 325000, CU_RECON_DEBIT, "6222020200112233" },
		{ "T-2026-000009", day("2026-11-20"), 185000, CU_RECON_DEBIT, "6222020200114455" },
		{ "T-2026-000011", day("2026-11-22"), 320000, CU_RECON_DEBIT, "6222020200113344" },
		{ "T-2026-000012", day("2026-11-24"), 325000, CU_RECON_CREDIT, "6222020200118899" },
		{ "T-2026-000013", day("2026-11-25"), 50000000, CU_RECON_CREDIT, "FIS-P-01" },
		{ "T-2026-000014", day("2026-11-30"), 120, CU_RECON_CREDIT, NULL },
	};
	cu_recon_statement *st = NULL;
	cu_recon_result *r;
	char *buf, *text;
	size_t len;

	(void)state;
	assert_int_equal(cu_read_file(&buf, &len, "tests/data/statement.csv", CU_RECON_FILE_MAX), 0);
	assert_int_equal(cu_recon_parse(&st, buf, len, "statement.csv"), 0);
	assert_int_equal(st->n, 6);
	r = match_ok(st, books, 6, CU_RECON_TOLERANCE_DEFAULT);
	assert_int_equal(cu_recon_report_text(&text, &len, r), 0);
	assert_string_equal(text,
		"amount_differs\t2026-11-20\t-1800.00/-1850.00\tT-2026-000009\t6222020200114455\n"
		"matched\t2026-11-20\t-3250.00\tT-2026-000002\t6222020200112233\n"
		"missing_in_books\t2026-11-21\t-2100.00\tT-2026-000010\tWang Wu, 6222020200116677\n"
		"missing_at_bank\t2026-11-22\t-3200.00\tT-2026-000011\t6222020200113344\n"
		"matched\t2026-11-23\t3250.00\tRTN 20261123 0042\t6222020200118899\n"
		"matched\t2026-11-25\t500000.00\tFIS-TRF-1125\tFIS-P-01\n"
		"matched\t2026-11-30\t1.20\t\t\n");
	assert_int_equal(cu_recon_unmatched(r), 3);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count, 4);
	assert_int_equal(r->sum[CU_RECON_MATCHED].bank_credit_fen, 50325120);
	assert_int_equal(r->sum[CU_RECON_MATCHED].book_debit_fen, 325000);
	assert_int_equal(r->items[4].by, CU_RECON_BY_DATE_AMOUNT);
	assert_int_equal(r->items[1].by, CU_RECON_BY_REFERENCE);
	free(text);
	free(buf);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
}

/* ---- determinism and size ---------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct gen {
	char (*line)[96];        /* CSV lines of the statement, without the header */
	size_t n;
	cu_recon_entry *books;
	char (*txn)[24];
	size_t nbooks;
};

/* A statement and books that share most lines, with duplicates, equal
 * amounts on nearby days and references that miss. */
static void
generate(struct gen *g, size_t n)
{
	g->line = calloc(n, sizeof(*g->line));
	g->books = calloc(n, sizeof(*g->books));
	g->txn = calloc(n, sizeof(*g->txn));
	assert_non_null(g->line);
	assert_non_null(g->books);
	assert_non_null(g->txn);
	g->n = g->nbooks = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t d = day("2026-01-01") + (int64_t)(next_rand() % 60);
		int64_t fen = 100 + (int64_t)(next_rand() % 50) * 100;   /* many equal amounts */
		int dir = (int)(next_rand() % 2), what = (int)(next_rand() % 8);
		char date[11], amount[24];

		snprintf(g->txn[i], sizeof(g->txn[i]), "T-%zu", i);
		if (what != 7) {   /* in the books */
			g->books[g->nbooks++] = (cu_recon_entry){ g->txn[i],
				d + (what == 3 ? (int64_t)(next_rand() % 9) - 4 : 0),
				fen + (what == 4 ? 1 : 0), dir, what == 5 ? "ACC" : NULL };
		}
		if (what == 6)
			continue;      /* not at the bank */
		cu_day_format(date, d);
		cu_money_format(amount, sizeof(amount), fen);
		snprintf(g->line[g->n++], sizeof(g->line[0]), "%s,%s,%s,%s,%s\n", date, amount,
			dir ? "debit" : "credit",
			what < 2 ? g->txn[i] : what == 2 ? "" : what == 4 ? g->txn[i] : "X",
			what == 1 ? "\"a, \"\"b\"\"\"" : "ACC");
		if (what == 0 && next_rand() % 16 == 0 && i + 1 < n)
			snprintf(g->line[g->n++], sizeof(g->line[0]), "%s,%s,%s,%s,ACC\n", date, amount,
				dir ? "debit" : "credit", g->txn[i]);   /* paid twice */
	}
}

static char *
join(const struct gen *g, size_t *len)
{
	char *csv = malloc(sizeof(HDR) + g->n * sizeof(g->line[0])), *p = csv;

	assert_non_null(csv);
	p += sprintf(p, "%s", HDR);
	for (size_t i = 0; i < g->n; i++)
		p += sprintf(p, "%s", g->line[i]);
	*len = (size_t)(p - csv);
	return csv;
}

static void
shuffle(struct gen *g)
{
	for (size_t i = g->n; i > 1; i--) {
		size_t j = next_rand() % i;
		char t[96];

		memcpy(t, g->line[i - 1], sizeof(t));
		memcpy(g->line[i - 1], g->line[j], sizeof(t));
		memcpy(g->line[j], t, sizeof(t));
	}
	for (size_t i = g->nbooks; i > 1; i--) {
		size_t j = next_rand() % i;
		cu_recon_entry t = g->books[i - 1];

		g->books[i - 1] = g->books[j];
		g->books[j] = t;
	}
}

static void
report_of(struct gen *g, char **canon, char **text, int tol)
{
	cu_recon_statement *st;
	cu_recon_result *r;
	json_t *j;
	size_t len, clen;
	char *csv = join(g, &len);

	assert_int_equal(cu_recon_parse(&st, csv, len, "gen.csv"), 0);
	r = match_ok(st, g->books, g->nbooks, tol);
	assert_int_equal(cu_recon_report_json(&j, r, "ACC-1"), 0);
	assert_int_equal(cu_canon(canon, &clen, j), 0);
	assert_int_equal(cu_recon_report_text(text, &len, r), 0);
	json_decref(j);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
	free(csv);
}

static void
test_determinism(void **state)
{
	struct gen g;
	char *c1, *t1, *c2, *t2;

	(void)state;
	generate(&g, 3000);
	for (int tol = 0; tol <= 4; tol += 2) {
		report_of(&g, &c1, &t1, tol);
		for (int k = 0; k < 3; k++) {
			shuffle(&g);
			report_of(&g, &c2, &t2, tol);
			assert_string_equal(c1, c2);
			assert_string_equal(t1, t2);
			free(c2);
			free(t2);
		}
		/* every outcome occurs */
		assert_non_null(strstr(t1, "matched\t"));
		assert_non_null(strstr(t1, "amount_differs\t"));
		assert_non_null(strstr(t1, "missing_in_books\t"));
		assert_non_null(strstr(t1, "missing_at_bank\t"));
		free(c1);
		free(t1);
	}
	free(g.line);
	free(g.books);
	free(g.txn);
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k lines against 100k entries, parsed, matched and reported. */
static void
test_large(void **state)
{
	struct gen g;
	cu_recon_statement *st;
	cu_recon_result *r;
	char *csv, *text;
	size_t len, tlen, pairs = 0;
	double t0;

	(void)state;
	generate(&g, 100000);
	csv = join(&g, &len);
	t0 = seconds();
	assert_int_equal(cu_recon_parse(&st, csv, len, "big.csv"), 0);
	assert_true(st->n >= 100000 * 7 / 8 - 1000);
	r = match_ok(st, g.books, g.nbooks, 3);
	assert_int_equal(cu_recon_report_text(&text, &tlen, r), 0);
	/* sanitizers slow this down about tenfold; without them it is well
	 * under a second */
	if (seconds() - t0 > 20.0)
		fail_msg("100k lines took %.1f s", seconds() - t0);
	/* each line and each entry in exactly one item */
	for (size_t i = 0; i < r->n; i++)
		pairs += r->items[i].bank != NULL && r->items[i].book != NULL;
	assert_int_equal(r->n, st->n + g.nbooks - pairs);
	assert_int_equal(r->sum[CU_RECON_MATCHED].count + r->sum[CU_RECON_AMOUNT_DIFFERS].count, pairs);
	assert_int_equal(r->sum[CU_RECON_MATCHED].bank_credit_fen,
		r->sum[CU_RECON_MATCHED].book_credit_fen);
	free(text);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
	free(csv);
	free(g.line);
	free(g.books);
	free(g.txn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_messages_hide_values),
		cmocka_unit_test(test_match_outcomes),
		cmocka_unit_test(test_returned_payment),
		cmocka_unit_test(test_tolerance),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_totals_limit),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
