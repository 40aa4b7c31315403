#!/usr/bin/env bash
# custosd end to end: the socket API and its output (the same as without the
# daemon), roles from the caller's groups (allowed and denied, each denial
# recorded), malformed, oversized and slow requests, many clients at once,
# spool intake by inotify and a kill loop, SIGHUP with a good and a bad
# configuration, SIGTERM during a batch, the scheduler's catch-up, `custos
# status` and `custos run`, and what custosd tells systemd.
#   bash tests/e2e/daemon.sh ./custos ./custosd [--no-sandbox]
set -u
CUSTOS=$(realpath "${1:-./custos}")
CUSTOSD=$(realpath "${2:-./custosd}")
DFLAGS=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
SOCKSEND=$ROOT/build/sock_send
T=$(mktemp -d /tmp/custos-daemon.XXXXXX)
chmod 755 "$T"
DPID=
cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	pkill -9 -f "custosd -c $T/" 2>/dev/null
	[ -n "${KEEP:-}" ] && { echo "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT
export LC_ALL=C.UTF-8
unset CUSTOS_ARCHIVE
A=$T/archive
S=$T/spool
SOCK=$T/run/custos.sock
export CUSTOS_SOCKET=$SOCK

# the daemon's user, and the callers' users and groups (only as root)
ROLES=0
if [ "$(id -u)" = 0 ]; then
	DU=cu-e2e-daemon
	id "$DU" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$DU"
	for g in cu-e2e-op cu-e2e-arc cu-e2e-aud cu-e2e-adm; do
		getent group "$g" >/dev/null || groupadd -r "$g"
	done
	for u in op arc aud adm none; do
		id "cu-e2e-$u" >/dev/null 2>&1 || useradd -r -M -N -s /usr/sbin/nologin "cu-e2e-$u"
		[ "$u" != none ] && usermod -a -G "cu-e2e-$u" "cu-e2e-$u"
	done
	ROLES=1
	as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --init-groups "$@"; }
	runas() { as "$DU" "$@"; }
else
	DU=$(id -un)
	runas() { "$@"; }
fi

"$CUSTOS" -A "$A" init --fonds SI01 >/dev/null
mkdir -p "$S" "$T/run" "$T/backups" "$T/state"
[ "$ROLES" = 1 ] && chown -R "$DU" "$A" "$S" "$T/run" "$T/backups" "$T/state"

write_conf() {
	cat > "$T/custos.conf" <<CONF
archive = "$A";
spool = "$S";
socket = "$SOCK";
state = "$T/state";
roles = {
	cu-e2e-op = [ "ingest" ];
	cu-e2e-arc = [ "get", "search", "trace", "export", "ls", "holds", "disposition-propose" ];
	cu-e2e-aud = [ "search", "trace", "policy", "review", "reconcile", "audit-report", "verify" ];
	cu-e2e-adm = [ "backup", "restore", "keys", "config", "disposition-approve", "status", "run" ];
	$1
};
schedules = {
	backup_full = "";
	backup_incremental = "";
	verify = "${VERIFY_AT:-*-*-* 04:00}";
	verify_full = "";
};
limits = { request_bytes = 262144; request_seconds = 2; clients = 64; };
backup = { to = "$T/backups"; };
CONF
	chmod 644 "$T/custos.conf"
}

start() {
	if [ "$ROLES" = 1 ]; then
		setpriv --reuid "$DU" --regid "$DU" --init-groups "$CUSTOSD" -c "$T/custos.conf" -f $DFLAGS 2>>"$T/log" &
	else
		"$CUSTOSD" -c "$T/custos.conf" -f $DFLAGS 2>>"$T/log" &
	fi
	DPID=$!
	for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ]
}
stop() {
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	local rc=$?
	DPID=
	return $rc
}

ID=$(idno 110105 19491231 002)
ID2=$(idno 310101 19800101 123)
rc() { receipt "$1" "${2:-$ID}" registration 2026-11-20T09:31:00+08:00 "回执 $1"; echo; }
mkdir -p "$T/in"
for i in 1 2 3; do rc DM000$i > "$T/in/r$i.json"; done
rc DM0004 "$ID2" > "$T/in/r4.json"
echo '{"type":"receipt","receipt_no":"BAD"}' > "$T/in/bad.json"
chmod -R a+rX "$T/in"

