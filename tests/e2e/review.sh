#!/usr/bin/env bash
# The review queue of fund transactions (four eyes) through the command
# line: list, show, approve, reject, refusals, trace, and the state rebuilt
# from the review events.   bash tests/e2e/review.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-review.XXXXXX)
trap 'rm -rf "$T"' EXIT
A=$T/arch
c() { "$CUSTOS" -A "$A" "$@"; }
ME=$(id -un)

# contrib NO AMOUNT BASE MAKER: a contribution into the income account
contrib() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"contribution","fund":"pension","scheme":"employee","amount":"%s","base":"%s","period":"2026-11","posted_at":"2026-11-20T10:02:00+08:00","from_account":{"no":"PAY-1","class":"payer"},"to_account":{"no":"INC-P","class":"income"},"org":{"uscc":"91350100M000100Y43","name":"Example Co."},"maker":"%s"}\n' \
		"$1" "$2" "$3" "$4"
}

echo "== what waits for review"
c init --fonds SI01 >/dev/null
{
	contrib C-1 1280.00 8000.00 op-017     # allowed
	contrib C-2 500.00 5999.99 op-017      # BASE-1: review
	contrib C-3 700.00 5000.00 "$ME"       # BASE-1: review, made by the reviewer himself
	contrib C-4 300.00 4000.00 op-018      # BASE-1: review, to be rejected
} > "$T/in.jsonl"
c ingest "$T/in.jsonl" > "$T/ingest.out" 2>&1
expect_eq "three queued" "$(grep -c ' review BASE-1$' "$T/ingest.out")" 3
expect_status "review list: exit 0" 0 c review list
expect_eq "three lines" "$(wc -l < "$T/out")" 3
expect_match "line shape: ref, posted at, age in days, maker, amount, rules" "$(grep 500.00 "$T/out")" \
	"^SI01-JJ·2026-D10-JF-000002	2026-11-20T10:02:00\+08:00	[0-9]+	op-017	500.00	BASE-1\$"
expect_match "a count on stderr" "$(cat "$T/err")" "3 transactions waiting for review"
expect_match "--json" "$(c review list --json 2>/dev/null | head -1)" '^\{.*"rules":\["BASE-1"\].*\}$'
close_before=$(c policy close --period 2026-11 2>/dev/null)
expect_match "queued transactions are not in the balance" "$close_before" "balance of 1280.00 "

echo "== show"
expect_status "review show: exit 0" 0 c review show txn:C-2
expect_match "the transaction with its decision" "$(cat "$T/out")" '"verdict": "review"'
expect_match "the access is recorded" "$(c trace txn:C-2)" "accessed	.*purpose \"review\""

echo "== approve"
expect_status "--note is required" 2 c review approve txn:C-2
expect_status "approve: exit 0" 0 c review approve txn:C-2 --note "基数经核实无误"
expect_match "approved <ref> <event id>" "$(cat "$T/out")" "^approved SI01-JJ·2026-D10-JF-000002 [0-9a-f]{64}\$"
expect_match "now counted in the balance" "$(c policy close --period 2026-11 2>/dev/null)" "balance of 1780.00 "
expect_eq "two left" "$(c review list 2>/dev/null | wc -l)" 2
expect_status "approving again is refused: exit 1" 1 c review approve txn:C-2 --note again
expect_match "refused KEY: why" "$(cat "$T/out")" "^refused txn:C-2: .*not waiting for review: decided review, then approved\$"
expect_status "an allowed transaction is not in the queue: exit 1" 1 c review approve txn:C-1 --note x
expect_match "says so" "$(cat "$T/out")" "not waiting for review: decided allow"
expect_match "trace: reviewed" "$(c trace txn:C-2)" "reviewed	$ME \(uid [0-9]+\)	approved: effective from now on, note \"基数经核实无误\""

echo "== four eyes"
expect_status "the maker may not review: exit 1" 1 c review approve txn:C-3 --note x
expect_match "names the role" "$(cat "$T/out")" "$ME is the transaction's maker: a review needs another person"
expect_status "nor reject: exit 1" 1 c review reject txn:C-3 --note x

echo "== reject"
expect_status "reject: exit 0" 0 c review reject txn:C-4 --note "基数申报有误，退回"
expect_match "rejected <ref> <event id>" "$(cat "$T/out")" "^rejected SI01-JJ·2026-D10-JF-000004 [0-9a-f]{64}\$"
expect_match "not counted" "$(c policy close --period 2026-11 2>/dev/null)" "balance of 1780.00 "
expect_status "a note holding an ID number is refused" 2 c review reject txn:C-3 --note "$(idno 110105 19491231 002)"
expect_status "a receipt is not a fund transaction" 2 c review approve "sha256:$(printf x | sha256sum | cut -c1-64)" --note x

echo "== reconciliation of the income account"
# effective on INC-P now: C-1 1280.00 and C-2 500.00 (approved); C-3 queued, C-4 rejected
printf '%s\n' 'date,amount,direction,reference,counterparty' \
	'2026-11-20,1280.00,credit,C-1,PAY-1' \
	'2026-11-22,99.00,credit,,"Li Si, 6222"' > "$T/st1.csv"
