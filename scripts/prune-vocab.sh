#!/usr/bin/env bash
# The page's model: MODEL with only the vocabulary our languages and data need (`medbridge prune-vocab`), derived
# from the ICD-10 catalogue (every language), CodiEsp *train* (mentions and whole cases, Spanish and English) and
# the 30,000 most frequent words of each of the six languages (PyPI wordfreq==3.1.1) — never from evaluation
# texts. Same model id, same vectors for every text made of kept pieces; 16.6 % of XLM-R's 250,002 pieces.
#   bash scripts/prune-vocab.sh MODEL_DIR OUT_DIR     (kept when OUT_DIR is newer than MODEL_DIR's weights)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: scripts/prune-vocab.sh MODEL_DIR OUT_DIR}
OUT=${2:?usage: scripts/prune-vocab.sh MODEL_DIR OUT_DIR}
MB=${MEDBRIDGE_BIN:-target/debug/medbridge}
D=../shared/data
if [ -f "$OUT/config.json" ] && [ "$OUT/config.json" -nt "$MODEL/model.gguf" ] && [ "$OUT/config.json" -nt models/icd10/catalog.jsonl ]; then
  echo "== reusing $OUT (pruned vocabulary of $MODEL)"
  exit 0
fi
echo "== prune-vocab: $MODEL → $OUT"
$MB --model "$MODEL" prune-vocab --out "$OUT" --wordfreq 30000 \
  --texts $D/codiesp/train/queries.jsonl --texts $D/codiesp-d/train/docs.jsonl --texts $D/codiesp-d/train/docs_en.jsonl
