#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run): from a fresh clone, installs what is missing
# (dev/setup.sh), starts PostgreSQL and moto (dev/services.sh; stopped again on any exit), then
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets -- -D warnings
#   2a. cargo audit, offline, against the RustSec snapshot in ../shared/advisory-db
#   2b. template.yaml: sam validate, cfn-lint, and cfn-lint on the translated template
#   3. the test suite: cargo nextest run --workspace --no-fail-fast (cargo test without nextest)
#   4. the doc tests: cargo test --workspace --doc (nextest does not run them)
# Every phase runs even when an earlier one failed; the exit status is non-zero if any failed.
# Timings per phase go to stderr; the last line on stdout adds up both test runners:
# `tests: N passed, N failed, N skipped`.
#
#   dev/test.sh [ARGS...]   ARGS go to the test runner, e.g. a name filter: dev/test.sh postgres
# Plain filters also narrow the doc tests; with runner options (ARGS starting with '-') the doc
# tests are skipped, since nextest's options mean nothing to `cargo test --doc`.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

say() { printf '\n== %s\n' "$*" >&2; }

declare -a phase_names=() phase_secs=() phase_results=()
failed=0
# run_phase NAME COMMAND...: runs it, records its time and result, never stops the script.
run_phase() {
    local name=$1 start=$SECONDS rc=0
    shift
    local shown="$*"
    say "$name: ${shown#logged }"
    "$@" || rc=$?
    phase_names+=("$name")
    phase_secs+=($((SECONDS - start)))
    if ((rc == 0)); then
        phase_results+=(ok)
    else
        phase_results+=("FAILED (exit $rc)")
        failed=1
    fi
    printf '== %s: %s in %d s\n' "$name" "${phase_results[-1]}" "${phase_secs[-1]}" >&2
}

summary() {
    local i
    {
        printf '\n== dev/test.sh summary\n'
        for i in "${!phase_names[@]}"; do
            printf '   %-10s %5d s  %s\n' "${phase_names[$i]}" "${phase_secs[$i]}" "${phase_results[$i]}"
        done
        printf '   %-10s %5d s\n' total "$SECONDS"
    } >&2
}

services_state=''
test_log=''
cleanup() {
    local rc=$?
    if [[ -n "$test_log" ]]; then rm -f -- "$test_log"; fi
    if [[ -n "$services_state" ]]; then
        local start=$SECONDS
        dev/services.sh stop "$services_state" || rc=1
        printf '== services stopped in %d s\n' $((SECONDS - start)) >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- setup and services (a failure here stops the run) ------------------------------------------
say "setup: dev/setup.sh"
start=$SECONDS
# shellcheck source=dev/setup.sh
source dev/setup.sh --all
printf '== setup: ok in %d s\n' $((SECONDS - start)) >&2
phase_names+=(setup) phase_secs+=($((SECONDS - start))) phase_results+=(ok)

say "services: dev/services.sh start"
start=$SECONDS
services_env=$(dev/services.sh start)
eval "$services_env"
services_state=$RAITO_SERVICES_STATE
printf '== services: ok in %d s\n' $((SECONDS - start)) >&2
phase_names+=(services) phase_secs+=($((SECONDS - start))) phase_results+=(ok)

# ---- the checks -------------------------------------------------------------------------------------
run_phase fmt cargo fmt --all --check
run_phase clippy cargo clippy --workspace --all-targets -- -D warnings

# Cargo.lock against the RustSec advisories, offline: the snapshot next to the checkout
# (../shared/advisory-db, or RAITO_ADVISORY_DB). Any advisory (vulnerability, unmaintained,
# unsound) fails the phase with the crate and the advisory id; an accepted one is listed in
# .cargo/audit.toml with its reason. Yanked crates are not checked: that needs the live index.
audit_lock() {
    local db=${RAITO_ADVISORY_DB:-}
    if [[ -z "$db" ]]; then
        local candidate
        for candidate in "$repo_root/../shared/advisory-db" /work/shared/advisory-db; do
            if [[ -d "$candidate/crates" ]]; then
                db=$candidate
                break
            fi
        done
    fi
    if [[ -z "$db" || ! -d "$db" ]]; then
        echo "audit: no RustSec advisory database: expected ../shared/advisory-db next to the checkout, or set RAITO_ADVISORY_DB to a copy of https://github.com/rustsec/advisory-db" >&2
        return 1
    fi
    cargo audit --db "$db" --no-fetch --stale --no-yanked --deny warnings
}
run_phase audit audit_lock
# template.yaml, offline, by the three checks that together catch what each misses: the SAM
# translator's validation, cfn-lint on the template, and cfn-lint on the translated CloudFormation
# (plus the rule that no policy grants a write action on "*").
export SAM_CLI_TELEMETRY=0
run_phase sam-validate sam validate --region us-east-1 -t template.yaml
run_phase cfn-lint cfn-lint template.yaml
run_phase translated python3 dev/check-template.py template.yaml

# The test runners' output is also kept in a log, to add up the counts at the end.
test_log=$(mktemp "${TMPDIR:-/tmp}/raito-test-log.XXXXXX")
color=never
if [[ -t 2 ]]; then color=always; fi
# logged COMMAND...: runs it with its output (stdout and stderr) shown and appended to the log.
logged() { "$@" 2>&1 | tee -a "$test_log"; }

if command -v cargo-nextest >/dev/null 2>&1; then
    run_phase tests logged cargo nextest run --workspace --no-fail-fast --color "$color" "$@"
    doc_args=()
    run_doc=1
    for arg in "$@"; do
        if [[ "$arg" == -* ]]; then run_doc=0; fi
    done
    if (($#)); then doc_args=(-- "$@"); fi
    if ((run_doc)); then
        run_phase doctests logged cargo test --workspace --doc --color "$color" "${doc_args[@]}"
    else
        say "doctests: skipped (runner options given: $*)"
    fi
else
    say "cargo-nextest not found: running cargo test (doc tests included)"
    run_phase tests logged cargo test --workspace --no-fail-fast --color "$color" "$@"
fi

# Totals over both runners: nextest's "Summary [...] N tests run: P passed, F failed, S skipped"
# and libtest's "test result: ok. P passed; F failed; I ignored; ...".
read -r passed failed_tests skipped < <(sed 's/\x1b\[[0-9;]*m//g' "$test_log" | awk '
    / Summary \[.*tests? run:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i
            if ($(i + 1) ~ /^failed/) f += $i
            if ($(i + 1) ~ /^skipped/) s += $i
        }
    }
    /^test result: / {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i
            if ($(i + 1) ~ /^failed/) f += $i
            if ($(i + 1) ~ /^ignored/) s += $i
        }
    }
    END { print p + 0, f + 0, s + 0 }')

summary
if ((failed)); then
    printf '== dev/test.sh: FAILED\n' >&2
else
    printf '== dev/test.sh: all phases passed\n' >&2
fi
# The closing line, over all test runners (CI reads it).
printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed_tests" "$skipped"
if ((failed)); then exit 1; fi
