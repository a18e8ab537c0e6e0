#!/usr/bin/env bash
# autopostctl puts accounts in tenants (issue 18, "Tenants and keys"):
# `accounts add --tenant ID` and `accounts import` lines with "tenant_id";
# without either an account goes to the default tenant; a tenant that does
# not exist is refused by name and nothing is stored; `accounts list` shows
# each account's tenant and filters by it. Tenants are made with SQL here
# (`autopostctl tenants add` belongs to another command).
source "$(dirname "$0")/../fixtures/ctl_stack.sh"
ctl_stack_begin
DEFAULT_TENANT=00000000-0000-0000-0000-000000000001
ACME=6f1c0d3e-5b7a-4c2e-9a1d-000000000a01
UNKNOWN=6f1c0d3e-5b7a-4c2e-9a1d-00000000dead

accounts_count() { stack_psql -c "SELECT count(*) FROM social_accounts"; }
tenant_of() { stack_psql -c "SELECT tenant_id FROM social_accounts WHERE id = '$1'"; }

ctl migrate >/dev/null || fail "migrate"
stack_psql -c "INSERT INTO tenants (id, name) VALUES ('$ACME', 'acme')" >/dev/null

# ---- accounts add ------------------------------------------------------------
run accounts add --platform facebook --external-id 3001 --token t1 --tenant "${ACME^^}"
[[ $RC -eq 0 ]] || fail "accounts add --tenant: $(cat "$ERR")"
in_acme=$(cat "$OUT")
[[ $(tenant_of "$in_acme") == "$ACME" ]] || fail "accounts add --tenant stored tenant $(tenant_of "$in_acme")"
run accounts add --platform facebook --external-id 3002 --token t2
[[ $RC -eq 0 ]] || fail "accounts add: $(cat "$ERR")"
in_default=$(cat "$OUT")
[[ $(tenant_of "$in_default") == "$DEFAULT_TENANT" ]] || fail "accounts add without --tenant: tenant $(tenant_of "$in_default")"
before=$(accounts_count)
expect_fail 1 "tenant $UNKNOWN does not exist" \
    accounts add --platform facebook --external-id 3003 --token t3 --tenant "$UNKNOWN"
expect_fail 2 '--tenant takes a tenant id (a UUID), not "acme"' \
    accounts add --platform facebook --external-id 3003 --token t3 --tenant acme
[[ $(accounts_count) -eq $before ]] || fail "a refused accounts add stored an account"
ok "accounts add: --tenant, the default tenant, an unknown tenant refused by name"

# ---- accounts import -------------------------------------------------------------
file=$STACK_DIR/accounts.jsonl
{
    printf '{"platform":"facebook","external_id":"4001","token":"a","tenant_id":"%s"}\n' "$ACME"
    printf '{"platform":"facebook","external_id":"4002","token":"b"}\n'
    printf '{"platform":"facebook","external_id":"4003","token":"c","tenant_id":"%s"}\n' "$UNKNOWN"
    printf '{"platform":"facebook","external_id":"4004","token":"d","tenant_id":"%s"}\n' "$UNKNOWN"
} >"$file"
expect_fail 1 "$file:3: tenant $UNKNOWN does not exist" accounts import "$file"
grep -q "$file:4: tenant $UNKNOWN does not exist" "$ERR" || fail "import: line 4 not reported: $(cat "$ERR")"
! grep -q "$file:[12]:" "$ERR" || fail "import: good lines reported: $(cat "$ERR")"
[[ $(accounts_count) -eq $before ]] || fail "an import naming an unknown tenant stored accounts"
printf '{"platform":"facebook","external_id":"4005","token":"e","tenant_id":"acme"}\n' >"$file.bad"
expect_fail 1 "$file.bad:1: tenant_id: expected a tenant id (a UUID)" accounts import "$file.bad"
head -n 2 "$file" >"$file.good"
run accounts import "$file.good"
[[ $RC -eq 0 ]] || fail "accounts import: $(cat "$ERR")"
[[ $(tenant_of "$(sed -n 1p "$OUT")") == "$ACME" ]] || fail "import: line 1 not in acme"
[[ $(tenant_of "$(sed -n 2p "$OUT")") == "$DEFAULT_TENANT" ]] || fail "import: line 2 not in the default tenant"
ok "accounts import: \"tenant_id\" per line, default when omitted, unknown tenants reported by line"

# ---- accounts list ---------------------------------------------------------------
run accounts list
[[ $RC -eq 0 ]] || fail "accounts list: $(cat "$ERR")"
head -n 1 "$OUT" | grep -q TENANT || fail "accounts list has no TENANT column: $(head -n 1 "$OUT")"
grep "$in_acme" "$OUT" | grep -q "$ACME" || fail "accounts list does not show acme on its account"
grep "$in_default" "$OUT" | grep -q "$DEFAULT_TENANT" || fail "accounts list does not show the default tenant"
run accounts list --tenant "$ACME" --json
[[ $RC -eq 0 ]] || fail "accounts list --tenant --json: $(cat "$ERR")"
[[ $(stack_psql -v j="$(cat "$OUT")" <<'SQL'
SELECT count(*) FILTER (WHERE e->>'tenant_id' = '6f1c0d3e-5b7a-4c2e-9a1d-000000000a01') || ' ' || count(*)
  FROM jsonb_array_elements(:'j'::jsonb) e;
SQL
) == "2 2" ]] || fail "accounts list --tenant acme --json: $(cat "$OUT")"
ok "accounts list: the tenant of every account, --tenant filters"

# ---- posts belong to their account's tenant ----------------------------------------
# `schedule` and `import` create the post too: it must be the account's
# tenant's, or the API would answer 404 for a post whose schedule it lists.
post_tenant() { stack_psql -c "SELECT p.tenant_id FROM post_schedules s JOIN posts p ON p.id = s.post_id WHERE s.id = '$1'"; }
run schedule --account "$in_acme" --at 2030-01-01T09:00:00Z --text "acme's post"
[[ $RC -eq 0 ]] || fail "schedule: $(cat "$ERR")"
[[ $(post_tenant "$(cat "$OUT")") == "$ACME" ]] || fail "schedule: the post is in tenant $(post_tenant "$(cat "$OUT")"), not acme"
run schedule --account "$in_default" --at 2030-01-01T09:00:00Z --text "default's post"
[[ $RC -eq 0 ]] || fail "schedule: $(cat "$ERR")"
[[ $(post_tenant "$(cat "$OUT")") == "$DEFAULT_TENANT" ]] || fail "schedule: the default account's post is not in the default tenant"
{
    printf '{"account_id":"%s","at":"2030-01-01T10:00:00Z","text":"a"}\n' "$in_acme"
    printf '{"account_id":"%s","at":"2030-01-01T10:00:00Z","text":"b"}\n' "$in_default"
} >"$STACK_DIR/posts.jsonl"
run import "$STACK_DIR/posts.jsonl" --ids
[[ $RC -eq 0 ]] || fail "import: $(cat "$ERR")"
[[ $(post_tenant "$(sed -n 1p "$OUT")") == "$ACME" ]] || fail "import: line 1's post is not in acme"
[[ $(post_tenant "$(sed -n 2p "$OUT")") == "$DEFAULT_TENANT" ]] || fail "import: line 2's post is not in the default tenant"
ok "schedule and import: a post is in its account's tenant"

printf 'PASS: accounts in tenants\n'
