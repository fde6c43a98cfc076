#!/usr/bin/env bash
# Bench part `usage`: `raito-sync usage` on PostgreSQL's `logfiles` source: a generated jsonlog
# file of STATEMENTS statements (default 1,000,000: each a `statement:` record plus its
# `duration:` record, a realistic mix of joins, CTEs, subqueries, writes, DDL and failures over
# a schema of 50 tables) is put in the log directory of an ephemeral cluster, served by
# pg_ls_logdir()/pg_read_binary_file() like any log file, then parsed, assembled, mapped to data
# objects and written. Baseline: the same file only read, in the same 1 MiB chunks, by psql
# (`COPY (SELECT pg_read_binary_file(...) ...) TO STDOUT (FORMAT binary)` into /dev/null: the
# server-side read and the transfer), and `cat` of the file for reference.
# Figures: statements per CPU-second (user + system of raito-sync; target >= 300,000 per core),
# statements per wall second, wall, peak RSS.
#
#   dev/bench/usage.sh                  the rows on stdout, progress on stderr
#   BENCH_STATEMENTS=100000 dev/bench/usage.sh
#   BENCH_QUICK=1 (sizes / 10), BENCH_KEEP=1 (keep the temp dir)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init usage

statements=$(bench_scale "${BENCH_STATEMENTS:-1000000}")

bench_build raito-sync
say "starting an ephemeral PostgreSQL 15 cluster"
bench_services_start --no-moto --no-ldap
services_state=$RAITO_SERVICES_STATE

say "creating database bench (schemas app and \"Sales.EU\", 50 tables, a view)"
bench_psql -d postgres -c 'CREATE DATABASE bench'
bench_psql -d bench <<'SQL'
CREATE SCHEMA app;
CREATE SCHEMA "Sales.EU";
DO $$
BEGIN
  FOR i IN 0..39 LOOP
    EXECUTE format('CREATE TABLE app.t%s (id int, customer_id int, amount numeric, note text)', i);
  END LOOP;
  FOR i IN 0..9 LOOP
    EXECUTE format('CREATE TABLE "Sales.EU"."Orders %s" (id int, "Amount €" numeric)', i);
  END LOOP;
END $$;
CREATE TABLE public.customers (id int, name text);
CREATE VIEW app.big AS SELECT * FROM app.t0 WHERE amount > 100;
SQL

log_dir="$services_state/pg/data/log"
log_file="$work/postgresql-bench.json"
say "generating $statements statements into $log_file"
now=$(date +%s)
python3 - "$statements" "$now" "$log_file" <<'PY'
import json, random, sys, time
n, now, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
random.seed(7)
# The statements end 10 minutes ago, about 140 per second.
span = max(n // 140, 1)
start = now - 600 - span
users = [f"user{i:02d}" for i in range(20)]
def t(i):
    return f"app.t{i % 40}"
def eu(i):
    return f'"Sales.EU"."Orders {i % 10}"'
templates = [
    lambda i: f"SELECT o.id, c.name FROM {t(i)} o JOIN public.customers c ON c.id = o.customer_id WHERE o.amount > {i % 500}",
    lambda i: f"WITH recent AS (SELECT * FROM {t(i)} WHERE id > {i}) SELECT count(*) FROM recent r JOIN {t(i + 1)} x USING (id)",
    lambda i: f"SELECT * FROM customers WHERE id IN (SELECT customer_id FROM {t(i)} WHERE amount < {i % 97})",
    lambda i: f"INSERT INTO {t(i)} (id, customer_id, amount, note) SELECT id, id, {i % 1000}, 'batch {i}' FROM public.customers",
    lambda i: f"UPDATE {eu(i)} SET \"Amount €\" = \"Amount €\" * 1.01 WHERE id = {i}",
    lambda i: f"DELETE FROM {t(i)} WHERE id < {i % 100}",
    lambda i: f"SELECT id, amount\nFROM app.big\nWHERE note LIKE '%{i}%'\nORDER BY amount DESC\nLIMIT 50",
    lambda i: f"COPY {t(i)} FROM STDIN",
    lambda i: f"GRANT SELECT ON {t(i)} TO user{i % 20:02d}",
    lambda i: f"SELECT * FROM app.missing_{i % 7}",
    lambda i: f"SELEC {i}",
]
weights = [30, 10, 10, 10, 10, 5, 15, 3, 2, 3, 2]
def ts(ms):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d} UTC"
with open(path, "w") as out:
    for i in range(n):
        ms = start * 1000 + i * span * 1000 // n
        user = users[i % 20]
        session = f"6b0{i // 50:05x}.{i % 9973:x}"
        line = (i % 50) * 2 + 1
        q = random.choices(templates, weights)[0](i)
        base = {"timestamp": ts(ms), "user": user, "dbname": "bench", "pid": 1000 + i % 9973,
                "remote_host": "10.0.0.5", "remote_port": 40000 + i % 20000, "session_id": session,
                "line_num": line, "ps": "idle", "session_start": ts(ms - 5000), "vxid": f"3/{i}",
                "txid": 0, "error_severity": "LOG", "application_name": "app",
                "backend_type": "client backend", "query_id": 0}
        if q.startswith("SELEC ") or "missing_" in q:
            err = dict(base, error_severity="ERROR", state_code="42601" if q.startswith("SELEC ") else "42P01",
                       message="syntax error" if q.startswith("SELEC ") else "relation does not exist",
                       statement=q)
            if not q.startswith("SELEC "):
                out.write(json.dumps(dict(base, message="statement: " + q)) + "\n")
                err["line_num"] = line + 1
            out.write(json.dumps(err) + "\n")
            continue
        out.write(json.dumps(dict(base, message="statement: " + q)) + "\n")
        out.write(json.dumps(dict(base, timestamp=ts(ms + 2), line_num=line + 1, ps="SELECT",
                                  message=f"duration: {random.random() * 40:.3f} ms")) + "\n")
