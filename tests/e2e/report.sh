#!/usr/bin/env bash
# The audit report's HTML (src/report.c) written from a model file and opened
# in headless Chromium: the screenshot shows every chart in its colours, a
# control page without the charts shows none of them, hostile text stays
# text in the browser's DOM, and the page prints to PDF.
#   bash tests/e2e/report.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
RENDER=$(realpath "${RENDER:-build/render_report}")
PROBE=$(realpath "${PNG_PROBE:-build/png_probe}")
MODEL=$HERE/../data/report-model.json
T=$(mktemp -d /tmp/custos-report.XXXXXX)
trap 'rm -rf "$T"' EXIT

# the chart colours (src/report.c): deny, review, note, queue age, and the
# reconciliation's matched, missing in books, missing at bank, amount differs
COLOURS="c8102e f2a900 1f6fb2 6a3d9a 2e8b57 8c564b e377c2 17becf"

echo "== the report written from a model"
expect_status "the HTML form" 0 "$RENDER" "$MODEL" "$T/report.html"
expect_status "the JSON form" 0 "$RENDER" "$MODEL" "$T/report.json"
"$RENDER" "$MODEL" "$T/again.html"
check "the same model gives the same bytes" cmp -s "$T/report.html" "$T/again.html"
"$RENDER" "$T/report.json" "$T/from-json.html"
check "the JSON form is the model: it renders to the same bytes" cmp -s "$T/report.html" "$T/from-json.html"
expect_eq "the JSON form is one canonical line" "$(wc -l < "$T/report.json")" 1
expect_match "it starts with the sorted members" "$(head -c 40 "$T/report.json")" '^\{"archive":"SI01 '
expect_eq "four charts" "$(grep -c '^<svg id="chart-' "$T/report.html")" 4
expect_eq "no script" "$(grep -ci '<script' "$T/report.html")" 0
expect_eq "no reference to anything outside (http, src=, href=, url()" \
	"$(grep -Eci 'http|src=|href=|url\(|@import' "$T/report.html")" 0
expect_match "UTF-8 declared" "$(head -5 "$T/report.html")" '<meta charset="utf-8">'
expect_match "money from fen: 1,200,000.00 yuan" "$(grep -c '1,200,000.00' "$T/report.html")" '^[1-9]'
expect_nomatch "a long account number masked" "$(cat "$T/report.html")" '6222020200112233445'
expect_match "shown as its first 6 and last 4" "$(cat "$T/report.html")" '622202\*+3445'

sed 's/"deny": 7,/"deny": -7,/' "$MODEL" > "$T/bad.json"
expect_status "a malformed model: exit 1" 1 "$RENDER" "$T/bad.json" "$T/bad.html"
expect_match "one line naming the file and the field" "$(cat "$T/err")" \
	'^[^ ]*bad\.json: decisions\[[0-9]+\]\.deny: must be an integer 0-1000000000$'
expect_eq "nothing written" "$(ls "$T"/bad.html 2>/dev/null | wc -l)" 0
sed 's/"count": 3,/"count": 4,/' "$MODEL" > "$T/bad.json"
expect_status "a histogram that does not count the items: exit 1" 1 "$RENDER" "$T/bad.json" "$T/bad.html"
expect_match "says which bucket" "$(cat "$T/err")" 'queue\.histogram\[0\]\.count: 3 items fall in this bucket, not 4$'
expect_status "another suffix: exit 1" 1 "$RENDER" "$MODEL" "$T/report.txt"
expect_match "says so" "$(cat "$T/err")" 'report\.txt: the report file must end in \.html or \.json$'

# a control page: the same report with every chart removed (each chart is
# the block of lines from "<svg" to "</svg>")
sed '/^<svg /,/^<\/svg>$/d' "$T/report.html" > "$T/control.html"
expect_eq "the control page has no chart" "$(grep -c '<svg' "$T/control.html")" 0
expect_match "and still its tables" "$(grep -c '<table>' "$T/control.html")" '^[5-9]$'

# hostile text in every kind of field: a maker, a rule title, a statement
# (a chart label), the archive's name
sed -e 's#"op-017"#"</svg><script>document.title=\\"x\\"</script>"#' \
	-e 's#"ST-2026-07-INC-P"#"</text></svg><script>alert(1)</script>"#' \
	-e 's#"SI01 #"<img src=x onerror=alert(1)> SI01 #' \
	-e '0,/separation of duties/s#separation of duties#</title><script>alert(2)</script>#' \
	"$MODEL" > "$T/hostile.json"
