#!/usr/bin/env bash
# custos export: BagIt bags for hand-over, in every output form, checked three
# ways that do not trust the exporter's own word: custos bag validate, the
# manifests run through coreutils' sha256sum -c / sha512sum -c inside the
# bag, and every inclusion proof through tests/tools/verify_proof.c (OpenSSL
# only).  Debian 12 packages no BagIt validator (no bagit-python, nothing
# found by `apt-cache search bagit`), so coreutils stands in for one.  Then
# the round trip of a case into a second archive, refusals, the access
# event, a full disk and a killed export.
#   bash tests/e2e/export.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
VP=$(realpath "${VERIFY_PROOF:-build/verify_proof}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-export.XXXXXX)
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
A=$T/archive
export CUSTOS_ARCHIVE=$A
c() { "$CUSTOS" "$@"; }
G="git -c core.quotePath=false --git-dir=$A/history.git"
commits() { $G rev-list --count main; }

ID1=$(idno 110105 19491231 002)
ID2=$(idno 440524 18800101 001)

# manifests CHECKS DIR: every manifest and tag manifest of the bag at DIR
# through coreutils (paths percent-decoded first: RFC 8493 encodes %, CR, LF)
manifests() {
	(cd "$1" && for m in manifest-sha256.txt manifest-sha512.txt tagmanifest-sha256.txt \
		tagmanifest-sha512.txt; do
		test -f "$m" || exit 1
		case $m in *sha512*) sum=sha512sum ;; *) sum=sha256sum ;; esac
		sed 's/%25/%/g' "$m" | $sum -c --quiet --strict - || exit 1
	done)
}

# extract FILE DIR: unpacks an exported archive with the stock tools
extract() {
	mkdir -p "$2"
	case $1 in
	*.zip) (cd "$2" && LC_ALL=C.UTF-8 unzip -q "$1") ;;
	*.tar.zst) tar --zstd -C "$2" -xf "$1" ;;
	*) tar -C "$2" -xf "$1" ;;
	esac
}

echo "== set-up: receipts, one amended"
c init --fonds SI01 --name test.custos/SI01 >/dev/null
mkdir -p "$T/in" "$T/o"
{ receipt R-2026-000001 "$ID1" registration; echo; } > "$T/in/one.json"
receipt R-2026-000002 "$ID1" contribution 2026-10-01T08:00:00+08:00 "缴费基数核定" > "$T/in/two.json"
receipt R-2026-000003 "$ID2" benefit 2026-09-15T10:00:00+08:00 "养老金领取" 李四 > "$T/in/three.json"
c ingest "$T/in/one.json" "$T/in/two.json" "$T/in/three.json" > "$T/acked" 2>/dev/null
REF1=$(grep one.json "$T/acked" | cut -d' ' -f1)
REF2=$(grep two.json "$T/acked" | cut -d' ' -f1)
R1=$(echo "$REF1" | sed 's/·/-/')
c amend "$REF1" --set summary=参保登记更正 --reason 录入错误 >/dev/null
c keys --vkey > "$T/vkey"

echo "== a receipt in every form"
for f in tar tar.zst tar.gz tar.xz zip folder; do
	case $f in folder) out=$T/o/r1 ;; *) out=$T/o/r1.$f ;; esac
	n0=$(commits)
	expect_status "$f: export exit 0" 0 c export "$REF1" -o "$out" --purpose 移交
	expect_match "$f: one summary line" "$(cat "$T/out")" "^exported 1 record, 1 file, $(wc -c < "$T/in/one.json") bytes to $out\$"
	expect_eq "$f: one commit, the access event" "$(commits)" $((n0 + 1))
	expect_status "$f: custos bag validate" 0 c bag validate "$out"
	if [ $f = folder ]; then
		bag=$out
		expect_eq "$f: the folder is the owner's alone" "$(stat -c %a "$out")" 700
	else
		expect_eq "$f: the file is the owner's alone" "$(stat -c %a "$out")" 600
		extract "$out" "$T/x/$f"
		bag=$T/x/$f/r1
		check "$f: one top folder named after the file" test -f "$bag/bagit.txt"
	fi
	check "$f: sha256sum -c and sha512sum -c pass on every manifest inside the bag" manifests "$bag"
	check "$f: data/ holds the exact bytes received" cmp "$T/in/one.json" "$bag/data/$R1.json"
	expect_eq "$f: bagit.txt" "$(cat "$bag/bagit.txt")" "BagIt-Version: 1.0
