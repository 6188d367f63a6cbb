#!/usr/bin/env bash
# The wasm package (www/pkg: the engine for the page, the npm package and export-site), rebuilt only when
# the crate's sources are newer than it. Tools: scripts/setup-web-tools.sh (wasm-pack, wasm-bindgen-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f www/pkg/medbridge_bg.wasm ] && [ -z "$(find src shaders Cargo.toml Cargo.lock -newer www/pkg/medbridge_bg.wasm -print -quit)" ]; then
  echo "== reusing www/pkg (newer than the sources)"
else
  echo "== wasm-pack build → www/pkg"
  wasm-pack build --target web --release --out-dir www/pkg --no-default-features --features wasm,webgpu
fi
