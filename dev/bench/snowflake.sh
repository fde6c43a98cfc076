#!/usr/bin/env bash
# Bench part `snowflake`: `raito-sync metadata` and `raito-sync identities` against the Snowflake
# stand-in (dev/snowflake-standin) serving a generated account of COLUMNS columns and USERS users
# (default 1,000,000 and 100,000; a quarter of the users untyped, so described one by one as the
# Go plugin does) and a query history of QUERIES queries 10 ms apart (default 1,000,000, ending
# 4 hours ago so that ACCESS_HISTORY has them) with LATENCY_MS per request (default 50, a
# realistic round trip to Snowflake).
# Then `raito-sync access import` (every role: ≥ 10,000 with the default 100,000 users) and
# `raito-sync access apply` of BENCH_APS access providers (default 10,000) of 10 table grants and
# 3 users each: from empty, again with nothing changed, and with 1 % changed.
# Figures: wall, peak RSS, HTTP requests (the connector's count), statements; and the statements
# the Go plugin's pattern would send for the same account (computed from its queries:
# snowflake/repository.go), which cannot run here.
#
#   dev/bench/snowflake.sh              the rows on stdout, progress on stderr
#   BENCH_COLUMNS=100000 BENCH_USERS=10000 BENCH_QUERIES=100000 BENCH_LATENCY_MS=50 dev/bench/snowflake.sh
#   BENCH_QUICK=1 (sizes / 10), BENCH_KEEP=1 (keep the temp dir)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init snowflake

columns=$(bench_scale "${BENCH_COLUMNS:-1000000}")
users=$(bench_scale "${BENCH_USERS:-100000}")
queries=$(bench_scale "${BENCH_QUERIES:-1000000}")
latency=${BENCH_LATENCY_MS:-50}

bench_build raito-sync snowflake-standin

say "starting the Snowflake stand-in: $columns columns, $users users, $queries queries, $latency ms per request"
"$release/snowflake-standin" --columns "$columns" --users "$users" --latency-ms "$latency" \
    --queries "$queries" --query-step-ms 10 \
    --public-key dev/test-keys/client.pub --user RAITO_SYNC >"$work/sf.url" 2>"$work/sf.log" &
sf_pid=$!
bench_on_exit "kill $sf_pid 2>/dev/null || true"
for _ in $(seq 1 600); do [[ -s "$work/sf.url" ]] && break; sleep 0.1; done
export BENCH_SF_URL BENCH_SF_KEY
BENCH_SF_URL=$(head -n 1 "$work/sf.url")
BENCH_SF_KEY=$(cat dev/test-keys/client.key)
cat >"$work/sf.yml" <<'EOF2'
targets:
  - name: bench
    connector-name: snowflake
    data-source-id: ds-bench
    identity-store-id: is-bench
    sf-account: raito-standin
    sf-user: RAITO_SYNC
    sf-role: RAITO_SYNC
    sf-host: "{{BENCH_SF_URL}}"
    sf-private-key: "{{BENCH_SF_KEY}}"
EOF2

bench_header
# count EVENT FIELD LABEL: FIELD of the last log event EVENT of run LABEL.
count() {
    grep "$1" "$work/$3.err" | grep -o "\"$2\":[0-9]*" | grep -o '[0-9]*$' | tail -n 1
}

say "raito-sync metadata"
RUST_LOG=info bench_run metadata "$release/raito-sync" --log-format json metadata \
    --config "$work/sf.yml" --target bench --out "$work/objects.json"
objects=$(count 'listed data objects' objects metadata)
requests=$(count 'listed data objects' requests metadata)
databases=$(python3 -c 'import json,sys; print(sum(1 for o in json.load(open(sys.argv[1])) if o["type"] in ("database","shared-database")))' "$work/objects.json")
bench_row snowflake "metadata: objects written" "$(bench_int "$objects")"
bench_row snowflake "metadata: wall" "$(bench_wall metadata) s"
bench_row snowflake "metadata: peak RSS" "$(bench_rss metadata) MiB" "" "≤ 64 MiB" \
    "$(bench_met "$(bench_rss metadata) <= 64")"
