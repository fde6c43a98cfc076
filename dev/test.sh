#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run): from a fresh clone, installs what is missing
# (dev/setup.sh), starts PostgreSQL and moto (dev/services.sh; stopped again on any exit), then
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets -- -D warnings
#   2a. cargo audit, offline, against the RustSec snapshot in ../shared/advisory-db
#   2b. template.yaml: sam validate, cfn-lint, and cfn-lint on the translated template
#   3. the test suite: cargo nextest run --workspace --no-fail-fast (cargo test without nextest)
#   4. the doc tests: cargo test --workspace --doc (nextest does not run them)
#   5. per other PostgreSQL major version (13, 14, 16, 17, 18: dev/pg/versions.txt), a phase
#      pgN: the PostgreSQL tests (dev/pg/tests.filter) against that version's cluster, each
#      expected to pass except the known failures listed in dev/pg/known-failures.txt
# Every phase runs even when an earlier one failed; the exit status is non-zero if any failed.
# Timings per phase go to stderr; the last line on stdout adds up both test runners:
# `tests: N passed, N failed, N skipped`.
#
#   dev/test.sh [ARGS...]   ARGS go to the test runner, e.g. a name filter: dev/test.sh postgres
# RAITO_PG_VERSIONS picks the other versions (default all; e.g. 16,18; `none` leaves them out).
# Plain filters also narrow the doc tests; with runner options (ARGS starting with '-') the doc
# tests are skipped, since nextest's options mean nothing to `cargo test --doc`.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

say() { printf '\n== %s\n' "$*" >&2; }

