#!/usr/bin/env bash
# Case files in the encodings agencies write and with hostile names: tag
# files in GB18030 and UTF-16, names equal after Unicode normalisation or
# case folding, names with a NUL in a raw tar header.
#   bash tests/e2e/bagenc.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-bagenc.XXXXXX)
trap 'rm -rf "$T"' EXIT
c() { "$CUSTOS" "$@"; }

# mkbag DIR ENC: a case bag whose tag files other than bagit.txt are in ENC
mkbag() {
	local d=$1 enc=$2
	rm -rf "$d"
	mkdir -p "$d/data/申请材料"
	echo "工伤认定申请表" > "$d/data/申请材料/申请表.txt"
	echo "id scan" > "$d/data/scan.txt"
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: %s\n' "$enc" > "$d/bagit.txt"
	(cd "$d" && find data -type f | LC_ALL=C sort | while read -r f; do
		printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done |
		iconv -f UTF-8 -t "$enc" > manifest-sha256.txt)
	printf 'External-Identifier: CASE-2026-0101\nCase-Type: work_injury_determination\nTitle: 工伤认定·张三\nSource-Organization: 北京市社会保险事业管理中心\nPayload-Oxum: %s.2\n' \
		"$(cat "$d/data/申请材料/申请表.txt" "$d/data/scan.txt" | wc -c)" |
		iconv -f UTF-8 -t "$enc" > "$d/bag-info.txt"
	(cd "$d" && sha256sum bagit.txt bag-info.txt manifest-sha256.txt |
		iconv -f UTF-8 -t "$enc" > tagmanifest-sha256.txt)
}

# put FILE OFFSET FORMAT: writes printf FORMAT's bytes into FILE at OFFSET
put() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

# mkhdr FILE NAME SIZE TYPE: appends a ustar header block to FILE; NAME is a
# printf format, so it may hold any byte (\x01, \0); the checksum is computed
mkhdr() {
	local out=$1 h=$T/hdr sum
	head -c 512 /dev/zero > "$h"
	put "$h" 0 "$2"
	put "$h" 100 '0000644'
	put "$h" 108 '0001750'
	put "$h" 116 '0001750'
	put "$h" 124 "$(printf '%011o' "$3")"
	put "$h" 136 '14737454600'
	put "$h" 148 '        '
	put "$h" 156 "$4"
	put "$h" 257 'ustar'                  # then a NUL, and the version "00"
	put "$h" 263 '00'
	sum=$(od -An -v -tu1 "$h" | tr -s ' ' '\n' | awk '{ s += $1 } END { print s }')
	put "$h" 148 "$(printf '%06o' "$sum")"
	put "$h" 154 '\0'
	cat "$h" >> "$out"
}
pad() { local s; s=$(wc -c < "$1"); head -c $(( (512 - s % 512) % 512 )) /dev/zero >> "$1"; }

echo "== tag files in GB18030"
B=$T/gb
mkbag "$B" GB18030
check "bag-info.txt really is not UTF-8" test -n "$(iconv -f UTF-8 -t UTF-8 < "$B/bag-info.txt" 2>&1 >/dev/null)"
expect_status "a GB18030 bag folder: exit 0" 0 c bag validate "$B"
expect_eq "nothing printed" "$(cat "$T/out" "$T/err")" ""
tar -C "$T" -czf "$T/gb.tar.gz" gb
expect_status "the same bag as .tar.gz: exit 0" 0 c bag validate "$T/gb.tar.gz"
A=$T/archive
c -A "$A" init --fonds SI01 >/dev/null
expect_status "ingested as a case" 0 c -A "$A" ingest "$T/gb.tar.gz"
expect_match "its title reads as UTF-8" "$(c -A "$A" search --type case)" "	工伤认定·张三$"
expect_match "found by a word of it" "$(c -A "$A" search --text 工伤认定 | cut -f1)" "^SI01-YW·2026-"

echo "== tag files in UTF-16 and GBK"
mkbag "$T/u16" UTF-16
expect_status "a UTF-16 bag (with byte order marks): exit 0" 0 c bag validate "$T/u16"
mkbag "$T/gbk" GBK
expect_status "a GBK bag: exit 0" 0 c bag validate "$T/gbk"
sed -i 's/UTF-16$/utf-16/' "$T/u16/bagit.txt"
expect_status "the encoding's name in lower case" 1 c bag validate "$T/u16"
expect_eq "(only the tag manifest's checksum of bagit.txt differs)" "$(cat "$T/out")" \
	"$T/u16: bagit.txt: sha256 checksum does not match tagmanifest-sha256.txt"

