#!/usr/bin/env bash
# Load and slowloris test of `medbridge serve` (not in CI; loopback only; bounded in count and time, ~1-2 min):
#   1. 200 concurrent connections each fetching the model bundle (weights.gguf) once,
#   2. 10,000 requests for the page over 50 keep-alive connections,
#   3. 1,000 slowloris connections (half a request head, a header line every 2 s) while a normal client
#      loads the page's files; they must all be closed by the server's header timeout.
# Prints errors, p50/p99 latency and the server's RSS per phase; exits 1 on any error.
# Serves www/ with the page assets of www/assets (scripts/run.sh) or else the page tests' (target/page-assets/*).
# Load generator: autocannon from npm (pinned), installed under target/load.
set -euo pipefail
cd "$(dirname "$0")/.."
MB="${MEDBRIDGE_BIN:-target/release/medbridge}"
[ -n "${MEDBRIDGE_BIN:-}" ] || cargo build --release --bin medbridge
ASSETS=
for d in www/assets target/page-assets/*; do
  if [ -f "$d/manifest.json" ] && [ -f "$d/weights.gguf" ]; then ASSETS=$d; break; fi
done
[ -n "$ASSETS" ] || { echo "no page assets: run scripts/run.sh (www/assets) or the page tests first" >&2; exit 1; }
[ -f www/pkg/medbridge_bg.wasm ] || { echo "www/pkg is missing: run scripts/run.sh (or wasm-pack build, see README) first" >&2; exit 1; }
W=target/load
mkdir -p $W
[ -f $W/node_modules/autocannon/package.json ] || (cd $W && npm install --no-save --no-audit --no-fund --loglevel=error autocannon@9.0.0)
ulimit -n 8192 2>/dev/null || true   # 1,000 slow connections + 200 fetches need descriptors on both ends
echo "serving www/ with assets from $ASSETS"
AUTOCANNON_FROM="$PWD/$W/package.json" node scripts/load.mjs "$MB" www "$ASSETS" "$ASSETS/weights.gguf"