declare -a phase_names=() phase_secs=() phase_results=()
failed=0
phase_note='' # set by a phase's command: shown after its result
# run_phase NAME COMMAND...: runs it, records its time and result, never stops the script.
run_phase() {
    local name=$1 start=$SECONDS rc=0
    shift
    local shown="$*"
    say "$name: ${shown#logged }"
    phase_note=''
    "$@" || rc=$?
    phase_names+=("$name")
    phase_secs+=($((SECONDS - start)))
    if ((rc == 0)); then
        phase_results+=("ok${phase_note:+ ($phase_note)}")
    else
        phase_results+=("FAILED (exit $rc)${phase_note:+ ($phase_note)}")
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
pg_log=''
cleanup() {
    local rc=$?
    if [[ -n "$test_log" ]]; then rm -f -- "$test_log"; fi
    if [[ -n "$pg_log" ]]; then rm -f -- "$pg_log"; fi
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
# The other PostgreSQL versions: RAITO_PG_VERSIONS, or every pinned major but Debian's 15.
pg_versions=${RAITO_PG_VERSIONS:-all}
if [[ "$pg_versions" == all ]]; then
    pg_versions=$(awk '$1 ~ /^[0-9]+$/ && $1 != 15 { print $1 }' dev/pg/versions.txt | paste -sd,)
elif [[ "$pg_versions" == none ]]; then
    pg_versions=''
fi
declare -a pg_setup_args=()
if [[ -n "$pg_versions" ]]; then pg_setup_args=(--pg-versions "$pg_versions"); fi

say "setup: dev/setup.sh"
start=$SECONDS
# shellcheck source=dev/setup.sh
source dev/setup.sh --all "${pg_setup_args[@]}"
printf '== setup: ok in %d s\n' $((SECONDS - start)) >&2
phase_names+=(setup) phase_secs+=($((SECONDS - start))) phase_results+=(ok)

say "services: dev/services.sh start"
start=$SECONDS
services_env=$(dev/services.sh start "${pg_setup_args[@]}")
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

# ---- the PostgreSQL tests on the other major versions (issue 19) ----------------------------------
# One phase per version, after the main one, on the binaries it built: the tests of
# dev/pg/tests.filter with RAITO_TEST_PG_* pointed at that version's cluster (`dev/services.sh
# env N`). The phase passes when exactly the tests dev/pg/known-failures.txt lists for the
# version fail: another failure fails it, and so does a listed test that passes or did not run
# (its line must go). Their passes and unexpected failures count in the closing line; the
# expected failures are named in the phase's output and counted in its summary line.
pg_filter=$(grep -v '^[[:space:]]*#' dev/pg/tests.filter | tr '\n' ' ')
pg_passed=0
pg_failed=0
declare -a pg_runner_args=()
for arg in "$@"; do
    # Name filters narrow these phases too; runner options are for the main phase only.
    if [[ "$arg" != -* ]]; then pg_runner_args+=("$arg"); fi
done
pg_phase() { # pg_phase MAJOR
    local major=$1 rc=0
    : >"$pg_log"
    (
        eval "$(dev/services.sh env "$major" "$services_state")" || exit 1
        # The cluster answers, over verify-full TLS, and is the version this phase is for.
        local num
        num=$(PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGCONNECT_TIMEOUT=10 \
            /usr/lib/postgresql/15/bin/psql -X -A -t -q -c 'SHOW server_version_num' \
            "host=$RAITO_TEST_PG_HOST port=$RAITO_TEST_PG_PORT user=$RAITO_TEST_PG_USER dbname=postgres sslmode=verify-full sslrootcert=$RAITO_TEST_PG_CA_CERT") ||
            exit 1
        if ((num / 10000 != major)); then
            echo "the cluster of PostgreSQL $major answers as version $num" >&2
            exit 1
        fi
        echo "PostgreSQL $((num / 10000)).$((num % 10000)) on port $RAITO_TEST_PG_PORT" >&2
        cargo nextest run --workspace --no-fail-fast --color "$color" -E "$pg_filter" "${pg_runner_args[@]}"
    ) 2>&1 | tee "$pg_log" || rc=${PIPESTATUS[0]}

    # nextest's summary: "Summary [...] N tests run: P passed, F failed, S skipped", then one line
    # per test that did not pass: "FAIL [ 0.5s] (3/46) BINARY_ID TEST_NAME" (or TIMEOUT, SIGSEGV...).
    local clean summary passed=0
    clean=$(sed 's/\x1b\[[0-9;]*m//g' "$pg_log")
    summary=$(grep -E '^ *Summary \[' <<<"$clean" | tail -n1)
    if [[ -z "$summary" ]]; then
        phase_note="no test ran"
        return 1
    fi
    if [[ "$summary" =~ ([0-9]+)\ passed ]]; then passed=${BASH_REMATCH[1]}; fi
    local -A failing=() expected=()
    local status binary test
    while read -r status binary test; do
        failing["$binary $test"]=$status
    done < <(sed -n '/^ *Summary \[/,$p' <<<"$clean" |
        sed -nE 's/^ *([A-Z][A-Z-]*) +\[[^]]*\] +(\( *[0-9]+\/[0-9]+\) +)?([^ ]+) +([^ ]+) *$/\1 \3 \4/p' | grep -v '^PASS ')
    local majors reason
    while read -r majors binary test reason; do
        [[ -z "$majors" || "$majors" == \#* ]] && continue
        if [[ ",$majors," == *",$major,"* ]]; then expected["$binary $test"]=$reason; fi
    done <dev/pg/known-failures.txt

    local key unexpected=0 expected_failed=0 stale=0
    for key in "${!failing[@]}"; do
        if [[ -n "${expected[$key]+set}" ]]; then
            expected_failed=$((expected_failed + 1))
        else
            unexpected=$((unexpected + 1))
            printf '   UNEXPECTED on %s: %s %s\n' "$major" "${failing[$key]}" "$key" >&2
        fi
    done
    for key in "${!expected[@]}"; do
        [[ -n "${failing[$key]+set}" ]] && continue
        if grep -qE "^ *PASS +\[[^]]*\] +(\( *[0-9]+/[0-9]+\) +)?${key//./\\.}\$" <<<"$clean"; then
            printf '   NOW PASSES on %s: %s: remove it for %s from dev/pg/known-failures.txt\n' "$major" "$key" "$major" >&2
            stale=$((stale + 1))
        elif ((${#pg_runner_args[@]} == 0)); then
            printf '   DID NOT RUN on %s: %s: listed in dev/pg/known-failures.txt\n' "$major" "$key" >&2
            stale=$((stale + 1))
        fi
    done
    if ((expected_failed)); then
        printf '   expected failures on %s (dev/pg/known-failures.txt): %d\n' "$major" "$expected_failed" >&2
    fi
    pg_passed=$((pg_passed + passed))
    pg_failed=$((pg_failed + unexpected))
    phase_note="PostgreSQL $major: $passed passed, $unexpected failed, $expected_failed known failures"
    if ((stale)); then phase_note+=", $stale listed but passing or not run"; fi
    if ((rc != 0 && unexpected == 0 && expected_failed == 0)); then return "$rc"; fi
    ((unexpected == 0 && stale == 0))
}
if [[ -n "$pg_versions" ]]; then
    if command -v cargo-nextest >/dev/null 2>&1; then
        pg_log=$(mktemp "${TMPDIR:-/tmp}/raito-test-pg.XXXXXX")
        IFS=',' read -ra pg_majors <<<"$pg_versions"
        for major in "${pg_majors[@]}"; do
            run_phase "pg$major" pg_phase "$major"
        done
    else
        say "PostgreSQL $pg_versions: NOT TESTED: their phases need cargo-nextest (filter expressions)"
    fi
else
    say "other PostgreSQL versions: left out (RAITO_PG_VERSIONS=none)"
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
printf 'tests: %d passed, %d failed, %d skipped\n' "$((passed + pg_passed))" "$((failed_tests + pg_failed))" "$skipped"
if ((failed)); then exit 1; fi