print(start, file=sys.stderr)
PY
since=$((now - 600 - statements / 140 - 1))
log_bytes=$(stat -c %s "$log_file")
install -o postgres -g postgres -m 600 "$log_file" "$log_dir/postgresql-bench.json" 2>/dev/null ||
    cp "$log_file" "$log_dir/postgresql-bench.json"
rm -f "$log_file"

cat >"$work/raito.yml" <<YAML
targets:
  - name: bench
    connector-name: postgresql
    data-source-id: ds-bench
    pg-host: $RAITO_TEST_PG_HOST
    pg-port: $RAITO_TEST_PG_PORT
    pg-user: $RAITO_TEST_PG_USER
    pg-password: "{{BENCH_PG_PASSWORD}}"
    pg-sslmode: require
    pg-usage-settle-seconds: 0
YAML

say "baseline: the log ($(bench_int "$log_bytes") bytes) read by the server and sent to psql"
cat >"$work/read.sql" <<SQL
COPY (
  SELECT pg_read_binary_file('log/postgresql-bench.json', o, 1048576, true)
  FROM generate_series(0::bigint, $log_bytes - 1, 1048576) AS o
  ORDER BY o
) TO STDOUT (FORMAT binary);
SQL
bench_psql -d postgres -f "$work/read.sql" >/dev/null # into the page cache
bench_psql_env bench_run read "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$RAITO_TEST_PG_HOST" \
    -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" -d postgres -o /dev/null -f "$work/read.sql"
bench_run cat bash -c 'cat -- "$1" >/dev/null' cat "$log_dir/postgresql-bench.json"

say "raito-sync usage"
since_text=$(date -u -d "@$since" +%Y-%m-%dT%H:%M:%SZ)
BENCH_PG_PASSWORD=$RAITO_TEST_PG_PASSWORD RUST_LOG=warn bench_run usage "$release/raito-sync" usage \
    --config "$work/raito.yml" --target bench --out "$work/usage.json" --since "$since_text"
cat "$work/usage.err" >&2
written=$(awk '$1 == "statements" {print $2; exit}' "$work/usage.err")
written=${written:-$statements}

wall=$(bench_wall usage)
cpu=$(bench_cpu usage)
read_wall=$(bench_wall read)
cat_wall=$(bench_wall cat)
per_core=$(bench_calc "$cpu > 0 ? $written / $cpu : 0" %d)
bench_header
bench_row usage "statements written (log: $(bench_int "$statements") statements, $(bench_calc "$log_bytes / 1048576" %.0f) MiB)" \
    "$(bench_int "$written")"
bench_row usage "statements / CPU-second (user+sys $cpu s)" "$(bench_int "$per_core")" \
    "$(bench_int "$(bench_calc "$statements / ($(bench_cpu read) + 0.001)" %d)") (psql read, client CPU)" \
    ">= 300,000" "$(bench_met "$per_core >= 300000")"
bench_row usage "statements / wall second" "$(bench_int "$(bench_calc "$written / $wall" %d)")" \
    "$(bench_int "$(bench_calc "$statements / $read_wall" %d)") (server read + transfer)"
bench_row usage "wall" "$wall s" "$read_wall s (server read + transfer); $cat_wall s (cat)"
bench_row usage "peak RSS" "$(bench_rss usage) MiB" "$(bench_rss read) MiB (psql)"
