#!/usr/bin/env bash
# End-to-end tests of the search page in headless Chromium, WebGPU and CPU: tests/browser/page.test.mjs (what a
# user does) and tests/browser/faults.test.mjs (quota, offline, interrupted downloads, damaged storage, two tabs,
# device lost).
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
if [ -f $ASSETS/manifest.json ] && [ -f $ASSETS/catalog.mbca ] && [ $ASSETS/manifest.json -nt $INDEX ] && [ $ASSETS/manifest.json -nt $MB ] \
   && [ $ASSETS/manifest.json -nt models/e5-small/model.gguf ]; then
  echo "== reusing $ASSETS"
else
  echo "== export-web → $ASSETS"
  $MB export-web --out $ASSETS --body "$BODY" --index $INDEX
fi
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund)
echo "== node tests/browser/page.test.mjs"
node tests/browser/page.test.mjs --assets $ASSETS
echo "== node tests/browser/faults.test.mjs"
node tests/browser/faults.test.mjs --assets $ASSETS
