#!/usr/bin/env bash
# make bench, backups: custos backup next to tar | zstd, restic and borg, in one
# run on one generated archive (N receipts and a case file of CASE_MB MiB).
#   bash bench/backup.sh ./custos [N]
# Each tool backs up the same files: the archive folder without its index (a
# cache that restore rebuilds).  restic and borg encrypt; custos is measured
# plain (signed) and with --key (signed and encrypted).  Rates are the
# archive's bytes over the wall time.  Then 1 % more receipts and an
# incremental backup by each; then each tool's full check of its backups;
# then a restore of the whole chain by each.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CUSTOS=$(realpath "${1:-./custos}")
N=${2:-100000}
CB=${CASE_MB:-256}
GEN=$(realpath "${GEN:-build/gen_receipts}")
T=$(mktemp -d "${BENCH_TMP:-/var/tmp}/custos-bbench.XXXXXX")
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mbs() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f MB/s", n / s / 1e6 }'; }
mb() { awk -v n="$1" 'BEGIN { printf "%.0f MB", n / 1e6 }'; }
row() { printf '  %-52s %10s %12s %10s\n' "$1" "$2" "$3" "$4"; }
for tool in restic borg zstd; do
	command -v "$tool" >/dev/null || { echo "backup bench: $tool is missing (make bench installs it)"; exit 2; }
done
export RESTIC_PASSWORD=custos-bench BORG_PASSPHRASE=custos-bench
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$T/borg-home RESTIC_CACHE_DIR=$T/restic-cache
A=$T/a

echo "custos backup bench — $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "restic $(restic version | cut -d' ' -f2), $(borg --version), zstd $(zstd --version | grep -o 'v[0-9.]*')"
"$GEN" "$N" 7 B > "$T/receipts.jsonl"
"$GEN" $((N / 100)) 8 C > "$T/more.jsonl"
"$CUSTOS" -A "$A" init --fonds SI01 >/dev/null
"$CUSTOS" -A "$A" ingest "$T/receipts.jsonl" >/dev/null
C=$T/case/GS-BACKUP
make_bag "$C" GS-BACKUP "$CB" work_injury_determination
"$CUSTOS" -A "$A" ingest "$C" >/dev/null
rm -rf "$T/case" "$T/receipts.jsonl"
"$CUSTOS" -A "$A" backup keygen "$T/bk.key" >/dev/null
bytes=$(du -sb --exclude=index "$A" | cut -f1)
echo "archive: $N receipts and a case file of ~$CB MiB: $(mb "$bytes") without the index, $(find "$A" -path "$A/index" -prune -o -type f -print | wc -l) files"
sync

# run NAME CMD...: times CMD (wall), prints nothing; sets $dt
run() { local t0 t1; sync; t0=$(now); "$@" > "$T/last.out" 2> "$T/last.err" || { echo "backup bench: $* failed:"; tail -3 "$T/last.err"; exit 1; }; t1=$(now); dt=$(secs "$t0" "$t1"); }
size_of() { du -sb "$1" | cut -f1; }

echo
echo "== full backup of the archive"
row "" "time" "rate" "size"
run "$CUSTOS" -A "$A" backup create --full --to "$T/cp"
cf_plain=$dt; row "custos backup create --full (signed)" "$dt s" "$(mbs "$bytes" "$dt")" "$(mb "$(size_of "$T/cp")")"
run "$CUSTOS" -A "$A" backup create --full --key "$T/bk.key" --to "$T/ck"
cf=$dt; row "custos backup create --full --key (encrypted)" "$dt s" "$(mbs "$bytes" "$dt")" "$(mb "$(size_of "$T/ck")")"
run sh -c "tar -C '$T' --exclude=a/index -cf - a | zstd -q -3 -T0 > '$T/a.tar.zst'"
row "peer: tar | zstd -3 -T0 (no signature, no key)" "$dt s" "$(mbs "$bytes" "$dt")" "$(mb "$(size_of "$T/a.tar.zst")")"
restic -r "$T/restic" init -q >/dev/null 2>&1
run restic -r "$T/restic" backup -q --exclude "$A/index" "$A"
rf=$dt; row "peer: restic backup (encrypted)" "$dt s" "$(mbs "$bytes" "$dt")" "$(mb "$(size_of "$T/restic")")"
borg init -e repokey "$T/borg" >/dev/null 2>&1
run borg create --exclude "$A/index" "$T/borg::full" "$A"
bf=$dt; row "peer: borg create (encrypted, lz4)" "$dt s" "$(mbs "$bytes" "$dt")" "$(mb "$(size_of "$T/borg")")"
row "  custos --key / restic (target >= 100 %)" "" "$(awk -v c="$cf" -v r="$rf" 'BEGIN { printf "%.0f %%", r / c * 100 }')" ""

