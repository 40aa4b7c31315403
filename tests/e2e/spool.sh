#!/usr/bin/env bash
# The spool intake through `custos spool run`: accepted, rejected and partial
# entries, bag folders and their marker, name collisions, removal, the
# oversize limit, no ID number in the companions, and a crash loop (SIGKILL
# at random moments) after which every entry is archived exactly once and no
# record is doubled.   bash tests/e2e/spool.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-spool.XXXXXX)
trap 'rm -rf "$T"' EXIT
A=$T/archive
S=$T/spool
c() { "$CUSTOS" -A "$A" "$@"; }
export LC_ALL=C.UTF-8

ID=$(idno 110105 19491231 002)

# rc NO: a receipt whose number is also a word of its summary (searchable)
rc() { receipt "$1" "$ID" registration 2026-11-20T09:31:00+08:00 "回执 $1"; echo; }
contrib() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"contribution","fund":"pension","scheme":"employee","amount":"%s","base":"8000.00","period":"2026-11","posted_at":"2026-11-20T10:02:00+08:00","from_account":{"no":"PAY-1","class":"payer"},"to_account":{"no":"INC-P","class":"income"},"org":{"uscc":"91350100M000100Y43","name":"Example Co."},"maker":"op-017"}\n' \
		"$1" "$2"
}
hits() { c search --limit 0 --text "$1" 2>/dev/null | wc -l; }

c init --fonds SI01 >/dev/null
IN=$S/incoming

echo "== usage"
expect_status "no subcommand: exit 2" 2 c spool
expect_status "no --spool: exit 2" 2 c spool run
expect_status "bad --max-file-bytes: exit 2" 2 c spool run --spool "$S" --max-file-bytes 12x
expect_status "spool that is a file: exit 2" 2 c spool run --spool "$A/archive.json"
expect_match "names the spool" "$(cat "$T/err")" "archive.json: not a folder"

echo "== an empty spool is prepared"
expect_status "first run: exit 0" 0 c spool run --spool "$S"
expect_eq "only a total" "$(cat "$T/out")" "total: 0 archived (0 records), 0 rejected, 0 skipped"
check "incoming, archived, rejected made" test -d "$IN" -a -d "$S/archived" -a -d "$S/rejected"

echo "== accepted, rejected, partial and hidden names"
rc SP0001 > "$IN/a.json"
{ rc SP0002; rc SP0003; } > "$IN/b.jsonl"
{ rc SP0004; echo '{"type":"receipt","receipt_no":"SP0005"}'; rc SP0006; } > "$IN/c.jsonl"
echo 'not json' > "$IN/d.json"
rc SP0007 > "$IN/e.json.part"
rc SP0008 > "$IN/.f.json"
expect_status "a pass with a rejection: exit 1" 1 c spool run --spool "$S"
out=$(cat "$T/out")
expect_match "a archived" "$out" "^archived a.json 1 record\$"
expect_match "b archived, two records" "$out" "^archived b.jsonl 2 records$"
expect_match "c rejected with its first reason" "$out" "^rejected c.jsonl: [a-z_.]+: .+$"
expect_match "d rejected" "$out" "^rejected d.json: "
expect_match ".part skipped" "$out" "^skipped e.json.part: a partial name"
expect_nomatch "dot names not even listed" "$out" "\.f\.json"
expect_match "total" "$out" "total: 2 archived \(5 records\), 2 rejected, 1 skipped\$"
check "a moved to archived/" test -f "$S/archived/a.json" -a ! -e "$IN/a.json"
expect_match "a.json.refs: ref id source" "$(cat "$S/archived/a.json.refs")" \
	"^SI01-SB·2026-D100-DJ-[0-9]{6} [0-9a-f]{64} a.json\$"
