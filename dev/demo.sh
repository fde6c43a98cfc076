#!/usr/bin/env bash
# The README's demo: the metadata and the roles of a sample PostgreSQL warehouse, into a file
# and into Raito.
#   1. installs what is missing (dev/setup.sh: PostgreSQL, the Python tools with moto);
#   2. builds raito-sync, the sync-metadata and sync-identities functions, the Raito and
#      Snowflake stand-ins and run-lambda (release);
#   3. starts an ephemeral PostgreSQL cluster and a moto server (dev/services.sh) and loads the
#      sample warehouse (dev/demo/warehouse.sql: four databases, awkward names and all);
#   4. runs `raito-sync metadata` with dev/demo/raito.yml, writing OUT_DIR/demo-warehouse.json,
#      and shows the first lines of that file; then the same for a Snowflake account next to it
#      (the Snowflake stand-in, dev/demo/snowflake.yml: OUT_DIR/demo-snowflake.json);
#   5. deploys locally: raito.yml in moto's S3, the Raito credentials in moto's Secrets Manager,
#      the Raito stand-in (dev/raito-standin) on a free port; runs the real sync-metadata and
#      sync-identities binaries through the Lambda Runtime API (run-lambda) and prints what
#      Raito received;
#   6. stops everything it started (also on failure or Ctrl-C).
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
        sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
    *) out_dir=$arg ;;
    esac
done
out_dir=${out_dir:-$repo_root/.tmp/demo}

say() { printf '\n== demo: %s\n' "$*" >&2; }

say "setup"
# shellcheck source=dev/setup.sh
if ((run_sync)); then
    source dev/setup.sh --all
else
    source dev/setup.sh --no-venv
fi

release="${CARGO_TARGET_DIR:-$repo_root/target}/release"
if ((run_sync)); then
    say "building raito-sync, sync-metadata, sync-identities, raito-standin, run-lambda, snowflake-standin (release; the first build takes several minutes)"
    cargo build --release -p raito-sync -p sync-metadata -p sync-identities -p raito-standin -p lambda-harness -p snowflake-standin
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
    services_env=$(dev/services.sh start)
else
    services_env=$(dev/services.sh start --no-moto)
fi
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
"$release/raito-sync" metadata --config dev/demo/raito.yml \
    --target demo-warehouse --out "$out_file"

say "the first lines of $out_file"
head -n 25 "$out_file" | cut -c1-200
printf '...\n'

say "a Snowflake account next to it: the stand-in (dev/snowflake-standin) serving a generated account over the SQL API"
sf_out="$out_dir/snowflake.url"
"$release/snowflake-standin" --columns 2000 --users 50 --public-key dev/test-keys/client.pub \
    --user RAITO_SYNC >"$sf_out" 2>"$out_dir/snowflake.log" &
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
"$release/raito-sync" metadata --config dev/demo/snowflake.yml --target demo-snowflake \
    --out "$sf_file"
python3 - "$sf_file" <<'PY' >&2
import collections, json, sys
objects = json.load(open(sys.argv[1]))
counts = collections.Counter(o["type"] for o in objects)
print("   " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())))
for o in objects[:6]:
    print(f"   {o['type']:<16} {o['externalId']}")
PY
kill "$sf_pid" 2>/dev/null || true
sf_pid=''

say "the Raito stand-in (dev/raito-standin)"
standin_out="$out_dir/standin.out"
"$release/raito-standin" --port 0 --domain demo --api-user demo@example.com \
    --api-secret demo-api-secret --data-source demo-warehouse-ds \
    --identity-store demo-warehouse-is >"$standin_out" 2>"$out_dir/standin.log" &
standin_pid=$!
for _ in $(seq 1 50); do
    [[ -s "$standin_out" ]] && break
    sleep 0.1
done
raito_url=$(head -n 1 "$standin_out")
[[ -n "$raito_url" ]] || {
    echo "demo: the stand-in did not start; see $out_dir/standin.log" >&2
    exit 1
}
printf '   Raito stand-in at %s\n' "$raito_url" >&2

say "deploying locally: raito.yml to s3://demo-bundle/config/raito.yml, credentials to Secrets Manager"
python3 - <<'PY'
import json, os
import boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="demo-bundle")
with open("dev/demo/raito.yml", "rb") as config:
    s3.put_object(Bucket="demo-bundle", Key="config/raito.yml", Body=config.read())
boto3.client("secretsmanager").create_secret(
    Name="raito-sync/raito",
    SecretString=json.dumps(
        {"domain": "demo", "api-user": "demo@example.com", "api-secret": "demo-api-secret"}
    ),
)
PY

export RAITO_CONFIG_URI=s3://demo-bundle/config/raito.yml RAITO_BUCKET=demo-bundle
export RAITO_SECRET_NAME=raito-sync/raito RAITO_API_URL=$raito_url
export RAITO_COGNITO_ENDPOINT="${raito_url}cognito/" RAITO_POLL_INTERVAL_MS=200
for function in sync-metadata sync-identities; do
    say "$function through the Lambda Runtime API: payload {\"targets\": []}"
    start_ms=$(date +%s%3N)
    "$release/run-lambda" "$release/$function" '{"targets": []}' 300 \
        >"$out_dir/$function-result.json" 2>"$out_dir/$function.log" || {
        cat "$out_dir/$function-result.json" "$out_dir/$function.log" >&2
        exit 1
    }
    end_ms=$(date +%s%3N)
    grep '^run-lambda:' "$out_dir/$function.log" | sed 's/^/   /' >&2
    printf '   end to end: %d ms (log: %s)\n' $((end_ms - start_ms)) "$out_dir/$function.log" >&2
done

say "what Raito received"
curl -fsS "${raito_url}_standin/state" >"$out_dir/raito-state.json"
python3 - "$out_dir/raito-state.json" "$out_dir"/sync-{metadata,identities}-result.json <<'PY'
import collections, json, sys
state = json.load(open(sys.argv[1]))
results = [json.load(open(path)) for path in sys.argv[2:]]
objects = state["dataObjects"].get("demo-warehouse-ds", [])
by_type = collections.Counter(o["type"] for o in objects)
print(f"   data source demo-warehouse-ds: {len(objects)} data objects")
for kind, count in sorted(by_type.items()):
    print(f"     {kind:<18} {count:>6}")
for job in state["jobs"]:
    print(f"   job {job['id']}: " + " -> ".join(u["status"] for u in job["history"]))
users = state["users"].get("demo-warehouse-is", [])
groups = {g["externalId"]: g for g in state["groups"].get("demo-warehouse-is", [])}
print(f"   identity store demo-warehouse-is: {len(users)} users, {len(groups)} groups")
for user in users:
    member_of = ", ".join(groups[g]["name"] for g in user["groupExternalIds"] or [])
    print(f"     user  {user['userName']:<16} in: {member_of or '-'}")
for group in groups.values():
    parents = ", ".join(groups[g]["name"] for g in group["parentGroupExternalIds"] or [])
    print(f"     group {group['name']:<16} in: {parents or '-'}")
for kind in ("DS", "IS"):
    events = [e["status"] for e in state["taskEvents"] if e["jobType"] == kind]
    print(f"   {kind} task events: " + " -> ".join(events))
print(f"   endOfTargetsSync calls: {len(state['endOfTargetsSyncs'])}")
for result in results:
    for target in result["targets"]:
        for step in target.get("steps", []):
            staged = ", ".join(step.get("staged", []))
            print(f"   target {target['name']}, {step['step']}: {step['status']}, staged at {staged}")
PY
