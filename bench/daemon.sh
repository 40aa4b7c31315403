#!/usr/bin/env bash
# make bench, the daemon under load: custosd on a temporary archive of PRELOAD
# receipts, then build/load_client on its socket:
#   1. LOAD_CLIENTS (16) clients for LOAD_SECONDS (30 s), LOAD_INGEST (8) of them
#      ingesting LOAD_BATCH (200) receipts a request, the others searching back
#      to back (by text, and by person every other time);
#   2. the ingest clients alone for LOAD_PHASE_SECONDS (10 s), 0 to skip;
#   3. the search clients alone for LOAD_PHASE_SECONDS, 0 to skip;
# with the daemon's memory sampled every 100 ms.  Then SIGTERM (custosd must
# exit 0), custos verify of the archive, its record count against what the
# clients were told was archived, and the receipts of run 1 through
# `custos --direct ingest` in one process into a copy of the preloaded archive:
# what the rate is without the daemon.
#   bash bench/daemon.sh ./custos [PRELOAD]
# custosd refuses root: as root, it runs as the user custos-bench (made here if
# missing), which owns the archive, spool and socket folders; the clients stay
# root, which has every role.
set -euo pipefail
CUSTOS=$(realpath "${1:-./custos}")
PRELOAD=${2:-20000}
CUSTOSD=$(realpath "${CUSTOSD:-$(dirname "$CUSTOS")/custosd}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
LOAD=$(realpath "${LOAD_CLIENT:-build/load_client}")
CLIENTS=${LOAD_CLIENTS:-16}
INGEST=${LOAD_INGEST:-$((CLIENTS / 2))}
SECS=${LOAD_SECONDS:-30}
PHASE=${LOAD_PHASE_SECONDS:-10}
BATCH=${LOAD_BATCH:-200}
BUSER=${BENCH_USER:-custos-bench}
T=$(mktemp -d "${BENCH_TMP:-/var/tmp}/custos-dbench.XXXXXX")
DPID=
stop_daemon() { [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null && kill -TERM "$DPID" && wait "$DPID" || true; }
trap 'stop_daemon; rm -rf "$T"' EXIT
now() { date +%s.%N; }
row() { printf '  %-58s %14s\n' "$1" "$2"; }
# the value of key=VALUE in a load_client result line
val() { sed -n "s/^result .*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
die() { echo "daemon bench: $*"; exit 1; }

if [ "$(id -u)" = 0 ]; then
	id "$BUSER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$BUSER"
	as_user() { setpriv --reuid "$BUSER" --regid "$BUSER" --clear-groups "$@"; }
else
	as_user() { "$@"; }
fi

echo "custos daemon bench — $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "archive of $PRELOAD generated receipts; $CLIENTS clients on the socket for $SECS s," \
	"$INGEST ingesting $BATCH receipts a request, $((CLIENTS - INGEST)) searching"
"$GEN" "$PRELOAD" 11 P > "$T/preload.jsonl"
grep -o '"id_no":"[0-9X]*"' "$T/preload.jsonl" | cut -d'"' -f4 | shuf -n 200 --random-source=<(yes) > "$T/persons"
"$CUSTOS" -A "$T/a" init --fonds SI01 >/dev/null
"$CUSTOS" -A "$T/a" ingest "$T/preload.jsonl" >/dev/null 2>&1 || die "preload ingest failed"
# the direct run's archive: the same preloaded archive; two more for one
# `custos ingest` through the socket and without it
cp -a "$T/a" "$T/d"
cp -a "$T/a" "$T/cs"
cp -a "$T/a" "$T/cd"
cp -a "$T/a" "$T/db"
mkdir -p "$T/spool" "$T/run" "$T/state" "$T/sent"
cat > "$T/custos.conf" <<EOF
archive = "$T/a";
spool = "$T/spool";
socket = "$T/run/custos.sock";
state = "$T/state";
# no scheduled job runs during the measurement
schedules = { backup_full = ""; backup_incremental = ""; verify = ""; verify_full = ""; };
EOF
if [ "$(id -u)" = 0 ]; then
	chown -R "$BUSER:" "$T/a" "$T/spool" "$T/run" "$T/state"
	chmod 755 "$T"
fi

# (setpriv execs custosd: $! is the daemon itself)
if [ "$(id -u)" = 0 ]; then
	setpriv --reuid "$BUSER" --regid "$BUSER" --clear-groups "$CUSTOSD" -c "$T/custos.conf" -f 2> "$T/custosd.log" &
else
	"$CUSTOSD" -c "$T/custos.conf" -f 2> "$T/custosd.log" &
fi
DPID=$!
for _ in $(seq 1 100); do [ -S "$T/run/custos.sock" ] && break; sleep 0.1; done
[ -S "$T/run/custos.sock" ] || { cat "$T/custosd.log"; die "custosd did not open its socket"; }

# load NAME ARGS...: one load_client run; its output in $T/NAME.out
load() {
	local name=$1; shift
	"$LOAD" -s "$T/run/custos.sock" -m "$DPID" -P "$T/persons" -n 10 "$@" > "$T/$name.out" 2> "$T/$name.err" ||
		{ cat "$T/$name.out" "$T/$name.err"; die "$name: the load client saw errors"; }
	[ "$(val "$T/$name.out" errors)" = 0 ] || die "$name: errors"
}
ncommits() { git --git-dir="$T/a/history.git" rev-list --count main; }
c0=$(ncommits)
load mixed -c "$CLIENTS" -i "$INGEST" -t "$SECS" -b "$BATCH" -p LOAD -w "$T/sent"
phases="mixed"
c1=$(ncommits); c2=$c1
if [ "$PHASE" -gt 0 ]; then
	[ "$INGEST" -gt 0 ] && load ingest -c "$INGEST" -i "$INGEST" -t "$PHASE" -b "$BATCH" -p LOADI && phases="$phases ingest" && c2=$(ncommits)
	[ "$CLIENTS" -gt "$INGEST" ] && load search -c $((CLIENTS - INGEST)) -i 0 -t "$PHASE" && phases="$phases search"
fi
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$DPID/status")
kill -TERM "$DPID"
code=0; wait "$DPID" || code=$?
DPID=
[ "$code" = 0 ] || { tail -5 "$T/custosd.log"; die "custosd exited $code after SIGTERM"; }
! grep -q 'killed by signal' "$T/custosd.log" || { grep 'killed by signal' "$T/custosd.log" | head -3; die "a child of custosd died"; }
! grep -qFf "$T/persons" "$T/custosd.log" || die "an ID number appears in clear in custosd's log"

# what the clients were told was archived, and what the archive holds
told=$PRELOAD
for p in $phases; do told=$((told + $(val "$T/$p.out" archived))); done
as_user "$CUSTOS" --direct -A "$T/a" verify --json > "$T/verify.out" 2>&1 || { tail -3 "$T/verify.out"; die "custos verify failed after the load"; }
held=$(tail -1 "$T/verify.out" | sed -n 's/.*"records":\([0-9]*\).*/\1/p')
[ "$held" = "$told" ] || die "the archive holds $held records; the clients were told $told (with the $PRELOAD preloaded)"
commits=$(git --git-dir="$T/a/history.git" rev-list --count main)

# the same receipts as run 1, without the daemon
n=$(val "$T/mixed.out" archived)
[ "$(cat "$T"/sent/*.jsonl | wc -l)" = "$n" ] || die "the clients sent $(cat "$T"/sent/*.jsonl | wc -l) receipts, $n archived"
sync
t0=$(now)
"$CUSTOS" --direct -A "$T/d" ingest "$T"/sent/*.jsonl > "$T/direct.out" 2> "$T/direct.err" || { tail -3 "$T/direct.err"; die "direct ingest failed"; }
t1=$(now)
[ "$(grep -c ' [0-9a-f]\{64\} ' "$T/direct.out")" = "$n" ] || die "direct ingest archived $(grep -c ' [0-9a-f]\{64\} ' "$T/direct.out") of $n"
drate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
# ... and as the clients sent them, one `custos ingest` a batch (what the
# sending systems would do without the daemon), on a sample of 40 batches
ls "$T"/sent/*.jsonl > /dev/null
awk -v n=$((40 * BATCH)) 'NR <= n' "$T"/sent/*.jsonl | split -l "$BATCH" - "$T/batch-"
nb=$(cat "$T"/batch-* | wc -l)
t0=$(now)
for f in "$T"/batch-*; do
	"$CUSTOS" --direct -A "$T/db" ingest "$f" > /dev/null 2>&1 || die "direct ingest of $f failed"
done
t1=$(now)
brate=$(awk -v n="$nb" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')

# 4. one `custos ingest` of CLI_N receipts in files of 500, through the
# socket (its requests pipelined, several to a commit) and with --direct
CLI_N=${LOAD_CLI_RECEIPTS:-20000}
mkdir -p "$T/cli"
"$GEN" "$CLI_N" 12 CLI | split -l 500 - "$T/cli/part-"
chmod -R a+rX "$T/cli"
[ "$(id -u)" = 0 ] && chown -R "$BUSER:" "$T/cs" && sed -i "s|^archive = .*|archive = \"$T/cs\";|" "$T/custos.conf"
[ "$(id -u)" != 0 ] && sed -i "s|^archive = .*|archive = \"$T/cs\";|" "$T/custos.conf"
if [ "$(id -u)" = 0 ]; then
	setpriv --reuid "$BUSER" --regid "$BUSER" --clear-groups "$CUSTOSD" -c "$T/custos.conf" -f 2>> "$T/custosd.log" &
else
	"$CUSTOSD" -c "$T/custos.conf" -f 2>> "$T/custosd.log" &
fi
DPID=$!
for _ in $(seq 1 100); do [ -S "$T/run/custos.sock" ] && break; sleep 0.1; done
sync
t0=$(now)
CUSTOS_SOCKET=$T/run/custos.sock "$CUSTOS" ingest "$T/cli" > "$T/cli-socket.out" 2>&1 || { tail -3 "$T/cli-socket.out"; die "custos ingest through the socket failed"; }
t1=$(now)
kill -TERM "$DPID"; wait "$DPID"; DPID=
csrate=$(awk -v n="$CLI_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
[ "$(grep -c ' [0-9a-f]\{64\} ' "$T/cli-socket.out")" = "$CLI_N" ] || die "custos ingest through the socket: not $CLI_N archived"
sync
t0=$(now)
"$CUSTOS" --direct -A "$T/cd" ingest "$T/cli" > "$T/cli-direct.out" 2>&1 || die "custos --direct ingest failed"
t1=$(now)
cdrate=$(awk -v n="$CLI_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')

# the memory figures: the largest of the runs
maxval() { local k=$1 m=0 v p; for p in $phases; do v=$(val "$T/$p.out" "$k"); [ "$v" -gt "$m" ] && m=$v; done; echo "$m"; }
pss=$(maxval mem_total_pss_kib); priv=$(maxval mem_total_private_kib); child=$(maxval mem_child_kib)
childp=$(maxval mem_child_private_kib); kids=$(maxval children_max)

srate=$(val "$T/mixed.out" ingest_rate)
echo
echo "== 1. $CLIENTS clients for $SECS s: $INGEST ingesting, $((CLIENTS - INGEST)) searching"
sed -n 's/^\(ingest\|search\|requests\|errors\)/  \1/p' "$T/mixed.out"
echo "  ingest requests $(val "$T/mixed.out" ingest_requests) in $((c1 - c0)) commits (the writer takes every request waiting when it starts)"
if [[ " $phases " == *" ingest "* ]]; then
	echo "== 2. the $INGEST ingest clients alone for $PHASE s"
	sed -n 's/^\(ingest\|errors\)/  \1/p' "$T/ingest.out"
	echo "  ingest requests $(val "$T/ingest.out" ingest_requests) in $((c2 - c1)) commits"
fi
if [[ " $phases " == *" search "* ]]; then
	echo "== 3. the $((CLIENTS - INGEST)) search clients alone for $PHASE s"
	sed -n 's/^\(search\|errors\)/  \1/p' "$T/search.out"
fi
echo "== the archive after: custos verify ok, $held records = $PRELOAD preloaded + what the clients were told; $commits commits in its history"
echo "== memory, sampled every 100 ms (children live for one request or one writer round: one that"
echo "   lives less than 100 ms may be missed; PSS counts pages shared by the daemon and its"
echo "   children, or by two children, once between them)"
row "daemon process: peak RSS (VmHWM)" "$(mb "$hwm") MB"
row "largest child: peak RSS (VmHWM) / private" "$(mb "$child") / $(mb "$childp") MB"
row "daemon and children at one time: PSS / private" "$(mb "$pss") / $(mb "$priv") MB"
row "children at one time, at most" "$kids"
echo "== 4. one custos ingest of $CLI_N receipts (files of 500): through the socket $csrate rec/s, with --direct $cdrate rec/s"
echo
pct=$(awk -v s="$csrate" -v d="$cdrate" 'BEGIN { printf "%.0f", s / d * 100 }')
echo "socket ingest $csrate rec/s = $pct % of direct $cdrate rec/s (target ≥ 80 %; custos ingest of the same $CLI_N receipts)"
pct=$(awk -v s="$srate" -v d="$drate" 'BEGIN { printf "%.0f", s / d * 100 }')
bpct=$(awk -v s="$srate" -v d="$brate" 'BEGIN { printf "%.0f", s / d * 100 }')
echo "  under load, $INGEST clients waiting for each $BATCH-receipt answer: $srate rec/s = $pct % of their receipts in one direct call ($drate rec/s), $bpct % of one direct call a batch ($brate rec/s)"
[[ " $phases " == *" ingest "* ]] &&
	echo "  (those clients alone: $(val "$T/ingest.out" ingest_rate) rec/s = $(awk -v s="$(val "$T/ingest.out" ingest_rate)" -v d="$drate" 'BEGIN { printf "%.0f", s / d * 100 }') % of one direct call)"
echo "search p50 $(val "$T/mixed.out" search_p50_ms | awk '{printf "%.2f", $1}') ms p99 $(val "$T/mixed.out" search_p99_ms | awk '{printf "%.2f", $1}') ms while ingest runs (target p99 < 5 ms)"
[[ " $phases " == *" search "* ]] &&
	echo "  (search clients alone: p50 $(val "$T/search.out" search_p50_ms | awk '{printf "%.2f", $1}') ms p99 $(val "$T/search.out" search_p99_ms | awk '{printf "%.2f", $1}') ms)"
echo "daemon peak memory $(mb "$priv") MB private, the daemon and its workers at one time (target < 100 MB)"
echo "  (the daemon process itself $(mb "$hwm") MB RSS; with the archive's files they map — index, packs, shared page cache — PSS $(mb "$pss") MB)"
echo "errors 0"