bench_row snowflake "metadata: HTTP requests" "$(bench_int "${requests:-0}")"
# The Go plugin's statements (data_source.go, repository.go): the account name, integrations,
# warehouses, shares (+ RESULT_SCAN), databases in pages of 1,000, per database SCHEMATA,
# FUNCTIONS, PROCEDURES, TABLES, COLUMNS and its tags, warehouse and integration tags, and,
# unless sf-role is ACCOUNTADMIN, ten GRANTs per database to itself.
go_statements=$((1 + 3 + 1 + databases / 1000 + 1 + databases * (5 + 1 + 10) + 2))
bench_row snowflake "metadata: Go plugin's statements for the same account (computed)" "$(bench_int "$go_statements")"

say "raito-sync identities"
RUST_LOG=info bench_run identities "$release/raito-sync" --log-format json identities \
    --config "$work/sf.yml" --target bench --out-users "$work/users.json" \
    --out-groups "$work/groups.json"
written=$(count 'listed users' users identities)
described=$(count 'listed users' described identities)
requests=$(count 'listed users' requests identities)
bench_row snowflake "identities: users written" "$(bench_int "$written")" "" "100,000 (the Go plugin stops at 10,000)" \
    "$(bench_met "$written >= $users")"
bench_row snowflake "identities: wall" "$(bench_wall identities) s"
bench_row snowflake "identities: peak RSS" "$(bench_rss identities) MiB"
bench_row snowflake "identities: HTTP requests ($(bench_int "$described") untyped users described)" "$(bench_int "${requests:-0}")"

say "raito-sync usage"
RUST_LOG=info bench_run usage "$release/raito-sync" --log-format json usage \
    --config "$work/sf.yml" --target bench --out "$work/usage.json"
pushed=$(count "read Snowflake's query history" pushed usage)
requests=$(count "read Snowflake's query history" requests usage)
bench_row snowflake "usage: statements written (query history of $(bench_int "$queries"))" "$(bench_int "${pushed:-0}")" \
    "" "every query" "$(bench_met "${pushed:-0} >= $queries")"
bench_row snowflake "usage: wall" "$(bench_wall usage) s"
bench_row snowflake "usage: statements / wall second" "$(bench_int "$(bench_calc "${pushed:-0} / $(bench_wall usage)" %d)")"
bench_row snowflake "usage: peak RSS" "$(bench_rss usage) MiB" "" "≤ 64 MiB" "$(bench_met "$(bench_rss usage) <= 64")"
bench_row snowflake "usage: HTTP requests (pages of 100,000)" "$(bench_int "${requests:-0}")"

say "raito-sync access import"
RUST_LOG=info bench_run access_import "$release/raito-sync" --log-format json access import \
    --config "$work/sf.yml" --target bench --out "$work/imported.json"
roles=$(count 'imported roles' roles access_import)
statements=$(count 'imported roles' statements access_import)
go_statements=$(count 'imported roles' go_statements access_import)
bench_row snowflake "access import: roles imported" "$(bench_int "${roles:-0}")" "" "≥ 10,000" \
    "$(bench_met "${roles:-0} >= 10000")"
bench_row snowflake "access import: wall" "$(bench_wall access_import) s"
bench_row snowflake "access import: peak RSS" "$(bench_rss access_import) MiB"
bench_row snowflake "access import: statements" "$(bench_int "${statements:-0}")"
bench_row snowflake "access import: Go plugin's statements for the same roles (computed)" \
    "$(bench_int "${go_statements:-0}")"

say "raito-sync access import, in bulk from ACCOUNT_USAGE"
sed 's/^    sf-role: RAITO_SYNC$/    sf-role: RAITO_SYNC\n    sf-access-import-from-account-usage: true/' \
    "$work/sf.yml" >"$work/sf-bulk.yml"
RUST_LOG=info bench_run access_import_bulk "$release/raito-sync" --log-format json access import \
    --config "$work/sf-bulk.yml" --target bench --out "$work/imported-bulk.json"
roles=$(count 'imported roles' roles access_import_bulk)
statements=$(count 'imported roles' statements access_import_bulk)
go_statements=$(count 'imported roles' go_statements access_import_bulk)
bench_row snowflake "access import in bulk (sf-access-import-from-account-usage): roles imported" "$(bench_int "${roles:-0}")"
bench_row snowflake "access import in bulk: wall" "$(bench_wall access_import_bulk) s"
bench_row snowflake "access import in bulk: peak RSS" "$(bench_rss access_import_bulk) MiB"
bench_row snowflake "access import in bulk: statements" "$(bench_int "${statements:-0}")" "" \
    "fewer than the Go plugin's" "$(bench_met "${statements:-0} * 10 < ${go_statements:-0}")"