Tag-File-Character-Encoding: UTF-8"
done

echo "== what the receipt bag holds"
B=$T/x/tar/r1
expect_eq "both revisions' documents" "$(ls "$B/custos/records" | tr '\n' ' ')" "$R1.json $R1.r2.json "
expect_eq "each with a proof, and the export event's" "$(ls "$B/custos/proofs" | tr '\n' ' ')" "$R1.proof $R1.r2.proof export-event.proof "
$G show "main:$($G ls-tree -r --name-only main | grep "/000001.r2.json$" | grep SB | head -1)" > "$T/r2.json"
check "the current document is byte for byte the logged one" cmp "$T/r2.json" "$B/custos/records/$R1.r2.json"
expect_eq "the verifier key is the archive's" "$(cat "$B/custos/vkey")" "$(cat "$T/vkey")"
for d in "$R1" "$R1.r2"; do
	expect_match "verify_proof: $d" "$("$VP" inclusion "$(cat "$T/vkey")" "$B/custos/proofs/$d.proof" "$B/custos/records/$d.json")" "^OK: entry [0-9]+ is in test.custos/SI01 at size [0-9]+$"
done
expect_match "verify_proof: the export's own access event" "$("$VP" inclusion "$(cat "$T/vkey")" "$B/custos/proofs/export-event.proof" "$B/custos/export-event.json")" "^OK: "
check "the proofs are against the exported checkpoint" cmp <(sed '1,/^$/d' "$B/custos/proofs/$R1.proof") "$B/custos/checkpoint"
sed 's/参保登记更正/参保登记/' "$B/custos/records/$R1.r2.json" > "$T/altered.json"
expect_status "an altered document fails the proof" 1 "$VP" inclusion "$(cat "$T/vkey")" "$B/custos/proofs/$R1.r2.proof" "$T/altered.json"
c init -A "$T/other" --fonds SI09 --name other.custos/SI09 >/dev/null
expect_status "another archive's key fails" 1 "$VP" inclusion "$(c -A "$T/other" keys --vkey)" "$B/custos/proofs/$R1.proof" "$B/custos/records/$R1.json"
expect_match "the document names the content's digest" "$(cat "$B/custos/records/$R1.r2.json")" "\"content\":\\{\"digest\":\"sha256:$(sha256sum "$B/data/$R1.json" | cut -c1-64)\""
info=$(cat "$B/bag-info.txt")
expect_match "bag-info: Payload-Oxum" "$info" "^Payload-Oxum: $(wc -c < "$T/in/one.json").1$"
expect_match "bag-info: External-Identifier is the receipt's identity" "$info" "^External-Identifier: 110105/R-2026-000001$"
expect_match "bag-info: Internal-Sender-Identifier is the ref" "$info" "^Internal-Sender-Identifier: $REF1$"
expect_match "bag-info: Source-Organization" "$info" "^Source-Organization: test.custos/SI01$"
expect_match "bag-info: Bagging-Date" "$info" "^Bagging-Date: [0-9]{4}-[0-9]{2}-[0-9]{2}$"
expect_match "bag-info: Bag-Size" "$info" "^Bag-Size: [0-9]+\.[0-9] KB$"
check "a README tells how to check" grep -q "verify_proof inclusion" "$B/custos/README.txt"
echo "altered" >> "$B/data/$R1.json"
check "an altered data file fails sha256sum -c" test "$(manifests "$B" 2>/dev/null; echo $?)" != 0
expect_status "and custos bag validate" 1 c bag validate "$B"