expect_eq "b.jsonl.refs: two lines" "$(grep -c ' b.jsonl#[12]$' "$S/archived/b.jsonl.refs")" 2
check "c moved to rejected/" test -f "$S/rejected/c.jsonl" -a ! -e "$IN/c.jsonl"
expect_match "c.jsonl.reason names the line" "$(cat "$S/rejected/c.jsonl.reason")" "^c.jsonl#2: [a-z_.]+: "
expect_eq "c.jsonl.refs: the two lines archived" "$(grep -c ' c.jsonl#[13]$' "$S/rejected/c.jsonl.refs")" 2
check "d has a reason, no refs" test -s "$S/rejected/d.json.reason" -a ! -e "$S/rejected/d.json.refs"
check ".part and dot names left in incoming/" test -f "$IN/e.json.part" -a -f "$IN/.f.json"
expect_eq "SP0004 archived once" "$(hits SP0004)" 1
expect_eq "SP0005 not archived" "$(hits SP0005)" 0
expect_nomatch "no ID number in any companion" "$(cat "$S"/archived/*.refs "$S"/rejected/*.re* 2>/dev/null)" "$ID"

echo "== renamed .part is taken; the same content again is a duplicate"
mv "$IN/e.json.part" "$IN/e.json"
rc SP0001 > "$IN/a.json"
expect_status "exit 0" 0 c spool run --spool "$S"
expect_match "e archived" "$(cat "$T/out")" "^archived e.json 1 record$"
expect_match "a again: archived under a suffix" "$(cat "$T/out")" "^archived a.json 1 record as archived/a.json.1$"
expect_match "its refs say duplicate" "$(cat "$S/archived/a.json.1.refs")" "^duplicate SI01-SB·2026-D100-DJ-[0-9]{6} a.json\$"
expect_eq "the first a.json kept" "$(cat "$S/archived/a.json")" "$(rc SP0001)"
expect_eq "SP0001 still once" "$(hits SP0001)" 1

echo "== bag folders and the marker"
B=$IN/GS-0001
mkdir -p "$B/data"; echo "工伤认定申请表" > "$B/data/申请表.txt"
mkbag "$B" GS-2026-0001 "Case-Type: work_injury_determination" "Title: 申请"
expect_status "no marker: exit 0" 0 c spool run --spool "$S"
expect_match "skipped without the marker" "$(cat "$T/out")" "^skipped GS-0001: a folder without .custos-complete"
check "still in incoming/" test -d "$B"
: > "$B/.custos-complete"
expect_status "with the marker: exit 0" 0 c spool run --spool "$S"
expect_match "archived" "$(cat "$T/out")" "^archived GS-0001 1 record\$"
check "folder moved" test -d "$S/archived/GS-0001" -a ! -e "$B"
expect_eq "case found" "$(c search --case GS-2026-0001 2>/dev/null | wc -l)" 1
mkdir -p "$IN/notabag"; echo x > "$IN/notabag/x"; : > "$IN/notabag/.custos-complete"
expect_status "a marked folder that is no bag: exit 1" 1 c spool run --spool "$S"
expect_match "rejected" "$(cat "$T/out")" "^rejected notabag: a folder without bagit.txt"

echo "== oversize and removal"
{ for i in $(seq 1 20); do rc SPBIG$i; done; } > "$IN/big.jsonl"
expect_status "oversize: exit 1" 1 c spool run --spool "$S" --max-file-bytes 1000
expect_match "rejected with the limit" "$(cat "$T/out")" "^rejected big.jsonl: [0-9]+ bytes, larger than the spool file limit of 1000 bytes"
expect_eq "nothing of it archived" "$(hits SPBIG1)" 0
rc SP0009 > "$IN/g.json"
expect_status "--remove-archived: exit 0" 0 c spool run --spool "$S" --remove-archived
check "g removed, its refs kept" test ! -e "$S/archived/g.json" -a -s "$S/archived/g.json.refs" -a ! -e "$IN/g.json"
expect_eq "SP0009 archived" "$(hits SP0009)" 1

echo "== --json"
rc SP0010 > "$IN/h.json"
expect_status "exit 0" 0 c spool run --spool "$S" --json
expect_match "entry object" "$(head -1 "$T/out")" '^\{"status":"archived","name":"h.json","moved_to":"archived/h.json","records":1,"rejected":0\}$'
expect_match "total object" "$(tail -1 "$T/out")" '^\{"status":"total","archived":1,"records":1,"rejected":0,"skipped":0\}$'

