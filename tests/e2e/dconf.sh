#!/usr/bin/env bash
# custos config check: the daemon's configuration file.
#   bash tests/e2e/dconf.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-dconf.XXXXXX)
trap 'rm -rf "$T"' EXIT
c() { "$CUSTOS" "$@"; }

echo "== config check"
expect_status "the shipped example: exit 0" 0 c config check "$HERE/../../conf/custos.conf"
expect_eq "it says ok FILE" "$(cat "$T/out")" "ok $HERE/../../conf/custos.conf"
printf 'archive = "/var/lib/custos/archive";\nspool = "/var/lib/custos/spool";\nsocket = "/run/custos/custos.sock";\n' > "$T/three.conf"
expect_status "a three-line file: exit 0" 0 c config check "$T/three.conf"
expect_eq "ok" "$(cat "$T/out")" "ok $T/three.conf"

cat > "$T/bad.conf" <<'CONF'
archive = "var/lib/custos";
spool = "/var/lib/custos/spool";
colour = "blue";
limits = {
	clients = 0;
	threads = 4;
};
roles = { custos-operator = [ "ingest", "fly" ]; };
schedules = { verify = "Sun 25:00"; };
CONF
expect_status "a file with errors: exit 1" 1 c config check "$T/bad.conf"
out=$(cat "$T/out")
expect_match "a relative path, with file and line" "$out" "^$T/bad.conf:1: archive: must be an absolute path"
expect_match "an unknown top-level setting" "$out" "^$T/bad.conf:3: colour: unknown setting$"
expect_match "a value out of range" "$out" "^$T/bad.conf:5: limits.clients: must be an integer 1-4096$"
expect_match "an unknown setting in a group" "$out" "^$T/bad.conf:6: limits.threads: unknown setting$"
expect_match "an unknown role" "$out" "^$T/bad.conf:8: roles.custos-operator: unknown role fly$"
expect_match "a calendar expression out of range" "$out" "^$T/bad.conf:9: schedules.verify: calendar \"Sun 25:00\": hour \"25\": out of range 0-23$"
expect_eq "one line per problem" "$(wc -l < "$T/out")" 6
expect_eq "nothing on stderr" "$(cat "$T/err")" ""

printf 'archive = "/a";\nspool = "/s";\nlimits = { clients = ; };\n' > "$T/syntax.conf"
LSAN_OPTIONS=suppressions=$HERE/lsan-libconfig.supp expect_status "a syntax error: exit 1" 1 c config check "$T/syntax.conf"
expect_eq "the syntax error with its line" "$(cat "$T/out")" "$T/syntax.conf:3: syntax: syntax error"

expect_status "a missing file: exit 2" 2 c config check "$T/none.conf"
expect_match "named on stderr" "$(cat "$T/err")" "none.conf"
expect_status "no subcommand: exit 2" 2 c config
expect_status "an unknown subcommand: exit 2" 2 c config load "$T/three.conf"
expect_status "two files: exit 2" 2 c config check "$T/three.conf" "$T/bad.conf"
expect_status "--help: exit 0" 0 c config --help
expect_match "the help names the default file" "$(cat "$T/out")" "/etc/custos/custos.conf"

summary
