#!/usr/bin/env bash
# Command 1: install, build, and run the seed scenario on a private local
# stack: nats-server (JetStream) and PostgreSQL in a temp dir on loopback, the
# platform sandbox, two scheduler replicas, two publisher replicas per
# platform and the dispatcher. 500 users x 3 posts x 2 accounts = 3,000 posts
# due in the same second, the accounts spread over Facebook, Instagram, X and
# LinkedIn. Prints progress (a bar on a terminal, a line every 5 s otherwise),
# then a report with a lateness histogram, then stops everything it started.
#
#   scripts/demo.sh                      the seed scenario
#   DEMO_LATENCY_MS=100 DEMO_USERS=500 DEMO_POSTS=3 DEMO_PAGES=2 scripts/demo.sh
#   DEMO_PLATFORMS="facebook x" scripts/demo.sh
#   DEMO_VIDEO_EVERY=3 scripts/demo.sh   mixed media: every third post on
#             Facebook, X, LinkedIn and Instagram carries a video (DEMO_VIDEO_BYTES each,
#             default 300000), uploaded through each platform's video flow
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/setup.sh
BUILD=${AUTOPOST_BUILD:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAUTOPOST_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
echo "demo: built autopost in $BUILD"

export AUTOPOST_BIN=$BUILD/bin AUTOPOST_SRC=$ROOT
# shellcheck source=../tests/fixtures/stack.sh
source "$ROOT/tests/fixtures/stack.sh"
# shellcheck source=../tests/fixtures/services.sh
source "$ROOT/tests/fixtures/services.sh"
# shellcheck source=../tests/fixtures/seed.sh
source "$ROOT/tests/fixtures/seed.sh"

users=${DEMO_USERS:-500} posts=${DEMO_POSTS:-3} pages=${DEMO_PAGES:-2}
latency=${DEMO_LATENCY_MS:-100}
SEED_PLATFORMS=${DEMO_PLATFORMS:-facebook instagram x linkedin}
SVC_PLATFORMS=$SEED_PLATFORMS
SEED_VIDEO_EVERY=${DEMO_VIDEO_EVERY:-0} SEED_VIDEO_BYTES=${DEMO_VIDEO_BYTES:-300000}
stack_trap
stack_start
echo "demo: nats-server on 127.0.0.1:$NATS_PORT (monitor :$NATS_MONITOR_PORT), PostgreSQL on 127.0.0.1:$PG_PORT"
svc_sandbox_start --latency-ms "$latency"
echo "demo: platform sandbox on $SANDBOX_URL ($SEED_PLATFORMS APIs, ${latency} ms per call)"
SVC_ACK_WAIT=30s SVC_TIMEOUT=10s svc_config
svc_ctl migrate >/dev/null
svc_ctl streams apply >/dev/null

at=$(rfc3339_in 8)
echo "demo: seeding $users users x $posts posts x $pages accounts over $SEED_PLATFORMS, all due at $at"
((SEED_VIDEO_EVERY > 0)) && echo "demo: one post in $SEED_VIDEO_EVERY on Facebook, X, LinkedIn and Instagram carries a $SEED_VIDEO_BYTES-byte video"
total=$(seed_scenario "$users" "$posts" "$pages" "$at")
echo "demo: $total schedules stored"

svc_start dispatcher
for platform in $SEED_PLATFORMS; do
    svc_start "publisher-$platform@1"
    svc_start "publisher-$platform@2"
done
svc_start scheduler@1
svc_start scheduler@2
echo "demo: services up: 2 schedulers, 2 publishers for each of $SEED_PLATFORMS, 1 dispatcher (logs in $STACK_DIR/logs)"

# A bar redrawn in place on a terminal; a plain line every 5 s otherwise.
start=$(date +%s) last=0
while :; do
    now=$(date +%s)
    if [[ -t 1 ]] || ((now - last >= 5)); then
        run_progress "$total" && break
        last=$now
    elif (($(svc_count_status published failed unconfirmed cancelled) >= total)); then
        run_progress "$total" || true
        break
    fi
    if ((now - start > 600)); then
        echo
        echo "demo: giving up after 10 minutes" >&2
        exit 1
    fi
    sleep 0.5
done
echo
echo
echo "== autopost seed run report =="
run_report
echo "sandbox calls    $(sandbox_stat requests)"
echo
svc_stop_all && echo "demo: every service drained and exited cleanly" || echo "demo: a service did not exit cleanly" >&2
