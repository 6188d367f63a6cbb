#!/usr/bin/env bash
# The test suite, as CI runs it (.ci/run): unit tests, real-model and CLI tests, the WebGPU kernels and
# whole forward pass on Mesa's lavapipe, and the headless-Chromium tests of the wasm encoder, the page,
# the static site (export-site) and the npm package (examples/portal, bundled by Vite, checked by tsc).
# Installs what a fresh machine lacks (Debian packages, wasm tools, npm packages); idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
# Each step prints its start; at exit, how long each took (CI's per-step times).
STEP_TIMES=()
step_close() { [ -z "${STEP:-}" ] || STEP_TIMES+=("$(printf '%5d s  %s' $(( $(date +%s) - STEP_START )) "$STEP")"); }
step() { step_close; STEP="$*"; STEP_START=$(date +%s); echo; echo "== $* ($(date +%T))"; }
trap 'step_close; STEP=; echo; echo "== step times"; printf "%s\n" "${STEP_TIMES[@]}"' EXIT

step "system packages: Vulkan on the CPU (lavapipe) and Chromium"
need=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need+=(libvulkan1)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

step "format (cargo fmt --check, rustfmt.toml)"
{ cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1 || rustup component add rustfmt clippy
cargo fmt --check

# The browser tools (wasm target, wasm-bindgen-cli, wasm-pack, playwright-core) install in the
# background while the crate builds: they fill the cores the build leaves idle (downloads, linking,
# the model import and the catalogue) instead of adding ~9 minutes at the end.
mkdir -p target
step "browser tools: installing in the background (log: target/setup-web-tools.log)"
bash scripts/setup-web-tools.sh > target/setup-web-tools.log 2>&1 &
tools_pid=$!

step "set-up: build, model, catalogue"
bash scripts/setup.sh

step "lint (cargo clippy --all-targets, warnings are errors)"
cargo clippy --all-targets --features webgpu -- -D warnings

step "cargo test (with the WebGPU path, on lavapipe)"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"
cargo test --features webgpu

step "browser tools (started during set-up): waiting for them"
if ! wait "$tools_pid"; then cat target/setup-web-tools.log; echo "installing the browser tools failed (log above)" >&2; exit 1; fi
tail -n 8 target/setup-web-tools.log
step "browser: the wasm encoder, the page, the static site and the npm package in headless Chromium"
bash tests/browser/run.sh
bash tests/browser/run-page.sh
bash tests/browser/run-site.sh
