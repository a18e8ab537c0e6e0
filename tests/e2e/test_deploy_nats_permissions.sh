#!/usr/bin/env bash
# deploy/nats/auth.conf on a real nats-server: every service user can do what
# its service does and nothing else.
#
#   1. Raw protocol probes (no client library): each user's allowed and
#      denied publishes and subscriptions, including JetStream API requests.
#   2. The real autopostctl: admin creates the topology; a service user
#      cannot.
#   3. The real services, each with its own least-privilege user, publish
#      posts end to end (scheduler -> publisher -> dispatcher), and the
#      dispatcher handles a real MAX_DELIVERIES give-up (reads and deletes the
#      dead job). The server must log no permission violation meanwhile.
#   4. autopost-api with the api user cancels a queued schedule (the cancel
#      mark in the publishers' attempt record), again without a violation.
#
# Step 3 runs the services with `nats.manage_topology: false`, as the
# manifests do: they only check (INFO) the topology that admin applied, so
# auth.conf exactly as shipped must be enough.
#
# Single-quoted '$JS...' strings are NATS subjects, not shell expansions.
# shellcheck disable=SC2119,SC2016 # stack_start and svc_config take optional arguments
source "$(dirname "$0")/lib.sh"
source "$AUTOPOST_SRC/tests/deploy/nats_auth.sh"

AUTH_CONF=$AUTOPOST_SRC/deploy/nats/auth.conf
[[ -f $AUTH_CONF ]] || fail "missing $AUTH_CONF"

stack_trap
stack_start || fail "could not start nats-server and PostgreSQL"
auth_nats_start "$AUTH_CONF" || fail "nats-server refused deploy/nats/auth.conf"
echo "nats-server with deploy/nats/auth.conf on $AUTH_NATS_URL (users: ${!NATS_PW[*]})"

# ---- 0. authentication ----------------------------------------------------
out=$(printf '' | RAW_PASS=wrong raw_session scheduler)
[[ $out == *"Authorization Violation"* ]] || fail "a wrong password was accepted: $out"
out=$(printf '' | RAW_PASS=x raw_session nobody)
[[ $out == *"Authorization Violation"* ]] || fail "an unknown user was accepted: $out"
echo "ok: wrong passwords and unknown users are refused"

# ---- 1. the topology, made by admin with the real autopostctl --------------
# user_config USER FILE: the services' config (svc_config, BASE_CONFIG) with USER's
# credentials; extra "nats:" keys come from NATS_EXTRA (one "  key: value" a line).
user_config() {
    local user=$1 file=$2 lines
    lines="  user: $user\n  password: ${NATS_PW[$user]}\n  inbox_prefix: $(auth_inbox "$user")"
    [[ -n ${NATS_EXTRA:-} ]] && lines="$lines\n$NATS_EXTRA"
    sed "/^nats:\$/a\\$lines" "$BASE_CONFIG" >"$file"
}
PLATFORM_LIST=$(awk '/^[a-z0-9]/ { print $1 }' "$AUTOPOST_SRC/common/platforms.list" | tr '\n' ' ')
export SVC_PLATFORMS=$PLATFORM_LIST # every publisher user's consumer exists
svc_sandbox_start --latency-ms 5 || fail "could not start the sandbox"
export AUTOPOST_NATS_URL=$AUTH_NATS_URL # the environment overrides nats.url
# Short ack wait and few deliveries so that step 4 sees a give-up quickly:
# the publisher consumer's MaxDeliver is nats.max_deliver (2) when it is above
# max_attempts (1), see ensure_consumers in common/ap_nats.c.
SVC_ACK_WAIT=1s SVC_MAX_ATTEMPTS=1 svc_config
sed -i '/^nats:$/a\  max_deliver: 2\n  connect_timeout: 1s' "$AUTOPOST_CONFIG"
BASE_CONFIG=$AUTOPOST_CONFIG
user_config admin "$STACK_DIR/admin.yaml"
AUTOPOST_CONFIG=$STACK_DIR/admin.yaml

