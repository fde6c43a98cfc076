#!/usr/bin/env bash
# The README's demo: the whole bundle on a sample PostgreSQL warehouse, against a local Raito.
#   1. installs what is missing (dev/setup.sh: PostgreSQL, the Python tools with moto);
#   2. builds raito-sync, the four sync functions and the webhook receiver, the Raito and
#      Snowflake stand-ins and run-lambda with `cargo build --profile demo` (release without
#      LTO, unoptimised: about 3 minutes from nothing on 2 cores; binaries in target/demo/);
#   3. starts an ephemeral PostgreSQL cluster and a moto server (dev/services.sh) and loads the
#      sample warehouse (dev/demo/warehouse.sql: four databases, awkward names and all);
#   4. runs `raito-sync metadata` with dev/demo/raito.yml into OUT_DIR/demo-warehouse.json and
#      sums it up; then the same for a Snowflake account next to it (the Snowflake stand-in,
#      dev/demo/snowflake.yml: OUT_DIR/demo-snowflake.json);
#   5. deploys locally: raito.yml in moto's S3, the Raito credentials and the webhook secret in
#      moto's Secrets Manager, the Raito stand-in (dev/raito-standin) on a free port, managing
#      the access providers of dev/demo/access-providers.json; then runs the real function
#      binaries through the Lambda Runtime API (run-lambda), one stage at a time:
#      a. sync-metadata, b. sync-identities: a schedule's payload, what Raito received;
#      c. sync-access: Raito's access export applied as roles and grants, its feedback, the
#         warehouse's own roles imported;
#      d. sync-usage: a workload run as marie.curie, read from the statement log into Raito;
#      e. one access provider changed in Raito, then a signed apUpdate webhook: webhook-receiver
#         queues it, sync-access runs the queued trigger, the grant appears in PostgreSQL;
#      f. access-as-code: `raito-sync access plan` of dev/demo/access-as-code.yaml, then the
#         file put in the bucket and applied by sync-access, with its feedback;
#      each stage prints a few lines: what ran, what Raito or PostgreSQL received, how long it
#      took; every log goes to a file under OUT_DIR, whose path is printed;
#   6. stops everything it started (also on failure or Ctrl-C).
#
#   dev/demo.sh [--no-sync] [OUT_DIR]     OUT_DIR defaults to .tmp/demo in the repo (git-ignored)
# --no-sync: builds nothing and stops after loading the warehouse (checks steps 1 and 3).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

run_sync=1
out_dir=''
for arg in "$@"; do
    case "$arg" in
    --no-sync) run_sync=0 ;;
    -*)
        sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
    *) out_dir=$arg ;;
    esac
done
out_dir=${out_dir:-$repo_root/.tmp/demo}
demo_started=$SECONDS

say() { printf '\n== demo: %s\n' "$*"; }
now_ms() { date +%s%3N; }

say "setup"
# shellcheck source=dev/setup.sh
if ((run_sync)); then
    source dev/setup.sh --all
else
    source dev/setup.sh --no-venv
fi

bin="${CARGO_TARGET_DIR:-$repo_root/target}/demo"
if ((run_sync)); then
    say "building raito-sync, the sync functions, the stand-ins and run-lambda (profile demo: unoptimised, no LTO; the first build takes about 3 minutes on 2 cores)"
    start=$SECONDS
    cargo build --profile demo -p raito-sync -p sync-metadata -p sync-identities -p sync-access \
        -p sync-usage -p raito-standin -p lambda-harness -p snowflake-standin
    printf '   built in %d s: %s\n' $((SECONDS - start)) "$bin"
fi

