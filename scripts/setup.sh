#!/usr/bin/env bash
# Native set-up on a fresh machine: build the CLI, fetch + convert the model, build the ICD-10 catalogue.
# Idempotent: what exists and verifies is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"   # fastest on 2-vCPU machines (shared notes)
cargo build --bin medbridge
MB=target/debug/medbridge
[ -f models/e5-small/model.gguf ] || $MB import-model
[ -f models/icd10/catalog.jsonl ] || $MB catalog
