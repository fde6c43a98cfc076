#!/usr/bin/env bash
# Loads the demo warehouse (dev/demo/warehouse.sql) into the PostgreSQL cluster named by the
# RAITO_TEST_PG_* variables that `dev/services.sh start` prints. Used by dev/demo.sh.
# Re-loading drops and recreates the demo databases.
set -euo pipefail

demo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
: "${RAITO_TEST_PG_PORT:?start the services first: eval \"\$(dev/services.sh start --no-moto)\"}"

# The foreign table (file_fdw) reads its CSV as the server's OS user: copy the file into the
# services' state dir, where that user can read it.
csv_args=()
if [[ -n "${RAITO_SERVICES_STATE:-}" && -d "$RAITO_SERVICES_STATE" ]]; then
    mkdir -p "$RAITO_SERVICES_STATE/demo"
    chmod 755 "$RAITO_SERVICES_STATE/demo"
    cp "$demo_dir/exchange_rates.csv" "$RAITO_SERVICES_STATE/demo/exchange_rates.csv"
    chmod 644 "$RAITO_SERVICES_STATE/demo/exchange_rates.csv"
    csv_args=(-v "demo_csv=$RAITO_SERVICES_STATE/demo/exchange_rates.csv")
fi

PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGSSLMODE=require PGCONNECT_TIMEOUT=10 \
    "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "${csv_args[@]}" \
    -h "${RAITO_TEST_PG_HOST:-127.0.0.1}" -p "$RAITO_TEST_PG_PORT" -U "${RAITO_TEST_PG_USER:-raito_test}" \
    -d postgres -f "$demo_dir/warehouse.sql"
