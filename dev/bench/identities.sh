#!/usr/bin/env bash
# Bench part `identities`: `raito-sync identities` on large directories: USERS users and GROUPS
# groups (default 100,000 and 10,000; each user in 3 groups, every 100th group nested in the
# next) from (a) slapd, seeded with a generated LDIF (dev/services.sh with RAITO_LDAP_SEED), and
# (b) the Okta stand-in serving a generated org. Figures per source: wall, peak RSS, requests
# (LDAP search pages of 1,000 / HTTP requests, from the log) and what was written.
#
#   dev/bench/identities.sh             the rows on stdout, progress on stderr
#   BENCH_USERS=10000 BENCH_GROUPS=1000 dev/bench/identities.sh
#   BENCH_QUICK=1 (sizes / 10), BENCH_KEEP=1 (keep the temp dir)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init identities

users=$(bench_scale "${BENCH_USERS:-100000}")
groups=$(bench_scale "${BENCH_GROUPS:-10000}")

bench_build raito-sync okta-standin

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
RAITO_LDAP_SEED="$work/bench.ldif" bench_services_start --no-moto
say "loaded in $((SECONDS - start)) s"

bench_header
# measure LABEL CONFIG: raito-sync identities, its requests from its log.
measure() {
    local label=$1 config=$2
    say "raito-sync identities: $label"
    RUST_LOG=info bench_run "$label" "$release/raito-sync" --log-format json identities \
        --config "$config" --target bench --out-users "$work/$label-users.json" \
        --out-groups "$work/$label-groups.json"
    local requests written_users written_groups
    requests=$(grep -o '"requests":[0-9]*' "$work/$label.err" | grep -o '[0-9]*$' | tail -n 1)
    written_users=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$work/$label-users.json")
    written_groups=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$work/$label-groups.json")
    bench_row identities "$label: users / groups written" "$(bench_int "$written_users") / $(bench_int "$written_groups")"
    bench_row identities "$label: wall" "$(bench_wall "$label") s"
    bench_row identities "$label: peak RSS" "$(bench_rss "$label") MiB"
    bench_row identities "$label: requests" "$(bench_int "${requests:-0}")"
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
bench_on_exit "kill $okta_pid 2>/dev/null || true"
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
