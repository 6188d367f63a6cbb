#!/usr/bin/env bash
# The main job: set up (model, catalogue), build the wasm package, build the ICD-10 index, export the page's
# assets (model bundle + catalogue search asset) into www/assets, and serve www/ on 127.0.0.1 (prints the URL).
# Idempotent: what exists and is up to date is kept.
#
# Env:
#   MEDBRIDGE_INDEX_LANG  catalogue language whose codes the page searches: es (default: 14,401 codes), fr,
#                         pt, it or en (98,186 codes, hours). Each code is indexed under all of its names:
#                         its descriptions in every language, ICD-10-CM inclusion terms and the synthetic
#                         generator's lay wordings (`index --names --names-from`).
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
INDEX=${MEDBRIDGE_INDEX:-models/icd10/icd10-$LANG_SEL-names-$(basename "$MODEL").mbix}
NAMES=models/icd10/synthetic-names.jsonl
BODY=${MEDBRIDGE_BODY:-q8_0}
MB=target/debug/medbridge

step "set-up: CLI, model, ICD-10 catalogue"
bash scripts/setup.sh

step "web tools: wasm target, wasm-bindgen, wasm-pack"
SKIP_APT=1 SKIP_NPM=1 bash scripts/setup-web-tools.sh

step "wasm package → www/pkg"
wasm-pack build --target web --release --out-dir www/pkg --no-default-features --features wasm,webgpu

if [ ! -f "$INDEX" ]; then
  step "lay wordings from the synthetic generator → $NAMES"
  $MB synth --out "$NAMES"
  step "ICD-10 index of the '$LANG_SEL' catalogue under all names → $INDEX (progress below; es: ~72,000 passages, roughly 35 min on 2 vCPUs)"
  $MB --model "$MODEL" index --icd10 --lang "$LANG_SEL" --names --names-from "$NAMES" --out "$INDEX"
fi

# The page's model: the same with a vocabulary pruned to what its languages need (same model id and vectors
# for the catalogue's texts; a 2.4 times smaller model download).
WEB_MODEL=$MODEL-web
step "the page's model: pruned vocabulary → $WEB_MODEL"
bash scripts/prune-vocab.sh "$MODEL" "$WEB_MODEL"

ASSETS=www/assets
# The reranker ships as its own trained layers + head (reranker.gguf): it runs on the model's lower layers.
RERANKER=models/trained/cross
if [ -f $ASSETS/manifest.json ] && [ -f $ASSETS/catalog.mbca ] && [ -f $ASSETS/reranker.gguf ] && [ $ASSETS/manifest.json -nt "$INDEX" ] \
   && [ $ASSETS/manifest.json -nt $RERANKER/manifest.json ] \
   && [ $ASSETS/manifest.json -nt "$WEB_MODEL/model.gguf" ] && [ $ASSETS/manifest.json -nt models/icd10/catalog.jsonl ] \
   && [ "$(sed -n 's/.*"body": *"\([a-z0-9_]*\)".*/\1/p' $ASSETS/manifest.json)" = "$BODY" ]; then
  step "page assets in $ASSETS are up to date"
else
  step "page assets → $ASSETS (model bundle + reranker + ICD-10 search asset)"
  $MB --model "$WEB_MODEL" export-web --out $ASSETS --body "$BODY" --index "$INDEX" --reranker $RERANKER --reranker-base models/e5-small
fi

step "serving the search page"
exec $MB serve --dir www --port "${PORT:-8080}"
