#!/usr/bin/env bash
# Measures `raito-sync usage` on PostgreSQL's `logfiles` source: a generated jsonlog file of
# BENCH_STATEMENTS statements (default 1,000,000: each a `statement:` record plus its
# `duration:` record, a realistic mix of joins, CTEs, subqueries, writes, DDL and failures over
# a schema of 50 tables) is put in the log directory of an ephemeral cluster, served by
# pg_ls_logdir()/pg_read_binary_file() like any log file, then parsed, assembled, mapped to data
# objects and written. Reports statements per second and peak RSS (`/usr/bin/time -v`). Builds
# raito-sync in release and stops its cluster again (also on failure or Ctrl-C).
#
#   dev/bench-usage.sh                     the figures go to stdout, progress to stderr
#   BENCH_STATEMENTS=100000 dev/bench-usage.sh
#   BENCH_KEEP=1 dev/bench-usage.sh        keep the temp dir (config, log, output, time log)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

statements=${BENCH_STATEMENTS:-1000000}
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
bin="${CARGO_TARGET_DIR:-$repo_root/target}/release/raito-sync"

say() { printf '\n== bench-usage: %s\n' "$*" >&2; }

say "setup"
# shellcheck source=dev/setup.sh
source dev/setup.sh --no-venv

say "building raito-sync (release)"
cargo build --release -p raito-sync
[[ -x "$bin" ]] || {
    echo "bench-usage: no binary at $bin" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/raito-bench-usage.XXXXXX")
services_state=''
cleanup() {
    local rc=$?
    if [[ -n "$services_state" ]]; then dev/services.sh stop "$services_state" || rc=1; fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "bench-usage: kept $work" >&2
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

say "creating database bench (schemas app and \"Sales.EU\", 50 tables, a view)"
psql_ -d postgres -c 'CREATE DATABASE bench'
psql_ -d bench <<'SQL'
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

say "raito-sync usage (log of $log_bytes bytes)"
since_text=$(date -u -d "@$since" +%Y-%m-%dT%H:%M:%SZ)
BENCH_PG_PASSWORD=$RAITO_TEST_PG_PASSWORD RUST_LOG=warn /usr/bin/time -v -o "$work/time.log" \
    "$bin" usage --config "$work/raito.yml" --target bench --out "$work/usage.json" \
    --since "$since_text" 2>"$work/summary.txt"
cat "$work/summary.txt" >&2

wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.log")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.log")
written=$(awk '$1 == "statements" {print $2; exit}' "$work/summary.txt")
seconds=$(python3 -c 'import sys
parts = [float(p) for p in sys.argv[1].split(":")]
s = 0
for p in parts: s = s * 60 + p
print(s)' "$wall")
printf '%-28s %s\n' "statements in the log" "$statements" \
    "log file (jsonlog)" "$((log_bytes / 1024 / 1024)) MiB" \
    "statements written" "$written" \
    "wall time" "${seconds} s" \
    "statements per second" "$(python3 -c "print(round($written / $seconds))")" \
    "peak RSS" "$((rss_kb / 1024)) MiB"
