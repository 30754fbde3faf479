#!/usr/bin/env bash
# The operator at scale on a real kube-apiserver (scripts/backends/kube.sh), `fake`
# provider, N ExternalSecrets with two data entries each created at once:
#
#   plain     the yardstick: a plain kube-rs client making exactly the writes a sync
#             makes (create the Secret, patch the status), 8 at a time
#   operator  examples/operator/operator.rs (default concurrency 8), then, with all N refreshing
#             every 1m, one more ExternalSecret's time to Ready
#   steady    the eso-operator binary (--concurrent=8, default read window and batch gathering)
#             against a real backend: N ExternalSecrets over KEYS distinct remote secrets,
#             all refreshing every REFRESH, observed for INTERVALS intervals once all are
#             Ready: provider calls per interval counted on the backend's side (moto's
#             request recorder, OpenBao's file audit log), API requests per interval, CPU
#             seconds per minute, RSS samples; then every remote value changes once and the
#             time until all targets hold it is printed (examples/operator/operator_steady.rs)
#
# Each run gets a fresh API server (the instance is restarted: empty etcd). Prints one
# JSON line per run (see examples/operator/operator_scale_load.rs) with the operator's peak RSS
# (VmHWM) and CPU seconds added.
#
# usage: benches/operator-scale.sh [N...]        (default: 1000 5000)
# env:   ESO_BENCH_KUBE_INSTANCE (default bench), NEW_AFTER_SECS (default 65),
#        MODES (default "plain operator"), METRICS_PORT (default 18080), PROFILE (release, or debug to skip the
#        release build), CARGO_TARGET_DIR;
#        steady mode: BACKEND (moto or openbao, default moto), KEYS (default 100),
#        REFRESH (default 1m), INTERVALS (default 10), OPERATOR_ARGS (extra eso-operator flags)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
inst="${ESO_BENCH_KUBE_INSTANCE:-bench}"
port="${METRICS_PORT:-18080}"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000 5000)

profile="${PROFILE:-release}"
release=()
[[ $profile == release ]] && release=(--release)
cargo build "${release[@]}" -q -p eso-examples-operator --no-default-features \
    --example operator --example operator_scale_load --example operator_steady
modes="${MODES:-plain operator}"
if [[ $modes == *steady* ]]; then
    cargo build "${release[@]}" -q -p eso-operator
fi
bin="${CARGO_TARGET_DIR:-target}/$profile/examples"
eso_operator="${CARGO_TARGET_DIR:-target}/$profile/eso-operator"

fresh_apiserver() {
    bash scripts/backends/kube.sh stop "$inst" >/dev/null 2>&1 || true
    bash scripts/backends/kube.sh start "$inst" >/dev/null
    set -a
    # shellcheck disable=SC1090
    . ".env.backends.kube.$inst"
    set +a
    "$bin/operator_scale_load" crds
}

# The steady mode's backend, fresh for each run (OpenBao with its file audit log).
fresh_backend() {
    local backend="$1"
    bash "scripts/backends/$backend.sh" stop "$inst" >/dev/null 2>&1 || true
    ESO_OPENBAO_AUDIT=1 bash "scripts/backends/$backend.sh" start "$inst" >/dev/null
    set -a
    # shellcheck disable=SC1090
    . ".env.backends.$backend.$inst"
    set +a
}

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
  if [[ $modes == *steady* ]]; then
    backend="${BACKEND:-moto}"
    fresh_apiserver
    fresh_backend "$backend"
    # shellcheck disable=SC2086
    "$eso_operator" --concurrent=8 --metrics-addr="127.0.0.1:$port" \
        --live-addr="127.0.0.1:$((port + 1))" --loglevel=warn ${OPERATOR_ARGS:-} \
        2>"/tmp/eso-operator-steady-$n.log" &
    op=$!
    OPERATOR_PID=$op BACKEND="$backend" "$bin/operator_steady" "$n"
    kill -TERM "$op"
    wait "$op" || true
    bash "scripts/backends/$backend.sh" stop "$inst" >/dev/null 2>&1 || true
  fi
done
bash scripts/backends/kube.sh stop "$inst" >/dev/null 2>&1 || true
