#!/usr/bin/env bash
# policy replay through the command line: the policy in force replays with
# no difference (exit 0); a lowered AUTH-1 threshold shows the transactions
# it would deny (exit 1) with the per-rule summary; --from/--to; --json; a
# single rules file with the staff in force; bad options (exit 2); nothing
# written; no ID number in the output.   bash tests/e2e/replay.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-replay.XXXXXX)
trap 'rm -rf "$T"' EXIT
c() { "$CUSTOS" "$@"; }
A=$T/arch
G="git --git-dir=$A/history.git"

P1=$(idno 110105 19491231 002)
P2=$(idno 440524 18800101 001)
P3=$(idno 320102 19551010 023)

# ben NO ID AMOUNT APPROVER DAY
ben() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"benefit_payment","fund":"pension","scheme":"employee","amount":"%s","period":"2026-11","posted_at":"2026-11-%sT10:02:00+08:00","from_account":{"no":"EXP-P","class":"expenditure"},"to_account":{"no":"6222020200112233","class":"beneficiary"},"person":{"id_no":"%s","name":"张三"},"maker":"op-017","reviewer":"op-020","approver":"%s"}\n' \
		"$1" "$3" "$5" "$2" "$4"
}
# fact NO KIND ID EVENT_DATE DAY
fact() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"%s","fund":"pension","scheme":"employee","posted_at":"2026-11-%sT09:00:00+08:00","event_date":"%s","person":{"id_no":"%s","name":"张三"},"maker":"op-017","reviewer":"op-020","approver":"op-031"}\n' \
		"$1" "$2" "$5" "$4" "$3"
}

echo "== policy replay"
c -A "$A" init --fonds SI01 >/dev/null
{
	fact Q-1 qualification "$P1" 2026-11-02 18
	fact Q-2 qualification "$P2" 2026-11-02 18
	fact Q-3 qualification "$P3" 2026-11-02 18
	ben B-1 "$P1" 2000.00 op-031 18
	ben B-2 "$P2" 2000.00 op-032 19
	ben B-3 "$P3" 1000.00 op-032 19
	fact D-1 death_report "$P1" 2026-10-20 19
	ben B-4 "$P1" 800.00 op-031 20
} > "$T/txns.jsonl"
c -A "$A" ingest "$T/txns.jsonl" > "$T/ingest.out" 2>&1
ref_of() { grep " $T/txns.jsonl#$1 " "$T/ingest.out" | cut -d" " -f1; }
B2=$(ref_of 5)
expect_match "B-4 after the death: denied on ingest" "$(grep "#8 " "$T/ingest.out")" "deny (DUP-1,)?DEATH-1"

mkdir "$T/same" "$T/low"
cp "$ROOT/policy/fund-control.conf" "$ROOT/policy/staff.conf" "$T/same/"
cp "$ROOT/policy/staff.conf" "$T/low/"
sed 's/above = "50000.00"/above = "1000.00"/' "$ROOT/policy/fund-control.conf" > "$T/low/fund-control.conf"
head_before=$($G rev-parse HEAD)

expect_status "the policy in force: nothing differs, exit 0" 0 c -A "$A" policy replay --policy "$T/same"
expect_eq "the policy in force: only the summary" "$(grep -vc '^rule	\|^total	' "$T/out")" 0
expect_match "the policy in force: totals" "$(grep '^total' "$T/out")" \
	"^total	replayed 8	compared 8	differ 0	policy [0-9a-f]{64}	reviews 0$"
expect_match "DEATH-1 fired once, under both" "$(grep '^rule	DEATH-1	' "$T/out")" \
	"^rule	DEATH-1	recorded 1	candidate 1	newly 0	no-longer 0$"

expect_status "AUTH-1 above 1000.00: differs, exit 1" 1 c -A "$A" policy replay --policy "$T/low"
expect_eq "the clerk's 2000.00 (B-2) is the one difference" \
	"$(grep -v '^rule	\|^total	' "$T/out")" "$B2	allow	->	deny AUTH-1"
expect_match "AUTH-1 newly firing once" "$(grep '^rule	AUTH-1	' "$T/out")" \
	"^rule	AUTH-1	recorded 0	candidate 1	newly 1	no-longer 0$"
expect_match "totals" "$(grep '^total' "$T/out")" "^total	replayed 8	compared 8	differ 1	"
expect_nomatch "no ID number in the output" "$(cat "$T/out" "$T/err")" "$P1|$P2|$P3"

expect_status "one rules file, the staff in force" 1 c -A "$A" policy replay \
	--policy "$T/low/fund-control.conf"
expect_eq "the same difference" "$(grep -v '^rule	\|^total	' "$T/out")" "$B2	allow	->	deny AUTH-1"

expect_status "a window after B-2: nothing differs" 0 c -A "$A" policy replay --policy "$T/low" \
	--from 2026-11-20
expect_match "a window after B-2: one compared, eight replayed" "$(grep '^total' "$T/out")" \
	"^total	replayed 8	compared 1	differ 0	"
expect_match "the death before the window still denies B-4" "$(grep '^rule	DEATH-1	' "$T/out")" \
	"^rule	DEATH-1	recorded 1	candidate 1	"
expect_status "a window of the 19th: B-2" 1 c -A "$A" policy replay --policy "$T/low" \
	--from 2026-11-19 --to 2026-11-19
expect_match "a window of the 19th: three compared" "$(grep '^total' "$T/out")" "compared 3	differ 1"

expect_status "--json: exit 1" 1 c -A "$A" policy replay --policy "$T/low" --json
expect_eq "--json: one difference and a summary" "$(wc -l < "$T/out")" 2
# JSON_SORT_KEYS: members in name order
expect_match "--json: the difference" "$(head -1 "$T/out")" \
	'^\{"candidate":\{"rules":\["AUTH-1"\],"verdict":"deny"\},"id":"[0-9a-f]{64}","posted_at":"2026-11-19T10:02:00\+08:00","recorded":\{"rules":\[\],"verdict":"allow"\},"ref":"'"$B2"'","txn_no":"B-2"\}$'
expect_match "--json: the totals" "$(tail -1 "$T/out")" \
	'^\{"summary":\{"compared":8,"differ":1,"policy":"[0-9a-f]{64}","replayed":8,"reviews":0,"rules":\['
expect_match "--json: AUTH-1 in the summary" "$(tail -1 "$T/out")" \
	'\{"candidate":1,"newly":1,"no_longer":0,"recorded":0,"rule":"AUTH-1"\}'

expect_status "no --policy: exit 2" 2 c -A "$A" policy replay
expect_match "no --policy: says so" "$(cat "$T/err")" "--policy"
expect_status "--from after --to: exit 2" 2 c -A "$A" policy replay --policy "$T/low" \
	--from 2026-11-20 --to 2026-11-19
expect_match "--from after --to: says so" "$(cat "$T/err")" "--from 2026-11-20 is after --to 2026-11-19"
expect_status "a bad date: exit 2" 2 c -A "$A" policy replay --policy "$T/low" --to 2026-11-31
expect_match "a bad date: names --to" "$(cat "$T/err")" "--to"
printf 'rules = ( { id = "X-1"; check = "nonsense"; } );\n' > "$T/bad.conf"
expect_status "a broken candidate: exit 2" 2 c -A "$A" policy replay --policy "$T/bad.conf"
expect_match "a broken candidate: FILE:LINE" "$(cat "$T/err")" "bad.conf:1"
expect_status "no such candidate: exit 2" 2 c -A "$A" policy replay --policy "$T/none"

expect_eq "replay wrote nothing" "$($G rev-parse HEAD)" "$head_before"

summary
