#!/usr/bin/env bash
# The operator at scale on a real kube-apiserver (scripts/backends/kube.sh), `fake`
# provider, N ExternalSecrets with two data entries each created at once:
#
#   plain     the yardstick: a plain kube-rs client making exactly the writes a sync
#             makes (create the Secret, patch the status), 8 at a time
#   operator  examples/operator/operator.rs (default concurrency 8), then, with all N refreshing
#             every 1m, one more ExternalSecret's time to Ready
#
# Each run gets a fresh API server (the instance is restarted: empty etcd). Prints one
# JSON line per run (see examples/operator/operator_scale_load.rs) with the operator's peak RSS
# (VmHWM) and CPU seconds added.
#
# usage: benches/operator-scale.sh [N...]        (default: 1000 5000)
# env:   ESO_BENCH_KUBE_INSTANCE (default bench), NEW_AFTER_SECS (default 65),
#        MODES (default "plain operator"), METRICS_PORT (default 18080), PROFILE (release, or debug to skip the
#        release build), CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
inst="${ESO_BENCH_KUBE_INSTANCE:-bench}"
port="${METRICS_PORT:-18080}"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 5000)

profile="${PROFILE:-release}"
if [[ $profile == release ]]; then
    cargo build --release -q -p eso-examples-operator --no-default-features --example operator --example operator_scale_load
else
    cargo build -q -p eso-examples-operator --no-default-features --example operator --example operator_scale_load
fi
bin="${CARGO_TARGET_DIR:-target}/$profile/examples"

fresh_apiserver() {
    bash scripts/backends/kube.sh stop "$inst" >/dev/null 2>&1 || true
    bash scripts/backends/kube.sh start "$inst" >/dev/null
    set -a
    # shellcheck disable=SC1090
    . ".env.backends.kube.$inst"
    set +a
    "$bin/operator_scale_load" crds
}

modes="${MODES:-plain operator}"
for n in "${sizes[@]}"; do
  if [[ $modes == *plain* ]]; then
    fresh_apiserver
    "$bin/operator_scale_load" plain "$n"
  fi
  if [[ $modes == *operator* ]]; then

    fresh_apiserver
    RUST_LOG="${RUST_LOG:-warn}" METRICS_ADDR="127.0.0.1:$port" POD_NAMESPACE=default \
        HOSTNAME=bench "$bin/operator" 2>"/tmp/eso-operator-scale-$n.log" &
    op=$!
    result="$("$bin/operator_scale_load" operator "$n")"
    hwm_kib="$(awk '/VmHWM/ {print $2}' "/proc/$op/status")"
    ticks="$(awk '{print $14 + $15}' "/proc/$op/stat")"
    scrape="$(curl -s "http://127.0.0.1:$port/metrics")"
    metrics="$(grep -c '^externalsecret_sync_calls_total{' <<<"$scrape" || true)"
    sync_calls="$(awk '/^externalsecret_sync_calls_total\{/ {s += $NF} END {print s + 0}' <<<"$scrape")"
    sync_errors="$(awk '/^externalsecret_sync_calls_error\{/ {s += $NF} END {print s + 0}' <<<"$scrape")"
    kill -TERM "$op"
    wait "$op" || true
    python3 -c '
import json, sys
r = json.loads(sys.argv[1])
r["operator_peak_rss_mib"] = round(int(sys.argv[2]) / 1024, 1)
r["operator_cpu_s"] = round(int(sys.argv[3]) / 100, 2)
r["objects_in_metrics"] = int(sys.argv[4])
r["reconciles"] = int(float(sys.argv[5]))
r["reconcile_errors"] = int(float(sys.argv[6]))
print(json.dumps(r))' "$result" "$hwm_kib" "$ticks" "$metrics" "$sync_calls" "$sync_errors"
  fi
done
bash scripts/backends/kube.sh stop "$inst" >/dev/null 2>&1 || true
