#!/usr/bin/env bash
# custos verify against every kind of tampering, reindex, and a writer killed
# again and again.   bash tests/e2e/tamper.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
LE=$(realpath "${LMDB_EDIT:-build/lmdb_edit}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-tamper.XXXXXX)
trap 'rm -rf "$T"' EXIT
c() { "$CUSTOS" "$@"; }
export GIT_AUTHOR_NAME=intruder GIT_AUTHOR_EMAIL=x@example.invalid
export GIT_COMMITTER_NAME=intruder GIT_COMMITTER_EMAIL=x@example.invalid

echo "== a sound archive verifies"
# loose objects (pack_threshold 0) so that single objects can be damaged
sed 's/^batch_size = 10000;/batch_size = 100;/; s/^pack_threshold = 65536;/pack_threshold = 0;/' \
	"$HERE/../../conf/archive.conf" > "$T/conf"
B=$T/base
c -A "$B" init --fonds SI01 --conf "$T/conf" >/dev/null
"$GEN" 200 11 V > "$T/in.jsonl"
c -A "$B" ingest "$T/in.jsonl" > "$T/acked" 2>/dev/null
REF=$(head -1 "$T/acked" | cut -d' ' -f1)
c -A "$B" get --purpose audit "$REF" >/dev/null
c -A "$B" checkpoint > "$T/kept.checkpoint"
expect_status "verify a sound archive: exit 0" 0 c -A "$B" verify
expect_match "it says so" "$(cat "$T/out")" "^verify: 4 commits, 200 records, 2 events, 200 objects .*log size 202: no problem$"
expect_eq "the run is recorded as an event" "$(git --git-dir="$B/history.git" log -1 --format=%s main)" "verify: ok (0 problems)"
expect_status "--quick" 0 c -A "$B" verify --quick
expect_match "--quick says what it skipped" "$(cat "$T/out")" "200 unchanged since the last run and not re-hashed \(--quick\)"
expect_status "--since-checkpoint with a kept checkpoint" 0 c -A "$B" verify --since-checkpoint "$T/kept.checkpoint"
expect_status "--json" 0 c -A "$B" verify --json
expect_match "json summary" "$(tail -1 "$T/out")" '^\{"type":"summary","result":"ok","problems":0,'
c -A "$B" checkpoint > "$T/kept2.checkpoint"
expect_eq "trace shows the verify runs that checked a record" "$(c -A "$B" trace "$REF" | grep -c '	verified	.*	verify run')" 4

W=$T/w
G="git -c core.quotePath=false --git-dir=$W/history.git"
fresh() { rm -rf "$W"; cp -a "$B" "$W"; }
verify() { c -A "$W" verify "$@" > "$T/v.out" 2>&1; echo $?; }
obj() { find "$W/objects/sha256" -type f | sort | sed -n "${1}p"; }
digest_of() { echo "$1" | sed 's|.*/sha256/\(..\)/\(.*\)|\1\2|'; }

echo "== damaged objects"
fresh; f=$(obj 1); chmod u+w "$f"; printf 'X' | dd of="$f" bs=1 seek=20 conv=notrunc 2>/dev/null
expect_eq "a flipped byte: exit 1" "$(verify)" 1
expect_match "names the object" "$(cat "$T/v.out")" "^object $(digest_of "$f"): object does not match its name$"
expect_eq "the run is still recorded (the history is sound)" "$($G log -1 --format=%s main)" "verify: problems found (1 problem)"
fresh; f=$(obj 2); rm -f "$f"
expect_eq "an object deleted: exit 1" "$(verify)" 1
expect_match "names the record and its object" "$(cat "$T/v.out")" "^object SI01-SB·[^ ]+ \($(digest_of "$f" | cut -c1-12)\): the record's content object is missing$"
fresh; f=$(obj 3); chmod u+w "$f"; truncate -s 10 "$f"
expect_eq "an object truncated: exit 1" "$(verify)" 1
expect_match "its digest" "$(cat "$T/v.out")" "^object $(digest_of "$f"): object does not match its name$"
expect_match "one problem, not two" "$(cat "$T/v.out")" ": 1 problem$"
fresh; f1=$(obj 4); f2=$(obj 5); mv "$f1" "$T/swap"; mv "$f2" "$f1"; mv "$T/swap" "$f2"
expect_eq "two objects swapped: exit 1" "$(verify)" 1
expect_eq "both named" "$(grep -c 'object does not match its name' "$T/v.out")" 2
fresh; f=$(obj 6); chmod u+w "$f"; printf 'Y' | dd of="$f" bs=1 seek=5 conv=notrunc 2>/dev/null
expect_eq "--quick re-hashes a changed file" "$(verify --quick)" 1

echo "== a history changed behind custos's back"
fresh
path=$($G ls-tree -r --name-only main | grep '^records/' | sed -n 7p)
blob=$($G show "main:$path" | sed 's/"summary":"/"summary":"altered /' | $G hash-object -w --stdin)
export GIT_INDEX_FILE=$T/gitindex
$G read-tree main && $G update-index --cacheinfo "100644,$blob,$path" && tree=$($G write-tree)
unset GIT_INDEX_FILE
forged=$($G commit-tree "$tree" -p main -m "fix a typo")
$G update-ref refs/heads/main "$forged"
expect_eq "a record changed in a commit not made by custos: exit 1" "$(verify)" 1
expect_match "the commit is unsigned" "$(cat "$T/v.out")" "^commit ${forged:0:12}: .*no signature"
expect_match "the document no longer hashes to its id" "$(cat "$T/v.out")" "^record SI01-SB·.*: $path: the document does not hash to its id"
expect_match "nothing is signed over a broken history" "$(cat "$T/v.out")" "not recorded in the history"
expect_eq "no commit was added" "$($G rev-parse main)" "$forged"

fresh
path=$($G ls-tree -r --name-only main | grep '^records/.*/000001.json$' | head -1)
export GIT_INDEX_FILE=$T/gitindex
$G read-tree main && printf '0 %040d\t%s\n' 0 "$path" | $G update-index --index-info && tree=$($G write-tree)
unset GIT_INDEX_FILE
$G update-ref refs/heads/main "$($G commit-tree "$tree" -p main -m "tidy")"
c -A "$W" reindex >/dev/null 2>&1
expect_eq "a record removed: exit 1" "$(verify)" 1
cls=$(echo "$path" | cut -d/ -f2)
expect_match "the gap in item numbers is named" "$(cat "$T/v.out")" "^item $cls-000002 .*: gap in $cls: item 2 follows 0 \(missing 1 to 1\)$"

fresh; $G update-ref refs/heads/main main~2
expect_eq "the last commits dropped: exit 1" "$(verify)" 1
expect_match "caught against the last verify run" "$(cat "$T/v.out")" "fewer than the [0-9]+ the last verify run saw: the history was rolled back"
expect_match "and by the index" "$(cat "$T/v.out")" "^index .*the index reflects commit"
fresh; $G update-ref refs/heads/main main~2; rm -f "$W/verify.state"; c -A "$W" reindex >/dev/null
expect_eq "dropped commits, no last run, index rebuilt: exit 0 without a kept checkpoint" "$(verify)" 0
fresh; $G update-ref refs/heads/main main~2; rm -f "$W/verify.state"; c -A "$W" reindex >/dev/null
expect_eq "… but a kept checkpoint catches it: exit 1" "$(verify --since-checkpoint "$T/kept2.checkpoint")" 1
expect_match "rolled back" "$(cat "$T/v.out")" "but the kept checkpoint has $(sed -n 2p "$T/kept2.checkpoint"): the history was rolled back"

fresh
ssh-keygen -q -t ed25519 -N '' -f "$T/otherkey" -C other
msg=$($G log -1 --format=%B main)
resigned=$($G -c gpg.format=ssh -c user.signingkey="$T/otherkey" commit-tree -S "main^{tree}" -p main~1 -m "$msg")
$G update-ref refs/heads/main "$resigned"
expect_eq "a signature replaced by another key's: exit 1" "$(verify)" 1
expect_match "named" "$(cat "$T/v.out")" "^commit ${resigned:0:12}: signed by another key than the archive's$"

echo "== a damaged index"
fresh; ref=$(c -A "$W" search --limit 1 2>/dev/null | cut -f1)
"$LE" "$W/index" ref put "$ref" "$(printf '%064d' 0)"
expect_eq "an index entry changed: exit 1" "$(verify)" 1
expect_match "named" "$(cat "$T/v.out")" "^index $ref \([0-9a-f]{12}\): the ref is missing from the index or names another record$"
fresh; "$LE" "$W/index" ref del "$ref"
expect_eq "an index entry deleted: exit 1" "$(verify)" 1
expect_match "named" "$(cat "$T/v.out")" "^index $ref \([0-9a-f]{12}\): the ref is missing from the index"
c -A "$W" reindex > "$T/out" 2>&1
expect_match "reindex" "$(cat "$T/out")" "^reindex: the index was rebuilt from [0-9]+ commits$"
expect_eq "after reindex: exit 0" "$(verify)" 0

echo "== reindex gives the same answers"
fresh
before=$(c -A "$W" search --limit 0 --json; c -A "$W" search --text 缴费 --json; c -A "$W" search --service benefit --json)
c -A "$W" reindex >/dev/null
after=$(c -A "$W" search --limit 0 --json; c -A "$W" search --text 缴费 --json; c -A "$W" search --service benefit --json)
expect_eq "every search the same before and after" "$after" "$before"

echo "== a writer killed again and again (20 times, at different moments)"
K=$T/killed
c -A "$K" init --fonds SI05 --conf "$T/conf" >/dev/null
"$GEN" 6000 12 K > "$T/kill.jsonl"
: > "$T/all-acked"
bad=0
for i in $(seq 1 20); do
	"$CUSTOS" -A "$K" ingest "$T/kill.jsonl" > "$T/acked.$i" 2>/dev/null &
	pid=$!
	sleep "0.$(( (i * 37) % 5 ))$(( (i * 53) % 10 ))"
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	grep ' [0-9a-f]\{64\} ' "$T/acked.$i" >> "$T/all-acked"
	c -A "$K" verify > "$T/kv.out" 2>&1 || { bad=$((bad + 1)); head -3 "$T/kv.out"; }
done
expect_eq "verify passes after every kill" "$bad" 0
have=$(c -A "$K" search --limit 0 --json | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/' | sort)
lost=$(cut -d' ' -f2 "$T/all-acked" | sort -u | comm -23 - <(echo "$have"))
expect_eq "every record reported as archived is there" "$lost" ""
# a kill while git moved the ref leaves its lock file: the next writer goes on
touch "$K/history.git/refs/heads/main.lock"
out=$(c -A "$K" ingest "$T/kill.jsonl" 2>"$T/err"); st=$?
expect_eq "a stale ref lock left by a killed writer does not stop the next one" "$st" 0
check "and is gone" test ! -e "$K/history.git/refs/heads/main.lock"
expect_eq "finishing the input archives each receipt once" "$(c -A "$K" search --limit 0 | wc -l)" 6000

summary
