#!/usr/bin/env bash
# The one test command of eso-rs: formatting, lints, docs, the dependency rule, then every
# test (unit, conformance, and integration tests against real backends on loopback).
#
# Usage: scripts/test.sh            # everything
#        ESO_SKIP_LINT=1 scripts/test.sh   # tests only (local iteration)
#        ESO_SKIP_FUZZ=1 scripts/test.sh   # without the fuzz smoke run
#        ESO_SKIP_CONSUMER=1 scripts/test.sh   # without the packaged-crates consumer build
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

# Test binaries carry their clone's path (CARGO_MANIFEST_DIR: where the ESO-derived data and
# the backend scripts are found), and cargo takes them as fresh for another clone of the same
# commit that shares this target folder. When the folder was last used from another clone,
# the workspace's own crates are rebuilt here (third-party ones are kept).
clone_stamp="$CARGO_TARGET_DIR/.eso-rs-clone"
if [[ -f "$clone_stamp" && "$(cat "$clone_stamp")" != "$ROOT" ]]; then
  echo "the target folder was last used from $(cat "$clone_stamp"): rebuilding this workspace's crates"
  cargo metadata --no-deps --format-version 1 \
    | python3 -c 'import json, sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))' \
    | sed 's/^/-p\n/' | xargs -d '\n' cargo clean --quiet
fi
printf '%s\n' "$ROOT" >"$clone_stamp"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

command -v cargo >/dev/null || { echo "cargo not found: install a Rust toolchain (rust-version in Cargo.toml)" >&2; exit 2; }
for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$comp" >/dev/null 2>&1 || { echo "cargo $comp is missing" >&2; exit 2; }
  fi
done

# The MSRV (rust-version in Cargo.toml) is what this run builds with: a newer toolchain would let
# code that needs it slip in unnoticed, an older one cannot build the workspace at all.
msrv=$(sed -nE 's/^rust-version = "([0-9.]+)"/\1/p' Cargo.toml | head -n 1)
toolchain=$(rustc --version | awk '{print $2}')
if [[ "${toolchain%.*}" != "$msrv" && "$toolchain" != "$msrv" ]]; then
  if rustup toolchain list 2>/dev/null | grep -q "^$msrv" \
    || rustup toolchain install "$msrv" --profile minimal -c rustfmt -c clippy >/dev/null 2>&1; then
    export RUSTUP_TOOLCHAIN="$msrv"
    echo "building with the MSRV toolchain $msrv (default toolchain: $toolchain)"
  else
    echo "WARNING: rustc $toolchain is not the MSRV $msrv (rust-version in Cargo.toml), and no $msrv toolchain could be installed: this run does not prove the MSRV" >&2
  fi
else
  echo "rustc $toolchain: the MSRV (rust-version = \"$msrv\")"
fi

# The kube-apiserver build takes minutes: install backends in the background while Rust builds.
install_pid=""
if [[ "${ESO_SKIP_BACKENDS:-0}" != 1 ]]; then
  (
    for b in ${ESO_BACKENDS:-kube openbao moto gcp azure infisical onepassword generators helm}; do
      nice -n 10 bash "scripts/backends/$b.sh" install || echo "install of $b failed"
    done
  ) >"$LOG_DIR/backends-install.log" 2>&1 &
  install_pid=$!
fi
wait_install() {
  if [[ -n "$install_pid" ]]; then
    wait "$install_pid" || { echo "backend install failed:" >&2; tail -n 40 "$LOG_DIR/backends-install.log" >&2; return 1; }
  fi
}

if [[ "${ESO_SKIP_LINT:-0}" != 1 ]]; then
  step "cargo fmt --check"
  cargo fmt --all -- --check

  step "clippy (workspace, all targets, -D warnings)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  step "clippy (eso-core without default features: no template-crypto)"
  cargo clippy -p eso-core --no-default-features --all-targets --locked -- -D warnings
  step "clippy (eso-generators, all features: webhook is off by default)"
  cargo clippy -p eso-generators --all-targets --all-features --locked -- -D warnings

  step "eso-core depends on no HTTP client, kube client or cloud SDK"
  forbidden='^(reqwest|hyper|kube-client|aws-sdk-[a-z-]+|aws-config|aws-smithy-[a-z-]+|azure_[a-z_]+|google-cloud-[a-z0-9-]+|tonic) '
  if cargo tree -p eso-core --all-features -e normal --prefix none --locked | grep -E "$forbidden"; then
    echo "eso-core must not depend on the crates listed above" >&2
    exit 1
  fi

  step "eso-core without default features pulls no crypto stack"
  crypto='^(aws-lc-rs|aws-lc-sys|ring|x509-parser|p12-keystore|bcrypt|scrypt|rsa|openssl|openssl-sys|rustls) '
  if cargo tree -p eso-core --no-default-features -e normal --prefix none --locked | grep -E "$crypto"; then
    echo "eso-core with default-features = false must not depend on the crates listed above" >&2
    exit 1
  fi

  step "cargo doc (no warnings)"
  RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