echo "== custosd refuses what it must"
if [ "$(id -u)" = 0 ]; then
	write_conf ""
	expect_status "as root: exit 2" 2 "$CUSTOSD" -c "$T/custos.conf" -f
	expect_match "says why" "$(cat "$T/err")" "refusing to run as root"
fi
printf 'archive = "%s";\nspool = "%s";\nbogus = 1;\n' "$A" "$S" > "$T/bad.conf"
chmod 644 "$T/bad.conf"
expect_status "bad configuration: exit 2" 2 runas "$CUSTOSD" -c "$T/bad.conf" -f
expect_match "names file, line and setting" "$(cat "$T/err")" "bad.conf:3: bogus: unknown setting"
expect_status "no such archive: exit 2" 2 runas "$CUSTOSD" -c /nonexistent/custos.conf -f

echo "== start"
write_conf ""
if start; then ok "the socket is there"; else bad "the socket is there" "$(cat "$T/log")"; fi
expect_eq "socket mode: anyone may connect" "$(stat -c %a "$SOCK")" 666

echo "== the same commands, the same output"
out=$("$CUSTOS" ingest "$T/in/r1.json" "$T/in/r2.json" 2>"$T/err"); st=$?
expect_eq "ingest through the daemon: exit 0" "$st" 0
expect_match "one line per record" "$out" "^SI01-SB·2026-D100-DJ-000001 [0-9a-f]{64} $T/in/r1.json$"
expect_eq "two lines" "$(printf '%s\n' "$out" | wc -l)" 2
expect_eq "the summary, added up by the client" "$(cat "$T/err")" \
	"custos: 2 archived, 0 duplicates, 0 rejected, 1 commit"
expect_status "a rejected file: exit 1" 1 "$CUSTOS" ingest "$T/in/r1.json" "$T/in/bad.json" "$T/in/missing.json"
expect_match "duplicate first, in input order" "$(sed -n 1p "$T/out")" "^duplicate SI01-SB·2026-D100-DJ-000001 $T/in/r1.json$"
expect_match "then the bad item" "$(sed -n 2p "$T/out")" "^rejected $T/in/bad.json: "
expect_match "then the missing file" "$(sed -n 3p "$T/out")" "^rejected $T/in/missing.json: No such file"
out=$(cat "$T/in/r3.json" | "$CUSTOS" ingest --json - 2>/dev/null)
expect_match "standard input, --json" "$out" '^\{"status":"archived","ref":"SI01-SB·2026-D100-DJ-000003","id":"[0-9a-f]{64}","source":"-"\}$'
via=$("$CUSTOS" search --text 回执 --limit 0 2>&1)
direct=$(runas "$CUSTOS" --direct -A "$A" search --text 回执 --limit 0 2>&1)
expect_eq "search: the daemon's answer is the direct one" "$via" "$direct"
expect_eq "three records" "$(printf '%s\n' "$via" | wc -l)" 3
expect_nomatch "ID numbers masked" "$via" "$ID"
via=$("$CUSTOS" trace SI01-SB-2026-D100-DJ-000001 2>&1)
expect_match "trace through the daemon" "$via" "ingested"
expect_status "verify through the daemon: exit 0" 0 "$CUSTOS" verify
expect_match "verify's line" "$(cat "$T/out")" "no problem$"
expect_status "get -o FILE: written here" 0 "$CUSTOS" get --content -o "$T/got.json" SI01-SB-2026-D100-DJ-000002
expect_eq "the exact bytes" "$(cat "$T/got.json")" "$(cat "$T/in/r2.json")"
expect_status "get -o an existing file: refused" 2 "$CUSTOS" get --content -o "$T/got.json" SI01-SB-2026-D100-DJ-000002
runas "$CUSTOS" --direct -A "$A" audit report --from 2026-11-01 --to 2026-11-30 -o "$T/state/audit-direct.json" >/dev/null 2>&1
want=$?
expect_status "audit report -o FILE.json: the direct exit status" "$want" "$CUSTOS" audit report --from 2026-11-01 --to 2026-11-30 -o "$T/audit.json"
check "the report came back" test -s "$T/audit.json"
expect_eq "the same report but for its time" "$(grep -v generated_at "$T/audit.json" | wc -c)" \
	"$(grep -v generated_at "$T/state/audit-direct.json" | wc -c)"
