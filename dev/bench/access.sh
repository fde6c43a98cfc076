#!/usr/bin/env bash
# Bench part `access`: `raito-sync access apply` against an ephemeral PostgreSQL 15 cluster: a
# database of TABLES tables (default 1,000) and USERS login roles (default 200), and a generated
# access file of APS access providers (default 10,000; each grants SELECT on 8 tables and 2
# columns to 3 users, and inherits from the previous one). Runs, each timed with peak RSS
# (`/usr/bin/time -v`): the apply from empty, the same file again (nothing to do), and a file
# where 1 % of the access providers changed (one table swapped for another).
# Baselines: for the first apply, the statements it ran sent by psql as one query (one
# transaction) to the emptied database; for the no-op, psql reading the same state in one
# query (dev/bench/access-state-floor.sql). Figures per run: wall, statements and round trips (the `statements` and `round_trips` fields
# of the closing log event `access export processed`, "n/a" when the binary does not log
# them), statements per round trip (target >= 50 for the first apply), and the DDL run (the
# statements `apply` prints: target 0 for the unchanged file).
#
#   dev/bench/access.sh                 the rows on stdout, progress on stderr
#   BENCH_APS=1000 BENCH_TABLES=100 dev/bench/access.sh
#   BENCH_QUICK=1 (sizes / 10), BENCH_KEEP=1 (keep the temp dir)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init access

aps=$(bench_scale "${BENCH_APS:-10000}")
tables=$(bench_scale "${BENCH_TABLES:-1000}")
users=$(bench_scale "${BENCH_USERS:-200}")

bench_build raito-sync
say "starting an ephemeral PostgreSQL 15 cluster"
bench_services_start --no-moto --no-ldap

say "creating $tables tables and $users users"
bench_psql -d postgres -c "CREATE DATABASE bench"
bench_psql -d bench <<SQL
CREATE SCHEMA sales;
DO \$\$
BEGIN
  FOR t IN 1..$tables LOOP
    EXECUTE format('CREATE TABLE sales.t%s (id int, region text, amount numeric)', t);
  END LOOP;
  FOR u IN 1..$users LOOP
    EXECUTE format('CREATE ROLE bench_user_%s LOGIN', u);
  END LOOP;
END
\$\$;
SQL

