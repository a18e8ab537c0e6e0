#!/usr/bin/env bash
# Upgrading from the shared KV buckets (autopost_attempts, autopost_accounts)
# to the per-platform ones loses no attempt record.
#
# An older release left a "cancelled" record for a queued schedule in the
# shared bucket. Without `streams migrate-kv` the new publisher, which reads
# only autopost_attempts_facebook, would not see it and would post the
# schedule. With it, the record is copied and honoured; a schedule without a
# record is posted as usual; keys whose schedule or account is unknown stay
# behind and are counted; a second run copies nothing; --delete-legacy
# removes the old buckets.
source "$(dirname "$0")/lib.sh"

# legacy_bucket NAME: the stream an older release's js_CreateKeyValue made.
legacy_bucket() {
    nats_req "\$JS.API.STREAM.CREATE.KV_$1" "{\"name\":\"KV_$1\",\"subjects\":[\"\$KV.$1.>\"],\"max_msgs_per_subject\":5,\"allow_direct\":true,\"allow_rollup_hdrs\":true,\"deny_delete\":true,\"discard\":\"new\",\"storage\":\"file\",\"num_replicas\":1}"
}

e2e_begin --latency-ms 5
account=$(svc_ctl accounts add --platform facebook --external-id 4242 --token upgrade-token) ||
    fail "accounts add"
held=$(svc_ctl schedule --account "$account" --at now --text "cancelled before the upgrade") ||
    fail "schedule"
free=$(svc_ctl schedule --account "$account" --at now --text "posted after the upgrade") ||
    fail "schedule"
generation=$(stack_psql -c "SELECT generation FROM post_schedules WHERE id = '$held'")

[[ $(legacy_bucket autopost_attempts) == *'"created"'* ]] || fail "cannot create the legacy attempts bucket"
[[ $(legacy_bucket autopost_accounts) == *'"created"'* ]] || fail "cannot create the legacy accounts bucket"
[[ $(nats_req "\$KV.autopost_attempts.$held-$generation" cancelled) == *'"stream":"KV_autopost_attempts"'* ]] ||
    fail "cannot write the legacy attempt record"
orphan=00000000-0000-0000-0000-00000000f00d
[[ $(nats_req "\$KV.autopost_accounts.reauth.$orphan" "digest=x issued=1") == *'"seq"'* ]] ||
    fail "cannot write the legacy account key"

out=$(svc_ctl streams migrate-kv) || fail "streams migrate-kv: $out"
echo "$out"
[[ $out == *"kv autopost_attempts: 1 copied, 0 already present, 0 without"* ]] ||
    fail "attempt record not copied: $out"
[[ $out == *"kv autopost_accounts: 0 copied, 0 already present, 1 without"* ]] ||
    fail "orphaned account key not counted: $out"
out=$(svc_ctl streams migrate-kv) || fail "second streams migrate-kv: $out"
[[ $out == *"kv autopost_attempts: 0 copied, 1 already present"* ]] || fail "second run copied again: $out"
pass "streams migrate-kv copies each record once and counts what it cannot place"

svc_start scheduler
svc_start publisher-facebook
svc_start dispatcher
svc_wait_terminal 2 120 || fail "the two schedules did not finish"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$held'") == cancelled ]] ||
    fail "the legacy cancellation was not honoured: $(stack_psql -c "SELECT status, external_id FROM post_schedules WHERE id = '$held'")"
[[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$free'") == published ]] ||
    fail "the schedule without a record was not posted"
pass "the copied cancellation is honoured by the new publisher; the other schedule is posted"

out=$(svc_ctl streams migrate-kv --delete-legacy) || fail "migrate-kv --delete-legacy: $out"
[[ $out == *"kv autopost_attempts: deleted"* && $out == *"kv autopost_accounts: deleted"* ]] ||
    fail "legacy buckets not deleted: $out"
streams=$(curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true" | jq -r '[.account_details[]?.stream_detail[]?.name] | join(" ")')
[[ " $streams " != *" KV_autopost_attempts "* && " $streams " == *" KV_autopost_attempts_facebook "* ]] ||
    fail "streams after delete: $streams"
out=$(svc_ctl streams migrate-kv) || fail "migrate-kv without legacy buckets: $out"
[[ $out == *"kv autopost_attempts: not present"* ]] || fail "no legacy bucket: $out"
pass "--delete-legacy removes the shared buckets; later runs find nothing to do"

e2e_finish