echo "== crash loop: SIGKILL at random moments"
A2=$T/archive2; S2=$T/spool2
"$CUSTOS" -A "$A2" init --fonds SI02 >/dev/null
mkdir -p "$S2/incoming"
names=()
for i in $(seq -w 1 24); do rc KR$i > "$S2/incoming/r$i.json"; names+=("r$i.json"); done
{ rc KR25; rc KR26; rc KR27; } > "$S2/incoming/s1.jsonl"; names+=(s1.jsonl)
{ rc KR28; rc KR29; rc KR30; } > "$S2/incoming/s2.jsonl"; names+=(s2.jsonl)
for i in 1 2 3 4; do contrib "KF-$i" "1$i.00" > "$S2/incoming/t$i.json"; names+=("t$i.json"); done
K=$T/kbag; mkdir -p "$K/data"; echo "退休审批表" > "$K/data/表.txt"
mkbag "$K" KC-2026-0001 "Case-Type: retirement_approval"
tar -C "$T" -cf "$S2/incoming/case.tar" kbag; names+=(case.tar)
# how long a whole pass takes here (on a copy): the kills fall within it
cp -a "$A2" "$T/ta"; cp -a "$S2" "$T/ts"
t0=$(date +%s%N)
"$CUSTOS" -A "$T/ta" spool run --spool "$T/ts" >/dev/null 2>&1
ms=$(( ($(date +%s%N) - t0) / 1000000 )); [ "$ms" -gt 300 ] && ms=300; [ "$ms" -lt 5 ] && ms=5
rm -rf "$T/ta" "$T/ts"
rounds=0 kills=0 done_=0 moved=""
while [ $rounds -lt 40 ]; do
	rounds=$((rounds + 1))
	"$CUSTOS" -A "$A2" spool run --spool "$S2" >/dev/null 2>&1 &
	pid=$!
	# the first kill within the process's start (a few ms: it always lands,
	# even when the pass measured on the copy was slower than this one), the
	# others anywhere in a pass
	if [ $rounds = 1 ]; then sleep 0.002; else sleep "$(printf '0.%03d' $((RANDOM % (ms + 1))))"; fi
	if kill -9 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		kills=$((kills + 1))
		moved+=" $(ls "$S2/archived" | grep -vc '\.refs$')"
	else
		wait "$pid"; st=$?
		[ "$st" = 0 ] && { done_=1; break; }
	fi
done
echo "  a pass takes ${ms} ms; $rounds rounds, $kills killed (entries moved after each kill:$moved), finished by itself: $done_"
expect_match "some passes were killed" "$kills" "^[1-9]"
expect_status "a clean pass after the loop: exit 0" 0 "$CUSTOS" -A "$A2" spool run --spool "$S2"
expect_eq "incoming/ empty" "$(ls -A "$S2/incoming" | wc -l)" 0
expect_eq "every entry in archived/ exactly once, under its own name" \
	"$(ls "$S2/archived" | grep -v '\.refs$' | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "${names[@]}" | sort | tr '\n' ' ')"
expect_eq "a .refs for each" "$(ls "$S2/archived" | grep -c '\.refs$')" "${#names[@]}"
expect_eq "no leftovers" "$(ls -A "$S2/archived" | grep -c '^\.')" 0
expect_eq "nothing rejected" "$(ls -A "$S2/rejected" | wc -l)" 0
miss=0
for i in $(seq -w 1 30); do
	n=$("$CUSTOS" -A "$A2" search --limit 0 --text "KR$i" 2>/dev/null | wc -l)
	[ "$n" = 1 ] || { miss=1; echo "        KR$i found $n times"; }
done
expect_eq "each receipt number found exactly once" "$miss" 0
expect_eq "35 records in all (30 receipts, 4 fund transactions, 1 case)" \
	"$("$CUSTOS" -A "$A2" search --limit 0 2>/dev/null | wc -l)" 35
expect_status "verify passes" 0 "$CUSTOS" -A "$A2" verify

summary
