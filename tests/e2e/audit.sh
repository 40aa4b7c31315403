#!/usr/bin/env bash
# The internal-control audit report through the command line: custos audit
# report writes the HTML and the JSON of a period, with the counts of the
# transactions in it; refusals for a file that exists and bad dates.
#   bash tests/e2e/audit.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-audit.XXXXXX)
trap 'rm -rf "$T"' EXIT
A=$T/arch
c() { "$CUSTOS" -A "$A" "$@"; }
ID=$(idno 110105 19491231 002)

# contrib NO BASE POSTED_AT MAKER: a contribution into the income account
contrib() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"contribution","fund":"pension","scheme":"employee","amount":"500.00","base":"%s","period":"2026-11","posted_at":"%s","from_account":{"no":"PAY-1","class":"payer"},"to_account":{"no":"INC-P","class":"income"},"org":{"uscc":"91350100M000100Y43","name":"Example Co."},"maker":"%s"}\n' \
		"$1" "$2" "$3" "$4"
}
# ben NO POSTED_AT MAKER: a pension payment to one person
ben() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"benefit_payment","fund":"pension","scheme":"employee","amount":"3250.00","period":"2026-11","posted_at":"%s","from_account":{"no":"EXP-P","class":"expenditure"},"to_account":{"no":"6222020200112233","class":"beneficiary"},"person":{"id_no":"%s","name":"张三"},"maker":"%s","reviewer":"op-020","approver":"op-031"}\n' \
		"$1" "$2" "$ID" "$3"
}

echo "== a month of transactions"
c init --fonds SI01 >/dev/null
{
	contrib C-1 8000.00 2026-11-03T10:00:00+08:00 op-017   # allowed
	contrib C-2 5999.99 2026-11-04T10:00:00+08:00 op-017   # BASE-1: review, approved
	contrib C-3 5000.00 2026-11-05T10:00:00+08:00 op-018   # BASE-1: review, stays queued
	ben B-1 2026-11-20T10:02:00+08:00 op-017               # QUAL-1: review, stays queued
	ben B-2 2026-11-21T10:02:00+08:00 op-018               # DUP-1 deny, QUAL-1, TIME-1 (Saturday)
	contrib C-9 5000.00 2026-12-01T00:30:00+08:00 op-017   # December in +08:00: outside
} > "$T/in.jsonl"
c ingest "$T/in.jsonl" > "$T/ingest.out" 2>&1
expect_eq "one denied at intake" "$(grep -c ' deny DUP-1$' "$T/ingest.out")" 1
expect_status "one approved" 0 c review approve txn:C-2 --note "基数经核实"
head_before=$(git --git-dir="$A/history.git" rev-parse main)

echo "== the report"
expect_status "audit report -o FILE.json: exit 0" 0 c audit report --from 2026-11-01 --to 2026-11-30 -o "$T/r.json"
expect_eq "one line: transactions, denied, queued" "$(cat "$T/out")" \
	"report 2026-11-01..2026-11-30: 5 transactions, 1 denied, 3 queued -> $T/r.json"
