#!/usr/bin/env bash
# Command 2: install what is needed, build with AddressSanitizer + UBSan and
# run every test (unit, end-to-end against real nats-server, PostgreSQL and
# the platform sandbox, bounded fuzzing). .ci/run calls exactly this.
#
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

scripts/setup.sh

BUILD=${AUTOPOST_TEST_BUILD:-$ROOT/build-asan}
JOBS=$(nproc 2>/dev/null || echo 2)

echo "test: building with sanitizers in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DAUTOPOST_SANITIZE=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS"

FUZZ_BUILD=${AUTOPOST_FUZZ_BUILD:-$ROOT/build-fuzz}
if command -v clang >/dev/null 2>&1 && [[ ${AUTOPOST_SKIP_FUZZ:-0} != 1 ]]; then
    echo "test: building fuzz targets with clang in $FUZZ_BUILD"
    CC=clang cmake -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=Debug -DAUTOPOST_FUZZ=ON \
        >/dev/null
    cmake --build "$FUZZ_BUILD" -j"$JOBS" --target autopost_fuzz_all
fi

# Leaks in our code fail the run; the suppressions cover third-party
# libraries' process-lifetime allocations only.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
ctest --test-dir "$BUILD" --output-on-failure "$@" || status=$?
if [[ -d $FUZZ_BUILD && ${AUTOPOST_SKIP_FUZZ:-0} != 1 && $# -eq 0 ]]; then
    ctest --test-dir "$FUZZ_BUILD" -L fuzz --output-on-failure || status=$?
fi
exit "$status"
