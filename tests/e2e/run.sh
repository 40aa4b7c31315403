#!/usr/bin/env bash
# End-to-end tests: the real custos binary on temporary archives.
#   bash tests/e2e/run.sh ./custos
set -u
CUSTOS=$(realpath "${1:-./custos}")
GEN=$(realpath "${GEN:-build/gen_receipts}")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
T=$(mktemp -d /tmp/custos-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
A=$T/archive
export CUSTOS_ARCHIVE=$A
c() { "$CUSTOS" "$@"; }

ID1=$(idno 110105 19491231 002)        # 11010519491231002X
ID2=$(idno 440524 18800101 001)        # 440524188001010014
ID3=$(idno 310101 19851115 123)
USCC=91350100M000100Y43
ALL_IDS="$ID1 $ID2 $ID3"

echo "== init"
expect_status "init creates an archive" 0 c init --fonds SI01 --name test.custos/SI01
for d in objects/sha256 objects/packs history.git index keys; do
	check "init made $d" test -d "$A/$d"
done
expect_eq "signing key is 0600" "$(stat -c %a "$A/keys/signing.pem")" 600
expect_eq "hmac key is 0600" "$(stat -c %a "$A/keys/person.hmac")" 600
expect_status "init refuses an existing archive" 2 c init --fonds SI01
expect_match "refusal says why" "$(cat "$T/err")" "already exists"
mkdir -p "$T/full" && touch "$T/full/x"
expect_status "init refuses a non-empty folder" 2 c -A "$T/full" init --fonds SI01
check "refused folder left untouched" test -f "$T/full/x"
expect_status "init checks the fonds code" 2 c -A "$T/bad" init --fonds 'si-1'
check "failed init leaves nothing" test ! -e "$T/bad"
expect_status "init without --fonds is a usage error" 2 c -A "$T/nofonds" init
expect_status "a missing archive is an error" 2 c -A "$T/nowhere" search
expect_match "missing archive message" "$(cat "$T/err")" "not a custos archive"

echo "== ingest"
mkdir -p "$T/in"
{ receipt R-2026-000001 "$ID1" registration; echo; } > "$T/in/one.json"   # final newline: part of the content
out=$(c ingest "$T/in/one.json"); st=$?
expect_eq "single receipt exit 0" "$st" 0
expect_match "archived line: ref id source" "$out" "^SI01-SB·2026-D100-DJ-000001 [0-9a-f]{64} $T/in/one.json\$"
REF1=$(echo "$out" | cut -d' ' -f1); ID_1=$(echo "$out" | cut -d' ' -f2)
out=$(c ingest "$T/in/one.json"); st=$?
expect_eq "same receipt again exit 0" "$st" 0
expect_eq "same receipt again is a duplicate naming the first" "$out" "duplicate $REF1 $T/in/one.json"
# same content, different bytes: still a duplicate
receipt R-2026-000001 "$ID1" registration | sed 's/,/, /g' > "$T/in/one-spaced.json"
out=$(c ingest "$T/in/one-spaced.json")
expect_eq "same fields in other bytes is a duplicate" "$out" "duplicate $REF1 $T/in/one-spaced.json"

{ echo '['; receipt R-2026-000002 "$ID2" contribution 2026-10-01T08:00:00+08:00 "缴费基数核定" 李四; echo ','
  receipt R-2026-000003 "$ID3" benefit 2026-09-15T10:00:00+08:00 "养老金领取 transfer" 王五; echo ','
  receipt R-2026-000004 "$ID2" contribution 2025-12-31T23:30:00+08:00 "补缴 arrears" 李四; echo ']'; } > "$T/in/array.json"
out=$(c ingest --json "$T/in/array.json"); st=$?
expect_eq "array of three exit 0" "$st" 0
expect_eq "array gives three lines" "$(echo "$out" | wc -l)" 3
expect_match "json line shape" "$(echo "$out" | head -1)" '^\{"status":"archived","ref":"SI01-SB·2026-D10-JF-000001","id":"[0-9a-f]{64}","source":".*array.json#1"\}$'
expect_match "year comes from issued_at" "$(echo "$out" | sed -n 3p)" '"ref":"SI01-SB·2025-D10-JF-000001"'
expect_match "benefit is 30 years" "$(echo "$out" | sed -n 2p)" '"ref":"SI01-SB·2026-D30-DY-000001"'

printf '%s\n\n%s\n' "$(receipt R-2026-000005 "$ID1" consultation 2026-11-21T10:00:00+08:00 "咨询 pension")" \
	"$(printf '{"type":"receipt","receipt_no":"R-2026-000006","issued_at":"2026-11-22T10:00:00Z","agency":"350102","channel":"web","service":"registration","insurance":"medical","subject":{"kind":"org","uscc":"%s","name":"福建某实业有限公司"},"operator":"op-020","summary":"单位参保登记","amount":"1234.50"}' "$USCC")" > "$T/in/lines.jsonl"
out=$(c ingest "$T/in/lines.jsonl")
expect_match "json lines: first" "$(echo "$out" | head -1)" "^SI01-SB·2026-D10-ZX-000001 .* $T/in/lines.jsonl#1\$"
expect_match "json lines: org registration is permanent" "$(echo "$out" | sed -n 2p)" "^SI01-SB·2026-Y-DJ-000001 .*#2\$"

mkdir -p "$T/dir/b" "$T/dir/a"
receipt R-2026-000010 "$ID3" registration > "$T/dir/b/2.json"
receipt R-2026-000011 "$ID3" registration > "$T/dir/a/9.json"
receipt R-2026-000012 "$ID3" registration > "$T/dir/1.json"
echo '{"hidden":true}' > "$T/dir/.hidden.json"
out=$(c ingest "$T/dir")
expect_eq "folder: recursively in name order" "$(echo "$out" | awk '{print $3}' | tr '\n' ' ')" \
	"$T/dir/1.json $T/dir/a/9.json $T/dir/b/2.json "
expect_match "folder: items numbered without gaps" "$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" \
	"DJ-000002 .*DJ-000003 .*DJ-000004 $"

out=$(receipt R-2026-000013 "$ID2" complaint | c ingest -)
expect_match "standard input" "$out" "^SI01-SB·2026-D30-TS-000001 [0-9a-f]{64} -\$"

echo "== rejections"
count_objects() { { find "$A/objects/sha256" -type f; for p in "$A"/objects/packs/pack-*.tar; do tar -tf "$p"; done; } | wc -l; }
objs_before=$(count_objects)
commits_before=$(git --git-dir="$A/history.git" rev-list --count main)
bad_id=${ID1:0:17}3
mkdir -p "$T/rej"
printf '{"type":"receipt",' > "$T/rej/01-malformed.json"
receipt R-2026-100001 "$bad_id" > "$T/rej/02-checkdigit.json"
receipt R-2026-100002 "$(idno 110105 19490231 002)" > "$T/rej/03-birthdate.json"
receipt R-2026-100003 "$ID1" | sed "s/\"kind\":\"person\",\"id_no\":\"$ID1\"/\"kind\":\"org\",\"uscc\":\"91350100M000100Y44\"/" > "$T/rej/04-uscc.json"
receipt R-2026-100004 "$ID1" registration 2026-11-20T09:31:00 > "$T/rej/05-time.json"
receipt R-2026-100005 "$ID1" | sed 's/"summary"/"amount":"1.005","summary"/' > "$T/rej/06-amount.json"
receipt R-2026-100006 "$ID1" | sed 's/"summary"/"amount":12.5,"summary"/' > "$T/rej/07-amount-number.json"
receipt R-2026-100007 "$ID1" | sed 's/"summary"/"colour":"red","summary"/' > "$T/rej/08-unknown.json"
receipt R-2026-100008 "$ID1" | sed 's/"operator":"op-017",//' > "$T/rej/09-missing.json"
receipt R-2026-100009 "$ID1" | sed 's/"window"/"fax"/' > "$T/rej/10-enum.json"
receipt R-2026-100010 "$ID1" registration 2026-11-20T09:31:00+08:00 "$(head -c 5000 /dev/zero | tr '\0' 'x')" > "$T/rej/11-oversized.json"
receipt R-2026-100011 "$ID1" registration 2026-11-20T09:31:00+08:00 x 'bad\u0007name' > "$T/rej/12-control.json"
receipt R-2026-100012 "$ID1" registration 2026-11-20T09:31:00+08:00 'nul\u0000byte' > "$T/rej/13-nul.json"
{ receipt R-2026-100013 "$ID1" registration 2026-11-20T09:31:00+08:00 'x'; } | sed 's/"summary":"x"/"summary":"\xff\xfe"/' > "$T/rej/14-utf8.json"
receipt R-2026-000001 "$ID1" registration 2026-11-20T09:31:00+08:00 "changed" > "$T/rej/15-conflict.json"
echo '{"type":"receipt"} {"type":' > "$T/rej/16-unbalanced.json"
receipt R-2026-100014 "$ID1" | sed 's/"summary"/"ext":{"rate":0.5},"summary"/' > "$T/rej/17-ext-real.json"
echo '[1,2]' > "$T/rej/18-not-object.json"
receipt R-2026-100015 "$ID1" | sed 's/"type":"receipt"/"type":"receipt","type":"receipt"/' > "$T/rej/19-dupkey.json"
ln -s "$T/in/one.json" "$T/rej/20-symlink.json"
receipt R-2026-100016 "$ID1" > "$T/rej/21-good.json"
out=$(c ingest "$T/rej" 2>"$T/err"); st=$?
expect_eq "rejections exit 1" "$st" 1
r() { echo "$out" | grep -F "$T/rej/$1" | head -1; }
expect_match "malformed JSON" "$(r 01-)" "^rejected $T/rej/01-malformed.json: "
expect_match "wrong check digit names the field" "$(r 02-)" "rejected .*02-checkdigit.json: subject.id_no: .*check"
expect_match "impossible birth date" "$(r 03-)" "subject.id_no: .*(date|birth)"
expect_match "bad USCC" "$(r 04-)" "subject.uscc: "
expect_match "time without offset" "$(r 05-)" "issued_at: "
expect_match "three decimals" "$(r 06-)" "amount: "
expect_match "amount as a number" "$(r 07-)" "amount: .*string"
expect_match "unknown field" "$(r 08-)" "colour: "
expect_match "missing field" "$(r 09-)" "operator: .*missing"
expect_match "bad enumeration" "$(r 10-)" "channel: "
expect_match "oversized summary" "$(r 11-)" "summary: "
expect_match "control character" "$(r 12-)" "subject.name: "
expect_match "NUL" "$(r 13-)" "rejected .*13-nul.json: "
expect_match "invalid UTF-8" "$(r 14-)" "rejected .*14-utf8.json: "
expect_match "conflict names the archived ref" "$(r 15-)" "conflict: .*$REF1"
expect_match "unbalanced" "$(r 16-)" "rejected .*16-unbalanced.json"
expect_match "real number in ext" "$(r 17-)" "ext.rate: "
expect_match "not an object" "$(r 18-)" "rejected .*18-not-object.json#1: "
expect_match "duplicate member" "$(r 19-)" "rejected .*19-dupkey.json: "
expect_match "symlink not followed" "$(r 20-)" "symbolic link"
expect_match "the good one in the same call is archived" "$(r 21-)" "^SI01-SB·2026-D100-DJ-[0-9]+ [0-9a-f]{64} "
expect_nomatch "no ID number in clear in any message" "$out $(cat "$T/err")" "${ID1}|${bad_id}|${ID1:0:14}"
expect_eq "rejected items stored nothing (one object added)" "$(count_objects)" "$((objs_before + 1))"
expect_eq "one commit for the call" "$(git --git-dir="$A/history.git" rev-list --count main)" "$((commits_before + 1))"
mkfifo "$T/fifo.json"
expect_status "a FIFO is refused, not waited on" 1 timeout 10 "$CUSTOS" ingest "$T/fifo.json"
expect_match "as not a regular file" "$(cat "$T/out")" "^rejected $T/fifo.json: not a regular file$"
expect_status "usage error exit 2" 2 c ingest
expect_status "unknown option exit 2" 2 c ingest --bogus x

echo "== search"
s() { c search "$@" 2>/dev/null; }
expect_eq "by person" "$(s --person "$ID2" | cut -f1 | tr '\n' ' ')" "SI01-SB·2026-D30-TS-000001 SI01-SB·2026-D10-JF-000001 SI01-SB·2025-D10-JF-000001 "
expect_eq "by person, x in lower case" "$(s --person "${ID1,,}" | wc -l)" 3
expect_match "masked in output" "$(s --person "$ID1")" "110105\*{8}002X 张三"
expect_nomatch "never in clear" "$(s --person "$ID1") $(s --json --person "$ID1")" "$ID1"
expect_eq "by org" "$(s --org "$USCC" | cut -f1)" "SI01-SB·2026-Y-DJ-000001"
expect_eq "by service" "$(s --service contribution | wc -l)" 2
expect_eq "by insurance" "$(s --insurance medical | cut -f1)" "SI01-SB·2026-Y-DJ-000001"
expect_eq "by channel" "$(s --channel web | cut -f1)" "SI01-SB·2026-Y-DJ-000001"
expect_eq "by operator" "$(s --operator op-020 | cut -f1)" "SI01-SB·2026-Y-DJ-000001"
expect_eq "by agency" "$(s --agency 350102 | wc -l)" 1
expect_eq "from/to dates" "$(s --from 2026-09-01 --to 2026-10-31 | cut -f1 | tr '\n' ' ')" "SI01-SB·2026-D10-JF-000001 SI01-SB·2026-D30-DY-000001 "
expect_eq "to is inclusive of the whole day" "$(s --from 2025-12-31 --to 2025-12-31 | cut -f1)" "SI01-SB·2025-D10-JF-000001"
expect_eq "text, CJK bigram" "$(s --text 缴费 | cut -f1)" "SI01-SB·2026-D10-JF-000001"
expect_eq "text, ASCII word any case" "$(s --text TRANSFER | cut -f1)" "SI01-SB·2026-D30-DY-000001"
expect_eq "text, name" "$(s --text 王五 | cut -f1)" "SI01-SB·2026-D30-DY-000001"
expect_eq "text AND" "$(s --text '参保 登记' --person "$ID1" | wc -l)" 2
expect_eq "filters combine with AND" "$(s --person "$ID2" --service contribution --from 2026-01-01 | cut -f1)" "SI01-SB·2026-D10-JF-000001"
all=$(s --limit 0 | cut -f1)
expect_eq "newest first" "$(s --limit 0 | cut -f2 | sort -r | tr '\n' ' ')" "$(s --limit 0 | cut -f2 | tr '\n' ' ')"
expect_eq "limit" "$(s --limit 3 | wc -l)" 3
expect_eq "offset pages" "$(s --limit 2 --offset 2 | cut -f1)" "$(echo "$all" | sed -n 3,4p)"
expect_match "json line" "$(s --json --org "$USCC")" '^\{.*"ref":"SI01-SB·2026-Y-DJ-000001".*"amount_fen":123450'
expect_eq "no match is empty, exit 0" "$(s --text nothingmatches; echo $?)" "0"
expect_status "bad --person is rejected" 2 c search --person 110105194912310021
expect_match "names the option" "$(cat "$T/err")" "^custos: search: --person: "
expect_status "bad --from" 2 c search --from 2026-13-01
expect_status "unmask search" 0 c search --unmask --purpose "复核" --person "$ID1"
expect_match "unmask shows the number" "$(cat "$T/out")" "$ID1"

echo "== get"
expect_status "get by ref" 0 c get --purpose "档案查阅" "$REF1"
expect_match "document masked" "$(cat "$T/out")" '"id_no": "110105\*{8}002X"'
expect_nomatch "document not in clear" "$(cat "$T/out")" "$ID1"
expect_status "get by ref with - for ·" 0 c get --json "SI01-SB-2026-D100-DJ-000001"
expect_match "compact json" "$(cat "$T/out")" "^\{.*\"ref\":\"$REF1\""
expect_status "get by 12-digit id prefix" 0 c get --json "${ID_1:0:12}"
expect_match "prefix resolves" "$(cat "$T/out")" "\"id\":\"$ID_1\""
digest=$(sha256sum "$T/in/one.json" | cut -d' ' -f1)
expect_status "get by content digest" 0 c get --json "sha256:$digest"
expect_match "digest resolves" "$(cat "$T/out")" "\"ref\":\"$REF1\""
c get --content -o "$T/content.out" "$REF1" 2>/dev/null
check "content bytes are exactly those received" cmp "$T/content.out" "$T/in/one.json"
expect_eq "content file is 0600" "$(stat -c %a "$T/content.out")" 600
expect_status "-o never overwrites" 2 c get --content -o "$T/content.out" "$REF1"
expect_status "get --unmask" 0 c get --unmask --purpose "本人申请" "$REF1"
expect_match "unmasked document" "$(cat "$T/out")" "$ID1"
expect_status "unknown ref" 2 c get SI01-SB-2026-D100-DJ-999999
expect_status "too short a prefix" 2 c get abcdef
expect_status "unknown id" 2 c get 000000000000000
ev=$(git --git-dir="$A/history.git" log --format=%s main | grep '^access: get' | head -5)
expect_match "access events in the history" "$ev" "access: get $REF1 \(unmasked\)"
last=$(git --git-dir="$A/history.git" log -1 --name-only --format= main | grep '^events/')
evdoc=$(git --git-dir="$A/history.git" show "main:$last")
expect_match "event names who, which, why" "$evdoc" "\"action\":\"get\".*\"by\":\{\"uid\":$(id -u),\"user\":\"$(id -un)\"\}.*\"purpose\":\"本人申请\".*\"records\":\[\{\"id\":\"$ID_1\",\"ref\":\"$REF1\"\}\].*\"unmasked\":true"
expect_match "unmasking search recorded" "$(git --git-dir="$A/history.git" log --format=%s main)" "^access: search 3 records \(unmasked\)$"

echo "== history and objects, checked with stock tools"
c keys --allowed-signers > "$T/allowed"
expect_match "allowed-signers line" "$(cat "$T/allowed")" '^test.custos/SI01 namespaces="git" ssh-ed25519 AAAA'
nbad=0; n=0
for commit in $(git --git-dir="$A/history.git" rev-list main); do
	n=$((n + 1))
	git --git-dir="$A/history.git" -c gpg.ssh.allowedSignersFile="$T/allowed" verify-commit "$commit" >/dev/null 2>&1 || nbad=$((nbad + 1))
done
expect_eq "git verify-commit accepts all $n commits" "$nbad" 0
check "git fsck" git --git-dir="$A/history.git" fsck --strict
mkdir -p "$T/objs"
cp -r "$A/objects/sha256" "$T/objs/" 2>/dev/null
for p in "$A"/objects/packs/pack-*.tar; do tar -xf "$p" -C "$T/objs"; done
(cd "$T/objs" && find sha256 -type f | while read -r f; do echo "$(echo "$f" | sed 's|sha256/||; s|/||')  $f"; done) > "$T/sums"
check "sha256sum -c over every object" bash -c "cd '$T/objs' && sha256sum --quiet -c '$T/sums'"
expect_eq "packs are named by their digest" "$(cd "$A/objects/packs" && for p in pack-*.tar; do [ "pack-$(sha256sum "$p" | cut -c1-64).tar" = "$p" ] || echo "$p"; done)" ""
mdb_dump -a "$A/index" > "$T/index.dump" 2>/dev/null || mdb_dump -n -a "$A/index/data.mdb" > "$T/index.dump"
check "index dump is not empty" test -s "$T/index.dump"
leak=""; for id in $ALL_IDS; do grep -q "$id" "$T/index.dump" && leak="$leak $id"; hex=$(printf '%s' "$id" | od -An -tx1 | tr -d ' \n'); grep -q "$hex" "$T/index.dump" && leak="$leak hex:$id"; done
expect_eq "no ID number in clear in the index" "$leak" ""
expect_nomatch "no ID number in commit messages" "$(git --git-dir="$A/history.git" log --format=%B main)" "$(echo $ALL_IDS | tr ' ' '|')"

echo "== tamper-evident log: checkpoints and proofs anyone can check"
VP=$(realpath "${VERIFY_PROOF:-build/verify_proof}")
G="git -c core.quotePath=false --git-dir=$A/history.git"
c keys --vkey > "$T/vkey"
expect_match "verifier key" "$(cat "$T/vkey")" '^test\.custos/SI01\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$'
c checkpoint > "$T/ckpt"
expect_eq "checkpoint line 1: the origin" "$(sed -n 1p "$T/ckpt")" "test.custos/SI01"
expect_match "checkpoint line 2: the tree size" "$(sed -n 2p "$T/ckpt")" '^[1-9][0-9]*$'
expect_match "checkpoint line 3: the root" "$(sed -n 3p "$T/ckpt")" '^[A-Za-z0-9+/]{43}=$'
expect_eq "checkpoint line 4: blank" "$(sed -n 4p "$T/ckpt")" ""
expect_match "checkpoint line 5: the signature" "$(sed -n 5p "$T/ckpt")" '^— test\.custos/SI01 [A-Za-z0-9+/]{91}=$'
missing=0; for commit in $($G rev-list main); do $G cat-file -e "$commit:log/checkpoint" 2>/dev/null || missing=$((missing + 1)); done
expect_eq "every commit carries a checkpoint" "$missing" 0
leaves=$($G ls-tree -r --name-only main | grep -cE '^(records|events)/')
expect_eq "the log holds every record and event" "$(sed -n 2p "$T/ckpt")" "$leaves"
expect_eq "the first commit's checkpoint holds one leaf, the shipped policy's event" "$($G show "$($G rev-list --max-parents=0 main):log/checkpoint" | sed -n 2p)" "1"
nbad=0
for ref in "$REF1" SI01-SB·2026-D10-JF-000001 SI01-SB·2026-Y-DJ-000001; do
	c prove "$ref" > "$T/proof" 2>"$T/err" || nbad=$((nbad + 1))
	path=$(c prove --json "$ref" | sed 's/.*"history_path":"\([^"]*\)".*/\1/')
	$G show "main:$path" > "$T/doc"
	"$VP" inclusion "$(cat "$T/vkey")" "$T/proof" "$T/doc" >/dev/null || nbad=$((nbad + 1))
done
expect_eq "the independent verifier accepts inclusion proofs" "$nbad" 0
expect_eq "proof text form, line 1" "$(sed -n 1p "$T/proof")" "c2sp.org/tlog-proof@v1"
expect_match "proof text form, line 2" "$(sed -n 2p "$T/proof")" '^index [0-9]+$'
sed 's/"summary":"/"summary":"x/' "$T/doc" > "$T/doc.bad"
expect_status "an altered document is refused" 1 "$VP" inclusion "$(cat "$T/vkey")" "$T/proof" "$T/doc.bad"
awk 'NR == 3 { $0 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" } { print }' "$T/proof" > "$T/proof.bad"
expect_status "an altered proof is refused" 1 "$VP" inclusion "$(cat "$T/vkey")" "$T/proof.bad" "$T/doc"
c -A "$T/other" init --fonds SI09 >/dev/null && c -A "$T/other" keys --vkey > "$T/vkey.other"
expect_status "a proof under another key is refused" 1 "$VP" inclusion "$(cat "$T/vkey.other")" "$T/proof" "$T/doc"
old_commit=$($G rev-list main | sed -n 8p)
$G show "$old_commit:log/checkpoint" > "$T/old.ckpt"
old_size=$(sed -n 2p "$T/old.ckpt")
c prove "$REF1" --size "$old_size" > "$T/proof.old"
path=$(c prove --json "$REF1" | sed 's/.*"history_path":"\([^"]*\)".*/\1/'); $G show "main:$path" > "$T/doc"
check "inclusion at an older checkpoint" "$VP" inclusion "$(cat "$T/vkey")" "$T/proof.old" "$T/doc"
expect_status "a size without a checkpoint is refused" 2 c prove "$REF1" --size $((old_size + 100000))
c prove --consistency "$old_size" > "$T/cons"
check "consistency from a kept old checkpoint" "$VP" consistency "$(cat "$T/vkey")" "$T/old.ckpt" "$T/cons"
sed '3{s/^B/C/;t;s/^./B/}' "$T/old.ckpt" > "$T/old.bad"
expect_status "a forged old checkpoint is refused" 1 "$VP" consistency "$(cat "$T/vkey")" "$T/old.bad" "$T/cons"
expect_match "json proof" "$(c prove --json --consistency 1)" '^\{"type":"consistency","old_size":1,"tree_size":[0-9]+,'

echo "== trace"
tr=$(c trace "$REF1" 2>&1)
expect_match "first the ingest: who, when, from where, commit, leaf" "$(echo "$tr" | head -1)" "^[0-9T:-]+Z	ingested	$(id -un) \(uid $(id -u)\)	$REF1 from $T/in/one.json \(content sha256:[0-9a-f]{12}…, [0-9]+ bytes\)	commit [0-9a-f]{12}	leaf [0-9]+\$"
# every get of it, and the unmasking search that showed it
expect_eq "then every access" "$(echo "$tr" | grep -c '	accessed	')" "$(( $($G log --format=%s main | grep -c "^access: get $REF1") + 1 ))"
expect_match "the unmasking search too" "$tr" "accessed	[^	]*	search of the summary, personal data in clear, purpose \"复核\""
expect_match "with its purpose and whether data was shown in clear" "$tr" "accessed	[^	]*	get of the record, personal data in clear, purpose \"本人申请\""
leaves=$(echo "$tr" | sed 's/.*leaf //')
expect_eq "in log order" "$(echo "$leaves" | sort -n | tr '\n' ' ')" "$(echo "$leaves" | tr '\n' ' ')"
bad=0; for cm in $(echo "$tr" | sed 's/.*commit \([0-9a-f]*\).*/\1/'); do $G cat-file -e "$cm^{commit}" 2>/dev/null || bad=$((bad + 1)); done
expect_eq "every step names a commit of the history" "$bad" 0
expect_eq "--json, one object per step" "$(c trace --json "$REF1" | grep -c '^{"time":')" "$(echo "$tr" | wc -l)"
expect_nomatch "no ID number in a trace" "$tr" "$ID1"

echo "== amendments, never edits"
ID4=$(idno 510104 19700101 123)
out=$(c amend "$REF1" --set summary=参保登记（更正） --set subject.id_no="$ID4" --reason "窗口录入错误，本人持证更正" 2>&1); st=$?
expect_eq "amend: exit 0" "$st" 0
expect_match "prints ref, new id, revision" "$out" "^$REF1 [0-9a-f]{64} revision 2\$"
NEWID=$(echo "$out" | cut -d' ' -f2)
expect_eq "search finds the current values" "$(s --person "$ID4" | cut -f1)" "$REF1"
expect_eq "and no longer the old ones" "$(s --person "$ID1" | grep -c "$REF1")" 0
expect_status "get shows the current revision" 0 c get --json "$REF1"
expect_match "the new id" "$(cat "$T/out")" "\"id\":\"$NEWID\""
expect_match "says it was amended, and how many revisions" "$(cat "$T/err")" "revision 2 of 2 \(amended"
expect_status "get --version 1" 0 c get --json --version 1 "$REF1"
expect_match "the first revision, unchanged" "$(cat "$T/out")" "\"id\":\"$ID_1\".*\"summary\":\"参保登记\""
expect_status "get --version 3 does not exist" 2 c get --version 3 "$REF1"
tr=$(c trace "$REF1")
expect_match "trace shows the amendment, ID numbers masked" "$tr" "amended	[^	]*	revision 2: summary \"参保登记\" → \"参保登记（更正）\"; subject.id_no 110105\*{8}002X → 510104\*{8}1234?[0-9X]?; reason \"窗口录入错误，本人持证更正\""
expect_nomatch "no ID number in clear in the trace" "$tr" "$ID1|$ID4"
expect_status "the ref cannot be amended" 2 c amend "$REF1" --set ref=X --reason r
expect_match "says why" "$(cat "$T/err")" "cannot be amended: it identifies the record"
expect_status "nor the type" 2 c amend "$REF1" --set type=x --reason r
expect_status "a bad value is refused as at ingest" 2 c amend "$REF1" --set subject.id_no=110105194912310021 --reason r
expect_match "naming the field" "$(cat "$T/err")" "subject.id_no: check character"
expect_status "a reason is required" 2 c amend "$REF1" --set summary=x
expect_status "an unknown field is refused" 2 c amend "$REF1" --set colour=red --reason r
expect_status "verify passes with amendments" 0 c verify
before=$(s --limit 0 --json; s --text 更正 --json; s --person "$ID4" --json)
c reindex >/dev/null
expect_eq "reindex: the same answers with amendments and access events" "$(s --limit 0 --json; s --text 更正 --json; s --person "$ID4" --json)" "$before"

echo "== case files: custos bag validate"
BG=$T/bag
mkdir -p "$BG/data/申请材料"
printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' > "$BG/bagit.txt"
echo "退休审批表" > "$BG/data/申请材料/form.txt"
echo "id scan" > "$BG/data/scan.txt"
(cd "$BG" && find data -type f | sort | while read -r f; do printf '%s  %s\n' "$(sha256sum "$f" | cut -c1-64)" "$f"; done > manifest-sha256.txt)
printf 'External-Identifier: CASE-2026-0001\nPayload-Oxum: %s.2\n' "$(cat "$BG"/data/申请材料/form.txt "$BG"/data/scan.txt | wc -c)" > "$BG/bag-info.txt"
expect_status "a valid bag folder: exit 0" 0 c bag validate "$BG"
tar -C "$T" -czf "$T/bag.tar.gz" bag
expect_status "the same bag as .tar.gz: exit 0" 0 c bag validate "$T/bag.tar.gz"
echo "altered" >> "$BG/data/scan.txt"
expect_status "an altered file: exit 1" 1 c bag validate "$BG"
expect_match "one line naming the bag and the file" "$(cat "$T/out")" "^$BG: data/scan.txt: "
touch "$BG/fetch.txt"
expect_status "fetch.txt is refused" 1 c bag validate "$BG"
expect_match "with that reason" "$(cat "$T/out")" "fetch.txt: custos fetches nothing from the network"
expect_status "no path: usage error" 2 c bag validate

echo "== lock, readers alongside a writer"
exec 9>"$A/lock"
flock -x 9
expect_status "second writer refuses with --wait 0" 2 c ingest --wait 0 "$T/in/one.json"
expect_match "lock message" "$(cat "$T/err")" "another writer .* holds the archive lock"
expect_status "a reader runs alongside" 0 c search --person "$ID1"
expect_eq "reader gets results" "$(wc -l < "$T/out")" 2
( sleep 1; flock -u 9 ) &
receipt R-2026-000030 "$ID3" consultation > "$T/in/wait.json"
expect_status "a waiting writer proceeds when the lock is freed" 0 c ingest --wait 10 "$T/in/wait.json"
expect_match "waiting is announced" "$(cat "$T/err")" "waiting up to 10 s"
wait; exec 9>&-

echo "== index is a cache"
before=$(s --limit 0 --json)
rm -rf "$A/index" && mkdir "$A/index"
after=$(s --limit 0 --json)
expect_eq "search after deleting the index gives the same answers" "$after" "$before"
expect_eq "item numbers continue after a rebuild" "$(receipt R-2026-000020 "$ID3" registration | c ingest - | cut -d' ' -f1)" "SI01-SB·2026-D100-DJ-000006"

echo "== batches and a killed writer"
"$GEN" 3000 7 K > "$T/many.jsonl"
B=$T/batched
sed 's/^batch_size = 10000;/batch_size = 500;/' "$HERE/../../conf/archive.conf" > "$T/small-batch.conf"
c -A "$B" init --fonds SI02 --conf "$T/small-batch.conf" >/dev/null
out=$(c -A "$B" ingest "$T/many.jsonl" 2>"$T/err")
expect_eq "3000 receipts archived" "$(echo "$out" | grep -c ' [0-9a-f]\{64\} ')" 3000
expect_match "in 6 commits of 500" "$(cat "$T/err")" "3000 archived, 0 duplicates, 0 rejected, 6 commits"
"$GEN" 60000 8 Z > "$T/more.jsonl"
K=$T/killed
c -A "$K" init --fonds SI03 --conf "$T/small-batch.conf" >/dev/null
"$CUSTOS" -A "$K" ingest "$T/more.jsonl" > "$T/acked" 2>/dev/null &
pid=$!
for i in $(seq 1 400); do [ "$(wc -l < "$T/acked")" -ge 1000 ] && break; sleep 0.01; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
acked=$(grep -c ' [0-9a-f]\{64\} ' "$T/acked")
check "some batches were acknowledged before the kill" test "$acked" -gt 0
missing=0
while read -r ref id src; do
	got=$(c -A "$K" search --json --limit 0 --text "$(echo "$src" | sed 's/.*#//')" 2>/dev/null | grep -c "\"id\":\"$id\"")
	[ "$got" = 1 ] || missing=$((missing + 1))
done < <(grep ' [0-9a-f]\{64\} ' "$T/acked" | shuf -n 20 --random-source=<(yes))
expect_eq "every sampled acknowledged record survives the kill" "$missing" 0
out=$(c -A "$K" ingest "$T/more.jsonl" 2>"$T/err"); st=$?
expect_eq "re-ingest after the kill: exit 0" "$st" 0
dups=$(echo "$out" | grep -c '^duplicate ')
check "the kill came before the end ($acked acknowledged)" test "$acked" -lt 60000
check "acknowledged ones come back as duplicates ($dups >= $acked)" test "$dups" -ge "$acked"
expect_eq "nothing twice: 60000 records in all" "$(c -A "$K" search --limit 0 --json | wc -l)" 60000
nbad=0
c -A "$K" keys --allowed-signers > "$T/allowedK"
for commit in $(git --git-dir="$K/history.git" rev-list main); do
	git --git-dir="$K/history.git" -c gpg.ssh.allowedSignersFile="$T/allowedK" verify-commit "$commit" >/dev/null 2>&1 || nbad=$((nbad + 1))
done
expect_eq "all commits verify after the kill" "$nbad" 0

echo "== a full disk"
D=$T/small
mkdir -p "$D"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=6m tmpfs "$D" 2>/dev/null; then
	c -A "$D/a" init --fonds SI04 --conf "$T/small-batch.conf" >/dev/null
	"$GEN" 30000 9 F > "$T/disk.jsonl"
	c -A "$D/a" ingest "$T/disk.jsonl" > "$T/disk.out" 2>"$T/disk.err"; st=$?
	expect_eq "ingest on a full disk: exit 2" "$st" 2
	expect_match "one clear line naming the file" "$(head -1 "$T/disk.err")" "^custos: ingest: .*(No space left on device|File too large)"
	acked=$(grep -c ' [0-9a-f]\{64\} ' "$T/disk.out")
	check "batches before the disk filled were acknowledged ($acked)" test "$acked" -gt 0
	found=$(c -A "$D/a" search --limit 0 | wc -l)
	check "every acknowledged record is searchable ($found >= $acked)" test "$found" -ge "$acked"
	mount -o remount,size=256m "$D"
	out=$(c -A "$D/a" ingest "$T/disk.jsonl" 2>/dev/null); st=$?
	expect_eq "after space is freed the same input goes in: exit 0" "$st" 0
	dups=$(echo "$out" | grep -c '^duplicate ')
	check "acknowledged ones are duplicates ($dups >= $acked)" test "$dups" -ge "$acked"
	expect_eq "30000 records, none twice" "$(c -A "$D/a" search --limit 0 | wc -l)" 30000
	gaps=$(c -A "$D/a" search --limit 0 | cut -f1 | awk -F- '{ cls = $1 "-" $2 "-" $3 "-" $4; n[cls]++; if ($5 + 0 > max[cls]) max[cls] = $5 + 0 } END { for (k in n) if (n[k] != max[k]) print k }')
	expect_eq "item numbers without gaps after the failure" "$gaps" ""
	c -A "$D/a" keys --allowed-signers > "$T/allowedD"
	nbad=0
	for commit in $(git --git-dir="$D/a/history.git" rev-list main); do
		git --git-dir="$D/a/history.git" -c gpg.ssh.allowedSignersFile="$T/allowedD" verify-commit "$commit" >/dev/null 2>&1 || nbad=$((nbad + 1))
	done
	expect_eq "every commit verifies after the failure" "$nbad" 0
	check "custos verify passes after the failure" c -A "$D/a" verify
	umount "$D"
else
	echo "  (skipped: mounting a small tmpfs needs root)"
fi

summary
