#!/usr/bin/env bash
# Per-platform and per-account variants (issue 20, README "Variants"),
# through autopost-api over HTTP and the real scheduler, publishers,
# dispatcher and sandbox:
#   1. refusals store nothing: a key that is neither a platform nor one of
#      the post's accounts (422 naming variants.<key>), a variant too long
#      for its platform (422 naming variants.x), and the long text on X
#      without a variant (422 naming the account);
#   2. one post to an X and a LinkedIn account with a 300-character text and
#      an X variant: each published exactly once, X with the variant's text,
#      LinkedIn with the post's (the sandbox's stored posts, by the ids the
#      schedules record); GET /v1/posts/{id} shows the variants;
#   3. an account-id variant beats a platform variant: two X accounts, one
#      with its own entry, the other taking the "x" entry;
#   4. `autopostctl schedule --variant x=TEXT` and an `import` line with
#      "variants" publish their variant too;
#   5. a recurring post's occurrences publish their variants, and a series'
#      text edited to 300 characters passes because X keeps its variant.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/adapter_checks.sh"

export SVC_PLATFORMS="x linkedin"
e2e_begin
API_PORT=$(stack_free_port)
METRICS_PORT=$(stack_free_port)
svc_config "api:
  http_port: $API_PORT"
API=http://127.0.0.1:$API_PORT
OUT=$STACK_DIR/api.out

