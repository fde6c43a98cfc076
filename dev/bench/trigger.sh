#!/usr/bin/env bash
# Bench part `trigger`: how fast a message on Raito's trigger channel takes effect. The real
# trigger-listener binary (release, built on its own as SAM builds it) listens through a local
# Lambda Runtime API on the Raito stand-in's websocket, with raito.yml and the credentials in
# moto and an ephemeral PostgreSQL 15 cluster, driven by `trigger-latency` (dev/lambda-harness):
#   - PUSHES `apUpdate` messages (default 20), one at a time: from the stand-in's push to the
#     trigger queued in S3 (the listener's `trigger queued` log line, written when moto has
#     acknowledged the PUT; each object is checked in the bucket): median and max;
#   - GRANT_RUNS times (default 5) per poll setting, one new access provider each: from the
#     push to the grant visible in PostgreSQL (`has_table_privilege`, polled every 2 ms), with
#     a fresh sync-access process (release, a cold start) invoked with the queued key's S3
#     event as soon as the trigger is queued, and to sync-access's answer (feedback imported
#     into Raito): medians. Settings: `deployed` (RAITO_POLL_INTERVAL_MS 5,000, the functions'
#     default: Raito's export is first polled after 1 s, as the Go CLI does) and `fast` (50 ms:
#     the time that is not waiting for Raito). Not included: S3's event reaching sync-access through
#     EventBridge, and Raito's own time to push and to export (the stand-in answers at once).
# No target is set for these figures (issue 23 asks only that they be measured).
#
#   dev/bench/trigger.sh                the rows on stdout, progress on stderr
#   BENCH_PUSHES=50 BENCH_GRANT_RUNS=10 dev/bench/trigger.sh
#   BENCH_QUICK=1 (counts / 10), BENCH_KEEP=1 (keep the temp dir: the samples, in trigger.out)
# shellcheck source=dev/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init trigger

pushes=$(bench_scale "${BENCH_PUSHES:-20}")
runs=$(bench_scale "${BENCH_GRANT_RUNS:-5}")
functions=(trigger-listener sync-access)

bench_build lambda-harness
bench_build_functions "${functions[@]}"
for f in "${functions[@]}" trigger-latency; do
    if [[ ! -x "$release/$f" ]]; then
        echo "bench trigger: no release binary at $release/$f: build it first: cargo build --release -p $([[ $f == trigger-latency ]] && echo lambda-harness || echo "$f")" >&2
        exit 1
    fi
done

say "starting an ephemeral PostgreSQL 15 cluster and a moto server"
bench_services_start --no-ldap

say "trigger-latency: $pushes pushes, $runs runs per poll setting"
# The functions' own log lines go to the harness; only its progress and failures reach stderr.
bench_run trigger "$release/trigger-latency" --pushes "$pushes" --runs "$runs" \
    "$release/trigger-listener" "$release/sync-access"
cat "$work/trigger.err" >&2

# summarize FIELD [KIND...]: over the lines of trigger.out whose fields 1.. equal KIND..., the
# median, minimum, maximum and count of field FIELD: "median min max count".
summarize() {
    local field=$1
    shift
    awk -v field="$field" -v kinds="$*" '
        BEGIN { n_kinds = split(kinds, kind, " ") }
        {
            for (i = 1; i <= n_kinds; i++) if ($i != kind[i]) next
            values[++n] = $field
        }
        END {
            if (n == 0) { print "n/a n/a n/a 0"; exit }
            # insertion sort: a few dozen values
            for (i = 2; i <= n; i++) {
                v = values[i]
                for (j = i - 1; j >= 1 && values[j] > v; j--) values[j + 1] = values[j]
                values[j + 1] = v
            }
            median = n % 2 ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
            printf "%.1f %.1f %.1f %d\n", median, values[1], values[n], n
        }' "$work/trigger.out"
}

bench_header
read -r median min max count < <(summarize 2 queued)
bench_row trigger "push on the trigger channel -> trigger queued in S3 (PUT acknowledged), median of $count (min $min)" "$median ms"
bench_row trigger "push on the trigger channel -> trigger queued in S3, max of $count" "$max ms"
for setting in deployed fast; do
    case $setting in
    deployed) label="RAITO_POLL_INTERVAL_MS 5,000 as deployed: Raito's export first polled after 1 s" ;;
    fast) label="RAITO_POLL_INTERVAL_MS 50: the time not spent waiting for Raito" ;;
    esac
    read -r queued _ _ _ < <(summarize 3 grant "$setting")
    read -r median min max count < <(summarize 4 grant "$setting")
    bench_row trigger "push -> grant applied in PostgreSQL, 1 access provider, sync-access cold, median of $count (min $min, max $max; queued after $queued ms; $label)" "$median ms"
    read -r median min max count < <(summarize 5 grant "$setting")
    bench_row trigger "push -> sync-access answered (feedback imported into Raito), median of $count ($setting; min $min, max $max)" "$median ms"
done
