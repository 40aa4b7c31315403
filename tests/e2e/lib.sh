# lib.sh — helpers for the end-to-end tests: assertions, counters, data.
# Sourced by tests/e2e/*.sh; CUSTOS is the binary under test.

passed=0
failed=0

ok()   { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
bad()  { failed=$((failed + 1)); printf '  FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '        %s\n' "$2"; }

# check NAME COMMAND...: passes when the command succeeds
check() { local n=$1; shift; if "$@" >/dev/null 2>&1; then ok "$n"; else bad "$n" "command failed: $*"; fi; }

# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got [$2], want [$3]"; fi; }

# expect_match NAME TEXT REGEX (extended)
expect_match() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else bad "$1" "[$2] does not match /$3/"; fi; }

# expect_nomatch NAME TEXT REGEX
expect_nomatch() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then bad "$1" "[$2] matches /$3/"; else ok "$1"; fi; }

# expect_status NAME WANT COMMAND...: runs the command, compares its exit status
expect_status() {
	local n=$1 want=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; local got=$?
	if [ "$got" = "$want" ]; then ok "$n"; else bad "$n" "exit $got, want $want: $(head -c 300 "$T/err")"; fi
}

# idno AREA6 BIRTH8 SEQ3: a resident ID number with its GB 11643 check character
idno() {
	local base="$1$2$3" w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) chk=(1 0 X 9 8 7 6 5 4 3 2) s=0 i
	for i in $(seq 0 16); do s=$((s + ${base:$i:1} * ${w[$i]})); done
	printf '%s%s' "$base" "${chk[$((s % 11))]}"
}

# receipt NO ID_NO [SERVICE] [ISSUED_AT] [SUMMARY] [NAME]: one receipt as JSON
receipt() {
	printf '{"type":"receipt","receipt_no":"%s","issued_at":"%s","agency":"110105","channel":"window","service":"%s","insurance":"pension","subject":{"kind":"person","id_no":"%s","name":"%s"},"operator":"op-017","summary":"%s"}' \
		"$1" "${4:-2026-11-20T09:31:00+08:00}" "${3:-registration}" "$2" "${6:-张三}" "${5:-参保登记}"
}

summary() {
	echo
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# mkbag DIR CASE_NO [LABELS...]: a BagIt 1.0 bag over DIR/data with sha256 and
# sha512 manifests, a tag manifest and Payload-Oxum
mkbag() {
	local d=$1 no=$2; shift 2
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$d/bagit.txt"
	(cd "$d" && find data -type f | LC_ALL=C sort | while read -r f; do
		printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done > manifest-sha256.txt)
	(cd "$d" && find data -type f | LC_ALL=C sort | while read -r f; do
		printf '%s  %s\n' "$(sha512sum "$f" | cut -c1-128)" "$f"; done > manifest-sha512.txt)
	{
		printf 'External-Identifier: %s\n' "$no"
		printf 'Bagging-Date: 2026-11-20\n'
		for l in "$@"; do printf '%s\n' "$l"; done
		printf 'Payload-Oxum: %s.%s\n' "$(find "$d/data" -type f -exec cat {} + | wc -c)" \
			"$(find "$d/data" -type f | wc -l)"
	} > "$d/bag-info.txt"
	(cd "$d" && for f in bagit.txt bag-info.txt manifest-sha256.txt manifest-sha512.txt; do
		printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done > tagmanifest-sha256.txt)
}
