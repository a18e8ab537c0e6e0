#!/usr/bin/env bash
# The deployment artefacts, checked statically (no cluster, no Docker engine):
#
#   * deploy/k8s base, dev and prod render offline with `kubectl kustomize`;
#   * every object is well-formed; every workload runs the one autopost image
#     with probes on a port it declares (the config's service.http_port),
#     resources, a locked-down securityContext, a grace period longer than the
#     drain, the NATS user of its role (deploy/nats/auth.conf) and Secrets
#     that the overlay provides or README documents;
#   * KEDA scales each publisher Deployment on its own consumer
#     (AUTOPOST_JOBS / publisher-<its --platform>), within max_ack_pending;
#   * NetworkPolicies: default deny, and each pod may reach only its ports;
#   * the ConfigMap's YAML passes the real binaries' --check-config;
#   * one publisher unit (Deployment, Service, PDB, ScaledObject, NATS user)
#     per platform of common/platforms.list, and deploy/generate.sh's output
#     is what is committed;
#   * deploy/docker/Dockerfile: multi-stage on Debian 12, non-root, installs
#     every binary the manifests run and the libraries they link; .dockerignore;
#   * deploy/nats/values.yaml: the Helm values match auth.conf's users.
#
# Exit 77 (skipped) when kubectl or jq is missing.
#
# The jq programs are single-quoted on purpose: their $names are jq's.
# shellcheck disable=SC2016
set -euo pipefail
: "${AUTOPOST_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${AUTOPOST_BIN:=$AUTOPOST_SRC/build-asan/bin}"

for tool in kubectl jq; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not found (kubectl: client 1.32 with kustomize; jq: scripts/setup.sh)"
        exit 77
    fi
done
source "$AUTOPOST_SRC/tests/deploy/k8s.sh"

K8S=$AUTOPOST_SRC/deploy/k8s
AUTH_CONF=$AUTOPOST_SRC/deploy/nats/auth.conf
VALUES=$AUTOPOST_SRC/deploy/nats/values.yaml
DOCKERFILE=$AUTOPOST_SRC/deploy/docker/Dockerfile
README=$AUTOPOST_SRC/README.md
CONFIG_LAYERS="autopost.yaml platforms.yaml env.yaml"
PLATFORMS=$(awk '/^[a-z0-9]/ { print $1 }' "$AUTOPOST_SRC/common/platforms.list" | tr '\n' ' ')
PLATFORMS=${PLATFORMS% }
BINARIES='["autopost-scheduler","autopost-publisher","autopost-dispatcher","autopostctl","autopost-sandbox","autopost-console","autopost-webhooks","autopost-api"]'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
problems=0
problem() {
    printf 'FAIL: %s\n' "$*" >&2
    problems=$((problems + 1))
}
die() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
ok() { printf 'ok: %s\n' "$*"; }
# report LABEL < problem lines
report() {
    local label=$1 line n=0
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        problem "$label: $line"
        n=$((n + 1))
    done
    ((n > 0)) || ok "$label"
}

NATS_USERS=$(grep -oE '^[[:space:]]*user:[[:space:]]*[A-Za-z0-9_-]+' "$AUTH_CONF" | awk '{print $2}' |
    jq -R . | jq -s -c .)
NATS_ACCOUNT=$(grep -oE '^[[:space:]]*[A-Z][A-Z0-9_]*:[[:space:]]*\{' "$AUTH_CONF" | head -n1 |
    tr -d ' :{')
[[ $NATS_USERS != "[]" && -n $NATS_ACCOUNT ]] || die "no users or account in $AUTH_CONF"

