#!/usr/bin/env bash
# Measures `raito-sync identities` on large directories: USERS users and GROUPS groups (default
# 100,000 and 10,000; each user in 3 groups, every 100th group nested in the next) from
# (a) slapd, seeded with a generated LDIF (dev/services.sh with RAITO_LDAP_SEED), and (b) the
# Okta stand-in serving a generated org. Prints wall time, peak RSS, requests (LDAP search
# pages / HTTP requests) and what was written. Builds release binaries; starts and stops its
# own services.
#
#   dev/bench-identities.sh                       the table goes to stdout, progress to stderr
#   BENCH_USERS=10000 BENCH_GROUPS=1000 dev/bench-identities.sh
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
users=${BENCH_USERS:-100000}
groups=${BENCH_GROUPS:-10000}
release="${CARGO_TARGET_DIR:-$repo_root/target}/release"

say() { printf '\n== bench: %s\n' "$*" >&2; }

say "setup"
# shellcheck source=dev/setup.sh
source dev/setup.sh --no-venv
say "building raito-sync and okta-standin (release)"
cargo build --release -p raito-sync -p okta-standin

work=$(mktemp -d "${TMPDIR:-/tmp}/raito-bench-identities.XXXXXX")
services_state='' okta_pid=''
cleanup() {
    local rc=$?
    if [[ -n "$okta_pid" ]]; then kill "$okta_pid" 2>/dev/null || true; fi
    if [[ -n "$services_state" ]]; then dev/services.sh stop "$services_state" || rc=1; fi
    rm -rf -- "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "generating an LDIF of $users users and $groups groups"
python3 - "$users" "$groups" >"$work/bench.ldif" <<'PY'
import sys
users, groups = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
out.write("dn: ou=bench,dc=example,dc=com\nobjectClass: organizationalUnit\nou: bench\n\n")
members = [[] for _ in range(groups)]
for u in range(users):
    uid = f"b{u:07d}"
    out.write(f"dn: uid={uid},ou=bench,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: {uid}\n"
              f"cn: Bench User {u}\nsn: {u}\nmail: {uid}@example.com\n\n")
    for k in range(3):
        members[(u * 7 + k * 13) % groups].append(f"uid={uid},ou=bench,dc=example,dc=com")
for g in range(groups):
    if g % 100 == 0 and g + 1 < groups:
        members[g + 1].append(f"cn=bg{g:06d},ou=bench,dc=example,dc=com")
    out.write(f"dn: cn=bg{g:06d},ou=bench,dc=example,dc=com\nobjectClass: groupOfNames\ncn: bg{g:06d}\n")
    for m in members[g] or ["cn=nobody"]:
        out.write(f"member: {m}\n")
    out.write("\n")
PY
say "starting slapd with it (slapadd; takes a while)"
start=$SECONDS
services_env=$(RAITO_LDAP_SEED="$work/bench.ldif" dev/services.sh start --no-moto)
eval "$services_env"
services_state=$RAITO_SERVICES_STATE
printf '   loaded in %d s\n' $((SECONDS - start)) >&2

rows=()
# measure LABEL CONFIG: raito-sync identities under /usr/bin/time -v, requests from its log.
measure() {
    local label=$1 config=$2
    local tlog="$work/$label.time" log="$work/$label.log"
    say "raito-sync identities: $label"
    RUST_LOG=info /usr/bin/time -v -o "$tlog" "$release/raito-sync" --log-format json identities --config "$config" \
        --target bench --out-users "$work/$label-users.json" --out-groups "$work/$label-groups.json" 2>"$log" >/dev/null || {
        tail -n 20 "$log" >&2
        return 1
    }
    local wall rss_kb requests written_users written_groups
    wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tlog")
    rss_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tlog")
    requests=$(grep -o '"requests":[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    written_users=$(grep -c . <(python3 -c 'import json,sys; [print(1) for _ in json.load(open(sys.argv[1]))]' "$work/$label-users.json"))
    written_groups=$(grep -c . <(python3 -c 'import json,sys; [print(1) for _ in json.load(open(sys.argv[1]))]' "$work/$label-groups.json"))
    rows+=("$(printf '%-10s %9s %9s %10s %10s %10s' "$label" "$written_users" "$written_groups" "$wall" \
        "$(numfmt --to=iec-i --suffix=B --format=%.1f $((rss_kb * 1024)))" "${requests:-?}")")
}

export BENCH_LDAP_URL=$RAITO_TEST_LDAP_URL BENCH_LDAP_PASSWORD=$RAITO_TEST_LDAP_PASSWORD
cat >"$work/ldap.yml" <<'EOF2'
targets:
  - name: bench
    connector-name: ldap
    ldap-url: "{{BENCH_LDAP_URL}}"
    ldap-bind-dn: cn=raito-reader,dc=example,dc=com
    ldap-password: "{{BENCH_LDAP_PASSWORD}}"
    ldap-base-dn: ou=bench,dc=example,dc=com
    ldap-page-size: 1000
EOF2
measure slapd "$work/ldap.yml"

say "starting the Okta stand-in with $users users and $groups groups"
"$release/okta-standin" --users "$users" --groups "$groups" --groups-per-user 3 >"$work/okta.url" 2>"$work/okta.log" &
okta_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/okta.url" ]] && break; sleep 0.1; done
export BENCH_OKTA_URL
BENCH_OKTA_URL=$(head -n 1 "$work/okta.url")
cat >"$work/okta.yml" <<'EOF2'
targets:
  - name: bench
    connector-name: okta
    okta-domain: "{{BENCH_OKTA_URL}}"
    okta-token: test-token
    okta-concurrency: 8
EOF2
measure okta "$work/okta.yml"

{
    printf '\n%-10s %9s %9s %10s %10s %10s\n' source users groups wall 'peak RSS' requests
    printf '%s\n' "${rows[@]}"
}
