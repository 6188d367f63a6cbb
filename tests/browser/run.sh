#!/usr/bin/env bash
# Build the wasm package, export the web bundle, serve both and run the headless-Chromium tests.
#   tests/browser/run.sh            # tests
#   tests/browser/run.sh bench      # benchmark instead (tests/browser/bench.mjs)
# Env: MEDBRIDGE_WEB_FEATURES (default "wasm,webgpu" when the crate has the webgpu feature, else "wasm"),
#      MEDBRIDGE_BUNDLE (default target/web-bundle), MEDBRIDGE_MODEL (default models/e5-small),
#      MEDBRIDGE_BODY (q8_0 | q4_0, default q8_0), SKIP_BUILD=1 to reuse www/pkg and the bundle.
# Tools: scripts/setup-web-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

if grep -q '^webgpu *=' Cargo.toml; then DEFAULT_FEATURES=wasm,webgpu; else DEFAULT_FEATURES=wasm; fi
FEATURES=${MEDBRIDGE_WEB_FEATURES:-$DEFAULT_FEATURES}
BUNDLE=${MEDBRIDGE_BUNDLE:-target/web-bundle}
MODEL=${MEDBRIDGE_MODEL:-models/e5-small}
BODY=${MEDBRIDGE_BODY:-q8_0}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== wasm-pack build (features $FEATURES)"
  wasm-pack build --target web --release --out-dir www/pkg --no-default-features --features "$FEATURES"
  echo "== export web bundle ($BODY) to $BUNDLE"
  cargo build --quiet --bin medbridge --features webgpu   # same features as scripts/setup.sh: no second build
  target/debug/medbridge --model "$MODEL" export-web --out "$BUNDLE" --body "$BODY" --reranker models/trained/cross 2>/dev/null
fi
# The reranker's scores computed natively from the same bundle, in the CPU path's int8 and in the
# f32 activations of the WebGPU kernels: the browser's must match them.
for p in int8 f32; do
  target/debug/medbridge --precision $p score-pairs --bundle "$BUNDLE" --pairs tests/browser/rerank-pairs.jsonl > target/rerank-native-$p.jsonl
done
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund)

SCRIPT=encoder.test.mjs
[ "${1:-}" = bench ] && SCRIPT=bench.mjs
echo "== node tests/browser/$SCRIPT"
exec node "tests/browser/$SCRIPT" --pkg www/pkg --bundle "$BUNDLE" --rerank-cpu target/rerank-native-int8.jsonl --rerank-webgpu target/rerank-native-f32.jsonl
