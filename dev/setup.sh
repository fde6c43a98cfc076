#!/usr/bin/env bash
# Installs what the dev scripts need on a fresh machine of the project's kind (Debian 12, root,
# rustup), and nothing that is already there:
#   - Debian packages, only when a binary they provide is missing;
#   - the Rust components rustfmt and clippy;
#   - ONE Python virtual environment with the tools pinned in dev/requirements.txt (cargo-lambda,
#     zig, SAM CLI, cfn-lint, moto server, boto3), kept outside the repo in
#     ${RAITO_DEV_CACHE:-$HOME/.cache/raito-sync}/venv-<hash of requirements.txt> so re-runs
#     and other clones reuse it;
#   - cargo-audit (pinned), built once into ${RAITO_DEV_CACHE:-$HOME/.cache/raito-sync}/tools/
#     and put on PATH with the venv.
#
# Use:
#   source dev/setup.sh --all|--no-venv [--pg-versions LIST]
#       puts the venv's bin and the tools first on PATH, exports RAITO_VENV
#   eval "$(dev/setup.sh [--all|--no-venv] [--pg-versions LIST])"
#       the same, for a caller that runs it
# --all (the default): everything. --no-venv: Debian packages and Rust only (enough for
# dev/demo.sh and dev/bench.sh). A script that sources this file passes one of the two
# explicitly: `source` without arguments would hand it the script's own positional parameters.
# --pg-versions LIST (e.g. 13,14,16 or all): also the PostgreSQL server builds of those majors
# pinned in dev/pg/versions.txt (dev/pg/install.sh, with npm), for `dev/services.sh start
# --pg-version(s)`; without it nothing of them is looked at.
# Everything but the final `export` lines goes to stderr.
#
# The installing is done by a child `bash` process with `set -euo pipefail` of its own, so that
# sourcing this file neither changes the caller's shell options nor runs with `set -e` silently
# disabled (as it would be inside `cmd || ...`).