fi

if [[ "${ESO_SKIP_BACKENDS:-0}" != 1 ]]; then
  # azure, infisical and onepassword are the project's own test servers
  # (tools/keyvault-test-server, tools/infisical-test-server, tools/onepassword-test-server) and
  # generators (tools/generator-test-server), built by their install steps with cargo.
  export ESO_BACKENDS="${ESO_BACKENDS:-kube openbao moto gcp azure infisical onepassword generators helm}"
  step "start test backends: $ESO_BACKENDS"
  wait_install || true
  trap 'bash scripts/backends/all.sh stop >/dev/null 2>&1 || true; bash scripts/backends/openbao.sh stop region2 >/dev/null 2>&1 || true; bash scripts/backends/openbao.sh stop uninit >/dev/null 2>&1 || true' EXIT
  if ! bash scripts/backends/all.sh start >"$LOG_DIR/backends.log" 2>&1; then
    echo "backends failed to start:" >&2
    tail -n 40 "$LOG_DIR/backends.log" >&2
    exit 1
  fi
  # A second OpenBao for the two-region PushSecret scenario (esoctl/tests/reconcile_vault_regions.rs).
  if [[ " $ESO_BACKENDS " == *" openbao "* ]]; then
    if ! bash scripts/backends/openbao.sh start region2 >>"$LOG_DIR/backends.log" 2>&1; then
      echo "OpenBao instance region2 failed to start:" >&2
      tail -n 20 "$LOG_DIR/backends.log" >&2
      exit 1
    fi
    # An uninitialised, non-dev OpenBao for `esoctl bootstrap`'s vaultInit step
    # (esoctl/tests/bootstrap.rs); a fresh one each run.
    bash scripts/backends/openbao.sh stop uninit >/dev/null 2>&1 || true
    if ! bash scripts/backends/openbao.sh start-uninit uninit >>"$LOG_DIR/backends.log" 2>&1; then
      echo "OpenBao instance uninit failed to start:" >&2
      tail -n 20 "$LOG_DIR/backends.log" >&2
      exit 1
    fi
  fi
  # shellcheck disable=SC1091
  set -a; source ./.env.backends; set +a
  # Backend tests skip (printing why) when their variables are missing; here that is a failure.
  export ESO_REQUIRE_BACKENDS=1
  step "backend smoke checks"
  # shellcheck disable=SC2086
  bash scripts/backends/smoke.sh $ESO_BACKENDS 2>&1 | tee "$LOG_DIR/backends-smoke.log"
fi

# The Helm chart (deploy/charts/eso-rs): helm lint and template of every ci/ values file, and
# every rendered object applied to the kube-apiserver (CRDs for real, the rest as a
# server-side dry run). Skips without HELM unless ESO_REQUIRE_BACKENDS=1.
step "Helm chart: lint, template, apply to the kube-apiserver (scripts/chart-check.sh)"
set +e
bash scripts/chart-check.sh 2>&1 | tee "$LOG_DIR/chart-check.log"
chart_status=${PIPESTATUS[0]}
set -e

step "cargo test (workspace, all features)"
set +e
cargo test --workspace --all-features --locked --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo-test.log"
status=${PIPESTATUS[0]}
# The lean core as an embedder gets it with default-features = false: the model, validation,
# the engine (crypto functions answering "compiled without template-crypto"), strategies, flows.
step "cargo test (eso-core without default features)"
cargo test -p eso-core --no-default-features --features testing --locked --no-fail-fast 2>&1 | tee -a "$LOG_DIR/cargo-test.log"
[[ ${PIPESTATUS[0]} == 0 ]] || status=1
set -e

# Coverage-guided fuzzing, short: every fuzz target for ESO_FUZZ_SECONDS (default 7) seconds
# (scripts/fuzz.sh; installs cargo-fuzz on first use). A crash fails the run.
fuzz_passed=0; fuzz_failed=0
if [[ "${ESO_SKIP_FUZZ:-0}" != 1 ]]; then
  step "fuzz smoke (scripts/fuzz.sh, ${ESO_FUZZ_SECONDS:-7} s per target)"
  set +e
  bash scripts/fuzz.sh >"$LOG_DIR/fuzz.log" 2>&1
  fuzz_status=$?
  set -e
  grep -E '^fuzz ' "$LOG_DIR/fuzz.log" || tail -n 20 "$LOG_DIR/fuzz.log"
  fuzz_passed=$(grep -cE '^fuzz .*: ok$' "$LOG_DIR/fuzz.log" || true)
  fuzz_failed=$(grep -cE '^fuzz .*FAILED' "$LOG_DIR/fuzz.log" || true)
  if [[ $fuzz_status != 0 ]]; then
    status=1
    (( fuzz_failed > 0 )) || fuzz_failed=1
  fi