echo "== refused, each with the reason"
printf 'Note: \x81\x20\n' >> "$B/bag-info.txt"
expect_status "a byte sequence not valid in GB18030: exit 1" 1 c bag validate "$B"
expect_match "names the file and the line" "$(cat "$T/out")" "^$B: bag-info.txt: line 6: not valid GB18030$"
mkbag "$B" GB18030
printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: X-KLINGON\n' > "$B/bagit.txt"
expect_status "an unknown encoding: exit 1" 1 c bag validate "$B"
expect_eq "one line naming it" "$(cat "$T/out")" "$B: bagit.txt: tag file encoding X-KLINGON is not known"

echo "== Unicode names"
N=$T/names
mkdir -p "$N/data"
printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$N/bagit.txt"
echo a > "$N/data/Stra"$'\xc3\x9f'"e.txt"                 # Straße
echo b > "$N/data/STRASSE.txt"
(cd "$N" && sha256sum data/* > manifest-sha256.txt)
expect_status "names equal after case folding: exit 0" 0 c bag validate "$N"
expect_match "a warning on stderr" "$(cat "$T/err")" "^warning: $N: data/Straße.txt: differs only by case from data/STRASSE.txt$"
expect_status "with --strict-names: exit 1" 1 c bag validate --strict-names "$N"
expect_match "the same line, as an error" "$(cat "$T/out")" "^$N: data/Straße.txt: differs only by case from data/STRASSE.txt$"
rm "$N/data/STRASSE.txt"
echo c > "$N/data/caf"$'\xc3\xa9'                         # é precomposed
echo d > "$N/data/cafe"$'\xcc\x81'                        # e + combining acute
(cd "$N" && sha256sum data/* > manifest-sha256.txt)
expect_status "names equal in NFC: exit 1" 1 c bag validate "$N"
expect_match "a duplicate" "$(cat "$T/out")" "data/caf"$'\xc3\xa9'": duplicate entry name: the same as data/cafe"$'\xcc\x81'" after Unicode normalisation \(NFC\)$"
rm "$N/data/cafe"$'\xcc\x81'
(cd "$N" && sha256sum data/* | sed 's/caf\xc3\xa9$/cafe\xcc\x81/' > manifest-sha256.txt)
check "the manifest lists the decomposed form" grep -q $'cafe\xcc\x81' "$N/manifest-sha256.txt"
expect_status "a manifest in another normalisation still matches: exit 0" 0 c bag validate "$N"
expect_match "with a warning" "$(cat "$T/err")" "listed in manifest-sha256.txt under another Unicode normalisation of its name"

echo "== names with a NUL in a raw tar header"
G=$T/g
mkdir -p "$G/data"
printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$G/bagit.txt"
echo hello > "$G/data/a.txt"
(cd "$G" && sha256sum data/a.txt > manifest-sha256.txt)
tar -C "$T" --format=ustar -cf "$T/g.tar" g
expect_status "the bag as a tar: exit 0" 0 c bag validate "$T/g.tar"
rec="29 path=g/data/a.txt\0../../x\n"
check "the pax record is 29 bytes" test "$(printf "$rec" | wc -c)" = 29
: > "$T/evil.tar"
mkhdr "$T/evil.tar" 'PaxHeaders/x' 29 x
printf "$rec" >> "$T/evil.tar"; pad "$T/evil.tar"
mkhdr "$T/evil.tar" 'g/data/decoy' 5 0
printf 'evil\n' >> "$T/evil.tar"; pad "$T/evil.tar"
cat "$T/g.tar" >> "$T/evil.tar"
expect_status "a pax path with a NUL inside: exit 1" 1 c bag validate "$T/evil.tar"
expect_eq "refused with the name as written, and nothing else" "$(cat "$T/out")" \
	"$T/evil.tar: g/data/a.txt: NUL byte inside the pax path record (g/data/a.txt\\x00../../x)"
gzip -k "$T/evil.tar"
expect_status "the same, compressed: exit 1" 1 c bag validate "$T/evil.tar.gz"
expect_match "the same reason" "$(cat "$T/out")" "NUL byte inside the pax path record"
: > "$T/ctl.tar"
mkhdr "$T/ctl.tar" 'g/data/b\x1b[31m' 1 0
printf 'x' >> "$T/ctl.tar"; pad "$T/ctl.tar"
cat "$T/g.tar" >> "$T/ctl.tar"
expect_status "an escape character in a name: exit 1" 1 c bag validate "$T/ctl.tar"
expect_match "shown escaped" "$(cat "$T/out")" 'g/data/b\\x1b\[31m: control character in name$'

summary
