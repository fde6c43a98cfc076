#!/usr/bin/env bash
# The README's demo: reads the metadata of a sample PostgreSQL warehouse into a local file.
#   1. installs what is missing (dev/setup.sh --no-venv: PostgreSQL, no Python tools);
#   2. builds raito-sync (release);
#   3. starts an ephemeral PostgreSQL cluster (dev/services.sh start --no-moto) and loads the
#      sample warehouse into it (dev/demo/warehouse.sql: four databases, awkward names and all);
#   4. runs `raito-sync metadata` with dev/demo/raito.yml, writing OUT_DIR/demo-warehouse.json,
#      and shows the first lines of that file;
#   5. stops the cluster (also on failure or Ctrl-C).
#
#   dev/demo.sh [--no-sync] [OUT_DIR]     OUT_DIR defaults to .tmp/demo in the repo (git-ignored)
# --no-sync: stop after loading the warehouse (checks steps 1-3 without raito-sync).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

run_sync=1
out_dir=''
for arg in "$@"; do
    case "$arg" in
    --no-sync) run_sync=0 ;;
    -*)
        sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
    *) out_dir=$arg ;;
    esac
done
out_dir=${out_dir:-$repo_root/.tmp/demo}

say() { printf '\n== demo: %s\n' "$*" >&2; }

say "setup"
# shellcheck source=dev/setup.sh
source dev/setup.sh --no-venv

if ((run_sync)); then
    say "building raito-sync (release; the first build takes several minutes)"
    cargo build --release -p raito-sync
fi

services_state=''
cleanup() {
    local rc=$?
    if [[ -n "$services_state" ]]; then dev/services.sh stop "$services_state" || rc=1; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting an ephemeral PostgreSQL 15 cluster"
services_env=$(dev/services.sh start --no-moto)
eval "$services_env"
services_state=$RAITO_SERVICES_STATE

say "loading the sample warehouse (dev/demo/warehouse.sql)"
start=$SECONDS
dev/demo/load.sh
PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGSSLMODE=require \
    "${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -X -A -t -q \
    -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" -U "$RAITO_TEST_PG_USER" -d postgres \
    -c "SELECT '   databases: ' || string_agg(quote_ident(datname), ', ' ORDER BY datname)
        FROM pg_database WHERE NOT datistemplate" >&2
printf '   loaded in %d s\n' $((SECONDS - start)) >&2

if ((!run_sync)); then
    say "--no-sync: not running raito-sync"
    exit 0
fi

mkdir -p "$out_dir"
out_file="$out_dir/demo-warehouse.json"
rm -f "$out_file"
export DEMO_PG_HOST=$RAITO_TEST_PG_HOST
export DEMO_PG_PORT=$RAITO_TEST_PG_PORT
export DEMO_PG_PASSWORD=$RAITO_TEST_PG_PASSWORD

say "raito-sync metadata --config dev/demo/raito.yml --target demo-warehouse --out $out_file"
cargo run -q --release -p raito-sync -- metadata --config dev/demo/raito.yml \
    --target demo-warehouse --out "$out_file"

say "the first lines of $out_file"
head -n 25 "$out_file" | cut -c1-200
printf '...\n'
