# Shared helpers of dev/bench.sh and dev/bench/<part>.sh (sourced, never run). Sets the repo
# as the working directory, `release` (the release binaries), `pg_bin`, and:
#
#   say TEXT...                  progress on stderr
#   bench_scale N                N, or N/10 with BENCH_QUICK=1
#   bench_build PKG...           `cargo build --release -p PKG...`, unless the driver built them
#   bench_build_functions FN...  each function package built alone (release), as SAM builds them
#                                (together, cargo would unify raito-common's features), unless
#                                the driver built them
#   bench_init NAME              a temp dir in $work, removed on exit (kept with BENCH_KEEP=1);
#                                everything registered with bench_on_exit runs first
#   bench_on_exit COMMAND        run COMMAND (a string, eval'd) on exit, also on failure or Ctrl-C
#   bench_services_start ARGS... dev/services.sh start ARGS, its variables exported, stopped on exit
#   bench_psql ARGS...           psql as the services' superuser (ON_ERROR_STOP, quiet)
#   bench_psql_env CMD...        CMD with the password and sslmode of bench_psql in its environment
#   bench_run NAME CMD...        CMD under /usr/bin/time -v: stdout in $work/NAME.out, stderr in
#                                $work/NAME.err, times in $work/NAME.time, wall in $work/NAME.wall
#   bench_wall NAME              its wall time in seconds (nanosecond clock, 3 decimals)
#   bench_cpu NAME               its CPU time, user + system, in seconds
#   bench_rss NAME               its peak RSS in MiB (1 decimal)
#   bench_calc EXPR              awk arithmetic, printed with %.2f unless a format is given second
#   bench_int N                  N with thousands separators
#   bench_met CONDITION          "yes" when the awk CONDITION holds, else "no"
#   bench_row PART FIGURE VALUE [BASELINE [TARGET [MET]]]   one Markdown table row on stdout
#   bench_header                 the table's header (only when a part runs alone)
# shellcheck shell=bash

set -euo pipefail

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$bench_repo"
release="${CARGO_TARGET_DIR:-$bench_repo/target}/release"
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
BENCH_PART=${BENCH_PART:-bench}
work=''

say() { printf '== bench %s: %s\n' "$BENCH_PART" "$*" >&2; }

bench_scale() {
    if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
        echo $(($1 / 10 > 0 ? $1 / 10 : 1))
    else
        echo "$1"
    fi
}

bench_build() {
    if [[ "${BENCH_BUILT:-0}" == 1 ]]; then return 0; fi
    say "setup"
    # shellcheck source=dev/setup.sh
    source dev/setup.sh --no-venv >&2
    local args=() pkg
    for pkg in "$@"; do args+=(-p "$pkg"); done
    say "building $* (release)"
    cargo build --release "${args[@]}" >&2
}

bench_build_functions() {
    if [[ ${BENCH_FUNCTIONS_BUILT:-${BENCH_BUILT:-0}} == 1 ]]; then return 0; fi
    local f
    for f in "$@"; do
        say "building $f alone (release)"
        cargo build --release -p "$f" >&2
    done
}

bench_exit_hooks=()
bench_on_exit() { bench_exit_hooks+=("$1"); }

bench_cleanup() {
    local rc=$? i
    for ((i = ${#bench_exit_hooks[@]} - 1; i >= 0; i--)); do
        eval "${bench_exit_hooks[i]}" || rc=1
    done
    if [[ -n "$work" && -d "$work" ]]; then
        if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
            echo "bench $BENCH_PART: kept $work" >&2
        else
            rm -rf -- "$work"
        fi
    fi
    exit "$rc"
}

bench_init() {
    BENCH_PART=$1
    work=$(mktemp -d "${BENCH_WORK:-${TMPDIR:-/tmp}}/raito-bench-$1.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_services_start() {
    local env_text
    env_text=$(dev/services.sh start "$@")
    eval "$env_text"
    # shellcheck disable=SC2154 # set by the eval above
    bench_on_exit "dev/services.sh stop '$RAITO_SERVICES_STATE' >&2"
}

bench_psql() { bench_psql_env "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$RAITO_TEST_PG_HOST" \
    -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" "$@"; }

bench_psql_env() { PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGSSLMODE=require "$@"; }

bench_run() {
    local name=$1
    shift
    local started ended
    started=$(date +%s%N)
    if ! /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"; then
        tail -n 20 "$work/$name.err" >&2
        say "$name failed"
        return 1
    fi
    ended=$(date +%s%N)
    awk -v s="$started" -v e="$ended" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }' >"$work/$name.wall"
}

bench_wall() { cat "$work/$1.wall"; }

bench_cpu() {
    awk -F': ' '/User time \(seconds\)/ { u = $2 } /System time \(seconds\)/ { s = $2 }
        END { printf "%.2f\n", u + s }' "$work/$1.time"
}

bench_rss() { awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' "$work/$1.time"; }

bench_calc() { awk "BEGIN { printf \"${2:-%.2f}\\n\", ($1) }"; }

bench_int() {
    awk -v n="$1" 'BEGIN {
        s = sprintf("%d", n); sign = ""
        if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
        out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        print sign s out
    }'
}

bench_met() { awk "BEGIN { exit !($1) }" && echo yes || echo no; }

bench_row() {
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "${4:--}" "${5:--}" "${6:--}"
}

bench_header() {
    if [[ -n "${BENCH_DRIVER:-}" ]]; then return 0; fi
    printf '| part | figure | value | baseline | target | met |\n'
    printf '|---|---|---:|---:|---:|---|\n'
}
