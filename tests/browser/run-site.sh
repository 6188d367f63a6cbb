#!/usr/bin/env bash
# MedBridge as other sites use it (issue 17), tested in headless Chromium by tests/browser/site.test.mjs:
#  - `medbridge export-site` (the page's assets from run-page.sh) served by `python3 -m http.server` under
#    /demo/medbridge/;
#  - the npm package (scripts/build-npm.sh → npm pack) installed into a copy of examples/portal, type-checked
#    with `tsc --noEmit`, bundled with Vite, served the same way; and the package's API unbundled.
# Run after tests/browser/run-page.sh (it builds www/pkg and exports the assets). Prints the tarball's and
# the site's sizes. Env: MEDBRIDGE_SITE_ASSETS (another export-web bundle).
set -euo pipefail
cd "$(dirname "$0")/../.."
MB=target/debug/medbridge
ASSETS=${MEDBRIDGE_SITE_ASSETS:-target/page-assets/icd10-es-slice-names-q8_0}
if [ ! -f "$ASSETS/manifest.json" ]; then
  echo "$ASSETS/manifest.json is missing: run tests/browser/run-page.sh first (it exports the page's assets)" >&2
  exit 1
fi
bash scripts/build-npm.sh
tarball=target/npm/medbridge-$(node -p 'require("./www/package/package.json").version').tgz

echo "== medbridge export-site → target/site-test/root/demo/medbridge"
rm -rf target/site-test
$MB export-site --out target/site-test/root/demo/medbridge --assets "$ASSETS" --base /demo/medbridge/

echo "== examples/portal: npm install (the tarball, Vite, TypeScript), tsc --noEmit, vite build"
rm -rf target/portal && mkdir -p target/portal
cp -r examples/portal/. target/portal/   # node_modules and dist stay out of the checkout
(cd target/portal && npm install --no-audit --no-fund && npx tsc --noEmit && echo "tsc --noEmit: no errors" && npx vite build)
ln -s "$(realpath "$ASSETS")" target/portal/dist/medbridge-assets   # the portal serves the model from its own origin
cp -r target/portal/node_modules/medbridge target/portal/dist/medbridge-pkg   # the package unbundled, for the API test
echo '<!doctype html><meta charset="utf-8"><title>MedBridge API test</title>' > target/portal/dist/blank.html

[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund)
echo "== node tests/browser/site.test.mjs"
node tests/browser/site.test.mjs --site target/site-test/root --portal target/portal/dist --tarball "$tarball"
