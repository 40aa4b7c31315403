#!/usr/bin/env bash
# custosd's sandbox (src/daemon/sandbox.c, docs/sandbox.md) around
# build/sandbox_probe: the process attributes, calls the seccomp filter kills
# (SIGSYS), the calls of the daemon's loop that it lets through, Landlock's
# refusals outside the granted folders (skipped, saying so, on a kernel
# without Landlock), the real work of custos — ingest, search, get, a spool
# pass, backup create and verify, verify — in a forked child under the whole
# sandbox, and every system call the custos commands make (strace) found on
# the allow-list; then custosd itself: no_new_privs, the filter, umask, not
# dumpable once it serves.
#   bash tests/e2e/sandbox.sh [./custos [./custosd]]
set -u
CUSTOS=$(realpath "${1:-./custos}")
CUSTOSD=$(realpath "${2:-./custosd}" 2>/dev/null)
PROBE=$(realpath "${SANDBOX_PROBE:-build/sandbox_probe}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-sandbox.XXXXXX)
trap 'rm -rf "$T"' EXIT
SIGSYS_EXIT=$((128 + 31))

RW=$T/rw
mkdir -p "$RW" "$T/outside" "$T/ro"
echo "kept out" > "$T/outside/secret"
echo "may be read" > "$T/ro/conf"
# what custosd reads besides its own folders (docs/sandbox.md)
RO=(--ro /usr --ro /etc/passwd --ro /etc/group --ro /etc/nsswitch.conf --ro /etc/localtime
	--ro /etc/ld.so.cache --ro /etc/ssl/openssl.cnf --ro /dev/urandom --ro /dev/null --ro /sys/devices/system/cpu
	--ro /proc/self)
p() { "$PROBE" --rw "$RW" "${RO[@]}" "$@"; }

echo "== process attributes"
expect_status "the probe applies the whole sandbox" 0 p status
st=$(cat "$T/out")
expect_match "umask 077" "$st" '^umask 0077$'
expect_match "RLIMIT_CORE 0, soft and hard" "$st" '^core 0 0$'
expect_match "not dumpable" "$st" '^dumpable 0$'
expect_match "no_new_privs set" "$st" '^no_new_privs 1$'
expect_match "a seccomp filter is on (mode 2)" "$st" '^seccomp 2$'
ABI=$(sed -n 's/^landlock //p' "$T/out")
expect_match "the Landlock ABI applied is reported" "$ABI" '^[0-9]+$'
expect_status "without the filter and Landlock the probe still runs" 0 \
	"$PROBE" --no-seccomp --no-landlock status
expect_match "… and reports no filter: the status line tells the two apart" "$(cat "$T/out")" '^seccomp 0$'

echo "== seccomp: the allow-list"
"$PROBE" list | awk '{ print $1 }' | sort -u > "$T/allowed"
expect_match "the probe lists the allow-list" "$(wc -l < "$T/allowed")" '^[1-9][0-9]+$'
# the calls named in docs/sandbox.md's table (the second column's lower-case words)
awk '/^\| group \| calls \| why \|/ { t = 1; next } t && /^\|/ { print } t && !/^\|/ { exit }' \
	"$HERE/../../docs/sandbox.md" | awk -F'|' 'NR > 1 { print $3 }' | grep -o '`[^`]*`' | tr -d '`' |
	tr ' ' '\n' | grep -xE '[a-z0-9_]+' | sort -u > "$T/documented"
expect_eq "docs/sandbox.md names exactly the calls of the code's table" \
	"$(comm -3 "$T/allowed" "$T/documented" | tr -d '\t' | tr '\n' ' ')" ""
for call in execve ptrace mount setuid bpf keyctl personality unshare setns seccomp; do
	expect_nomatch "$call is not on the list" "$(cat "$T/allowed")" "^$call\$"
done

echo "== seccomp: calls a records daemon never makes kill the process"
for call in ptrace execve socket-inet socket-netlink mount unshare clone-newuser setuid bpf \
	keyctl personality umask prctl-dumpable ioctl-tiocsti setrlimit-core; do
	expect_status "$call: killed by SIGSYS (exit $SIGSYS_EXIT)" $SIGSYS_EXIT p forbidden "$call"
	expect_nomatch "$call: the call never returned" "$(cat "$T/out")" 'returned'
done
# the same calls run without the filter: the deaths above are the filter's
for call in umask personality; do
	expect_status "$call without the filter returns (exit 1, not a signal)" 1 \
		"$PROBE" --no-seccomp forbidden "$call"
	expect_match "$call without the filter: says it returned" "$(cat "$T/out")" "^$call returned"
done

echo "== seccomp: what the daemon's loop does runs"
expect_status "threads start (clone3 fails with ENOSYS, the C library falls back to clone)" 0 \
	p allowed thread
expect_eq "the thread ran" "$(cat "$T/out")" "thread: 42"
expect_status "fork and wait" 0 p allowed fork
expect_eq "the child's exit status came back" "$(cat "$T/out")" "fork: child exited 7"
expect_status "a child is stopped with SIGTERM" 0 p allowed kill-child
expect_eq "the child ended by that signal" "$(cat "$T/out")" "kill-child: child ended by signal 15"
expect_status "a user name from the password database" 0 p allowed getpwuid
expect_eq "the name is the caller's" "$(cat "$T/out")" "getpwuid: $(id -un)"
expect_status "a UNIX socket server: bind, listen, accept4, SO_PEERCRED, a client" 0 \
	p allowed unix-server "$RW"
expect_match "the server read the client and its credentials" "$(cat "$T/out")" \
	"^unix-server: \"hello\" from pid of the client, uid $(id -u)\$"
expect_status "a datagram to a socket path, as sd_notify sends" 0 p allowed notify "$RW"
expect_eq "the datagram arrived" "$(cat "$T/out")" "notify: READY=1"

echo "== Landlock: the granted folders only"
expect_status "writes beneath a read-write folder" 0 p write "$RW/file"
expect_eq "the file holds what was written" "$(cat "$RW/file")" "written inside the sandbox"
if [ "$ABI" = 0 ]; then
	echo "  skipped: kernel without Landlock"
else
	expect_status "reading a file outside is refused" 1 p read "$T/outside/secret"
	expect_match "the refusal names the file" "$(cat "$T/out")" "^refused: $T/outside/secret: Permission denied"
	expect_status "writing a file outside is refused" 1 p write "$T/outside/new"
	check "nothing was created outside" test ! -e "$T/outside/new"
	expect_status "a read-only file is read" 0 "$PROBE" --rw "$RW" --ro "$T/ro/conf" read "$T/ro/conf"
	expect_eq "all of it" "$(cat "$T/out")" "read 12 bytes"
	expect_status "a file beside it in the same folder is not" 1 \
		"$PROBE" --rw "$RW" --ro "$T/ro/conf" read "$T/outside/secret"
	expect_status "a read-only folder's files are read" 0 "$PROBE" --rw "$RW" --ro "$T/ro" read "$T/ro/conf"
	expect_status "… and nothing is written in it" 1 "$PROBE" --rw "$RW" --ro "$T/ro" write "$T/ro/new"
	check "… nothing was created there" test ! -e "$T/ro/new"
	expect_status "nor is a file removed from it" 1 "$PROBE" --rw "$RW" --ro "$T/ro" unlink "$T/ro/conf"
	check "… the file is still there" test -f "$T/ro/conf"
	mkdir -p "$RW/a" "$RW/b"
	echo x > "$RW/a/f"
	expect_status "a file moves between folders beneath a read-write folder (spool, objects)" 0 \
		p rename "$RW/a/f" "$RW/b/f"
	check "… it moved" test -f "$RW/b/f"
	expect_status "a file does not move out of the sandbox" 1 p rename "$RW/b/f" "$T/outside/f"
	check "… it stayed" test -f "$RW/b/f"
	expect_status "a folder is made beneath a read-write folder" 0 p mkdir "$RW/made"
	expect_status "but not outside" 1 p mkdir "$T/outside/made"
	expect_status "without Landlock the same read works: the refusal was Landlock's" 0 \
		"$PROBE" --no-landlock read "$T/outside/secret"
	expect_status "a granted path that does not exist is skipped" 0 \
		"$PROBE" --rw "$RW" --ro "$T/does-not-exist" --ro /proc/self status
	if [ "$ABI" -ge 6 ]; then
		expect_status "an abstract socket made outside is out of reach (ABI 6 scope)" 1 p abstract-notify
		expect_match "… the send is refused" "$(cat "$T/out")" '^refused: sendto .*Operation not permitted'
		expect_status "… unless the daemon keeps them reachable (a \$NOTIFY_SOCKET with @)" 0 \
			p --abstract-unix abstract-notify
		expect_eq "… then the datagram arrives" "$(cat "$T/out")" "abstract-notify: READY=1"
		sleep 60 & victim=$!
		expect_status "no signal to a process outside the sandbox (ABI 6 scope)" 1 p signal "$victim"
		check "… it still runs" kill -0 "$victim"
		expect_status "… the same signal without Landlock arrives" 0 "$PROBE" --no-landlock signal "$victim"
		wait "$victim" 2>/dev/null
		check "… and ends it" test -z "$(jobs -pr)"
	else
		echo "  skipped: Landlock ABI $ABI has no scopes (ABI 6)"
	fi
fi

echo "== the real work under the whole sandbox, in a forked child"
W=$T/work
mkdir -p "$W/in" "$W/spool/incoming" "$W/backups"
A=$W/archive
expect_status "custos init (outside the sandbox)" 0 "$CUSTOS" -A "$A" init --fonds SI01
for i in 1 2 3; do receipt "SBX-$i" "$(idno 110105 19491231 00$i)" > "$W/in/r$i.json"; done
receipt "SBX-9" "$(idno 310101 19851115 123)" > "$W/spool/incoming/s9.json"
expect_status "ingest, search, get, spool, backup, verify under the sandbox" 0 \
	"$PROBE" --rw "$A" --rw "$W/spool" --rw "$W/backups" --ro "$W/in" "${RO[@]}" \
	work "$A" "$W/in" "$W/spool" "$W/backups"
out=$(cat "$T/out")
expect_match "the child finished" "$out" '^work: ok$'
expect_match "three receipts archived" "$out" '^ingest: 3 archived, 0 duplicates, 0 rejected$'
expect_match "search found them" "$out" '^search: 3 hits$'
expect_match "get returned a record (its access event committed)" "$out" '^get: SI01-'
expect_match "the spool pass archived its file" "$out" '^spool: 1 archived, 0 rejected$'
expect_match "a full backup was written" "$out" '^backup: full, [0-9]+ files$'
expect_match "the backup verified" "$out" '^backup verify: 0 problems$'
expect_match "custos verify found no problem" "$out" '^verify: 4 records, [0-9]+ commits, 0 problems$'
expect_nomatch "no ID number in clear on the output" "$out" '11010519491231|31010119851115'
# the work was real: custos, outside the sandbox, sees it
expect_status "custos search outside the sandbox" 0 "$CUSTOS" -A "$A" search --limit 0
expect_eq "… finds the four records" "$(grep -c 'SI01-' "$T/out")" 4
check "the spool entry was moved to archived/" test -f "$W/spool/archived/s9.json"
expect_status "custos backup verify outside the sandbox" 0 "$CUSTOS" -A "$A" backup verify "$W"/backups/*.cbk
expect_status "custos verify outside the sandbox" 0 "$CUSTOS" -A "$A" verify

if [ "$ABI" != 0 ]; then
	before=$(ls -R "$A" | sha256sum)
	expect_status "with the archive outside the granted folders the work is refused" 1 \
		"$PROBE" --rw "$W/spool" --rw "$W/backups" --ro "$W/in" "${RO[@]}" \
		work "$A" "$W/in" "$W/spool" "$W/backups"
	expect_match "… saying which step and why" "$(cat "$T/out")" '^work: open: .*(Permission denied|denied)'
	expect_eq "… and the archive is as it was" "$(ls -R "$A" | sha256sum)" "$before"
	expect_status "… custos verify still passes" 0 "$CUSTOS" -A "$A" verify
fi

echo "== every system call of the custos commands is on the allow-list"
if ! command -v strace >/dev/null 2>&1; then
	echo "  skipped: strace is not installed"
else
	S=$T/strace
	mkdir -p "$S" "$W/in2" "$W/spool/incoming"
	for i in 4 5; do receipt "SBX-$i" "$(idno 440524 18800101 00$i)" > "$W/in2/r$i.json"; done
	receipt "SBX-8" "$(idno 110105 19491231 008)" > "$W/spool/incoming/s8.json"
	st() { strace -f -qq -e signal=none -o "$S/$1" "$CUSTOS" -A "$A" "${@:2}" >/dev/null 2>&1; }
	check "ingest under strace" st ingest ingest "$W/in2"
	check "search under strace" st search search --service registration
	check "get under strace" st get get --purpose test SI01-SB·2026-D100-DJ-000001
	check "export under strace" st export export SI01-SB·2026-D100-DJ-000001 -o "$W/bag.tar"
	check "spool run under strace" st spool spool run --spool "$W/spool"
	check "backup create under strace" st backup backup create --to "$W/backups"
	check "backup verify under strace" st bverify backup verify "$W"/backups/*.cbk
	check "restore under strace" st restore restore --to "$W/restored" "$W"/backups/*.cbk \
		--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
	check "verify under strace" st verify verify
	check "trace under strace" st trace trace SI01-SB·2026-D100-DJ-000001
	# execve and arch_prctl are the program's start (the loader, the C
	# library), before a daemon would put itself in the sandbox
	cat "$S"/* | sed -nE 's/^[0-9]+ +(<\.\.\. )?([a-z0-9_]+)[( ].*/\2/p' | sort -u |
		grep -vxE 'execve|arch_prctl' > "$T/used"
	expect_match "the calls were collected" "$(wc -l < "$T/used")" '^[1-9][0-9]+$'
	missing=$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')
	expect_eq "calls made by custos and missing from the allow-list" "$missing" ""
fi

echo "== custosd enters its sandbox"
if [ ! -x "$CUSTOSD" ]; then
	echo "  skipped: no custosd binary"
else
	D=$T/daemon
	mkdir -p "$D/spool" "$D/run" "$D/state"
	"$CUSTOS" -A "$D/archive" init --fonds SI01 >/dev/null
	printf 'archive = "%s";\nspool = "%s";\nsocket = "%s";\nstate = "%s";\n' \
		"$D/archive" "$D/spool" "$D/run/custos.sock" "$D/state" > "$D/custos.conf"
	chmod 755 "$T" "$D"
	chmod 644 "$D/custos.conf"
	if [ "$(id -u)" = 0 ]; then
		# custosd refuses root: the test runs it as nobody
		chown -R nobody "$D/archive" "$D/spool" "$D/run" "$D/state"
		setpriv --reuid nobody --regid nogroup --clear-groups "$CUSTOSD" -c "$D/custos.conf" -f \
			2>"$D/log" &
	else
		"$CUSTOSD" -c "$D/custos.conf" -f 2>"$D/log" &
	fi
	DPID=$!
	# the socket is bound before the sandbox: wait for the filter itself
	for _ in $(seq 1 100); do
		grep -q '^Seccomp:[[:space:]]*2' "/proc/$DPID/status" 2>/dev/null && break
		sleep 0.05
	done
	status=$(cat "/proc/$DPID/status" 2>/dev/null)
	expect_match "custosd runs with a seccomp filter" "$status" '^Seccomp:[[:space:]]+2$'
	expect_match "… with no_new_privs" "$status" '^NoNewPrivs:[[:space:]]+1$'
	expect_match "… and umask 077" "$status" '^Umask:[[:space:]]+0077$'
	expect_eq "not dumpable: its /proc files (fd/) belong to root, not to its user" \
		"$(stat -c %U "/proc/$DPID/fd" 2>/dev/null)" root
	expect_eq "no core files: RLIMIT_CORE 0" \
		"$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$DPID/limits" 2>/dev/null)" "0 0"
	if [ "$ABI" = 0 ]; then
		expect_match "the log says the kernel has no Landlock" "$(cat "$D/log")" 'no Landlock'
	else
		expect_nomatch "the log has no sandbox warning" "$(cat "$D/log")" 'no Landlock|sandbox:'
	fi
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID"
	expect_eq "custosd stops on SIGTERM, exit 0" "$?" 0
fi

summary
