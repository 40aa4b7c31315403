/*
 * recon.c — bank-statement reconciliation: the CSV statement, matching
 * against the book entries of one account, and the report (see
 * custos/recon.h, docs/fund-control.md "Reconciliation").
 *
 * The statement is read in one pass over the bytes: fields are unquoted
 * into one block the size of the input (a field never grows when it is
 * unquoted), so the strings of a 100k-line statement cost two allocations
 * that grow only with the input.  Matching sorts arrays of indices and then
 * walks them once; nothing is quadratic.  Amounts are integer fen from
 * cu_money_parse on; there is no floating point.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/recon.h"
#include "custos/record.h"
#include "custos/util.h"

const char *const cu_recon_dirs[] = { "credit", "debit", NULL };
const char *const cu_recon_outcomes[] = {
	"matched", "amount_differs", "missing_in_books", "missing_at_bank", NULL
};

enum { COL_DATE, COL_AMOUNT, COL_DIRECTION, COL_REFERENCE, COL_COUNTERPARTY, NCOL };

static const char *const cols[NCOL] = {
	"date", "amount", "direction", "reference", "counterparty"
};

/* ---- reading the CSV --------------------------------------------------- */

struct csv {
	const char *p, *end;
	const char *name;
	size_t line;        /* line of the file at p */
	char *text;         /* unquoted fields, NUL-terminated, one after another */
	size_t used;
};

struct record {
	size_t line;               /* where the record starts */
	int n;                     /* fields read */
	const char *field[NCOL];
	size_t len[NCOL];
	size_t fline[NCOL];        /* where each field starts */
};

/* Sets "NAME:LINE: COLUMN: reason". */
static int
fail_at(int code, const struct csv *c, size_t line, int col, const char *reason)
{
	if (col < 0)
		return cu_error_set(code, "%s:%zu: %s", c->name, line, reason);
	return cu_error_set(code, "%s:%zu: %s: %s", c->name, line, cols[col], reason);
}

/* Checks the length of the record that started at start. */
static int
record_limit(const struct csv *c, const char *start, size_t line)
{
	if ((size_t)(c->p - start) > CU_RECON_RECORD_MAX)
		return cu_error_set(CU_ELIMIT, "%s:%zu: record longer than %u bytes",
			c->name, line, (unsigned)CU_RECON_RECORD_MAX);
	return 0;
}

/* Reads one field at c->p into c->text (field number col of the record).
 * Stops before the separator or line end that follows it. */
static int
read_field(struct csv *c, struct record *r, const char *start)
{
	int col = r->n;
	char *out = c->text + c->used;
	int error;

	r->field[col] = out;
	r->fline[col] = c->line;
	if (c->p < c->end && *c->p == '"') {
		c->p++;
		for (;;) {
			if ((error = record_limit(c, start, r->line)) < 0)
				return error;
			if (c->p == c->end)
				return fail_at(CU_EINVALID, c, r->fline[col], col,
					"quoted field not closed");
			if (*c->p == '"') {
				if (c->p + 1 < c->end && c->p[1] == '"') {
					*out++ = '"';
					c->p += 2;
					continue;
				}
				c->p++;
				break;
			}
			if (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n') {
				/* a quoted CR LF is kept as LF, as a quoted LF */
				*out++ = '\n';
				c->p += 2;
				c->line++;
				continue;
			}
			if (*c->p == '\n')
				c->line++;
			*out++ = *c->p++;
		}
		if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
			return fail_at(CU_EINVALID, c, r->fline[col], col,
				"text after the closing quote");
	} else {
		while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
			if (*c->p == '"')
				return fail_at(CU_EINVALID, c, r->fline[col], col,
					"quote inside an unquoted field (quote the whole field)");
			*out++ = *c->p++;
		}
		if ((error = record_limit(c, start, r->line)) < 0)
			return error;
	}
	*out++ = '\0';
	r->len[col] = (size_t)(out - r->field[col]) - 1;
	c->used = (size_t)(out - c->text);
	r->n++;
	return 0;
}

