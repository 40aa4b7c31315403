/*
 * report.h — the internal-control audit report (GB/T 27768-2011 §6.3):
 * a report MODEL (a JSON object that the command gathering the data from
 * the archive builds) rendered as one self-contained HTML5 file, or written
 * as canonical JSON.
 *
 * Nothing here reads the archive: these are pure functions over the model,
 * like record.h.  The same model always gives the same bytes.  The model,
 * the HTML's contents and the messages are in docs/fund-control.md, "Audit
 * report".
 *
 * The model (every member required unless marked optional; unknown members
 * are refused at every level; strings valid UTF-8 without control
 * characters; numbers integers only — money is integer fen):
 *
 *   format        1
 *   period        {from, to}: days "YYYY-MM-DD", from <= to, at most
 *                 CU_REPORT_MAX_MONTHS calendar months from the month of
 *                 from to the month of to
 *   archive       the archive's name (fonds), 1-200 bytes
 *   policy        the policy digest, 64 lower-case hex digits
 *   generated_at  RFC 3339 date-time with seconds and an offset
 *   rules         [{id, title, severity}]: the rules the decisions name, for
 *                 their titles; id as a policy rule id (1-16 of A-Z 0-9 -),
 *                 unique; title 1-200 bytes; severity deny, review, note or
 *                 finding
 *   decisions     [{month, rule, deny, review, note}]: findings per rule and
 *                 month; month "YYYY-MM" inside the period; rule a rule id
 *                 (listed in rules or not); counts 0-CU_REPORT_MAX_COUNT;
 *                 each (month, rule) once
 *   queue         {items, histogram}: the review queue at generated_at
 *     items       [{ref, age_days, rules}]: ref 1-200 bytes; age_days
 *                 0-100000; rules a non-empty list of rule ids
 *     histogram   [{min_days[, max_days], count}]: buckets in order, the
 *                 first from 0, each next one from the last max_days + 1,
 *                 only the last one open (no max_days); count = the items
 *                 whose age_days falls in the bucket (checked)
 *   denied        [{ref, posted_at, maker, rules[, txn_no][, kind]
 *                 [, amount_fen]}]: denied attempts; posted_at RFC 3339;
 *                 maker and txn_no 1-64 bytes; amount_fen 0-CU_MONEY_MAX_FEN
 *                 (absent for kinds that move no money); kind 1-32 bytes
 *   makers        [{maker, deny, review, note}]: findings of transactions
 *                 each maker made; maker unique
 *   reconciliation [{statement, account, matched, missing_in_books,
 *                 missing_at_bank, amount_differs}]: per bank statement;
 *                 statement and account 1-64 bytes; each category
 *                 {count, fen}: count 0-CU_REPORT_MAX_COUNT, fen 0-2^53-1
 *                 (for amount_differs the sum of |bank - books|)
 *   closes        optional [{period, at, findings: [{rule, message}]}]: the
 *                 period closes run in the period; period YYYY-MM, at 1-40
 *                 bytes, rule a rule id, message 1-400 bytes
 *
 * Identifiers shown in the HTML (refs, makers, transaction numbers,
 * statements, accounts) have every run of 15 or more digits (an X may end
 * it) shown as its first 6 and last 4 characters, as in policy decisions.
 */
#ifndef CUSTOS_REPORT_H
#define CUSTOS_REPORT_H

#include <stddef.h>
#include <jansson.h>

#define CU_REPORT_FORMAT      1
#define CU_REPORT_MAX_MONTHS  120
#define CU_REPORT_MAX_COUNT   1000000000LL   /* per count in the model */
#define CU_REPORT_MAX_ROWS    100000         /* per list in the model */

/* 0 if model is a well-formed report model (above), else CU_EINVALID with
 * "FIELD: reason" naming the member by its dotted path, e.g.
 * "decisions[3].deny: must be an integer 0-1000000000",
 * "queue.histogram[1].count: 2 items fall in this bucket, not 3",
 * "period.to: before period.from"; CU_ELIMIT for a list longer than
 * CU_REPORT_MAX_ROWS or a period longer than CU_REPORT_MAX_MONTHS. */
int cu_report_validate(const json_t *model);

/* Renders a valid model as one self-contained HTML5 document (UTF-8; inline
 * CSS with an A4 print layout; inline SVG charts of decisions per month,
 * findings per rule, the queue's age histogram and reconciliation; no
 * script, no external reference) into a new NUL-terminated buffer (*out,
 * *len; caller frees).  Validates first (errors as cu_report_validate). */
int cu_report_html(char **out, size_t *len, const json_t *model);

/* The JSON form: the validated model itself, canonical (cu_canon), with a
 * final newline, into a new buffer (*out, *len; caller frees). */
int cu_report_json(char **out, size_t *len, const json_t *model);

/* Writes the report to path durably (cu_write_file_durable, mode 0644):
 * HTML when path ends in ".html" or ".htm", JSON when it ends in ".json",
 * else CU_EINVALID "PATH: the report file must end in .html or .json".
 * With exclusive set, CU_EEXISTS if path exists.  A model that is not
 * valid fails as in cu_report_validate (the caller names where the model
 * came from) and nothing is written. */
int cu_report_write(const char *path, const json_t *model, int exclusive);

/* The standard age histogram of queue items ([{ref, age_days, rules}]):
 * buckets 0-7, 8-30, 31-60, 61-90 and 91 days or more, as the model's
 * queue.histogram (*out, a new array).  CU_EINVALID if an item has no
 * valid age_days. */
int cu_report_histogram(json_t **out, const json_t *items);

#endif
