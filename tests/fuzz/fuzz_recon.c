/*
 * fuzz_recon.c — libFuzzer target for bank statements (src/recon.c): every
 * input is parsed as a statement and, when it parses, matched against book
 * entries made from its own lines and reported.
 *
 * Properties checked (an abort() is a finding):
 *   - a refused statement leaves no statement, and its message starts with
 *     the file name and names no more than one line;
 *   - a parsed statement's lines have amounts in 1..CU_MONEY_MAX_FEN and
 *     totals that add up;
 *   - matched against entries made from its own lines (every other line,
 *     with txn_no = its reference when it has one, else a made-up one),
 *     every line and entry appears in exactly one item, each pair agrees
 *     on direction, and a pair by date and amount agrees on the amount;
 *   - the JSON report is canonical-serialisable, and the same after the
 *     lines are matched in reverse order;
 *   - the text rendering has one line per item and never a resident ID
 *     number from a line in clear.
 *
 * Build with `make fuzz`; tests/fuzz/replay.c runs the corpus
 * (tests/fuzz/corpus/recon) in make check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/canon.h"
#include "custos/error.h"
#include "custos/recon.h"
#include "custos/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Books from every other line, in the order given (reverse when rev). */
static cu_recon_entry *
books_of(const cu_recon_statement *st, char (*names)[24], size_t *n, int rev)
{
	cu_recon_entry *b = calloc(st->n + 1, sizeof(*b));

	if (b == NULL)
		abort();
	*n = 0;
	for (size_t k = 0; k < st->n; k++) {
		size_t i = rev ? st->n - 1 - k : k;
		const cu_recon_line *l = &st->lines[i];

		if (i % 2 != 0)
			continue;
		snprintf(names[i], 24, "made-%u", (unsigned)(i % 10000000u));
		b[(*n)++] = (cu_recon_entry){
			l->reference[0] != '\0' && strlen(l->reference) <= 64 &&
			    (i == 0 || strcmp(l->reference, st->lines[i - 1].reference) != 0)
			    ? l->reference : names[i],
			l->day + (int64_t)(i % 5) - 2, l->amount_fen + (int64_t)(i % 3 == 0),
			l->dir, l->counterparty };
	}
	return b;
}

/* The canonical report; checks the items' invariants. */
static char *
report(const cu_recon_statement *st, const cu_recon_entry *b, size_t nb)
{
	cu_recon_result *r = NULL;
	json_t *j = NULL;
	char *canon = NULL, *text = NULL;
	size_t clen, tlen, lines = 0, pairs = 0;

	if (cu_recon_match(&r, st, b, nb, CU_RECON_TOLERANCE_DEFAULT) != 0) {
		/* only a reference used twice or a day out of range can fail */
		if (cu_error_code() != CU_EINVALID)
			abort();
		return NULL;
	}
	for (size_t i = 0; i < r->n; i++) {
		const cu_recon_item *it = &r->items[i];

		if (it->bank != NULL && it->book != NULL) {
			pairs++;
			if (it->bank->dir != it->book->dir)
				abort();
			if (it->by == CU_RECON_BY_DATE_AMOUNT &&
			    it->bank->amount_fen != it->book->amount_fen)
				abort();
			if ((it->outcome == CU_RECON_MATCHED) !=
			    (it->bank->amount_fen == it->book->amount_fen))
				abort();
		} else if (it->by != CU_RECON_BY_NONE) {
			abort();
		}
	}
	if (r->n != st->n + nb - pairs)
		abort();
	if (cu_recon_report_json(&j, r, "ACC") != 0 || cu_canon(&canon, &clen, j) != 0 ||
	    cu_recon_report_text(&text, &tlen, r) != 0)
		abort();
	for (size_t i = 0; i < tlen; i++)
		lines += text[i] == '\n';
	if (lines != r->n)
		abort();
	for (size_t i = 0; i < st->n; i++) {
		const char *s[2] = { st->lines[i].reference, st->lines[i].counterparty };

		for (int k = 0; k < 2; k++)
			for (const char *p = s[k]; strlen(p) >= 18; p++) {
				char id[19];

				memcpy(id, p, 18);
				id[18] = '\0';
				if (cu_idno_check(id) == 0 && strstr(text, id) != NULL)
					abort();
			}
	}
	free(text);
	json_decref(j);
	cu_recon_result_free(r);
	return canon;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cu_recon_statement *st = NULL;
	cu_recon_entry *b1, *b2;
	char (*names)[24], *c1, *c2;
	int64_t credit = 0, debit = 0;
	size_t n1, n2;

	if (cu_recon_parse(&st, (const char *)data, size, "f.csv") != 0) {
		if (st != NULL || strncmp(cu_error_last(), "f.csv:", 6) != 0 ||
		    strchr(cu_error_last(), '\n') != NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < st->n; i++) {
		const cu_recon_line *l = &st->lines[i];

		if (l->amount_fen <= 0 || l->amount_fen > CU_MONEY_MAX_FEN)
			abort();
		*(l->dir == CU_RECON_CREDIT ? &credit : &debit) += l->amount_fen;
	}
	if (credit != st->credit_fen || debit != st->debit_fen)
		abort();
	if ((names = calloc(st->n + 1, sizeof(*names))) == NULL)
		abort();
	b1 = books_of(st, names, &n1, 0);
	b2 = books_of(st, names, &n2, 1);
	c1 = report(st, b1, n1);
	c2 = report(st, b2, n2);
	if ((c1 == NULL) != (c2 == NULL) || (c1 != NULL && strcmp(c1, c2) != 0))
		abort();
	free(c1);
	free(c2);
	free(b1);
	free(b2);
	free(names);
	cu_recon_statement_free(st);
	return 0;
}
