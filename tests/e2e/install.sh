#!/usr/bin/env bash
# make install: every file in its place with its mode, the unit pointing at the
# installed daemon, the example configuration valid and never overwritten, and
# systemd-analyze verify on the installed tree (when systemd-analyze is there).
#   bash tests/e2e/install.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/stage

echo "== make install PREFIX=/usr DESTDIR=…"
expect_status "exit 0" 0 make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$D"
for f in usr/bin/custos:755 usr/bin/custosd:755 usr/share/man/man1/custos.1:644 \
	usr/share/man/man5/custos.conf.5:644 usr/share/man/man8/custosd.8:644 \
	usr/share/custos/custos.conf.example:644 usr/share/custos/policy/fund-control.conf:644 \
	usr/share/custos/policy/staff.conf:644 usr/lib/systemd/system/custosd.service:644 \
	usr/lib/sysusers.d/custos.conf:644 usr/lib/tmpfiles.d/custos.conf:644 \
	etc/custos/custos.conf:640; do
	p=${f%%:*} m=${f##*:}
	if [ -f "$D/$p" ] && [ "$(stat -c %a "$D/$p")" = "$m" ]; then ok "/$p ($m)"; else bad "/$p ($m)" "$(stat -c %a "$D/$p" 2>&1)"; fi
done
expect_eq "/etc/custos is 0750" "$(stat -c %a "$D/etc/custos")" 750
expect_match "the installed daemon runs" "$("$D/usr/bin/custosd" --version)" "^custosd [0-9.]+$"
expect_status "the installed configuration checks" 0 "$D/usr/bin/custos" config check "$D/etc/custos/custos.conf"
expect_match "ExecStart is the installed daemon" "$(grep ^ExecStart= "$D/usr/lib/systemd/system/custosd.service")" \
	'^ExecStart=/usr/bin/custosd -f$'
if command -v man >/dev/null 2>&1; then
	expect_match "custosd(8) formats" "$(MANWIDTH=80 man -l "$D/usr/share/man/man8/custosd.8" 2>&1 | head -8)" "custosd +- +the +custos +records +daemon"
fi

echo "== a second install keeps an edited configuration"
echo '# edited' >> "$D/etc/custos/custos.conf"
out=$(make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$D" 2>&1)
expect_match "says it kept it" "$out" "kept /etc/custos/custos.conf"
expect_match "the edit is still there" "$(tail -1 "$D/etc/custos/custos.conf")" "^# edited$"

echo "== PREFIX=/usr/local"
expect_status "exit 0" 0 make -s -C "$ROOT" install PREFIX=/usr/local DESTDIR="$T/local"
expect_match "the unit names /usr/local/bin/custosd" \
	"$(grep ^ExecStart= "$T/local/usr/local/lib/systemd/system/custosd.service")" '^ExecStart=/usr/local/bin/custosd -f$'
check "the configuration under PREFIX/etc" test -f "$T/local/usr/local/etc/custos/custos.conf"

echo "== systemd-analyze verify on the installed tree"
if command -v systemd-analyze >/dev/null 2>&1 && [ -d /usr/lib/systemd/system ]; then
	mkdir -p "$D/bin" "$D/etc/systemd/system"
	cp -a /usr/lib/systemd/system/. "$D/usr/lib/systemd/system/"
	cp /bin/kill "$D/bin/kill"
	if systemd-analyze verify --man=no --root="$D" "$D/usr/lib/systemd/system/custosd.service" > "$T/v" 2>&1 &&
	   [ ! -s "$T/v" ]; then
		ok "verify: exit 0, no message"
	else
		bad "verify" "$(head -c 400 "$T/v")"
	fi
else
	echo "  skipped: no systemd-analyze"
fi

summary
