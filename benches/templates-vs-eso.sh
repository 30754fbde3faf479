#!/usr/bin/env bash
# Side by side: eso-core's template engine against ESO's own engine (Go text/template + sprig +
# ESO's functions, as `pkg/template/v2` builds it) on the cases of ../shared/bench/templates.json.
#
# usage: benches/templates-vs-eso.sh [TEMPLATES_JSON]
# env:   ESO_BENCH_DIR (folder of templates.json), CARGO_TARGET_DIR,
#        GO_BENCHTIME (Go's -test.benchtime, default 2s), CRITERION_TIME (seconds, default 3)
#
# Prints per case: ns per op of both engines for parse+render (fresh template text, what ESO
# does on every reconcile) and render of a parsed template, and the ratios (Go / Rust).
# The Go harness binary is cached under ~/.cache/eso-rs (rebuilt when its sources change).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CORPUS="${1:-${ESO_BENCH_DIR:-$ROOT/../shared/bench}/templates.json}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
CACHE="$HOME/.cache/eso-rs"
mkdir -p "$CACHE"

if [ ! -f "$CORPUS" ]; then
  echo "corpus not found: $CORPUS (set ESO_BENCH_DIR)" >&2
  exit 1
fi

# 1. ESO's engine
GO_DIR="$HERE/eso-template-go"
STAMP="$(cat "$GO_DIR/go.mod" "$GO_DIR/go.sum" "$GO_DIR/main.go" | sha256sum | cut -c1-16)"
GO_BIN="$CACHE/eso-template-go-$STAMP"
if [ ! -x "$GO_BIN" ]; then
  echo "building the Go harness (first run downloads ESO's module and its dependencies)..." >&2
  (cd "$GO_DIR" && go build -o "$GO_BIN" .)
fi
GO_OUT="$(mktemp)"
trap 'rm -f "$GO_OUT"' EXIT
"$GO_BIN" -test.benchtime="${GO_BENCHTIME:-2s}" "$CORPUS" > "$GO_OUT"

# 2. ours (criterion writes its estimates under $TARGET/criterion)
T="${CRITERION_TIME:-3}"
(cd "$ROOT" && ESO_BENCH_DIR="$(dirname "$CORPUS")" cargo bench -p eso-benches --bench templates -- \
  --warm-up-time 1 --measurement-time "$T" >&2)

# 3. the table
python3 - "$GO_OUT" "$TARGET/criterion/template" <<'PY'
import json, os, sys
go = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
crit = sys.argv[2]
def ours(case, what):
    p = os.path.join(crit, f"{case}_{what}", "new", "estimates.json")
    return json.load(open(p))["median"]["point_estimate"]
print(f"{'case':<18} {'ESO parse+exec':>15} {'ours':>10} {'ratio':>6}   {'ESO exec':>10} {'ours':>10} {'ratio':>6}   ESO allocs (p+e / e)")
ok = True
for g in go:
    pr, r = ours(g["name"], "parse+render"), ours(g["name"], "render")
    a, b = g["parse_execute_ns"] / pr, g["execute_ns"] / r
    ok = ok and a >= 10 and b >= 5
    print(f"{g['name']:<18} {g['parse_execute_ns']:>12.0f} ns {pr:>7.0f} ns {a:>5.1f}x   {g['execute_ns']:>7.0f} ns {r:>7.0f} ns {b:>5.1f}x   {g['parse_execute_allocs']} / {g['execute_allocs']}")
print("targets (parse+render >= 10x, render >= 5x on every case):", "met" if ok else "NOT met")
PY
