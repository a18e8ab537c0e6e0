#!/usr/bin/env bash
# NATS authentication and TLS come from the config: against a real
# nats-server that requires TLS and a user/password, autopostctl (the same
# connect code as every service) succeeds only with the right CA and
# credentials, and the scheduler serves its readiness over it.
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d /tmp/autopost-tls.XXXXXX)
nats_pid=
cleanup() {
    if [[ -n $nats_pid ]]; then
        kill "$nats_pid" 2>/dev/null || true
        wait "$nats_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A private CA and a server certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=autopost-test-ca \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null
# A CA that did not sign the server: must be refused.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca \
    -keyout "$work/other.key" -out "$work/other.pem" 2>/dev/null

port=$(stack_free_port)
cat >"$work/nats.conf" <<CONF
listen: 127.0.0.1:$port
jetstream { store_dir: "$work/js" }
tls { cert_file: "$work/server.pem", key_file: "$work/server.key" }
authorization { user: autopost, password: "tls-test-secret" }
CONF
nats-server -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 1 50); do grep -q "Server is ready" "$work/nats.log" && break; sleep 0.1; done
grep -q "Server is ready" "$work/nats.log" || fail "nats-server with TLS did not start"

# config NAME CA_FILE PASSWORD: a config for this server.
config() {
    cat >"$work/$1.yaml" <<YAML
nats:
  url: nats://127.0.0.1:$port
  user: autopost
  password: "$3"
  tls:
    ca_file: $2
postgres:
  dsn: "host=127.0.0.1 port=1 dbname=unused"
platforms:
  facebook:
    base_url: http://127.0.0.1:9
YAML
}
# apply NAME: autopostctl streams apply with that config, 10 s at most.
apply() { timeout 10 "$AUTOPOST_BIN/autopostctl" --config "$work/$1.yaml" streams apply >"$work/$1.out" 2>&1; }

config good "$work/ca.pem" tls-test-secret
apply good || { cat "$work/good.out" >&2; fail "streams apply over TLS with the right CA and password failed"; }
echo "ok: TLS with the right CA and user/password"

config wrong_ca "$work/other.pem" tls-test-secret
if apply wrong_ca; then fail "a server certificate from another CA was accepted"; fi
echo "ok: a server certificate the configured CA did not sign is refused"

config wrong_password "$work/ca.pem" not-the-password
if apply wrong_password; then fail "a wrong password was accepted"; fi
echo "ok: a wrong password is refused"

# Plain TCP to a TLS-only server must not work either.
sed -i '/tls:/d; /ca_file:/d' "$work/wrong_password.yaml"
sed -i 's/not-the-password/tls-test-secret/' "$work/wrong_password.yaml"
if apply wrong_password; then fail "a plain-text connection to a TLS server succeeded"; fi
echo "ok: no TLS configured, no connection"
grep -q "tls-test-secret" "$work"/*.out && fail "the password appeared in autopostctl's output"
pass "NATS TLS and user/password from config"
