#!/usr/bin/env bash
# Retention, disposition and legal holds, end to end: records due, holds,
# destruction lists proposed by one OS user and approved by another, objects
# really gone (packed and loose), verify, trace, reindex, and an approval
# killed with SIGKILL.   bash tests/e2e/disposition.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-dispo.XXXXXX)
trap 'rm -rf "$T"' EXIT
c() { "$CUSTOS" "$@"; }
G() { git -c core.quotePath=false --git-dir="$1/history.git" "${@:2}"; }

ID1=$(idno 110105 19491231 002)
ID2=$(idno 440524 18800101 001)
USCC=91350100M000100Y43

# Every object of an archive, extracted as files named by digest under $2
# (loose files copied, packs extracted with tar); prints the digests.
extract() {
	rm -rf "$2" && mkdir -p "$2"
	[ -d "$1/objects/sha256" ] && cp -r "$1/objects/sha256" "$2/" 2>/dev/null
	for p in "$1"/objects/packs/pack-*.tar; do [ -e "$p" ] && tar -xf "$p" -C "$2"; done
	(cd "$2" && find sha256 -type f 2>/dev/null | sed 's|^sha256/\(..\)/|\1|' | sort)
}
# sha256sum over every extracted object: each must hash to its name
sums_ok() {
	(cd "$1" && find sha256 -type f | sed 's|^sha256/\(..\)/\(.*\)$|\1\2  &|' > ../sums &&
		sha256sum --quiet -c ../sums)
}
# A record's document as the history holds it (reading it so is no access)
doc_of() {
	local cls=${2%-*} item=${2##*-}
	G "$1" show "main:records/$cls/$(printf '%03d' $((10#$item / 1000)))/$item.json"
}
digest_of() { doc_of "$1" "$2" | sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/'; }
# The content digests named by every record document of the history
record_digests() {
	G "$1" ls-tree -r --name-only main records/ | grep -v -- '-XH/' | sed 's/^/main:/' |
		G "$1" cat-file --batch | grep -o '"digest":"sha256:[0-9a-f]*"' | cut -d: -f3 | tr -d '"' | sort -u
}

echo "== due"
A=$T/a
c -A "$A" init --fonds SI01 >/dev/null
{ receipt R-1 "$ID1" contribution 2010-03-01T09:00:00+08:00 "r1 缴费"; echo
  receipt R-2 "$ID2" contribution 2010-12-31T23:59:59+08:00 "r2 缴费"; echo
  receipt R-3 "$ID1" consultation 2010-06-01T09:00:00+08:00 "r3 咨询"; echo
  receipt R-4 "$ID2" benefit 2010-05-01T09:00:00+08:00 "r4 待遇"; echo
  receipt R-5 "$ID2" contribution 2026-03-01T09:00:00+08:00 "r5 缴费"; echo
  printf '{"type":"receipt","receipt_no":"R-6","issued_at":"2010-05-01T09:00:00+08:00","agency":"110105","channel":"window","service":"registration","insurance":"pension","subject":{"kind":"org","uscc":"%s","name":"某公司"},"operator":"op-017","summary":"r6 单位登记"}\n' "$USCC"
} > "$T/in.jsonl"
c -A "$A" ingest "$T/in.jsonl" > "$T/acked" 2>/dev/null
expect_eq "six receipts archived" "$(wc -l < "$T/acked")" 6
R1=SI01-SB·2010-D10-JF-000001; R2=SI01-SB·2010-D10-JF-000002; R3=SI01-SB·2010-D10-ZX-000001
R4=SI01-SB·2010-D30-DY-000001; R5=SI01-SB·2026-D10-JF-000001; R6=SI01-SB·2010-Y-DJ-000001
expect_eq "nothing due on 2020-12-31" "$(c -A "$A" disposition due --at 2020-12-31)" ""
expect_eq "due on 2021-01-01: the 2010 ten-year records, in ref order, with their date and kind" \
	"$(c -A "$A" disposition due --at 2021-01-01)" \
	"$R1	2021-01-01	receipt	due	r1 缴费
$R2	2021-01-01	receipt	due	r2 缴费
$R3	2021-01-01	receipt	due	r3 咨询"
expect_eq "the 30-year record from 2041, the 2026 one from 2037, the permanent one never" \
	"$(c -A "$A" disposition due --at 9999-12-31 | cut -f1,2 | tr '\t\n' ' |')" \
	"$R1 2021-01-01|$R2 2021-01-01|$R3 2021-01-01|$R4 2041-01-01|$R5 2037-01-01|"
expect_eq "default: today in the archive's time zone" "$(c -A "$A" disposition due | cut -f1 | tr '\n' ' ')" "$R1 $R2 $R3 "
expect_match "--json" "$(c -A "$A" disposition due --json --at 2021-01-01 | head -1)" \
	"^\{\"ref\":\"$R1\",\"id\":\"[0-9a-f]{64}\",\"kind\":\"receipt\",\"disposal_date\":\"2021-01-01\",\"state\":\"due\",\"summary\":\"r1 缴费\"\}$"
expect_status "a bad date: exit 2" 2 c -A "$A" disposition due --at 2021-02-30
expect_match "names the option" "$(cat "$T/err")" "--at: 2021-02-30: not a real date"
expect_status "no subcommand: exit 2" 2 c -A "$A" disposition

echo "== holds"
out=$(c -A "$A" hold add "SI01-SB-2010-D10-JF-000002" --reason "劳动争议仲裁证据"); st=$?
expect_eq "hold add: exit 0" "$st" 0
expect_match "prints held, ref, event id" "$out" "^held $R2 [0-9a-f]{64}$"
expect_status "holding it again: exit 1" 1 c -A "$A" hold add "$R2" --reason x
expect_match "refused, saying since when and why" "$(cat "$T/out")" "^refused $R2: $R2: already on hold since [0-9T:-]+Z by $(id -un) \(reason \"劳动争议仲裁证据\"\)$"
expect_status "a reason is required: exit 2" 2 c -A "$A" hold add "$R2"
expect_eq "hold list" "$(c -A "$A" hold list | cut -f1,4)" "$R2	劳动争议仲裁证据"
expect_eq "due marks it held" "$(c -A "$A" disposition due | grep "^$R2" | cut -f4)" "held"
expect_match "search marks it" "$(c -A "$A" search --text r2)" "	\[held\] r2 缴费$"
expect_status "a held record cannot be proposed: exit 1" 1 c -A "$A" disposition propose "$R2" --reason "保管期满"
expect_match "refused naming the record and the hold" "$(cat "$T/out")" "^refused $R2: $R2 is on hold since .*劳动争议仲裁证据.*cannot be proposed"
expect_status "hold release: exit 0" 0 c -A "$A" hold release "$R2" --reason "仲裁结束"
expect_match "prints released" "$(cat "$T/out")" "^released $R2 [0-9a-f]{64}$"
expect_status "releasing it again: exit 1" 1 c -A "$A" hold release "$R2" --reason x
expect_eq "no hold left" "$(c -A "$A" hold list)" ""

echo "== proposals"
commits=$(G "$A" rev-list --count main)
expect_status "refusals: exit 1" 1 c -A "$A" disposition propose "$R1" "$R4" "$R6" "$R5" --reason "保管期满"
expect_match "not yet due, with the date" "$(cat "$T/out")" "^refused $R4: $R4 is not due for disposal until 2041-01-01$"
expect_match "permanent" "$(cat "$T/out")" "^refused $R6: $R6 is kept permanently \(retention Y\)$"
expect_match "not due either" "$(cat "$T/out")" "^refused $R5: .*until 2037-01-01$"
expect_match "and no list is made" "$(cat "$T/err")" "3 of 4 records refused: no destruction list was made"
expect_eq "nothing committed" "$(G "$A" rev-list --count main)" "$commits"
expect_status "no --reason: exit 2" 2 c -A "$A" disposition propose "$R1"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v useradd >/dev/null; then
	# Two OS identities.  The archive belongs to root (keys 0600); a process
	# acting for a user keeps that user as its real uid, which custos records
	# as the actor, and root's effective uid, with which it may use the keys
	# (a privileged front such as custosd does the same for its clients).
	for u in custos-alice custos-bob; do
		id "$u" >/dev/null 2>&1 || useradd -r -M -N -s /usr/sbin/nologin "$u" || bad "useradd $u"
	done
	as() { local u=$1; shift; setpriv --ruid "$u" --euid 0 --clear-groups "$CUSTOS" "$@"; }
	ALICE_UID=$(id -u custos-alice)

	echo "== propose (alice), approve (bob)"
	out=$(as custos-alice -A "$A" disposition propose "$R1" "SI01-SB-2010-D10-JF-000002" --reason "保管期满，经鉴定无保存价值" 2>"$T/err"); st=$?
	expect_eq "propose: exit 0" "$st" 0
	expect_match "prints the list's ref and id" "$out" "^SI01-SB·[0-9]{4}-Y-XH-000001 [0-9a-f]{64}$"
	L1=$(echo "$out" | cut -d' ' -f1)
	expect_match "and how to approve it" "$(cat "$T/err")" "another user approves it: custos disposition approve $L1"
	expect_eq "the list is a record: search finds it" "$(c -A "$A" search --type disposal_list | cut -f1,3)" "$L1	disposal_list"
	doc=$(c -A "$A" get --json "$L1" 2>/dev/null)
	expect_match "it names the proposer, the reason, each record with its objects and disposal date" "$doc" \
		"\"disposal_list\":\{\"due_on\":\"[0-9-]{10}\",\"proposed_at\":\"[^\"]+\",\"proposed_by\":\{\"uid\":$ALICE_UID,\"user\":\"custos-alice\"\},\"reason\":\"保管期满，经鉴定无保存价值\",\"records\":\[\{\"disposal_date\":\"2021-01-01\",\"id\":\"[0-9a-f]{64}\",\"kind\":\"receipt\",\"objects\":\[\{\"digest\":\"sha256:[0-9a-f]{64}\",\"size\":[0-9]+\}\],\"ref\":\"$R1\""
	expect_eq "kept permanently" "$(c -A "$A" disposition due --at 9999-12-31 | cut -f1 | grep -c XH)" 0
	expect_eq "due: the two are proposed" "$(c -A "$A" disposition due | grep -c "	proposed $L1	")" 2
	expect_status "the same record on a second list: exit 1" 1 c -A "$A" disposition propose "$R1" --reason x
	expect_match "names the open list" "$(cat "$T/out")" "is already on the open destruction list $L1$"
	expect_status "the proposer cannot approve: exit 1" 1 as custos-alice -A "$A" disposition approve "$L1"
	expect_match "refused, naming the proposer" "$(cat "$T/out")" "^refused $L1: $L1 was proposed by custos-alice \(uid $ALICE_UID\): another user must approve it$"
	extract "$A" "$T/before" > "$T/before.list"
	d1=$(digest_of "$A" "$R1"); d2=$(digest_of "$A" "$R2")
	packs_before=$(ls "$A/objects/packs")
	out=$(as custos-bob -A "$A" disposition approve "$L1" 2>"$T/err"); st=$?
	expect_eq "another user approves: exit 0" "$st" 0
	expect_eq "prints each record disposed of, each object removed, then the approval" \
		"$(echo "$out" | sed 's/ [0-9a-f]\{64\}$/ ID/; s/ [0-9]* packs\/pack-[0-9a-f]*\.tar$/ N PACK/')" \
		"disposed $R1
disposed $R2
$(printf 'removed sha256:%s N PACK\n' "$d1" "$d2" | sort)
approved $L1 ID"
	expect_match "a summary" "$(cat "$T/err")" "2 records disposed of; 2 objects removed \([0-9]+ bytes\), 0 kept"
	doc=$(c -A "$A" get --json "$L1" 2>/dev/null)
	expect_match "the list's approved revision names the approver and when" "$doc" "\"approval\":\{\"approved_at\":\"[^\"]+\",\"approved_by\":\{\"uid\":$(id -u custos-bob),\"user\":\"custos-bob\"\},\"objects_kept\":\[\],\"objects_removed\":\[\{\"digest\":\"sha256:"
	expect_match "revision 2, superseding the proposal" "$doc" "\"revision\":2,.*\"supersedes\":\"[0-9a-f]{64}\""
	expect_status "approving twice: exit 1" 1 as custos-bob -A "$A" disposition approve "$L1"
	expect_match "refused" "$(cat "$T/out")" "^refused $L1: $L1 was already approved on .* by custos-bob$"

	echo "== the objects are gone, the others intact"
	extract "$A" "$T/after" > "$T/after.list"
	expect_eq "exactly the two objects are gone" "$(comm -23 "$T/before.list" "$T/after.list" | tr '\n' ' ')" "$(printf '%s\n' "$d1" "$d2" | sort | tr '\n' ' ')"
	expect_eq "nothing else changed" "$(comm -13 "$T/before.list" "$T/after.list")" ""
	check "every object left hashes to its name (tar, sha256sum)" sums_ok "$T/after"
	expect_nomatch "the old pack was removed" "$(ls "$A/objects/packs")" "$packs_before"
	expect_eq "packs are named by their digest" "$(cd "$A/objects/packs" && for p in pack-*.tar; do [ "pack-$(sha256sum "$p" | cut -c1-64).tar" = "$p" ] || echo "$p"; done)" ""
	nbad=0; n=2
	for r in "$R3" "$R4" "$R5" "$R6"; do
		n=$((n + 1))
		c -A "$A" get --content -o "$T/content.$n" "$r" 2>/dev/null || nbad=$((nbad + 1))
		printf '%s' "$(sed -n ${n}p "$T/in.jsonl")" | cmp -s - "$T/content.$n" || nbad=$((nbad + 1))
	done
	expect_eq "the other records of the pack: get --content gives the exact bytes received" "$nbad" 0
	expect_status "the disposed record's document: exit 0" 0 c -A "$A" get "$R1"
	expect_match "with a note naming the list" "$(cat "$T/err")" "^custos: $R1: content disposed of on [0-9T:-]+Z by destruction list $L1 \(approved by custos-bob\); the document remains$"
	expect_status "its content: exit 2" 2 c -A "$A" get --content "$R1"
	expect_match "naming the list" "$(cat "$T/err")" "^custos: get: $R1: its content was disposed of on .* by destruction list $L1 "
	expect_match "search still finds it, marked" "$(c -A "$A" search --text r1)" "^$R1	.*	\[disposed\] r1 缴费$"
	expect_match "json: disposed by which list" "$(c -A "$A" search --json --text r1)" "\"disposed\":\{\"list\":\"$L1\",\"at\":\""
	expect_eq "no longer due" "$(c -A "$A" disposition due | cut -f1)" "$R3"
	expect_status "propose it again: exit 1" 1 c -A "$A" disposition propose "$R1" --reason x
	expect_match "already disposed of" "$(cat "$T/out")" "its content was already disposed of on"
	expect_status "hold it: exit 1" 1 c -A "$A" hold add "$R1" --reason x
	expect_status "amend it: exit 2" 2 c -A "$A" amend "$R1" --set summary=x --reason x
	expect_match "closed" "$(cat "$T/err")" "a disposed record takes no new revision"

	echo "== trace"
	tr=$(c -A "$A" trace "$R2")
	expect_eq "the life of a record: ingested, held, released, proposed, disposed" "$(echo "$tr" | cut -f2 | grep -v verified | tr '\n' ' ')" "ingested held released proposed disposed "
	expect_match "the hold with its reason" "$tr" "	held	$(id -un) \(uid $(id -u)\)	legal hold added, reason \"劳动争议仲裁证据\"	commit [0-9a-f]{12}	leaf [0-9]+"
	expect_match "the proposal by alice" "$tr" "	proposed	custos-alice \(uid $ALICE_UID\)	proposed for disposal on destruction list $L1 \(2 records\), reason \"保管期满，经鉴定无保存价值\""
	expect_match "the disposal by bob" "$tr" "	disposed	custos-bob \(uid [0-9]+\)	content disposed of: destruction list $L1 approved \(2 records, 2 objects removed\)"
	expect_eq "the list's own life" "$(c -A "$A" trace "$L1" | cut -f2,3 | grep -v -e '^accessed' -e '^verified' | sed 's/ (uid [0-9]*)//' | tr '\t\n' ' |')" "ingested custos-alice|approved custos-bob|"
	expect_nomatch "no ID number in clear in a trace or a commit message" "$tr $(G "$A" log --format=%B main)" "$ID1|$ID2"

	echo "== verify"
	expect_status "verify after the disposal: exit 0" 0 c -A "$A" verify
	expect_match "disposed objects absent as they should be" "$(cat "$T/out")" "2 disposed of and absent as they should be\), log size [0-9]+: no problem$"
	W=$T/w; rm -rf "$W"; cp -a "$A" "$W"
	cp "$T/before/sha256/${d1:0:2}/${d1:2}" "$W/objects/sha256/${d1:0:2}/${d1:2}" 2>/dev/null ||
		{ mkdir -p "$W/objects/sha256/${d1:0:2}"; cp "$T/before/sha256/${d1:0:2}/${d1:2}" "$W/objects/sha256/${d1:0:2}/${d1:2}"; }
	expect_status "a disposed object back on disk: exit 1" 1 c -A "$W" verify
	expect_match "named with its list" "$(cat "$T/out")" "^object $d1: disposed of by destruction list $L1 on .* but still present \(a loose file\)$"

	echo "== a hold since the proposal blocks the approval"
	out=$(as custos-alice -A "$A" disposition propose "$R3" --reason "保管期满" 2>/dev/null)
	L2=$(echo "$out" | cut -d' ' -f1)
	expect_match "a second list" "$L2" "-Y-XH-000002$"
	c -A "$A" hold add "$R3" --reason "审计调阅" >/dev/null
	expect_status "approval refused: exit 1" 1 as custos-bob -A "$A" disposition approve "$L2"
	expect_match "naming the held record" "$(cat "$T/out")" "^refused $R3: $R3 was put on hold on .*审计调阅.*: release the hold, or reject this list$"
	check "its object is still there" c -A "$A" get --content -o "$T/r3.out" "$R3"
	c -A "$A" hold release "$R3" --reason "审计结束" >/dev/null
	expect_status "released: the approval goes through" 0 as custos-bob -A "$A" disposition approve "$L2"
	expect_eq "and trace shows it all" "$(c -A "$A" trace "$R3" | cut -f2 | grep -v verified | tr '\n' ' ')" "ingested accessed proposed held accessed released disposed "
	expect_status "a closed list cannot be rejected: exit 1" 1 c -A "$A" disposition reject "$L2" --reason x
	expect_match "refused" "$(cat "$T/out")" "^refused $L2: $L2 was already approved"

	echo "== loose objects"
	B=$T/loose
	sed 's/^pack_threshold = 65536;/pack_threshold = 0;/' "$HERE/../../conf/archive.conf" > "$T/loose.conf"
	c -A "$B" init --fonds SI01 --conf "$T/loose.conf" >/dev/null
	c -A "$B" ingest "$T/in.jsonl" >/dev/null 2>&1
	expect_eq "every object is loose" "$(find "$B/objects/sha256" -type f | wc -l) $(ls "$B/objects/packs" | wc -l)" "6 0"
	dl=$(digest_of "$B" "$R3")
	check "$R3's loose file" test -f "$B/objects/sha256/${dl:0:2}/${dl:2}"

	echo "== reject"
	LR=$(as custos-alice -A "$B" disposition propose "$R1" "$R3" --reason r 2>/dev/null | cut -d' ' -f1)
	expect_status "reject needs a reason: exit 2" 2 as custos-bob -A "$B" disposition reject "$LR"
	out=$(as custos-bob -A "$B" disposition reject "$LR" --reason "鉴定意见：继续保存" 2>/dev/null); st=$?
	expect_eq "reject: exit 0" "$st" 0
	expect_match "prints the list and its new revision" "$out" "^rejected $LR [0-9a-f]{64}$"
	expect_eq "its records are due again, not proposed" "$(c -A "$B" disposition due | cut -f4 | sort -u)" "due"
	expect_status "a rejected list cannot be approved: exit 1" 1 as custos-bob -A "$B" disposition approve "$LR"
	expect_match "says so" "$(cat "$T/out")" "was rejected on .* by custos-bob: it can no longer be approved$"
	expect_match "trace" "$(c -A "$B" trace "$R1" | cut -f2,4)" "rejected	destruction list $LR rejected, reason \"鉴定意见：继续保存\""
	check "nothing was removed" test -f "$B/objects/sha256/${dl:0:2}/${dl:2}"
	LB=$(as custos-alice -A "$B" disposition propose "$R3" --reason r 2>/dev/null | cut -d' ' -f1)
	out=$(as custos-bob -A "$B" disposition approve "$LB" 2>/dev/null)
	expect_match "removed, loose" "$out" "^removed sha256:$dl [0-9]+ loose$"
	check "the file is gone" test ! -e "$B/objects/sha256/${dl:0:2}/${dl:2}"
	expect_eq "the other five remain" "$(find "$B/objects/sha256" -type f | wc -l)" 5
	check "verify: exit 0" c -A "$B" verify
	f=$(find "$B/objects/sha256" -type f | head -1); rm -f "$f"
	expect_status "a loose object of a live record removed by hand: exit 1" 1 c -A "$B" verify
	expect_match "is a problem" "$(cat "$T/out")" "the record's content object is missing$"

	echo "== reindex rebuilds holds and disposals from the history"
	c -A "$A" hold add "$R4" --reason "长期保存争议" >/dev/null
	state() { c -A "$1" hold list; c -A "$1" disposition due --at 9999-12-31; c -A "$1" search --limit 0 --json; c -A "$1" search --type disposal_list --json; }
	before=$(state "$A")
	rm -rf "$A/index" && mkdir "$A/index"
	expect_eq "the index deleted: the same holds, due list, marks" "$(state "$A")" "$before"
	c -A "$A" reindex >/dev/null
	expect_eq "after reindex: the same" "$(state "$A")" "$before"
	check "verify after reindex" c -A "$A" verify
	expect_status "a reason holding an ID number is refused: exit 2" 2 c -A "$A" hold add "$R5" --reason "本人 $ID1 申请"
	expect_nomatch "without repeating it" "$(cat "$T/err")" "$ID1"
	mdb_dump -a "$A/index" > "$T/index.dump" 2>/dev/null || mdb_dump -n -a "$A/index/data.mdb" > "$T/index.dump"
	leak=""; for id in "$ID1" "$ID2"; do grep -q "$id" "$T/index.dump" && leak="$leak $id"; done
	expect_eq "no ID number in clear in the index" "$leak" ""

	echo "== an approval killed with SIGKILL, then run again"
	S=$T/kill-base
	sed 's/^batch_size = 10000;/batch_size = 1500;/' "$HERE/../../conf/archive.conf" > "$T/kill.conf"
	c -A "$S" init --fonds SI03 --conf "$T/kill.conf" >/dev/null
	"$GEN" 4000 21 K | sed 's/"issued_at":"2026-/"issued_at":"1990-/' > "$T/kill.jsonl"
	c -A "$S" ingest "$T/kill.jsonl" >/dev/null 2>&1
	c -A "$S" disposition due | cut -f1 > "$T/due.keys"
	ndue=$(wc -l < "$T/due.keys")
	check "most records are due ($ndue)" test "$ndue" -gt 2500
	LK=$(as custos-alice -A "$S" disposition propose $(cat "$T/due.keys") --reason "批量到期销毁" 2>/dev/null | cut -d' ' -f1)
	expect_match "a list of $ndue records" "$LK" "-Y-XH-000001$"
	record_digests "$S" > "$T/all.digests"
	G "$S" show "main:$(G "$S" ls-tree -r --name-only main records/ | grep -- '-XH/')" | grep -o '"digest":"sha256:[0-9a-f]*"' | cut -d: -f3 | tr -d '"' | sort -u > "$T/gone.digests"
	comm -23 "$T/all.digests" "$T/gone.digests" > "$T/kept.digests"
	expect_eq "one object per record proposed" "$(wc -l < "$T/gone.digests")" "$ndue"
	# how long an uninterrupted approval takes, to kill at moments across it
	cp -a "$S" "$T/timing"
	t0=$(date +%s%N); as custos-bob -A "$T/timing" disposition approve "$LK" >/dev/null 2>&1; t1=$(date +%s%N)
	span=$(( (t1 - t0) / 1000000 )); [ "$span" -lt 50 ] && span=50
	# a round: kill the approval after `ms` milliseconds, or (after_commit) as
	# soon as its commit lands plus `ms`, then run it again and check
	bad=0; killed=0; between=0
	round() {
		local i=$1 ms=$2 after_commit=$3 head pid st
		K=$T/killed; rm -rf "$K"; cp -a "$S" "$K"
		head=$(cat "$K/history.git/refs/heads/main")
		setpriv --ruid custos-bob --euid 0 --clear-groups "$CUSTOS" -A "$K" disposition approve "$LK" >/dev/null 2>&1 &
		pid=$!
		if [ "$after_commit" = 1 ]; then
			while kill -0 "$pid" 2>/dev/null && [ "$(cat "$K/history.git/refs/heads/main" 2>/dev/null)" = "$head" ]; do :; done
		fi
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		kill -9 "$pid" 2>/dev/null && killed=$((killed + 1)); wait "$pid" 2>/dev/null
		# committed but not all removed yet: the case a re-run must finish
		if [ "$(cat "$K/history.git/refs/heads/main")" != "$head" ] &&
		   [ "$(extract "$K" "$T/kx" | comm -12 "$T/gone.digests" - | wc -l)" != 0 ]; then
			between=$((between + 1))
		fi
		as custos-bob -A "$K" disposition approve "$LK" > "$T/rerun" 2>&1; st=$?
		[ -n "${DISPO_DEBUG:-}" ] && echo "    round $i ($ms ms$([ "$after_commit" = 1 ] && echo " after the commit")): re-run exit $st"
		if [ "$st" != 0 ] && ! grep -q "was already approved" "$T/rerun"; then
			bad=$((bad + 1)); echo "    round $i ($ms ms): re-run exit $st: $(head -2 "$T/rerun")"
		fi
		c -A "$K" verify > "$T/kv" 2>&1 || { bad=$((bad + 1)); echo "    round $i ($ms ms): $(head -3 "$T/kv")"; }
		extract "$K" "$T/kx" > "$T/k.present"
		if [ "$(comm -23 "$T/kept.digests" "$T/k.present" | wc -l)" != 0 ]; then
			bad=$((bad + 1)); echo "    round $i ($ms ms): objects of records not disposed of are missing"
		fi
		if [ "$(comm -12 "$T/gone.digests" "$T/k.present" | wc -l)" != 0 ]; then
			bad=$((bad + 1)); echo "    round $i ($ms ms): disposed objects are still there"
		fi
		sums_ok "$T/kx" || { bad=$((bad + 1)); echo "    round $i: an object does not hash to its name"; }
	}
	for i in 1 2 3 4 5 6; do round "$i" $((span * i / 7)) 0; done
	round 7 0 1; round 8 10 1; round 9 40 1
	check "approvals were killed mid-way ($killed of 9)" test "$killed" -gt 3
	check "some between the commit and the end of the removal ($between)" test "$between" -gt 0
	expect_eq "after every kill and a re-run: verify passes, nothing lost, the disposed objects gone" "$bad" 0
	expect_eq "the list was approved once" "$(G "$K" log --format=%s main | grep -c "^disposition: destruction list $LK approved")" 1
else
	echo "  (skipped: acting as two OS users needs root, setpriv and useradd)"
fi

summary