out=$(svc_ctl streams apply 2>&1) || fail "admin: streams apply failed: $out"
jsz() { curl -fsS "http://127.0.0.1:$AUTH_NATS_MONITOR_PORT/jsz?acc=AUTOPOST&streams=true&consumers=true"; }
topology=$(jsz | jq -r '.account_details[]? | select(.name == "AUTOPOST") | .stream_detail[]? |
    .name + ":" + ([.consumer_detail[]?.name] | sort | join(","))' | sort | tr '\n' ' ')
want="AUTOPOST_ADVISORIES:dispatcher-advisories AUTOPOST_EVENTS:webhooks AUTOPOST_JOBS:$(for p in $PLATFORM_LIST; do printf 'publisher-%s\npublisher-%s-urgent\n' "$p" "$p"; done | sort | paste -sd,) AUTOPOST_RESULTS:dispatcher $(for p in $PLATFORM_LIST; do printf 'KV_autopost_accounts_%s:\nKV_autopost_attempts_%s:\n' "$p" "$p"; done | sort | tr '\n' ' ')"
[[ $topology == "$want" ]] || fail "topology in account AUTOPOST: '$topology', expected '$want'"
echo "ok: admin created the topology with autopostctl streams apply: $topology"

user_config publisher-facebook "$STACK_DIR/publisher-facebook-ctl.yaml"
if out=$(AUTOPOST_CONFIG=$STACK_DIR/publisher-facebook-ctl.yaml svc_ctl streams apply 2>&1); then
    fail "publisher-facebook could apply the topology: $out"
fi
grep -q 'Publish Violation - User "publisher-facebook", Subject "$JS.API.STREAM.' "$AUTH_NATS_LOG" ||
    fail "no permission violation logged for publisher-facebook's streams apply"
echo "ok: a service user cannot apply the topology (nats.c reports it as a timeout)"

# ---- 2. raw protocol probes -------------------------------------------------
probe_all() {
    PUBACK_JOBS='"stream":"AUTOPOST_JOBS"'
    PUBACK_RESULTS='"stream":"AUTOPOST_RESULTS"'
    PULL='{"batch":1,"no_wait":true}'
    PUBACK_EVENTS='"stream":"AUTOPOST_EVENTS"'
    PROBE_TENANT=00000000-0000-0000-0000-000000000001

    # scheduler: publishes jobs, nothing else.
    expect_allowed scheduler pub autopost.jobs.facebook 'raw probe' "$PUBACK_JOBS"
    expect_allowed scheduler pub autopost.jobs.facebook.urgent 'raw probe' "$PUBACK_JOBS"
    expect_denied scheduler pub autopost.jobs.facebook.other
    expect_allowed scheduler pub '$JS.API.STREAM.INFO.AUTOPOST_JOBS' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_denied scheduler sub 'autopost.results.>'
    expect_denied scheduler sub 'autopost.jobs.>'
    expect_denied scheduler sub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_RESULTS.dispatcher'
    expect_denied scheduler pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_RESULTS.dispatcher'
    expect_denied scheduler pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook'
    expect_denied scheduler pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook-urgent'
    expect_denied scheduler pub autopost.results.facebook
    expect_denied scheduler pub '$JS.API.STREAM.UPDATE.AUTOPOST_JOBS'
    expect_denied scheduler pub '$JS.API.STREAM.PURGE.AUTOPOST_JOBS'
    expect_denied scheduler pub '$KV.autopost_attempts_facebook.x'
    expect_denied scheduler pub '$KV.autopost_accounts_facebook.reauth.x'

    # publisher-facebook: its own jobs, its own results, its platform's buckets.
    expect_allowed publisher-facebook pub autopost.results.facebook 'raw probe' "$PUBACK_RESULTS"
    expect_allowed publisher-facebook pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook' "$PULL" '^HMSG|^MSG'
    expect_allowed publisher-facebook pub '$JS.API.CONSUMER.INFO.AUTOPOST_JOBS.publisher-facebook' '' '"type":"io.nats.jetstream.api.v1.consumer_info_response"'
    # the urgent lane: its own consumer (README "Urgent lane")
    expect_allowed publisher-facebook pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook-urgent' "$PULL" '^HMSG|^MSG'
    expect_allowed publisher-facebook pub '$JS.API.CONSUMER.INFO.AUTOPOST_JOBS.publisher-facebook-urgent' '' '"type":"io.nats.jetstream.api.v1.consumer_info_response"'
    expect_allowed publisher-facebook pub '$JS.ACK.AUTOPOST_JOBS.publisher-facebook-urgent.1.1.1.1.0' '+ACK'
    expect_denied publisher-facebook pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-x-urgent'
    expect_denied publisher-facebook pub autopost.jobs.facebook.urgent
    expect_allowed publisher-facebook pub '$JS.API.STREAM.INFO.KV_autopost_attempts_facebook' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_allowed publisher-facebook pub '$KV.autopost_attempts_facebook.deploy-probe' 'started' '"stream":"KV_autopost_attempts_facebook"'
    expect_allowed publisher-facebook pub '$JS.API.DIRECT.GET.KV_autopost_attempts_facebook.$KV.autopost_attempts_facebook.deploy-probe' '' '^HMSG'
    expect_allowed publisher-facebook pub '$JS.ACK.AUTOPOST_JOBS.publisher-facebook.1.1.1.1.0' '+ACK'
    expect_allowed publisher-facebook pub '$JS.API.STREAM.INFO.KV_autopost_accounts_facebook' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_allowed publisher-facebook pub '$KV.autopost_accounts_facebook.refresh.deploy-probe' 'state=running' '"stream":"KV_autopost_accounts_facebook"'
    expect_allowed publisher-facebook pub '$JS.API.DIRECT.GET.KV_autopost_accounts_facebook.$KV.autopost_accounts_facebook.refresh.deploy-probe' '' '^HMSG'
    expect_denied publisher-facebook pub '$JS.API.STREAM.PURGE.KV_autopost_accounts_facebook'
    expect_denied publisher-facebook pub '$JS.API.CONSUMER.CREATE.KV_autopost_attempts_facebook'
    expect_denied publisher-facebook pub autopost.jobs.facebook
    expect_denied publisher-facebook pub autopost.results.x
    expect_denied publisher-facebook pub autopost.results.linkedin
    expect_denied publisher-facebook pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-x'
    expect_denied publisher-facebook pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_RESULTS.dispatcher'
    expect_denied publisher-facebook pub '$JS.ACK.AUTOPOST_JOBS.publisher-x.1.1.1.1.0'
    expect_denied publisher-facebook pub '$JS.API.STREAM.MSG.DELETE.AUTOPOST_JOBS'
    expect_denied publisher-facebook pub '$JS.API.STREAM.DELETE.KV_autopost_attempts_facebook'
    expect_denied publisher-facebook pub '$JS.API.CONSUMER.DURABLE.CREATE.AUTOPOST_JOBS.publisher-facebook'
    expect_denied publisher-facebook sub 'autopost.jobs.>'
    # Inboxes: each user its own, nobody another's replies.
    expect_allowed scheduler sub '_INBOX_scheduler.>'
    expect_denied scheduler sub '_INBOX.>'
    expect_denied scheduler sub '_INBOX_dispatcher.>'
    expect_denied dispatcher sub '_INBOX_scheduler.>'
    expect_denied dispatcher sub '_INBOX.>'
    local p q
    for p in $PLATFORM_LIST; do
        expect_allowed "publisher-$p" sub "_INBOX_publisher-$p.>"
        expect_denied "publisher-$p" sub '_INBOX.>'
        expect_denied "publisher-$p" sub '_INBOX_scheduler.>'
        expect_allowed "publisher-$p" pub "autopost.results.$p" 'raw probe' "$PUBACK_RESULTS"
        expect_allowed "publisher-$p" pub "\$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-$p" "$PULL" '^HMSG|^MSG'
        for q in $PLATFORM_LIST; do
            [[ $q == "$p" ]] && continue
            expect_denied "publisher-$p" sub "_INBOX_publisher-$q.>"
            expect_denied "publisher-$p" pub "autopost.results.$q"
            expect_denied "publisher-$p" pub "\$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-$q"
        done
    done
    # KV: a publisher reaches only its own platform's buckets. Two platforms
    # in full (every way in: write, direct get by key and by request body,
    # stream message get, info, watch consumer, a plain subscription); every
    # other pair by write and read.
    for p in facebook instagram; do
        q=$([[ $p == facebook ]] && echo instagram || echo facebook)
        local b
        for b in attempts accounts; do
            expect_allowed "publisher-$p" pub "\$KV.autopost_${b}_$p.cred.isolation-probe" 'v' "\"stream\":\"KV_autopost_${b}_$p\""
            expect_denied "publisher-$p" pub "\$KV.autopost_${b}_$q.cred.isolation-probe"
            expect_denied "publisher-$p" pub "\$JS.API.DIRECT.GET.KV_autopost_${b}_$q.\$KV.autopost_${b}_$q.cred.isolation-probe"
            expect_denied "publisher-$p" pub "\$JS.API.DIRECT.GET.KV_autopost_${b}_$q"
            expect_denied "publisher-$p" pub "\$JS.API.STREAM.MSG.GET.KV_autopost_${b}_$q"
            expect_denied "publisher-$p" pub "\$JS.API.STREAM.INFO.KV_autopost_${b}_$q"
            expect_denied "publisher-$p" pub "\$JS.API.CONSUMER.CREATE.KV_autopost_${b}_$q"
            expect_denied "publisher-$p" pub "\$JS.API.CONSUMER.CREATE.KV_autopost_${b}_$q.probe.\$KV.autopost_${b}_$q.>"
            expect_denied "publisher-$p" sub "\$KV.autopost_${b}_$q.>"
            # ...nor the shared buckets of older releases.
            expect_denied "publisher-$p" pub "\$KV.autopost_$b.cred.isolation-probe"
        done
    done
    for p in $PLATFORM_LIST; do
        for q in $PLATFORM_LIST; do
            [[ $q == "$p" ]] && continue
            expect_denied "publisher-$p" pub "\$KV.autopost_accounts_$q.cred.isolation-probe"
            expect_denied "publisher-$p" pub "\$JS.API.DIRECT.GET.KV_autopost_accounts_$q.\$KV.autopost_accounts_$q.cred.isolation-probe"
        done
    done

    # dispatcher: reads results and advisories, reads and deletes dead jobs.
    expect_allowed dispatcher pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_RESULTS.dispatcher' "$PULL" '^HMSG|^MSG'
    expect_allowed dispatcher pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_ADVISORIES.dispatcher-advisories' "$PULL" '^HMSG|^MSG'
    expect_allowed dispatcher pub '$JS.API.STREAM.INFO.AUTOPOST_ADVISORIES' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_allowed dispatcher pub '$JS.API.STREAM.MSG.GET.AUTOPOST_JOBS' '{"seq":1}' '"type":"io.nats.jetstream.api.v1.stream_msg_get_response"'
    expect_allowed dispatcher pub '$JS.API.STREAM.MSG.DELETE.AUTOPOST_JOBS' '{"seq":999999}' '"type":"io.nats.jetstream.api.v1.stream_msg_delete_response"'
    expect_denied dispatcher pub autopost.jobs.facebook
    expect_denied dispatcher pub autopost.results.facebook
    expect_denied dispatcher pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook'
    expect_denied dispatcher pub '$JS.API.STREAM.MSG.DELETE.AUTOPOST_RESULTS'
    expect_denied dispatcher pub '$JS.API.STREAM.PURGE.AUTOPOST_JOBS'
    expect_denied dispatcher pub '$KV.autopost_attempts_facebook.x'
    expect_denied dispatcher pub '$KV.autopost_accounts_facebook.cred.x'
    expect_denied dispatcher sub 'autopost.results.>'
    # ...and its relay publishes the outcome events.
    expect_allowed dispatcher pub "autopost.events.$PROBE_TENANT.schedule.published" '{"probe":1}' "$PUBACK_EVENTS"
    expect_allowed dispatcher pub '$JS.API.STREAM.INFO.AUTOPOST_EVENTS' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_denied dispatcher sub 'autopost.events.>'
    expect_denied scheduler pub "autopost.events.$PROBE_TENANT.schedule.published"
    expect_denied publisher-facebook pub "autopost.events.$PROBE_TENANT.schedule.published"

    # events-reader: its own durable consumers on AUTOPOST_EVENTS, nothing else.
    expect_allowed events-reader pub '$JS.API.STREAM.INFO.AUTOPOST_EVENTS' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_allowed events-reader pub '$JS.API.CONSUMER.DURABLE.CREATE.AUTOPOST_EVENTS.backend' \
        '{"stream_name":"AUTOPOST_EVENTS","config":{"durable_name":"backend","ack_policy":"explicit","deliver_policy":"all"}}' '"name":"backend"'
    expect_allowed events-reader pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_EVENTS.backend' "$PULL" '^HMSG|^MSG'
    expect_allowed events-reader sub '_INBOX_events-reader.>'
    expect_denied events-reader pub "autopost.events.$PROBE_TENANT.schedule.published"
    expect_denied events-reader pub '$JS.API.STREAM.PURGE.AUTOPOST_EVENTS'
    # The webhooks service's consumer is not the backend's to take or drop.
    expect_denied events-reader pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_EVENTS.webhooks' "$PULL"
    expect_denied events-reader pub '$JS.API.CONSUMER.DELETE.AUTOPOST_EVENTS.webhooks'
    expect_denied events-reader pub '$JS.API.CONSUMER.DURABLE.CREATE.AUTOPOST_EVENTS.webhooks'
    expect_denied events-reader pub '$JS.API.CONSUMER.CREATE.AUTOPOST_EVENTS.webhooks.autopost.events.>'
    expect_denied events-reader pub '$JS.ACK.AUTOPOST_EVENTS.webhooks.1.1.1.1.1.0'
    expect_denied events-reader pub '$JS.API.STREAM.MSG.DELETE.AUTOPOST_EVENTS'
    expect_denied events-reader pub '$JS.API.STREAM.INFO.AUTOPOST_RESULTS'
    expect_denied events-reader pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_RESULTS.dispatcher'
    expect_denied events-reader pub '$JS.API.CONSUMER.DURABLE.CREATE.AUTOPOST_JOBS.x'
    expect_denied events-reader pub '$KV.autopost_accounts_facebook.cred.x'
    expect_denied events-reader sub 'autopost.events.>'
    expect_denied events-reader sub '_INBOX.>'
    expect_denied events-reader sub '_INBOX_dispatcher.>'

    # webhooks: its own consumer on AUTOPOST_EVENTS, nothing else.
    expect_allowed webhooks pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_EVENTS.webhooks' "$PULL" '^HMSG|^MSG'
    expect_allowed webhooks pub '$JS.API.CONSUMER.INFO.AUTOPOST_EVENTS.webhooks' '' '"type":"io.nats.jetstream.api.v1.consumer_info_response"'
    expect_allowed webhooks pub '$JS.API.STREAM.INFO.AUTOPOST_EVENTS' '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
    expect_allowed webhooks sub '_INBOX_webhooks.>'
    expect_denied webhooks sub '_INBOX.>'
    expect_denied webhooks sub 'autopost.events.>'
    expect_denied webhooks pub "autopost.events.$PROBE_TENANT.schedule.published"
    expect_denied webhooks pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_RESULTS.dispatcher'
    expect_denied webhooks pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook'
    expect_denied webhooks pub '$JS.API.STREAM.PURGE.AUTOPOST_EVENTS'
    expect_denied webhooks pub '$JS.API.CONSUMER.DURABLE.CREATE.AUTOPOST_EVENTS.webhooks'
    expect_denied webhooks pub '$KV.autopost_accounts_facebook.cred.x'
    expect_denied dispatcher pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_EVENTS.webhooks'

    # api: the cancel mark in every platform's attempt bucket (and reading
    # the record that won), nothing else: no accounts bucket (tokens), no
    # jobs, results, events or consumers, no bucket management.
    for p in $PLATFORM_LIST; do
        expect_allowed api pub "\$JS.API.STREAM.INFO.KV_autopost_attempts_$p" '' '"type":"io.nats.jetstream.api.v1.stream_info_response"'
        expect_allowed api pub "\$KV.autopost_attempts_$p.api-probe" 'cancelled' "\"stream\":\"KV_autopost_attempts_$p\""
        expect_allowed api pub "\$JS.API.DIRECT.GET.KV_autopost_attempts_$p.\$KV.autopost_attempts_$p.api-probe" '' '^HMSG'
        expect_denied api pub "\$KV.autopost_accounts_$p.cred.api-probe"
        expect_denied api pub "\$JS.API.STREAM.INFO.KV_autopost_accounts_$p"
        expect_denied api pub "\$JS.API.DIRECT.GET.KV_autopost_accounts_$p.\$KV.autopost_accounts_$p.cred.api-probe"
        expect_denied api pub "\$JS.API.STREAM.MSG.GET.KV_autopost_accounts_$p"
        expect_denied api pub "\$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-$p"
        expect_denied api pub "autopost.jobs.$p"
        expect_denied api pub "autopost.results.$p"
    done
    expect_allowed api pub '$JS.API.STREAM.MSG.GET.KV_autopost_attempts_facebook' '{"last_by_subj":"$KV.autopost_attempts_facebook.api-probe"}' '"type":"io.nats.jetstream.api.v1.stream_msg_get_response"'
    expect_allowed api sub '_INBOX_api.>'
    expect_denied api sub '_INBOX.>'
    expect_denied api sub '_INBOX_publisher-facebook.>'
    expect_denied api sub '$KV.autopost_attempts_facebook.>'
    expect_denied api pub "autopost.events.$PROBE_TENANT.schedule.published"
    expect_denied api pub '$JS.API.STREAM.PURGE.KV_autopost_attempts_facebook'
    expect_denied api pub '$JS.API.STREAM.DELETE.KV_autopost_attempts_facebook'
    expect_denied api pub '$JS.API.CONSUMER.CREATE.KV_autopost_attempts_facebook'
    expect_denied api pub '$JS.API.STREAM.INFO.AUTOPOST_JOBS'
    expect_denied api pub '$JS.API.STREAM.MSG.DELETE.AUTOPOST_JOBS'
    expect_denied api pub '$KV.autopost_attempts.legacy-probe'

    # admin: the JetStream API, not the messages.
    expect_denied admin pub autopost.jobs.facebook
    expect_denied admin pub autopost.results.facebook
    # The probes above left a job and a result behind: the operator's purge.
    expect_allowed admin pub '$JS.API.STREAM.PURGE.AUTOPOST_JOBS' '' '"success":true'
    expect_allowed admin pub '$JS.API.STREAM.PURGE.AUTOPOST_RESULTS' '' '"success":true'
    expect_allowed admin pub '$JS.API.STREAM.PURGE.AUTOPOST_EVENTS' '' '"success":true'
    expect_denied admin pub "autopost.events.$PROBE_TENANT.schedule.published"
    for p in $PLATFORM_LIST; do
        expect_allowed admin pub "\$JS.API.STREAM.PURGE.KV_autopost_attempts_$p" '' '"success":true'
        expect_allowed admin pub "\$JS.API.STREAM.PURGE.KV_autopost_accounts_$p" '' '"success":true'
    done
}
echo "== probes against deploy/nats/auth.conf"
probe_all

# The Helm values carry the same account as YAML (config.merge): render it the
# way the chart does (JSON, "<< $VAR >>" unquoted), load it, probe again.
if command -v kubectl >/dev/null 2>&1; then
    source "$AUTOPOST_SRC/tests/deploy/k8s.sh"
    yaml_to_json "$AUTOPOST_SRC/deploy/nats/values.yaml" |
        jq -r '.config.merge | to_entries[] | "\(.key): \(.value | tojson)"' |
        sed -E 's/"<< ([^"]*) >>"/\1/g' >"$STACK_DIR/auth-from-values.conf"
    [[ -s $STACK_DIR/auth-from-values.conf ]] || fail "values.yaml has no config.merge"
    auth_nats_reload "$STACK_DIR/auth-from-values.conf" || fail "nats-server refused values.yaml's config.merge"
    echo "== probes against deploy/nats/values.yaml (config.merge)"
    probe_all
    auth_nats_reload "$AUTH_CONF" || fail "reload of auth.conf"
else
    echo "SKIP: kubectl not found: values.yaml's config.merge not probed"
fi

# ---- 3. the real services, one least-privilege user each --------------------
# The services run with nats.manage_topology: false, as the manifests ship
# them: they only check (INFO) that what they use exists, so auth.conf as
# shipped must be enough.
NATS_EXTRA="  manage_topology: false"
for user in scheduler dispatcher publisher-facebook webhooks; do
    user_config "$user" "$STACK_DIR/$user.yaml"
done

svc_ctl migrate >/dev/null || fail "migrate failed"
total=$(seed_scenario 10 3 2 "$(rfc3339_in 2)") # 60 posts
log_offset=$(auth_log_size)
AUTOPOST_CONFIG=$STACK_DIR/scheduler.yaml svc_start scheduler
AUTOPOST_CONFIG=$STACK_DIR/publisher-facebook.yaml svc_start publisher-facebook
AUTOPOST_CONFIG=$STACK_DIR/dispatcher.yaml svc_start dispatcher
svc_wait_terminal "$total" 120 || fail "not every schedule finished"
check_exactly_once "$total" || fail "exactly-once check"
violations=$(auth_violations_since "$log_offset")
[[ -z $violations ]] || fail "permission violations while the services ran:
$violations"
echo "ok: $total posts published by scheduler, publisher-facebook and dispatcher users, no violation"

# autopost-webhooks with its user: checks the topology, binds its consumer
# and pulls without a single violation.
log_offset=$(auth_log_size)
AUTOPOST_CONFIG=$STACK_DIR/webhooks.yaml svc_start webhooks
webhooks_up() { [[ $(log_count webhooks webhooks_started) -ge 1 ]]; }
stack_wait_for webhooks_up >/dev/null || fail "autopost-webhooks did not start with its NATS user"
sleep 2 # a few pulls
svc_kill webhooks TERM || fail "webhooks did not exit 0 on SIGTERM"
violations=$(auth_violations_since "$log_offset")
[[ -z $violations ]] || fail "permission violations while autopost-webhooks ran:
$violations"
echo "ok: autopost-webhooks ran with the webhooks user, no violation"

# ---- 4. a real MAX_DELIVERIES give-up under the dispatcher's permissions -----
svc_kill publisher-facebook TERM || fail "publisher did not exit 0 on SIGTERM"
read -r sid account < <(stack_psql -c "SELECT id, account_id FROM post_schedules LIMIT 1" | tr '|' ' ')
stack_psql -c "UPDATE post_schedules SET status = 'queued', generation = 7 WHERE id = '$sid'" >/dev/null
job=$STACK_DIR/job.bin
{ pb_str 1 "$sid"; pb_int 2 7; pb_str 4 "$account"; pb_str 5 facebook; pb_str 6 "dies every time"; } >"$job"
# The scheduler user publishes it (a PubAck proves it is stored)...
out=$({ printf 'SUB _INBOX_scheduler.j 1\r\nPUB autopost.jobs.facebook _INBOX_scheduler.j %d\r\n' "$(stat -c %s "$job")"
    cat "$job"; printf '\r\n'; } | RAW_EXPECT='"stream":"AUTOPOST_JOBS"' raw_session scheduler)
[[ $out == *'"stream":"AUTOPOST_JOBS"'* ]] || fail "scheduler could not publish the job: $out"
# ...and a publisher that "crashes" on it: pulled, never acked, 2 deliveries
# (MaxDeliver) of 1 s AckWait each; a later pull finds it over MaxDeliver and
# the server sends the MAX_DELIVERIES advisory.
for attempt in 1 2 3 4; do
    RAW_INBOX=_INBOX_publisher-facebook _raw_op pub '$JS.API.CONSUMER.MSG.NEXT.AUTOPOST_JOBS.publisher-facebook' '{"batch":1,"expires":900000000}' |
        RAW_EXPECT='^H?MSG ' raw_session publisher-facebook >"$STACK_DIR/pull.$attempt"
    sleep 1.2
done
grep -q '^MSG autopost.jobs.facebook ' "$STACK_DIR/pull.1" ||
    fail "the job was never delivered: $(cat "$STACK_DIR/pull.1")"
gave_up() { [[ $(stack_psql -c "SELECT status || '|' || error_code FROM post_schedules WHERE id = '$sid'") == "failed|max_deliveries" ]]; }
stack_wait_for gave_up >/dev/null ||
    fail "the dispatcher did not fail $sid: $(stack_psql -c "SELECT status, error_code FROM post_schedules WHERE id = '$sid'")"
jobs_left() { [[ $(jsz | jq '[.account_details[]? | select(.name == "AUTOPOST") | .stream_detail[]? | select(.name == "AUTOPOST_JOBS") | .state.messages] | first') == 0 ]]; }
stack_wait_for jobs_left >/dev/null || fail "the dead job was not deleted"
violations=$(auth_violations_since "$log_offset")
[[ -z $violations ]] || fail "permission violations while the dispatcher gave up:
$violations"
echo "ok: the dispatcher user read and deleted the dead job and failed its schedule"

# ---- 5. autopost-api with the api user cancels a queued schedule ------------
# publisher-facebook is gone, so a schedule due now stays queued; the API
# marks its attempt record and cancels it, without a single violation.
queued_sid=$(svc_ctl schedule --account "$account" --at now --text "cancelled through the api user") ||
    fail "autopostctl schedule"
is_queued() { [[ $(stack_psql -c "SELECT status FROM post_schedules WHERE id = '$queued_sid'") == queued ]]; }
stack_wait_for is_queued >/dev/null || fail "$queued_sid was not queued"
api_key=$(svc_ctl api-keys create --tenant "$(stack_psql -c "SELECT tenant_id FROM social_accounts WHERE id = '$account'")" \
    --name deploy-test | awk '{print $NF}')
api_port=$(stack_free_port) || fail "no free port"
api_health=$(stack_free_port) || fail "no free port"
user_config api "$STACK_DIR/api.yaml"
printf 'api:\n  http_port: %s\nservice:\n  http_port: %s\n' "$api_port" "$api_health" >>"$STACK_DIR/api.yaml"
log_offset=$(auth_log_size)
AUTOPOST_CONFIG=$STACK_DIR/api.yaml svc_start api
stack_wait_for curl -fsS -o /dev/null "http://127.0.0.1:$api_health/readyz" >/dev/null ||
    fail "autopost-api with the api user never became ready (NATS, PostgreSQL)"
code=$(curl -sS -o "$STACK_DIR/cancel.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $api_key" \
    "http://127.0.0.1:$api_port/v1/schedules/$queued_sid/cancel")
[[ $code == 200 && $(jq -r .status "$STACK_DIR/cancel.out") == cancelled ]] ||
    fail "cancel through the api user: HTTP $code $(cat "$STACK_DIR/cancel.out")"
violations=$(auth_violations_since "$log_offset")
[[ -z $violations ]] || fail "permission violations while autopost-api cancelled:
$violations"
echo "ok: autopost-api with the api user cancelled a queued schedule (the attempt record), no violation"

e2e_finish
pass "deploy/nats/auth.conf: least privilege per service, and enough to run"
