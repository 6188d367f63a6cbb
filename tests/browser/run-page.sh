#!/usr/bin/env bash
# End-to-end tests of the search page in headless Chromium, WebGPU and CPU: tests/browser/page.test.mjs (what a
# user does) and tests/browser/faults.test.mjs (quota, offline, interrupted downloads, damaged storage, two tabs,
# device lost, a new index published).
# Reuses www/pkg when it is newer than the sources (tests/browser/run.sh builds it); searches the CLI tests'
# Spanish index of a catalogue slice (tests/browser/page-index.sh builds it if `cargo test` has not); exports the
# page's assets into target/page-assets/<index>-<body>. Tools: scripts/setup.sh and scripts/setup-web-tools.sh.
# Env: MEDBRIDGE_PAGE_MODES (default webgpu,cpu), MEDBRIDGE_BODY (q8_0 | q4_0), MEDBRIDGE_PAGE_INDEX (another
# `medbridge index --icd10` output to serve instead, e.g. the whole Spanish catalogue's for the README's sizes).
set -euo pipefail
cd "$(dirname "$0")/../.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
MB=target/debug/medbridge
INDEX=${MEDBRIDGE_PAGE_INDEX:-target/test-indexes/icd10-es-slice-names.mbix}
BODY=${MEDBRIDGE_BODY:-q8_0}
ASSETS=target/page-assets/$(basename "$INDEX" .mbix)-$BODY

[ -x $MB ] || cargo build --bin medbridge --features webgpu
bash scripts/build-wasm.sh
[ -n "${MEDBRIDGE_PAGE_INDEX:-}" ] || bash tests/browser/page-index.sh
# The page's model, as scripts/run.sh ships it: the vocabulary pruned (scripts/prune-vocab.sh).
WEB_MODEL=target/models/e5-small-web
bash scripts/prune-vocab.sh models/e5-small $WEB_MODEL
RERANKER=models/trained/cross
if [ -f $ASSETS/manifest.json ] && [ -f $ASSETS/catalog.mbca ] && [ -f $ASSETS/reranker.gguf ] && [ $ASSETS/manifest.json -nt $INDEX ] \
   && [ $ASSETS/manifest.json -nt $MB ] && [ $ASSETS/manifest.json -nt $RERANKER/manifest.json ] \
   && [ $ASSETS/manifest.json -nt $WEB_MODEL/model.gguf ]; then
  echo "== reusing $ASSETS"
else
  echo "== export-web → $ASSETS"
  $MB --model $WEB_MODEL export-web --out $ASSETS --body "$BODY" --index $INDEX --reranker $RERANKER
fi
# A second bundle of the same model with another index (the slice's R5x codes): the fault tests publish it
# over the first to check that returning visitors download only the new index.
R5_CATALOG=target/test-indexes/catalog-r5.jsonl
R5_INDEX=target/test-indexes/icd10-es-r5.mbix
R5_ASSETS=target/page-assets/icd10-es-r5-$BODY
if [ -f $R5_ASSETS/manifest.json ] && [ $R5_ASSETS/manifest.json -nt $ASSETS/manifest.json ]; then
  echo "== reusing $R5_ASSETS"
else
  echo "== export-web → $R5_ASSETS (the R5x codes only)"
  grep '"code":"R5' target/test-indexes/catalog-slice.jsonl > $R5_CATALOG
  $MB index --icd10 --lang es --catalog $R5_CATALOG --out $R5_INDEX
  $MB --model $WEB_MODEL export-web --out $R5_ASSETS --body "$BODY" --index $R5_INDEX --catalog $R5_CATALOG --reranker $RERANKER
fi
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund)
echo "== node tests/browser/page.test.mjs"
node tests/browser/page.test.mjs --assets $ASSETS
echo "== node tests/browser/faults.test.mjs"
node tests/browser/faults.test.mjs --assets $ASSETS --index-assets $R5_ASSETS
