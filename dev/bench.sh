#!/usr/bin/env bash
# The benchmark (issue 7): builds the release binaries once, runs each part (dev/bench/<part>.sh,
# each with its own generated data and its own services, stopped again on any exit) and prints
# ONE Markdown table on stdout: part | figure | value | baseline | target | met. Every baseline
# is measured in the same run, on the same machine. Progress goes to stderr. Not part of the
# test command: timing never fails anything; the exit status is 1 only when a part could not run.
#
#   dev/bench.sh [PART...]     parts: metadata access usage identities trigger webhook coldstart
#                              snowflake (default: all)
#   BENCH_QUICK=1 dev/bench.sh every size divided by 10 (to try it out)
#   BENCH_KEEP=1 dev/bench.sh  keep the temp dirs (configs, generated data, outputs, time logs)
#   BENCH_ZIP=host             coldstart: zip the x86_64 release binaries instead of
#                              `cargo lambda build --release --arm64 --output-format zip`
#
# Each part runs alone too (`dev/bench/usage.sh`), with the sizes it documents.
set -euo pipefail

all_parts=(metadata access usage identities trigger webhook coldstart snowflake)
parts=("$@")
if [[ ${#parts[@]} -eq 0 ]]; then parts=("${all_parts[@]}"); fi
for part in "${parts[@]}"; do
    if [[ ! " ${all_parts[*]} " == *" $part "* ]]; then
        echo "usage: dev/bench.sh [PART...]   (parts: ${all_parts[*]})" >&2
        exit 2
    fi
done

# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/lib.sh"
bench_init all

packages=(raito-sync)
for part in "${parts[@]}"; do
    case $part in
    identities) packages+=(okta-standin) ;;
    snowflake) packages+=(snowflake-standin) ;;
    # The functions are built one by one by the part itself (see dev/bench/coldstart.sh).
    trigger | webhook | coldstart) packages+=(lambda-harness) ;;
    esac
done
bench_build "${packages[@]}"
# BENCH_BUILT=1 from the caller also means the functions are built.
export BENCH_FUNCTIONS_BUILT=${BENCH_BUILT:-0}
export BENCH_BUILT=1 BENCH_DRIVER=1 BENCH_WORK=$work

started=$SECONDS
failed=()
for part in "${parts[@]}"; do
    say "part $part"
    part_started=$SECONDS
    if ! bash "dev/bench/$part.sh" >"$work/$part.rows"; then
        failed+=("$part")
        bench_row "$part" "(failed: see the messages above)" - >>"$work/$part.rows"
    fi
    say "part $part done in $((SECONDS - part_started)) s"
done
say "all done in $((SECONDS - started)) s"

unset BENCH_DRIVER
{
    echo
    echo "raito-sync bench$([[ "${BENCH_QUICK:-0}" == 1 ]] && echo ' (BENCH_QUICK=1: sizes / 10)'), $(date -u +%Y-%m-%d), $(nproc) cores, $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
    echo
    bench_header
    for part in "${parts[@]}"; do cat "$work/$part.rows"; done
}
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "bench: failed: ${failed[*]}" >&2
    exit 1
fi