# Helpers shared by the jq checks below.
JQ_LIB='
def selects($labels):
  ((.matchLabels // {}) | to_entries | all(. as $e | $labels[$e.key] == $e.value))
  and ((.matchExpressions // []) | all(
    if .operator == "In" then ($labels[.key] as $v | $v != null and ((.values | index($v)) != null))
    elif .operator == "NotIn" then ($labels[.key] as $v | $v == null or ((.values | index($v)) == null))
    elif .operator == "Exists" then $labels[.key] != null
    elif .operator == "DoesNotExist" then $labels[.key] == null
    else false end));
def workloads: .[] | select(.kind == "Deployment" or .kind == "Job")
  | {kind, name: .metadata.name, labels: (.spec.template.metadata.labels // {}),
     annotations: (.spec.template.metadata.annotations // {}), pod: .spec.template.spec, obj: .};
def component: .labels["app.kubernetes.io/component"] // "";
def containers: (.pod.containers // []) + (.pod.initContainers // []);
def arg($flag): (.args // []) as $a | ($a | index($flag)) as $i | if $i == null then null else $a[$i + 1] end;
def env($name): [(.env // [])[] | select(.name == $name)] | first;
def is_service: (.command // [""])[0] as $c | ["autopost-scheduler", "autopost-dispatcher", "autopost-publisher", "autopost-webhooks", "autopost-api"] | index($c) != null;
def nats_user_for:
  (.command // [""])[0] as $c
  | if $c == "autopost-scheduler" then "scheduler"
    elif $c == "autopost-dispatcher" then "dispatcher"
    elif $c == "autopost-webhooks" then "webhooks"
    elif $c == "autopost-api" then "api"
    elif $c == "autopost-publisher" then "publisher-" + (arg("--platform") // "?")
    elif $c == "autopostctl" and ((.args // []) | index("streams")) != null then "admin"
    else null end;
def needs_pg: (.command // [""])[0] as $c
  | ($c == "autopost-scheduler" or $c == "autopost-dispatcher" or $c == "autopost-webhooks" or $c == "autopost-api"
     or ($c == "autopostctl" and ((.args // []) | index("migrate")) != null));
'

# check LABEL RENDER_JSON JQ_PROGRAM [jq args...]: the program prints problems.
check() {
    local label=$1 json=$2 prog=$3
    shift 3
    jq -r "$@" "$JQ_LIB $prog" "$json" >"$work/check.out" || die "$label: the jq check itself failed"
    report "$label" <"$work/check.out"
}

check_render() {
    local name=$1 dir=$2 namespace=$3
    local json=$work/$name.json cfg=$work/$name.config.json
    echo "== $name ($dir)"
    k8s_render "$dir" >"$json" || die "$name: kubectl kustomize $dir failed"
    ok "$name renders offline: $(jq length "$json") objects"

    # ---- one publisher unit per platform of common/platforms.list ----
    local want_platforms got
    want_platforms=$(tr ' ' '\n' <<<"$PLATFORMS" | sort | tr '\n' ' ')
    for got in Deployment ScaledObject PodDisruptionBudget; do
        got=$(jq -r --arg k "$got" '.[] | select(.kind == $k and (.metadata.name | startswith("autopost-publisher-")))
            | .metadata.name | sub("^autopost-publisher-"; "")' "$json" | sort | tr '\n' ' ')
        [[ $got == "$want_platforms" ]] || problem "$name: publisher objects for '$got', the list has '$want_platforms'"
    done
    for p in $PLATFORMS; do
        jq -e --arg p "publisher-$p" 'index($p) != null' <<<"$NATS_USERS" >/dev/null ||
            problem "$name: no NATS user publisher-$p in deploy/nats/auth.conf"
    done
    ok "$name: a Deployment, ScaledObject, PDB and NATS user for each of: $PLATFORMS"

    # ---- the ConfigMap and the config it carries ----
    local n
    n=$(jq '[.[] | select(.kind == "ConfigMap" and (.metadata.name | startswith("autopost-config")))] | length' "$json")
    [[ $n -eq 1 ]] || die "$name: expected one ConfigMap autopost-config*, found $n"
    # Every binary reads --config autopost.yaml,platforms.yaml,env.yaml (later
    # keys over earlier ones): $cfg is that merge, LAYERS the files as a pod
    # sees them.
    local layer merged='{}'
    LAYERS=()
    for layer in $CONFIG_LAYERS; do
        jq -r --arg k "$layer" '.[] | select(.kind == "ConfigMap" and (.metadata.name | startswith("autopost-config")))
            | .data[$k] // empty' "$json" >"$work/$name.$layer"
        [[ -s $work/$name.$layer ]] || die "$name: the ConfigMap has no $layer"
        yaml_to_json "$work/$name.$layer" >"$work/$name.$layer.json" || die "$name: $layer is not YAML"
        [[ -s $work/$name.$layer.json ]] || echo '{}' >"$work/$name.$layer.json"
        merged=$(jq -n --argjson a "$merged" --slurpfile b "$work/$name.$layer.json" '$a * ($b[0] // {})')
        LAYERS+=("$work/$name.$layer")
    done
    printf '%s\n' "$merged" >"$cfg"
    local port drain shutdown grace
    port=$(jq -r '.service.http_port // 0' "$cfg")
    [[ $port -gt 0 ]] || problem "$name: service.http_port is not set: nothing would answer the probes"
    drain=$(duration_s "$(jq -r '.publisher.drain_grace // "20s"' "$cfg")")
    shutdown=$(duration_s "$(jq -r '.service.shutdown_grace // "30s"' "$cfg")")
    grace=$((drain > shutdown ? drain : shutdown))
    echo "config: http_port $port, drain ${drain}s, shutdown ${shutdown}s"

    local args=(--argjson cfg "$(cat "$cfg")" --argjson port "$port" --argjson grace "$grace"
        --argjson users "$NATS_USERS" --arg account "$NATS_ACCOUNT" --argjson bins "$BINARIES"
        --arg render "$name" --arg ns "$namespace" --argjson layers "$(printf '%s\n' $CONFIG_LAYERS | jq -R . | jq -s .)")

    check "$name: every object has apiVersion, kind, metadata.name" "$json" '
        .[] | select((.apiVersion // "") == "" or (.kind // "") == "" or (.metadata.name // "") == "")
        | "object without apiVersion/kind/metadata.name: \(tojson | .[0:160])"' "${args[@]}"
    check "$name: namespaces" "$json" '
        .[] | select(.metadata.namespace != (if $ns == "" then null else $ns end))
        | "\(.kind)/\(.metadata.name): namespace \(.metadata.namespace // "none"), expected \(if $ns == "" then "none" else $ns end)"' "${args[@]}"

    check "$name: one image, autopost, tagged" "$json" '
        ([workloads | containers[] | .image] | unique) as $images
        | if ($images | length) != 1 then "workloads use \($images | length) images: \($images)" else empty end,
          ($images[] | select((sub("[:@].*$"; "") | split("/") | last) != "autopost" or (contains(":") | not))
           | "image \(.) is not a tagged autopost image")' "${args[@]}"

    check "$name: containers run autopost binaries with resources and a locked-down securityContext" "$json" '
        workloads as $w | $w | containers[]
        | "\($w.kind)/\($w.name)/\(.name)" as $where
        | (if ((.command // [""])[0] as $c | $bins | index($c)) == null then "\($where): command \(.command) is not an autopost binary" else empty end),
          (if [.resources.requests.cpu, .resources.requests.memory, .resources.limits.cpu, .resources.limits.memory] | any(. == null)
           then "\($where): resources need cpu and memory requests and limits" else empty end),
          (if .securityContext.allowPrivilegeEscalation != false then "\($where): allowPrivilegeEscalation must be false" else empty end),
          (if .securityContext.readOnlyRootFilesystem != true then "\($where): readOnlyRootFilesystem must be true" else empty end),
          (if ((.securityContext.capabilities.drop // []) | index("ALL")) == null then "\($where): capabilities must drop ALL" else empty end),
          (if ($w.pod.securityContext.runAsNonRoot != true and .securityContext.runAsNonRoot != true) then "\($where): runAsNonRoot must be true" else empty end),
          (if ((.securityContext.runAsUser // $w.pod.securityContext.runAsUser // 0) == 0) then "\($where): runAsUser must be a non-root uid" else empty end)' "${args[@]}"

    check "$name: Deployments have probes on a declared port, the config port for services" "$json" '
        workloads | select(.kind == "Deployment") as $w | $w.pod.containers[]
        | "\($w.name)/\(.name)" as $where
        | [(.ports // [])[] | .name, .containerPort] as $declared
        | . as $c
        | ("readinessProbe", "livenessProbe") as $p
        | ($c[$p]) as $probe
        | if $probe == null then "\($where): no \($p)"
          else ($probe.httpGet.port // $probe.tcpSocket.port) as $pp
            | (if ($declared | index($pp)) == null then "\($where): \($p) port \($pp) is not declared by the container" else empty end),
              (if ($c | is_service) then
                 ([($c.ports // [])[] | select(.name == $pp or .containerPort == $pp) | .containerPort] | first) as $num
                 | (if $num != $port then "\($where): \($p) on port \($num), the config serves \($port)" else empty end),
                   (if $p == "readinessProbe" and $probe.httpGet.path != "/readyz" then "\($where): readiness must GET /readyz" else empty end),
                   (if $p == "livenessProbe" and $probe.httpGet.path != "/healthz" then "\($where): liveness must GET /healthz" else empty end)
               else empty end)
          end' "${args[@]}"

    check "$name: services: grace period, Prometheus annotations, config mount" "$json" '
        . as $all
        | workloads as $w | $w.pod.containers[] | select(is_service) as $c
        | "\($w.name)/\($c.name)" as $where
        | (if $w.kind == "Deployment" and (($w.pod.terminationGracePeriodSeconds // 30) < $grace + 5)
           then "\($where): terminationGracePeriodSeconds \($w.pod.terminationGracePeriodSeconds // 30) < drain/shutdown grace \($grace)s + 5s" else empty end),
          (if $w.annotations["prometheus.io/scrape"] != "true" or $w.annotations["prometheus.io/port"] != ($port | tostring)
           then "\($where): needs prometheus.io/scrape \"true\" and prometheus.io/port \"\($port)\"" else empty end),
          ($c | arg("--config")) as $list
          | if $list == null then "\($where): no --config"
            elif ($list | split(",") | map(sub("^.*/"; ""))) != $layers
            then "\($where): --config \($list), expected the layers \($layers | join(","))"
            else $list | split(",")[] as $file
              | ($file | sub("/[^/]*$"; "")) as $dir
              | ([$c.volumeMounts[]? | select(.mountPath == $dir) | .name] | first) as $vol
              | ([$w.pod.volumes[]? | select(.name == $vol) | .configMap.name] | first) as $cm
              | ([$all[] | select(.kind == "ConfigMap" and .metadata.name == $cm)] | first) as $map
              | if $cm == null then "\($where): --config \($file) is not on a ConfigMap volume"
                elif $map == null then "\($where): ConfigMap \($cm) is not in the render"
                elif $map.data[$file | sub("^.*/"; "")] == null then "\($where): ConfigMap \($cm) has no \($file | sub("^.*/"; ""))"
                else empty end
            end' "${args[@]}"

    check "$name: NATS users, PostgreSQL DSN and the credential key come from Secrets" "$json" '
        workloads as $w | $w | containers[] as $c
        | "\($w.name)/\($c.name)" as $where
        | ($c | nats_user_for) as $want
        | (if $want != null then
             ($c | env("AUTOPOST_NATS_USER")) as $u
             | (if $u.value != $want then "\($where): AUTOPOST_NATS_USER is \($u.value // "unset"), its role is \($want)" else empty end),
               (if ($users | index($want)) == null then "\($where): NATS user \($want) is not in deploy/nats/auth.conf" else empty end),
               (if ($c | env("AUTOPOST_NATS_PASSWORD") | .valueFrom.secretKeyRef.name) == null then "\($where): AUTOPOST_NATS_PASSWORD must come from a Secret" else empty end)
           else empty end),
          (if ($c | needs_pg) and (($c | env("AUTOPOST_POSTGRES_DSN") | .valueFrom.secretKeyRef.name) == null)
           then "\($where): AUTOPOST_POSTGRES_DSN must come from a Secret" else empty end),
          (if ($c.command[0] == "autopost-publisher" or $c.command[0] == "autopost-webhooks"
               or $c.command[0] == "autopost-api") then
             ($cfg.credentials.key_file // "" | sub("/[^/]*$"; "")) as $kdir
             | ([$c.volumeMounts[]? | select(.mountPath == $kdir) | .name] | first) as $vol
             | (if ([$w.pod.volumes[]? | select(.name == $vol) | .secret.secretName] | first) == null
                then "\($where): credentials.key_file \($cfg.credentials.key_file) is not on a Secret volume" else empty end),
               (if $c.command[0] != "autopost-publisher" then empty
                else ($c | arg("--platform")) as $p
                | if $cfg.platforms[$p] == null then "\($where): --platform \($p) is not in the config platforms" else empty end end)
           else empty end)' "${args[@]}"

    # Secrets: referenced ones exist in dev (placeholders) or are documented;
    # base and prod generate none (applying them must never replace real ones).
    jq -r "$JQ_LIB"'[workloads | (.pod.volumes[]?.secret.secretName // empty),
                       (containers[] | .env[]?.valueFrom.secretKeyRef.name // empty)] | unique[]' \
        "$json" >"$work/$name.secrets"
    local secret missing=0
    while read -r secret; do
        if [[ $name == dev ]]; then
            jq -e --arg s "$secret" 'any(.[]; .kind == "Secret" and .metadata.name == $s)' "$json" >/dev/null ||
                { problem "$name: Secret $secret is referenced but not generated"; missing=1; }
        fi
        grep -q -- "$secret" "$README" ||
            { problem "$name: Secret $secret is not documented in README.md"; missing=1; }
    done <"$work/$name.secrets"
    if [[ $name == dev ]]; then
        check "$name: generated Secrets are marked as placeholders" "$json" '
            .[] | select(.kind == "Secret" and .metadata.labels["autopost.io/placeholder"] != "dev-only")
            | "Secret \(.metadata.name) is not labelled autopost.io/placeholder: dev-only"' "${args[@]}"
    else
        check "$name: generates no Secret" "$json" '
            .[] | select(.kind == "Secret") | "Secret \(.metadata.name) in the render"' "${args[@]}"
    fi
    ((missing)) || ok "$name: Secrets referenced: $(tr '\n' ' ' <"$work/$name.secrets")"

    check "$name: the migration Job migrates, then applies the topology as admin" "$json" '
        [workloads | select(.kind == "Job")] as $jobs
        | if ($jobs | length) != 1 then "expected one Job, found \($jobs | length)"
          else $jobs[0] as $j
            | ([$j | containers[] | [.command[0]] + (.args // []) | join(" ")]) as $cmds
            | (if ($cmds | map(select(test("^autopostctl .*migrate"))) | length) != 1 then "no autopostctl migrate in \($cmds)" else empty end),
              (if ($cmds | map(select(test("^autopostctl .*streams apply"))) | length) != 1 then "no autopostctl streams apply in \($cmds)" else empty end),
              (if (($j.pod.initContainers // []) | map(((.args // []) | index("migrate")) != null) | any) | not
               then "migrate must run first (an initContainer)" else empty end)
          end' "${args[@]}"

    check "$name: KEDA scales every publisher on its own consumer" "$json" '
        . as $all
        | ([$all[] | select(.kind == "Deployment") | {name: .metadata.name, c: .spec.template.spec.containers[0]}
            | select(.c.command[0] == "autopost-publisher") | {name, platform: (.c | arg("--platform"))}]) as $pubs
        | ([$all[] | select(.kind == "ScaledObject")]) as $sos
        | ($pubs[] | . as $p
           | if ([$sos[] | select(.spec.scaleTargetRef.name == $p.name)] | length) != 1
             then "Deployment \($p.name) needs exactly one ScaledObject" else empty end),
          ($sos[] | . as $so | "ScaledObject \($so.metadata.name)" as $where
           | ([$pubs[] | select(.name == $so.spec.scaleTargetRef.name)] | first) as $p
           | if $p == null then "\($where): target \($so.spec.scaleTargetRef.name) is not a publisher Deployment"
             else
               (if ($so.spec.minReplicaCount // 0) < 1 then "\($where): minReplicaCount must be >= 1 (a platform without publisher stalls)" else empty end),
               (if ($so.spec.maxReplicaCount // 0) < ($so.spec.minReplicaCount // 0) then "\($where): maxReplicaCount < minReplicaCount" else empty end),
               (($cfg.platforms[$p.platform] // {}) as $pc
                | (($pc.max_ack_pending // 1024)) as $map | (($pc.concurrency // 64)) as $conc
                | ($conc + (($conc + 3) / 4 | floor)) as $held
                | if $map < ($so.spec.maxReplicaCount * $held)
                  then "\($where): max_ack_pending \($map) < maxReplicaCount \($so.spec.maxReplicaCount) x \($held) jobs held (concurrency \($conc) and a quarter): the extra replicas would idle"
                  else empty end),
               (($so.spec.triggers // []) | map(.metadata.consumer) | sort) as $consumers
               | (if $consumers != (["publisher-" + $p.platform, "publisher-" + $p.platform + "-urgent"] | sort)
                  then "\($where): triggers on \($consumers), expected one per lane: publisher-\($p.platform) and publisher-\($p.platform)-urgent" else empty end),
               ($so.spec.triggers // [] | .[]
                | select(type == "object")
                | (if .type != "nats-jetstream" then "\($where): trigger type \(.type)" else empty end),
                  (if .metadata.stream != "AUTOPOST_JOBS" then "\($where): stream \(.metadata.stream), expected AUTOPOST_JOBS" else empty end),
                  (if .metadata.consumer != "publisher-" + $p.platform and .metadata.consumer != "publisher-" + $p.platform + "-urgent" then "\($where): consumer \(.metadata.consumer) but the Deployment runs --platform \($p.platform)" else empty end),
                  (if .metadata.account != $account then "\($where): account \(.metadata.account), auth.conf defines \($account)" else empty end),
                  (if ((.metadata.lagThreshold // "") | test("^[0-9]+$")) | not then "\($where): lagThreshold must be a number in a string" else empty end),
                  (if ((.metadata.natsServerMonitoringEndpoint // "") | test(":8222$")) | not then "\($where): natsServerMonitoringEndpoint must be the monitoring port 8222" else empty end))
             end)' "${args[@]}"

    check "$name: a metrics Service and a PodDisruptionBudget per service Deployment" "$json" '
        . as $all
        | $all[] | select(.kind == "Deployment") as $d
        | ($d.spec.template.metadata.labels // {}) as $labels
        | ($d.spec.template.spec.containers[0]) as $c
        | select($c | is_service)
        | ([$all[] | select(.kind == "Service" and .spec.selector != null and (.spec.selector | to_entries | all(. as $e | $labels[$e.key] == $e.value)))]) as $svcs
        | ([$all[] | select(.kind == "PodDisruptionBudget" and (.spec.selector | selects($labels)))]) as $pdbs
        | (if ([$svcs[].spec.ports[]? | select(.port == $port)] | length) == 0 then "\($d.metadata.name): no Service exposes port \($port)" else empty end),
          (if ($pdbs | length) != 1 then "\($d.metadata.name): \($pdbs | length) PodDisruptionBudgets select it, expected 1" else empty end),
          (if $render == "prod" and ($pdbs | length) == 1 and $pdbs[0].spec.minAvailable == null then "\($d.metadata.name): prod PDB must use minAvailable" else empty end),
          (if ($d.spec.replicas // 1) > 1 and ($pdbs | length) == 1 and ($pdbs[0].spec.minAvailable // 0) >= ($d.spec.replicas // 1)
           then "\($d.metadata.name): PDB minAvailable >= replicas blocks every drain" else empty end)' "${args[@]}"

    check "$name: NetworkPolicies: default deny, and only the ports each pod needs" "$json" '
        def egress_ok($comp): {"scheduler": [53, 4222, 5432], "dispatcher": [53, 4222, 5432], "migrate": [53, 4222, 5432],
            "publisher": ([53, 4222, 443] + (if $render == "dev" then [8090] else [] end)), "sandbox": [53],
            "console": [53, 5432], "webhooks": [53, 4222, 5432, 443], "api": [53, 4222, 5432]}[$comp] // [53];
        def ingress_ok($comp): {"scheduler": [8080], "dispatcher": [8080], "publisher": [8080], "webhooks": [8080], "sandbox": [8090],
            "api": [8080, 8088]}[$comp] // [];
        . as $all
        | [$all[] | select(.kind == "NetworkPolicy")] as $nps
        | workloads as $w | ($w | component) as $comp
        | [$nps[] | select(.spec.podSelector | selects($w.labels))] as $mine
        | (if ([$mine[] | select((.spec.policyTypes | index("Ingress")) != null and (.spec.policyTypes | index("Egress")) != null
                               and (.spec.ingress // []) == [] and (.spec.egress // []) == [])] | length) == 0
           then "\($w.name): no default-deny policy selects it" else empty end),
          ($mine[] | .metadata.name as $np
           | ((.spec.egress // [])[]
              | (if (.ports // []) == [] then "\($np): egress to every port for \($w.name)" else empty end),
                ((.ports // [])[] | .port as $p
                 | if (egress_ok($comp) | index($p)) == null then "\($np): lets \($w.name) (\($comp)) out on \($p)" else empty end)),
             ((.spec.ingress // [])[]
              | (if (.ports // []) == [] then "\($np): ingress on every port of \($w.name)" else empty end),
                ((.ports // [])[] | .port as $p
                 | if (ingress_ok($comp) | index($p)) == null then "\($np): lets in \($w.name) (\($comp)) on \($p)" else empty end),
                (if (.from // []) == [] then "\($np): ingress to \($w.name) from anywhere" else empty end),
                ((.from // [])[]
                 | if .namespaceSelector != null then
                     (.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]) as $from
                     | (if $from != "monitoring" and ($comp != "api" or $from != "ingress-nginx")
                      then "\($np): ingress to \($w.name) from a namespace other than monitoring (or, for the api, ingress-nginx)" else empty end)
                   elif .podSelector != null then
                     (if $comp != "sandbox" or .podSelector.matchLabels["app.kubernetes.io/component"] != "publisher"
                      then "\($np): ingress to \($w.name) from pods \(.podSelector)" else empty end)
                   else "\($np): ingress to \($w.name) from \(.)" end)))' "${args[@]}"

    check "$name: autopost-api runs, its API port behind a Service, reachable only through autopost-ingress-api" "$json" '
        . as $all
        | [$all[] | select(.kind == "Deployment" and .spec.template.spec.containers[0].command[0] == "autopost-api")] as $d
        | if ($d | length) != 1 then "\($d | length) autopost-api Deployments, expected 1" else
          ($d[0].spec.template.metadata.labels) as $labels
          | (if ([$all[] | select(.kind == "Service" and (.spec.selector // {} | to_entries | all(. as $e | $labels[$e.key] == $e.value)))
                  | .spec.ports[] | select(.port == ($cfg.api.http_port // 8088))] | length) == 0
             then "no Service exposes the API port \($cfg.api.http_port // 8088)" else empty end),
            (if ($cfg.api.http_bind // "127.0.0.1") | startswith("127.") then "api.http_bind is loopback: nothing outside the pod could call it" else empty end),
            (if ([$all[] | select(.kind == "NetworkPolicy" and .metadata.name == "autopost-ingress-api")
                  | .spec.ingress[].ports[] | select(.port == ($cfg.api.http_port // 8088))] | length) != 1
             then "autopost-ingress-api does not open the API port" else empty end)
          end' "${args[@]}"

    check "$name: publishers reach 443 only outside the cluster's and private ranges" "$json" '
        . as $all
        | [$all[] | select(.kind == "NetworkPolicy" and .metadata.name == "autopost-egress-platforms")] as $np
        | if ($np | length) != 1 then "autopost-egress-platforms: \($np | length) policies" else
          ($np[0].spec.egress[] | (.to // []) as $to
           | if $to == [] then "autopost-egress-platforms: 443 to any address, private ranges included"
             else ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "fc00::/7")
                  as $r | if ([$to[] | .ipBlock.except // [] | index($r)] | any(. != null)) then empty
                          else "autopost-egress-platforms: \($r) is not excluded" end end) end' "${args[@]}"

    # The ConfigMap's YAML passes the real binaries' --check-config, with the
    # environment a pod gets (Secrets as dummy values; the key file is a
    # mounted Secret in the pod, a temp file here).
    local conf keyfile=$work/credentials.key platforms p f
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$keyfile"
    conf=
    for f in "${LAYERS[@]}"; do
        sed "s|key_file: .*|key_file: $keyfile|" "$f" >"$f.check"
        conf+=${conf:+,}$f.check
    done
    local podenv=(PATH="$PATH" AUTOPOST_POSTGRES_DSN="host=postgres dbname=autopost") v
    for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; do # a sanitizer build under scripts/test.sh
        [[ -n ${!v:-} ]] && podenv+=("$v=${!v}")
    done
    # Each pod names its NATS user and password in the environment.
    podenv+=(AUTOPOST_NATS_USER=scheduler AUTOPOST_NATS_PASSWORD=placeholder)
    platforms=$(jq -r '.[] | select(.kind == "Deployment") | .spec.template.spec.containers[0]
        | select(.command[0] == "autopost-publisher") | .args as $a | $a[($a | index("--platform")) + 1]' "$json")
    local runs=("autopost-scheduler" "autopost-dispatcher" "autopostctl" "autopost-console" "autopost-webhooks" "autopost-api")
    for p in $platforms; do runs+=("autopost-publisher --platform $p"); done
    local bin out
    for bin in "${runs[@]}"; do
        # shellcheck disable=SC2086 # "autopost-publisher --platform x" splits on purpose
        if out=$(env -i "${podenv[@]}" "$AUTOPOST_BIN"/$bin --config "$conf" --check-config 2>&1); then
            ok "$name: $bin --check-config accepts the ConfigMap"
        else
            problem "$name: $bin --check-config rejects the ConfigMap: $out"
        fi
    done
    # The console's probes reach it on the pod address: the config must not
    # leave it on its loopback default, and must serve the declared port.
    local cport
    cport=$(jq -r '[.[] | select(.kind == "Deployment") | .spec.template.spec.containers[]
        | select(.command[0] == "autopost-console") | .ports[0].containerPort] | first // empty' "$json")
    if [[ -n $cport ]]; then
        [[ $(jq -r '.console.http_port // 8090' "$cfg") == "$cport" ]] ||
            problem "$name: console.http_port is not the console container's port $cport"
        [[ $(jq -r '.console.http_bind // "127.0.0.1"' "$cfg") != 127.* ]] ||
            problem "$name: console.http_bind is loopback: its probes would fail"
    fi
    [[ $(jq -r '.nats.manage_topology' "$cfg") == false ]] ||
        problem "$name: nats.manage_topology must be false (the service users may not change the topology)"

    # Environment-specific config.
    case $name in
        dev)
            local url host
            for p in $PLATFORMS; do
                url=$(jq -r --arg p "$p" '.platforms[$p].base_url // ""' "$cfg")
                host=$(sed -E 's|^https?://([^:/]+).*|\1|' <<<"$url")
                jq -e --arg h "$host" 'any(.[]; .kind == "Service" and .metadata.name == $h)' "$json" >/dev/null ||
                    problem "dev: platforms.$p.base_url '$url' is not the sandbox Service of the overlay"
            done
            [[ $(jq '[.[] | select(.kind == "Deployment" and .metadata.name == "autopost-scheduler") | .spec.replicas] | first' "$json") == 1 ]] ||
                problem "dev: one scheduler replica expected"
            ;;
        prod)
            [[ $(jq -r '.nats.stream_replicas' "$cfg") == 3 ]] || problem "prod: nats.stream_replicas must be 3"
            [[ $(jq -r '[.platforms[] | .base_url // empty] | length' "$cfg") == 0 ]] ||
                problem "prod: a platform base_url is overridden (prod talks to the real APIs)"
            [[ $(jq '[.[] | select(.kind == "Deployment" and .metadata.name == "autopost-scheduler") | .spec.replicas] | first' "$json") -ge 2 ]] ||
                problem "prod: at least two scheduler replicas expected"
            ;;
    esac
}

# ---- what deploy/generate.sh writes is what is committed ---------------------
echo "== deploy/generate.sh --check"
if out=$("$AUTOPOST_SRC/deploy/generate.sh" --check 2>&1); then
    ok "$out"
else
    problem "deploy/generate.sh --check: $out"
fi

check_render base "$K8S/base" ""
check_render dev "$K8S/overlays/dev" autopost-dev
check_render prod "$K8S/overlays/prod" autopost

# ---- Dockerfile --------------------------------------------------------------
echo "== deploy/docker/Dockerfile"
[[ -f $DOCKERFILE ]] || die "missing $DOCKERFILE"
# Joined continuation lines, comments dropped.
sed -e 's/#.*$//' "$DOCKERFILE" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' >"$work/Dockerfile.flat"
froms=$(grep -ciE '^[[:space:]]*FROM[[:space:]]' "$work/Dockerfile.flat" || true)
[[ $froms -ge 2 ]] || problem "Dockerfile: not multi-stage ($froms FROM lines)"
first_from=$(grep -iE '^[[:space:]]*FROM[[:space:]]' "$work/Dockerfile.flat" | head -n1 | awk '{print $2}')
last_from=$(grep -iE '^[[:space:]]*FROM[[:space:]]' "$work/Dockerfile.flat" | tail -n1 | awk '{print $2}')
[[ $first_from == debian:12 || $first_from == debian:bookworm ]] || problem "Dockerfile: build stage FROM $first_from, expected debian:12"
[[ $last_from =~ ^debian:(12|bookworm)(-slim)?$ ]] || problem "Dockerfile: runtime stage FROM $last_from, expected debian:12(-slim)"
# The runtime stage: everything after the last FROM.
awk 'toupper($1) == "FROM" { n++ } { print n "\t" $0 }' "$work/Dockerfile.flat" >"$work/Dockerfile.staged"
awk -F'\t' -v n="$froms" '$1 == n { print $2 }' "$work/Dockerfile.staged" >"$work/Dockerfile.runtime"
awk -F'\t' -v n="$froms" '$1 < n && $1 > 0 { print $2 }' "$work/Dockerfile.staged" >"$work/Dockerfile.build"
user=$(grep -iE '^[[:space:]]*USER[[:space:]]' "$work/Dockerfile.runtime" | tail -n1 | awk '{print $2}')
if [[ -z $user ]]; then
    problem "Dockerfile: the runtime stage has no USER (it would run as root)"
elif [[ ${user%%:*} == root || ${user%%:*} == 0 ]]; then
    problem "Dockerfile: USER $user is root"
else
    ok "Dockerfile: runtime USER $user"
fi
if grep -qiE '^[[:space:]]*ENTRYPOINT' "$work/Dockerfile.runtime"; then
    problem "Dockerfile: no ENTRYPOINT expected (manifests pick the program with command:)"
fi
grep -qiE '^[[:space:]]*CMD[[:space:]]' "$work/Dockerfile.runtime" || problem "Dockerfile: no CMD"
# Every binary the manifests run is built into /out/bin and copied onto PATH.
used=$(jq -r "$JQ_LIB"'[workloads | containers[] | .command[0]] | unique[]' \
    "$work/base.json" "$work/dev.json" "$work/prod.json" | sort -u)
copy_dst=$(grep -iE '^[[:space:]]*COPY[[:space:]].*--from=build' "$work/Dockerfile.runtime" | awk '{print $NF}')
[[ $copy_dst == /usr/local/bin/ || $copy_dst == /usr/local/bin || $copy_dst == /usr/bin/ ]] ||
    problem "Dockerfile: binaries copied to '$copy_dst', not a directory on PATH"
for b in $used; do
    grep -qE "/build/bin/$b([[:space:]]|$)" "$work/Dockerfile.build" ||
        problem "Dockerfile: $b (run by the manifests) is not installed from the build"
done
ok "Dockerfile: binaries the manifests run: $(tr '\n' ' ' <<<"$used")"
# Build stage: scripts/setup.sh's packages minus the servers.
setup_pkgs=$(sed -n '/^PACKAGES=(/,/^)/p' "$AUTOPOST_SRC/scripts/setup.sh" | sed '1d;$d' | tr -s ' \n' '\n' |
    grep -vE '^(nats-server|postgresql|postgresql-client)$' | grep -v '^$' | sort -u)
for pkg in $setup_pkgs; do
    grep -qE "(^|[[:space:]])$pkg([[:space:]]|$)" "$work/Dockerfile.build" ||
        problem "Dockerfile: build stage lacks $pkg (scripts/setup.sh installs it)"
done
for pkg in nats-server postgresql; do
    if grep -qE "(^|[[:space:]])$pkg([[:space:]]|$)" "$work/Dockerfile.build" "$work/Dockerfile.runtime"; then
        problem "Dockerfile: installs the server $pkg"
    fi
done
runtime_pkgs=$(grep -oE 'install[^&]*' "$work/Dockerfile.runtime" | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vE '^(install|apt-get)$' | sort -u)
for pkg in libnats3.4 libprotobuf-c1 libpq5 libcurl4 libyaml-0-2 libmicrohttpd12 libssl3 libjansson4 ca-certificates; do
    grep -qx "$pkg" <<<"$runtime_pkgs" || problem "Dockerfile: runtime stage lacks $pkg"
done
# The libraries the built binaries link come from the runtime packages (or
# from debian:12-slim itself). Sanitizer runtimes of a test build are not.
if command -v readelf >/dev/null && command -v dpkg >/dev/null && command -v ldconfig >/dev/null; then
    ldconfig -p >"$work/ldcache"
    for b in $used; do
        [[ -x $AUTOPOST_BIN/$b ]] || { problem "Dockerfile: $AUTOPOST_BIN/$b not built"; continue; }
        for so in $(readelf -d "$AUTOPOST_BIN/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            [[ $so =~ (asan|ubsan|lsan|tsan|clang_rt) ]] && continue
            path=$(awk -v s="$so" '$1 == s { print $NF; exit }' "$work/ldcache")
            # usrmerge: dpkg may know /lib/x/libfoo.so as /usr/lib/x/libfoo.so.
            pkg=$({ dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null ||
                dpkg -S "$(readlink -f "$path")" 2>/dev/null || true; } | head -n1 | cut -d: -f1)
            case $pkg in
                libc6 | libgcc-s1 | libstdc++6) continue ;;
            esac
            grep -qx "$pkg" <<<"$runtime_pkgs" ||
                problem "Dockerfile: $b links $so (package ${pkg:-unknown}), not installed in the runtime stage"
        done
    done
    ok "Dockerfile: the runtime packages cover every library the binaries link"
fi
if [[ -f $AUTOPOST_SRC/.dockerignore ]]; then
    for pat in .git 'build*/'; do
        grep -qxF "$pat" "$AUTOPOST_SRC/.dockerignore" || problem ".dockerignore: does not exclude $pat"
    done
    ok ".dockerignore exists"
else
    problem ".dockerignore is missing"
fi

# ---- NATS Helm values ---------------------------------------------------------
echo "== deploy/nats/values.yaml"
yaml_to_json "$VALUES" >"$work/values.json" || die "values.yaml is not YAML"
jq -r --argjson users "$NATS_USERS" --arg account "$NATS_ACCOUNT" --argjson keda "$(jq '[.[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.natsServerMonitoringEndpoint] | unique' "$work/prod.json")" '
    (if .config.jetstream.enabled != true then "config.jetstream.enabled must be true" else empty end),
    (if (.config.jetstream.fileStore.pvc.size // "") == "" then "config.jetstream.fileStore.pvc.size is not set" else empty end),
    (if .config.cluster.enabled != true then "config.cluster.enabled must be true" else empty end),
    (if .config.cluster.replicas != 3 then "config.cluster.replicas must be 3" else empty end),
    (if (.config.monitor.port // 8222) != 8222 then "config.monitor.port is not 8222" else empty end),
    (if .service.ports.monitor.enabled != true then "service.ports.monitor.enabled must be true (KEDA reads /jsz through the Service)" else empty end),
    ($keda[] | select(endswith(":8222") | not) | "KEDA endpoint \(.) is not the monitor port"),
    (.config.merge.accounts[$account] as $acc
     | if $acc == null then "config.merge.accounts has no \($account)"
       else ([$acc.users[].user] | sort) as $vu
         | (if $vu != ($users | sort) then "users \($vu) differ from auth.conf \($users | sort)" else empty end),
           ($acc.users[] | .user as $u
            | ("NATS_AUTOPOST_" + ($u | ascii_upcase | gsub("-"; "_")) + "_PASSWORD") as $var
            | (if .password != "<< $" + $var + " >>" then "user \($u): password must be << $\($var) >>" else empty end))
       end),
    (.container.env // {} | keys) as $env
    | ($users[] | ("NATS_AUTOPOST_" + (ascii_upcase | gsub("-"; "_")) + "_PASSWORD") as $var
       | if ($env | index($var)) == null then "container.env lacks \($var)" else empty end)
' "$work/values.json" >"$work/check.out" || die "values.yaml: the jq check itself failed"
report "values.yaml: JetStream cluster, monitoring, the users of auth.conf" <"$work/check.out"

if ((problems > 0)); then
    echo "FAIL: $problems problem(s)" >&2
    exit 1
fi
echo "PASS: deploy manifests, Dockerfile and NATS values"
