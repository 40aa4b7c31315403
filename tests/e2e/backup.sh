#!/usr/bin/env bash
# custos backup and restore: full, incremental, incremental of incremental,
# encrypted; restore of the chain; every tamper case; a backup killed midway;
# prune.   bash tests/e2e/backup.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-backup.XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
A=$T/arch
c() { "$CUSTOS" -A "$A" "$@"; }
G="git --git-dir=$A/history.git"


# flip FILE OFFSET: changes one byte of a read-only file
flip() {
	chmod u+w "$1"
	local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(( (b + 1) % 256 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

c init --fonds SI01 >/dev/null
"$GEN" 300 21 B > "$T/in1.jsonl"
c ingest "$T/in1.jsonl" > "$T/acked1" 2>/dev/null
R1=$(head -1 "$T/acked1" | cut -d' ' -f1)
mkdir -p "$T/bag1/data"; head -c 3000000 /dev/urandom > "$T/bag1/data/scan.pdf"; mkbag "$T/bag1" BK-1 "Case-Type: registration_change"
c ingest "$T/bag1" >/dev/null 2>&1

echo "== keys"
expect_status "keygen: exit 0" 0 c backup keygen "$T/key"
expect_match "prints the key id" "$(cat "$T/out")" "^key $T/key id [0-9a-f]{16}\$"
KID=$(cut -d' ' -f4 "$T/out")
expect_eq "32 bytes, mode 0600" "$(stat -c '%s %a' "$T/key")" "32 600"
expect_status "keygen never overwrites: exit 2" 2 c backup keygen "$T/key"
c backup keygen "$T/key2" >/dev/null

echo "== a full backup, not encrypted"
D=$T/plain
expect_status "create --full: exit 0" 0 c backup create --full --to "$D"
expect_match "one line" "$(cat "$T/out")" "^backup $D/custos-custos_SI01-[0-9]{8}T[0-9]{6}Z-full.cbk full id [0-9a-f]{32} parent - members [0-9]+ bytes [0-9]+ checkpoint [0-9]+ head [0-9a-f]{40}\$"
expect_match "says it is signed, not encrypted, without the secret keys" "$(cat "$T/err")" "is signed but not encrypted, and it does not hold the secret keys"
F1=$(cut -d' ' -f2 "$T/out"); ID1=$(cut -d' ' -f5 "$T/out"); CK1=$(cut -d' ' -f13 "$T/out")
expect_eq "the checkpoint is the log's size before the backup's event" "$CK1" "$(( $(c checkpoint | sed -n 2p) - 1 ))"
expect_eq "read-only" "$(stat -c %a "$F1")" "444"
expect_eq "the event is in the log" "$($G log -1 --format=%s main)" "backup: full $(basename "$F1") ($(sed 's/.*members \([0-9]*\) bytes \([0-9]*\) .*/\1 files, \2 bytes/' "$T/out"), log size $CK1)"
tar --zstd -tf "$F1" > "$T/members"
expect_eq "plain tar.zst: manifest first, its signature second" "$(head -2 "$T/members" | tr '\n' ' ')" "custos-backup/manifest.json custos-backup/manifest.sig "
expect_eq "no secret key in it" "$(grep -c -e signing.pem -e person.hmac "$T/members")" "0"
expect_eq "the index's compact copy in it, last" "$(grep '^index/' "$T/members")" "index/data.mdb"
expect_eq "... mode 0600" "$(tar --zstd -tvf "$F1" index/data.mdb | cut -c1-10)" "-rw-------"
expect_match "the history's ref" "$(cat "$T/members")" "history.git/refs/heads/main"
mkdir "$T/x"; tar --zstd -xf "$F1" -C "$T/x"
expect_eq "archive.json as on disk" "$(sha256sum < "$T/x/archive.json")" "$(sha256sum < "$A/archive.json")"
(cd "$T/x" && sed 's/.*"members":\[//; s/\],"removed".*//; s/},{/}\n{/g' custos-backup/manifest.json |
	sed 's/.*"path":"\([^"]*\)","sha256":"\([0-9a-f]*\)".*/\2  \1/') > "$T/sums"
expect_eq "the manifest's digests hold for sha256sum too" "$(cd "$T/x" && sha256sum -c --quiet "$T/sums" 2>&1 && grep -c . "$T/sums")" "$(( $(grep -c . "$T/members") - 2 ))"

echo "== incremental, and incremental of incremental"
"$GEN" 50 22 C > "$T/in2.jsonl"
c ingest "$T/in2.jsonl" > "$T/acked2" 2>/dev/null
R2=$(head -1 "$T/acked2" | cut -d' ' -f1)
sleep 1
expect_status "create (incremental by default): exit 0" 0 c backup create --to "$D"
expect_match "incremental, its parent the full" "$(cat "$T/out")" "-incr.cbk incremental id [0-9a-f]{32} parent $ID1 "
F2=$(cut -d' ' -f2 "$T/out"); ID2=$(cut -d' ' -f5 "$T/out")
N2=$(cut -d' ' -f9 "$T/out"); N1=$(grep -c . "$T/members")
expect_match "holds only what changed ($N2 files)" "$N2" "^[0-9]{1,2}\$"
expect_eq "... and no index" "$(tar --zstd -tf "$F2" | grep -c '^index/')" "0"
"$GEN" 40 23 E > "$T/in3.jsonl"
c ingest "$T/in3.jsonl" >/dev/null 2>&1
sleep 1
expect_status "create --incremental --json: exit 0" 0 c backup create --incremental --to "$D" --json
expect_match "json summary" "$(cat "$T/out")" "^\{\"file\":\"$D/[^\"]+-incr.cbk\",\"kind\":\"incremental\",\"id\":\"[0-9a-f]{32}\",\"parent\":\"$ID2\",\"encrypted\":false,.*\"members\":[0-9]+,\"bytes_in\":[0-9]+,\"bytes_out\":[0-9]+,\"duration_ms\":[0-9]+,\"checkpoint_size\":[0-9]+,\"head\":\"[0-9a-f]{40}\""
F3=$(sed 's/.*"file":"\([^"]*\)".*/\1/' "$T/out")
HEAD3=$(sed 's/.*"head":"\([0-9a-f]*\)".*/\1/' "$T/out"); CK3=$(sed 's/.*"checkpoint_size":\([0-9]*\).*/\1/' "$T/out")
expect_eq "the head backed up is the head then" "$HEAD3" "$($G rev-parse main~1)"
expect_status "--incremental into an empty folder: exit 2" 2 c backup create --incremental --to "$T/empty"
expect_status "--full and --incremental: exit 2" 2 c backup create --full --incremental --to "$D"

echo "== list"
expect_status "list --to: exit 0" 0 c backup list --to "$D"
expect_eq "three backups, oldest first" "$(cut -f2 "$T/out" | tr '\n' ' ')" "full incremental incremental "
expect_match "the chain" "$(sed -n 3p "$T/out")" "	$ID2	checkpoint $CK3	[0-9]+ bytes	plain\$"
expect_status "list from the log: exit 0" 0 c backup list
expect_eq "the log knows the three" "$(cut -f1 "$T/out" | tr '\n' ' ')" "$(basename "$F1") $(basename "$F2") $(basename "$F3") "
expect_status "list --json" 0 c backup list --to "$D" --json
expect_match "json lines" "$(head -1 "$T/out")" "^\{\"file\":\"$F1\",\"kind\":\"full\",.*\"checkpoint_size\":$CK1,"

echo "== verify"
expect_status "verify the chain: exit 0" 0 c backup verify "$F1" "$F2" "$F3"
expect_match "a line per file" "$(sed -n 1p "$T/out")" "^ok $F1: full $ID1, [0-9]+ files, [0-9]+ bytes, checkpoint $CK1\$"
expect_match "no problem" "$(tail -1 "$T/out")" "^verify: 3 files, [0-9]+ files inside, [0-9]+ bytes: no problem\$"
expect_eq "recorded in the log" "$($G log -1 --format=%s main)" "backup: verify (ok)"
expect_status "an incremental alone: its parent found in its folder" 0 c backup verify "$F3"

echo "== trace shows the backups that hold a record"
expect_match "a record of the first batch: in the full backup" "$(c trace "$R1")" "	backed up	.*	in full backup $(basename "$F1") \(id $ID1, log size $CK1\)	"
expect_eq "... and in no incremental" "$(c trace "$R1" | grep -c 'in incremental')" "0"
expect_match "a record of the second batch: in the first incremental" "$(c trace "$R2")" "	backed up	.*	in incremental backup $(basename "$F2") \(id $ID2, .*parent $ID1\)"
expect_eq "... only there" "$(c trace "$R2" | grep -c 'backed up')" "1"

echo "== restore the chain"
expect_status "files in any order: exit 0" 0 "$CUSTOS" restore --to "$T/r1" "$F3" "$F1" "$F2" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_match "one line" "$(cat "$T/out")" "^restored $T/r1: 3 backups, [0-9]+ files, [0-9]+ bytes, head $HEAD3, checkpoint $CK3\$"
expect_eq "the same history head" "$(git --git-dir="$T/r1/history.git" rev-parse main)" "$HEAD3"
expect_eq "the same checkpoint" "$("$CUSTOS" -A "$T/r1" checkpoint)" "$(git --git-dir="$A/history.git" show "$HEAD3:log/checkpoint")"
expect_eq "no temporary folder left" "$(ls -a "$T" | grep -c '^\.restore-')" "0"
expect_status "the restored archive verifies" 0 "$CUSTOS" -A "$T/r1" verify
for q in "--text 登记" "--service registration" "--from 2026-01-01 --to 2026-12-31" "--type case" "--limit 0"; do
	c search $q > "$T/s.orig" 2>&1; "$CUSTOS" -A "$T/r1" search $q > "$T/s.rest" 2>&1
	expect_eq "search $q: the same answer" "$(sha256sum < "$T/s.rest")" "$(sha256sum < "$T/s.orig")"
done
PID=$(grep -o '"id_no":"[0-9X]*"' "$T/in1.jsonl" | head -1 | cut -d'"' -f4)
c search --person "$PID" > "$T/s.orig"; "$CUSTOS" -A "$T/r1" search --person "$PID" > "$T/s.rest"
expect_eq "search --person: the same answer" "$(cat "$T/s.rest")" "$(cat "$T/s.orig")"
expect_status "a case file's content" 0 "$CUSTOS" -A "$T/r1" get --purpose check --file data/scan.pdf case:BK-1 -o "$T/scan"
expect_status "restore --verify (the whole of verify before the rename): exit 0" 0 "$CUSTOS" restore --verify \
	--to "$T/r1v" "$F1" "$F2" "$F3" --signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_eq "... the same history head" "$(git --git-dir="$T/r1v/history.git" rev-parse main)" "$HEAD3"
rm -rf "$T/r1v"
head -c 32 /dev/urandom > "$T/other.hmac" && chmod 600 "$T/other.hmac"
expect_status "restore with another person key: exit 0 (the carried index is rebuilt)" 0 \
	"$CUSTOS" restore --to "$T/r1p" "$F1" "$F2" "$F3" --signing-key "$A/keys/signing.pem" --person-key "$T/other.hmac"
"$CUSTOS" -A "$T/r1p" search --person "$PID" > "$T/s.rest"
expect_eq "... search --person: the same answer" "$(cat "$T/s.rest")" "$(cat "$T/s.orig")"
rm -rf "$T/r1p"
expect_eq "... the same bytes" "$(sha256sum < "$T/scan")" "$(sha256sum < "$T/bag1/data/scan.pdf")"
expect_status "into a folder that is not empty: exit 2" 2 "$CUSTOS" restore --to "$T/r1" "$F1" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_match "says so" "$(cat "$T/err")" "exists and is not empty"
expect_status "a plain backup without the secret keys: exit 2" 2 "$CUSTOS" restore --to "$T/r0" "$F1"
expect_match "says which" "$(cat "$T/err")" "give --signing-key FILE --person-key FILE"
"$CUSTOS" -A "$T/o" init --fonds SI02 >/dev/null
expect_status "verified with another archive at hand: exit 0" 0 "$CUSTOS" -A "$T/o" backup verify "$F1"
expect_match "not recorded there" "$(cat "$T/err")" "not recorded in the log: .*the backups are not of this archive"
expect_status "the key of another archive: exit 1" 1 "$CUSTOS" restore --to "$T/r0" "$F1" \
	--signing-key "$T/o/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_match "names it" "$(cat "$T/err")" "not the key of the archive backed up"
expect_eq "nothing restored" "$(ls -d "$T"/r0 "$T"/.restore-* 2>/dev/null | wc -l)" "0"

echo "== encrypted"
E=$T/enc
expect_status "create --key: exit 0" 0 c backup create --to "$E" --key "$T/key"
expect_eq "says nothing about secrets" "$(grep -c 'not encrypted' "$T/err")" "0"
FE1=$(cut -d' ' -f2 "$T/out")
expect_eq "starts with the magic" "$(head -c 8 "$FE1")" "CUSTOSBK"
c ingest "$T/in2.jsonl" >/dev/null 2>&1
"$GEN" 30 24 F > "$T/in4.jsonl"; c ingest "$T/in4.jsonl" >/dev/null 2>&1
sleep 1
expect_status "an encrypted incremental: exit 0" 0 c backup create --to "$E" --key "$T/key"
FE2=$(cut -d' ' -f2 "$T/out"); HEADE=$(cut -d' ' -f15 "$T/out")
expect_status "an incremental with another key: exit 2" 2 c backup create --incremental --to "$E"
expect_match "says why" "$(cat "$T/err")" "the parent backup is encrypted with key id $KID; an incremental uses its chain's key"
expect_match "list shows the key id without the key" "$(c backup list --to "$E" | head -1)" "	encrypted $KID\$"
expect_match "so does the log's list" "$(c backup list | tail -1)" "^$(basename "$FE2")	incremental	.*	encrypted $KID\$"
expect_status "verify with the key: exit 0" 0 c backup verify --key "$T/key" "$FE1" "$FE2"
expect_status "verify without the key: exit 1" 1 c backup verify "$FE1"
expect_match "asks for it" "$(cat "$T/out")" "encrypted with key id $KID: give --key"
expect_status "verify with a wrong key: exit 1" 1 c backup verify --key "$T/key2" "$FE1"
expect_match "the key ids" "$(cat "$T/out")" "key id [0-9a-f]{16} does not match the backup's key id $KID"
expect_status "restore with a wrong key: exit 1" 1 "$CUSTOS" restore --to "$T/r2" --key "$T/key2" "$FE1" "$FE2"
expect_eq "nothing restored" "$(ls -d "$T"/r2 "$T"/.restore-* 2>/dev/null | wc -l)" "0"
expect_status "restore with the key (secrets inside): exit 0" 0 "$CUSTOS" restore --to "$T/r2" --key "$T/key" "$FE2" "$FE1"
expect_eq "the head" "$(git --git-dir="$T/r2/history.git" rev-parse main)" "$HEADE"
expect_eq "the secret keys came back" "$(stat -c %a "$T/r2/keys/signing.pem") $(cmp "$T/r2/keys/person.hmac" "$A/keys/person.hmac" && echo same)" "600 same"
expect_status "the restored archive takes writes" 0 "$CUSTOS" -A "$T/r2" ingest "$T/in3.jsonl"

echo "== tampering"
cp "$FE1" "$T/t1.cbk"; S=$(( $(stat -c %s "$T/t1.cbk") / 2 )); flip "$T/t1.cbk" $S
expect_status "a flipped byte, encrypted: exit 1" 1 c backup verify --key "$T/key" "$T/t1.cbk"
expect_match "the chunk does not authenticate" "$(cat "$T/out")" "^problem $T/t1.cbk: .*chunk [0-9]+ does not authenticate"
expect_status "... restore refuses: exit 1" 1 "$CUSTOS" restore --to "$T/r3" --key "$T/key" "$T/t1.cbk"
expect_eq "nothing restored" "$(ls -d "$T"/r3 "$T"/.restore-* 2>/dev/null | wc -l)" "0"
cp "$FE1" "$T/t2.cbk"; flip "$T/t2.cbk" 100
expect_status "a flipped byte in the header's summary: exit 1" 1 c backup verify --key "$T/key" "$T/t2.cbk"
cp "$F1" "$T/t3.cbk"; S=$(( $(stat -c %s "$T/t3.cbk") / 2 )); flip "$T/t3.cbk" $S
expect_status "a flipped byte, plain: exit 1" 1 c backup verify "$T/t3.cbk"
expect_match "a problem named" "$(cat "$T/out")" "^problem $T/t3.cbk: "
head -c -200 "$FE1" > "$T/t4.cbk"
expect_status "truncated, encrypted: exit 1" 1 c backup verify --key "$T/key" "$T/t4.cbk"
expect_match "says truncated" "$(cat "$T/out")" "truncated"
head -c -1000 "$F1" > "$T/t5.cbk"
expect_status "truncated, plain: exit 1" 1 c backup verify "$T/t5.cbk"
# two whole chunks swapped: the header, then chunks of 4 + 1 MiB + 16 bytes
SL=$(od -An -tu4 --endian=big -j 77 -N4 "$FE1" | tr -d ' '); H=$((81 + SL)); CS=$((4 + 1048576 + 16))
{ head -c $H "$FE1"; tail -c +$((H + CS + 1)) "$FE1" | head -c $CS; tail -c +$((H + 1)) "$FE1" | head -c $CS
  tail -c +$((H + 2 * CS + 1)) "$FE1"; } > "$T/t6.cbk"
expect_eq "(the same size)" "$(stat -c %s "$T/t6.cbk")" "$(stat -c %s "$FE1")"
expect_status "two chunks reordered: exit 1" 1 c backup verify --key "$T/key" "$T/t6.cbk"
expect_match "chunk 0 does not authenticate" "$(cat "$T/out")" "chunk 0 does not authenticate"
# repack SRC DIR OUT [DROP]: the members of SRC, extracted in DIR (and maybe
# changed there), written again in the same order, without DROP
repack() {
	rm -rf "$2"; mkdir -p "$2"; tar --zstd -xf "$1" -C "$2"
	tar --zstd -tf "$1" | grep -vxF "${4:-/}" > "$2.list"
	tar --zstd -cf "$3" -C "$2" --no-recursion -T "$2.list"
}
repack "$F1" "$T/t7" "$T/t7.cbk" archive.conf
expect_status "a member dropped: exit 1" 1 c backup verify "$T/t7.cbk"
expect_match "names it" "$(cat "$T/out")" "^problem $T/t7.cbk: archive.conf: missing from the backup\$"
expect_status "... restore refuses: exit 1" 1 "$CUSTOS" restore --to "$T/r3" "$T/t7.cbk" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_match "names the file and the member" "$(cat "$T/err")" "restore: $T/t7.cbk: archive.conf: missing from the backup"
expect_eq "and prints the problem" "$(cat "$T/out")" "problem $T/t7.cbk: archive.conf: missing from the backup"
rm -rf "$T/t8"; mkdir -p "$T/t8"; tar --zstd -xf "$F1" -C "$T/t8"; chmod u+w "$T/t8/archive.conf"
sed -i 's/^batch_size = 10000;/batch_size = 10001;/' "$T/t8/archive.conf"
tar --zstd -tf "$F1" > "$T/t8.list"; tar --zstd -cf "$T/t8.cbk" -C "$T/t8" --no-recursion -T "$T/t8.list"
expect_status "a member altered (same size): exit 1" 1 c backup verify "$T/t8.cbk"
expect_match "names it" "$(cat "$T/out")" "^problem $T/t8.cbk: archive.conf: its SHA-256 does not match the manifest \(altered\)\$"
expect_status "... restore refuses: exit 1" 1 "$CUSTOS" restore --to "$T/r3" "$T/t8.cbk" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
rm -rf "$T/t9"; mkdir -p "$T/t9"; tar --zstd -xf "$F1" -C "$T/t9"; chmod u+w "$T/t9/custos-backup/manifest.json"
sed -i 's/"kind":"full"/"kind":"fulL"/' "$T/t9/custos-backup/manifest.json"
tar --zstd -cf "$T/t9.cbk" -C "$T/t9" --no-recursion -T "$T/t8.list"
expect_status "the manifest changed: exit 1" 1 c backup verify "$T/t9.cbk"
expect_match "its signature fails" "$(cat "$T/out")" "^problem $T/t9.cbk: custos-backup/manifest.sig: "
rm -rf "$T/t11"; mkdir -p "$T/t11"; tar --zstd -xf "$F1" -C "$T/t11"; tar --zstd -tf "$F1" > "$T/t11.list"
for i in $(seq 1 30); do echo x > "$T/t11/history.git/extra$i"; echo "history.git/extra$i" >> "$T/t11.list"; done
echo x > "$T/t11/evil"; rm -f "$T/t11/history.git/HEAD"; ln -s /etc/passwd "$T/t11/history.git/HEAD"
tar --zstd -cf "$T/t11.cbk" -C "$T/t11" --no-recursion -T <(sed -n '1,3p' "$T/t11.list"; echo evil; sed -n '4,$p' "$T/t11.list")
expect_status "members the manifest does not list, a name outside the archive, a link: exit 1" 1 c backup verify "$T/t11.cbk"
expect_match "the name refused" "$(cat "$T/out")" "^problem $T/t11.cbk: evil: not a name a backup may hold\$"
expect_match "the link refused" "$(cat "$T/out")" "^problem $T/t11.cbk: history.git/HEAD: not a regular file\$"
expect_match "stops reading a flood of members" "$(cat "$T/out")" "^problem $T/t11.cbk: more members than the manifest lists; not read further\$"
repack "$F1" "$T/t10" "$T/t10.cbk"
expect_status "repacked as it was: still exit 0 (the test's tool is sound)" 0 c backup verify "$T/t10.cbk"
mkdir "$T/lone"; cp "$F3" "$T/lone/"
expect_status "an incremental whose parent is missing: exit 1" 1 c backup verify "$T/lone/$(basename "$F3")"
expect_match "names the parent" "$(cat "$T/out")" "its parent backup $ID2 is missing"
expect_status "restore without the full: exit 1" 1 "$CUSTOS" restore --to "$T/r3" "$F2" "$F3" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_match "no full backup" "$(cat "$T/err")" "no full backup among the files"
expect_status "restore with a link missing: exit 1" 1 "$CUSTOS" restore --to "$T/r3" "$F1" "$F3" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_match "the missing parent" "$(cat "$T/err")" "its parent backup $ID2 is missing from the chain"
expect_status "two full backups: exit 1" 1 "$CUSTOS" restore --to "$T/r3" "$F1" "$FE1" --key "$T/key" \
	--signing-key "$A/keys/signing.pem" --person-key "$A/keys/person.hmac"
expect_eq "nothing restored by any of them" "$(ls -d "$T"/r3 "$T"/.restore-* 2>/dev/null | wc -l)" "0"
expect_eq "the originals are untouched" "$(c backup verify "$F1" "$F2" "$F3" | tail -1 | sed 's/.*: //')" "no problem"

echo "== a backup killed midway"
K=$T/kill
mkdir -p "$T/big/data"; head -c 150000000 /dev/urandom > "$T/big/data/big.bin"; mkbag "$T/big" BK-2 "Case-Type: registration_change"
c ingest "$T/big" >/dev/null 2>&1
"$CUSTOS" -A "$A" backup create --full --to "$K" >/dev/null 2>&1 &
BP=$!
for i in $(seq 1 500); do ls -a "$K" 2>/dev/null | grep -q -- '-full\.cbk\.part$' && break; sleep 0.01; done
kill -9 $BP 2>/dev/null; wait $BP 2>/dev/null
expect_eq "killed while writing: the backup's .part file" "$(ls -a "$K" | grep -c '^\.custos-custos_SI01-.*-full\.cbk\.part$')" "1"
expect_eq "... and the index copy's, or none" "$(ls -a "$K" | grep -c '^\.custos-index-.*\.cbk\.part$' | sed 's/^[01]$/ok/')" "ok"
expect_eq "no file that looks complete" "$(ls "$K" | grep -c '\.cbk$')" "0"
expect_status "list ignores it" 0 c backup list --to "$K"
expect_eq "(nothing listed)" "$(cat "$T/out")" ""
sleep 1
expect_status "the next backup: exit 0" 0 c backup create --full --to "$K"
expect_eq "the stale part is gone" "$(ls -a "$K" | grep -c '\.part$')" "0"
expect_status "and it verifies" 0 c backup verify "$K"/*.cbk

echo "== prune"
sleep 1
c backup create --full --to "$D" > "$T/out4" 2>/dev/null
F4=$(cut -d' ' -f2 "$T/out4")
expect_status "--dry-run: exit 0" 0 c backup prune --to "$D" --keep-daily 1 --keep-weekly 0 --keep-monthly 0 --dry-run
expect_eq "keeps the newest" "$(grep '^keep' "$T/out")" "keep $F4: the newest backup"
expect_eq "would remove the rest" "$(grep -c '^would remove .*: not selected by --keep-daily 1 --keep-weekly 0 --keep-monthly 0$' "$T/out")" "3"
expect_eq "removes nothing" "$(ls "$D" | grep -c '\.cbk$')" "4"
expect_status "prune keeping a chain: exit 0" 0 c backup prune --to "$D" --keep-daily 0 --keep-weekly 0 --keep-monthly 0
expect_eq "only the newest kept" "$(ls "$D")" "$(basename "$F4")"
expect_eq "recorded in the log" "$($G log -1 --format=%s main)" "backup: prune (done)"
sleep 1; c backup create --to "$D" > "$T/out5" 2>/dev/null; F5=$(cut -d' ' -f2 "$T/out5")
expect_status "an incremental newest keeps its full" 0 c backup prune --to "$D" --keep-daily 0 --keep-weekly 0 --keep-monthly 0
expect_eq "both kept, why" "$(cut -d: -f2- "$T/out" | sort | tr '\n' '|')" " needed by $(sed 's/.* id \([0-9a-f]*\) .*/\1/' "$T/out5")| the newest backup|"
expect_status "prune without the rules: exit 2" 2 c backup prune --to "$D"
echo junk > "$D/custos-junk.cbk"
expect_status "a file that is no backup: list exit 1" 1 c backup list --to "$D"
expect_match "names it on stderr" "$(cat "$T/err")" "custos-junk.cbk"
expect_eq "the backups still listed" "$(grep -c . "$T/out")" "2"
sleep 1
expect_status "a backup goes on beside it" 0 c backup create --to "$D"
expect_match "an incremental of the chain" "$(cat "$T/out")" " incremental id "
expect_status "prune leaves it" 0 c backup prune --to "$D" --keep-daily 0 --keep-weekly 0 --keep-monthly 0
expect_match "says why" "$(cat "$T/out")" "keep $D/custos-junk.cbk: cannot be read \("
expect_eq "and it is there" "$(ls "$D" | grep -c junk)" "1"

summary