echo
echo "== incremental after a 1 % change ($((N / 100)) more receipts)"
"$CUSTOS" -A "$A" ingest "$T/more.jsonl" >/dev/null
row "" "time" "of full" "size"
run "$CUSTOS" -A "$A" backup create --incremental --to "$T/cp"
row "custos backup create --incremental" "$dt s" "$(awk -v i="$dt" -v f="$cf_plain" 'BEGIN { printf "%.1f %%", i / f * 100 }')" "$(mb "$(ls -t "$T"/cp/*.cbk | head -1 | xargs du -b | cut -f1)")"
run "$CUSTOS" -A "$A" backup create --incremental --key "$T/bk.key" --to "$T/ck"
ci=$dt; chead=$(grep -o 'head [0-9a-f]*' "$T/last.out" | cut -d' ' -f2)
row "custos backup create --incremental --key" "$dt s" "$(awk -v i="$dt" -v f="$cf" 'BEGIN { printf "%.1f %%", i / f * 100 }')" "$(mb "$(ls -t "$T"/ck/*.cbk | head -1 | xargs du -b | cut -f1)")"
run restic -r "$T/restic" backup -q --exclude "$A/index" "$A"
row "peer: restic backup (second snapshot)" "$dt s" "$(awk -v i="$dt" -v f="$rf" 'BEGIN { printf "%.1f %%", i / f * 100 }')" ""
run borg create --exclude "$A/index" "$T/borg::incr" "$A"
row "peer: borg create (second archive)" "$dt s" "$(awk -v i="$dt" -v f="$bf" 'BEGIN { printf "%.1f %%", i / f * 100 }')" ""
row "  custos incremental / full (target <= 5 %)" "" "$(awk -v i="$ci" -v f="$cf" 'BEGIN { printf "%.1f %%", i / f * 100 }')" ""

echo
echo "== verify every backup, reading all data back"
row "" "time" "rate" ""
run "$CUSTOS" -A "$A" backup verify --key "$T/bk.key" $(ls "$T"/ck/*.cbk | LC_ALL=C sort)
row "custos backup verify --key (the chain)" "$dt s" "$(mbs "$bytes" "$dt")" ""
run restic -r "$T/restic" check --read-data
row "peer: restic check --read-data" "$dt s" "$(mbs "$bytes" "$dt")" ""
run borg check --verify-data "$T/borg"
row "peer: borg check --verify-data" "$dt s" "$(mbs "$bytes" "$dt")" ""

echo
echo "== restore the chain into a new folder"
row "" "time" "rate" ""
run "$CUSTOS" restore --to "$T/r1" --key "$T/bk.key" $(ls "$T"/ck/*.cbk | LC_ALL=C sort)
cr=$dt; row "custos restore --key (checked, durable)" "$dt s" "$(mbs "$bytes" "$dt")" ""
# (the archive has gone on since: each backup is an event in its log)
[ -n "$chead" ] && [ "$chead" = "$(git --git-dir="$T/r1/history.git" rev-parse main)" ] ||
	{ echo "backup bench: the restored history head is not the backed-up one"; exit 1; }
run restic -r "$T/restic" restore latest --target "$T/r2"
rr=$dt; row "peer: restic restore latest" "$dt s" "$(mbs "$bytes" "$dt")" ""
rm -rf "$T/r2"
# custos restore ends with the restored files on disk (syncfs); restic and borg
# leave them in the page cache: the same with a sync after
run sh -c "restic -r '$T/restic' restore latest --target '$T/r2' && sync -f '$T/r2'"
rs=$dt; row "peer: restic restore latest, then sync -f" "$dt s" "$(mbs "$bytes" "$dt")" ""
mkdir -p "$T/r3"
run sh -c "cd '$T/r3' && borg extract '$T/borg::incr'"
row "peer: borg extract" "$dt s" "$(mbs "$bytes" "$dt")" ""
rm -rf "$T/r3" && mkdir -p "$T/r3"
run sh -c "cd '$T/r3' && borg extract '$T/borg::incr' && sync -f ."
row "peer: borg extract, then sync -f" "$dt s" "$(mbs "$bytes" "$dt")" ""
run sh -c "mkdir -p '$T/r4' && zstd -q -d -c '$T/a.tar.zst' | tar -C '$T/r4' -xf -"
row "peer: zstd -d | tar -x (no check)" "$dt s" "$(mbs "$bytes" "$dt")" ""
row "  custos / restic restore rate (target >= 100 %)" "" "$(awk -v c="$cr" -v r="$rr" 'BEGIN { printf "%.0f %%", r / c * 100 }')" ""
row "  custos / restic restore then sync (both durable)" "" "$(awk -v c="$cr" -v r="$rs" 'BEGIN { printf "%.0f %%", r / c * 100 }')" ""
