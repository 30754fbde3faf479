#!/usr/bin/env bash
# The one test command of eso-rs: formatting, lints, docs, the dependency rule, then every
# test (unit, conformance, and integration tests against real backends on loopback).
#
# Usage: scripts/test.sh            # everything
#        ESO_SKIP_LINT=1 scripts/test.sh   # tests only (local iteration)
#
# Build outputs go to $CARGO_TARGET_DIR (default: ~/.cache/eso-rs/target), outside the clone,
# so a second run is incremental.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eso-rs/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
LOG_DIR="${ESO_TEST_LOG_DIR:-$CARGO_TARGET_DIR/test-logs}"
mkdir -p "$LOG_DIR"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

command -v cargo >/dev/null || { echo "cargo not found: install a Rust toolchain (rust-version in Cargo.toml)" >&2; exit 2; }
for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$comp" >/dev/null 2>&1 || { echo "cargo $comp is missing" >&2; exit 2; }
  fi
done

if [[ "${ESO_SKIP_LINT:-0}" != 1 ]]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check

  step "clippy (workspace, all targets, -D warnings)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  step "clippy (eso-core without features)"
  cargo clippy -p eso-core --all-targets --locked -- -D warnings
  step "clippy (eso-generators, all features: webhook is off by default)"
  cargo clippy -p eso-generators --all-targets --all-features --locked -- -D warnings

  step "eso-core depends on no HTTP client, kube client or cloud SDK"
  forbidden='^(reqwest|hyper|kube-client|aws-[a-z-]+|azure_[a-z_]+|google-[a-z-]+|tonic) '
  if cargo tree -p eso-core --all-features -e normal --prefix none --locked | grep -E "$forbidden"; then
    echo "eso-core must not depend on the crates listed above" >&2
    exit 1
  fi

  step "cargo doc (no warnings)"
  RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
fi

if [[ -d scripts/backends ]] && [[ "${ESO_SKIP_BACKENDS:-0}" != 1 ]]; then
  step "start test backends"
  for b in scripts/backends/*.sh; do
    name="$(basename "$b" .sh)"
    [[ "$name" == all || "$name" == lib || "$name" == common ]] && continue
    bash "$b" start >"$LOG_DIR/backend-$name.log" 2>&1 || { echo "backend $name failed to start:"; tail -n 30 "$LOG_DIR/backend-$name.log"; exit 1; }
    # shellcheck disable=SC1090
    eval "$(bash "$b" env)"
  done
  trap 'for b in scripts/backends/*.sh; do n=$(basename "$b" .sh); [[ $n == all || $n == lib || $n == common ]] || bash "$b" stop >/dev/null 2>&1 || true; done' EXIT
fi

step "cargo test (workspace, all features)"
set +e
cargo test --workspace --all-features --locked --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo-test.log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$LOG_DIR/cargo-test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$LOG_DIR/cargo-test.log" | awk '{s+=$1} END {print s+0}')
echo
echo "scripts/test.sh took $(( $(date +%s) - started ))s"
echo "${passed} passed, ${failed} failed"
exit "$status"