expect_status "policy install FOLDER (sent with the request)" 0 "$CUSTOS" policy install "$ROOT/policy"
expect_match "policy list shows it" "$("$CUSTOS" policy list 2>&1)" "."
expect_status "another archive named: exit 2" 2 "$CUSTOS" -A /tmp search --text x
expect_match "says which it serves" "$(cat "$T/err")" "serves the archive $A"
expect_status "-A on the daemon's archive is fine" 0 "$CUSTOS" -A "$A" search --text 回执
before=$("$CUSTOS" search --text 回执 --limit 0 2>&1)
expect_status "reindex through the daemon: exit 0" 0 "$CUSTOS" reindex
expect_eq "readers answer from the new index at once, the same" \
	"$("$CUSTOS" search --text 回执 --limit 0 2>&1)" "$before"
rc DM0005 > "$T/in/r5.json"; chmod a+r "$T/in/r5.json"
"$CUSTOS" ingest "$T/in/r5.json" >/dev/null 2>&1
expect_match "and see what comes after it" "$("$CUSTOS" search --text DM0005 2>&1)" "回执 DM0005"
expect_status "custos init never goes to the daemon" 2 "$CUSTOS" init --fonds SI01
expect_status "--direct still opens the archive here" 0 runas "$CUSTOS" --direct -A "$A" search --limit 1 --text 参保登记
if [ ! -e /run/custos/custos.sock ]; then
	expect_status "config reload with no daemon anywhere: exit 2" 2 env -u CUSTOS_SOCKET "$CUSTOS" config reload
	expect_match "says so" "$(cat "$T/err")" "config reload: no daemon answers"
fi
expect_status "a socket named that nobody answers: exit 2" 2 "$CUSTOS" --socket "$T/none.sock" search --text x
expect_match "says so" "$(cat "$T/err")" "no daemon answers at $T/none.sock"

mkdir -p "$T/pipe"
"$ROOT/build/gen_receipts" 3000 5 PIPE | split -l 200 - "$T/pipe/part-"
chmod -R a+rX "$T/pipe"
c0=$(git -c safe.directory="*" -C "$A/history.git" rev-list --count main)
expect_status "3,000 receipts in 15 files, requests pipelined: exit 0" 0 "$CUSTOS" ingest "$T/pipe"
c1=$(git -c safe.directory="*" -C "$A/history.git" rev-list --count main)
expect_match "each archived once" "$(grep -c ' [0-9a-f]\{64\} ' "$T/out")" "^3000$"
expect_match "the summary counts each commit once (the history gained $((c1 - c0)))" \
	"$(cat "$T/err")" "^custos: 3000 archived, 0 duplicates, 0 rejected, $((c1 - c0)) commits?$"
mkdir -p "$T/vbag/data" && echo "申请表" > "$T/vbag/data/form.txt"
mkbag "$T/vbag" SOCK-CASE-1 "Case-Type: retirement_approval" "Title: 退休申请"
chmod -R a+rX "$T/vbag"
expect_status "a bag folder through the daemon (sent as a tar): exit 0" 0 "$CUSTOS" ingest "$T/vbag"
expect_match "archived as a case under the folder's name" "$(cat "$T/out")" "^SI01-[^ ]+ [0-9a-f]{64} $T/vbag$"
expect_match "ls lists its file" "$("$CUSTOS" ls case:SOCK-CASE-1 2>&1)" "form.txt"
ln -s /etc/passwd "$T/vbag/data/link"
expect_status "a bag folder with a symbolic link: rejected, exit 1" 1 "$CUSTOS" ingest "$T/vbag"
rm "$T/vbag/data/link"

