#!/usr/bin/env bash
# Measures `raito-sync access` against an ephemeral PostgreSQL 15 cluster: a database of
# BENCH_TABLES tables (default 1,000) and BENCH_USERS login roles (default 200), and a generated
# access file of BENCH_APS access providers (default 1,000; each grants SELECT on 5 tables and
# 2 columns to 3 users and inherits from the previous one). Times, with peak RSS
# (`/usr/bin/time -v`): the plan of the whole file, its first apply, the plan and apply of the
# same file again (nothing to do: no statement), and the import of the roles Raito does not
# manage. Builds raito-sync in release and stops its cluster again (also on failure or Ctrl-C).
#
#   dev/bench-access.sh                     the figures go to stdout, progress to stderr
#   BENCH_APS=10000 dev/bench-access.sh
#   BENCH_KEEP=1 dev/bench-access.sh        keep the temp dir (config, access file, outputs)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

aps=${BENCH_APS:-1000}
tables=${BENCH_TABLES:-1000}
users=${BENCH_USERS:-200}
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
bin="${CARGO_TARGET_DIR:-$repo_root/target}/release/raito-sync"

say() { printf '\n== bench-access: %s\n' "$*" >&2; }

say "setup"
# shellcheck source=dev/setup.sh
source dev/setup.sh --no-venv

say "building raito-sync (release)"
cargo build --release -p raito-sync
[[ -x "$bin" ]] || {
    echo "bench-access: no binary at $bin" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/raito-bench-access.XXXXXX")
services_state=''
cleanup() {
    local rc=$?
    if [[ -n "$services_state" ]]; then dev/services.sh stop "$services_state" || rc=1; fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "bench-access: kept $work" >&2
    else
        rm -rf -- "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting an ephemeral PostgreSQL 15 cluster"
services_env=$(dev/services.sh start --no-moto --no-ldap)
eval "$services_env"
services_state=$RAITO_SERVICES_STATE

psql_() {
    PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGSSLMODE=require "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" "$@"
}

say "creating $tables tables and $users users"
psql_ -d postgres -c "CREATE DATABASE bench"
psql_ -d bench <<SQL
CREATE SCHEMA sales;
SELECT format('CREATE TABLE sales.t%s (id int, region text, amount numeric)', g)
FROM generate_series(1, $tables) g \gexec
SELECT format('CREATE ROLE bench_user_%s LOGIN', g) FROM generate_series(1, $users) g \gexec
SQL

say "generating $aps access providers"
python3 - "$aps" "$tables" "$users" > "$work/access.yaml" <<'PY'
import sys
aps, tables, users = (int(a) for a in sys.argv[1:4])
print("accessProviders:")
for i in range(aps):
    who = ", ".join(f"bench_user_{(i * 3 + k) % users + 1}" for k in range(3))
    print(f"  - id: ap-{i}\n    name: Access {i}\n    namingHint: bench_ap_{i}\n    action: grant")
    print(f"    who:\n      users: [{who}]")
    if i:
        print(f"      inheritFrom: ['ID:ap-{i - 1}']")
    print("    what:")
    for k in range(5):
        t = (i * 5 + k) % tables + 1
        print(f"      - dataObject: {{fullName: bench.sales.t{t}, type: table}}\n        permissions: [SELECT]")
    for column in ("region", "amount"):
        t = (i * 7) % tables + 1
        print(f"      - dataObject: {{fullName: bench.sales.t{t}.{column}, type: column}}\n        permissions: [SELECT]")
PY
cat > "$work/raito.yml" <<YML
targets:
  - name: bench
    connector-name: postgresql
    data-source-id: bench
    pg-host: $RAITO_TEST_PG_HOST
    pg-port: $RAITO_TEST_PG_PORT
    pg-user: $RAITO_TEST_PG_USER
    pg-password: "{{RAITO_TEST_PG_PASSWORD}}"
    pg-database: bench
    pg-sslmode: require
YML

measure() { # name, then the command
    local name=$1
    shift
    local started ended
    started=$(date +%s.%N)
    /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || {
        cat "$work/$name.err" >&2
        echo "bench-access: $name failed" >&2
        exit 1
    }
    ended=$(date +%s.%N)
    local rss statements
    rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2 / 1024}' "$work/$name.time")
    statements=$(grep -cv '^--' "$work/$name.out" || true)
    printf '| %-28s | %8.2f s | %8s MiB | %10s |\n' "$name" "$(echo "$ended - $started" | bc)" "$rss" "$statements"
}

common=(--config "$work/raito.yml" --target bench)
echo "raito-sync access: $aps access providers, $tables tables, $users users (PostgreSQL 15, loopback)"
printf '| %-28s | %10s | %12s | %10s |\n' run "wall time" "peak RSS" statements
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..30})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..12})"
measure "plan (first)" "$bin" access plan "${common[@]}" --file "$work/access.yaml"
measure "apply (first)" "$bin" access apply "${common[@]}" --file "$work/access.yaml" --feedback "$work/feedback.json"
measure "plan (unchanged)" "$bin" access plan "${common[@]}" --file "$work/access.yaml"
measure "apply (unchanged)" "$bin" access apply "${common[@]}" --file "$work/access.yaml" --feedback "$work/feedback2.json"
measure "import" "$bin" access import "${common[@]}" --out "$work/access-providers.json"
