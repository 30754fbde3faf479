#!/usr/bin/env bash
# What an embedder pays to build eso-rs, cold: for each configuration, a fresh project outside
# the workspace that depends on the crates by path (as an embedder's would by version), built
# in an empty target folder. Prints one JSON line per configuration:
#   {"config", "crates" (packages in `cargo tree`), "compiled" (crates rustc compiled),
#    "wall_s", "cpu_s" (user + sys of the whole build), "crypto" (aws-lc-rs/ring/x509-parser/... in the tree)}
#
#   core-lean   eso-core, default-features = false
#   core        eso-core with its default features
#   embed       eso-core + eso-kube + eso-provider-vault: the README's embedding program
#   embed-lean  the same without the template's crypto functions (no template-crypto feature)
#   quickstart  `cargo run --example quickstart` in the workspace (with ESO_EMPTY_CARGO_HOME=1:
#               also with an empty cargo home, downloads included, as on a fresh machine)
#
# Usage: benches/build-cost.sh [CONFIG...]      (default: all four)
#        ESO_SRC=/path/to/checkout benches/build-cost.sh   (measure another checkout, e.g. an
#        older commit in a git worktree, to compare before and after)
# The registry cache (~/.cargo) is shared unless ESO_EMPTY_CARGO_HOME=1. CPU seconds are the
# figure to compare across runs on a busy machine; wall time depends on what else runs.
set -euo pipefail

SRC="$(cd "${ESO_SRC:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
WORK="${ESO_BUILD_COST_DIR:-$(mktemp -d)}"
configs=("$@"); [[ ${#configs[@]} -gt 0 ]] || configs=(core-lean core embed embed-lean quickstart)
CRYPTO='^(aws-lc-rs|aws-lc-sys|ring|x509-parser|p12-keystore|bcrypt|scrypt|rsa|openssl|openssl-sys) '

project() { # name, dependencies (TOML lines), main.rs
  local dir="$WORK/$1"
  mkdir -p "$dir/src"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "build-cost-$1"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
k8s-openapi = { version = "0.29", default-features = false, features = ["v1_33"] }
$2
EOF
  printf '%s\n' "$3" >"$dir/src/main.rs"
  # Same versions as the workspace tests.
  cp "$SRC/Cargo.lock" "$dir/Cargo.lock"
  echo "$dir"
}

measure() { # config, dir, cargo args...
  local config=$1 dir=$2; shift 2
  local home="${CARGO_HOME:-$HOME/.cargo}"
  if [[ "${ESO_EMPTY_CARGO_HOME:-0}" == 1 ]]; then
    home="$WORK/cargo-home-$config"; rm -rf "$home"; mkdir -p "$home"
  fi
  local target="$WORK/target-$config"; rm -rf "$target"
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && CARGO_HOME="$home" CARGO_TARGET_DIR="$target" \
    /usr/bin/time -f '%U %S' -o "$WORK/time-$config" cargo "$@" >"$WORK/log-$config" 2>&1) \
    || { echo "build of $config failed: $WORK/log-$config" >&2; tail -n 20 "$WORK/log-$config" >&2; return 1; }
  end=$(date +%s.%N)
  local tree crates crypto compiled cpu
  tree=$(cd "$dir" && CARGO_HOME="$home" cargo tree -e normal,build --prefix none --offline "${TREE_ARGS[@]}" 2>/dev/null | sed 's/ (\*)$//' | sort -u)
  crates=$(grep -c . <<<"$tree")
  crypto=$(grep -E "$CRYPTO" <<<"$tree" | awk '{print $1}' | sort -u | paste -sd, - || true)
  compiled=$(grep -c '^ *Compiling ' "$WORK/log-$config" || true)
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$WORK/time-$config")
  # A cold target folder is gigabytes: drop it (and an emptied cargo home) once measured.
  rm -rf "$target"
  [[ "${ESO_EMPTY_CARGO_HOME:-0}" == 1 ]] && rm -rf "$home"
  printf '{"config":"%s","crates":%s,"compiled":%s,"wall_s":%.1f,"cpu_s":%s,"crypto":"%s","load":"%s"}\n' \
    "$config" "$crates" "$compiled" "$(echo "$end - $start" | bc)" "$cpu" "$crypto" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# The README's embedding program (the first ```rs block under "Embedding in a kube-rs operator").
readme_program() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/../scripts/readme_program.py" "$SRC/README.md"
}

for config in "${configs[@]}"; do
  TREE_ARGS=()
  case "$config" in
    core-lean)
      dir=$(project "$config" "eso-core = { path = \"$SRC/eso-core\", default-features = false }" \
        'fn main() { let _ = eso_core::api::parse_documents(""); }')
      measure "$config" "$dir" build ;;
    core)
      dir=$(project "$config" "eso-core = { path = \"$SRC/eso-core\" }" \
        'fn main() { let _ = eso_core::api::parse_documents(""); }')
      measure "$config" "$dir" build ;;
    embed)
      main=$(readme_program)
      dir=$(project "$config" "eso-core = { path = \"$SRC/eso-core\" }
eso-kube = { path = \"$SRC/eso-kube\" }
eso-provider-vault = { path = \"$SRC/eso-provider-vault\" }
kube = { version = \"5\", default-features = false, features = [\"client\", \"rustls-tls\", \"aws-lc-rs\"] }
tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }" "$main")
      measure "$config" "$dir" build ;;
    embed-lean)
      # The same program with the template's crypto functions left out (eso-kube without its
      # default template-crypto feature).
      main=$(readme_program)
      dir=$(project "$config" "eso-core = { path = \"$SRC/eso-core\", default-features = false }
eso-kube = { path = \"$SRC/eso-kube\", default-features = false, features = [\"operator\"] }
eso-provider-vault = { path = \"$SRC/eso-provider-vault\" }
kube = { version = \"5\", default-features = false, features = [\"client\", \"rustls-tls\", \"aws-lc-rs\"] }
tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }" "$main")
      measure "$config" "$dir" build ;;
    quickstart)
      TREE_ARGS=(-p eso-examples)
      measure "$config" "$SRC" run --example quickstart ;;
    *) echo "unknown configuration: $config" >&2; exit 2 ;;
  esac
done
