#!/usr/bin/env bash
# The index copy a full backup carries, and the restore's write path: the
# copy holds exactly the index at the backup's head, in fewer pages than
# LMDB's own compacting copy; large members are written with O_DIRECT, the
# index and small files (and everything with --verify) through the page
# cache; a restore whose writes fail stops with one line naming the file and
# leaves nothing behind.
#   bash tests/e2e/restore.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-restore.XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
A=$T/arch
c() { "$CUSTOS" -A "$A" "$@"; }
pages() { mdb_stat -e "$@" | awk '/Number of pages used/ { print $5 }'; }

c init --fonds SI01 >/dev/null
# batches of 100, out of time order: an index whose pages split as in life
"$GEN" 3000 31 E > "$T/in.jsonl"
split -l 100 "$T/in.jsonl" "$T/batch."
for f in "$T"/batch.*; do c ingest "$f" >/dev/null 2>&1; done
mkdir -p "$T/bag/data"; head -c 2000000 /dev/urandom > "$T/bag/data/scan.pdf"
mkbag "$T/bag" RS-1 "Case-Type: registration_change"
c ingest "$T/bag" >/dev/null 2>&1

echo "== the index copy in a full backup"
mkdir -p "$T/compact"
mdb_copy -c "$A/index" "$T/compact"          # the index at the head the backup takes
expect_status "backup create --full: exit 0" 0 c backup create --full --to "$T/b"
F=$(ls "$T"/b/*-full.cbk)
mkdir -p "$T/x" && tar --zstd -xf "$F" -C "$T/x" index/data.mdb
mdb_dump -a -n "$T/x/index/data.mdb" > "$T/copy.dump" 2>/dev/null
rm -f "$T/x/index/data.mdb-lock"
mdb_dump -a "$T/compact" > "$T/compact.dump"
expect_eq "every database, entry by entry, as the index had it" \
	"$(sha256sum < "$T/copy.dump")" "$(sha256sum < "$T/compact.dump")"
expect_match "... and they are not empty" "$(grep -c '^ ' "$T/copy.dump")" '^[0-9]{5,}$'
cp=$(pages -n "$T/x/index/data.mdb"); rm -f "$T/x/index/data.mdb-lock"
cc=$(pages "$T/compact")
expect_eq "dense: under 85 % of the pages of LMDB's compacting copy ($cp of $cc)" \
	"$([ $((cp * 100)) -lt $((cc * 85)) ] && echo yes)" "yes"
expect_eq "no part file left in the backup folder" "$(ls -a "$T/b" | grep -c '\.part$')" "0"

echo "== restore"
K="--signing-key $A/keys/signing.pem --person-key $A/keys/person.hmac"
expect_status "restore: exit 0" 0 "$CUSTOS" restore --to "$T/r" "$F" $K
expect_status "the restored archive verifies" 0 "$CUSTOS" -A "$T/r" verify
for q in "--text 办结编号12" "--service benefit --limit 7" "--kind case"; do
	c search $q > "$T/s.orig" 2>&1; "$CUSTOS" -A "$T/r" search $q > "$T/s.rest" 2>&1
	expect_eq "search $q: the same answer" "$(sha256sum < "$T/s.rest")" "$(sha256sum < "$T/s.orig")"
done
expect_match "... which are not empty" "$(c search --service benefit --limit 7 | wc -l)" '^7$'
expect_status "the restored archive takes writes" 0 "$CUSTOS" -A "$T/r" ingest "$T/batch.aa"

echo "== large members past the page cache"
if command -v strace >/dev/null; then
	# (LeakSanitizer cannot run under ptrace: leaks are checked by the runs above)
	export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
	strace -f -e trace=openat -o "$T/trace" "$CUSTOS" restore --to "$T/rd" "$F" $K >/dev/null 2>&1
	expect_eq "restore under strace: done" "$?" "0"
	SCAN=$(sha256sum < "$T/bag/data/scan.pdf" | cut -c1-64)
	expect_match "the 2 MB scan written with O_DIRECT" \
		"$(grep "objects/sha256/${SCAN:0:2}/${SCAN:2}\"" "$T/trace")" "O_DIRECT[|,)]"
	expect_nomatch "the index through the page cache (the replay reads it)" \
		"$(grep 'index/data.mdb", O_WRONLY' "$T/trace")" "O_DIRECT[|,)]"
	expect_nomatch "small files through the page cache" \
		"$(grep 'archive.conf", O_WRONLY' "$T/trace")" "O_DIRECT[|,)]"
	expect_eq "... the same bytes" "$(sha256sum < "$T/rd/objects/sha256/${SCAN:0:2}/${SCAN:2}" | cut -c1-64)" "$SCAN"
	strace -f -e trace=openat -o "$T/trace" "$CUSTOS" restore --verify --to "$T/rv" "$F" $K >/dev/null 2>&1
	expect_eq "restore --verify (reads every file back): done" "$?" "0"
	expect_eq "... nothing past the page cache" "$(grep -cE "O_DIRECT[|,)]" "$T/trace")" "0"
	# a chain: the incremental's commits are replayed into the index copy
	c ingest "$T/batch.ab" >/dev/null 2>&1
	c backup create --incremental --to "$T/b" >/dev/null 2>&1
	strace -f -e trace=fsync,fdatasync,syncfs,msync -o "$T/trace" "$CUSTOS" restore --to "$T/rc" \
		"$T"/b/*.cbk $K > "$T/out" 2>&1
	expect_match "a chain restored under strace" "$(cat "$T/out")" "^restored $T/rc: 2 backups, "
	expect_eq "the replay into the index copy flushes nothing itself" \
		"$(grep -cE "(fdatasync|msync)\(" "$T/trace")" "0"
	expect_eq "one syncfs of the whole folder" "$(grep -c "syncfs(" "$T/trace")" "1"
	expect_status "... the restored chain verifies" 0 "$CUSTOS" -A "$T/rc" verify
	ASAN_OPTIONS=${ASAN_OPTIONS%:detect_leaks=0}
else
	echo "  (skipped: no strace)"
fi

echo "== a restore whose writes fail"
# files over 1 MB cannot be written (SIGXFSZ ignored: write fails with EFBIG)
(trap '' XFSZ; ulimit -f 1000; "$CUSTOS" restore --to "$T/rf" "$F" $K) >"$T/out" 2>"$T/err"
expect_eq "exit 2" "$?" "2"
expect_eq "one line on stderr" "$(wc -l < "$T/err")" "1"
expect_match "names the file and why" "$(cat "$T/err")" \
	"^custos: restore: .*/\.restore-rf-[A-Za-z0-9]{6}/[^ ]+: File too large\$"
expect_eq "nothing left behind" "$(ls -d "$T"/rf "$T"/.restore-* 2>/dev/null | wc -l)" "0"
expect_status "... and the same restore without the limit: exit 0" 0 "$CUSTOS" restore --to "$T/rf" "$F" $K

summary
