#!/usr/bin/env bash
# Retrain the bi-encoder exactly as the committed models/trained/bi was trained (replaces its files), then
# assemble it into models/e5-small-bi:
#   bash scripts/train-bi.sh              # the committed recipe: real + synthetic (below)
#   bash scripts/train-bi.sh --synthetic  # the earlier one: the 19,800 synthetic pairs only
# Real + synthetic: the 19,800 offline synthetic pairs (all six languages) followed by every CodiEsp *train*
# mention (`medbridge synth --generator annotated`, texts equal to a CodiEsp dev text dropped; CC-BY 4.0);
# the trainer holds out ~300 pairs of whole codes for dev and shuffles the rest (seed 42). InfoNCE over
# in-batch + 3 hierarchy hard negatives, lower 10 layers frozen: ~45 min on one core of a 2-vCPU machine
# (the frozen-layer pass ~12 min, 690 steps ~30 min). Resumable: rerun with --resume after an interruption.
# Extra arguments go to `medbridge train bi`.
set -euo pipefail
MODE=mixed
case "${1:-}" in --synthetic) MODE=synthetic; shift ;; --mixed) shift ;; esac
cd "$(dirname "$0")/.."
. scripts/train-data.sh
if [ $MODE = mixed ]; then
  cat $T/pairs.jsonl $T/codiesp-train-pairs.jsonl > $T/bi-mixed-pairs.jsonl
  DATA=$T/bi-mixed-pairs.jsonl
  RECIPE="scripts/train-bi.sh: the 19,800 offline synthetic pairs (medbridge synth, seed 42, evaluation queries excluded) + all CodiEsp train mentions (CLEF eHealth 2020 CodiEsp, CC-BY 4.0; medbridge synth --generator annotated, texts equal to a CodiEsp dev text excluded)"
else
  DATA=$T/pairs.jsonl
  RECIPE="scripts/train-bi.sh --synthetic: medbridge synth (offline, seed 42, evaluation queries excluded)"
fi
$MB --model models/e5-small train bi --data $DATA --recipe "$RECIPE" --freeze-layers 10 \
  --out models/trained/bi --checkpoints $T/bi-ckpt-$MODE --checkpoint-every 50 "$@"
$MB --model models/e5-small train assemble --trained models/trained/bi --out models/e5-small-bi
