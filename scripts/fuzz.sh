#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that takes user or backend input (fuzz/).
#
# Usage: scripts/fuzz.sh                 # smoke: every target for ESO_FUZZ_SECONDS (default 7) s
#        scripts/fuzz.sh --long 3600     # long run: every target for 3600 s
#        scripts/fuzz.sh --long 600 template manifest   # some targets only
#        ESO_FUZZ_MAX_LEN=8192 scripts/fuzz.sh --long 3600 manifest  # inputs up to 8 KiB
#
# libFuzzer through cargo fuzz on the stable toolchain (RUSTC_BOOTSTRAP lets cargo fuzz pass its
# -Z flags; `--sanitizer none`: the code forbids `unsafe`, so the fuzzers look for panics,
# failed assertions, hangs (-timeout) and runaway memory (-rss_limit_mb), which need no
# sanitizer). Corpora are seeded from ../shared/conformance (the manifests, template cases and
# strategy cases) and fuzz/seeds, and kept in $CARGO_TARGET_DIR/fuzz-corpus between runs.
# A crash leaves its input in fuzz/artifacts/<target>/; it becomes a regression test in
# eso-core/tests/fuzz_regressions.rs. Ends with one line per target: runs, seconds, result.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eso-rs/target}"
export RUSTC_BOOTSTRAP=1
CARGO_FUZZ_VERSION="${ESO_CARGO_FUZZ_VERSION:-0.13.1}"
seconds="${ESO_FUZZ_SECONDS:-7}"
# The largest input the fuzzer makes; the conformance manifests are all under 8 KiB, and
# shorter inputs run faster (more executions per second in a long run).
max_len="${ESO_FUZZ_MAX_LEN:-65536}"
if [[ "${1:-}" == --long ]]; then
  seconds="${2:?--long needs a number of seconds}"
  shift 2
fi
targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then
  targets=(manifest template template_funcs kubeconfig duration cron strategies secret_data)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" >&2
fi

corpus_root="$CARGO_TARGET_DIR/fuzz-corpus"
conformance="${ESO_CONFORMANCE_DIR:-$ROOT/../shared/conformance}"
seed() { # target, files...
  local dir="$corpus_root/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [[ -f "$f" ]] && cp -n "$f" "$dir/$(echo "$f" | tr '/' '_')" 2>/dev/null || true; done
}
for t in "${targets[@]}"; do
  mkdir -p "$corpus_root/$t"
  [[ -d "fuzz/seeds/$t" ]] && cp -n fuzz/seeds/"$t"/* "$corpus_root/$t/" 2>/dev/null || true
done
if [[ -d "$conformance" ]]; then
  seed manifest "$conformance"/manifests/*.yaml
  seed secret_data "$conformance"/manifests/*.yaml
  # Template cases: the template's data templates, a NUL, then the case's data as key=value.
  for case in "$conformance"/template/*/; do
    [[ -f "$case/object.yaml" ]] || continue
    name=$(basename "$case")
    python3 - "$case" "$corpus_root/template/seed-$name" <<'EOF' 2>/dev/null || true
import base64, sys, pathlib, re
case, out = pathlib.Path(sys.argv[1]), sys.argv[2]
tmpl = "\n".join(
    m.group(1).strip("'\"")
    for m in re.finditer(r":\s*(['\"]?.*\{\{.*)$", (case / "object.yaml").read_text(), re.M)
)
data = b""
d = case / "data.yaml"
if d.exists():
    for line in d.read_text().splitlines():
        m = re.match(r"^\s*([^:#\s]+):\s*'?([A-Za-z0-9+/=]*)'?\s*$", line)
        if m:
            try:
                data += m.group(1).encode() + b"=" + base64.b64decode(m.group(2)) + b"\n"
            except Exception:
                pass
open(out, "wb").write(tmpl.encode() + b"\0" + data)
EOF
  done
  for f in "$conformance"/strategies/*.json; do
    python3 - "$f" "$corpus_root/strategies" <<'EOF' 2>/dev/null || true
import json, sys, hashlib, pathlib
cases = json.load(open(sys.argv[1]))
out = pathlib.Path(sys.argv[2])
def strings(v):
    if isinstance(v, str): yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)
    elif isinstance(v, list):
        for x in v: yield from strings(x)
for c in cases:
    text = "\n".join(strings(c)).encode()
    (out / ("seed-" + hashlib.sha1(text).hexdigest()[:12])).write_bytes(text)
EOF
  done
else
  echo "note: $conformance not found: corpora seeded from fuzz/seeds only" >&2
fi

summary=()
status=0
for t in "${targets[@]}"; do
  log="$corpus_root/$t.log"
  set +e
  cargo fuzz run --fuzz-dir fuzz --sanitizer none --release "$t" "$corpus_root/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  took=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -Eo 'in [0-9]+' | grep -Eo '[0-9]+' | tail -1)
  if [[ $rc == 0 ]]; then
    result=ok
  else
    result="FAILED (exit $rc; input in fuzz/artifacts/$t/; log $log)"
    status=1
    grep -E 'panicked|ERROR|SUMMARY' "$log" | head -5 >&2 || true
  fi
  summary+=("fuzz $t: ${runs:-0} runs in ${took:-$seconds} s: $result")
done
printf '%s\n' "${summary[@]}"
exit "$status"
