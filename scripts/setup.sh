#!/usr/bin/env bash
# Install everything autopost needs to build and test on Debian 12.
#
# Idempotent: when every package is already installed it only runs one
# dpkg-query and exits.  `apt-get update` runs only when something is
# missing and it has not been done yet in this boot (a marker holds the boot
# id), or when an install attempt without it failed.
#
# Usage: scripts/setup.sh        (as root, or as a user with sudo)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
    build-essential cmake git pkg-config ca-certificates curl procps iproute2
    nats-server libnats-dev libprotobuf-c-dev protobuf-c-compiler
    libpq-dev postgresql postgresql-client
    libcurl4-openssl-dev libyaml-dev libmicrohttpd-dev libssl-dev libjansson-dev
    libunistring-dev libical-dev tzdata
    clang libclang-rt-14-dev jq openssl
)

# Needed only by tests, never by a build: not in the Dockerfile's build
# stage (tests/e2e/test_deploy_manifests.sh compares PACKAGES alone).
# chromium: tests/e2e/test_console.sh loads the web console headless.
# AUTOPOST_SETUP_TEST_PACKAGES=0 leaves them out.
#
# These two lists are everything tests/, bench/ and scripts/ run beyond
# what every Debian 12 has (its required packages: coreutils, grep, sed, mawk,
# util-linux, findutils): the tests also use curl, jq, openssl (certificates),
# procps (pgrep), iproute2 (ss), postgresql-client (psql, pg_dump),
# binutils (readelf, from build-essential) and clang (fuzzing), all in
# PACKAGES. A new tool in a test goes into one of the lists; Python is not
# one (tests/tools/ holds the small C helpers instead). kubectl is not
# packaged in Debian 12: the tests that need it skip (README.md says which).
TEST_PACKAGES=(chromium)
if [[ ${AUTOPOST_SETUP_TEST_PACKAGES:-1} != 0 ]]; then
    PACKAGES+=("${TEST_PACKAGES[@]}")
fi

MARKER_DIR=/var/lib/autopost-setup
MARKER="$MARKER_DIR/apt-updated-boot-id"

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        SUDO=(__no_root__)
    fi
fi

as_root() {
    if [[ ${SUDO[0]:-} == __no_root__ ]]; then
        die "not root and sudo is not available; cannot run: $*"
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "$@"
}

# Print the packages of PACKAGES that are not fully installed.
missing_packages() {
    local installed name status p
    local -A ok=()
    # dpkg-query exits 1 when it does not know a package at all; the known
    # ones are still printed, which is all we need.
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    while read -r name status; do
        if [[ $status == ii ]]; then ok[$name]=1; fi
    done <<<"$installed"
    for p in "${PACKAGES[@]}"; do
        [[ -n ${ok[$p]:-} ]] || printf '%s\n' "$p"
    done
}

boot_id() {
    cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown-boot
}

apt_updated_this_boot() {
    [[ -r $MARKER ]] && [[ "$(cat "$MARKER" 2>/dev/null)" == "$(boot_id)" ]]
}

apt_update() {
    log "running apt-get update"
    as_root apt-get -q -o DPkg::Lock::Timeout=300 update
    as_root mkdir -p "$MARKER_DIR"
    boot_id | as_root tee "$MARKER" >/dev/null
}

apt_install() {
    as_root apt-get -q -y -o DPkg::Lock::Timeout=300 \
        -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install --no-install-recommends "$@"
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script is for Debian"

mapfile -t MISSING < <(missing_packages)

if [[ ${#MISSING[@]} -eq 0 ]]; then
    log "all ${#PACKAGES[@]} packages already present, nothing to do"
else
    log "missing ${#MISSING[@]} package(s): ${MISSING[*]}"
    updated=0
    if ! apt_updated_this_boot; then
        apt_update
        updated=1
    fi
    if ! apt_install "${MISSING[@]}"; then
        if [[ $updated -eq 1 ]]; then
            die "apt-get install failed"
        fi
        log "install failed with the current package lists; updating and retrying"
        apt_update
        apt_install "${MISSING[@]}"
    fi
    mapfile -t STILL < <(missing_packages)
    if [[ ${#STILL[@]} -ne 0 ]]; then
        die "still missing after install: ${STILL[*]}"
    fi
    log "installed: ${MISSING[*]}"
fi

# Short summary of what the project relies on.
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
PG_BIN=/usr/lib/postgresql/15/bin
[[ -x $PG_BIN/postgres && -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] \
    || die "PostgreSQL 15 server binaries not found in $PG_BIN"
command -v nats-server >/dev/null 2>&1 || die "nats-server not on PATH"
log "nats-server $(ver nats-server), libnats $(ver libnats-dev), postgresql-15 $(ver postgresql-15)," \
    "clang $(ver clang), cmake $(ver cmake), protobuf-c $(ver protobuf-c-compiler)"
log "done"
