#!/usr/bin/env bash
# A 5-message X thread (the post + 4 parts) whose publisher is killed
# (SIGKILL, failpoint publisher_chain_part) right after part 2 went live and
# before the record names part 3: the redelivery finds "started part=2
# ids=<post>,<part 1>", reads part 2 back among the replies to part 1 instead
# of sending it again, and goes on with parts 3 and 4. Checked on the
# sandbox: every message exactly once, in order, each a reply to the one
# before; on the row: published with the post's id and the 4 part ids.
# Then a first comment (a reply to the post), a Threads thread with a first
# comment (containers with reply_to_id), and a part over X's length refused
# before anything is stored, naming thread[1].text.
source "$(dirname "$0")/lib.sh"

SVC_PLATFORMS="x threads facebook instagram linkedin"
SVC_ACK_WAIT=4s
SVC_TIMEOUT=2s # takeover window: 2 x 2 s + 5 s
e2e_begin --container-ready-ms 200
# A part sent twice must show up as a second post, not be refused as a
# duplicate (which the duplicate read-back would then call ours).
sandbox_post /_sandbox/config '{"reject_duplicates":false}' >/dev/null

token=x-thread-token
user=$(curl -fsS -H "Authorization: Bearer $token" "$SANDBOX_URL/x/2/users/me" | jq -r .data.id)
[[ $user =~ ^[0-9]+$ ]] || fail "sandbox users/me gave no id: $user"
account=$(svc_ctl accounts add --platform x --external-id "$user" --token "$token")

# Validation: a part over 280 weighted characters, before anything is stored.
long=$(printf 'a%.0s' $(seq 281))
if svc_ctl schedule --account "$account" --at now --text "ok" --thread "fine" --thread "$long" \
    2>"$STACK_DIR/ctl.err"; then
    fail "autopostctl accepted a thread part of 281 characters"
fi
grep -q 'thread\[1\].text: text weighs 281' "$STACK_DIR/ctl.err" ||
    fail "reason: $(cat "$STACK_DIR/ctl.err")"
[[ $(svc_count_status) -eq 0 ]] || fail "a refused thread left a row"
echo "ok: a long part is refused: $(cat "$STACK_DIR/ctl.err")"

thread=$(svc_ctl schedule --account "$account" --at now --text "1/5 a thread about chains" \
    --thread "2/5 each part replies" --thread "3/5 to the one before" \
    --thread "4/5 and goes out once" --thread "5/5 the end")

svc_start scheduler
svc_start dispatcher
AUTOPOST_FAILPOINT=publisher_chain_part:2 svc_start publisher-x
pid=${SVC_PIDS[publisher-x]}
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && fail "the publisher did not reach the failpoint"
wait "$pid" 2>/dev/null || true
unset "SVC_PIDS[publisher-x]"
grep -q "failpoint publisher_chain_part reached" "$STACK_DIR/logs/publisher-x.log" ||
    fail "the publisher died elsewhere than at the failpoint"

posts() { sandbox_get "/_sandbox/posts?platform=x&page_id=$user" | jq -c '[.posts[] | {id, message, in_reply_to}]'; }
live=$(posts | jq length)
[[ $live -eq 3 ]] || fail "expected the post and 2 parts live at the kill, got $live: $(posts)"
echo "ok: killed after part 2: $(posts)"