echo "== roles"
if [ "$ROLES" = 1 ]; then
	expect_status "operator ingests" 0 as cu-e2e-op "$CUSTOS" ingest "$T/in/r4.json"
	expect_status "operator may not search: exit 2" 2 as cu-e2e-op "$CUSTOS" search --text x
	expect_match "permission denied, the role named" "$(cat "$T/err")" \
		"permission denied: search needs the role search, which uid [0-9]+ \(cu-e2e-op\) does not have"
	expect_status "archivist searches" 0 as cu-e2e-arc "$CUSTOS" search --text 回执
	expect_status "archivist may not verify" 2 as cu-e2e-arc "$CUSTOS" verify
	expect_status "archivist may not ingest" 2 as cu-e2e-arc "$CUSTOS" ingest "$T/in/r4.json"
	expect_status "archivist lists what is due (role disposition-propose)" 0 \
		as cu-e2e-arc "$CUSTOS" disposition due --at 2200-01-01
	expect_status "archivist may not approve one" 2 as cu-e2e-arc "$CUSTOS" disposition approve X --reason r
	expect_status "auditor verifies" 0 as cu-e2e-aud "$CUSTOS" verify
	expect_status "auditor may not get" 2 as cu-e2e-aud "$CUSTOS" get SI01-SB-2026-D100-DJ-000001
	expect_status "admin: status" 0 as cu-e2e-adm "$CUSTOS" status
	expect_status "auditor may not see status" 2 as cu-e2e-aud "$CUSTOS" status
	expect_status "no group, no role: exit 2" 2 as cu-e2e-none "$CUSTOS" search --text x
	expect_status "no group: not even keys" 2 as cu-e2e-none "$CUSTOS" keys
	sleep 1
	n=$(git -c safe.directory="*" -C "$A/history.git" log --format=%s | grep -c '^access: denied ')
	expect_eq "each denial is an event in the log" "$n" 8
	expect_match "with the command and the role" \
		"$(git -c safe.directory="*" -C "$A/history.git" log --format=%s | grep '^access: denied search' | head -1)" \
		"^access: denied search to uid [0-9]+ \(needs role search\)$"
	expect_status "the log still verifies" 0 "$CUSTOS" verify
else
	echo "  skipped: role checks need root (to make users and groups)"
fi

echo "== malformed, oversized and slow requests"
ans=$(printf 'not json\n' | "$SOCKSEND" "$SOCK" --hold 2)
expect_match "not JSON: an error answer" "$ans" '"error":"malformed"'
ans=$(printf '{"argv":[]}\n' | "$SOCKSEND" "$SOCK" --hold 2)
expect_match "empty argv" "$ans" '"error":"malformed".*argv'
ans=$(printf '{"argv":["frobnicate"]}\n' | "$SOCKSEND" "$SOCK" --hold 2)
expect_match "unknown command" "$ans" '"error":"unknown-command"'
ans=$(printf '{"argv":["search","-A","/etc","--text","x"]}\n' | "$SOCKSEND" "$SOCK" --hold 2)
expect_match "-A inside a request is refused" "$ans" 'the daemon serves one archive'
ans=$( { printf '{"argv":["search","--text","'; head -c 300000 /dev/zero | tr '\0' a; printf '"]}\n'; } | "$SOCKSEND" "$SOCK" --hold 3)
expect_match "oversized: refused" "$ans" '"error":"too-large".*262144'
t0=$(date +%s.%N)
( printf '{"argv":["search"' | "$SOCKSEND" "$SOCK" --hold 6 > "$T/slow.out" ) &
slow=$!
sleep 0.3
expect_status "a reader is served while a slow client dawdles" 0 "$CUSTOS" search --text 回执
wait $slow
expect_match "the slow client is dropped after request_seconds" "$(cat "$T/slow.out")" '"error":"timeout"'
pids=
for i in $(seq 1 24); do
	( "$CUSTOS" search --text 回执 > "$T/par.$i" 2>&1; echo $? > "$T/par.$i.rc" ) &
	pids="$pids $!"
done
wait $pids
okn=0
for i in $(seq 1 24); do
	[ "$(cat "$T/par.$i.rc")" = 0 ] && [ "$(wc -l < "$T/par.$i")" -ge 3 ] && okn=$((okn + 1))
done
expect_eq "24 clients at once, all answered" "$okn" 24
expect_status "still alive after all that" 0 "$CUSTOS" status
check "no resident ID number in the log" bash -c "! grep -q '$ID' '$T/log'"

