#!/usr/bin/env bash
# Case files through the command line: bags in every packaging, the output
# lines, ls, get --file, file refs, search, supplements, trace, masking, and
# rejected bags that leave nothing behind.   bash tests/e2e/cases.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-cases.XXXXXX)
trap 'rm -rf "$T"' EXIT
A=$T/archive
c() { "$CUSTOS" -A "$A" "$@"; }
export LC_ALL=C.UTF-8

ID=$(idno 110105 19491231 002)


# state: what the archive holds on disk (history head and every object file)
state() {
	git --git-dir="$A/history.git" rev-parse main
	(cd "$A/objects" && find . -type f | LC_ALL=C sort)
}

c init --fonds SI01 >/dev/null

echo "== a case file as a folder"
B1=$T/GS-0001
mkdir -p "$B1/data/申请材料" "$B1/data/证明"
echo "工伤认定申请表 张三" > "$B1/data/申请材料/申请表.txt"
printf '%%PDF-1.4\n%%fake but PDF by its magic\n' > "$B1/data/证明/诊断证明.bin"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' > "$B1/data/证明/photo.png"
head -c 300000 /dev/urandom > "$B1/data/证明/scan.pdf"
mkbag "$B1" GS-2026-0001 "Case-Type: work_injury_determination" "Subject-Id: $ID" \
	"Subject-Name: 张三" "Insurance: work_injury" "Title: 张三工伤认定" \
	"Source-Organization: 朝阳区社保中心" "Contact-Name: 李四"
expect_status "ingest a bag folder: exit 0" 0 c ingest "$B1"
expect_match "one line: ref id source" "$(cat "$T/out")" "^SI01-YW·2026-D50-GS-000001 [0-9a-f]{64} $B1\$"
expect_match "summary on stderr" "$(cat "$T/err")" "^custos: 1 archived, 0 duplicates, 0 rejected, 1 commit"
REF=SI01-YW-2026-D50-GS-000001

echo "== ls"
expect_status "ls: exit 0" 0 c ls "$REF"
expect_eq "four files" "$(wc -l < "$T/out")" 4
expect_match "line shape: file ref, volume, path, size, media type, digest" "$(head -1 "$T/out")" \
	"^SI01-YW·2026-D50-GS-000001-01-0001	申请材料	申请材料/申请表.txt	[0-9]+	text/plain; charset=utf-8	sha256:[0-9a-f]{64}\$"
expect_match "volumes by top folder, items in path order" "$(cut -f1,3 "$T/out" | tr '\n' '|')" \
	"^SI01-YW·2026-D50-GS-000001-01-0001	申请材料/申请表.txt\|SI01-YW·2026-D50-GS-000001-02-0001	证明/photo.png\|SI01-YW·2026-D50-GS-000001-02-0002	证明/scan.pdf\|SI01-YW·2026-D50-GS-000001-02-0003	证明/诊断证明.bin\|\$"
expect_match "media type from content: PDF magic under .bin" "$(grep 诊断证明 "$T/out" | cut -f5)" "^application/pdf\$"
expect_match "random bytes named .pdf are not PDF" "$(grep scan.pdf "$T/out" | cut -f5)" "^application/octet-stream\$"
expect_match "PNG" "$(grep photo.png "$T/out" | cut -f5)" "^image/png\$"
expect_eq "ls by case number" "$(c ls case:GS-2026-0001 2>/dev/null | wc -l)" 4
expect_match "summary on stderr" "$(cat "$T/err")" "4 files in 2 volumes"
c ls --json "$REF" > "$T/ls.json" 2>/dev/null
expect_match "--json: one object per file" "$(head -1 "$T/ls.json")" '^\{.*"ref":"SI01-YW·2026-D50-GS-000001-01-0001".*"volume":1.*\}$'
expect_status "ls of a receipt is refused" 2 c ls case:NOPE

