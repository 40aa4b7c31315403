/*
 * recon.h — bank-statement reconciliation (GB/T 27768-2011 §6.3): reading a
 * bank statement in CSV, matching its lines against the book entries of one
 * account, and the report.
 *
 * Nothing here touches the archive: the caller reads the statement file,
 * builds the book entries from the effective fund transactions on the
 * account, and archives the report.  The format, the matching rules and the
 * messages are in docs/fund-control.md ("Reconciliation").  Money is
 * integer fen throughout; there is no floating point.
 */
#ifndef CUSTOS_RECON_H
#define CUSTOS_RECON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ---- limits --------------------------------------------------------- */

#define CU_RECON_FILE_MAX      (64u * 1024 * 1024) /* bytes of a statement file */
#define CU_RECON_RECORD_MAX    4096       /* bytes of one CSV record, quoted line breaks too */
#define CU_RECON_LINES_MAX     1000000    /* statement lines after the header */
#define CU_RECON_REFERENCE_MAX 128        /* bytes of UTF-8 */
#define CU_RECON_PARTY_MAX     200        /* bytes of UTF-8 (as CU_NAME_MAX) */
#define CU_RECON_TOLERANCE_DEFAULT 3      /* days */
#define CU_RECON_TOLERANCE_MAX 31

/* The header line a statement must start with (after an optional BOM). */
#define CU_RECON_HEADER "date,amount,direction,reference,counterparty"

/* Direction as seen from the reconciled account. */
enum cu_recon_dir {
	CU_RECON_CREDIT,   /* money into the account ("credit" or 贷) */
	CU_RECON_DEBIT     /* money out of the account ("debit" or 借) */
};

/* NULL-terminated: "credit", "debit". */
extern const char *const cu_recon_dirs[];

/* ---- the statement ---------------------------------------------------- */

typedef struct cu_recon_line {
	size_t line;              /* 1-based line of the file where the record starts */
	int64_t day;              /* date (cu_day_parse) */
	int64_t amount_fen;       /* > 0 */
	int dir;                  /* enum cu_recon_dir */
	const char *reference;    /* "" when the bank gave none */
	const char *counterparty; /* "" when the bank gave none */
} cu_recon_line;

typedef struct cu_recon_statement {
	cu_recon_line *lines;     /* in file order */
	size_t n;
	int64_t credit_fen;       /* totals of the lines */
	int64_t debit_fen;
	char *text;               /* storage of the strings (private) */
} cu_recon_statement;

/* Parses a bank statement (RFC 4180 CSV, see docs/fund-control.md) from
 * buf[0..len); `name` names the file in messages.  The first record must
 * be CU_RECON_HEADER; every other record is one line of five fields.
 * *out is a new statement (cu_recon_statement_free).  On failure *out is
 * NULL, and CU_EINVALID (or CU_ELIMIT for the limits above) with one line
 * "NAME:LINE: COLUMN: reason", e.g. "stmt.csv:7: amount: more than two
 * decimals"; a message never repeats a field's value. */
int cu_recon_parse(cu_recon_statement **out, const char *buf, size_t len, const char *name);

void cu_recon_statement_free(cu_recon_statement *st);

/* ---- the books -------------------------------------------------------- */

/* One effective fund transaction on the reconciled account, as the caller
 * builds it from the archive.  The strings must outlive the result. */
typedef struct cu_recon_entry {
	const char *txn_no;       /* unique among the entries, 1..CU_TXN_NO_MAX bytes */
	int64_t day;              /* the posted day */
	int64_t amount_fen;       /* > 0, at most CU_MONEY_MAX_FEN */
	int dir;                  /* enum cu_recon_dir, as seen from this account */
	const char *counterparty; /* the other account's number, or NULL */
} cu_recon_entry;

/* ---- matching --------------------------------------------------------- */

enum cu_recon_outcome {
	CU_RECON_MATCHED,
	CU_RECON_AMOUNT_DIFFERS,    /* same reference and direction, another amount */
	CU_RECON_MISSING_IN_BOOKS,  /* a bank line with no book entry */
	CU_RECON_MISSING_AT_BANK,   /* a book entry with no bank line */
	CU_RECON_OUTCOME_COUNT
};