_raito_setup_main() {
    set -euo pipefail

    local repo_root
    repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

    local want_venv=1 pg_versions=''
    local cache_root="${RAITO_DEV_CACHE:-$HOME/.cache/raito-sync}"
    local tools_bin=
    while (($#)); do
        case "$1" in
        --all) want_venv=1 ;;
        --no-venv) want_venv=0 ;;
        --pg-versions=*) pg_versions=${1#--pg-versions=} ;;
        --pg-versions)
            if (($# < 2)); then
                echo "setup: --pg-versions needs a list, e.g. --pg-versions 13,14,16 or --pg-versions all" >&2
                return 2
            fi
            pg_versions=$2
            shift
            ;;
        *)
            echo "setup: unknown argument: $1 (usage: dev/setup.sh [--all|--no-venv] [--pg-versions LIST])" >&2
            return 2
            ;;
        esac
        shift
    done

    log() { printf 'setup: %s\n' "$*" >&2; }

    # ---- Debian packages: only when a binary is missing --------------------------------------
    local -a packages=()
    need() { # need PACKAGE PATH_OR_COMMAND
        local pkg=$1 bin=$2
        if [[ "$bin" == /* ]]; then
            [[ -e "$bin" ]] && return 0 # a binary, or a library such as pgaudit.so
        else
            command -v "$bin" >/dev/null 2>&1 && return 0
        fi
        packages+=("$pkg")
    }
    # PostgreSQL 15 server and client; Debian's postgresql-15 also carries the contrib
    # extensions (file_fdw, postgres_fdw) the demo warehouse uses.
    need postgresql-15 /usr/lib/postgresql/15/bin/postgres
    need postgresql-client-15 /usr/lib/postgresql/15/bin/psql
    need time /usr/bin/time  # dev/bench.sh: peak RSS via `time -v`
    need openssl openssl     # dev/services.sh: the test cluster's self-signed certificate
    need util-linux flock    # serialises concurrent venv builds
    # A real LDAP server for the LDAP connector's tests (dev/services.sh runs a throwaway one).
    need slapd /usr/sbin/slapd
    need ldap-utils ldapadd
    # pgaudit, for the usage sync's tests (audit lines in the test cluster's log).
    need postgresql-15-pgaudit /usr/lib/postgresql/15/lib/pgaudit.so
    # npm fetches the other PostgreSQL versions (dev/pg/install.sh), only when they are asked for.
    if [[ -n "$pg_versions" ]]; then
        need npm npm
    fi
    if ((want_venv)) && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        packages+=(python3-venv)
    fi

    if ((${#packages[@]})); then
        local -a sudo=()
        if ((EUID != 0)); then
            command -v sudo >/dev/null 2>&1 || {
                log "missing Debian packages (${packages[*]}) and not root: install them, then re-run"
                return 1
            }
            sudo=(sudo)
        fi
        log "installing Debian packages: ${packages[*]}"
        # slapd: no system instance; dev/services.sh starts its own.
        echo "slapd slapd/no_configuration boolean true" | "${sudo[@]}" debconf-set-selections
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
    fi

    # ---- Other PostgreSQL versions, only when asked for ----------------------------------------
    # The server builds pinned in dev/pg/versions.txt, verified and unpacked once into
    # $cache_root/postgres/<version>/ (later runs: a few milliseconds). dev/services.sh also
    # installs the one it starts on demand.
    if [[ -n "$pg_versions" ]]; then
        RAITO_DEV_CACHE="$cache_root" "$repo_root/dev/pg/install.sh" "$pg_versions" >/dev/null
    fi

    # ---- Rust ----------------------------------------------------------------------------------
    command -v cargo >/dev/null 2>&1 || {
        log "cargo not found: install Rust with rustup (https://rustup.rs) and re-run"
        return 1
    }
    if command -v rustup >/dev/null 2>&1; then
        local installed comp
        installed=$(cd "$repo_root" && { rustup component list --installed 2>/dev/null || true; })
        for comp in rustfmt clippy; do
            if ! grep -q "^$comp" <<<"$installed"; then
                log "adding Rust component $comp"
                (cd "$repo_root" && rustup component add "$comp") >&2
            fi
        done
    fi

    ((want_venv)) || return 0

    # ---- cargo-audit, pinned, built once into the cache ---------------------------------------
    # dev/test.sh checks Cargo.lock against the offline RustSec snapshot with it. Built from
    # crates.io (a few minutes, first run only) into a directory named after its version, moved
    # into place only once `cargo install` succeeded.
    local audit_version=0.22.2
    local audit_root="$cache_root/tools/cargo-audit-$audit_version"
    if [[ ! -x "$audit_root/bin/cargo-audit" ]]; then
        local audit_lock audit_build
        mkdir -p "$cache_root/tools"
        exec {audit_lock}>"$audit_root.lock"
        flock "$audit_lock" # another setup may be building it
        if [[ ! -x "$audit_root/bin/cargo-audit" ]]; then
            rm -rf -- "$audit_root".build.*
            audit_build=$(mktemp -d "$audit_root.build.XXXXXX")
            log "building cargo-audit $audit_version into $audit_root (first run only, a few minutes)"
            if ! cargo install --quiet --locked --version "$audit_version" --root "$audit_build" \
                cargo-audit >&2; then
                rm -rf -- "$audit_build"
                log "cargo install cargo-audit $audit_version failed"
                return 1
            fi
            rm -rf -- "$audit_root"
            mv -T "$audit_build" "$audit_root"
        fi
        flock -u "$audit_lock"
        exec {audit_lock}>&-
    fi
    tools_bin="$audit_root/bin"

    # ---- The Python venv -----------------------------------------------------------------------
    # A venv cannot be moved after pip installed into it (its scripts carry its absolute path), so
    # "atomic" is done with a symlink: the venv is built in a uniquely named directory that it
    # keeps for life, and the name venv-<hash> (a symlink to it) is renamed into place only once
    # the install succeeded. An interrupted build leaves no venv-<hash>; the next run, holding the
    # lock, removes its leftovers.
    local requirements="$repo_root/dev/requirements.txt"
    local cache="$cache_root"
    local hash venv
    hash=$(sha256sum "$requirements" | cut -c1-12)
    venv="$cache/venv-$hash"
    mkdir -p "$cache"

    # Complete (the symlink exists only after a successful install) and its interpreter runs.
    venv_ok() { [[ -x "$venv/bin/moto_server" ]] && "$venv/bin/python" -c '' >/dev/null 2>&1; }

    if ! venv_ok; then
        local lock_fd
        exec {lock_fd}>"$venv.lock"
        if ! flock -n "$lock_fd"; then
            log "waiting for another setup building the venv (lock: $venv.lock)"
            flock "$lock_fd"
        fi
        if ! venv_ok; then
            local stale
            for stale in "$venv".build.*; do
                [[ -e "$stale" ]] && rm -rf -- "$stale"
            done
            rm -f -- "$venv" # a symlink to a broken venv
            local build start=$SECONDS
            build=$(mktemp -d "$venv.build.XXXXXX")
            log "building the Python venv in $build (first run only, about 2 minutes)"
            python3 -m venv "$build" >&2
            if ! "$build/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
                -r "$requirements" >&2; then
                rm -rf -- "$build"
                log "pip install failed (requirements: $requirements)"
                return 1
            fi
            ln -s "$(basename "$build")" "$venv.new.$$"
            mv -T "$venv.new.$$" "$venv"
            log "venv ready in $((SECONDS - start)) s: $venv"
        fi
        flock -u "$lock_fd"
        exec {lock_fd}>&-
    fi
    # Remove venvs of older requirements.txt versions? No: another clone may still use them.
    # Two lines for the caller: the venv, and the directory of the cached Rust tools.
    printf '%s\n%s\n' "$venv" "$tools_bin"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    # Run: do the work, print eval-able exports.
    set -euo pipefail
    if [[ "${1:-}" == "--print-venv" ]]; then
        shift
        _raito_setup_main "$@"
        exit
    fi
    _raito_out=$(bash "${BASH_SOURCE[0]}" --print-venv "$@")
    _raito_venv=$(sed -n 1p <<<"$_raito_out")
    _raito_tools=$(sed -n 2p <<<"$_raito_out")
    if [[ -n "$_raito_venv" ]]; then
        printf 'export RAITO_VENV=%q\n' "$_raito_venv"
        printf 'export PATH=%q\n' "$_raito_tools:$_raito_venv/bin:$PATH"
    fi
else
    # Sourced: the work in a child process, then export into the caller's shell.
    _raito_out=$(bash "${BASH_SOURCE[0]}" --print-venv "$@") || return
    _raito_venv=$(sed -n 1p <<<"$_raito_out")
    _raito_tools=$(sed -n 2p <<<"$_raito_out")
    if [[ -n "$_raito_venv" ]]; then
        export RAITO_VENV="$_raito_venv"
        case ":$PATH:" in
        *":$_raito_venv/bin:"*) ;;
        *) export PATH="$_raito_venv/bin:$PATH" ;;
        esac
    fi
    if [[ -n "$_raito_tools" ]]; then
        case ":$PATH:" in
        *":$_raito_tools:"*) ;;
        *) export PATH="$_raito_tools:$PATH" ;;
        esac
    fi
    unset _raito_venv _raito_tools _raito_out
fi
