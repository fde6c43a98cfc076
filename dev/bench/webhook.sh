#!/usr/bin/env bash
# Bench part `webhook`: how fast a signed `apUpdate` webhook takes effect (issue 22). The real
# webhook-receiver and sync-access binaries (release, sync-access's package built on its own as
# SAM builds it), each through its own local Lambda Runtime API, with raito.yml, the Raito
# credentials and the webhook secret in moto, the Raito stand-in as Raito Cloud and an
# ephemeral PostgreSQL 15 cluster; the bucket's events under `triggers/access/` reach
# sync-access through moto's EventBridge and SQS (the harness's `BucketEvents`, as the deployed
# rule does). Driven by `webhook-latency` (dev/lambda-harness):
#   - setup: the `access` part's data (APS access providers, default 10,000, each SELECT on 8
#     tables and 2 columns of TABLES tables for 3 of USERS users, inheriting from the one
#     before) in the stand-in's export, applied once by sync-access so the target is in sync;
#   - RUNS samples (default 5) per poll setting, each with fresh instances of both functions
#     for its first sample: one access provider gets one more user, an `apUpdate` webhook is
#     signed (HMAC-SHA256, as Raito signs it) and sent to the receiver as a Function URL
#     request; from then: the receiver's 202, the trigger queued in S3 (its `webhook queued`
#     line), sync-access invoked by the trigger's bucket event, the grant visible in PostgreSQL
#     (`has_table_privilege`, polled every 2 ms on a connection of its own; the instant the
#     first query that sees it was sent) and sync-access's
#     answer (feedback imported into Raito). Each sample checks that Raito's export asked for
#     the out-of-sync access providers only and carried the changed one alone.
#   Settings: `deployed` (RAITO_POLL_INTERVAL_MS 5,000, the functions' default: Raito's export
#   is first polled after 1 s, as the Go CLI does) and `fast` (50 ms: the time that is not
#   waiting for Raito). Not included: the network between Raito and the Function URL, Lambda's
#   own event delivery (here moto's and the harness's, on loopback) and Raito's time to export
#   (the stand-in answers at once).
# No target is set for these figures.
#
#   dev/bench/webhook.sh                the rows on stdout, progress on stderr
#   BENCH_WEBHOOK_RUNS=10 BENCH_APS=1000 dev/bench/webhook.sh   (also BENCH_TABLES, BENCH_USERS)
#   BENCH_QUICK=1 (sizes / 10, runs / 10 but at least 2), BENCH_KEEP=1 (keep the temp dir: the
#   samples, in webhook.out)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init webhook

aps=$(bench_scale "${BENCH_APS:-10000}")
tables=$(bench_scale "${BENCH_TABLES:-1000}")
users=$(bench_scale "${BENCH_USERS:-200}")
runs=$(bench_scale "${BENCH_WEBHOOK_RUNS:-5}")
# A first sample and at least one warm one.
if ((runs < 2)); then runs=2; fi

bench_build lambda-harness
# webhook-receiver is a binary of the sync-access package: built with it.
bench_build_functions sync-access
for f in sync-access webhook-receiver webhook-latency; do
    if [[ ! -x "$release/$f" ]]; then
        echo "bench webhook: no release binary at $release/$f: build it first: cargo build --release -p $([[ $f == webhook-latency ]] && echo lambda-harness || echo sync-access)" >&2
        exit 1
    fi
done

say "starting an ephemeral PostgreSQL 15 cluster and a moto server"
bench_services_start --no-ldap

say "webhook-latency: $aps access providers, $runs samples per poll setting"
# The functions' own log lines go to the harness; only its progress and failures reach stderr.
bench_run webhook "$release/webhook-latency" --aps "$aps" --tables "$tables" --users "$users" \
    --runs "$runs" "$release/webhook-receiver" "$release/sync-access"
cat "$work/webhook.err" >&2

# summarize FIELD CONDITION: over the lines of webhook.out that match the awk CONDITION, the
# median, minimum, maximum and count of field FIELD: "median min max count".
summarize() {
    awk -v field="$1" "
        $2 { values[++n] = \$field }
        END {
            if (n == 0) { print \"n/a n/a n/a 0\"; exit }
            # insertion sort: a few dozen values
            for (i = 2; i <= n; i++) {
                v = values[i]
                for (j = i - 1; j >= 1 && values[j] > v; j--) values[j + 1] = values[j]
                values[j + 1] = v
            }
            median = n % 2 ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
            printf \"%.1f %.1f %.1f %d\\n\", median, values[1], values[n], n
        }" "$work/webhook.out"
}
# range FIELD: "A" when every sample has the same field FIELD, else "A-B" (numbers), or n/a.
range() {
    # shellcheck disable=SC2016 # an awk condition: awk's $1
    read -r _ min max count < <(summarize "$1" '$1 == "sample"')
    if [[ $count == 0 ]]; then
        echo n/a
    elif [[ $min == "$max" ]]; then
        bench_int "$min"
    else
        echo "$(bench_int "$min")-$(bench_int "$max")"
    fi
}

bench_header
read -r _ setup_aps setup_ms setup_statements setup_round_trips < <(grep '^setup ' "$work/webhook.out")
bench_row webhook "setup: $(bench_int "$setup_aps") access providers applied from empty by sync-access (a schedule, then its queued trigger; $(bench_int "$setup_statements") statements in $(bench_int "$setup_round_trips") round trips)" "$(bench_calc "$setup_ms / 1000" %.1f) s"
for setting in deployed fast; do
    case $setting in
    deployed) label="RAITO_POLL_INTERVAL_MS 5,000 as deployed: Raito's export first polled after 1 s" ;;
    fast) label="RAITO_POLL_INTERVAL_MS 50: the time not spent waiting for Raito" ;;
    esac
    is="\$1 == \"sample\" && \$2 == \"$setting\""
    read -r median min max count < <(summarize 7 "$is")
    bench_row webhook "signed apUpdate webhook -> grant visible in PostgreSQL, 1 of $(bench_int "$aps") access providers changed, through the queue, the lease and the bucket's event, median of $count (min $min; $label)" "$median ms"
    bench_row webhook "webhook -> grant, max of $count ($setting)" "$max ms"
    read -r first _ _ _ < <(summarize 7 "$is && \$3 == 1")
    read -r warm warm_min warm_max warm_count < <(summarize 7 "$is && \$3 > 1")
    bench_row webhook "webhook -> grant: the first sample (fresh receiver and sync-access) / the warm ones, median of $warm_count (min $warm_min, max $warm_max; $setting)" "$first ms / $warm ms"
    read -r answered _ _ _ < <(summarize 4 "$is")
    read -r queued _ _ _ < <(summarize 5 "$is")
    read -r invoked _ _ _ < <(summarize 6 "$is")
    bench_row webhook "webhook -> receiver answered 202 / trigger queued in S3 / sync-access invoked by the trigger's event (moto's EventBridge and SQS, the harness), medians ($setting)" "$answered / $queued / $invoked ms"
    read -r median min max count < <(summarize 8 "$is")
    bench_row webhook "webhook -> sync-access answered (feedback imported into Raito), median of $count ($setting; min $min, max $max)" "$median ms"
done
bench_row webhook "one apUpdate run (out of sync only): access providers in Raito's export / statements sent, reads included / round trips / DDL run, every sample" "$(range 12) / $(range 9) / $(range 10) / $(range 11)"
