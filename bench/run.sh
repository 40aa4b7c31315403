#!/usr/bin/env bash
# make bench: custos next to its peers, measured in the same run on generated data.
#   bash bench/run.sh ./custos [N]
# Prints receipts/s through `custos ingest` (durable: every batch fsynced and
# committed), the same receipts committed one per commit with the git command line
# (on a sample), git add -A + one commit (on a sample), search latency by person and
# by text at that size, and peak memory as the archive grows; fund transactions/s
# with the shipped policy next to receipts/s, and policy replay over them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CUSTOS=$(realpath "${1:-./custos}")
N=${2:-100000}
GEN=$(realpath "${GEN:-build/gen_receipts}")
T=$(mktemp -d "${BENCH_TMP:-/var/tmp}/custos-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
TIME=/usr/bin/time
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ms() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.2f", s * 1000 / n }'; }
row() { printf '  %-58s %14s\n' "$1" "$2"; }
# peak OUT CMD...: runs CMD, sampling its memory every 10 ms; writes
# "<peak private KiB> <peak file-mapped KiB> <max RSS KiB>" to OUT.  Private
# (RssAnon) is the process's own memory; file-mapped (RssFile) is mostly the
# LMDB index and git packs mapped from the page cache, shared and reclaimable.
peak() {
	local out=$1; shift
	$TIME -f '%M' -o "$out.rss" "$@" &
	local pid=$! a f ma=0 mf=0 child
	while kill -0 "$pid" 2>/dev/null; do
		child=$(pgrep -P "$pid" | head -1) || child=
		if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
			a=$(awk '/^RssAnon/ {print $2}' "/proc/$child/status" 2>/dev/null) || a=
			f=$(awk '/^RssFile/ {print $2}' "/proc/$child/status" 2>/dev/null) || f=
			[ -n "$a" ] && [ "$a" -gt "$ma" ] && ma=$a
			[ -n "$f" ] && [ "$f" -gt "$mf" ] && mf=$f
		fi
		sleep 0.01
	done
	wait "$pid"
	# (time writes "Command exited with non-zero status N" first when it does)
	echo "$ma $mf $(tail -1 "$out.rss")" > "$out"
}
mib() { echo $(( $1 / 1024 )); }

echo "custos bench — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "data: $N generated receipts (~330 bytes each, 10% organisations), folder $T"
"$GEN" "$N" 1 B > "$T/receipts.jsonl"

echo
echo "== ingest: $N receipts in one call (batch_size 10000: one pack, one signed commit, one index transaction per batch)"
"$CUSTOS" -A "$T/a" init --fonds SI01 >/dev/null
t0=$(now)
peak "$T/mem" "$CUSTOS" -A "$T/a" ingest "$T/receipts.jsonl" > "$T/out" 2>"$T/err"
t1=$(now)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
got=$(grep -c ' [0-9a-f]\{64\} ' "$T/out")
[ "$got" = "$N" ] || { echo "ingest archived $got of $N"; cat "$T/err"; exit 1; }
rrate=$(rate "$N" "$secs")
row "custos ingest" "$rrate receipts/s"
row "  wall time" "$(printf '%.2f s' "$secs")"
read -r ma mf mr < "$T/mem"
row "  peak memory: private / file-mapped / max RSS" "$(mib "$ma") / $(mib "$mf") / $(mib "$mr") MiB"
row "  archive size: objects / history / index" "$(du -sm "$T/a/objects" | cut -f1) / $(du -sm "$T/a/history.git" | cut -f1) / $(du -sm "$T/a/index" | cut -f1) MiB"

echo
FN=${FUND_N:-$((N / 5))}
echo "== fund transactions: $FN generated (bench/gen_fund.c), ingested in one call, judged by the shipped policy"
"${GEN_FUND:-build/gen_fund}" "$FN" 1 > "$T/fund.jsonl"
"$CUSTOS" -A "$T/f" init --fonds SI01 >/dev/null
t0=$(now)
# exit 1 is expected: some transactions are denied on purpose
peak "$T/fmem" "$CUSTOS" -A "$T/f" ingest "$T/fund.jsonl" > "$T/fout" 2>"$T/ferr" || true
t1=$(now)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
got=$(grep -c ' [0-9a-f]\{64\} ' "$T/fout")
[ "$got" = "$FN" ] || { echo "ingest archived $got of $FN"; tail -3 "$T/ferr"; exit 1; }
frate=$(rate "$FN" "$secs")
row "custos ingest, fund transactions with the full policy" "$frate txns/s"
row "  receipts/s of the same run" "$rrate receipts/s"
row "  fund / receipts (target >= 80 %)" "$(awk -v f="$frate" -v r="$rrate" 'BEGIN { printf "%.0f %%", f / r * 100 }')"
read -r ma mf mr < "$T/fmem"
row "  peak memory: private / file-mapped / max RSS" "$(mib "$ma") / $(mib "$mf") / $(mib "$mr") MiB"
row "  decisions: allow / review / deny" "$(grep -c ' allow$' "$T/fout") / $(grep -c ' review ' "$T/fout") / $(grep -c ' deny ' "$T/fout")"
t0=$(now)
# (peak's own status is not the command's: the output tells)
peak "$T/rmem" "$CUSTOS" -A "$T/f" policy replay --policy "$(dirname "$0")/../policy" > "$T/rout" 2>&1 || true
t1=$(now)
grep -q "^total	replayed $FN	compared $FN	differ 0	" "$T/rout" ||
	{ echo "policy replay of the shipped policy found differences or failed:"; tail -3 "$T/rout"; exit 1; }
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
read -r ma mf mr < "$T/rmem"
row "custos policy replay, the shipped policy (no difference)" "$(rate "$FN" "$secs") txns/s"
row "  peak memory: private / file-mapped" "$(mib "$ma") / $(mib "$mf") MiB"
rm -rf "$T/f" "$T/fund.jsonl"

echo
echo "== memory as the archive grows: 5 calls of $((N / 5)) receipts into one archive (rate, private / file-mapped peak)"
"$CUSTOS" -A "$T/g" init --fonds SI01 >/dev/null
split -n l/5 -d "$T/receipts.jsonl" "$T/part."
total=0
for p in "$T"/part.0*; do
	n=$(wc -l < "$p")
	t0=$(now)
	peak "$T/mem" "$CUSTOS" -A "$T/g" ingest "$p" > /dev/null 2>&1
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	total=$((total + n))
	read -r ma mf mr < "$T/mem"
	row "$n receipts, archive then holds $total" "$(rate "$n" "$secs")/s, $(mib "$ma") / $(mib "$mf") MiB"
	peak "$T/vmem" "$CUSTOS" -A "$T/g" verify > /dev/null 2>&1
	read -r va vf vr < "$T/vmem"
	row "  then custos verify: peak private / file-mapped" "$(mib "$va") / $(mib "$vf") MiB"
done
echo
echo "== verify at $N records: every object re-hashed, every document, commit and checkpoint checked"
objbytes=$(du -sb "$T/a/objects" | cut -f1)
sync
t0=$(now); "$CUSTOS" -A "$T/a" verify --json > "$T/verify.out" 2>&1 || { cat "$T/verify.out"; exit 1; }; t1=$(now)
vsecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
hashed=$(tail -1 "$T/verify.out" | sed 's/.*"bytes_hashed":\([0-9]*\).*/\1/')
ousec=$(tail -1 "$T/verify.out" | sed 's/.*"objects_usec":\([0-9]*\).*/\1/')
t0=$(now); find "$T/a/objects" -type f -name '*.tar' -print0 | xargs -0 sha256sum > /dev/null; t1=$(now)
ssecs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
# both read the same files (the packs, $((objbytes / 1048576)) MiB); verify also parses each
# member's header and checks each object against its own name
row "custos verify, object pass over the pack files" "$(awk -v b="$objbytes" -v u="$ousec" 'BEGIN { printf "%.0f MB/s", b / u }')"
row "sha256sum over the same files" "$(awk -v b="$objbytes" -v s="$ssecs" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
row "  verify / sha256sum (target >= 80 %)" "$(awk -v u="$ousec" -v s="$ssecs" 'BEGIN { printf "%.0f %%", s * 1e6 / u * 100 }')"
row "  objects re-hashed one by one" "$(( hashed / 1048576 )) MiB in $(tail -1 "$T/verify.out" | sed 's/.*"objects":\([0-9]*\).*/\1/') objects"
row "custos verify, whole run (objects, $N documents, commits, index)" "$(printf '%.2f s' "$vsecs")"
t0=$(now); "$CUSTOS" -A "$T/a" verify --quick > /dev/null 2>&1; t1=$(now)
row "custos verify --quick (objects unchanged)" "$(printf '%.2f s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
ref=$("$CUSTOS" -A "$T/a" search --limit 1 | cut -f1)
t0=$(now); for i in $(seq 1 50); do "$CUSTOS" -A "$T/a" prove "$ref" > /dev/null; done; t1=$(now)
row "custos prove, whole command (50 proofs)" "$(ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 50) ms/proof"
row "  one proof in-process at log size $(sed -n 2p <("$CUSTOS" -A "$T/a" checkpoint)) (target < 1 ms)" "$("${PROOF_BENCH:-build/proof_bench}" "$T/a" 2000) µs/proof"

echo
CB=${CASE_MB:-256}
echo "== case files: one bag of $((CB / 16)) files of 16 MiB and 2,000 files of 4 KiB (~$CB MiB), as a .tar"
C=$T/case/GS-BENCH
make_bag "$C" GS-BENCH "$CB" work_injury_determination
tar -C "$T/case" -cf "$T/case.tar" GS-BENCH
bagbytes=$(du -sb "$C/data" | cut -f1)
"$CUSTOS" -A "$T/c" init --fonds SI01 >/dev/null
sync
t0=$(now)
peak "$T/cmem" "$CUSTOS" -A "$T/c" ingest "$T/case.tar" > "$T/cout" 2>&1
t1=$(now)
grep -q '^SI01-YW' "$T/cout" || { cat "$T/cout"; exit 1; }
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
read -r ma mf mr < "$T/cmem"
row "custos ingest of the bag (checked, stored, fsynced, committed)" "$(awk -v b="$bagbytes" -v s="$secs" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
row "  wall time; peak private memory" "$(printf '%.2f s' "$secs"); $(mib "$ma") MiB"
t0=$(now)
mkdir -p "$T/peer" && tar -C "$T/peer" -xf "$T/case.tar" && (cd "$T/peer/GS-BENCH" && sha256sum -c --quiet manifest-sha256.txt) && sync -f "$T/peer"
t1=$(now)
row "peer: tar -x, then sha256sum -c, then sync (no store, no index)" "$(awk -v b="$bagbytes" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
rm -rf "$T/peer" "$T/case"
t0=$(now); "$CUSTOS" -A "$T/c" bag validate "$T/case.tar" > /dev/null; t1=$(now)
row "custos bag validate of the same .tar (check only)" "$(awk -v b="$bagbytes" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }')"
rm -f "$T/case.tar"
$TIME -f '%M' -o "$T/grss" "$CUSTOS" -A "$T/c" get --file large/scan-1.bin -o "$T/scan-1.out" case:GS-BENCH 2>/dev/null
row "custos get --file of one 16 MiB file: peak RSS (streamed)" "$(( $(cat "$T/grss") / 1024 )) MiB"

echo
echo "== peers"
S=${GIT_SAMPLE:-300}
git init -q "$T/git1"
head -n "$S" "$T/receipts.jsonl" > "$T/sample"
t0=$(now)
i=0
while IFS= read -r line; do
	i=$((i + 1))
	h=$(printf '%s' "$line" | sha256sum | cut -c1-64)
	mkdir -p "$T/git1/records/${h:0:2}"
	printf '%s' "$line" > "$T/git1/records/${h:0:2}/${h:2}.json"
	git -C "$T/git1" add "records/${h:0:2}/${h:2}.json"
	git -C "$T/git1" -c user.name=bench -c user.email=b@x commit -q -m "receipt $i"
done < "$T/sample"
t1=$(now)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
row "git CLI, one commit per receipt (sample of $S)" "$(rate "$S" "$secs") receipts/s"

S2=${ADD_SAMPLE:-20000}
git init -q "$T/git2"
head -n "$S2" "$T/receipts.jsonl" > "$T/sample2"
t0=$(now)
awk -v d="$T/git2/records" '{ f = sprintf("%s/%02d/%06d.json", d, NR % 100, NR); if (NR <= 100) system("mkdir -p " d "/" sprintf("%02d", NR % 100)); print > f; close(f) }' "$T/sample2"
git -C "$T/git2" add -A
git -C "$T/git2" -c user.name=bench -c user.email=b@x commit -q -m "$S2 receipts"
sync -f "$T/git2"
t1=$(now)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
row "files + git add -A + one commit (sample of $S2)" "$(rate "$S2" "$secs") receipts/s"

echo
echo "== search latency at $N records (whole command: process start, open, query, print)"
grep -o '"id_no":"[0-9X]*"' "$T/receipts.jsonl" | cut -d'"' -f4 | shuf -n 200 --random-source=<(yes) > "$T/persons"
t0=$(now); "$CUSTOS" -A "$T/a" --version >/dev/null; for i in $(seq 1 200); do "$CUSTOS" --version >/dev/null; done; t1=$(now)
base=$(ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 200)
t0=$(now)
hits=0
while read -r p; do hits=$((hits + $("$CUSTOS" -A "$T/a" search --person "$p" | wc -l))); done < "$T/persons"
t1=$(now)
[ "$hits" -ge 200 ] || { echo "person search found $hits hits for 200 people"; exit 1; }
row "search --person (200 people, $hits hits)" "$(ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 200) ms/search"
t0=$(now)
for w in 失业 养老 工伤 缴费 transfer pension 社保卡 退休 arrears 生育; do
	for i in 1 2 3 4 5; do "$CUSTOS" -A "$T/a" search --text "$w" --limit 20 > /dev/null; done
done
t1=$(now)
row "search --text WORD --limit 20 (10 words x 5)" "$(ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 50) ms/search"
t0=$(now)
for i in $(seq 1 20); do "$CUSTOS" -A "$T/a" search --text "办结编号$((i * 4999))" > /dev/null; done
t1=$(now)
row "search --text one rare word (20 searches)" "$(ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 20) ms/search"
row "  for scale: custos --version (process start only)" "$base ms"
$TIME -f '%M' -o "$T/rss" "$CUSTOS" -A "$T/a" search --text 养老 --limit 0 > /dev/null
row "  peak memory of a search returning every 养老 record" "$(( $(cat "$T/rss") / 1024 )) MiB"
echo
echo "target: >= 10,000 receipts/s with durability on 2 cores; memory flat as the archive grows"
echo "peers measured elsewhere on this kind of machine: git one commit per record 57/s,"
echo "git add -A + one commit 4,731 records/s, sqlite3 one transaction 22,873 rows/s"