echo "== get: the document and the files"
c get "$REF" > "$T/doc.json" 2>/dev/null
expect_match "the document is masked" "$(grep -c "$ID" "$T/doc.json")" "^0\$"
expect_match "shows the masked number" "$(cat "$T/doc.json")" "110105\*\*\*\*\*\*\*\*002X"
expect_status "get --content of a case without --file: refused" 2 c get --content "$REF"
expect_match "says how to name a file" "$(cat "$T/err")" "--file PATH"
expect_status "get --file writes one file" 0 c get --content --file 证明/scan.pdf -o "$T/scan.out" "$REF"
check "the exact bytes" cmp "$T/scan.out" "$B1/data/证明/scan.pdf"
expect_status "a file ref as KEY" 0 c get --content -o "$T/form.out" SI01-YW-2026-D50-GS-000001-01-0001
check "the exact bytes" cmp "$T/form.out" "$B1/data/申请材料/申请表.txt"
expect_status "data/ in front is accepted" 0 c get --file data/证明/photo.png -o "$T/photo.out" "$REF"
check "the exact bytes" cmp "$T/photo.out" "$B1/data/证明/photo.png"
expect_status "no such file: exit 2" 2 c get --file 证明/none.pdf "$REF"
expect_status "no such file ref: exit 2" 2 c get --content SI01-YW-2026-D50-GS-000001-03-0001
expect_match "the access names the file in trace" "$(c trace "$REF")" "get of the content of file 证明/scan.pdf"

echo "== every packaging"
n=2
for ext in tar tar.gz tar.xz tar.zst zip; do
	D=$T/pk-$ext
	mkdir -p "$D/data/材料"
	echo "case $ext" > "$D/data/材料/a.txt"
	mkbag "$D" "PK-$ext" "Case-Type: registration_change" "Title: 变更 $ext"
	case $ext in
	tar) tar -C "$T" -cf "$T/pk.$ext" "pk-$ext" ;;
	tar.gz) tar -C "$T" -czf "$T/pk.$ext" "pk-$ext" ;;
	tar.xz) tar -C "$T" -cJf "$T/pk.$ext" "pk-$ext" ;;
	tar.zst) tar -C "$T" --zstd -cf "$T/pk.$ext" "pk-$ext" ;;
	zip) (cd "$T" && zip -qr "pk.$ext" "pk-$ext") ;;
	esac
	expect_status "a bag in .$ext" 0 c ingest "$T/pk.$ext"
	expect_match "archived in the class its Case-Type gives" "$(cat "$T/out")" "^SI01-YW·2026-D100-BG-00000$((n - 1)) "
	n=$((n + 1))
done
D=$T/pk-dot; mkdir -p "$D/data"; echo "case dot" > "$D/data/a.txt"
mkbag "$D" PK-DOT "Case-Type: registration_change"
tar -C "$D" -cf "$T/pk-dot.tar" .
expect_status "a bag packed from inside its folder (tar -C BAG -cf F .): valid" 0 c bag validate "$T/pk-dot.tar"
"$CUSTOS" -A "$T/dot-arch" init --fonds SI01 >/dev/null
expect_status "... and archived (in an archive of its own)" 0 "$CUSTOS" -A "$T/dot-arch" ingest "$T/pk-dot.tar"
expect_match "... as a case" "$(cat "$T/out")" "^SI01-YW·2026-D100-BG-000001 "

echo "== search"
expect_match "--type case" "$(c search --type case --limit 0 | wc -l)" "^6\$"
expect_eq "--type receipt finds none yet" "$(c search --type receipt | wc -l)" 0
expect_status "--type nonsense" 2 c search --type folder
expect_match "--case" "$(c search --case GS-2026-0001)" "^SI01-YW·2026-D50-GS-000001	2026-11-20T00:00:00\+08:00	case:work_injury_determination	work_injury	110105\*\*\*\*\*\*\*\*002X 张三	张三工伤认定\$"
expect_match "--file-name (Chinese pairs)" "$(c search --file-name 诊断证明 | cut -f1)" "^SI01-YW·2026-D50-GS-000001\$"
expect_match "--file-name (ASCII word)" "$(c search --file-name photo | cut -f1)" "^SI01-YW·2026-D50-GS-000001\$"
expect_eq "--file-name is not the title" "$(c search --file-name 工伤认定 | wc -l)" 0
expect_match "--text covers titles" "$(c search --text 工伤认定 | cut -f1)" "^SI01-YW·2026-D50-GS-000001\$"
expect_match "--person finds the case by its Subject-Id" "$(c search --person "$ID" | cut -f1)" "^SI01-YW·2026-D50-GS-000001\$"
expect_match "a file digest resolves to its case" "$(c get sha256:$(sha256sum "$B1/data/证明/scan.pdf" | cut -c1-64) | grep -c '"case_no": "GS-2026-0001"')" "^1\$"

