#!/usr/bin/env bash
# make demo: the main job end to end, on a fresh archive in a temporary folder.
#   bash tests/e2e/demo.sh ./custos ./custosd
set -euo pipefail
CUSTOS=$(realpath "${1:-./custos}")
CUSTOSD=$(realpath "${2:-./custosd}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
T=$(mktemp -d /tmp/custos-demo.XXXXXX)
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; rm -rf "$T"' EXIT
export CUSTOS_ARCHIVE=$T/archive
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

say "1. A sysadmin creates an archive for fonds SI01"
run "$CUSTOS" init --fonds SI01 --name demo.custos/SI01
ls -l "$CUSTOS_ARCHIVE" "$CUSTOS_ARCHIVE/keys"

say "2. The counter systems drop off receipts: one file, an array, JSON lines"
mkdir -p "$T/in"
cat > "$T/in/window-0001.json" <<'J'
{"type":"receipt","receipt_no":"R-2026-000001","issued_at":"2026-11-20T09:31:00+08:00",
 "agency":"110105","channel":"window","service":"registration","insurance":"pension",
 "subject":{"kind":"person","id_no":"11010519491231002X","name":"张三"},
 "operator":"op-017","summary":"城镇职工养老保险参保登记"}
J
cat > "$T/in/web-batch.json" <<'J'
[{"type":"receipt","receipt_no":"W-2026-000101","issued_at":"2026-11-21T14:02:11+08:00",
  "agency":"110105","channel":"web","service":"contribution","insurance":"medical",
  "subject":{"kind":"person","id_no":"440524188001010014","name":"李四"},
  "operator":"op-020","summary":"医疗保险缴费","amount":"1234.50"},
 {"type":"receipt","receipt_no":"W-2026-000102","issued_at":"2026-11-22T10:00:00+08:00",
  "agency":"350102","channel":"web","service":"registration","insurance":"work_injury",
  "subject":{"kind":"org","uscc":"91350100M000100Y43","name":"福建某实业有限公司"},
  "operator":"op-020","summary":"单位参保登记"}]
J
"$GEN" 2000 42 S > "$T/in/self-service.jsonl"
run "$CUSTOS" ingest "$T/in/window-0001.json" "$T/in/web-batch.json"
printf '$ %s\n' "$CUSTOS ingest $T/in/self-service.jsonl | tail -3"
"$CUSTOS" ingest "$T/in/self-service.jsonl" | tail -3

say "3. The same receipt again is recognised; bad input is refused, one line each"
run "$CUSTOS" ingest "$T/in/window-0001.json"
sed 's/11010519491231002X/110105194912310021/' "$T/in/window-0001.json" | sed 's/R-2026-000001/R-2026-000002/' > "$T/in/bad-check-digit.json"
sed 's/R-2026-000001/R-2026-000003/; s/"summary"/"amount":"12.345","summary"/' "$T/in/window-0001.json" > "$T/in/bad-amount.json"
sed 's/城镇职工养老保险参保登记/altered/' "$T/in/window-0001.json" > "$T/in/conflict.json"
run "$CUSTOS" ingest "$T/in/bad-check-digit.json" "$T/in/bad-amount.json" "$T/in/conflict.json" || echo "(exit status $?: some input rejected)"

say "4. An archivist searches: by person (ID numbers are masked), by words, by time"
run "$CUSTOS" search --person 11010519491231002X
run "$CUSTOS" search --text 参保登记 --limit 3
run "$CUSTOS" search --service contribution --from 2026-11-01 --to 2026-11-30 --limit 3

say "5. Retrieval is recorded: who, when, which record, why"
ref=$("$CUSTOS" search --person 11010519491231002X | head -1 | cut -f1)
run "$CUSTOS" get --purpose "本人查询养老保险参保记录" "${ref//·/-}"
run "$CUSTOS" get --content --purpose "原件核对" "$ref"; echo
git --git-dir="$CUSTOS_ARCHIVE/history.git" log -3 --format='  %h %s'

say "6. Anyone can check the archive with stock tools"
"$CUSTOS" keys --allowed-signers > "$T/allowed_signers"
run cat "$T/allowed_signers"
n=0; for c in $(git --git-dir="$CUSTOS_ARCHIVE/history.git" rev-list main); do
	git --git-dir="$CUSTOS_ARCHIVE/history.git" -c gpg.ssh.allowedSignersFile="$T/allowed_signers" verify-commit "$c" 2>/dev/null
	n=$((n + 1)); done
echo "git verify-commit: all $n commits carry a good signature by the archive key"
mkdir "$T/objects" && for p in "$CUSTOS_ARCHIVE"/objects/packs/*.tar; do tar -xf "$p" -C "$T/objects"; done
bad=$(cd "$T/objects" && find sha256 -type f | while read -r f; do h=$(echo "$f" | sed 's|sha256/||; s|/||'); echo "$h  $f"; done | sha256sum -c --quiet 2>&1 | wc -l)
echo "sha256sum: $(find "$T/objects" -type f | wc -l) content objects extracted from the packs, $bad mismatches"
if mdb_dump -a "$CUSTOS_ARCHIVE/index" 2>/dev/null | grep -q 11010519491231002X; then echo "ID number found in the index!"; exit 1; fi
echo "mdb_dump: no resident ID number in clear in the index"

say "7. A correction is a new revision, never an edit; the trace shows the whole life"
run "$CUSTOS" amend "$ref" --set summary="城镇职工养老保险参保登记（补录联系电话）" --reason "窗口录入遗漏，经办人复核"
run "$CUSTOS" trace "$ref"

say "7b. A case file (案卷) arrives as a BagIt bag; later documents are added to it"
C=$T/GS-2026-0001
mkdir -p "$C/data/申请材料" "$C/data/证明材料"
echo "工伤认定申请表：张三，2026-11-02 工作中受伤" > "$C/data/申请材料/工伤认定申请表.txt"
printf '%%PDF-1.4\n%% 医疗诊断证明 (demo)\n' > "$C/data/证明材料/医疗诊断证明.pdf"
printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$C/bagit.txt"
(cd "$C" && find data -type f | sort | while read -r f; do
	printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done > manifest-sha256.txt)
cat > "$C/bag-info.txt" <<'I'
External-Identifier: GS-2026-0001
Case-Type: work_injury_determination
Title: 张三工伤认定
Subject-Id: 11010519491231002X
Subject-Name: 张三
Insurance: work_injury
Source-Organization: 朝阳区社会保险事业管理中心
Bagging-Date: 2026-11-20
I
tar -C "$T" -czf "$T/GS-2026-0001.tar.gz" GS-2026-0001
run "$CUSTOS" bag validate "$T/GS-2026-0001.tar.gz" && echo "bag is complete and valid"
run "$CUSTOS" ingest "$T/GS-2026-0001.tar.gz"
run "$CUSTOS" ls case:GS-2026-0001
run "$CUSTOS" get --purpose "工伤复核" --file 证明材料/医疗诊断证明.pdf case:GS-2026-0001
rm -rf "$C/data/申请材料" && mkdir -p "$C/data/补充材料"
echo "劳动合同复印件" > "$C/data/补充材料/劳动合同.txt"
(cd "$C" && find data -type f | sort | while read -r f; do
	printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done > manifest-sha256.txt)
run "$CUSTOS" ingest "$C"
run "$CUSTOS" ls case:GS-2026-0001
run "$CUSTOS" search --type case --file-name 劳动合同
run "$CUSTOS" trace case:GS-2026-0001

say "7c. Hand-over: the case exported as a BagIt bag with its records, proofs and checkpoint"
run "$CUSTOS" export --purpose "移交市档案馆" case:GS-2026-0001 -o "$T/handover.tar.zst"
run "$CUSTOS" bag validate "$T/handover.tar.zst" && echo "the exported bag is complete and valid"
tar --zstd -tf "$T/handover.tar.zst" | sort

say "7d. Retention: what falls due, a legal hold"
run "$CUSTOS" disposition due --at 2037-01-01 > "$T/due"
head -5 "$T/due"; echo "… $(wc -l < "$T/due") records due by 2037-01-01 (contribution receipts, 10 years)"
run "$CUSTOS" hold add case:GS-2026-0001 --reason "工伤行政复议进行中"
run "$CUSTOS" hold list

say "8. The tamper-evident log: a signed checkpoint in every commit, proofs anyone can check"
run "$CUSTOS" checkpoint | tee "$T/kept.checkpoint"
"$CUSTOS" keys --vkey > "$T/vkey"
run "$CUSTOS" prove "$ref" | tee "$T/proof"
path=$("$CUSTOS" prove --json "$ref" | sed 's/.*"history_path":"\([^"]*\)".*/\1/')
git --git-dir="$CUSTOS_ARCHIVE/history.git" show "main:$path" > "$T/doc"
VP=$(realpath "${VERIFY_PROOF:-build/verify_proof}")
run "$VP" inclusion "$(cat "$T/vkey")" "$T/proof" "$T/doc"
"$GEN" 5 43 X | "$CUSTOS" ingest - >/dev/null 2>&1   # the log grows
"$CUSTOS" get --purpose "演示" "$ref" >/dev/null
"$CUSTOS" prove --consistency "$(sed -n 2p "$T/kept.checkpoint")" > "$T/cons"
run "$VP" consistency "$(cat "$T/vkey")" "$T/kept.checkpoint" "$T/cons"

say "9. An auditor's check of everything"
run "$CUSTOS" verify --since-checkpoint "$T/kept.checkpoint"

say "10. Backups (GB/T 27768 §6.4.3): full and incremental, encrypted and signed, restored into a new folder"
run "$CUSTOS" backup keygen "$T/backup.key"
run "$CUSTOS" backup create --full --to "$T/backups" --key "$T/backup.key"
"$GEN" 20 44 Y | "$CUSTOS" ingest - >/dev/null 2>&1   # a day's work
run "$CUSTOS" backup create --incremental --to "$T/backups" --key "$T/backup.key"
run "$CUSTOS" backup list --to "$T/backups"
run "$CUSTOS" backup verify --key "$T/backup.key" "$T"/backups/*.cbk
run "$CUSTOS" restore --to "$T/restored" --key "$T/backup.key" "$T"/backups/*.cbk
run "$CUSTOS" -A "$T/restored" verify
run "$CUSTOS" trace "$ref" | tail -2

say "11. A damaged object is caught"
p=$(ls "$CUSTOS_ARCHIVE"/objects/packs/*.tar | head -1)
chmod u+w "$p"; printf 'X' | dd of="$p" bs=1 seek=600 conv=notrunc 2>/dev/null
run "$CUSTOS" verify || echo "(exit status $?: problems found, each named)"

say "12. The daemon: custosd takes in the spool and answers custos through its socket"
# a second archive, served by the daemon; as root the daemon runs as an
# unprivileged user made for the demo (it refuses to run as root)
D=$T/served
mkdir -p "$D/spool" "$D/run" "$D/backups"
chmod 755 "$T" "$D"
"$CUSTOS" -A "$D/archive" init --fonds SI02 >/dev/null
cat > "$D/custos.conf" <<CONF
archive = "$D/archive";
spool = "$D/spool";
socket = "$D/run/custos.sock";
backup = { to = "$D/backups"; key = "$D/backup.key"; };
CONF
chmod 644 "$D/custos.conf"
"$CUSTOS" backup keygen "$D/backup.key" >/dev/null
if [ "$(id -u)" = 0 ]; then
	id custos-demo >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin custos-demo
	chown -R custos-demo "$D"
	setpriv --reuid custos-demo --regid custos-demo --init-groups "$CUSTOSD" -c "$D/custos.conf" -f 2>"$D/log" &
else
	"$CUSTOSD" -c "$D/custos.conf" -f 2>"$D/log" &
fi
DPID=$!
export CUSTOS_SOCKET=$D/run/custos.sock
unset CUSTOS_ARCHIVE
for _ in $(seq 1 100); do [ -S "$CUSTOS_SOCKET" ] && break; sleep 0.05; done
head -1 "$D/log"
IN=$D/spool/incoming
echo "dropping receipts, fund transactions and a case bag into $IN"
"$GEN" 300 45 D > "$IN/counter.jsonl.part" && mv "$IN/counter.jsonl.part" "$IN/counter.jsonl"
fund() {
	printf '{"type":"fund_txn","txn_no":"%s","kind":"contribution","fund":"pension","scheme":"employee","amount":"%s","base":"%s","period":"2026-11","posted_at":"2026-11-20T10:02:00+08:00","from_account":{"no":"PAY-1","class":"payer"},"to_account":{"no":"INC-P","class":"income"},"org":{"uscc":"91350100M000100Y43","name":"福建某实业有限公司"},"maker":"op-017"}\n' "$@"
}
{ fund F-1 1280.00 8000.00; fund F-2 500.00 5999.99; } > "$IN/fund.jsonl"
cp -r "$C" "$IN/case-GS2"
[ "$(id -u)" = 0 ] && chown -R custos-demo "$IN"
touch "$IN/case-GS2/.custos-complete"
for _ in $(seq 1 100); do [ -z "$(ls "$IN")" ] && break; sleep 0.1; done
run ls "$D/spool/archived"
grep 'spool:' "$D/log" | sed 's/^<[0-9]>//'
run "$CUSTOS" search --text 退休 --limit 3
run "$CUSTOS" search --type fund_txn
run "$CUSTOS" review list
run "$CUSTOS" review approve txn:F-2 --note "基数经核实无误"
run "$CUSTOS" trace txn:F-2
run "$CUSTOS" verify
run "$CUSTOS" run backup
run "$CUSTOS" status
# restore reads the key as its owner, the daemon's user
as_daemon() { if [ "$(id -u)" = 0 ]; then setpriv --reuid custos-demo --regid custos-demo --init-groups "$@"; else "$@"; fi; }
run as_daemon "$CUSTOS" --direct restore --to "$D/restored" --key "$D/backup.key" "$D"/backups/*.cbk
run as_daemon "$CUSTOS" --direct -A "$D/restored" verify
kill -TERM "$DPID"; wait "$DPID"; DPID=
tail -1 "$D/log" | sed 's/^<[0-9]>//'

say "Done: the archives were in $T (removed now)"