/* NULL-terminated, in enum order: "matched", "amount_differs",
 * "missing_in_books", "missing_at_bank". */
extern const char *const cu_recon_outcomes[];

/* How a pair was made. */
enum cu_recon_by {
	CU_RECON_BY_NONE,          /* not a pair */
	CU_RECON_BY_REFERENCE,     /* reference = txn_no */
	CU_RECON_BY_DATE_AMOUNT    /* same direction and amount, dates within the tolerance */
};

typedef struct cu_recon_item {
	int outcome;                 /* enum cu_recon_outcome */
	int by;                      /* enum cu_recon_by */
	const cu_recon_line *bank;   /* NULL for missing_at_bank */
	const cu_recon_entry *book;  /* NULL for missing_in_books */
} cu_recon_item;

typedef struct cu_recon_sum {
	size_t count;
	int64_t bank_credit_fen, bank_debit_fen;  /* the bank lines of these items */
	int64_t book_credit_fen, book_debit_fen;  /* the book entries of these items */
} cu_recon_sum;

typedef struct cu_recon_result {
	cu_recon_item *items;        /* in report order (see docs) */
	size_t n;
	int tolerance_days;
	size_t bank_lines, book_entries;
	cu_recon_sum sum[CU_RECON_OUTCOME_COUNT];
} cu_recon_result;

/* Matches the statement against the book entries as docs/fund-control.md
 * says: first by reference = txn_no, then by direction, amount and a date
 * within tolerance_days (0..CU_RECON_TOLERANCE_MAX).  Each line and each
 * entry appears in exactly one item.  The result points into st and books,
 * which must outlive it; it depends only on the lines' and entries'
 * values, not on their order.  *out is new (cu_recon_result_free).
 * CU_EINVALID ("books: txn_no T-1 given twice", "books: T-1: amount must be
 * more than 0", "tolerance: must be 0-31 days"), CU_ELIMIT when a total
 * would pass CU_CANON_INT_MAX fen. */
int cu_recon_match(cu_recon_result **out, const cu_recon_statement *st,
	const cu_recon_entry *books, size_t nbooks, int tolerance_days);

void cu_recon_result_free(cu_recon_result *r);

/* The number of items that are not matched (the CLI exits 1 when > 0). */
size_t cu_recon_unmatched(const cu_recon_result *r);

/* ---- the report ------------------------------------------------------- */

/* The report as a JSON object (*out, a new reference), the same for the
 * same lines and entries whatever their order, so that its canonical form
 * and digest are stable:
 *   {"type":"reconciliation", "account" (when not NULL), "tolerance_days",
 *    "bank_lines", "book_entries", "unmatched",
 *    "summary":{OUTCOME:{"count","bank_credit_fen","bank_debit_fen",
 *                        "book_credit_fen","book_debit_fen"}, …},
 *    "items":[{"outcome", "by" (pairs only: "reference"|"date_amount"),
 *              "bank":{"date","direction","amount_fen","reference","counterparty"},
 *              "book":{"txn_no","date","direction","amount_fen","counterparty"}}, …]}
 * CU_ERROR when out of memory. */
int cu_recon_report_json(json_t **out, const cu_recon_result *r, const char *account);

/* The text rendering, one line per item in report order:
 *   OUTCOME TAB DATE TAB AMOUNT TAB REFERENCE TAB COUNTERPARTY LF
 * from the bank line (the book entry for missing_at_bank, with its txn_no
 * as the reference); AMOUNT is signed yuan (debits negative, as
 * cu_money_format), "BANK/BOOK" for amount_differs.  Tabs and line breaks
 * in a field print as spaces, and every resident ID number in a field,
 * wherever it stands, has its birth date masked as cu_idno_mask does.
 * *out is a new NUL-terminated buffer of *len bytes; CU_ERROR when out of
 * memory. */
int cu_recon_report_text(char **out, size_t *len, const cu_recon_result *r);

#endif
