#!/usr/bin/env bash
# The "Beside ESO" test on its own: ESO's own controller (built and cached by
# scripts/backends/eso.sh) and eso-operator on one kube-apiserver
# (scripts/backends/kube.sh), then stores moved between them
# (eso-operator/tests/beside_eso.rs, figures printed with --nocapture).
#
# usage: scripts/beside-eso.sh
#
# Starts kube if it is not running (a running one is reused and left running;
# one this script started is stopped at the end) and builds ESO on first use
# (minutes: see scripts/backends/README.md). ESO is not among scripts/test.sh's
# default backends; with ESO_BACKENDS naming `eso`, scripts/test.sh runs the
# same test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eso-rs/target}"

started_kube=0
if ! bash scripts/backends/kube.sh status >/dev/null 2>&1; then
    started_kube=1
fi
trap '[[ $started_kube == 1 ]] && bash scripts/backends/kube.sh stop >/dev/null 2>&1 || true' EXIT
eval "$(bash scripts/backends/kube.sh start)"
eval "$(bash scripts/backends/eso.sh start)"
export ESO_REQUIRE_BACKENDS=1 ESO_BACKENDS="kube eso"
cargo test -p eso-operator --test beside_eso -- --nocapture
