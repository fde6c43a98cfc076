#!/usr/bin/env bash
# Bench part `metadata`: `raito-sync metadata` to a local file on two generated PostgreSQL
# catalogs, a large one of SCHEMAS x TABLES x COLUMNS (default 20 x 2,500 x 20: 50,000 tables,
# 1,000,000 columns, ~1,050,000 data objects) and a small one five times smaller (TABLES / 5:
# ~210,000 data objects: the targets are set for 200,000 and 1,000,000),
# each in its own database of one ephemeral cluster (`pg-database`; the other one and `postgres` excluded). Baseline:
# the floor, dev/bench/metadata-floor.sql (one plain catalog join, no ordering, no per-row
# function call) streamed by psql as `COPY (...) TO STDOUT` into /dev/null.
# Figures: wall (median of BENCH_RUNS pairs run in turn, default 3), ratio to the baseline
# (target <= 1.5), peak RSS (target <= 64 MiB) and its growth from the small to the large
# catalog (target: none, <= 10 %).
#
#   dev/bench/metadata.sh              the rows on stdout, progress on stderr
#   BENCH_SCHEMAS=5 BENCH_TABLES=400 BENCH_COLUMNS=20 dev/bench/metadata.sh
#   BENCH_QUICK=1 (sizes / 10), BENCH_KEEP=1 (keep the temp dir)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init metadata

schemas=${BENCH_SCHEMAS:-20}
tables=$(bench_scale "${BENCH_TABLES:-2500}")
columns=${BENCH_COLUMNS:-20}
small_tables=$((tables / 5 > 0 ? tables / 5 : 1))

bench_build raito-sync
say "starting an ephemeral PostgreSQL 15 cluster"
bench_services_start --no-moto --no-ldap

# generate DATABASE TABLES_PER_SCHEMA: one DO block per schema, generated server-side, with a
# COMMIT every 250 tables (the locks of one transaction stay well under the lock table).
generate() {
    local database=$1 per_schema=$2 started=$SECONDS
    say "generating $database: $schemas schemas x $per_schema tables x $columns columns"
    bench_psql -d postgres -c "CREATE DATABASE $database"
    bench_psql -d "$database" -v schemas="$schemas" -v tables="$per_schema" -v columns="$columns" <<'SQL'
SELECT format($do$
DO $body$
DECLARE
    t int;
    cols text;
BEGIN
    EXECUTE format('CREATE SCHEMA %%I', 's%1$s');
    EXECUTE format('COMMENT ON SCHEMA %%I IS %%L', 's%1$s', 'generated schema %1$s');
    SELECT string_agg(format('c%%s %%s', c,
               (ARRAY['integer', 'text', 'numeric(12,2)', 'timestamptz', 'boolean',
                      'varchar(64)', 'bigint', 'jsonb', 'date', 'uuid'])[1 + c %% 10]), ', ')
      INTO cols FROM generate_series(1, %3$s) AS c;
    FOR t IN 1..%2$s LOOP
        EXECUTE format('CREATE TABLE %%I.%%I (%%s)', 's%1$s', 't' || t, cols);
        IF t %% 250 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$body$;
$do$, s, :tables, :columns)
FROM generate_series(1, :schemas) AS s
\gexec
SQL
    bench_psql -d "$database" -c 'VACUUM ANALYZE pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_namespace, pg_catalog.pg_description'
    say "$database generated in $((SECONDS - started)) s"
}
generate bench_small "$small_tables"
generate bench_large "$tables"

export BENCH_PG_HOST=$RAITO_TEST_PG_HOST BENCH_PG_PORT=$RAITO_TEST_PG_PORT
export BENCH_PG_PASSWORD=$RAITO_TEST_PG_PASSWORD
for size in small large; do
    other=$([[ $size == small ]] && echo large || echo small)
    cat >"$work/$size.yml" <<YAML
targets:
  - name: bench
    connector-name: postgresql
    data-source-id: bench-ds
    pg-host: "{{BENCH_PG_HOST}}"
    pg-port: "{{BENCH_PG_PORT}}"
    pg-user: raito_test
    pg-password: "{{BENCH_PG_PASSWORD}}"
    pg-database: bench_$size
    pg-sslmode: require
    pg-excluded-databases: bench_$other,postgres
YAML
done

# The floor (see the comment in the file).
cp "$(dirname "${BASH_SOURCE[0]}")/metadata-floor.sql" "$work/baseline.sql"

# Each pair (the floor, then the sync) runs BENCH_RUNS times in turn (default 3), and the
# medians are compared: one run on a shared machine swings by a tenth either way.
runs=${BENCH_RUNS:-3}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A wall base rss base_rss objects
for size in small large; do
    bench_psql -d "bench_$size" -f "$work/baseline.sql" >/dev/null # warms the caches for both runs
    walls=() bases=() rsses=()
    for ((i = 1; i <= runs; i++)); do
        say "baseline (psql COPY of the catalog floor query), $size, run $i of $runs"
        bench_psql_env bench_run "baseline-$size-$i" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 \
            -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" \
            -d "bench_$size" -o /dev/null -f "$work/baseline.sql"
        say "raito-sync metadata, $size, run $i of $runs"
        bench_run "sync-$size-$i" "$release/raito-sync" metadata --config "$work/$size.yml" \
            --target bench --out "$work/$size.json"
        bases+=("$(bench_wall "baseline-$size-$i")")
        walls+=("$(bench_wall "sync-$size-$i")")
        rsses+=("$(bench_rss "sync-$size-$i")")
    done
    wall[$size]=$(median "${walls[@]}")
    base[$size]=$(median "${bases[@]}")
    rss[$size]=$(printf '%s\n' "${rsses[@]}" | sort -g | tail -1)
    base_rss[$size]=$(bench_rss "baseline-$size-1")
    objects[$size]=$(grep -o '"externalId"' "$work/$size.json" | wc -l)
done

bench_header
for size in small large; do
    n=$(bench_int "${objects[$size]}")
    ratio=$(bench_calc "${wall[$size]} / ${base[$size]}")
    bench_row metadata "wall, $size catalog ($n objects), median of $runs" "${wall[$size]} s" \
        "${base[$size]} s (psql COPY)"
    bench_row metadata "wall / baseline, $size" "${ratio}x" 1x "<= 1.5x" "$(bench_met "$ratio <= 1.5")"
    bench_row metadata "peak RSS, $size (largest of $runs)" "${rss[$size]} MiB" \
        "${base_rss[$size]} MiB (psql)" "<= 64 MiB" "$(bench_met "${rss[$size]} <= 64")"
done
bench_row metadata "output, large" "$(bench_calc "$(stat -c %s "$work/large.json") / 1048576" %.1f) MiB"
growth=$(bench_calc "(${rss[large]} / ${rss[small]} - 1) * 100" %.1f)
bench_row metadata "peak RSS growth, small -> large" "${growth} %" - "<= 10 %" "$(bench_met "$growth <= 10")"
bench_row metadata "wall growth, small -> large" "$(bench_calc "${wall[large]} / ${wall[small]}" %.1f)x" \
    "$(bench_calc "${base[large]} / ${base[small]}" %.1f)x"
