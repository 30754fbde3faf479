#!/usr/bin/env bash
# Builds tests/consumer, a project outside the workspace, from the library crates as
# `cargo package` makes them, the way a user of the published crates gets them:
#
#   1. `cargo package` the library crates (no verification build: step 4 is the real one);
#   2. vendor the third-party crates the consumer needs (`cargo vendor`, resolved with our
#      crates patched in from the unpacked `.crate` files, so versions match the packages);
#   3. unpack our `.crate` files into the same vendor folder (a directory source);
#   4. build the consumer with that folder replacing the public registry (offline, no path
#      dependency on the workspace), then run the quickstart and check its output.
#
# The README's embedding program (the first ```rs block under "Embedding in a kube-rs
# operator") is extracted into the consumer as it stands, so the README cannot drift from what
# compiles.
#
# Usage: scripts/consumer.sh     (prints "consumer: N passed, M failed" last)
# Build outputs: $CARGO_TARGET_DIR/package (the .crate files) and
# ${ESO_CONSUMER_TARGET:-$HOME/.cache/eso-rs/consumer-target} (the consumer's own build, kept
# apart: its dependencies come from another source, so nothing is shared with the workspace's).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eso-rs/target}"
CONSUMER="$ROOT/tests/consumer"
WORK="${ESO_CONSUMER_WORK:-$HOME/.cache/eso-rs/consumer}"
VENDOR="$WORK/vendor"
UNPACKED="$WORK/unpacked"
CONSUMER_TARGET="${ESO_CONSUMER_TARGET:-$HOME/.cache/eso-rs/consumer-target}"

# The published library crates, in dependency order.
CRATES=(eso-core eso-provider-webhook eso-generators eso-kube eso-provider-vault eso-provider-aws eso-provider-gcp
  eso-provider-azure eso-provider-k8s eso-provider-infisical eso-provider-onepassword eso-operator)
# The ones the consumer uses.
USED=(eso-core eso-generators eso-kube eso-provider-vault)

passed=0; failed=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then echo "consumer $name: ok"; passed=$((passed + 1));
  else echo "consumer $name: FAILED" >&2; failed=$((failed + 1)); fi
}
finish() { echo "consumer: ${passed} passed, ${failed} failed"; [[ $failed == 0 ]]; }

version=$(cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print({p["name"]: p["version"] for p in json.load(sys.stdin)["packages"]}["eso-core"])')

# 1. The .crate files, exactly as they would be published.
pkg_args=(); for c in "${CRATES[@]}"; do pkg_args+=(-p "$c"); done
package() { cargo package "${pkg_args[@]}" --no-verify --locked --allow-dirty --quiet; }
check "cargo package (${#CRATES[@]} library crates)" package || { finish; exit 1; }

# The README's embedding program.
extract_embed() {
  { printf '//! The README'"'"'s embedding program (extracted by scripts/consumer.sh).\n\n'
    python3 "$ROOT/scripts/readme_program.py" "$ROOT/README.md"; } >"$CONSUMER/src/embed.rs"
}
mkdir -p "$CONSUMER/src"
check "README embedding program extracted" extract_embed || { finish; exit 1; }

# 2 and 3. One vendored directory: third-party crates from `cargo vendor`, ours unpacked from
# the .crate files with the checksum cargo expects of a directory source.
rm -rf "$UNPACKED"; mkdir -p "$UNPACKED" "$VENDOR"
patch_args=()
for c in "${USED[@]}" "${CRATES[@]}"; do
  [[ -d "$UNPACKED/$c-$version" ]] && continue
  tar -xzf "$CARGO_TARGET_DIR/package/$c-$version.crate" -C "$UNPACKED"
  sum=$(sha256sum "$CARGO_TARGET_DIR/package/$c-$version.crate" | cut -d' ' -f1)
  printf '{"files":{},"package":"%s"}' "$sum" >"$UNPACKED/$c-$version/.cargo-checksum.json"
  patch_args+=(--config "patch.crates-io.$c.path=\"$UNPACKED/$c-$version\"")
done
vendor() {
  # Start from the workspace's lock so the consumer gets the versions the workspace tests.
  cp "$ROOT/Cargo.lock" "$CONSUMER/Cargo.lock"
  (cd "$CONSUMER" && cargo "${patch_args[@]}" vendor --quiet --versioned-dirs "$VENDOR" >/dev/null)
  rm -f "$CONSUMER/Cargo.lock"
  for c in "${USED[@]}" "${CRATES[@]}"; do
    rm -rf "$VENDOR/$c-$version"
    cp -r "$UNPACKED/$c-$version" "$VENDOR/$c-$version"
  done
}
check "vendored sources (third-party + packaged eso-rs crates)" vendor || { finish; exit 1; }

# 4. Build and run against the packages only.
source_args=(--config 'source.crates-io.replace-with="packaged"'
  --config "source.packaged.directory=\"$VENDOR\"")
in_consumer() { (cd "$CONSUMER" && CARGO_TARGET_DIR="$CONSUMER_TARGET" cargo "${source_args[@]}" "$@"); }
no_path_deps() {
  # Every eso-rs crate in the consumer's lock comes from the packaged source, none by path.
  ! grep -A2 -E '^name = "eso-(core|kube|generators|provider-[a-z0-9]+)"' "$CONSUMER/Cargo.lock" \
    | grep -q 'source = "path' && grep -q 'name = "eso-core"' "$CONSUMER/Cargo.lock"
}
check "build (README embedding program + quickstart) from the packages" \
  in_consumer build --offline --quiet --bins
check "no path dependency on the workspace" no_path_deps
quickstart() {
  local out
  out=$(in_consumer run --offline --quiet --bin quickstart) || return 1
  # The quickstart pushes one generated password to two stores and reads it back templated.
  grep -q 'pushed 2 entries to 2 stores' <<<"$out" && grep -q 'DATABASE_URL' <<<"$out"
}
check "quickstart runs" quickstart
rm -f "$CONSUMER/Cargo.lock"
finish