call() {
    local args=(-sS -o "$OUT" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $KEY")
    [[ -z ${3:-} ]] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$API$2"
}
expect() {
    local want=$1 got
    shift
    got=$(call "$@")
    [[ $got == "$want" ]] || fail "$1 $2: HTTP $got, expected $want: $(head -c 600 "$OUT")"
}
j() { jq -r "$1" "$OUT"; }
q() { stack_psql -c "$1"; }
# published SCHEDULE_ID PLATFORM TEXT: the schedule is published, and the
# sandbox holds exactly one post with TEXT on PLATFORM, the one it recorded.
published() {
    ac_wait "$1" 90 published failed unconfirmed || fail "schedule $1 did not finish"
    ac_expect "$1" published "" ""
    local ext
    ext=$(q "SELECT external_post_id FROM post_schedules WHERE id = '$1'")
    sandbox_get "/_sandbox/posts?platform=$2" | jq -e --arg m "$3" --arg id "$ext" \
        '[.posts[] | select(.message == $m)] | length == 1 and .[0].id == $id' >/dev/null ||
        fail "$2: not exactly one post \"${3:0:40}...\" with id $ext: $(sandbox_get "/_sandbox/posts?platform=$2" | jq -c '[.posts[] | {id, message}]')"
}

TENANT=$(svc_ctl tenants add --name acme | awk '{print $NF}')
KEY=$(svc_ctl api-keys create --tenant "$TENANT" --name main | awk '{print $NF}')
x_user() { curl -fsS -H "Authorization: Bearer $1" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id; }
X1=$(svc_ctl accounts add --platform x --external-id "$(x_user x-variants-one)" --token x-variants-one)
X2=$(svc_ctl accounts add --platform x --external-id "$(x_user x-variants-two)" --token x-variants-two)
LI=$(svc_ctl accounts add --platform linkedin --external-id urn:li:person:variants --token li-good-token)
q "UPDATE social_accounts SET tenant_id = '$TENANT'" >/dev/null

q "CREATE ROLE api_login LOGIN IN ROLE autopost_api" >/dev/null
API_CONFIG=$STACK_DIR/api.yaml
{ cat "$AUTOPOST_CONFIG"; printf 'service:\n  http_port: %s\n' "$METRICS_PORT"; } >"$API_CONFIG"
AUTOPOST_CONFIG=$API_CONFIG \
    AUTOPOST_POSTGRES_DSN=$(sed 's/user=[^ ]*/user=api_login/' <<<"$AUTOPOST_POSTGRES_DSN") svc_start api
stack_wait_for curl -fsS -o /dev/null "$API/v1/openapi.json" >/dev/null || fail "the API did not start"
svc_start scheduler
svc_start dispatcher
svc_start publisher-x
svc_start publisher-linkedin

# 300 characters: LinkedIn takes them, X (280) does not. Letters and spaces
# only (LinkedIn's little text format reserves brackets and the like).
long_text() { printf '%s %0295d' "$1" 0 | tr 0 a | head -c 300; }
LONG=$(long_text first)
[[ ${#LONG} -eq 300 ]] || fail "long text is ${#LONG} characters"
body() { # body ACCOUNTS_JSON TEXT VARIANTS_JSON
    jq -cn --argjson a "$1" --arg t "$2" --argjson v "$3" '{account_ids: $a, text: $t, variants: $v}'
}

# ---- 1. refusals store nothing ---------------------------------------------------
before=$(q "SELECT count(*) FROM posts")
expect 422 POST /v1/posts "$(body "[\"$X1\", \"$LI\"]" "$LONG" '{"myspace": {"text": "hi"}}')"
[[ $(j '.error.details[0].field') == variants.myspace &&
    $(j '.error.details[0].reason') == *"not a platform name or one of the post's account ids"* ]] ||
    fail "unknown key: $(cat "$OUT")"
expect 422 POST /v1/posts "$(body "[\"$X1\"]" short "{\"$LI\": {\"text\": \"hi\"}}")"
[[ $(j '.error.details[0].field') == "variants.$LI" ]] || fail "another account's id: $(cat "$OUT")"
expect 422 POST /v1/posts "$(body "[\"$X1\", \"$LI\"]" "$LONG" "{\"x\": {\"text\": \"$(long_text tooLong)\"}}")"
[[ $(j '.error.details | length') == 1 && $(j '.error.details[0].field') == variants.x &&
    $(j '.error.details[0].reason') == *"not valid for x"* ]] || fail "X variant too long: $(cat "$OUT")"
expect 422 POST /v1/posts "$(body "[\"$LI\", \"$X1\"]" "$LONG" '{"linkedin": {"text": "short"}}')"
[[ $(j '.error.details[0].field') == "account_ids[1]" ]] || fail "long text on X, no X variant: $(cat "$OUT")"
expect 422 POST /v1/posts "$(body "[\"$X1\"]" short '{"x": {"media": [{"url": "ftp://cdn.example/a.jpg"}]}}')"
[[ $(j '.error.details[0].field') == "variants.x.media[0].url" ]] || fail "bad variant media: $(cat "$OUT")"
[[ $(q "SELECT count(*) FROM posts") == "$before" ]] || fail "a refused post was stored"
[[ $(q "SELECT count(*) FROM post_schedules") == 0 ]] || fail "a refused post left schedules"

# ---- 2. X variant beside LinkedIn's long text ---------------------------------------
XTEXT="the short one for X"
expect 201 POST /v1/posts "$(body "[\"$X1\", \"$LI\"]" "$LONG" "{\"x\": {\"text\": \"$XTEXT\"}}")"
POST=$(j .id)
XS=$(j '.schedules[0].id')
LS=$(j '.schedules[1].id')
expect 200 GET "/v1/posts/$POST"
[[ $(j .variants.x.text) == "$XTEXT" && $(j .text) == "$LONG" ]] || fail "GET shows: $(cat "$OUT")"
published "$XS" x "$XTEXT"
published "$LS" linkedin "$LONG"
svc_ctl show "$XS" | grep -qF "$XTEXT" || fail "autopostctl show lacks X's variant text: $(svc_ctl show "$XS")"
sandbox_get "/_sandbox/posts?platform=x" | jq -e --arg m "$LONG" '[.posts[] | select(.message == $m)] | length == 0' \
    >/dev/null || fail "X got the long text"

# ---- 3. an account's entry beats its platform's -----------------------------------
LONG2=$(long_text second)
expect 201 POST /v1/posts "$(body "[\"$X1\", \"$X2\"]" "$LONG2" \
    "{\"x\": {\"text\": \"every X account\"}, \"$X2\": {\"text\": \"only the second X account\"}}")"
S1=$(j '.schedules[0].id')
S2=$(j '.schedules[1].id')
published "$S1" x "every X account"
published "$S2" x "only the second X account"

# ---- 4. autopostctl schedule --variant and import ------------------------------------
CTL=$(svc_ctl schedule --account "$X2" --at now --text "$(long_text third)" --variant "x=from autopostctl")
published "$CTL" x "from autopostctl"
if out=$(svc_ctl schedule --account "$X2" --at now --text hi --variant "myspace=no" 2>&1); then
    fail "schedule --variant myspace was accepted: $out"
fi
[[ $out == *"variants.myspace: not a platform name"* ]] || fail "schedule --variant myspace: $out"
jq -cn --arg a "$X1" --arg t "$(long_text fourth)" \
    '{account_id: $a, at: "now", text: $t, variants: {($a): {text: "imported for X"}}}' >"$STACK_DIR/in.jsonl"
IMP=$(svc_ctl import "$STACK_DIR/in.jsonl" --ids | tail -1)
published "$IMP" x "imported for X"

# ---- 5. a series: its occurrence takes the variant; a text edit keeps them -----------
series() { # series ACCOUNTS_JSON TEXT VARIANTS_JSON RRULE START
    jq -cn --argjson a "$1" --arg t "$2" --argjson v "$3" --arg r "$4" --arg s "$5" \
        '{account_ids: $a, text: $t, variants: $v, recurrence: {rrule: $r, tz: "UTC", start: $s}}'
}
LONG5=$(long_text fifth)
START=$(date -u -d '+12 sec' +%Y-%m-%dT%H:%M:%S)
expect 201 POST /v1/posts "$(series "[\"$X1\", \"$LI\"]" "$LONG5" '{"x": {"text": "the series on X"}}' \
    "FREQ=MINUTELY;COUNT=1" "$START")"
SERIES=$(j .id)
occurrence() { # occurrence PLATFORM: the series' schedule id on that platform, once made
    q "SELECT s.id FROM post_schedules s JOIN social_accounts a ON a.id = s.account_id
        WHERE s.post_id = '$SERIES' AND a.platform = '$1'"
}
deadline=$(($(date +%s) + 60))
until [[ -n $(occurrence x) && -n $(occurrence linkedin) ]] || (($(date +%s) > deadline)); do sleep 0.5; done
[[ -n $(occurrence x) && -n $(occurrence linkedin) ]] || fail "the series made no occurrences"
published "$(occurrence x)" x "the series on X"
published "$(occurrence linkedin)" linkedin "$LONG5"
# A far series: its text edited to 300 characters is checked where it
# applies (X keeps its variant), and the variants stay.
expect 201 POST /v1/posts "$(series "[\"$X1\", \"$LI\"]" short '{"x": {"text": "far X"}}' \
    FREQ=DAILY 2030-01-01T09:00:00)"
FAR=$(j .id)
expect 200 PATCH "/v1/posts/$FAR" "$(jq -cn --arg t "$(long_text sixth)" '{text: $t}')"
[[ $(j .variants.x.text) == "far X" && $(j '.text | length') == 300 ]] || fail "PATCH of a series with variants: $(cat "$OUT")"

e2e_finish
pass "variants: X's variant and LinkedIn's long text each published once; the account's entry beats the platform's; refusals store nothing"
