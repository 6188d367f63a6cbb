#!/usr/bin/env bash
# The main job: set up (model, catalogue), build the wasm package, build the ICD-10 index, export the page's
# assets (model bundle + catalogue search asset) into www/assets, and serve www/ on 127.0.0.1 (prints the URL).
# Idempotent: what exists and is up to date is kept.
#
# Env:
#   MEDBRIDGE_INDEX_LANG  catalogue language(s) to index for the page: es (default: 14,401 codes, ~7 min on
#                         2 vCPUs), fr, pt, it, en (98,186 codes, ~50 min) or all (every language, ~1 h+).
#   MEDBRIDGE_INDEX       use this .mbix index instead (any `medbridge index --icd10 …` output).
#   MEDBRIDGE_BODY        q8_0 (default) or q4_0 (smaller download, slightly less exact).
#   PORT                  default 8080 (0 = any free port).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"   # fastest on 2-vCPU machines (shared notes)
step() { echo; echo "== $* ($(date +%T))"; }

LANG_SEL=${MEDBRIDGE_INDEX_LANG:-es}
# The page uses our fine-tuned bi-encoder (assembled by setup.sh) when it exists, else the base model.
MODEL=${MEDBRIDGE_MODEL:-models/e5-small-bi}
[ -d "$MODEL" ] || MODEL=models/e5-small
INDEX=${MEDBRIDGE_INDEX:-models/icd10/icd10-$LANG_SEL-$(basename "$MODEL").mbix}
BODY=${MEDBRIDGE_BODY:-q8_0}
MB=target/debug/medbridge

step "set-up: CLI, model, ICD-10 catalogue"
bash scripts/setup.sh

step "web tools: wasm target, wasm-bindgen, wasm-pack"
SKIP_APT=1 SKIP_NPM=1 bash scripts/setup-web-tools.sh

step "wasm package → www/pkg"
wasm-pack build --target web --release --out-dir www/pkg --no-default-features --features wasm,webgpu

if [ ! -f "$INDEX" ]; then
  step "ICD-10 index of the '$LANG_SEL' catalogue → $INDEX (progress below; es takes ~7 min on 2 vCPUs)"
  $MB --model "$MODEL" index --icd10 --lang "$LANG_SEL" --out "$INDEX"
fi

ASSETS=www/assets
if [ -f $ASSETS/manifest.json ] && [ -f $ASSETS/catalog.mbca ] && [ $ASSETS/manifest.json -nt "$INDEX" ] \
   && [ $ASSETS/manifest.json -nt "$MODEL/model.gguf" ] && [ $ASSETS/manifest.json -nt models/icd10/catalog.jsonl ] \
   && [ "$(sed -n 's/.*"body": *"\([a-z0-9_]*\)".*/\1/p' $ASSETS/manifest.json)" = "$BODY" ]; then
  step "page assets in $ASSETS are up to date"
else
  step "page assets → $ASSETS (model bundle + ICD-10 search asset)"
  $MB --model "$MODEL" export-web --out $ASSETS --body "$BODY" --index "$INDEX"
fi

step "serving the search page"
exec $MB serve --dir www --port "${PORT:-8080}"