expect_status "something unmatched: exit 1" 1 c reconcile --statement "$T/st1.csv" --account INC-P
expect_eq "one line per item" "$(wc -l < "$T/out")" 3
expect_match "matched by reference" "$(cat "$T/out")" "^matched	2026-11-20	1280.00	C-1	PAY-1\$"
expect_match "a bank line the books lack" "$(cat "$T/out")" "^missing_in_books	2026-11-22	99.00		Li Si, 6222\$"
expect_match "an effective transaction the bank lacks" "$(cat "$T/out")" "^missing_at_bank	2026-11-20	500.00	C-2	PAY-1\$"
expect_match "a summary on stderr" "$(cat "$T/err")" "reconcile INC-P: 2 bank lines, 2 book entries, 2 unmatched \(report [0-9a-f]{12} archived\)"
expect_match "the report is a record in the log" "$(git --git-dir="$A/history.git" log -1 --format=%s main)" "^reconcile: 2 bank lines, 2 book entries, 2 unmatched\$"
expect_eq "the statement is kept as a content object" \
	"$(test -f "$A/objects/sha256/$(sha256sum "$T/st1.csv" | cut -c1-2)/$(sha256sum "$T/st1.csv" | cut -c3-64)" && echo kept)" kept
printf '%s\n' 'date,amount,direction,reference,counterparty' \
	'2026-11-20,1280.00,credit,C-1,PAY-1' '2026-11-21,600.00,credit,C-2,PAY-1' > "$T/st2.csv"
expect_status "an amount that differs: exit 1" 1 c reconcile --statement "$T/st2.csv" --account INC-P --json
expect_match "--json: the report" "$(cat "$T/out")" '"amount_differs":\{"bank_credit_fen":60000,.*"book_credit_fen":50000,.*"count":1'
printf '%s\n' 'date,amount,direction,reference,counterparty' \
	'2026-11-19,1280.00,credit,,PAY-1' '2026-11-23,500.00,credit,BANK-77,PAY-1' > "$T/st3.csv"
expect_status "all matched by date and amount within 3 days: exit 0" 0 c reconcile --statement "$T/st3.csv" --account INC-P
expect_status "outside a tolerance of 0 days: exit 1" 1 c reconcile --statement "$T/st3.csv" --account INC-P --tolerance 0
printf '%s\n' 'date,amount,direction,reference,counterparty' '2026-11-31,1.00,credit,,x' > "$T/bad.csv"
expect_status "a bad statement: exit 2" 2 c reconcile --statement "$T/bad.csv" --account INC-P
expect_match "one line naming the file, line and column" "$(cat "$T/err")" "$T/bad.csv:2: date: "
expect_status "--account is required" 2 c reconcile --statement "$T/st1.csv"

echo "== the reconciliations in the audit report"
expect_status "audit report from the month of the transactions to today" 0 c audit report --from 2026-11-01 --to "$(date -u -d '+1 day' +%F)" -o "$T/audit.json"
expect_match "a row per archived statement, its sums from the report" "$(cat "$T/audit.json")" \
	'\{"account":"INC-P","amount_differs":\{"count":0,"fen":0\},"matched":\{"count":1,"fen":128000\},"missing_at_bank":\{"count":1,"fen":50000\},"missing_in_books":\{"count":1,"fen":9900\},"statement":"st1.csv"\}'
expect_match "an amount that differs counts the difference" "$(cat "$T/audit.json")" \
	'"amount_differs":\{"count":1,"fen":10000\},[^}]*\}[^}]*\}[^}]*\}[^}]*"statement":"st2.csv"'
expect_eq "four statements (the bad one was not archived)" "$(grep -o '"statement":"st[0-9].csv"' "$T/audit.json" | wc -l)" 4
expect_eq "the period closes run so far: three, each with its run time" \
	"$(grep -o '{"at":"[0-9T:Z-]*","findings":\[[^]]*\],"period":"2026-11"}' "$T/audit.json" | wc -l)" 3
expect_match "... and what each found" "$(cat "$T/audit.json")" \
	'"findings":\[\{"message":"income account INC-P \(pension\) has a balance of 1780.00 at the close of 2026-11, expected 0.00","rule":"CLOSE-1"\}\]'
expect_status "the same as a page" 0 c audit report --from 2026-11-01 --to "$(date -u -d '+1 day' +%F)" -o "$T/audit.html"
expect_eq "a row per close in the page" "$(sed -n '/<section id="closes">/,/<\/section>/p' "$T/audit.html" | grep -c '<tr><td>2026-11</td>')" 3

echo "== search by scheme and period"
expect_eq "--period and --type fund_txn" "$(c search --type fund_txn --period 2026-11 --limit 0 2>/dev/null | wc -l)" 4
expect_eq "--scheme employee" "$(c search --scheme employee --limit 0 2>/dev/null | wc -l)" 4
expect_eq "--scheme resident: none" "$(c search --scheme resident --limit 0 2>/dev/null | wc -l)" 0
expect_eq "another period: none" "$(c search --period 2026-10 --limit 0 2>/dev/null | wc -l)" 0
expect_status "--period must be a month" 2 c search --period 2026-13
expect_match "naming the option" "$(cat "$T/err")" "--period: "
expect_status "--scheme must be known" 2 c search --scheme both

echo "== policy replay settles the recorded reviews"
expect_status "replay of the policy in force: exit 0" 0 c policy replay --policy "$HERE/../../policy"
expect_match "no difference, the approval and the rejection settled" "$(grep '^total' "$T/out")" \
	"	differ 0	policy [0-9a-f]{64}	reviews 2\$"

echo "== the state follows from the history"
before=$(c review list 2>/dev/null; c policy close --period 2026-11 2>/dev/null)
rm -rf "$A/index" && mkdir "$A/index"
expect_eq "after the index is rebuilt: the same queue and balances" "$(c review list 2>/dev/null; c policy close --period 2026-11 2>/dev/null)" "$before"
expect_status "verify: no problem" 0 c verify
expect_eq "no note in a commit message" "$(git --git-dir="$A/history.git" log --format=%B main | grep -c 基数)" 0

summary