services_state=''
standin_pid=''
sf_pid=''
cleanup() {
    local rc=$?
    if [[ -n "$standin_pid" ]]; then kill "$standin_pid" 2>/dev/null || true; fi
    if [[ -n "$sf_pid" ]]; then kill "$sf_pid" 2>/dev/null || true; fi
    if [[ -n "$services_state" ]]; then dev/services.sh stop "$services_state" || rc=1; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting an ephemeral PostgreSQL 15 cluster$( ((run_sync)) && echo ' and a moto server')"
if ((run_sync)); then
    services_env=$(dev/services.sh start --no-ldap)
else
    services_env=$(dev/services.sh start --no-moto --no-ldap)
fi
eval "$services_env"
services_state=$RAITO_SERVICES_STATE

pg_bin=${RAITO_PG_BIN:-/usr/lib/postgresql/15/bin}
# pg DATABASE SQL: runs SQL as the cluster's superuser, prints the rows unaligned.
pg() {
    PGPASSWORD=$RAITO_TEST_PG_PASSWORD PGSSLMODE=require "$pg_bin/psql" -X -A -t -q \
        -v ON_ERROR_STOP=1 -h "$RAITO_TEST_PG_HOST" -p "$RAITO_TEST_PG_PORT" \
        -U "$RAITO_TEST_PG_USER" -d "$1" -c "$2"
}

say "loading the sample warehouse (dev/demo/warehouse.sql)"
start=$SECONDS
dev/demo/load.sh
pg postgres "SELECT '   databases: ' || string_agg(quote_ident(datname), ', ' ORDER BY datname)
             FROM pg_database WHERE NOT datistemplate"
printf '   loaded in %d s\n' $((SECONDS - start))

if ((!run_sync)); then
    say "--no-sync: not running raito-sync"
    exit 0
fi

mkdir -p "$out_dir"
export DEMO_PG_HOST=$RAITO_TEST_PG_HOST
export DEMO_PG_PORT=$RAITO_TEST_PG_PORT
export DEMO_PG_PASSWORD=$RAITO_TEST_PG_PASSWORD
demo_py() { python3 dev/demo/demo.py "$@"; }

out_file="$out_dir/demo-warehouse.json"
say "raito-sync metadata --config dev/demo/raito.yml --target demo-warehouse --out $out_file"
start_ms=$(now_ms)
"$bin/raito-sync" metadata --config dev/demo/raito.yml --target demo-warehouse \
    --out "$out_file" 2>"$out_dir/raito-sync-metadata.log" || {
    echo "demo: raito-sync metadata failed; its log: $out_dir/raito-sync-metadata.log" >&2
    exit 1
}
demo_py metadata-file "$out_file"
printf '   written in %d ms; log: %s\n' $(($(now_ms) - start_ms)) "$out_dir/raito-sync-metadata.log"

say "a Snowflake account next to it: the stand-in (dev/snowflake-standin) serving a generated account over the SQL API"
sf_out="$out_dir/snowflake.url"
"$bin/snowflake-standin" --columns 2000 --users 50 --public-key dev/test-keys/client.pub \
    --user RAITO_SYNC >"$sf_out" 2>"$out_dir/snowflake-standin.log" &
sf_pid=$!
for _ in $(seq 1 50); do
    [[ -s "$sf_out" ]] && break
    sleep 0.1
done
export DEMO_SF_URL DEMO_SF_KEY
DEMO_SF_URL=$(head -n 1 "$sf_out")
DEMO_SF_KEY=$(cat dev/test-keys/client.key)
sf_file="$out_dir/demo-snowflake.json"
say "raito-sync metadata --config dev/demo/snowflake.yml --target demo-snowflake --out $sf_file"
start_ms=$(now_ms)
"$bin/raito-sync" metadata --config dev/demo/snowflake.yml --target demo-snowflake \
    --out "$sf_file" 2>"$out_dir/raito-sync-snowflake.log" || {
    echo "demo: raito-sync metadata failed; its log: $out_dir/raito-sync-snowflake.log" >&2
    exit 1
}
demo_py metadata-file "$sf_file"
printf '   written in %d ms; log: %s\n' $(($(now_ms) - start_ms)) "$out_dir/raito-sync-snowflake.log"
kill "$sf_pid" 2>/dev/null || true
sf_pid=''

say "the Raito stand-in (dev/raito-standin), managing the access providers of dev/demo/access-providers.json"
# The stand-in reads its copy again whenever it changes (stage e edits it, as a user edits an
# access provider in Raito).
access_providers="$out_dir/access-providers.json"
cp dev/demo/access-providers.json "$access_providers"
standin_out="$out_dir/standin.out"
"$bin/raito-standin" --port 0 --domain demo --api-user demo@example.com \
    --api-secret demo-api-secret --data-source demo-warehouse-ds \
    --identity-store demo-warehouse-is \
    --access-providers "demo-warehouse-ds=$access_providers" --watch-access-providers \
    >"$standin_out" 2>"$out_dir/raito-standin.log" &
standin_pid=$!
for _ in $(seq 1 50); do
    [[ -s "$standin_out" ]] && break
    sleep 0.1
done
raito_url=$(head -n 1 "$standin_out")
[[ -n "$raito_url" ]] || {
    echo "demo: the stand-in did not start; see $out_dir/raito-standin.log" >&2
    exit 1
}
printf '   Raito stand-in at %s\n' "$raito_url"

bucket=demo-bundle
webhook_secret=demo-webhook-secret
say "deploying locally: raito.yml to s3://$bucket/config/raito.yml, the Raito credentials and the webhook secret to Secrets Manager"
demo_py deploy "$bucket" dev/demo/raito.yml config/raito.yml raito-sync/raito \
    raito-sync/webhook "$webhook_secret"
export RAITO_CONFIG_URI=s3://$bucket/config/raito.yml RAITO_BUCKET=$bucket
export RAITO_SECRET_NAME=raito-sync/raito RAITO_API_URL=$raito_url
export RAITO_COGNITO_ENDPOINT="${raito_url}cognito/" RAITO_POLL_INTERVAL_MS=200

# run_function NAME FUNCTION PAYLOAD: invokes FUNCTION's binary once through run-lambda (a
# fresh process: a cold start; a schedule's queued triggers are delivered by run-lambda, one
# invocation each); its answer goes to OUT_DIR/NAME.json and every log line to OUT_DIR/NAME.log.
# Prints the answer's summary and the times; a failed invocation stops the demo.
run_function() {
    local name=$1 function=$2 payload=$3 start_ms status=0
    start_ms=$(now_ms)
    "$bin/run-lambda" "$bin/$function" "$payload" 300 \
        >"$out_dir/$name.json" 2>"$out_dir/$name.log" || status=$?
    local elapsed=$(($(now_ms) - start_ms))
    demo_py answer "$out_dir/$name.json" || true
    sed -n 's/^run-lambda: \(.*\)$/   \1/p' "$out_dir/$name.log"
    printf '   %s: %d ms end to end; log: %s\n' "$function" "$elapsed" "$out_dir/$name.log"
    if ((status)); then
        echo "demo: $function failed: see above and $out_dir/$name.log" >&2
        exit 1
    fi
}

# may USER PRIVILEGE DATABASE RELATION [COLUMN]: "yes" or "no", whether USER has PRIVILEGE on
# RELATION (or its COLUMN), directly or through a role.
may() {
    local user=${1//\'/\'\'} relation=${4//\'/\'\'} check
    if (($# > 4)); then
        check="has_column_privilege('$user', '$relation', '${5//\'/\'\'}', '$2')"
    else
        check="has_table_privilege('$user', '$relation', '$2')"
    fi
    pg "$3" "SELECT CASE WHEN $check THEN 'yes' ELSE 'no' END"
}

# The roles Raito manages (marked by a comment), with their members.
raito_roles() {
    pg postgres "SELECT '   PostgreSQL: role ' || quote_ident(r.rolname) || ', members: '
                        || coalesce((SELECT string_agg(quote_ident(m.rolname), ', ' ORDER BY m.rolname)
                                     FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member
                                     WHERE am.roleid = r.oid), '-')
                        || ' (' || shobj_description(r.oid, 'pg_authid') || ')'
                 FROM pg_roles r
                 WHERE shobj_description(r.oid, 'pg_authid') LIKE 'Managed by Raito Cloud%'
                 ORDER BY r.rolname"
}

say "a. sync-metadata through the Lambda Runtime API, payload {\"targets\": []}"
run_function sync-metadata sync-metadata '{"targets": []}'
demo_py raito metadata "$raito_url" --result "$out_dir/sync-metadata.json"

say "b. sync-identities, payload {\"targets\": []}: the warehouse's roles as users and groups"
run_function sync-identities sync-identities '{"targets": []}'
demo_py raito identities "$raito_url" --result "$out_dir/sync-identities.json"

say "c. sync-access, payload {\"targets\": []}: Raito's access export applied, its feedback, the warehouse's own roles imported"
readers_before=$(may marie.curie SELECT sales crm.customers)
campaigns_before=$(may 'José' UPDATE marketing campaigns.campaigns)
run_function sync-access sync-access '{"targets": []}'
demo_py raito access "$raito_url" --result "$out_dir/sync-access.json"
raito_roles
printf '   PostgreSQL: marie.curie may SELECT sales.crm.customers: %s -> %s\n' \
    "$readers_before" "$(may marie.curie SELECT sales crm.customers)"
printf '   PostgreSQL: José (in "Data Engineers") may UPDATE marketing.campaigns.campaigns: %s -> %s\n' \
    "$campaigns_before" "$(may 'José' UPDATE marketing campaigns.campaigns)"

say "d. sync-usage, payload {\"targets\": []}: a workload run as marie.curie, read from the statement log"
pg postgres "ALTER ROLE \"marie.curie\" PASSWORD 'demo-marie'"
# Four statements in the sales database, one of them refused (crm.orders is not hers yet).
PGPASSWORD=demo-marie PGSSLMODE=require "$pg_bin/psql" -X -q -h "$RAITO_TEST_PG_HOST" \
    -p "$RAITO_TEST_PG_PORT" -U marie.curie -d sales >"$out_dir/workload.log" 2>&1 <<'SQL' || true
SELECT name, tier FROM crm.customers WHERE tier = 'gold';
SELECT count(*) FROM crm.active_customers;
SELECT sku, title, price FROM catalog.products ORDER BY price DESC LIMIT 5;
SELECT sum(total) FROM crm.orders;
SQL
printf '   marie.curie ran 4 statements in sales (psql output: %s)\n' "$out_dir/workload.log"
# The usage sync reads whole seconds that are over (pg-usage-settle-seconds: 0 in raito.yml).
sleep 1.1
run_function sync-usage sync-usage '{"targets": []}'
demo_py raito usage "$raito_url" --result "$out_dir/sync-usage.json" --user marie.curie
printf "   (raito_test's: the warehouse's load and the syncs' own catalog queries; the sync ran as raito_test)\n"

say "e. Raito changes one access provider and sends a signed apUpdate webhook"
orders_before=$(may marie.curie SELECT sales crm.orders)
demo_py add-what "$access_providers" ap-sales-readers sales.crm.orders table SELECT
demo_py wait-version "$raito_url" ap-sales-readers 2
printf "   Raito: 'Sales readers' now also grants SELECT on sales.crm.orders (version 2, out of sync)\n"
webhook_body='{"apUpdate": {"domain": "demo", "dataSourceNames": ["demo-warehouse-ds"]}}'
webhook_event=$(demo_py webhook-event "$webhook_body" demo-delivery-1 "$webhook_secret")
printf '   POST %s, X-Raito-Delivery: demo-delivery-1, signed (HMAC-SHA256)\n' "$webhook_body"
webhook_sent=$(now_ms)
# Only the receiver is given the webhook secret (in AWS, the sync functions may not read it).
RAITO_WEBHOOK_SECRET_NAME=raito-sync/webhook \
    run_function webhook-receiver webhook-receiver "$webhook_event"
# The keys from the answer, not from listing the bucket: boto3 alone takes about half a second,
# which would count in the time from webhook to grant.
mapfile -t queued < <(demo_py queued-keys "$out_dir/webhook-receiver.json")
((${#queued[@]})) || {
    echo "demo: the webhook queued nothing; see $out_dir/webhook-receiver.log" >&2
    exit 1
}
printf '   queued: %s\n' "${queued[*]}"
say "e. the queued trigger's S3 Object Created event, delivered to sync-access"
for i in "${!queued[@]}"; do
    run_function "sync-access-webhook-$((i + 1))" sync-access \
        "$(demo_py object-created "$bucket" "${queued[$i]}")"
done
orders_after=no
for _ in $(seq 1 50); do
    orders_after=$(may marie.curie SELECT sales crm.orders)
    [[ $orders_after == yes ]] && break
    sleep 0.1
done
granted_ms=$(($(now_ms) - webhook_sent))
demo_py raito access "$raito_url" --no-import
printf '   PostgreSQL: marie.curie may SELECT sales.crm.orders: %s -> %s, %d ms after the webhook was sent\n' \
    "$orders_before" "$orders_after" "$granted_ms"
left=$(demo_py keys "$bucket" triggers/)
printf '   triggers left in the bucket: %s\n' "${left:-none (the run consumed them)}"
[[ $orders_after == yes ]] || {
    echo "demo: the grant did not appear; see $out_dir/sync-access-webhook-1.log" >&2
    exit 1
}

aac_file=dev/demo/access-as-code.yaml
aac_key=access-as-code/demo-warehouse/finance.yaml
say "f. access-as-code: raito-sync access plan --config dev/demo/raito.yml --target demo-warehouse --file $aac_file"
"$bin/raito-sync" access plan --config dev/demo/raito.yml --target demo-warehouse \
    --file "$aac_file" >"$out_dir/access-plan.sql" 2>"$out_dir/access-plan.log" || {
    echo "demo: the plan failed; see $out_dir/access-plan.log" >&2
    exit 1
}
sed 's/^/   /' "$out_dir/access-plan.sql"
sed -n 's/^\(access of target .*\)$/   \1/p' "$out_dir/access-plan.log"
printf '   (plan: %s; log: %s)\n' "$out_dir/access-plan.sql" "$out_dir/access-plan.log"

say "f. the file to s3://$bucket/$aac_key: its Object Created event, delivered to sync-access"
auditors_before=$(may 'José' SELECT 'Finance Dept' '"reporting.eu"."balance.by account"')
demo_py put "$bucket" "$aac_key" "$aac_file"
run_function sync-access-as-code sync-access "$(demo_py object-created "$bucket" "$aac_key")"
demo_py get "$bucket" "${aac_key%.yaml}.feedback.json" >"$out_dir/finance.feedback.json"
demo_py feedback "$out_dir/finance.feedback.json"
printf '   (feedback: s3://%s/%s, copied to %s)\n' "$bucket" "${aac_key%.yaml}.feedback.json" \
    "$out_dir/finance.feedback.json"
printf '   PostgreSQL: José may SELECT "Finance Dept"."reporting.eu"."balance.by account": %s -> %s\n' \
    "$auditors_before" "$(may 'José' SELECT 'Finance Dept' '"reporting.eu"."balance.by account"')"
printf '   PostgreSQL: José may SELECT "Finance Dept".ledger.accounts: column name %s, column kind %s\n' \
    "$(may 'José' SELECT 'Finance Dept' ledger.accounts name)" \
    "$(may 'José' SELECT 'Finance Dept' ledger.accounts kind)"

say "done in $((SECONDS - demo_started)) s; every log and output is in $out_dir"
