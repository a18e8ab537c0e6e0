#!/usr/bin/env bash
# deploy/grafana/autopost.json is a valid Grafana dashboard and every metric
# it queries is one the services register (common/, publishers/, scheduler/,
# dispatcher/): a renamed metric breaks this test instead of leaving an empty
# panel. Histograms may only be queried through _bucket/_sum/_count, and
# everything else never with those suffixes. Static: no stack needed.
set -euo pipefail
: "${AUTOPOST_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
if ! command -v jq >/dev/null 2>&1; then
    echo "SKIP: jq not found (scripts/setup.sh installs it)"
    exit 77
fi
DASH=$AUTOPOST_SRC/deploy/grafana/autopost.json
problems=0
problem() {
    printf 'FAIL: %s\n' "$*" >&2
    problems=$((problems + 1))
}

jq empty "$DASH" || { echo "FAIL: $DASH is not valid JSON" >&2; exit 1; }
[[ $(jq -r .uid "$DASH") == autopost && -n $(jq -r '.title // empty' "$DASH") ]] || problem "uid/title"
[[ $(jq '[.panels[] | select(.type != "row")] | length' "$DASH") -ge 8 ]] || problem "too few panels"
[[ $(jq '[.panels[].id] | length == (unique | length)' "$DASH") == true ]] || problem "panel ids repeat"
jq -r '.panels[] | select(.type != "row") | select((.targets // []) | length == 0) | .title' "$DASH" |
    while read -r t; do [[ -z $t ]] || echo "panel without queries: $t"; done >"${TMPDIR:-/tmp}/dash.$$"
[[ ! -s ${TMPDIR:-/tmp}/dash.$$ ]] || problem "$(cat "${TMPDIR:-/tmp}/dash.$$")"
rm -f "${TMPDIR:-/tmp}/dash.$$"
[[ $(jq '[.panels[].gridPos | select(.x + .w > 24)] | length' "$DASH") == 0 ]] || problem "a panel is wider than the grid"
[[ $(jq '[.. | .datasource? | objects | select(.uid != "${datasource}")] | length' "$DASH") == 0 ]] ||
    problem "a query names a datasource other than the \${datasource} variable"

# The metrics the code registers: "kind name" per line.
registered=$(cat "$AUTOPOST_SRC"/{common,publishers,scheduler,dispatcher}/*.c | tr '\n' ' ' |
    grep -oE 'ap_metrics_(counter|gauge|histogram)\([^,()]*,[[:space:]]*"autopost_[a-z0-9_]+"' |
    sed -E 's/ap_metrics_([a-z]+)\(.*"(autopost_[a-z0-9_]+)"/\1 \2/' | sort -u)
[[ $(wc -l <<<"$registered") -ge 15 ]] || problem "found only $(wc -l <<<"$registered") registered metrics: the scan is broken"
kind_of() { awk -v n="$1" '$2 == n { print $1; exit }' <<<"$registered"; }

exprs=$(jq -r '.. | .expr? // empty' "$DASH")
[[ -n $exprs ]] || problem "no queries"
queried=$(grep -oE 'autopost_[a-z0-9_]+' <<<"$exprs" | sort -u)
for m in $queried; do
    base=$m
    if [[ $m =~ ^(.*)_(bucket|sum|count)$ ]] && [[ $(kind_of "${BASH_REMATCH[1]}") == histogram ]]; then
        continue
    fi
    case $(kind_of "$base") in
        counter | gauge) ;;
        histogram) problem "$m is a histogram: query ${m}_bucket, _sum or _count" ;;
        *) problem "$m is queried but no service registers it" ;;
    esac
done
# Label names used in by (...) / without (...) are ones the metrics carry
# (README "Metrics and health"), or Prometheus's own.
for l in $(grep -oE '(by|without) \([^)]*\)' <<<"$exprs" | sed -E 's/.*\((.*)\)/\1/' | tr ', ' '\n\n' | sort -u); do
    case $l in
        platform | outcome | status | cause | stream | consumer | type | service | version | le | instance | job) ;;
        *) problem "label $l is not one autopost metrics carry" ;;
    esac
done
((problems == 0)) || exit 1
echo "PASS: grafana dashboard: $(jq '[.panels[] | select(.type != "row")] | length' "$DASH") panels, $(wc -l <<<"$queried") series names, all registered"