bench_row snowflake "access import in bulk: Go plugin's statements for the same roles (computed)" \
    "$(bench_int "${go_statements:-0}")"

aps=$(bench_scale "${BENCH_APS:-10000}")
say "generating $aps access providers of 10 grants and 3 users each (and a copy with 1 % changed)"
generate_access() { # CHANGED (0 or 1)
    python3 - "$aps" "$1" "$work/objects.json" "$work/users.json" <<'PY'
import json, sys
aps, changed = int(sys.argv[1]), int(sys.argv[2])
objects = json.load(open(sys.argv[3]))
tables = [o["fullName"] for o in objects if o["type"] == "table"]
users = [u["userName"] for u in json.load(open(sys.argv[4]))][:1000]
def q(text):
    return json.dumps(text, ensure_ascii=False)
out = sys.stdout
out.write("accessProviders:\n")
for i in range(aps):
    who = ", ".join(q(users[(i * 3 + k) % len(users)]) for k in range(3))
    out.write(f"  - id: ap-{i}\n    name: Access {i}\n    namingHint: bench_ap_{i}\n    action: grant\n")
    out.write(f"    who:\n      users: [{who}]\n    what:\n")
    for k in range(10):
        t = (i * 10 + k) % len(tables)
        if changed and i % 100 == 0 and k == 0:
            t = (t + len(tables) // 2) % len(tables)
        out.write(f"      - dataObject: {{fullName: {q(tables[t])}, type: table}}\n        permissions: [SELECT]\n")
PY
}
generate_access 0 >"$work/access.yaml"
generate_access 1 >"$work/changed.yaml"

# apply NAME FILE: one access apply of FILE; its figures from the `applied access providers` event.
apply() {
    say "raito-sync access apply: $1"
    RUST_LOG=info bench_run "$1" "$release/raito-sync" --log-format json access apply \
        --config "$work/sf.yml" --target bench --file "$2" --feedback "$work/$1.feedback.json"
}
for run in first unchanged changed; do
    case $run in
        first) apply first "$work/access.yaml"; label="access apply from empty" ;;
        unchanged) apply unchanged "$work/access.yaml"; label="access apply, nothing changed" ;;
        changed) apply changed "$work/changed.yaml"; label="access apply, 1 % changed" ;;
    esac
    failed=$(count 'applied access providers' failed "$run")
    reads=$(count 'applied access providers' reads "$run")
    writes=$(count 'applied access providers' writes "$run")
    batched=$(count 'applied access providers' batched "$run")
    requests=$(count 'applied access providers' write_requests "$run")
    go_requests=$(count 'applied access providers' go_write_requests "$run")
    bench_row snowflake "$label: wall" "$(bench_wall "$run") s"
    bench_row snowflake "$label: peak RSS" "$(bench_rss "$run") MiB"
    bench_row snowflake "$label: access providers failed" "${failed:-n/a}" "" 0 "$(bench_met "${failed:-1} == 0")"
    bench_row snowflake "$label: write statements" "$(bench_int "${writes:-0}")"
    bench_row snowflake "$label: write requests" "$(bench_int "${requests:-0}")"
    if [[ ${requests:-0} -gt 0 ]]; then
        per=$(bench_calc "${batched:-0} / $requests" %d)
        if [[ $run == first ]]; then
            bench_row snowflake "$label: statements per request (BEGIN/COMMIT included)" "$per" "" "≥ 50" \
                "$(bench_met "$per >= 50")"
        else
            bench_row snowflake "$label: statements per request (BEGIN/COMMIT included)" "$per"
        fi
    fi
    bench_row snowflake "$label: read statements (SHOW GRANTS of existing roles, SHOW ROLES)" "$(bench_int "${reads:-0}")"
    bench_row snowflake "$label: Go plugin's write requests: one per statement, a comment per existing role (computed)" "$(bench_int "${go_requests:-0}")"
done
