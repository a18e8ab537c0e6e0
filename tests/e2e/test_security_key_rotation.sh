#!/usr/bin/env bash
# Rotating the credentials key, as README "Security" tells an operator to:
#
#   1. jobs are queued under key A (no publisher running yet);
#   2. key B becomes current with A in previous_key_files; `keys id` shows B;
#      `keys rotate --dry-run` changes nothing, `keys rotate` re-seals every
#      row under B in batches, a second run finds nothing to do;
#   3. the publisher (B current, A previous) publishes the jobs sealed under A;
#   4. A is dropped: new jobs (sealed under B from the database) publish;
#   5. rows that do not open are counted, named by account id (never by
#      token) and left alone, the exit status is 1; putting A back lets the
#      row sealed under A rotate.
#   6. (within 2) the refreshed credentials publishers share in KV
#      autopost_accounts_facebook follow: one sealed under A is re-sealed under B (it
#      opens with B, not with A), one that opens with no key is purged; and a
#      webhook endpoint's signing secret sealed under A is re-sealed under B.
source "$(dirname "$0")/lib.sh"

new_key() { (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1"); }

# write_config OUT CURRENT_KEY_FILE [PREVIOUS_KEY_FILES]: the stack's config
# with another credentials section.
write_config() {
    awk -v cur="$2" -v prev="${3:-}" '
        /^  key_file: / { print "  key_file: " cur
                          if (prev != "") print "  previous_key_files: " prev
                          next }
        { print }' "$STACK_DIR/autopost.yaml" >"$1"
}

# kid_count HEX: rows whose blob names that key id.
kid_count() {
    stack_psql -c "SELECT count(*) FROM social_accounts
                    WHERE substring(credentials FROM 4 FOR 8) = decode('$1', 'hex')"
}

# rotate CONFIG ARGS...: keys rotate; stdout in $OUT, stderr in $ERR, exit in RC.
rotate() {
    local config=$1
    shift
    RC=0
    AUTOPOST_CONFIG=$config svc_ctl keys rotate "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# counts: "rotated,current,failed" from $OUT.
counts() {
    awk '/^(rotated|to rotate) /{r=$NF} /^already current /{c=$NF} /^failed to open /{f=$NF}
         END {print r "," c "," f}' "$OUT"
}

e2e_begin --latency-ms 5
# The key comes from the config file from here on, as in a deployment.
unset AUTOPOST_CREDENTIALS_KEY_FILE
OUT=$STACK_DIR/rotate.out
ERR=$STACK_DIR/rotate.err
key_a=$STACK_DIR/credentials.key
key_b=$STACK_DIR/credentials-b.key
new_key "$key_b"
config_ba=$STACK_DIR/autopost-ba.yaml
config_b=$STACK_DIR/autopost-b.yaml
write_config "$config_ba" "$key_b" "$key_a"
write_config "$config_b" "$key_b"

# ---- 1. jobs under key A ------------------------------------------------------------
kid_a=$(svc_ctl keys id) || fail "keys id"
[[ $kid_a =~ ^[0-9a-f]{16}$ ]] || fail "keys id printed '$kid_a'"
total=$(seed_scenario 4 2 2 "$(rfc3339_in 2)") || fail "seeding failed"
[[ $total -eq 16 ]] || fail "seeded $total schedules, expected 16"
[[ $(kid_count "$kid_a") -eq 8 ]] || fail "accounts are not sealed under key A"
mapfile -t accounts <"$STACK_DIR/seed/account_ids.txt"
# Kept for step 5: account 2's blob under A.
blob_a2=$(stack_psql -c "SELECT encode(credentials, 'hex') FROM social_accounts
                          WHERE id = '${accounts[1]}'")
svc_start dispatcher
svc_start scheduler
for ((i = 0; i < 60; i++)); do
    [[ $(svc_count_status queued) -eq 16 ]] && break
    sleep 0.5
done
[[ $(svc_count_status queued) -eq 16 ]] || fail "jobs were not queued"
webhook=$(svc_ctl webhooks add --tenant 00000000-0000-0000-0000-000000000001 \
    --url https://hooks.example.com/autopost --events '*' | awk '{print $1}') || fail "webhooks add"
secret_kid() {
    stack_psql -c "SELECT encode(substring(secret_sealed FROM 4 FOR 8), 'hex')
                    FROM webhook_endpoints WHERE id = '$webhook'"
}
[[ $(secret_kid) == "$kid_a" ]] || fail "the webhook secret is not sealed under key A"
pass "16 jobs queued with credentials sealed under key A ($kid_a)"

# ---- 2. switch to B, rotate -----------------------------------------------------------
kid_b=$(AUTOPOST_CONFIG=$config_ba svc_ctl keys id) || fail "keys id (B)"
[[ $kid_b =~ ^[0-9a-f]{16}$ && $kid_b != "$kid_a" ]] || fail "keys id after the switch: '$kid_b'"
all=$(AUTOPOST_CONFIG=$config_ba svc_ctl keys id --all) || fail "keys id --all"
[[ $all == "$kid_b  current"$'\n'"$kid_a  previous" ]] || fail "keys id --all printed: $all"

# KV: a refreshed credential of account 1 under A (its own PostgreSQL blob),
# and for account 4 one sealed for another account (account 1's), which
# opens with no key.
KV="$AUTOPOST_BIN/../tests/kv_value $AUTOPOST_NATS_URL autopost_accounts_facebook"
kv_a1=${accounts[0]} kv_a4=${accounts[3]}
blob_a1=$(stack_psql -c "SELECT encode(credentials, 'base64') FROM social_accounts
                          WHERE id = '$kv_a1'" | tr -d '\n')
for a in "$kv_a1" "$kv_a4"; do
    printf 'issued=1 digest=- by=test blob=%s' "$blob_a1" | $KV put "cred.$a" ||
        fail "cannot plant cred.$a in KV"
done
# kv_opens ACCOUNT KEY_FILE: does cred.ACCOUNT in KV open with that key?
kv_opens() {
    local value
    value=$($KV get "cred.$1") || return 2
    sed 's/.* blob=//' <<<"$value" | base64 -d | od -An -tx1 | tr -d ' \n' |
        "$AUTOPOST_BIN/../tests/open_credential" "$2" facebook "$1" >/dev/null 2>&1
}
kv_opens "$kv_a1" "$key_a" || fail "the planted KV credential does not open with A"

rotate "$config_ba" --dry-run
[[ $RC -eq 0 && $(counts) == 8,0,0 ]] || fail "dry run: exit $RC, $(cat "$OUT" "$ERR")"
[[ $(kid_count "$kid_a") -eq 8 ]] || fail "the dry run changed rows"
grep -q "to rotate 1, already current 0, to purge 1" "$OUT" || fail "dry run, KV: $(cat "$OUT")"
grep -q "^webhook secrets  to rotate 1, already current 0, failed to open 0$" "$OUT" ||
    fail "dry run, webhooks: $(cat "$OUT")"
[[ $(secret_kid) == "$kid_a" ]] || fail "the dry run changed the webhook secret"
kv_opens "$kv_a1" "$key_a" || fail "the dry run changed KV"

rotate "$config_ba" --batch-size 3
[[ $RC -eq 0 && $(counts) == 8,0,0 ]] || fail "rotate: exit $RC, $(cat "$OUT" "$ERR")"
grep -q "^current key id   $kid_b\$" "$OUT" || fail "rotate did not name the key: $(cat "$OUT")"
[[ $(kid_count "$kid_b") -eq 8 ]] || fail "not every row is under key B after rotate"
grep -q "rotated 1, already current 0, purged 1" "$OUT" || fail "rotate, KV: $(cat "$OUT")"
grep -q "^webhook secrets  rotated 1, already current 0, failed to open 0$" "$OUT" ||
    fail "rotate, webhooks: $(cat "$OUT")"
[[ $(secret_kid) == "$kid_b" ]] || fail "the webhook secret is not under key B after rotate"
grep -q "account $kv_a4: the refreshed credential in KV autopost_accounts_facebook does not open" "$ERR" ||
    fail "rotate did not name the purged KV credential: $(cat "$ERR")"
kv_opens "$kv_a1" "$key_b" || fail "the KV credential does not open with B after rotate"
rc=0
kv_opens "$kv_a1" "$key_a" || rc=$?
[[ $rc -eq 1 ]] || fail "the KV credential still opens with A after rotate ($rc)"
[[ $($KV get "cred.$kv_a1" | sed 's/ .*//') == issued=1 ]] || fail "rotate changed issued_at"
rc=0
$KV get "cred.$kv_a4" >/dev/null || rc=$?
[[ $rc -eq 1 ]] || fail "the unopenable KV credential is still there ($rc)"
rotate "$config_ba"
[[ $RC -eq 0 && $(counts) == 0,8,0 ]] || fail "second rotate: exit $RC, $(cat "$OUT" "$ERR")"
grep -q "rotated 0, already current 1, purged 0" "$OUT" || fail "second rotate, KV: $(cat "$OUT")"
grep -q "^webhook secrets  rotated 0, already current 1, failed to open 0$" "$OUT" ||
    fail "second rotate, webhooks: $(cat "$OUT")"
pass "keys rotate re-sealed 8 rows under $kid_b in batches, and KV's refreshed credentials (one purged); again: nothing to do"

# ---- 3. queued jobs sealed under A still publish ------------------------------------
AUTOPOST_CONFIG=$config_ba svc_start publisher-facebook
SVC_QUIET=1 svc_wait_terminal 16 120 || fail "the jobs sealed under A did not finish"
check_exactly_once 16 || fail "exactly-once check (jobs sealed under A)"
pass "jobs sealed under the previous key published"

# ---- 4. A dropped: jobs sealed under B publish ---------------------------------------
svc_kill publisher-facebook TERM || fail "publisher did not drain cleanly"
AUTOPOST_CONFIG=$config_b svc_start publisher-facebook
at=$(rfc3339_in 2)
: >"$STACK_DIR/more.jsonl"
for i in "${!accounts[@]}"; do
    printf '{"account_id":"%s","at":"%s","text":"After the rotation, account %d"}\n' \
        "${accounts[$i]}" "$at" "$i" >>"$STACK_DIR/more.jsonl"
done
AUTOPOST_CONFIG=$config_b svc_ctl import "$STACK_DIR/more.jsonl" >/dev/null || fail "import"
SVC_QUIET=1 svc_wait_terminal 24 120 || fail "the jobs sealed under B did not finish"
check_exactly_once 24 || fail "exactly-once check (jobs sealed under B)"
pass "with the old key dropped, new jobs publish"

# ---- 5. rows that do not open ---------------------------------------------------------
a2=${accounts[1]} a3=${accounts[2]} a4=${accounts[3]}
# Account 2 gets its own blob under A back (as if some machine still sealed
# with A), account 3 gets account 2's blob (sealed for another account),
# account 4 junk.
stack_psql -c "UPDATE social_accounts SET credentials = decode('$blob_a2', 'hex')
                WHERE id IN ('$a2', '$a3')" \
    -c "UPDATE social_accounts SET credentials = '\\x00' WHERE id = '$a4'" >/dev/null ||
    fail "cannot damage rows"
rotate "$config_b"
[[ $RC -eq 1 && $(counts) == 0,5,3 ]] || fail "rotate without A: exit $RC, $(cat "$OUT" "$ERR")"
grep -q "account $a2: sealed with key id $kid_a, which is not configured" "$ERR" ||
    fail "rotate did not name account 2's missing key: $(cat "$ERR")"
grep -q "account $a4: stored credentials are not a sealed token" "$ERR" ||
    fail "rotate did not name account 4: $(cat "$ERR")"
grep -q "3 account(s) could not be opened" "$ERR" || fail "no summary: $(cat "$ERR")"
rotate "$config_ba"
[[ $RC -eq 1 && $(counts) == 1,5,2 ]] || fail "rotate with A back: exit $RC, $(cat "$OUT" "$ERR")"
grep -q "account $a3: does not open with key id $kid_a (corrupted, or sealed for another account)" \
    "$ERR" || fail "rotate did not name account 3: $(cat "$ERR")"
if grep -a -E 'seed-token-u[0-9]+' "$OUT" "$ERR"; then fail "rotate printed a token"; fi
[[ $(kid_count "$kid_b") -eq 6 ]] || fail "rows under B: $(kid_count "$kid_b"), expected 6"
pass "unopenable rows are named by account id, left alone, exit 1; A back fixes account 2"

e2e_finish
pass "credentials key rotation"