echo "== the export is an access event"
ev=$($G show "main:$($G show --name-only --format= main | grep '^events/')")
expect_match "action export, output bag" "$ev" '"action":"export"'
expect_match "output bag" "$ev" '"output":"bag"'
expect_match "unmasked: the documents hold ID numbers in clear" "$ev" '"unmasked":true'
expect_match "with the purpose" "$ev" '"purpose":"移交"'
expect_match "naming the record" "$ev" "\"records\":\\[\\{\"id\":\"[0-9a-f]{64}\",\"ref\":\"$REF1\"\\}\\]"
expect_match "the commit names the ref, not the person" "$($G log -1 --format=%s main)" "^access: export $REF1 \(unmasked\)$"
tr=$(c trace "$REF1")
expect_eq "trace shows every export" "$(echo "$tr" | grep -c $'\taccessed\t.*export of the bag, personal data in clear, purpose "移交"')" 6
expect_nomatch "no ID number in clear in the trace" "$tr" "$ID1"
expect_nomatch "nor in any commit message" "$($G log --format=%B main)" "$ID1|$ID2"

echo "== refusals"
n0=$(commits)
cp "$T/o/r1.zip" "$T/r1.zip.before"
expect_status "OUT exists (a file): exit 1" 1 c export "$REF2" -o "$T/o/r1.zip"
expect_match "says so" "$(cat "$T/err")" "^custos: export: $T/o/r1.zip: already exists; custos export never overwrites$"
check "the file is unchanged" cmp "$T/o/r1.zip" "$T/r1.zip.before"
expect_status "OUT exists (a folder): exit 1" 1 c export "$REF2" -o "$T/o/r1"
expect_status "an archive type custos does not write: exit 2" 2 c export "$REF2" -o "$T/o/r.tgz"
expect_status "a missing parent folder: exit 2" 2 c export "$REF2" -o "$T/nowhere/r.tar"
expect_status "no such record: exit 1" 1 c export SI01-SB-2026-D100-DJ-000999 -o "$T/o/none.tar"
expect_status "a search that finds nothing: exit 1" 1 c export --search --text 没有这个词 -o "$T/o/none.tar"
expect_match "says so" "$(cat "$T/err")" "the search found no record; nothing exported"
expect_status "no -o: usage" 2 c export "$REF2"
expect_status "KEY with --search: usage" 2 c export --search "$REF2" -o "$T/o/none.tar"
expect_status "filters without --search: usage" 2 c export --text x "$REF2" -o "$T/o/none.tar"
expect_eq "nothing was recorded by a refused export" "$(commits)" "$n0"
check "and nothing written" test ! -e "$T/o/none.tar" -a ! -e "$T/o/r.tgz"
expect_eq "no temporary file left behind" "$(ls -A "$T/o" | grep -c '^\.')" 0

echo "== a search result"
expect_status "--search --person: exit 0" 0 c export --search --person "$ID1" -o "$T/o/p.zip" --purpose 审计
expect_match "two records" "$(cat "$T/out")" "^exported 2 records, 2 files, [0-9]+ bytes to $T/o/p.zip$"
expect_status "custos bag validate" 0 c bag validate "$T/o/p.zip"
extract "$T/o/p.zip" "$T/x/p"
check "sha256sum -c and sha512sum -c" manifests "$T/x/p/p"
R2=$(echo "$REF2" | sed 's/·/-/')
check "one folder per record" test -f "$T/x/p/p/data/$R1/$R1.json" -a -f "$T/x/p/p/data/$R2/$R2.json"
expect_eq "every document of both (three revisions)" "$(ls "$T/x/p/p/custos/records" | wc -l)" 3
nok=0
for d in "$R1" "$R1.r2" "$R2"; do
	"$VP" inclusion "$(cat "$T/vkey")" "$T/x/p/p/custos/proofs/$d.proof" "$T/x/p/p/custos/records/$d.json" >/dev/null || nok=$((nok + 1))