echo "== the ID number stays out of the index and the history's messages"
if command -v mdb_dump >/dev/null; then
	expect_eq "not in the index" "$(for db in $(mdb_dump -l "$A/index" 2>/dev/null); do mdb_dump -p -s "$db" "$A/index"; done | grep -c "$ID")" 0
fi
expect_eq "not in any commit message" "$(git --git-dir="$A/history.git" log --format=%B main | grep -c "$ID")" 0

echo "== documents added later (补充材料)"
S=$T/GS-0001-sup
mkdir -p "$S/data/补充材料" "$S/data/证明"
echo "医疗诊断书" > "$S/data/补充材料/诊断书.txt"
cp "$B1/data/证明/photo.png" "$S/data/证明/photo.png"
mkbag "$S" GS-2026-0001 "Case-Type: work_injury_determination"
(cd "$T" && zip -qr sup.zip GS-0001-sup)
expect_status "a supplement: exit 0" 0 c ingest "$T/sup.zip"
expect_match "the same ref, a new id" "$(cat "$T/out")" "^SI01-YW·2026-D50-GS-000001 [0-9a-f]{64} $T/sup.zip\$"
expect_eq "five files now" "$(c ls "$REF" 2>/dev/null | wc -l)" 5
expect_match "old item numbers unchanged, the new volume appended" "$(c ls "$REF" 2>/dev/null | cut -f1,3 | tail -1)" "^SI01-YW·2026-D50-GS-000001-03-0001	补充材料/诊断书.txt\$"
expect_eq "revision 1 still lists four" "$(c ls --version 1 "$REF" 2>/dev/null | wc -l)" 4
expect_status "the same supplement again: duplicate, exit 0" 0 c ingest "$T/sup.zip"
expect_match "reported as duplicate" "$(cat "$T/out")" "^duplicate SI01-YW·2026-D50-GS-000001 $T/sup.zip\$"
expect_match "trace: supplemented" "$(c trace "$REF")" "supplemented	.*revision 2: 1 file added from $T/sup.zip"
W=$T/GS-0001-wrong
mkdir -p "$W/data"
echo x > "$W/data/x.txt"
mkbag "$W" GS-2026-0001 "Case-Type: retirement_approval"
expect_status "a supplement of another case type: exit 1" 1 c ingest "$W"
expect_match "names the label" "$(cat "$T/out")" "^rejected $W: bag-info.txt: Case-Type: retirement_approval, but case GS-2026-0001 is archived as work_injury_determination\$"

