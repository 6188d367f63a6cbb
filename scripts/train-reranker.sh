#!/usr/bin/env bash
# Retrain the reranker exactly as the committed models/trained/cross was trained (replaces its files):
#   bash scripts/train-reranker.sh            # the committed recipe: real + synthetic (below)
#   bash scripts/train-reranker.sh --synthetic   # the earlier one: synthetic pairs only (3,400 sampled + 200 held out)
# Real + synthetic: every CodiEsp *train* mention (`medbridge synth --generator annotated`, texts equal to a
# CodiEsp dev text dropped; CC-BY 4.0) + a seeded sample of 1,400 offline synthetic pairs, which keep the
# other five languages alive. Negatives mined with the fine-tuned bi-encoder (models/e5-small-bi, from
# scripts/setup.sh) from the English descriptions of the pairs' codes; lists of 1 positive + 7 negatives,
# 200 pairs of held-out codes for dev. ~40 min on one core of a 2-vCPU machine (frozen-layer pass ~20 min).
# The committed reranker's negatives were mined with the bi-encoder committed before today's (synthetic pairs
# only, model id …+bi-da406f42a211: `bash scripts/train-bi.sh --synthetic` rebuilds it); mining with today's
# (real + synthetic) bi-encoder gives other negatives, so a slightly different reranker.
# Extra arguments go to `medbridge train cross`.
set -euo pipefail
MODE=mixed
case "${1:-}" in --synthetic) MODE=synthetic; shift ;; --mixed) shift ;; esac
cd "$(dirname "$0")/.."
. scripts/train-data.sh
if [ $MODE = mixed ]; then
  # all real mentions + 1,400 synthetic pairs (seeded sample), shuffled together (seeded)
  python3 - $T/pairs.jsonl $T/codiesp-train-pairs.jsonl $T/mixed-pairs.jsonl <<'PY'
import random, sys
synthetic, real, out = sys.argv[1:]
syn = open(synthetic, encoding="utf-8").read().splitlines()
pairs = random.Random(42).sample(syn, 1400) + open(real, encoding="utf-8").read().splitlines()
random.Random(42).shuffle(pairs)
open(out, "w", encoding="utf-8").write("\n".join(pairs) + "\n")
PY
  DATA=$T/mixed-pairs.jsonl MAX_PAIRS=0
  RECIPE="scripts/train-reranker.sh: all CodiEsp train mentions (CLEF eHealth 2020 CodiEsp, CC-BY 4.0; medbridge synth --generator annotated, texts equal to a CodiEsp dev text excluded) + a seeded sample of 1,400 offline synthetic pairs (seed 42, evaluation queries excluded); negatives mined with models/e5-small-bi from the English descriptions of the pairs' codes"
else
  DATA=$T/pairs.jsonl MAX_PAIRS=3400
  RECIPE="scripts/train-reranker.sh --synthetic: medbridge synth (offline, seed 42, evaluation queries excluded); seeded sample of 3,400 pairs; negatives mined with models/e5-small-bi from the English descriptions of the pairs' codes"
fi
# the mining pool: {"_id": code, "text": English description} for each code of the pairs (positives and negatives)
python3 - $DATA models/icd10/catalog.jsonl $T/mine-corpus-$MODE.jsonl <<'PY'
import json, sys
pairs, catalog, out = sys.argv[1:]
codes = set()
for line in open(pairs, encoding="utf-8"):
    p = json.loads(line)
    codes.add(p["positive_code"]); codes.update(n["code"] for n in p["hard_negatives"])
en = {}
for line in open(catalog, encoding="utf-8"):
    e = json.loads(line)
    if "en" in e["descriptions"]: en[e["code"]] = e["descriptions"]["en"]
with open(out, "w", encoding="utf-8") as f:
    for c in sorted(codes & en.keys()): f.write(json.dumps({"_id": c, "text": en[c]}, ensure_ascii=False) + "\n")
PY
[ -f $T/mine-bi-$MODE.mbix ] || $MB --model models/e5-small-bi index --corpus $T/mine-corpus-$MODE.jsonl --out $T/mine-bi-$MODE.mbix
$MB train cross --data $DATA --recipe "$RECIPE" \
  --mine-index $T/mine-bi-$MODE.mbix --mine-model models/e5-small-bi --max-pairs $MAX_PAIRS --out models/trained/cross --checkpoints $T/cross-ckpt-$MODE \
  --dev-size 200 --negatives 7 --batch 8 --epochs 1 --max-len 80 --lr 2e-4 --eval-every 100 --checkpoint-every 50 "$@"
