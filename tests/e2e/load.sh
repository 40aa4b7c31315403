#!/usr/bin/env bash
# custosd under a short load from build/load_client (the bench's client,
# bench/load.c): its answers all right, the archive holding exactly what the
# clients were told, and the client noticing wrong answers and a daemon gone.
#   bash tests/e2e/load.sh ./custos      (custosd is taken from beside it)
set -u
CUSTOS=$(realpath "${1:-./custos}")
CUSTOSD=$(realpath "${CUSTOSD:-$(dirname "$CUSTOS")/custosd}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
LOAD=$(realpath "${LOAD_CLIENT:-build/load_client}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-load.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $T" && exit; rm -rf "$T"' EXIT
BUSER=custos-bench
# the sanitizer build of the daemon runs without its sandbox
NOSB=
case "$CUSTOSD" in */san/*) NOSB=--no-sandbox ;; esac
if [ "$(id -u)" = 0 ]; then
	id "$BUSER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$BUSER"
	as_user() { setpriv --reuid "$BUSER" --regid "$BUSER" --clear-groups "$@"; }
else
	as_user() { "$@"; }
fi
# start: custosd on $T/a in the background (setpriv execs it: $! is the daemon)
start() {
	rm -f "$T/run/s.sock"
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid "$BUSER" --regid "$BUSER" --clear-groups "$CUSTOSD" $NOSB -c "$T/conf" -f 2>> "$T/log" &
	else
		"$CUSTOSD" $NOSB -c "$T/conf" -f 2>> "$T/log" &
	fi
	DPID=$!
	for _ in $(seq 1 100); do [ -S "$T/run/s.sock" ] && return 0; sleep 0.1; done
	return 1
}
val() { sed -n "s/^result .*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }

echo "== the load client against custosd"
"$GEN" 300 21 E > "$T/pre.jsonl"
grep -o '"id_no":"[0-9X]*"' "$T/pre.jsonl" | cut -d'"' -f4 | head -50 > "$T/persons"
"$CUSTOS" -A "$T/a" init --fonds SI01 >/dev/null
"$CUSTOS" -A "$T/a" ingest "$T/pre.jsonl" >/dev/null 2>&1
mkdir -p "$T/spool" "$T/run" "$T/state" "$T/sent"
cat > "$T/conf" <<EOF
archive = "$T/a"; spool = "$T/spool"; socket = "$T/run/s.sock"; state = "$T/state";
schedules = { backup_full = ""; backup_incremental = ""; verify = ""; verify_full = ""; };
EOF
if [ "$(id -u)" = 0 ]; then chown -R "$BUSER:" "$T/a" "$T/spool" "$T/run" "$T/state"; chmod 755 "$T"; fi
check "custosd opens its socket" start

expect_status "usage: more ingesters than clients: exit 2" 2 "$LOAD" -s "$T/run/s.sock" -c 2 -i 3
expect_match "  and says so" "$(cat "$T/err")" "^load_client: -i 3: more ingesters than clients \(2\)$"
expect_status "a socket nobody listens at: exit 2" 2 "$LOAD" -s "$T/run/none.sock" -t 1
expect_match "  named" "$(cat "$T/err")" "none.sock: No such file or directory"

"$LOAD" -s "$T/run/s.sock" -c 4 -i 2 -t 2 -b 25 -P "$T/persons" -n 10 -w "$T/sent" -m "$DPID" > "$T/l1" 2> "$T/l1.err"
expect_eq "4 clients for 2 s, 2 ingesting and 2 searching: exit 0" "$?" 0
expect_eq "  errors 0" "$(val "$T/l1" errors)" 0
n=$(val "$T/l1" archived)
expect_match "  receipts archived, whole requests of 25" "$n" '^[1-9][0-9]*[05]$'
expect_match "  searches answered" "$(val "$T/l1" search_requests)" '^[1-9][0-9]*$'
expect_match "  by text and by person, each timed" "$(cat "$T/l1")" "^search: by text p50 [0-9.]+ ms, p99 [0-9.]+ ms; by person p50 [0-9.]+ ms, p99 [0-9.]+ ms$"
expect_match "  the daemon's memory sampled" "$(val "$T/l1" mem_main_kib) $(val "$T/l1" mem_total_pss_kib)" '^[1-9][0-9]* [1-9][0-9]*$'
expect_eq "  the receipts sent are kept, as many as archived" "$(cat "$T"/sent/client-0[01].jsonl | wc -l)" "$n"
expect_eq "  each receipt number once" "$(cat "$T"/sent/*.jsonl | grep -o '"receipt_no":"[^"]*"' | sort -u | wc -l)" "$n"

kill -TERM "$DPID"; wait "$DPID"; st=$?; DPID=
expect_eq "custosd exits 0 on SIGTERM after the load" "$st" 0
as_user "$CUSTOS" --direct -A "$T/a" verify > "$T/v" 2>&1
expect_eq "the archive verifies" "$?" 0
expect_match "  holding the 300 preloaded and exactly what the clients were told" "$(cat "$T/v")" " $((300 + n)) records, "
check "no ID number in clear in the daemon's log" sh -c "! grep -qFf '$T/persons' '$T/log'"

echo "== the client notices wrong answers"
check "custosd starts again" start
"$LOAD" -s "$T/run/s.sock" -c 1 -i 1 -t 1 -b 25 > "$T/l2" 2> "$T/l2.err"
expect_eq "the same receipts again: exit 1" "$?" 1
expect_match "  each a duplicate, counted as an error" "$(cat "$T/l2.err")" "client 0: ingest c00-0000001.jsonl: 0 archived, 25 duplicates, 0 rejected, 0 denied, 25 lines; expected 25 archived and nothing else"
expect_nomatch "  errors not 0" "$(cat "$T/l2")" "^errors 0$"
# a valid number nobody in the archive has
"$GEN" 1 99 Z | grep -o '"id_no":"[0-9X]*"' | cut -d'"' -f4 > "$T/nobody"
if [ -s "$T/nobody" ] && ! grep -qFf "$T/nobody" "$T/pre.jsonl"; then
	"$LOAD" -s "$T/run/s.sock" -c 1 -i 0 -t 1 -P "$T/nobody" > "$T/l3" 2> "$T/l3.err"
	expect_eq "a person search finding nobody: exit 1" "$?" 1
	expect_match "  named with the number masked" "$(cat "$T/l3.err")" "search --person [0-9]{6}\*{8}[0-9X]{4}: 0 lines"
	expect_nomatch "  never in clear" "$(cat "$T/l3.err")" "$(cat "$T/nobody")"
fi
"$LOAD" -s "$T/run/s.sock" -c 1 -i 0 -t 1 -n 10 -P "$T/persons" > /dev/null 2>&1
expect_eq "text searches with 10 lines each and people found: exit 0" "$?" 0
"$LOAD" -s "$T/run/s.sock" -c 2 -i 1 -t 5 -b 25 -p GONE > "$T/l4" 2> "$T/l4.err" &
lp=$!
sleep 1
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=
wait "$lp"
expect_eq "the daemon killed during the load: exit 1" "$?" 1
expect_match "  a lost connection is an error" "$(cat "$T/l4.err")" "closed the connection without an answer|Connection reset|Broken pipe"

summary