echo "== rejected bags leave nothing behind"
before=$(state)
refused() {  # refused NAME DIR-or-FILE REGEX
	expect_status "$1: exit 1" 1 c ingest "$2"
	expect_match "$1: one line with the reason" "$(cat "$T/out")" "^rejected $2: $3"
	expect_eq "$1: one line only" "$(wc -l < "$T/out")" 1
	expect_eq "$1: nothing written" "$(state)" "$before"
}
X=$T/x1; mkdir -p "$X/data"; echo a > "$X/data/a.txt"; mkbag "$X" X-1 "Case-Type: registration_change"
echo changed > "$X/data/a.txt"
refused "a changed file" "$X" "not a complete and valid bag: data/a.txt: sha256 checksum does not match"
X=$T/x2; mkdir -p "$X/data"; head -c 200000 /dev/urandom > "$X/data/big.bin"; echo a > "$X/data/a.txt"
mkbag "$X" X-2 "Case-Type: registration_change"; echo extra > "$X/data/unlisted.txt"
refused "an unlisted file after a large one" "$X" "not a complete and valid bag: .*unlisted"
expect_eq "no temporary object left" "$(find "$A/objects/incoming" -type f 2>/dev/null | wc -l)" 0
X=$T/x3; mkdir -p "$X/data"; echo a > "$X/data/a.txt"; mkbag "$X" X-3
refused "no Case-Type" "$X" "bag-info.txt: Case-Type: missing"
X=$T/x4; mkdir -p "$X/data"; echo a > "$X/data/a.txt"; mkbag "$X" X-4 "Case-Type: pottery"
refused "an unknown Case-Type" "$X" "bag-info.txt: Case-Type: no class in archive.conf for case type pottery"
X=$T/x5; mkdir -p "$X/data"; echo a > "$X/data/a.txt"; mkbag "$X" X-5 "Case-Type: registration_change" "Subject-Id: 110105194912310021"
refused "a wrong check character" "$X" "bag-info.txt: Subject-Id: check character"
expect_eq "the number is not repeated" "$(grep -c 110105194912310021 "$T/out")" 0
X=$T/x6; mkdir -p "$X/data"; echo a > "$X/data/a.txt"; touch "$X/fetch.txt"; mkbag "$X" X-6 "Case-Type: registration_change"
refused "fetch.txt" "$X" "not a complete and valid bag: fetch.txt: custos fetches nothing from the network"
X=$T/x7; mkdir -p "$X/evil/data"; echo a > "$X/evil/data/a.txt"; mkbag "$X/evil" X-7 "Case-Type: registration_change"
ln -s /etc/passwd "$X/evil/data/link"
(cd "$X" && tar -cf "$T/link.tar" evil)
refused "a symbolic link in a tar" "$T/link.tar" "not a complete and valid bag: .*link.*symbolic link"
X=$T/x8; mkdir -p "$X/b/data"; echo a > "$X/b/data/a.txt"; mkbag "$X/b" X-8 "Case-Type: registration_change"
(cd "$X" && tar -cf "$T/dotdot.tar" b --transform 's,^b/data/a.txt,b/data/../../escaped.txt,')
refused "a .. segment in a tar" "$T/dotdot.tar" "not a complete and valid bag: "
check "nothing written outside" test ! -e "$T/escaped.txt"
head -c $(($(stat -c %s "$T/pk.tar.gz") / 2)) "$T/pk.tar.gz" > "$T/trunc.tar.gz"
refused "a truncated .tar.gz" "$T/trunc.tar.gz" "not a complete and valid bag: "
X=$T/x10; mkdir -p "$X/data"; echo a > "$X/data/Straße.txt"; echo b > "$X/data/STRASSE.txt"; mkbag "$X" X-10 "Case-Type: registration_change"
expect_status "names that differ only by case: bag validate warns, exit 0" 0 c bag validate "$X"
refused "names that differ only by case are refused at ingest" "$X" "not a complete and valid bag: .*differs only by case"
X=$T/x9; mkdir -p "$X/data"; echo fine > "$X/data/a.txt"; mkbag "$X" X-9 "Case-Type: registration_change"
expect_match "no item number was used by the rejected bags" "$(c ingest "$X" 2>/dev/null)" "^SI01-YW·2026-D100-BG-000006 "

echo "== a large file is streamed out and checked as it goes"
expect_status "-o FILE that exists is refused" 2 c get --file 证明/scan.pdf -o "$T/scan.out" "$REF"
expect_match "never overwritten" "$(cat "$T/err")" "exists \(never overwritten\)"
O=$A/objects/sha256/$(sha256sum "$B1/data/证明/scan.pdf" | cut -c1-2)/$(sha256sum "$B1/data/证明/scan.pdf" | cut -c3-64)
cp "$O" "$T/object.saved"
chmod u+w "$O"; printf 'X' | dd of="$O" bs=1 seek=150000 conv=notrunc 2>/dev/null
expect_status "a damaged object: get exits 2" 2 c get --file 证明/scan.pdf -o "$T/damaged.out" "$REF"
expect_match "says so" "$(cat "$T/err")" "does not match its name"
check "no output file" test ! -e "$T/damaged.out"
expect_eq "no temporary file left" "$(ls -A "$T" | grep -c '^\.custos-get')" 0
cp "$T/object.saved" "$O"; chmod 0444 "$O"

echo "== verify and reindex"
expect_status "verify: no problem" 0 c verify
expect_match "every file's object checked" "$(cat "$T/out")" "no problem\$"
before=$(c search --limit 0 --json; c ls "$REF" 2>/dev/null)
c reindex >/dev/null 2>&1
expect_eq "reindex: the same answers" "$(c search --limit 0 --json; c ls "$REF" 2>/dev/null)" "$before"
rm "$A/objects/sha256/$(sha256sum "$B1/data/证明/scan.pdf" | cut -c1-2)/$(sha256sum "$B1/data/证明/scan.pdf" | cut -c3-64)"
expect_status "a case file's object removed: verify exit 1" 1 c verify
expect_match "names the case and the object" "$(cat "$T/out")" "^object SI01-YW·2026-D50-GS-000001 \($(sha256sum "$B1/data/证明/scan.pdf" | cut -c1-12)\): the record's content object is missing"

summary