done
expect_eq "every proof verifies" "$nok" 0
expect_match "the event names both records" "$($G show "main:$($G show --name-only --format= main | grep '^events/')")" "\"ref\":\"$REF1\".*\"ref\":\"$REF2\"|\"ref\":\"$REF2\".*\"ref\":\"$REF1\""
expect_match "the commit counts them" "$($G log -1 --format=%s main)" "^access: export 2 records \(unmasked\)$"
expect_match "each record's trace shows it" "$(c trace "$REF2")" 'export of the bag, personal data in clear, purpose "审计"'
expect_status "--limit 1" 0 c export --search --person "$ID1" --limit 1 -o "$T/o/p1"
expect_match "one record" "$(cat "$T/out")" "^exported 1 record, "
expect_status "a bad filter is a usage error" 2 c export --search --person 110105194912310021 -o "$T/o/bad"
expect_match "naming the option" "$(cat "$T/err")" "--person"

echo "== a case: names that need percent-encoding, and the round trip"
CB=$T/case
mkdir -p "$CB/data/申请材料" "$CB/data/medical"
printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$CB/bagit.txt"
echo "工伤认定申请表" > "$CB/data/申请材料/application form.txt"
printf '%%PDF-1.4\n%% fake report\n' > "$CB/data/medical/report 100%.pdf"
echo "身份证复印件" > "$CB/data/medical/id-scan.txt"
echo "cover" > "$CB/data/cover.txt"
printf 'External-Identifier: GS-2026-0001\nCase-Type: work_injury_determination\nSubject-Id: %s\nSubject-Name: 张三\nInsurance: work_injury\nTitle: 工伤认定 张三 2026\nSource-Organization: 某区人力资源和社会保障局\nBagging-Date: 2026-11-20\nContact-Name: 王五\nContact-Name: 赵六\n' "$ID1" > "$CB/bag-info.txt"
(cd "$CB" && find data -type f | LC_ALL=C sort | while read -r f; do printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$(printf '%s' "$f" | sed 's/%/%25/g')"; done > manifest-sha256.txt)
out=$(c ingest "$CB" 2>/dev/null)
CREF=$(echo "$out" | cut -d' ' -f1)
expect_match "the case is archived" "$CREF" "^SI01-.*-000001$"
CR=$(echo "$CREF" | sed 's/·/-/')
expect_status "export the case as .tar.zst" 0 c export "$CREF" -o "$T/o/case.tar.zst"
expect_match "four files" "$(cat "$T/out")" "^exported 1 record, 4 files, [0-9]+ bytes to $T/o/case.tar.zst$"
expect_status "custos bag validate" 0 c bag validate "$T/o/case.tar.zst"
extract "$T/o/case.tar.zst" "$T/x/case"
CX=$T/x/case/case
expect_match "% in a name is %25 in the manifests" "$(cat "$CX/manifest-sha256.txt")" "^[0-9a-f]{64}  data/medical/report 100%25\.pdf$"
expect_match "and in the sha512 one" "$(cat "$CX/manifest-sha512.txt")" "^[0-9a-f]{128}  data/medical/report 100%25\.pdf$"
check "the file itself has its own name" cmp "$CB/data/medical/report 100%.pdf" "$CX/data/medical/report 100%.pdf"
check "sha256sum -c and sha512sum -c" manifests "$CX"
for f in "申请材料/application form.txt" "medical/report 100%.pdf" "medical/id-scan.txt" cover.txt; do
	check "data/$f as the case lists it" cmp "$CB/data/$f" "$CX/data/$f"
done
expect_match "the case proof verifies" "$("$VP" inclusion "$(cat "$T/vkey")" "$CX/custos/proofs/$CR.proof" "$CX/custos/records/$CR.json")" "^OK: "
info=$(cat "$CX/bag-info.txt")
for l in "External-Identifier: GS-2026-0001" "Case-Type: work_injury_determination" "Subject-Id: $ID1" \
	"Subject-Name: 张三" "Insurance: work_injury" "Title: 工伤认定 张三 2026" \
	"Source-Organization: 某区人力资源和社会保障局" "Bagging-Date: 2026-11-20" \
	"Contact-Name: 王五" "Contact-Name: 赵六" "Internal-Sender-Identifier: $CREF" "Payload-Oxum: $(cat "$CB"/data/*/* "$CB"/data/cover.txt | wc -c).4"; do
	expect_match "bag-info: $l" "$info" "^$l\$"
done
expect_nomatch "no Volume label: the volumes follow the folders" "$info" "^Volume:"

B2=$T/second
c -A "$B2" init --fonds SI02 --name second.custos/SI02 >/dev/null
out=$(c -A "$B2" ingest "$T/o/case.tar.zst" 2>/dev/null); st=$?
expect_eq "the export goes into a second archive: exit 0" "$st" 0
CREF2=$(echo "$out" | cut -d' ' -f1)
files() { c -A "$1" ls --json "$2" 2>/dev/null | sed 's/"ref":"[^"]*",//; s/,"added_in":[0-9]*//'; }
expect_eq "the same files, digests, sizes, media types and volumes" "$(files "$B2" "$CREF2")" "$(files "$A" "$CREF")"
expect_eq "four files in three volumes" "$(c -A "$B2" ls "$CREF2" 2>&1 >/dev/null)" "custos: 4 files in 3 volumes"
summ() { c -A "$1" search --json --case GS-2026-0001 | sed 's/"id":"[^"]*",//; s/"ref":"[^"]*",//'; }
expect_eq "the same case: number, type, title, subject (masked), insurance, time" "$(summ "$B2")" "$(summ "$A")"
$G show "main:$($G ls-tree -r --name-only main | grep "YW.*/000001.json$")" > "$T/case-doc.json"
nok=0
for f in $(c -A "$B2" ls "$CREF2" 2>/dev/null | cut -f1); do
	d=$(c -A "$B2" ls --json "$CREF2" 2>/dev/null | grep "\"ref\":\"$f\"" | sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/')
	c -A "$B2" get --content "$f" --purpose check > "$T/got" || nok=$((nok + 1))
	[ "$(sha256sum < "$T/got" | cut -c1-64)" = "$d" ] || nok=$((nok + 1))
done
expect_eq "every file retrieved from the second archive has its digest" "$nok" 0
expect_status "the second archive verifies" 0 c -A "$B2" verify
expect_status "the same case as .zip (names flagged UTF-8, as Windows writes them)" 0 c export "$CREF" -o "$T/o/case.zip"
expect_status "custos bag validate reads them in the C locale" 0 env LC_ALL=C "$CUSTOS" bag validate "$T/o/case.zip"
B3=$T/third
c -A "$B3" init --fonds SI03 --name third.custos/SI03 >/dev/null
out=$(LC_ALL=C c -A "$B3" ingest "$T/o/case.zip" 2>/dev/null); st=$?
expect_eq "and goes into a third archive: exit 0" "$st" 0
expect_eq "with the same files, digests and volumes" "$(files "$B3" "$(echo "$out" | cut -d' ' -f1)")" "$(files "$A" "$CREF")"

echo "== a case that grew: every revision, replaced bytes kept"
SB=$T/supp
mkdir -p "$SB/data/申请材料"
cp "$CB/bagit.txt" "$SB/"
echo "工伤认定申请表（更正）" > "$SB/data/申请材料/application form.txt"
echo "补充材料" > "$SB/data/申请材料/supplement.txt"
printf 'External-Identifier: GS-2026-0001\nCase-Type: work_injury_determination\n' > "$SB/bag-info.txt"
(cd "$SB" && find data -type f | LC_ALL=C sort | while read -r f; do printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done > manifest-sha256.txt)
c ingest "$SB" >/dev/null 2>&1
expect_status "export the grown case as a folder" 0 c export "$CREF" -o "$T/o/grown"
GX=$T/o/grown
check "custos bag validate" c bag validate "$GX"
check "sha256sum -c and sha512sum -c" manifests "$GX"
check "data/ holds the newest bytes under the name" cmp "$SB/data/申请材料/application form.txt" "$GX/data/申请材料/application form.txt"
check "the replaced bytes are kept under custos/replaced/" cmp "$CB/data/申请材料/application form.txt" "$GX/custos/replaced/$CR/03-0001/申请材料/application form.txt"
nok=0
for d in "$CR" "$CR.r2"; do
	"$VP" inclusion "$(cat "$T/vkey")" "$GX/custos/proofs/$d.proof" "$GX/custos/records/$d.json" >/dev/null || nok=$((nok + 1))
done
expect_eq "both revisions verify" "$nok" 0
expect_status "--search --type case exports the case" 0 c export --search --type case -o "$T/o/cases.tar"
expect_match "one record" "$(cat "$T/out")" "^exported 1 record, 5 files, "

echo "== a full disk"
D=$T/small
mkdir -p "$D"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256k tmpfs "$D" 2>/dev/null; then
	LB=$T/large
	mkdir -p "$LB/data/scans"
	head -c 3000000 /dev/urandom > "$LB/data/scans/scan-0001.bin"
	cp "$CB/bagit.txt" "$LB/"
	printf 'External-Identifier: GS-2026-0002\nCase-Type: work_injury_determination\n' > "$LB/bag-info.txt"
	(cd "$LB" && sha256sum data/scans/scan-0001.bin > manifest-sha256.txt)
	LREF=$(c ingest "$LB" 2>/dev/null | cut -d' ' -f1)
	for f in tar zip tar.zst folder; do
		case $f in folder) out=$D/l ;; *) out=$D/l.$f ;; esac
		expect_status "$f on a full disk: exit 2" 2 c export "$LREF" -o "$out"
		expect_match "$f: one clear line naming OUT" "$(cat "$T/err")" "^custos: export: $out: writing data/scans/scan-0001.bin: No space left on device$"
		expect_eq "$f: nothing left, no OUT, no temporary" "$(ls -A "$D")" ""
	done
	umount "$D"
	expect_status "the archive still verifies" 0 c verify