echo "== spool intake (inotify)"
IN=$S/incoming
rc SP0001 > "$T/sp1"; chmod 644 "$T/sp1"
cp "$T/sp1" "$IN/sp1.json.part"
sleep 1
check "a .part name is left alone" test -e "$IN/sp1.json.part"
mv "$IN/sp1.json.part" "$IN/sp1.json"
for _ in $(seq 1 100); do [ -e "$S/archived/sp1.json" ] && break; sleep 0.05; done
check "renamed: archived by the daemon" test -e "$S/archived/sp1.json" -a -e "$S/archived/sp1.json.refs"
ref=$(cut -d' ' -f1 "$S/archived/sp1.json.refs")
expect_match "taken in by the daemon's own user, not by its last client" \
	"$("$CUSTOS" trace "$ref" 2>&1 | grep ingested)" "	$DU \(uid [0-9]+\)	"
echo 'not json' > "$IN/junk.json"
for _ in $(seq 1 100); do [ -e "$S/rejected/junk.json.reason" ] && break; sleep 0.05; done
check "bad file: rejected with its reason" test -s "$S/rejected/junk.json.reason"
mkdir -p "$T/bag/data" && echo "scan" > "$T/bag/data/a.txt"
mkbag "$T/bag" SPCASE-1 "Case-Type: retirement_approval" "Title: 退休申请"
cp -r "$T/bag" "$IN/case1"
# the daemon moves the folder: it must be able to write it (docs/spool.md)
[ "$ROLES" = 1 ] && chown -R "$DU" "$IN/case1"
sleep 1
check "a bag folder without its marker waits" test -d "$IN/case1"
touch "$IN/case1/.custos-complete"
for _ in $(seq 1 100); do [ -e "$S/archived/case1" ] && break; sleep 0.05; done
check "with the marker: archived" test -d "$S/archived/case1"

echo "== reload: a good and a bad configuration"
if [ "$ROLES" = 1 ]; then
	write_conf 'cu-e2e-none = [ "keys" ];'
	kill -HUP "$DPID"; sleep 0.5
	expect_status "after SIGHUP the new role holds" 0 as cu-e2e-none "$CUSTOS" keys
fi
cp "$T/custos.conf" "$T/custos.conf.good"
printf 'archive = "%s"\nspool = ;\n' "$A" > "$T/custos.conf"
kill -HUP "$DPID"; sleep 0.5
expect_match "a bad file is refused, logged with its line" "$(cat "$T/log")" "reload refused: .*custos.conf:[0-9]+: "
expect_status "the old configuration stays in force" 0 "$CUSTOS" status
expect_status "config reload through the socket: the bad file refused, exit 1" 1 "$CUSTOS" config reload
expect_match "and why" "$(cat "$T/err")" "has errors"
cp "$T/custos.conf.good" "$T/custos.conf"
expect_status "config reload of the good file: exit 0" 0 "$CUSTOS" config reload

echo "== status and run"
out=$("$CUSTOS" status 2>&1)
expect_match "status: the daemon" "$out" "^custosd .* pid $DPID, up [0-9]+s, archive $A$"
expect_match "status: the spool" "$out" "^spool $S: 0 waiting$"
expect_match "status: a job with its next time" "$out" "^job verify: \*-\*-\* 04:00; last never; next 20[0-9-]+T04:00:00Z$"
expect_status "run verify: exit 0" 0 "$CUSTOS" run verify
expect_match "its output" "$(cat "$T/out")" "^verify: .*no problem$"
expect_match "status shows the run" "$("$CUSTOS" status)" "^job verify: .*; last 20[^ ]+ ok \(exit 0\): verify: .*no problem; next"
expect_status "run backup" 0 "$CUSTOS" run backup
expect_eq "a backup file was made" "$(ls "$T/backups" | grep -c '\.cbk$')" 1
expect_match "status --json" "$("$CUSTOS" status --json)" '"backup_incremental":\{[^}]*"result":"ok"'
expect_status "run nothing: exit 2" 2 "$CUSTOS" run sleep
expect_match "the runs are events in the log" "$(git -c safe.directory="*" -C "$A/history.git" log --format=%s | head -5)" "backup"

