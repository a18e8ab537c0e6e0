#!/usr/bin/env bash
# The platform calls over https, certificate verification on: the sandbox
# serves a throwaway self-signed certificate (--tls-cert/--tls-key) and each
# platform trusts it through platforms.<p>.ca_file, as an operator would
# trust a private CA. Every platform's flow (Instagram's three calls, X's
# token) runs over TLS on kept-alive connections; every post must be on the
# platform exactly once, every row published, and the connections reused.
# bench/run.sh uses the same path (BENCH_TLS=1) to price TLS.
source "$(dirname "$0")/lib.sh"

SEED_PLATFORMS="facebook instagram threads x linkedin"
SVC_PLATFORMS=$SEED_PLATFORMS
SVC_SANDBOX_TLS=1 SVC_CONCURRENCY=8
e2e_begin --latency-ms 5
[[ $SANDBOX_URL == https://* ]] || fail "the sandbox URL is $SANDBOX_URL, not https"
grep -q '^    ca_file: ' "$AUTOPOST_CONFIG" || fail "the config names no ca_file"
# The certificate is no system CA's: trusting it takes the ca_file.
if curl -fsS -o /dev/null "$SANDBOX_URL/_sandbox/healthz" 2>/dev/null; then
    fail "the sandbox's certificate is trusted without its CA file"
fi
total=$(seed_scenario 10 2 5 "$(rfc3339_in 2)") || fail "seeding failed" # 100 posts, 20 per platform
[[ $total -eq 100 ]] || fail "seeded $total posts, expected 100"

svc_start scheduler
svc_start dispatcher
for platform in $SEED_PLATFORMS; do svc_start "publisher-$platform"; done
svc_wait_terminal "$total" 120 || fail "not all schedules finished"

check_exactly_once "$total" || fail "exactly-once check"
connections=$(sandbox_stat connections) requests=$(sandbox_stat requests)
echo "  sandbox: $requests requests over $connections TLS connections"
((connections < requests / 2)) || fail "$connections connections for $requests requests: not reused"
if grep -l 'tls_verify_off' "$STACK_DIR"/logs/publisher-*.log; then
    fail "a publisher ran with certificate verification off"
fi
e2e_finish
pass "over https with verification: $total posts once each, every row published"