else
	echo "  (skipped: mounting a small tmpfs needs root)"
fi

echo "== a killed export leaves no OUT"
KB=$T/kbag
mkdir -p "$KB/data"
head -c 40000000 /dev/urandom > "$KB/data/big.bin"
cp "$CB/bagit.txt" "$KB/"
printf 'External-Identifier: GS-2026-0003\nCase-Type: work_injury_determination\n' > "$KB/bag-info.txt"
(cd "$KB" && sha256sum data/big.bin > manifest-sha256.txt)
KREF=$(c ingest "$KB" 2>/dev/null | cut -d' ' -f1)
"$CUSTOS" export "$KREF" -o "$T/o/k.tar.xz" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	ls -A "$T/o" | grep -q '^\.k\.tar\.xz\.tmp\.' && break
	sleep 0.05
done
receipt R-2026-000009 "$ID2" consultation > "$T/in/nine.json"
expect_status "while the bag is written, other writers go on (--wait 0)" 0 c ingest --wait 0 "$T/in/nine.json"
check "the export was still running" kill -0 $pid
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
check "killed while writing: no OUT" test ! -e "$T/o/k.tar.xz"
expect_eq "only a hidden temporary is left" "$(ls -A "$T/o" | grep -c '^\.k\.tar\.xz\.tmp\.')" 1
expect_status "the export runs again to the end" 0 c export "$KREF" -o "$T/o/k.tar"
expect_status "and its bag is valid" 0 c bag validate "$T/o/k.tar"
expect_status "the archive verifies after all of it" 0 c verify

summary