expect_status "a model with hostile strings renders" 0 "$RENDER" "$T/hostile.json" "$T/hostile.html"
expect_eq "no script element in the file" "$(grep -ci '<script' "$T/hostile.html")" 0
expect_eq "no img element" "$(grep -ci '<img' "$T/hostile.html")" 0
expect_match "the text is escaped" "$(cat "$T/hostile.html")" '&lt;/svg&gt;&lt;script&gt;document\.title=&quot;x&quot;'

echo "== in a browser"
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
	if [ "$(id -u)" = 0 ]; then
		bad "chromium is installed (make check installs it as root)" "no chromium on PATH"
	else
		echo "  SKIP  the browser checks: chromium is not installed and this is not root (apt-get install chromium)"
	fi
	summary
	exit
fi
# a fresh profile in the temporary folder; the colours exactly as written
browse() {
	timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--user-data-dir="$T/profile" --force-color-profile=srgb --hide-scrollbars \
		--no-first-run --disable-extensions "$@" 2>>"$T/chromium.log"
}
shot() { browse --screenshot="$2" --window-size=1200,4000 "file://$1" >/dev/null; }

# colour C's line of png_probe's output: "RRGGBB COUNT X0 Y0 X1 Y1"
field() { awk -v c="$2" -v f="$3" '$1 == c { print $f }' "$1"; }

if shot "$T/report.html" "$T/report.png" && [ -s "$T/report.png" ]; then
	ok "a screenshot of the report"
else
	bad "a screenshot of the report" "$(tail -3 "$T/chromium.log")"
fi
"$PROBE" "$T/report.png" $COLOURS > "$T/report.probe" 2>&1
expect_match "the screenshot decodes" "$(head -1 "$T/report.probe")" '^size 1200 4000$'
for c in $COLOURS; do
	expect_match "chart colour #$c fills at least 1000 pixels" "$(field "$T/report.probe" "$c" 2)" '^[0-9]{4,}$'
done
# where the charts are: in the page's order, each as wide as its bars
y_months=$(field "$T/report.probe" 1f6fb2 4); y_queue=$(field "$T/report.probe" 6a3d9a 4)
y_recon=$(field "$T/report.probe" 2e8b57 4)
expect_eq "decisions above the queue histogram above reconciliation" \
	"$([ "${y_months:-0}" -ge 0 ] && [ "${y_months:-0}" -lt "${y_queue:-0}" ] && [ "${y_queue:-0}" -lt "${y_recon:-0}" ] && echo yes)" yes
w() { echo $(( $(field "$T/report.probe" "$1" 5) - $(field "$T/report.probe" "$1" 3) )); }
expect_match "the month bars span the chart (6 months)" "$(w f2a900)" '^[4-9][0-9]{2}$'
expect_match "the histogram's bars span the chart (5 buckets)" "$(w 6a3d9a)" '^[4-9][0-9]{2}$'
expect_match "the reconciliation bars span the chart" "$(w 2e8b57)" '^[4-9][0-9]{2}$'
# deny bars in the month chart and in the per-rule chart below it
expect_match "deny in two charts, one above the other" \
	"$(( $(field "$T/report.probe" c8102e 6) - $(field "$T/report.probe" c8102e 4) ))" '^[4-9][0-9]{2}$'

shot "$T/control.html" "$T/control.png"
"$PROBE" "$T/control.png" $COLOURS > "$T/control.probe" 2>&1
expect_match "the control page renders (text)" "$(field "$T/control.probe" dark 2)" '^[0-9]{4,}$'
expect_eq "and none of the chart colours" \
	"$(awk 'NR > 1 && $1 != "dark" { s += $2 } END { print s + 0 }' "$T/control.probe")" 0

browse --dump-dom "file://$T/hostile.html" > "$T/hostile.dom"
expect_match "the hostile page loads" "$(grep -c '</html>' "$T/hostile.dom")" '^1$'
expect_eq "no script element in its DOM" "$(grep -ci '<script' "$T/hostile.dom")" 0
expect_eq "no img element in its DOM" "$(grep -ci '<img' "$T/hostile.dom")" 0
expect_match "the title is the report's" "$(grep -o '<title>[^<]*' "$T/hostile.dom" | head -1)" '^<title>基金内控审计报告 Audit report '
expect_eq "four charts in the DOM" "$(grep -o '<svg id="chart-' "$T/hostile.dom" | wc -l)" 4

browse --print-to-pdf="$T/report.pdf" --no-pdf-header-footer "file://$T/report.html" >/dev/null
expect_eq "printed to PDF" "$(head -c 5 "$T/report.pdf" 2>/dev/null)" "%PDF-"
expect_match "a whole PDF" "$(tail -c 8 "$T/report.pdf" 2>/dev/null | tr -d '\n')" '%%EOF$'

summary
