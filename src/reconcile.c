/* reconcile.c — a bank statement against the effective fund transactions
 * on one account (recon.h does the matching); the statement kept as a
 * content object and the report archived as a record in the log (see
 * cu_archive_reconcile in custos/archive.h, docs/fund-control.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/archive.h"
#include "custos/cas.h"
#include "custos/error.h"
#include "custos/fund.h"
#include "custos/index.h"
#include "custos/recon.h"
#include "custos/record.h"
#include "custos/util.h"
#include "archive_int.h"

struct books {
	cu_archive *a;
	cu_index_txn *t;
	const char *account;
	cu_recon_entry *e;
	size_t n, cap;
	json_t *docs;              /* keeps the strings the entries point into */
};

/* Each effective transaction (allowed, or approved in review) that moves
 * money into or out of the account is one book entry. */
static int
book_one(const void *key, size_t klen, const void *val, size_t vlen, void *payload)
{
	struct books *b = payload;
	json_t *mark = NULL, *doc = NULL;
	const json_t *txn;
	cu_fund_txn v;
	char id_hex[65];
	int error = 0, dir;

	if (klen != 32)
		return 0;
	if ((mark = json_loadb(val, vlen, 0, NULL)) == NULL)
		return cu_error_set(CU_EINVALID, "index: malformed decision mark");
	if (arc_jstr(mark, "state") == NULL || strcmp(arc_jstr(mark, "state"), "effective") != 0)
		goto done;
	cu_hex(id_hex, key, 32);
	if ((error = arc_load_record(&doc, b->a, id_hex)) < 0)
		goto done;
	txn = json_object_get(doc, "fund_txn");
	if ((error = cu_fund_view(&v, txn)) < 0)
		goto done;
	if (v.amount_fen <= 0)
		goto done;
	if (v.to.present && v.to.no && strcmp(v.to.no, b->account) == 0)
		dir = CU_RECON_CREDIT;
	else if (v.from.present && v.from.no && strcmp(v.from.no, b->account) == 0)
		dir = CU_RECON_DEBIT;
	else
		goto done;
	if ((error = cu_grow(&b->e, &b->cap, b->n + 1, sizeof(*b->e))) < 0)
		goto done;
	/* the view points into txn, which docs keeps alive */
	if (json_array_append(b->docs, doc) < 0) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	b->e[b->n++] = (cu_recon_entry){ v.txn_no, v.posted_day, v.amount_fen, dir,
		dir == CU_RECON_CREDIT ? (v.from.present ? v.from.no : NULL)
				       : (v.to.present ? v.to.no : NULL) };
done:
	json_decref(doc);
	json_decref(mark);
	return error;
}

int
cu_archive_reconcile(cu_archive *a, const char *statement, const char *account, int tolerance,
	json_t **report, char **text, char event_id[65])
{
	struct books b = { .a = a, .account = account };
	cu_recon_statement *st = NULL;
	cu_recon_result *r = NULL;
	char *buf = NULL, now[32], dig[80], hex[65];
	unsigned char digest[32];
	size_t len = 0, tlen;
	json_t *rep = NULL, *ev = NULL;
	cu_index_txn *t = NULL;
	int error;

	*report = NULL;
	*text = NULL;
	event_id[0] = '\0';
	if (a->mode != CU_ARCHIVE_WRITE)
		return cu_error_set(CU_EINVALID, "reconcile needs the archive opened for writing");
	if (account == NULL || account[0] == '\0' || strlen(account) > 64 ||
	    cu_text_problem(account, strlen(account), 0) != NULL)
		return cu_error_set(CU_EINVALID, "--account: an account number of 1-64 characters");
	if ((error = cu_read_file(&buf, &len, statement, CU_RECON_FILE_MAX)) < 0 ||
	    (error = cu_recon_parse(&st, buf, len, statement)) < 0)
		goto done;
	if ((b.docs = json_array()) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	if ((error = cu_index_begin(&b.t, a->ix, 0)) < 0)
		goto done;
	error = cu_index_fstate_scan(b.t, CU_FSTATE_DECISION, NULL, 0, book_one, &b);
	cu_index_abort(b.t);
	if (error < 0)
		goto done;
	if ((error = cu_recon_match(&r, st, b.e, b.n, tolerance)) < 0 ||
	    (error = cu_recon_report_json(&rep, r, account)) < 0 ||
	    (error = cu_recon_report_text(text, &tlen, r)) < 0)
		goto done;

	/* the statement is evidence: kept as it came, named by its digest */
	if ((error = cu_sha256(digest, buf, len)) < 0 ||
	    (error = cu_cas_put_loose(a->cas, digest, buf, len)) < 0)
		goto done;
	cu_hex(hex, digest, 32);
	snprintf(dig, sizeof(dig), "sha256:%s", hex);
	/* the report is a record in the log, with the statement it judged */
	cu_now_rfc3339(now);
	if ((error = cu_index_begin(&t, a->ix, 1)) < 0)
		goto done;
	if ((ev = arc_new_event(a, "reconciliation", "reconcile", now)) == NULL) {
		error = cu_error_set(CU_ERROR, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "account", json_string(account));
	json_object_set_new(ev, "statement", json_pack("{s:s, s:s, s:I}", "source", statement,
		"digest", dig, "size", (json_int_t)len));
	json_object_set(ev, "report", rep);
	{
		char subject[200];
		snprintf(subject, sizeof(subject), "reconcile: %zu bank line%s, %zu book entr%s, "
			"%zu unmatched", r->bank_lines, r->bank_lines == 1 ? "" : "s", r->book_entries,
			r->book_entries == 1 ? "y" : "ies", cu_recon_unmatched(r));
		error = arc_commit_event(a, t, ev, subject, event_id);
		t = NULL;
	}
	if (error < 0)
		goto done;
	*report = rep;
	rep = NULL;
done:
	if (t)
		cu_index_abort(t);
	if (error < 0) {
		free(*text);
		*text = NULL;
		event_id[0] = '\0';
	}
	json_decref(ev);
	json_decref(rep);
	json_decref(b.docs);
	free(b.e);
	cu_recon_result_free(r);
	cu_recon_statement_free(st);
	free(buf);
	return error;
}
