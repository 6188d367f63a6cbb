#!/usr/bin/env bash
# What the pruned vocabulary (scripts/prune-vocab.sh) costs in retrieval, before/after, with the fine-tuned
# bi-encoder (dense): CodiEsp dev over the every-name index that scripts/report.sh builds (full vocabulary, as the
# page searches an index built natively), and CasiMedicos l → l with the explanations re-indexed by each model (as
# the page embeds a user's documents). Prints a Markdown table. Not in CI (~40 min on one core).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
MB=${MEDBRIDGE_BIN:-target/debug/medbridge}
D=../shared/data; R=target/report; O=target/vocab/results
FULL=models/e5-small-bi; PRUNED=target/vocab/e5-small-bi-web
[ -f $R/codiesp_names_bi.mbix ] || { echo "$R/codiesp_names_bi.mbix is missing: run scripts/report.sh first (it builds it)" >&2; exit 1; }
MEDBRIDGE_BIN=$MB bash scripts/prune-vocab.sh $FULL $PRUNED
mkdir -p $O
ev() { # name model index queries qrels
  [ -f $O/$1.json ] && [ $O/$1.json -nt $PRUNED/config.json ] || $MB --model "$2" eval --index "$3" --queries "$4" --qrels "$5" --method dense --set "$1" --system "$1" --out $O/$1.json
}
for m in full pruned; do
  M=$FULL; [ $m = pruned ] && M=$PRUNED
  ev codiesp-$m $M $R/codiesp_names_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv
  for l in es en fr it; do
    I=target/vocab/casi_${l}_$m.mbix
    [ -f $I ] && [ $I -nt $M/config.json ] || $MB --model $M index --corpus $D/casimedicos/$l/corpus.jsonl --out $I
    ev casi-$l-$m $M $I $D/casimedicos/$l/queries.jsonl $D/casimedicos/$l/qrels.tsv
  done
done
python3 - "$O" <<'PY'
import json, sys, os
o = sys.argv[1]
print("| set | queries | MRR@10 full | MRR@10 pruned | Δ | R@5 full | R@5 pruned | Δ |\n|---|---:|---:|---:|---:|---:|---:|---:|")
names = {"codiesp": "CodiEsp dev (es → ICD-10-CM, every-name index)", **{f"casi-{l}": f"CasiMedicos {l} → {l}" for l in ["es", "en", "fr", "it"]}}
for key, label in names.items():
    a, b = (json.load(open(os.path.join(o, f"{key}-{m}.json")))["metrics"] for m in ("full", "pruned"))
    f = lambda x: f"{100 * x:.2f}"
    print(f"| {label} | {a['queries']:,} | {f(a['mrr_at_10'])} | {f(b['mrr_at_10'])} | {100 * (b['mrr_at_10'] - a['mrr_at_10']):+.2f} | "
          f"{f(a['recall_at_5'])} | {f(b['recall_at_5'])} | {100 * (b['recall_at_5'] - a['recall_at_5']):+.2f} |")
PY
