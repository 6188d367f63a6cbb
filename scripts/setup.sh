#!/usr/bin/env bash
# Native set-up on a fresh machine: build the CLI, fetch + convert the model, build the ICD-10 catalogue,
# assemble the fine-tuned bi-encoder from the base model and the committed trained parts.
# Idempotent: what exists and verifies is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"   # fastest on 2-vCPU machines (shared notes)
cargo build --bin medbridge --features webgpu   # the features the tests use: one build of the dependencies, not two
MB=target/debug/medbridge
[ -f models/e5-small/model.gguf ] || $MB import-model
# rebuilt when its builder (src/catalog/, the CSV reader) changed since it was made
{ [ -f models/icd10/catalog.jsonl ] && [ -z "$(find src/catalog src/io/csv.rs -newer models/icd10/catalog.jsonl)" ]; } || $MB catalog
# Our fine-tuned bi-encoder: base + the committed trained parts (models/trained/bi) → models/e5-small-bi.
if [ -f models/trained/bi/manifest.json ] && { [ ! -f models/e5-small-bi/config.json ] || [ models/trained/bi/manifest.json -nt models/e5-small-bi/config.json ]; }; then
  $MB --model models/e5-small train assemble --trained models/trained/bi --out models/e5-small-bi
fi