fi

# The crates as crates.io users get them: tests/consumer, outside the workspace, built from the
# `.crate` files `cargo package` makes, runs the quickstart (scripts/consumer.sh).
cons_passed=0; cons_failed=0
if [[ "${ESO_SKIP_CONSUMER:-0}" != 1 ]]; then
  step "consumer project from the packaged crates (scripts/consumer.sh)"
  set +e
  bash scripts/consumer.sh 2>&1 | tee "$LOG_DIR/consumer.log"
  cons_status=${PIPESTATUS[0]}
  set -e
  read -r cons_passed cons_failed < <(grep -Eo '^consumer: [0-9]+ passed, [0-9]+ failed' "$LOG_DIR/consumer.log" | tail -1 | awk '{print $2, $4}') || true
  if [[ $cons_status != 0 ]]; then
    status=1
    (( ${cons_failed:-0} > 0 )) || cons_failed=1
  fi
fi

# ESO's own template cases through its own runner, with the esoctl just built. Cases this
# build cannot pass are listed in scripts/template-known-failures.txt (empty today); any
# other failure fails the run.
conformance="${ESO_CONFORMANCE_DIR:-$ROOT/../shared/conformance}"
tmpl_passed=0; tmpl_failed=0
if [[ -x "$conformance/run-template.sh" || -f "$conformance/run-template.sh" ]]; then
  step "template conformance (run-template.sh, $CARGO_TARGET_DIR/debug/esoctl)"
  set +e
  bash "$conformance/run-template.sh" "$CARGO_TARGET_DIR/debug/esoctl" >"$LOG_DIR/template-conformance.log" 2>&1
  set -e
  tail -n 1 "$LOG_DIR/template-conformance.log"
  unexpected=$(grep -E '^FAIL ' "$LOG_DIR/template-conformance.log" | sed -E 's/^FAIL ([^:]+):.*/\1/' \
    | grep -vxF -f scripts/template-known-failures.txt || true)
  if [[ -n "$unexpected" ]]; then
    echo "unexpected template conformance failures:" >&2
    grep -F "$unexpected" "$LOG_DIR/template-conformance.log" >&2 || true
    status=1
  fi
  read -r tmpl_passed tmpl_failed < <(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$LOG_DIR/template-conformance.log" | tail -1 | awk '{print $1, $3}') || true
  known=$(grep -c . scripts/template-known-failures.txt || true)
  echo "template conformance: ${tmpl_passed:-0} passed, ${tmpl_failed:-0} failed (${known} known, listed in scripts/template-known-failures.txt)"
  tmpl_failed=$(( ${tmpl_failed:-0} - known )); (( tmpl_failed >= 0 )) || tmpl_failed=0
else
  echo "skipped: template conformance: $conformance/run-template.sh not found (ESO-derived test data beside the clone; see README)" >&2
  if [[ "${ESO_REQUIRE_CONFORMANCE:-0}" == 1 ]]; then
    echo "ESO_REQUIRE_CONFORMANCE=1: the conformance data is required" >&2
    status=1
  fi
fi

passed=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$LOG_DIR/cargo-test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$LOG_DIR/cargo-test.log" | awk '{s+=$1} END {print s+0}')
if [[ -f "$LOG_DIR/backends-smoke.log" ]]; then
  read -r sp sf < <(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$LOG_DIR/backends-smoke.log" | tail -1 | awk '{print $1, $3}') || true
  passed=$((passed + ${sp:-0})); failed=$((failed + ${sf:-0}))
  [[ "${sf:-0}" == 0 ]] || status=1
fi
chart_passed=$(grep -c '^ok ' "$LOG_DIR/chart-check.log" || true)
chart_failed=$(grep -c '^FAIL ' "$LOG_DIR/chart-check.log" || true)
if [[ "$chart_status" != 0 ]]; then
  status=1; (( chart_failed > 0 )) || chart_failed=1
fi
passed=$((passed + ${chart_passed:-0})); failed=$((failed + ${chart_failed:-0}))
passed=$((passed + ${tmpl_passed:-0} + fuzz_passed + ${cons_passed:-0}))
failed=$((failed + ${tmpl_failed:-0} + fuzz_failed + ${cons_failed:-0}))
echo
echo "scripts/test.sh took $(( $(date +%s) - started ))s"
echo "${passed} passed, ${failed} failed"
exit "$status"
