#!/usr/bin/env bash
# The soak: the operator (examples/operator/operator.rs) against a real kube-apiserver with thousands
# of ExternalSecrets and hundreds of PushSecrets over OpenBao and moto, for a fixed time
# while the backends and the API server flap (fault proxies owned by the driver,
# examples/operator/soak.rs). Samples the operator's RSS, open file descriptors and live tokio tasks
# every 5 s; at the end changes every value once more and measures how long until every
# object has converged (target Secrets hold the new values, PushSecrets Synced, the
# backends hold what was pushed).
#
# usage: benches/soak.sh
# env:   SOAK_ES (2000), SOAK_PS (200), SOAK_KEYS (200), SOAK_SECS (600),
#        SOAK_CYCLE_SECS (60), SOAK_FAULT_SECS (20), SOAK_REFRESH (1m): see examples/operator/soak.rs
#        PROFILE (debug, or release), SOAK_INSTANCE (backend instance names, default soak),
#        SOAK_SAMPLES (CSV of the samples, default /tmp/eso-soak-samples.csv),
#        CARGO_TARGET_DIR
# Prints the driver's JSON summary; the operator's log is /tmp/eso-soak-operator.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
inst="${SOAK_INSTANCE:-soak}"
profile="${PROFILE:-debug}"
if [[ $profile == release ]]; then
    cargo build --release -q -p eso-examples-operator --example operator --example soak
else
    cargo build -q -p eso-examples-operator --example operator --example soak
fi
bin="${CARGO_TARGET_DIR:-target}/$profile/examples"

stop_all() {
    for b in kube openbao moto; do
        bash "scripts/backends/$b.sh" stop "$inst" >/dev/null 2>&1 || true
    done
}
trap stop_all EXIT
stop_all
for b in kube openbao moto; do
    bash "scripts/backends/$b.sh" start "$inst" >/dev/null
    set -a
    # shellcheck disable=SC1090
    . ".env.backends.$b.$inst"
    set +a
done
export SOAK_SAMPLES="${SOAK_SAMPLES:-/tmp/eso-soak-samples.csv}"
"$bin/soak" "$bin/operator"
