#!/usr/bin/env bash
# The test suite, as CI runs it: unit tests, real-model tests, WebGPU kernels on lavapipe, browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
bash scripts/setup.sh
cargo test
