#!/usr/bin/env bash
# Install what the web build and the browser tests need; idempotent (skips what is there).
#   - rustup target wasm32-unknown-unknown
#   - wasm-bindgen-cli (same version as the wasm-bindgen pin in Cargo.toml) and wasm-pack
#   - Debian's chromium (headless WebGPU through SwiftShader)
#   - playwright-core in tests/browser (npm ci from the committed package-lock.json)
# The tools build with less optimisation than cargo install's default (opt-level 3): wasm-pack only runs
# commands (0) and wasm-bindgen rewrites one module per build (1); this takes minutes off a fresh CI run.
# Never `cargo install --locked`: the crates.io mirror lacks a locked dependency (see toolchain notes).
# Set SKIP_APT=1 to skip apt-get (no root); SKIP_NPM=1 to skip npm.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}
log() { echo "setup-web-tools: $*"; }

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rust target wasm32-unknown-unknown: present"
else
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WASM_BINDGEN_VERSION" ]; then
  log "wasm-bindgen $WASM_BINDGEN_VERSION: present"
else
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (~5 min CPU)"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if command -v wasm-pack >/dev/null; then
  log "$(wasm-pack --version): present"
else
  log "installing wasm-pack (~4 min CPU)"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install wasm-pack
fi

if [ -x /usr/bin/chromium ]; then
  log "$(/usr/bin/chromium --version 2>/dev/null || echo chromium): present"
elif [ "${SKIP_APT:-0}" = 1 ]; then
  log "chromium missing and SKIP_APT=1: browser tests will not run"
else
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  log "installing chromium (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

if [ "${SKIP_NPM:-0}" = 1 ]; then
  log "SKIP_NPM=1: not installing playwright-core"
elif [ -f tests/browser/node_modules/playwright-core/package.json ] \
  && [ tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ]; then
  log "playwright-core: present"
else
  log "installing playwright-core in tests/browser (npm ci; downloads no browser)"
  (cd tests/browser && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; })
fi
log "done"
