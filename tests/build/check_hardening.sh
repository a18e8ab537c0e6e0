#!/usr/bin/env bash
# check_hardening.sh BIN_DIR FAILPOINTS HARDEN FORTIFY -- what CMake's
# AUTOPOST_HARDEN and AUTOPOST_FAILPOINTS promise, read from the built
# programs with readelf: PIE, full RELRO (GNU_RELRO + BIND_NOW), the stack
# protector, _FORTIFY_SOURCE's checked calls in optimised builds, and no
# failpoint (neither the function nor the variable's name) when they are off.
# ctest runs it on its own build (tests/CMakeLists.txt); a Release build is
# the one that must pass all of it.
set -euo pipefail
bin=$1 failpoints=$2 harden=$3 fortify=$4
command -v readelf >/dev/null || { echo "skipped: no readelf"; exit 77; }
programs=(autopost-scheduler autopost-publisher autopost-dispatcher autopostctl autopost-console
    autopost-webhooks)
problems=0
problem() { printf 'FAIL: %s\n' "$*" >&2; problems=$((problems + 1)); }

for p in "${programs[@]}"; do
    f=$bin/$p
    [[ -x $f ]] || { problem "$p: not built in $bin"; continue; }
    # Read whole, then searched: grep -q in a pipe would SIGPIPE readelf.
    header=$(readelf -hlW "$f") dynamic=$(readelf -dW "$f") symbols=$(readelf -sW "$f")
    if [[ $harden == ON ]]; then
        grep -qE 'Type:[[:space:]]+DYN' <<<"$header" || problem "$p: not PIE"
        grep -q GNU_RELRO <<<"$header" || problem "$p: no RELRO segment"
        grep -qE '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' <<<"$dynamic" ||
            problem "$p: no BIND_NOW (RELRO is partial)"
        grep -q '__stack_chk_fail' <<<"$symbols" || problem "$p: no stack protector"
        if [[ $fortify == ON ]]; then
            grep -qE '__[a-z_]+_chk@' <<<"$symbols" || problem "$p: no _FORTIFY_SOURCE checked call"
        fi
    fi
    if [[ $failpoints == OFF ]]; then
        if grep -q 'ap_failpoint' <<<"$symbols"; then problem "$p: has the ap_failpoint symbol"; fi
        if grep -aq AUTOPOST_FAILPOINT "$f"; then problem "$p: has the AUTOPOST_FAILPOINT string"; fi
    fi
done
[[ $problems -eq 0 ]] || exit 1
echo "ok: ${programs[*]}: harden=$harden fortify=$fortify failpoints=$failpoints"