say "generating $aps access providers (and a copy with 1 % of them changed)"
generate() { # CHANGED (0 or 1)
    python3 - "$aps" "$tables" "$users" "$1" <<'PY'
import sys
aps, tables, users, changed = (int(a) for a in sys.argv[1:5])
out = sys.stdout
out.write("accessProviders:\n")
for i in range(aps):
    who = ", ".join(f"bench_user_{(i * 3 + k) % users + 1}" for k in range(3))
    out.write(f"  - id: ap-{i}\n    name: Access {i}\n    namingHint: bench_ap_{i}\n    action: grant\n")
    out.write(f"    who:\n      users: [{who}]\n")
    if i:
        out.write(f"      inheritFrom: ['ID:ap-{i - 1}']\n")
    out.write("    what:\n")
    for k in range(8):
        t = (i * 8 + k) % tables + 1
        if changed and i % 100 == 0 and k == 0:
            t = (t + tables // 2) % tables + 1
        out.write(f"      - dataObject: {{fullName: bench.sales.t{t}, type: table}}\n        permissions: [SELECT]\n")
    for column in ("region", "amount"):
        t = (i * 7) % tables + 1
        out.write(f"      - dataObject: {{fullName: bench.sales.t{t}.{column}, type: column}}\n        permissions: [SELECT]\n")
PY
}
generate 0 >"$work/access.yaml"
generate 1 >"$work/changed.yaml"

cat >"$work/raito.yml" <<YML
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

# apply NAME FILE: one apply, its log as JSON lines in $work/NAME.err.
apply() {
    say "raito-sync access apply: $1"
    RUST_LOG=info bench_run "$1" "$release/raito-sync" --log-format json access apply \
        --config "$work/raito.yml" --target bench --file "$2" --feedback "$work/$1.feedback.json"
}
# field NAME KEY: KEY of the last `access export processed` event in NAME's log, or n/a.
field() {
    python3 - "$work/$1.err" "$2" <<'PY'
import json, sys
value = "n/a"
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for line in log:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        fields = event.get("fields", {}) if isinstance(event, dict) else {}
        if fields.get("message") == "access export processed" and sys.argv[2] in fields:
            value = fields[sys.argv[2]]
print(value)
PY
}
# ddl NAME: the statements NAME ran (apply prints them, one per line ending in `;`).
ddl() { grep -v '^--' "$work/$1.out" | grep -c ';$' || true; }

apply first "$work/access.yaml"
apply unchanged "$work/access.yaml"
# The no-op's floor (see the comment in the file): the state read by psql in one query.
cp "$(dirname "${BASH_SOURCE[0]}")/access-state-floor.sql" "$work/state-floor.sql"
bench_psql -d bench -o /dev/null -f "$work/state-floor.sql" # warms the caches
bench_psql_env bench_run state-floor "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 \
    -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" \
    -d bench -o /dev/null -f "$work/state-floor.sql"
apply changed "$work/changed.yaml"

# The first apply's floor: the statements it ran, sent by psql as ONE query (every `;` but the
# last written `\;`, so psql sends the whole script in one message: one round trip, as the
# cheapest client would) in one transaction, on the same database emptied of what the three
# applies made (every role they created dropped).
{ grep -v '^--' "$work/first.out" | grep ';$' | sed 's/;$/\\;/'; echo ';'; } >"$work/first.sql" || true
bench_psql -d bench -v ON_ERROR_STOP=1 <<'SQL'
DO $$
DECLARE r text;
BEGIN
  FOR r IN SELECT rolname FROM pg_catalog.pg_roles WHERE rolname LIKE 'bench\_ap\_%' LOOP
    EXECUTE format('DROP OWNED BY %I', r);
    EXECUTE format('DROP ROLE %I', r);
  END LOOP;
END
$$;
SQL
bench_psql_env bench_run script-floor "$pg_bin/psql" -X -q -1 -v ON_ERROR_STOP=1 \
    -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" \
    -d bench -o /dev/null -f "$work/first.sql"

bench_header
for run in first unchanged changed; do
    case $run in
    first) label="apply from empty ($(bench_int "$aps") APs x 10 grants)" ;;
    unchanged) label="apply unchanged (no-op)" ;;
    changed) label="apply with 1 % of APs changed" ;;
    esac
    statements=$(field "$run" statements)
    round_trips=$(field "$run" round_trips)
    ddl_run=$(ddl "$run")
    case $run in
    first)
        floor=$(bench_wall script-floor)
        ratio=$(bench_calc "$(bench_wall "$run") / $floor")
        bench_row access "$label: wall" "$(bench_wall "$run") s" "$floor s (psql, the same statements as one query)"
        bench_row access "$label: wall / baseline" "${ratio}x" 1x
        ;;
    unchanged)
        floor=$(bench_wall state-floor)
        ratio=$(bench_calc "$(bench_wall "$run") / $floor")
        bench_row access "$label: wall" "$(bench_wall "$run") s" "$floor s (psql, the state in one query)"
        bench_row access "$label: wall / baseline" "${ratio}x" 1x "<= 2x" "$(bench_met "$ratio <= 2")"
        ;;
    *) bench_row access "$label: wall" "$(bench_wall "$run") s" ;;
    esac
    bench_row access "$label: peak RSS" "$(bench_rss "$run") MiB"
    bench_row access "$label: statements (reads included)" "$statements"
    bench_row access "$label: round trips" "$round_trips"
    if [[ $statements =~ ^[0-9]+$ && $round_trips =~ ^[0-9]+$ && $round_trips -gt 0 ]]; then
        per=$(bench_calc "$statements / $round_trips" %.1f)
    else
        per=n/a
    fi
    if [[ $run == first ]]; then
        met=n/a
        if [[ $per != n/a ]]; then met=$(bench_met "$per >= 50"); fi
        bench_row access "$label: statements / round trip" "$per" - ">= 50" "$met"
    else
        bench_row access "$label: statements / round trip" "$per"
    fi
    if [[ $run == unchanged ]]; then
        bench_row access "$label: DDL run" "$ddl_run" - 0 "$(bench_met "$ddl_run == 0")"
    else
        bench_row access "$label: DDL run" "$(bench_int "$ddl_run")"
    fi
done