/* Reads the record at c->p.  Returns 1 at the end of the input, 0 with
 * r->n fields (0 for an empty line), or an error. */
static int
read_record(struct csv *c, struct record *r)
{
	const char *start = c->p;
	int error;

	r->line = c->line;
	r->n = 0;
	if (c->p == c->end)
		return 1;
	for (;;) {
		if (r->n == NCOL)
			return fail_at(CU_EINVALID, c, r->line, -1,
				"more than 5 fields, expected " CU_RECON_HEADER);
		if (r->n == 0 && (*c->p == '\n' ||
		    (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')))
			break;     /* an empty line */
		if ((error = read_field(c, r, start)) < 0)
			return error;
		if (c->p == c->end)
			return 0;
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		break;
	}
	if (*c->p == '\r') {
		if (c->p + 1 == c->end || c->p[1] != '\n')
			return fail_at(CU_EINVALID, c, c->line, r->n > 0 ? r->n - 1 : -1,
				"carriage return without a line feed");
		c->p++;
	}
	c->p++;     /* the line feed */
	c->line++;
	return 0;
}

/* 1 if the record is the header line. */
static int
is_header(const struct record *r)
{
	if (r->n != NCOL)
		return 0;
	for (int i = 0; i < NCOL; i++)
		if (r->len[i] != strlen(cols[i]) || memcmp(r->field[i], cols[i], r->len[i]) != 0)
			return 0;
	return 1;
}

/* Reason to refuse a reference or counterparty of len bytes, or NULL. */
static const char *
party_problem(const char *s, size_t len, size_t max, int multiline)
{
	const char *problem;

	if ((problem = cu_text_problem(s, len, multiline)) != NULL)
		return problem;
	if (len > max)
		return max == CU_RECON_REFERENCE_MAX ? "longer than 128 bytes"
			: "longer than 200 bytes";
	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return "must not start or end with a space";
	return NULL;
}

/* Adds v to *total, refusing a total the report could not hold. */
static int
add_total(int64_t *total, int64_t v)
{
	if (v < 0 || *total > CU_CANON_INT_MAX - v)
		return -1;
	*total += v;
	return 0;
}

/* Turns one data record into *l. */
static int
take_line(cu_recon_statement *st, const struct csv *c, const struct record *r, cu_recon_line *l)
{
	const char *problem;
	int error;

	if (r->n != NCOL) {
		char reason[96];

		snprintf(reason, sizeof(reason), "%d field%s, expected 5 (" CU_RECON_HEADER ")",
			r->n, r->n == 1 ? "" : "s");
		return fail_at(CU_EINVALID, c, r->line, -1, reason);
	}
	for (int i = 0; i < COL_REFERENCE; i++)
		if ((problem = cu_text_problem(r->field[i], r->len[i], 0)) != NULL)
			return fail_at(CU_EINVALID, c, r->fline[i], i, problem);
	if ((problem = party_problem(r->field[COL_REFERENCE], r->len[COL_REFERENCE],
	    CU_RECON_REFERENCE_MAX, 0)) != NULL)
		return fail_at(CU_EINVALID, c, r->fline[COL_REFERENCE], COL_REFERENCE, problem);
	if ((problem = party_problem(r->field[COL_COUNTERPARTY], r->len[COL_COUNTERPARTY],
	    CU_RECON_PARTY_MAX, 1)) != NULL)
		return fail_at(CU_EINVALID, c, r->fline[COL_COUNTERPARTY], COL_COUNTERPARTY,
			problem);

	l->line = r->line;
	if ((error = cu_day_parse(&l->day, r->field[COL_DATE])) < 0)
		return cu_error_prefix(error, "%s:%zu: date", c->name, r->fline[COL_DATE]);
	if ((error = cu_money_parse(&l->amount_fen, r->field[COL_AMOUNT])) < 0)
		return cu_error_prefix(error, "%s:%zu: amount", c->name, r->fline[COL_AMOUNT]);
	if (l->amount_fen <= 0)
		return fail_at(CU_EINVALID, c, r->fline[COL_AMOUNT], COL_AMOUNT,
			"must be more than 0 (the direction gives the sign)");
	if (strcmp(r->field[COL_DIRECTION], "credit") == 0 ||
	    strcmp(r->field[COL_DIRECTION], "\xe8\xb4\xb7") == 0)         /* 贷 */
		l->dir = CU_RECON_CREDIT;
	else if (strcmp(r->field[COL_DIRECTION], "debit") == 0 ||
	    strcmp(r->field[COL_DIRECTION], "\xe5\x80\x9f") == 0)         /* 借 */
		l->dir = CU_RECON_DEBIT;
	else
		return fail_at(CU_EINVALID, c, r->fline[COL_DIRECTION], COL_DIRECTION,
			"must be credit, debit, \xe8\xb4\xb7 or \xe5\x80\x9f");
	l->reference = r->field[COL_REFERENCE];
	l->counterparty = r->field[COL_COUNTERPARTY];
	if (add_total(l->dir == CU_RECON_CREDIT ? &st->credit_fen : &st->debit_fen,
	    l->amount_fen) < 0)
		return fail_at(CU_ELIMIT, c, r->fline[COL_AMOUNT], COL_AMOUNT,
			"the statement's total passes 90071992547409.91 yuan");
	return 0;
}

/* See recon.h. */
int
cu_recon_parse(cu_recon_statement **out, const char *buf, size_t len, const char *name)
{
	cu_recon_statement *st = NULL;
	struct csv c;
	struct record r;
	size_t cap = 0;
	int error;

	*out = NULL;
	if (len > CU_RECON_FILE_MAX)
		return cu_error_set(CU_ELIMIT, "%s: larger than %u MiB", name,
			(unsigned)(CU_RECON_FILE_MAX >> 20));
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->text = malloc(len + 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	c.p = buf;
	c.end = buf + len;
	c.name = name;
	c.line = 1;
	c.text = st->text;
	c.used = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		c.p += 3;

	if ((error = read_record(&c, &r)) < 0)
		goto done;
	if (error == 1 || !is_header(&r)) {
		error = fail_at(CU_EINVALID, &c, 1, -1, error == 1
			? "header: missing, expected " CU_RECON_HEADER
			: "header: expected " CU_RECON_HEADER);
		goto done;
	}
	while ((error = read_record(&c, &r)) == 0) {
		if (r.n == 0)
			continue;  /* empty lines are skipped */
		if (st->n == CU_RECON_LINES_MAX) {
			error = cu_error_set(CU_ELIMIT, "%s:%zu: more than %u lines", name,
				r.line, (unsigned)CU_RECON_LINES_MAX);
			goto done;
		}
		if ((error = cu_grow(&st->lines, &cap, st->n + 1, sizeof(*st->lines))) < 0)
			goto done;
		if ((error = take_line(st, &c, &r, &st->lines[st->n])) < 0)
			goto done;
		st->n++;
	}
	if (error < 0)
		goto done;
	error = 0;
	*out = st;
	st = NULL;
done:
	cu_recon_statement_free(st);
	return error;
}

void
cu_recon_statement_free(cu_recon_statement *st)
{
	if (st == NULL)
		return;
	free(st->lines);
	free(st->text);
	free(st);
}

/* ---- matching ---------------------------------------------------------- */

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static const char *
party(const char *s)
{
	return s != NULL ? s : "";
}

/* Bank lines by (date, direction, amount, reference, counterparty). */
static int
cmp_line(const cu_recon_line *a, const cu_recon_line *b)
{
	int d;

	if ((d = cmp_i64(a->day, b->day)) != 0 || (d = a->dir - b->dir) != 0 ||
	    (d = cmp_i64(a->amount_fen, b->amount_fen)) != 0 ||
	    (d = strcmp(a->reference, b->reference)) != 0)
		return d;
	return strcmp(a->counterparty, b->counterparty);
}

/* Bank lines by (direction, amount, date, reference, counterparty): the
 * order of the date-and-amount pass. */
static int
cmp_line_group(const cu_recon_line *a, const cu_recon_line *b)
{
	int d;

	if ((d = a->dir - b->dir) != 0 || (d = cmp_i64(a->amount_fen, b->amount_fen)) != 0)
		return d;
	return cmp_line(a, b);
}

/* Book entries by (direction, amount, date, txn_no). */
static int
cmp_entry_group(const cu_recon_entry *a, const cu_recon_entry *b)
{
	int d;

	if ((d = a->dir - b->dir) != 0 || (d = cmp_i64(a->amount_fen, b->amount_fen)) != 0 ||
	    (d = cmp_i64(a->day, b->day)) != 0)
		return d;
	return strcmp(a->txn_no, b->txn_no);
}

/* qsort_r is not in C11; the arrays sorted are arrays of pointers. */
static int
qs_line(const void *a, const void *b)
{
	return cmp_line(*(const cu_recon_line *const *)a, *(const cu_recon_line *const *)b);
}

static int
qs_line_group(const void *a, const void *b)
{
	return cmp_line_group(*(const cu_recon_line *const *)a, *(const cu_recon_line *const *)b);
}

static int
qs_entry_txn(const void *a, const void *b)
{
	return strcmp((*(const cu_recon_entry *const *)a)->txn_no,
		(*(const cu_recon_entry *const *)b)->txn_no);
}

static int
qs_entry_group(const void *a, const void *b)
{
	return cmp_entry_group(*(const cu_recon_entry *const *)a,
		*(const cu_recon_entry *const *)b);
}

/* The side of an item that orders it: its bank line, else its entry. */
static void
item_key(const cu_recon_item *it, int64_t *day, int *dir, int64_t *fen, const char **ref,
	const char **cp)
{
	if (it->bank != NULL) {
		*day = it->bank->day;
		*dir = it->bank->dir;
		*fen = it->bank->amount_fen;
		*ref = it->bank->reference;
		*cp = it->bank->counterparty;
	} else {
		*day = it->book->day;
		*dir = it->book->dir;
		*fen = it->book->amount_fen;
		*ref = it->book->txn_no;
		*cp = party(it->book->counterparty);
	}
}

/* Report order: by (date, direction, amount, reference, counterparty) of
 * the bank line, or of the entry for missing_at_bank (txn_no as the
 * reference); a bank line before an entry alone; then the entry's txn_no
 * (an item without an entry first). */
static int
qs_item(const void *pa, const void *pb)
{
	const cu_recon_item *a = pa, *b = pb;
	const char *ar, *ac, *br, *bc;
	int64_t ad, af, bd, bf;
	int adir, bdir, d;

	item_key(a, &ad, &adir, &af, &ar, &ac);
	item_key(b, &bd, &bdir, &bf, &br, &bc);
	if ((d = cmp_i64(ad, bd)) != 0 || (d = adir - bdir) != 0 ||
	    (d = cmp_i64(af, bf)) != 0 || (d = strcmp(ar, br)) != 0 ||
	    (d = strcmp(ac, bc)) != 0)
		return d;
	if ((a->bank == NULL) != (b->bank == NULL))
		return a->bank == NULL ? 1 : -1;
	if ((a->book == NULL) != (b->book == NULL))
		return a->book == NULL ? -1 : 1;
	if (a->book != NULL && (d = strcmp(a->book->txn_no, b->book->txn_no)) != 0)
		return d;
	return a->outcome - b->outcome;
}

/* Checks the entries and their totals. */
static int
check_books(const cu_recon_entry *books, size_t nbooks)
{
	int64_t lo = cu_civil_days(1900, 1, 1), hi = cu_civil_days(9999, 12, 31);
	int64_t credit = 0, debit = 0;

	for (size_t i = 0; i < nbooks; i++) {
		const cu_recon_entry *e = &books[i];
		size_t n = e->txn_no != NULL ? strnlen(e->txn_no, CU_TXN_NO_MAX + 1) : 0;

		if (n == 0 || n > CU_TXN_NO_MAX)
			return cu_error_set(CU_EINVALID,
				"books: entry %zu: txn_no must be 1-%d bytes", i + 1, CU_TXN_NO_MAX);
		if (e->amount_fen <= 0 || e->amount_fen > CU_MONEY_MAX_FEN)
			return cu_error_set(CU_EINVALID,
				"books: %s: amount must be more than 0 and at most %lld fen",
				e->txn_no, (long long)CU_MONEY_MAX_FEN);
		if (e->dir != CU_RECON_CREDIT && e->dir != CU_RECON_DEBIT)
			return cu_error_set(CU_EINVALID,
				"books: %s: direction must be credit or debit", e->txn_no);
		if (e->day < lo || e->day > hi)
			return cu_error_set(CU_EINVALID, "books: %s: date must be in 1900-9999",
				e->txn_no);
		if (add_total(e->dir == CU_RECON_CREDIT ? &credit : &debit, e->amount_fen) < 0)
			return cu_error_set(CU_ELIMIT,
				"books: the total passes 90071992547409.91 yuan");
	}
	return 0;
}

/* Appends an item and counts it. */
static void
add_item(cu_recon_result *r, int outcome, int by, const cu_recon_line *bank,
	const cu_recon_entry *book)
{
	cu_recon_item *it = &r->items[r->n++];
	cu_recon_sum *s = &r->sum[outcome];

	it->outcome = outcome;
	it->by = by;
	it->bank = bank;
	it->book = book;
	s->count++;
	/* no overflow: each side's total was checked against CU_CANON_INT_MAX */
	if (bank != NULL)
		*(bank->dir == CU_RECON_CREDIT ? &s->bank_credit_fen : &s->bank_debit_fen) +=
			bank->amount_fen;
	if (book != NULL)
		*(book->dir == CU_RECON_CREDIT ? &s->book_credit_fen : &s->book_debit_fen) +=
			book->amount_fen;
}

/* Index of a line or entry in its array. */
#define LINE_AT(st, l)     ((size_t)((l) - (st)->lines))
#define ENTRY_AT(books, e) ((size_t)((e) - (books)))

/* See recon.h. */
int
cu_recon_match(cu_recon_result **out, const cu_recon_statement *st,
	const cu_recon_entry *books, size_t nbooks, int tolerance_days)
{
	const cu_recon_line **bl = NULL, **cand = NULL;
	const cu_recon_entry **byno = NULL, **kcand = NULL;
	const cu_recon_entry **partner = NULL;   /* per line: its reference partner */
	unsigned char *line_done = NULL, *entry_done = NULL;
	cu_recon_result *r = NULL;
	size_t nb = st->n, nc, nk, j;
	int error;

	*out = NULL;
	if (tolerance_days < 0 || tolerance_days > CU_RECON_TOLERANCE_MAX)
		return cu_error_set(CU_EINVALID, "tolerance: must be 0-%d days",
			CU_RECON_TOLERANCE_MAX);
	if ((error = check_books(books, nbooks)) < 0)
		return error;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->items = calloc(nb + nbooks + 1, sizeof(*r->items))) == NULL ||
	    (bl = calloc(nb + 1, sizeof(*bl))) == NULL ||
	    (cand = calloc(nb + 1, sizeof(*cand))) == NULL ||
	    (partner = calloc(nb + 1, sizeof(*partner))) == NULL ||
	    (byno = calloc(nbooks + 1, sizeof(*byno))) == NULL ||
	    (kcand = calloc(nbooks + 1, sizeof(*kcand))) == NULL ||
	    (line_done = calloc(nb + 1, 1)) == NULL ||
	    (entry_done = calloc(nbooks + 1, 1)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	r->tolerance_days = tolerance_days;
	r->bank_lines = nb;
	r->book_entries = nbooks;

	for (size_t i = 0; i < nb; i++)
		bl[i] = &st->lines[i];
	qsort(bl, nb, sizeof(*bl), qs_line);
	for (size_t i = 0; i < nbooks; i++)
		byno[i] = &books[i];
	qsort(byno, nbooks, sizeof(*byno), qs_entry_txn);
	for (size_t i = 1; i < nbooks; i++)
		if (strcmp(byno[i - 1]->txn_no, byno[i]->txn_no) == 0) {
			error = cu_error_set(CU_EINVALID, "books: txn_no %s given twice",
				byno[i]->txn_no);
			goto done;
		}

	/* Pass 1: reference = txn_no, same direction.  Equal amounts first,
	 * so that of two bank lines with one reference the one that agrees
	 * with the books is the match. */
	for (size_t i = 0; i < nb; i++) {
		const cu_recon_entry key = { .txn_no = bl[i]->reference }, *kp = &key, **hit;

		if (bl[i]->reference[0] == '\0')
			continue;
		hit = bsearch(&kp, byno, nbooks, sizeof(*byno), qs_entry_txn);
		if (hit != NULL && (*hit)->dir == bl[i]->dir)
			partner[LINE_AT(st, bl[i])] = *hit;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < nb; i++) {
			size_t li = LINE_AT(st, bl[i]);
			const cu_recon_entry *e = partner[li];

			if (e == NULL || line_done[li] || entry_done[ENTRY_AT(books, e)])
				continue;
			if (pass == 0 && e->amount_fen != bl[i]->amount_fen)
				continue;
			line_done[li] = entry_done[ENTRY_AT(books, e)] = 1;
			add_item(r, pass == 0 ? CU_RECON_MATCHED : CU_RECON_AMOUNT_DIFFERS,
				CU_RECON_BY_REFERENCE, bl[i], e);
		}

	/* Pass 2: the lines without a reference partner and the entries left,
	 * by direction and amount, dates within the tolerance.  Both sides in
	 * (direction, amount, date, …) order; each line takes the earliest
	 * entry left in its window, which pairs as many as can be paired. */
	nc = 0;
	for (size_t i = 0; i < nb; i++)
		if (partner[LINE_AT(st, bl[i])] == NULL)
			cand[nc++] = bl[i];
	qsort(cand, nc, sizeof(*cand), qs_line_group);
	nk = 0;
	for (size_t i = 0; i < nbooks; i++)
		if (!entry_done[i])
			kcand[nk++] = &books[i];
	qsort(kcand, nk, sizeof(*kcand), qs_entry_group);
	j = 0;
	for (size_t i = 0; i < nc; i++) {
		const cu_recon_line *l = cand[i];
		int64_t lo = l->day - tolerance_days, hi = l->day + tolerance_days;

		while (j < nk && (kcand[j]->dir < l->dir ||
		    (kcand[j]->dir == l->dir && (kcand[j]->amount_fen < l->amount_fen ||
		    (kcand[j]->amount_fen == l->amount_fen && kcand[j]->day < lo)))))
			j++;
		if (j < nk && kcand[j]->dir == l->dir && kcand[j]->amount_fen == l->amount_fen &&
		    kcand[j]->day <= hi) {
			line_done[LINE_AT(st, l)] = entry_done[ENTRY_AT(books, kcand[j])] = 1;
			add_item(r, CU_RECON_MATCHED, CU_RECON_BY_DATE_AMOUNT, l, kcand[j]);
			j++;
		}
	}

	/* What is left on either side. */
	for (size_t i = 0; i < nb; i++)
		if (!line_done[i])
			add_item(r, CU_RECON_MISSING_IN_BOOKS, CU_RECON_BY_NONE, &st->lines[i],
				NULL);
	for (size_t i = 0; i < nbooks; i++)
		if (!entry_done[i])
			add_item(r, CU_RECON_MISSING_AT_BANK, CU_RECON_BY_NONE, NULL, &books[i]);
	qsort(r->items, r->n, sizeof(*r->items), qs_item);
	*out = r;
	r = NULL;
	error = 0;
done:
	cu_recon_result_free(r);
	free(bl);
	free(cand);
	free(partner);
	free(byno);
	free(kcand);
	free(line_done);
	free(entry_done);
	return error;
}

void
cu_recon_result_free(cu_recon_result *r)
{
	if (r == NULL)
		return;
	free(r->items);
	free(r);
}

/* See recon.h. */
size_t
cu_recon_unmatched(const cu_recon_result *r)
{
	return r->n - r->sum[CU_RECON_MATCHED].count;
}

/* ---- the report -------------------------------------------------------- */

/* obj[key] = v (stolen); -1 when v is NULL or out of memory. */
static int
put(json_t *obj, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(obj, key, v);
}

static json_t *
day_json(int64_t day)
{
	char buf[11];

	cu_day_format(buf, day);
	return json_string(buf);
}

static json_t *
bank_json(const cu_recon_line *l)
{
	json_t *o = json_object();

	if (o == NULL || put(o, "date", day_json(l->day)) < 0 ||
	    put(o, "direction", json_string(cu_recon_dirs[l->dir])) < 0 ||
	    put(o, "amount_fen", json_integer(l->amount_fen)) < 0 ||
	    put(o, "reference", json_string(l->reference)) < 0 ||
	    put(o, "counterparty", json_string(l->counterparty)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
book_json(const cu_recon_entry *e)
{
	json_t *o = json_object();

	if (o == NULL || put(o, "txn_no", json_string(e->txn_no)) < 0 ||
	    put(o, "date", day_json(e->day)) < 0 ||
	    put(o, "direction", json_string(cu_recon_dirs[e->dir])) < 0 ||
	    put(o, "amount_fen", json_integer(e->amount_fen)) < 0 ||
	    put(o, "counterparty", json_string(party(e->counterparty))) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
sum_json(const cu_recon_sum *s)
{
	json_t *o = json_object();

	if (o == NULL || put(o, "count", json_integer((json_int_t)s->count)) < 0 ||
	    put(o, "bank_credit_fen", json_integer(s->bank_credit_fen)) < 0 ||
	    put(o, "bank_debit_fen", json_integer(s->bank_debit_fen)) < 0 ||
	    put(o, "book_credit_fen", json_integer(s->book_credit_fen)) < 0 ||
	    put(o, "book_debit_fen", json_integer(s->book_debit_fen)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *const bys[] = { "", "reference", "date_amount" };

/* See recon.h. */
int
cu_recon_report_json(json_t **out, const cu_recon_result *r, const char *account)
{
	json_t *o = json_object(), *summary = json_object(), *items = json_array();

	*out = NULL;
	if (o == NULL || summary == NULL || items == NULL)
		goto oom;
	for (int i = 0; i < CU_RECON_OUTCOME_COUNT; i++)
		if (put(summary, cu_recon_outcomes[i], sum_json(&r->sum[i])) < 0)
			goto oom;
	for (size_t i = 0; i < r->n; i++) {
		const cu_recon_item *it = &r->items[i];
		json_t *item = json_object();

		if (item == NULL || json_array_append_new(items, item) < 0)
			goto oom;
		if (put(item, "outcome", json_string(cu_recon_outcomes[it->outcome])) < 0 ||
		    (it->by != CU_RECON_BY_NONE && put(item, "by", json_string(bys[it->by])) < 0) ||
		    (it->bank != NULL && put(item, "bank", bank_json(it->bank)) < 0) ||
		    (it->book != NULL && put(item, "book", book_json(it->book)) < 0))
			goto oom;
	}
	if (put(o, "type", json_string("reconciliation")) < 0 ||
	    (account != NULL && put(o, "account", json_string(account)) < 0) ||
	    put(o, "tolerance_days", json_integer(r->tolerance_days)) < 0 ||
	    put(o, "bank_lines", json_integer((json_int_t)r->bank_lines)) < 0 ||
	    put(o, "book_entries", json_integer((json_int_t)r->book_entries)) < 0 ||
	    put(o, "unmatched", json_integer((json_int_t)cu_recon_unmatched(r))) < 0)
		goto oom;
	if (json_object_set(o, "summary", summary) < 0 || json_object_set(o, "items", items) < 0)
		goto oom;
	json_decref(summary);
	json_decref(items);
	*out = o;
	return 0;
oom:
	json_decref(o);
	json_decref(summary);
	json_decref(items);
	return cu_error_set(CU_ERROR, "out of memory");
}

/* 1 if s[0..18) has the shape of a resident ID number and its check
 * character is right. */
static int
looks_like_idno(const char *s)
{
	char id[19];

	for (int i = 0; i < 17; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (!((s[17] >= '0' && s[17] <= '9') || s[17] == 'X' || s[17] == 'x'))
		return 0;
	memcpy(id, s, 18);
	id[18] = '\0';
	return cu_idno_check(id) == 0;
}

/* Writes a field for the text rendering: tabs and line breaks as spaces,
 * and the birth date of every resident ID number in it masked as
 * cu_idno_mask does (characters 7-14 of any 18 that form a valid number,
 * also inside a longer run of digits, so that none is left in clear). */
static void
put_field(FILE *f, const char *s)
{
	size_t n = strlen(s), masked_end = 0;

	for (size_t k = 0; k < n; k++) {
		/* the number starting 6 before k hides k .. k + 7 */
		if (k >= 6 && k - 6 + 18 <= n && looks_like_idno(s + k - 6))
			masked_end = k + 8;
		if (k < masked_end)
			fputc('*', f);
		else
			fputc(s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ? ' ' : s[k], f);
	}
}

/* See recon.h. */
int
cu_recon_report_text(char **out, size_t *len, const cu_recon_result *r)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	*len = 0;
	if ((f = open_memstream(&buf, &n)) == NULL)
		return cu_error_sys("open_memstream");
	for (size_t i = 0; i < r->n; i++) {
		const cu_recon_item *it = &r->items[i];
		char date[11], bank[24] = "", book[24] = "";
		const char *ref, *cp;
		int64_t day;

		if (it->bank != NULL) {
			day = it->bank->day;
			ref = it->bank->reference;
			cp = it->bank->counterparty;
			cu_money_format(bank, sizeof(bank), it->bank->dir == CU_RECON_DEBIT
				? -it->bank->amount_fen : it->bank->amount_fen);
		} else {
			day = it->book->day;
			ref = it->book->txn_no;
			cp = party(it->book->counterparty);
		}
		if (it->book != NULL)
			cu_money_format(book, sizeof(book), it->book->dir == CU_RECON_DEBIT
				? -it->book->amount_fen : it->book->amount_fen);
		cu_day_format(date, day);
		fprintf(f, "%s\t%s\t", cu_recon_outcomes[it->outcome], date);
		if (it->outcome == CU_RECON_AMOUNT_DIFFERS)
			fprintf(f, "%s/%s", bank, book);
		else
			fputs(it->bank != NULL ? bank : book, f);
		fputc('\t', f);
		put_field(f, ref);
		fputc('\t', f);
		put_field(f, cp);
		fputc('\n', f);
	}
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return cu_error_set(CU_ERROR, "out of memory");
	}
	if (fclose(f) != 0) {
		free(buf);
		return cu_error_sys("writing the report");
	}
	*out = buf;
	*len = n;
	return 0;
}
