#!/usr/bin/env bash
# Bench part `coldstart`: each function binary (functions/*, release, each built on its own as
# `sam build` and `cargo lambda build` build them: built together, cargo would unify the
# features of raito-common and every binary would carry every connector) started RUNS times
# (default 20) against a local Lambda Runtime API by `coldstart` (dev/lambda-harness): the
# median time from spawn to the function's first answer to one Function URL GET (target
# <= 30 ms), and to its first poll (ready). The functions: sync-metadata, sync-identities,
# sync-usage, sync-access and trigger-listener (which answers that GET with an error at once:
# it takes only its schedule's input), or those named in BENCH_FUNCTIONS. Then each function's
# deployment zip:
# `cargo lambda build --release --arm64 --output-format zip` (cargo-lambda and zig from the
# venv of `dev/setup.sh --all`; target <= 10 MB each), or with BENCH_ZIP=host the zip of the
# x86_64 release binary named `bootstrap` (a fallback where the arm64 build is not possible).
#
#   dev/bench/coldstart.sh              the rows on stdout, progress on stderr
#   BENCH_RUNS=50 dev/bench/coldstart.sh
#   BENCH_ZIP=host dev/bench/coldstart.sh
#   BENCH_FUNCTIONS="trigger-listener" dev/bench/coldstart.sh   only these functions
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init coldstart

runs=${BENCH_RUNS:-20}
all_functions=(sync-metadata sync-identities sync-usage sync-access trigger-listener)
read -r -a functions <<<"${BENCH_FUNCTIONS:-${all_functions[*]}}"
for f in "${functions[@]}"; do
    if [[ ! " ${all_functions[*]} " == *" $f "* ]]; then
        echo "bench coldstart: BENCH_FUNCTIONS names functions of ${all_functions[*]}, not $f" >&2
        exit 2
    fi
done
bench_build lambda-harness
bench_build_functions "${functions[@]}"

# Functions without a release binary (BENCH_BUILT=1 with a partial build) get a row saying so.
missing=()
binaries=()
for f in "${functions[@]}"; do
    if [[ -x "$release/$f" ]]; then binaries+=("$release/$f"); else missing+=("$f"); fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    functions=()
    for b in "${binaries[@]}"; do functions+=("$(basename "$b")"); done
fi
say "cold starts: ${functions[*]}, $runs each"
"$release/coldstart" --runs "$runs" "${binaries[@]}" >"$work/coldstart.txt"
cat "$work/coldstart.txt" >&2

zip_mode=${BENCH_ZIP:-arm64}
declare -A zip_bytes
case $zip_mode in
arm64)
    say "cargo lambda build --release --arm64 --output-format zip (slow the first time)"
    # shellcheck source=dev/setup.sh
    source dev/setup.sh --all >&2
    lambda_dir="$work/lambda"
    for f in "${functions[@]}"; do
        cargo lambda build --release --arm64 --output-format zip --lambda-dir "$lambda_dir" -p "$f" >&2
        zip_bytes[$f]=$(stat -c %s "$lambda_dir/$f/bootstrap.zip")
    done
    zip_label="arm64 zip (cargo lambda)"
    ;;
host)
    for f in "${functions[@]}"; do
        mkdir -p "$work/zip/$f"
        cp "$release/$f" "$work/zip/$f/bootstrap"
        (cd "$work/zip/$f" && python3 -c 'import sys, zipfile
with zipfile.ZipFile("bootstrap.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open("bootstrap", "rb").read())')
        zip_bytes[$f]=$(stat -c %s "$work/zip/$f/bootstrap.zip")
    done
    zip_label="x86_64 zip (BENCH_ZIP=host)"
    ;;
*)
    echo "bench coldstart: BENCH_ZIP is arm64 (default) or host, not $zip_mode" >&2
    exit 2
    ;;
esac

bench_header
while read -r name median min max ready count answer; do
    bench_row coldstart "$name: spawn -> first answer, median of $count ($answer; min $min, max $max)" \
        "$median ms" - "<= 30 ms" "$(bench_met "$median <= 30")"
    bench_row coldstart "$name: spawn -> ready (first poll), median" "$ready ms"
done <"$work/coldstart.txt"
for f in ${missing[@]+"${missing[@]}"}; do
    bench_row coldstart "$f" "(no release binary at $release/$f)"
done
for f in "${functions[@]}"; do
    mb=$(bench_calc "${zip_bytes[$f]} / 1000000")
    bench_row coldstart "$f: $zip_label" "$mb MB" - "<= 10 MB" "$(bench_met "$mb <= 10")"
done
