#!/usr/bin/env bash
# The scheduler's calendar next to systemd's: for each expression, the next
# times after a few base times, computed by build/calendar_next and by
# `systemd-analyze calendar --iterations=N --base-time=@BASE`, in several
# time zones.  Skipped (and says so) without systemd-analyze.
#   bash tests/e2e/calendar.sh
set -u
NEXT=$(realpath "${CALENDAR_NEXT:-build/calendar_next}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-calendar.XXXXXX)
trap 'rm -rf "$T"' EXIT

echo "== calendar expressions next to systemd-analyze calendar"
if ! command -v systemd-analyze >/dev/null 2>&1 ||
   ! systemd-analyze calendar --help 2>/dev/null | grep -q -- --base-time; then
	echo "  skipped: systemd-analyze calendar --base-time is not available"
	summary
	exit
fi

EXPRS=(
	"Sun 02:00" "*-*-* 02:30" "*-*-* 04:00" "*-*-01 05:00"
	"hourly" "daily" "weekly" "monthly" "yearly" "minutely"
	"Mon..Fri 08:00" "Sat,Sun 10:15:30" "Mon,Wed..Fri *-*-* 12:00"
	"*-01,07-01" "*-*-1,8,15,22,29 03:00" "*-01..12/3-01" "*-02-29" "*-02-29 12:00" "*-*-31 23:59:59"
	"Fri *-*-13" "*:0/15" "*:05/20:30" "8..18:00/30" "*-*-* 00/6:00"
	"2026..2030-02-28,29 06:00" "2027-*-* 00:00" "*-12-31 23:59:59"
	"*-02-30" "2026-06-15 12:00 UTC" "*-*-* 02:30 UTC" "daily UTC"
	"Tue 01:02:03" "Mon *-1..3,10..12-1..7 00:00"
)

for tz in UTC Asia/Shanghai; do
	for base in 1764374400 1798675199 1803859200 4102444799; do
		TZ=$tz systemd-analyze calendar --iterations=12 --base-time=@$base "${EXPRS[@]}" 2>&1 |
			sed -n 's/^ *\(Next elapse\|Iter\. #[0-9]*\): //p' > "$T/systemd"
		# systemd prints one "never" and no iterations for an expression that never matches
		TZ=$tz "$NEXT" $base 12 "${EXPRS[@]}" > "$T/ours" 2>"$T/err"
		if cmp -s "$T/systemd" "$T/ours"; then
			ok "$tz, base @$base: ${#EXPRS[@]} expressions x 12 next times as systemd's"
		else
			bad "$tz, base @$base: differs from systemd" "$(diff "$T/systemd" "$T/ours" | head -5 | tr '\n' ' ') $(head -c 200 "$T/err")"
		fi
		# systemd 252 skips 1 January after 29 December for a repetition in
		# the day field (*-*-01/7); the list it stands for is right there
		TZ=$tz systemd-analyze calendar --iterations=12 --base-time=@$base "*-*-1,8,15,22,29 03:00" 2>&1 |
			sed -n 's/^ *\(Next elapse\|Iter\. #[0-9]*\): //p' > "$T/systemd"
		TZ=$tz "$NEXT" $base 12 "*-*-01/7 03:00" > "$T/ours" 2>"$T/err"
		expect_eq "$tz, base @$base: *-*-01/7 as systemd's *-*-1,8,15,22,29" "$(cat "$T/ours")" "$(cat "$T/systemd")"
	done
done

summary
