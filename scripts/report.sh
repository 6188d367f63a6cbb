#!/usr/bin/env bash
# The evaluation report (issues 5, 11): BM25, zero-shot e5-small, our fine-tuned bi-encoder (on CodiEsp: over the
# every-name catalogue index), the default first stage (`--method auto`: dense on the catalogue, hybrid score
# fusion on documents) alone and with our reranker on its top N — the shipped two-stage system — on the
# development data in ../shared/data, plus the rows measured before issue 11's last changes
# (models/report/before/: the synthetic-only bi-encoder and reranker, rank-fusion hybrid), then `medbridge report`
# → models/report/report.md (per-set table: MRR@10, R@1/3/5/10, MAP@10), report.svg, report.json.
#
#   bash scripts/report.sh            # all sets; REPORT_SETS="casi" or "codiesp" for one family
#
# Idempotent: results that exist are kept, and an index is built only when a result needs it (delete
# target/report/ to start over). Costs on a 2-vCPU machine, one thread each: the zero-shot 98,284-code English
# index ~70 min, the every-name index ~60 min,
# the CodiEsp reranking (1,912 queries × top 10, every name of a candidate) ~30 min, the CasiMedicos rerankings
# (7 × 381 × top 10; most queries are too long for the reranker, which then leaves them alone) ~3 min each,
# everything else minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
D="${MEDBRIDGE_SHARED:-../shared}/data"
R=target/report
OUT="${REPORT_OUT:-models/report}"
SETS="${REPORT_SETS:-codiesp casi}"
RERANK="${RERANK:-10}"                       # candidates the reranker sees (CodiEsp)
CASI_RERANK="${CASI_RERANK:-10}"             # … for CasiMedicos
RERANKER="${RERANKER:-models/trained/cross}"
mkdir -p "$R/results"
MB="${MEDBRIDGE_BIN:-target/release/medbridge}"
[ -n "${MEDBRIDGE_BIN:-}" ] || cargo build --release --bin medbridge
BASE=models/e5-small
BI=models/e5-small-bi
[ -f $BI/config.json ] || { echo "no $BI: run scripts/setup.sh first" >&2; exit 1; }

declare -A BUILD   # index path → the command that builds it (run only when a missing result needs the index)
corpus_index() { BUILD[$3]="$MB --model $1 index --corpus $2 --out $3"; } # model corpus out
ev() { # file model index queries qrels set system [eval options…]
  local f="$R/results/$1.json" model=$2 idx=$3 q=$4 qr=$5 set=$6 sys=$7
  shift 7
  if [ ! -f "$f" ]; then
    [ -f "$idx" ] || ${BUILD[$idx]:?no recipe for $idx}
    $MB --model "$model" eval --queries "$q" --qrels "$qr" --index "$idx" --set "$set" --system "$sys" --out "$f" "$@"
  fi
  RESULTS+=("$f")
}
before() { # tag name…: rows measured before issue 11's last changes, kept as they were (models/report/before/)
  local t=$1; shift
  for n in "$@"; do RESULTS+=("models/report/before/$t--$n.json"); done
}
systems() { # tag zero-shot-index fine-tuned-index queries qrels set
  local t=$1 zi=$2 fi=$3 q=$4 qr=$5 s=$6
  ev "$t-bm25" $BASE "$zi" "$q" "$qr" "$s" "BM25" --method bm25
  ev "$t-zero-shot" $BASE "$zi" "$q" "$qr" "$s" "zero-shot e5-small" --method dense
  ev "$t-fine-tuned" $BI "$fi" "$q" "$qr" "$s" "fine-tuned bi-encoder" --method dense
}
shipped() { # tag model index queries qrels set rerank-depth: the default first stage, alone and reranked
  local t=$1 m=$2 i=$3 q=$4 qr=$5 s=$6 depth=$7
  ev "$t-auto" $m "$i" "$q" "$qr" "$s" "default (auto)"
  # a depth of 0 (RERANK=0 CASI_RERANK=0) leaves the (slow) reranked runs out
  [ "$depth" = 0 ] || ev "$t-auto-reranked" $m "$i" "$q" "$qr" "$s" "default + reranker" --rerank "$depth" --reranker "$RERANKER"
}
RESULTS=()
for family in $SETS; do
  case $family in
  codiesp)
    S="CodiEsp dev es → ICD-10-CM en (98k)"
    corpus_index $BASE $D/codiesp/corpus_en.jsonl $R/codiesp_en.mbix
    # every code under all of its names: catalogue descriptions in every language, inclusion terms, qualifiers with
    # their parent's, and the CodiEsp train mentions (dev texts excluded) as learned names (~60 min)
    [ -f $R/codiesp-train-pairs.jsonl ] || $MB synth --generator annotated --queries $D/codiesp/train/queries.jsonl \
      --qrels $D/codiesp/train/qrels.tsv --lang es --exclude $D/codiesp/dev/queries.jsonl --out $R/codiesp-train-pairs.jsonl
    BUILD[$R/codiesp_names_bi.mbix]="$MB --model $BI index --icd10 --lang all --names --names-from $R/codiesp-train-pairs.jsonl --pool $D/codiesp/corpus_en.jsonl --out $R/codiesp_names_bi.mbix"
        systems codiesp $R/codiesp_en.mbix $R/codiesp_names_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv "$S"
    before codiesp fine-tuned-synthetic hybrid-rank-fusion reranker-synthetic-only every-name-synthetic default-reranker-synthetic
    # the reranker judges a candidate by every name the index holds for it
    shipped codiesp $BI $R/codiesp_names_bi.mbix $D/codiesp/dev/queries.jsonl $D/codiesp/dev/qrels.tsv "$S" "$RERANK"
    ;;
  casi)
    for l in en es fr it; do
      corpus_index $BASE $D/casimedicos/$l/corpus.jsonl $R/casi_$l.mbix
      corpus_index $BI $D/casimedicos/$l/corpus.jsonl $R/casi_${l}_bi.mbix
    done
    casi() { # tag query-language index-language
      local t=$1 q=$2 c=$3
      systems $t $R/casi_$c.mbix $R/casi_${c}_bi.mbix $D/casimedicos/$q/queries.jsonl $D/casimedicos/$c/qrels.tsv "CasiMedicos $q → $c"
      before $t fine-tuned-synthetic hybrid-rank-fusion reranker-synthetic-only default-synthetic
      shipped $t $BI $R/casi_${c}_bi.mbix $D/casimedicos/$q/queries.jsonl $D/casimedicos/$c/qrels.tsv "CasiMedicos $q → $c" "$CASI_RERANK"
    }
    for l in en es fr it; do casi casi-$l $l $l; done
    # the case in one language, the explanations in English (same ids)
    for l in es fr it; do casi casi-$l-en $l en; done
    ;;
  *) echo "unknown set family $family (codiesp, casi)" >&2; exit 1 ;;
  esac
done
$MB report --out "$OUT" "${RESULTS[@]}"