J=$(cat "$T/r.json")
expect_match "the period" "$J" '"period":\{"from":"2026-11-01","to":"2026-11-30"\}'
expect_match "BASE-1 in November: 2 to review" "$J" '\{"deny":0,"month":"2026-11","note":0,"review":2,"rule":"BASE-1"\}'
expect_match "QUAL-1 in November: 2 to review" "$J" '\{"deny":0,"month":"2026-11","note":0,"review":2,"rule":"QUAL-1"\}'
expect_match "DUP-1 in November: 1 denied" "$J" '\{"deny":1,"month":"2026-11","note":0,"review":0,"rule":"DUP-1"\}'
expect_match "TIME-1 in November: 1 note" "$J" '\{"deny":0,"month":"2026-11","note":1,"review":0,"rule":"TIME-1"\}'
expect_eq "four rows, no December" "$(grep -o '"month":"[0-9-]*"' <<<"$J" | sort | uniq -c | tr -s ' ')" " 4 \"month\":\"2026-11\""
expect_match "the denied attempt" "$J" '"denied":\[\{"amount_fen":325000,"kind":"benefit_payment","maker":"op-018","posted_at":"2026-11-21T10:02:00\+08:00","ref":"[^"]*","rules":\["DUP-1"\],"txn_no":"B-2"\}\]'
expect_match "makers: op-017" "$J" '\{"deny":0,"maker":"op-017","note":0,"review":2\}'
expect_match "makers: op-018" "$J" '\{"deny":1,"maker":"op-018","note":1,"review":2\}'
expect_eq "the queue now: C-3, B-1, C-9" "$(grep -o '"age_days":[0-9]*,"ref"' <<<"$J" | wc -l)" 3
expect_match "its histogram" "$J" '"histogram":\[\{"count":3,"max_days":7,"min_days":0\}'
expect_match "no reconciliation yet" "$J" '"reconciliation":\[\]'
expect_nomatch "no ID number" "$J" "$ID|110105"
expect_nomatch "no name" "$J" "张三"

expect_status "audit report -o FILE.html: exit 0" 0 c audit report --from 2026-11-01 --to 2026-11-30 -o "$T/r.html"
expect_match "says where" "$(cat "$T/out")" "denied, 3 queued -> $T/r.html\$"
expect_eq "four charts" "$(grep -o '<svg' "$T/r.html" | wc -l)" 4
expect_eq "no script" "$(grep -ci '<script' "$T/r.html")" 0
expect_nomatch "no ID number in the page" "$(cat "$T/r.html")" "$ID"
expect_eq "a reader: nothing committed" "$(git --git-dir="$A/history.git" rev-parse main)" "$head_before"

echo "== refusals"
cp "$T/r.json" "$T/keep.json"
expect_status "-o never overwrites: exit 2" 2 c audit report --from 2026-11-01 --to 2026-11-30 -o "$T/r.json"
expect_match "names the file" "$(cat "$T/err")" "r.json: already exists"
expect_eq "the file untouched" "$(cmp "$T/r.json" "$T/keep.json" && echo same)" same
expect_status "not a real date: exit 2" 2 c audit report --from 2026-02-30 --to 2026-11-30 -o "$T/x.json"
expect_match "names --from" "$(cat "$T/err")" "--from: 2026-02-30 is not a real date"
expect_status "a month is not a day: exit 2" 2 c audit report --from 2026-11-01 --to 2026-11 -o "$T/x.json"
expect_match "names --to" "$(cat "$T/err")" "--to: "
expect_status "--to before --from: exit 2" 2 c audit report --from 2026-12-01 --to 2026-11-30 -o "$T/x.json"
expect_status "121 months: exit 2" 2 c audit report --from 2016-12-01 --to 2026-12-31 -o "$T/x.json"
expect_match "says the limit" "$(cat "$T/err")" "more than 120 months"
expect_status "neither .html nor .json: exit 2" 2 c audit report --from 2026-11-01 --to 2026-11-30 -o "$T/x.txt"
expect_status "-o is required: exit 2" 2 c audit report --from 2026-11-01 --to 2026-11-30
expect_status "an unknown subcommand: exit 2" 2 c audit list
expect_eq "nothing written by a refusal" "$(ls "$T" | grep -c '^x\.')" 0

echo "== nothing in the period"
expect_status "exit 1" 1 c audit report --from 2025-01-01 --to 2025-12-31 -o "$T/empty.json"
expect_eq "says 0" "$(cat "$T/out")" "report 2025-01-01..2025-12-31: 0 transactions, 0 denied, 3 queued -> $T/empty.json"
expect_match "still written, the queue in it" "$(cat "$T/empty.json")" '"decisions":\[\],"denied":\[\],.*"makers":\[\]'
expect_status "December alone: C-9 (the archive's time zone)" 0 c audit report --from 2026-12-01 --to 2026-12-01 -o "$T/dec.json"
expect_match "one transaction" "$(cat "$T/out")" ": 1 transactions, 0 denied"

summary
