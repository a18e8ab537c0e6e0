#!/usr/bin/env bash
# Every binary refuses a bad config at start with file:line, key and reason,
# and accepts a good one with --check-config. No servers needed.
set -euo pipefail
: "${AUTOPOST_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${AUTOPOST_BIN:=$AUTOPOST_SRC/build-asan/bin}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/key"

good() {
    cat <<YAML
nats:
  url: nats://127.0.0.1:4222
postgres:
  dsn: "host=127.0.0.1 dbname=autopost"
credentials:
  key_file: $dir/key
platforms:
  facebook:
    base_url: http://127.0.0.1:8090
YAML
}

# check NAME EXPECTED_STDERR_SUBSTRING <<< yaml
check() {
    local name=$1 want=$2 bin out rc
    cat >"$dir/$name.yaml"
    for bin in "autopost-scheduler" "autopost-dispatcher" "autopost-publisher --platform facebook" \
        "autopostctl"; do
        rc=0
        # shellcheck disable=SC2086
        out=$(env -u AUTOPOST_NATS_URL -u AUTOPOST_POSTGRES_DSN -u AUTOPOST_CREDENTIALS_KEY \
            "$AUTOPOST_BIN"/$bin --config "$dir/$name.yaml" --check-config 2>&1) || rc=$?
        [[ $rc -ne 0 ]] || fail "$bin accepted $name"
        [[ $out == *"$want"* ]] || fail "$bin on $name: wanted '$want' in: $out"
    done
    echo "ok: $name -> $want"
}

good >"$dir/good.yaml"
for bin in "autopost-scheduler" "autopost-dispatcher" "autopost-publisher --platform facebook" \
    "autopostctl"; do
    # shellcheck disable=SC2086
    out=$("$AUTOPOST_BIN"/$bin --config "$dir/good.yaml" --check-config 2>&1) ||
        fail "$bin rejected a good config: $out"
    [[ $out == *"config ok"* ]] || fail "$bin --check-config printed: $out"
done
echo "ok: good config accepted by every binary"

{ good; echo "nats_typo: 1"; } | check unknown_top "unknown_top.yaml:10: nats_typo: unknown key"
sed 's/  url: nats/  urll: nats/' <<<"$(good)" | check unknown_nested "unknown_nested.yaml:2: nats.urll: unknown key"
{ good; printf 'scheduler:\n  batch_size: lots\n'; } | check wrong_int "wrong_int.yaml:11: scheduler.batch_size: expected an integer"
{ good; printf 'scheduler:\n  tick: soon\n'; } | check wrong_duration "wrong_duration.yaml:11: scheduler.tick: expected a duration"
{ good; printf 'nats:\n  stream_replicas: 9\n'; } | check out_of_range "stream_replicas: 9 is out of range"
{ good; printf '  myspace:\n    base_url: http://x\n'; } | check unknown_platform "unknown_platform.yaml:10: platforms.myspace: unknown platform"
{ good; printf 'log: [1, 2\n'; } | check syntax "syntax.yaml:"
good | grep -v 'url: nats' | check missing_nats "nats.url: missing required value"
sed 's|base_url: http://127.0.0.1:8090|base_url: ftp://127.0.0.1|' <<<"$(good)" | check bad_url "platforms.facebook.base_url: must start with http"
sed 's|base_url: http://127.0.0.1:8090|base_url: http://graph.example:8090|' <<<"$(good)" |
    check plain_http "plain_http.yaml: platforms.facebook.base_url: plain http to a host other than loopback"

rc=0
out=$("$AUTOPOST_BIN"/autopost-scheduler --config "$dir/does-not-exist.yaml" --check-config 2>&1) || rc=$?
[[ $rc -ne 0 && $out == *"does-not-exist.yaml: cannot open config file"* ]] || fail "missing file: $out"
echo "ok: missing file"

# Environment overrides fill what the file lacks.
good | grep -v 'url: nats' >"$dir/no_nats.yaml"
AUTOPOST_NATS_URL=nats://127.0.0.1:4999 "$AUTOPOST_BIN"/autopost-scheduler --config "$dir/no_nats.yaml" \
    --check-config >/dev/null || fail "AUTOPOST_NATS_URL did not satisfy nats.url"
echo "ok: environment override"
echo "PASS: bad configs are refused with file:line, key and reason"
