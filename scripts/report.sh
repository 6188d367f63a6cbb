#!/usr/bin/env bash
# The evaluation report (issues 5, 11): BM25, zero-shot e5-small, our fine-tuned bi-encoder, fine-tuned +
# our reranker, BM25 fused with the fine-tuned bi-encoder (hybrid), the every-name catalogue index (CodiEsp)
# and the default method (`--method auto`) on the development data in
# ../shared/data, then `medbridge report` → models/report/report.md (per-set table: MRR@10, R@1/3/5/10, MAP@10), report.svg, report.json.
#
#   bash scripts/report.sh            # all sets; REPORT_SETS="casi" or "codiesp" for one family
#
# Idempotent: indexes and results that exist are kept (delete target/report/ to start over).
# Costs on a 2-vCPU machine, one thread each: the two 98,284-code English indexes ~70 min each
# (bi_eval builds the fine-tuned one while it evaluates, see examples/bi_eval.rs), the CodiEsp
# reranking (1,912 queries × top 20, every catalogue description of a candidate) ~23 min, the CasiMedicos rerankings (7 × 381 × top 10) ~30 min,
# everything else minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
D="${MEDBRIDGE_SHARED:-../shared}/data"
R=target/report
OUT="${REPORT_OUT:-models/report}"
SETS="${REPORT_SETS:-codiesp casi}"
RERANK="${RERANK:-20}"                       # candidates the reranker sees (CodiEsp)
CASI_RERANK="${CASI_RERANK:-10}"             # … for CasiMedicos (long texts: 2,670 ranked lists cost ~1 h at 20)
RERANKER="${RERANKER:-models/trained/cross}"
mkdir -p "$R/results"
MB="${MEDBRIDGE_BIN:-target/release/medbridge}"
[ -n "${MEDBRIDGE_BIN:-}" ] || cargo build --release --bin medbridge
BASE=models/e5-small
BI=models/e5-small-bi
[ -f $BI/config.json ] || { echo "no $BI: run scripts/setup.sh first" >&2; exit 1; }

index() { # model corpus out
  [ -f "$3" ] || $MB --model "$1" index --corpus "$2" --out "$3"
}
ev() { # file model index queries qrels set system [eval options…]
  local f="$R/results/$1.json" model=$2 idx=$3 q=$4 qr=$5 set=$6 sys=$7
  shift 7
  [ -f "$f" ] || $MB --model "$model" eval --queries "$q" --qrels "$qr" --index "$idx" --set "$set" --system "$sys" --out "$f" "$@"
  RESULTS+=("$f")
}
systems() { # tag zero-shot-index fine-tuned-index queries qrels set rerank-depth
  local t=$1 zi=$2 fi=$3 q=$4 qr=$5 s=$6 depth=$7
  ev "$t-bm25" $BASE "$zi" "$q" "$qr" "$s" "BM25" --method bm25
  ev "$t-zero-shot" $BASE "$zi" "$q" "$qr" "$s" "zero-shot e5-small" --method dense
  ev "$t-fine-tuned" $BI "$fi" "$q" "$qr" "$s" "fine-tuned bi-encoder" --method dense
  # a depth of 0 (RERANK=0 CASI_RERANK=0) leaves the (slow) reranked runs out
  [ "$depth" = 0 ] || ev "$t-reranked" $BI "$fi" "$q" "$qr" "$s" "fine-tuned + reranker" --method dense --rerank "$depth" --reranker "$RERANKER" "${RERANK_OPTS[@]}"
  ev "$t-hybrid" $BI "$fi" "$q" "$qr" "$s" "hybrid: BM25 + fine-tuned" --method hybrid
}
RESULTS=()
RERANK_OPTS=()
for family in $SETS; do
  case $family in
  codiesp)
    index $BASE $D/codiesp/corpus_en.jsonl $R/codiesp_en.mbix
    if [ ! -f $R/codiesp_en_bi.mbix ]; then
      cargo build --release --example bi_eval
      target/release/examples/bi_eval --queries $D/codiesp/dev/queries.jsonl --qrels $D/codiesp/dev/qrels.tsv \
        --corpus $D/codiesp/corpus_en.jsonl --out $R/bi_codiesp_dev.json --save-index $R/codiesp_en_bi.mbix
    fi
    # the reranker also reads each candidate code's descriptions in our catalogue (Spanish, …)
    RERANK_OPTS=(--rerank-catalog models/icd10/catalog.jsonl)
    systems codiesp $R/codiesp_en.mbix $R/codiesp_en_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv \
      "CodiEsp dev es → ICD-10-CM en (98k)" "$RERANK"
    # every code under all of its names: catalogue descriptions in every language, inclusion terms, qualifiers with
    # their parent's, and the CodiEsp train mentions (dev texts excluded) as learned names (~60 min)
    [ -f $R/codiesp-train-pairs.jsonl ] || $MB synth --generator annotated --queries $D/codiesp/train/queries.jsonl \
      --qrels $D/codiesp/train/qrels.tsv --lang es --exclude $D/codiesp/dev/queries.jsonl --out $R/codiesp-train-pairs.jsonl
    [ -f $R/codiesp_names_bi.mbix ] || $MB --model $BI index --icd10 --lang all --names --names-from $R/codiesp-train-pairs.jsonl \
      --pool $D/codiesp/corpus_en.jsonl --out $R/codiesp_names_bi.mbix
    S="CodiEsp dev es → ICD-10-CM en (98k)"
    ev codiesp-names $BI $R/codiesp_names_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv "$S" "bi-encoder, every name" --method dense
    ev codiesp-auto $BI $R/codiesp_names_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv "$S" "default (auto)"
    [ "$RERANK" = 0 ] || ev codiesp-names-reranked $BI $R/codiesp_names_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv "$S" \
      "every name + reranker" --method dense --rerank "$RERANK" --reranker "$RERANKER" "${RERANK_OPTS[@]}"
    ;;
  casi)
    RERANK_OPTS=()
    for l in en es fr it; do
      index $BASE $D/casimedicos/$l/corpus.jsonl $R/casi_$l.mbix
      index $BI $D/casimedicos/$l/corpus.jsonl $R/casi_${l}_bi.mbix
    done
    for l in en es fr it; do
      systems casi-$l $R/casi_$l.mbix $R/casi_${l}_bi.mbix $D/casimedicos/$l/queries.jsonl $D/casimedicos/$l/qrels.tsv \
        "CasiMedicos $l → $l" "$CASI_RERANK"
      ev casi-$l-auto $BI $R/casi_${l}_bi.mbix $D/casimedicos/$l/queries.jsonl $D/casimedicos/$l/qrels.tsv "CasiMedicos $l → $l" "default (auto)"
    done
    for l in es fr it; do # the case in one language, the explanations in English (same ids)
      systems casi-$l-en $R/casi_en.mbix $R/casi_en_bi.mbix $D/casimedicos/$l/queries.jsonl $D/casimedicos/en/qrels.tsv \
        "CasiMedicos $l → en" "$CASI_RERANK"
      ev casi-$l-en-auto $BI $R/casi_en_bi.mbix $D/casimedicos/$l/queries.jsonl $D/casimedicos/en/qrels.tsv "CasiMedicos $l → en" "default (auto)"
    done
    ;;
  *) echo "unknown set family $family (codiesp, casi)" >&2; exit 1 ;;
  esac
done
$MB report --out "$OUT" "${RESULTS[@]}"
