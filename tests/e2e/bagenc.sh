#!/usr/bin/env bash
# Case files with hostile names: a NUL in a raw tar header, control characters.
#   bash tests/e2e/bagenc.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-bagenc.XXXXXX)
trap 'rm -rf "$T"' EXIT
c() { "$CUSTOS" "$@"; }

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
