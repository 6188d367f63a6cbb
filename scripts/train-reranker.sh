#!/usr/bin/env bash
# Retrain the reranker exactly as the committed models/trained/cross was trained (replaces its files):
# negatives mined with the fine-tuned bi-encoder (models/e5-small-bi, from scripts/setup.sh) from the
# English descriptions of every code in the synthetic data; 3,400 sampled pairs (+200 held out), lists
# of 1 positive + 7 negatives, 425 steps. ~35 min on one 2-vCPU machine (frozen-layer pass ~20 min).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
D="${MEDBRIDGE_SHARED:-../shared}/data"
T=target/train
MB="${MEDBRIDGE_BIN:-target/release/medbridge}"
[ -n "${MEDBRIDGE_BIN:-}" ] || cargo build --release --bin medbridge
mkdir -p $T
[ -f $T/pairs.jsonl ] || $MB synth --out $T/pairs.jsonl \
  --exclude $D/codiesp/dev/queries.jsonl --exclude $D/codiesp/train/queries.jsonl \
  --exclude $D/casimedicos/en/queries.jsonl --exclude $D/casimedicos/es/queries.jsonl \
  --exclude $D/casimedicos/fr/queries.jsonl --exclude $D/casimedicos/it/queries.jsonl
# the mining pool: {"_id": code, "text": English description} for each code of the pairs (positives and negatives)
python3 - $T/pairs.jsonl models/icd10/catalog.jsonl $T/mine-corpus.jsonl <<'PY'
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
[ -f $T/mine-bi.mbix ] || $MB --model models/e5-small-bi index --corpus $T/mine-corpus.jsonl --out $T/mine-bi.mbix
$MB train cross --data $T/pairs.jsonl \
  --recipe "scripts/train-reranker.sh: medbridge synth (offline, seed 42, evaluation queries excluded); seeded sample of 3,400 pairs; negatives mined with models/e5-small-bi from the English descriptions of the pairs' codes" \
  --mine-index $T/mine-bi.mbix --mine-model models/e5-small-bi --max-pairs 3400 --out models/trained/cross --checkpoints $T/cross-ckpt \
  --dev-size 200 --negatives 7 --batch 8 --epochs 1 --max-len 80 --lr 2e-4 --eval-every 100 --checkpoint-every 50 "$@"