echo "== SIGTERM during a batch"
mkdir -p "$T/many"
"$ROOT/build/gen_receipts" 6000 7 TERM | split -l 200 - "$T/many/part-"
chmod -R a+rX "$T/many"
before=$(runas "$CUSTOS" --direct -A "$A" verify --json 2>/dev/null | grep -o '"records":[0-9]*')
"$CUSTOS" ingest "$T/many" > "$T/term.out" 2>&1 &
cl=$!
sleep 0.3
stop; st=$?
expect_eq "custosd exits 0 on SIGTERM" "$st" 0
wait $cl
acked=$(grep -c ' [0-9a-f]\{64\} ' "$T/term.out")
check "the socket is removed" test ! -e "$SOCK"
expect_status "the archive verifies after it" 0 runas "$CUSTOS" --direct -A "$A" verify
after=$(runas "$CUSTOS" --direct -A "$A" verify --json 2>/dev/null | grep -o '"records":[0-9]*' | cut -d: -f2)
b=${before#*:}
check "every acknowledged record is there ($acked acknowledged, $((after - b)) new)" test "$((after - b))" -ge "$acked"

echo "== the scheduler's catch-up"
now=$(date +%s)
printf '{"version":1,"created":%d,"jobs":{}}\n' $((now - 3 * 86400)) > "$T/state/custosd.state"
[ "$ROLES" = 1 ] && chown "$DU" "$T/state/custosd.state"
start
for _ in $(seq 1 100); do [ "$(grep -c 'job verify: done' "$T/log")" = 2 ] && break; sleep 0.1; done
expect_eq "a run missed while down happens at start, once" "$(grep -c 'job verify: started' "$T/log")" 2
expect_match "and is recorded" "$(cat "$T/state/custosd.state")" '"verify"'
stop
start
sleep 1
expect_eq "no second catch-up after a restart" "$(grep -c 'job verify: started' "$T/log")" 2
stop

echo "== what custosd tells systemd"
( "$SOCKSEND" --notify "$T/notify.sock" 4 > "$T/notify.out" ) &
np=$!
sleep 0.3
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 start
sleep 1.5
stop
wait $np
expect_match "READY=1" "$(cat "$T/notify.out")" "READY=1"
expect_match "WATCHDOG=1 at half the interval" "$(grep -c WATCHDOG=1 "$T/notify.out")" "^([3-9]|[1-9][0-9])$"
expect_match "STOPPING=1" "$(cat "$T/notify.out")" "STOPPING=1"

echo "== the spool after kills at random moments"
for i in $(seq 1 40); do rc "KL$i" > "$IN/kl$i.json"; done
[ "$ROLES" = 1 ] && chown -R "$DU" "$IN"
for round in 1 2 3 4 5 6; do
	start
	sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
	kill -9 "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=
	pkill -9 -f "custosd -c $T/" 2>/dev/null
	sleep 0.1
done
start
for _ in $(seq 1 100); do [ -z "$(ls "$IN")" ] && break; sleep 0.1; done
stop
expect_eq "every spool file moved on" "$(ls "$IN" | wc -l)" 0
n=$(runas "$CUSTOS" --direct -A "$A" search --text 回执 --limit 0 2>/dev/null | grep -c 'KL')
expect_eq "each archived exactly once (40 records, no double)" "$n" 40
expect_status "the archive verifies" 0 runas "$CUSTOS" --direct -A "$A" verify

echo "== the log"
check "no sanitizer report from the daemon or its children" \
	bash -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/log'"
check "no worker stopped by the sandbox (SIGSYS) or otherwise" \
	bash -c "! grep -Eq 'outside the sandbox|(reader|writer) [0-9]+ ended' '$T/log'"
check "no resident ID number anywhere in the log" bash -c "! grep -Eq '$ID|$ID2' '$T/log'"
expect_eq "every line has a priority prefix for journald" "$(grep -cv '^<[0-7]>' "$T/log")" 0
expect_match "the start line" "$(grep -m1 'custosd ' "$T/log")" "^<5>custosd [0-9.]+: archive $A, spool $S, socket $SOCK$"

summary
