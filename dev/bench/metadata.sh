#!/usr/bin/env bash
# Measures `raito-sync metadata` on PostgreSQL: objects written, wall time, peak RSS and output
# size, on (a) the demo warehouse (dev/demo/warehouse.sql) and (b) one generated database with
# SCHEMAS x TABLES x COLUMNS columns (default 20 x 100 x 50 = 100,000 columns). Builds raito-sync
# in release, starts its own ephemeral cluster and stops it again (also on failure or Ctrl-C).
#
#   dev/bench.sh                      the table goes to stdout, progress to stderr
#   BENCH_SCHEMAS=5 BENCH_TABLES=40 BENCH_COLUMNS=20 dev/bench.sh    a smaller (b)
#   BENCH_KEEP=1 dev/bench.sh         keep the temp dir (config, output files, time logs)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

schemas=${BENCH_SCHEMAS:-20}
tables=${BENCH_TABLES:-100}
columns=${BENCH_COLUMNS:-50}
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
bin="${CARGO_TARGET_DIR:-$repo_root/target}/release/raito-sync"

say() { printf '\n== bench: %s\n' "$*" >&2; }

say "setup"
# shellcheck source=dev/setup.sh
source dev/setup.sh --no-venv

say "building raito-sync (release)"
cargo build --release -p raito-sync
[[ -x "$bin" ]] || {
    echo "bench: no binary at $bin" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/raito-bench.XXXXXX")
services_state=''
cleanup() {
    local rc=$?
    if [[ -n "$services_state" ]]; then dev/services.sh stop "$services_state" || rc=1; fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "bench: kept $work" >&2
    else
        rm -rf -- "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting an ephemeral PostgreSQL 15 cluster"
services_env=$(dev/services.sh start --no-moto)
eval "$services_env"
services_state=$RAITO_SERVICES_STATE

psql_() {
    PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGSSLMODE=require "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" "$@"
}

export BENCH_PG_HOST=$RAITO_TEST_PG_HOST
export BENCH_PG_PORT=$RAITO_TEST_PG_PORT
export BENCH_PG_PASSWORD=$RAITO_TEST_PG_PASSWORD
cat >"$work/raito.yml" <<'EOF'
targets:
  - name: bench
    connector-name: postgresql
    data-source-id: bench-ds
    pg-host: "{{BENCH_PG_HOST}}"
    pg-port: "{{BENCH_PG_PORT}}"
    pg-user: raito_test
    pg-password: "{{BENCH_PG_PASSWORD}}"
    pg-database: postgres
    pg-sslmode: require
EOF

rows=()
# measure NAME LABEL: runs raito-sync metadata under /usr/bin/time -v (output: $work/NAME.json)
# and adds a row to the table.
measure() {
    local name=$1 label=$2
    local out="$work/$name.json" tlog="$work/$name.time"
    say "raito-sync metadata: $label"
    /usr/bin/time -v -o "$tlog" "$bin" metadata --config "$work/raito.yml" --target bench --out "$out"
    local wall rss_kb size objects
    wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tlog")
    rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tlog")
    size=$(stat -c %s "$out")
    objects=$(python3 - "$out" 2>/dev/null <<'PY' || echo '?'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    data = json.load(f)
print(len(data) if isinstance(data, list) else "?")
PY
    )
    rows+=("$(printf '%-32s %10s %10s %10s %10s' "$label" "$objects" "$wall" \
        "$(numfmt --to=iec-i --suffix=B --format=%.1f $((rss_kb * 1024)))" \
        "$(numfmt --to=iec-i --suffix=B --format=%.1f "$size")")")
}

# (a) the demo warehouse
say "loading the demo warehouse"
dev/demo/load.sh
measure demo demo-warehouse

# (b) one wide database, alone in the cluster: the demo databases are dropped first.
say "generating bench_wide: $schemas schemas x $tables tables x $columns columns"
start=$SECONDS
psql_ -d postgres <<'EOF'
DROP DATABASE sales WITH (FORCE);
DROP DATABASE marketing WITH (FORCE);
DROP DATABASE "Finance Dept" WITH (FORCE);
DROP DATABASE "café.Lab" WITH (FORCE);
CREATE DATABASE bench_wide;
EOF
# One DO block per schema: generated server-side, one transaction per schema (keeps the locks
# held by one transaction well under max_locks_per_transaction).
psql_ -d bench_wide -v schemas="$schemas" -v tables="$tables" -v columns="$columns" <<'EOF'
SELECT format($do$
DO $body$
DECLARE
    t int;
    cols text;
BEGIN
    EXECUTE format('CREATE SCHEMA %%I', 's%1$s');
    EXECUTE format('COMMENT ON SCHEMA %%I IS %%L', 's%1$s', 'generated schema %1$s');
    FOR t IN 1..%2$s LOOP
        SELECT string_agg(format('c%%s %%s', c,
                   (ARRAY['integer', 'text', 'numeric(12,2)', 'timestamptz', 'boolean',
                          'varchar(64)', 'bigint', 'jsonb', 'date', 'uuid'])[1 + c %% 10]), ', ')
          INTO cols FROM generate_series(1, %3$s) AS c;
        EXECUTE format('CREATE TABLE %%I.%%I (%%s)', 's%1$s', 't' || t, cols);
    END LOOP;
END
$body$;
$do$, s, :tables, :columns)
FROM generate_series(1, :schemas) AS s
\gexec
EOF
created=$(psql_ -d bench_wide -A -t -c "SELECT count(*) FROM information_schema.columns WHERE table_schema LIKE 's%'")
printf '   %s columns generated in %d s\n' "$created" $((SECONDS - start)) >&2
measure wide "bench_wide (${schemas}x${tables}x${columns})"

{
    printf '\n%-32s %10s %10s %10s %10s\n' database objects wall 'peak RSS' output
    printf '%s\n' "${rows[@]}"
}
