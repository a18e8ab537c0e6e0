# shellcheck shell=bash
# Offline YAML -> JSON for the deploy tests, with nothing but kubectl and jq.
# `kubectl label --local` decodes any manifest (known kinds and custom ones
# like ScaledObject) without a cluster and prints it as JSON; the throwaway
# label it adds is removed again.
#
#   k8s_render DIR          kubectl kustomize DIR -> JSON array of objects
#   k8s_objects_json FILE   Kubernetes YAML (multi-document) -> JSON array
#   yaml_to_json FILE       any YAML mapping (a config file, Helm values) -> JSON

_K8S_LABEL=autopost.test/render

k8s_objects_json() {
    local file=$1 err
    err=$(mktemp)
    if ! kubectl label --local --overwrite -f "$file" -o json "$_K8S_LABEL=1" 2>"$err" |
        jq -s --arg l "$_K8S_LABEL" '[.[] | if .kind == "List" then .items[] else . end
            | del(.metadata.labels[$l])
            | if .metadata.labels == {} then del(.metadata.labels) else . end]'; then
        cat "$err" >&2
        rm -f "$err"
        return 1
    fi
    if [[ -s $err ]]; then
        cat "$err" >&2
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
}

k8s_render() {
    local dir=$1 out rc=0
    out=$(mktemp)
    kubectl kustomize "$dir" >"$out" || rc=$?
    if [[ $rc -eq 0 ]]; then k8s_objects_json "$out" || rc=$?; fi
    rm -f "$out"
    return "$rc"
}

yaml_to_json() {
    local file=$1 wrapped rc=0
    wrapped=$(mktemp)
    {
        printf 'apiVersion: autopost.test/v1\nkind: YamlDocument\nmetadata:\n  name: doc\nspec:\n'
        sed 's/^/  /' "$file"
    } >"$wrapped"
    k8s_objects_json "$wrapped" | jq '.[0].spec // {}' || rc=$?
    rm -f "$wrapped"
    return "$rc"
}

# duration_s DURATION: "20s", "1m30s", "250ms", "2h" -> whole seconds (rounded up).
duration_s() {
    local d=$1 total_ms=0 n unit
    while [[ $d =~ ^([0-9]+)(ms|s|m|h)(.*)$ ]]; do
        n=${BASH_REMATCH[1]}
        unit=${BASH_REMATCH[2]}
        d=${BASH_REMATCH[3]}
        case $unit in
            ms) total_ms=$((total_ms + n)) ;;
            s) total_ms=$((total_ms + n * 1000)) ;;
            m) total_ms=$((total_ms + n * 60000)) ;;
            h) total_ms=$((total_ms + n * 3600000)) ;;
        esac
    done
    [[ -z $d ]] || return 1
    echo $(((total_ms + 999) / 1000))
}