svc_start publisher-x
svc_wait_terminal 1 120 || fail "the thread did not finish after the restart"
row=$(stack_psql -F '|' -c "SELECT status, external_post_id, array_to_string(part_external_ids, ',')
                            FROM post_schedules WHERE id = '$thread'")
IFS='|' read -r st root parts <<<"$row"
[[ $st == published ]] || fail "thread schedule: $row"

got=$(posts)
[[ $(jq length <<<"$got") -eq 5 ]] || fail "expected 5 messages, got: $got"
# In order, each once, each replying to the one before.
for i in 0 1 2 3 4; do
    want=$(jq -r ".[$i].message" <<<"$got")
    [[ $want == "$((i + 1))/5 "* ]] || fail "message $i out of order: $got"
    if ((i == 0)); then
        [[ $(jq -r '.[0].in_reply_to' <<<"$got") == null ]] || fail "the post is a reply: $got"
    else
        [[ $(jq -r ".[$i].in_reply_to" <<<"$got") == $(jq -r ".[$((i - 1))].id" <<<"$got") ]] ||
            fail "message $i does not reply to message $((i - 1)): $got"
    fi
done
[[ $root == $(jq -r '.[0].id' <<<"$got") ]] || fail "external_post_id $root is not the post"
[[ $parts == $(jq -r '[.[1:][] | .id] | join(",")' <<<"$got") ]] ||
    fail "part_external_ids $parts do not match the sandbox: $got"
[[ $(sandbox_stat duplicate_accepts) -eq 0 ]] || fail "the sandbox accepted a post twice"
grep -q '"chain_resume"\|chain_resume' "$STACK_DIR/logs/publisher-x.log" || fail "no chain_resume logged"
grep -q 'verify_found' "$STACK_DIR/logs/publisher-x.log" || fail "part 2 was not read back"
ev=$(stack_psql -c "SELECT body FROM events WHERE schedule_id = '$thread'" |
    jq -c 'select(.type == "schedule.published") | .data.schedule.part_external_ids')
want_ev=$(jq -c "[.[1:][] | .id]" <<<"$got")
[[ $ev == "$want_ev" ]] || fail "the published event's part ids: $ev, want $want_ev"
shown=$(svc_ctl show "$thread" | sed -n 's/^part ids *//p')
[[ $shown == "${parts//,/ }" ]] || fail "autopostctl show's part ids: '$shown', want '${parts//,/ }'"
[[ $(svc_ctl show "$thread" --json | jq -r '.part_external_ids | join(",")') == "$parts" ]] ||
    fail "autopostctl show --json's part ids: $(svc_ctl show "$thread" --json | jq -c .part_external_ids)"
echo "ok: 5 messages once each, in order, each a reply to the one before; ids $root + $parts (autopostctl show too)"

# Faults on one part's call (sandbox x_reply_fault): a reset after X stored
# part 2 (no answer: ambiguous, read back on the next delivery), a 503 on
# part 1 (nothing stored: retried), a 429 on part 3 (retried after the reset,
# never deferred: a deferral would start the thread again). Each thread still
# ends with its 4 messages once each, chained.
n=1
chain_ok() { # SCHEDULE PREFIX: published, 4 messages with PREFIX, chained, ids stored
    local got row
    row=$(stack_psql -F '|' -c "SELECT status, external_post_id || ',' ||
                                array_to_string(part_external_ids, ',')
                                FROM post_schedules WHERE id = '$1'")
    got=$(sandbox_get "/_sandbox/posts?platform=x&page_id=$user" |
        jq -c --arg p "$2" '[.posts[] | select(.message | startswith($p)) | {id, in_reply_to}]')
    [[ $(jq length <<<"$got") -eq 4 ]] || fail "$2: expected 4 messages once each: $got"
    jq -e '[range(1; length) as $i | .[$i].in_reply_to == .[$i - 1].id] | all' <<<"$got" >/dev/null ||
        fail "$2: not chained: $got"
    [[ $row == "published|$(jq -r 'map(.id) | join(",")' <<<"$got")" ]] || fail "$2: row $row, sandbox $got"
}
for fault in "3 2 reset" "1 1 503" "2 3 429"; do
    read -r kind at label <<<"$fault"
    sandbox_post /_sandbox/config "{\"x_reply_fault\":$kind,\"x_reply_fault_at\":$at}" >/dev/null
    id=$(svc_ctl schedule --account "$account" --at now --text "$label 1/4" \
        --thread "$label 2/4" --thread "$label 3/4" --thread "$label 4/4")
    n=$((n + 1))
    svc_wait_terminal "$n" 120 || fail "the thread with a $label on part $at did not finish"
    chain_ok "$id" "$label "
    echo "ok: a $label on part $at: 4 messages once each, chained"
done
# A part refused for good (X's 403: replies not allowed) after the post and
# part 1 went live: failed, the live ids in the reason and the row, and no
# retry (it would post them again). A first comment refused the same way
# leaves its post published with first_comment_failed.
sandbox_post /_sandbox/config '{"x_reply_fault":4,"x_reply_fault_at":2}' >/dev/null
half=$(svc_ctl schedule --account "$account" --at now --text "half 1/3" --thread "half 2/3" \
    --thread "half 3/3")
n=$((n + 1))
svc_wait_terminal "$n" 60 || fail "the half-published thread did not finish"
row=$(stack_psql -F '|' -c "SELECT status, external_post_id, array_to_string(part_external_ids, ','),
                            error_message FROM post_schedules WHERE id = '$half'")
IFS='|' read -r st root parts msg <<<"$row"
[[ $st == failed && -n $root && -n $parts &&
    $msg == *"part 2 of the thread"*"already live (not posted again): post $root, parts $parts"* ]] ||
    fail "half-published thread: $row"
if out=$(svc_ctl retry "$half" 2>&1); then fail "a half-published thread was retried: $out"; fi
[[ $out == *"part of its thread is live"* ]] || fail "retry refusal: $out"
echo "ok: a part refused for good: failed, live ids listed, retry refused: $msg"
sandbox_post /_sandbox/config '{"x_reply_fault":4,"x_reply_fault_at":1}' >/dev/null
refused=$(svc_ctl schedule --account "$account" --at now --text "a post whose comment is refused" \
    --first-comment "no replies here")
n=$((n + 1))
svc_wait_terminal "$n" 60 || fail "the post with a refused comment did not finish"
row=$(stack_psql -F '|' -c "SELECT status, error_code, error_message FROM post_schedules
                            WHERE id = '$refused'")
[[ $row == "published|first_comment_failed|published (post "*"the first comment failed: "* ]] ||
    fail "refused comment: $row"
echo "ok: a refused first comment leaves the post published: $row"
sandbox_post /_sandbox/config '{"x_reply_fault":0,"x_reply_fault_at":0}' >/dev/null
[[ $(sandbox_stat closes) -ge 1 ]] || fail "the reset after commit did not happen"
[[ $(grep -c job_retrying "$STACK_DIR/logs/publisher-x.log") -ge 3 ]] ||
    fail "the part faults were not retried: $(grep -c job_retrying "$STACK_DIR/logs/publisher-x.log")"
! grep -q job_deferred "$STACK_DIR/logs/publisher-x.log" || fail "a part's 429 was deferred"

# Import takes the same fields; a bad part names its line and field.
printf '{"account_id": "%s", "at": "now", "text": "imported 1/2", "thread": [{"text": "imported 2/2"}], "first_comment": "imported comment"}\n' \
    "$account" >"$STACK_DIR/thread.jsonl"
printf '{"account_id": "%s", "at": "now", "text": "bad", "thread": [{"text": ""}]}\n' "$account" \
    >"$STACK_DIR/bad.jsonl"
if out=$(svc_ctl import "$STACK_DIR/bad.jsonl" 2>&1); then fail "import took an empty part"; fi
[[ $out == *"bad.jsonl:1:"*"thread[0].text: empty post"* ]] || fail "import refusal: $out"
imported=$(svc_ctl import --ids "$STACK_DIR/thread.jsonl")
n=$((n + 1))
svc_wait_terminal "$n" 60 || fail "the imported thread did not finish"
[[ $(stack_psql -c "SELECT status || ' ' || cardinality(part_external_ids) FROM post_schedules
                    WHERE id = '$imported'") == "published 2" ]] || fail "imported thread: $imported"
echo "ok: import takes a thread and a first comment"

# A first comment: a reply to the post once it is live.
commented=$(svc_ctl schedule --account "$account" --at now --text "a post with a comment" \
    --first-comment "the first comment")
n=$((n + 1))
svc_wait_terminal "$n" 60 || fail "the commented post did not finish"
row=$(stack_psql -F '|' -c "SELECT status, external_post_id, array_to_string(part_external_ids, ',')
                            FROM post_schedules WHERE id = '$commented'")
IFS='|' read -r st root parts <<<"$row"
[[ $st == published && -n $parts ]] || fail "commented schedule: $row"
comment=$(sandbox_get "/_sandbox/posts?platform=x&page_id=$user" |
    jq -c --arg id "$parts" '[.posts[] | select(.id == $id)][0]')
[[ $(jq -r .message <<<"$comment") == "the first comment" &&
    $(jq -r .in_reply_to <<<"$comment") == "$root" ]] || fail "comment: $comment (post $root)"
echo "ok: first comment $parts replies to post $root"

# Threads: a 3-message thread and a first comment, as replies.
th_user=2500000000000077
th_account=$(svc_ctl accounts add --platform threads --external-id "$th_user" --token good-th-chain)
th=$(svc_ctl schedule --account "$th_account" --at now --text "threads 1/3" \
    --thread "threads 2/3" --thread "threads 3/3" --first-comment "threads comment")
svc_start publisher-threads
n=$((n + 1))
svc_wait_terminal "$n" 60 || fail "the Threads thread did not finish"
row=$(stack_psql -F '|' -c "SELECT status, external_post_id, array_to_string(part_external_ids, ',')
                            FROM post_schedules WHERE id = '$th'")
IFS='|' read -r st root parts <<<"$row"
[[ $st == published ]] || fail "Threads schedule: $row"
got=$(sandbox_get "/_sandbox/posts?platform=threads&page_id=$th_user" |
    jq -c '[.posts[] | {id, message, in_reply_to}]')
[[ $(jq length <<<"$got") -eq 4 ]] || fail "expected 4 Threads messages, got: $got"
expect_chain=$(jq -r '[.[0].in_reply_to, .[1].in_reply_to == .[0].id, .[2].in_reply_to == .[1].id,
                       .[3].in_reply_to == .[0].id, .[3].message] | @tsv' <<<"$got")
[[ $expect_chain == $'\ttrue\ttrue\ttrue\tthreads comment' ]] || fail "Threads chain: $got"
[[ $root == $(jq -r '.[0].id' <<<"$got") && $parts == $(jq -r '[.[1:][] | .id] | join(",")' <<<"$got") ]] ||
    fail "Threads ids $root / $parts do not match: $got"
echo "ok: Threads thread and first comment as replies: $got"

# Facebook, Instagram and LinkedIn: the first comment goes on the post's
# comments (Graph's comments edge, LinkedIn's socialActions).
li=$(svc_ctl accounts add --platform linkedin --external-id urn:li:organization:77 --token li-chain-token)
li_s=$(svc_ctl schedule --account "$li" --at now --text "a company update" --first-comment "li comment")
fb=$(svc_ctl accounts add --platform facebook --external-id 4001 --token good-fb-chain)
ig=$(svc_ctl accounts add --platform instagram --external-id 17841000000000777 --token good-ig-chain)
fb_s=$(svc_ctl schedule --account "$fb" --at now --text "a page post" --first-comment "fb comment")
ig_s=$(svc_ctl schedule --account "$ig" --at now --text "an ig post" \
    --media https://cdn.example/a.jpg --first-comment "ig comment")
if out=$(svc_ctl schedule --account "$fb" --at now --text "a page post" --thread "no" 2>&1); then
    fail "a Facebook thread was accepted"
fi
[[ $out == *"thread: facebook takes no threads"* ]] || fail "Facebook thread refusal: $out"
svc_start publisher-facebook
svc_start publisher-instagram
svc_start publisher-linkedin
n=$((n + 3))
svc_wait_terminal "$n" 90 || fail "the Facebook and Instagram posts did not finish"
for pair in "facebook|$fb_s|fb comment" "instagram|$ig_s|ig comment" "linkedin|$li_s|li comment"; do
    IFS='|' read -r pf sched text <<<"$pair"
    row=$(stack_psql -F '|' -c "SELECT status, external_post_id, array_to_string(part_external_ids, ',')
                                FROM post_schedules WHERE id = '$sched'")
    IFS='|' read -r st root parts <<<"$row"
    [[ $st == published && -n $parts ]] || fail "$pf commented schedule: $row"
    comment=$(sandbox_get "/_sandbox/posts?platform=$pf" |
        jq -c --arg id "$parts" '[.posts[] | select(.id == $id)][0]')
    [[ $(jq -r .kind <<<"$comment") == comment && $(jq -r .message <<<"$comment") == "$text" &&
        $(jq -r .in_reply_to <<<"$comment") == "$root" ]] || fail "$pf comment: $comment (post $root)"
    echo "ok: $pf first comment $parts on post $root"
done

# The API shows both.
post_id=$(stack_psql -c "SELECT post_id FROM post_schedules WHERE id = '$thread'")
[[ $(stack_psql -c "SELECT jsonb_array_length(thread) FROM posts WHERE id = '$post_id'") -eq 4 ]] ||
    fail "posts.thread not stored"

e2e_finish
pass "X thread: killed mid-thread, resumed at the part in flight, every part once; first comment"
