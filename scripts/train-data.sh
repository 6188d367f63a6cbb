# Sourced by scripts/train-bi.sh and scripts/train-reranker.sh: the training pairs both recipes start from.
# Sets what both recipes use — $D (../shared/data, or $MEDBRIDGE_SHARED/data), $T (target/train), $MB (the release
# binary, built here unless $MEDBRIDGE_BIN names one), one rayon thread — and writes, idempotently:
#   $T/pairs.jsonl                 19,800 offline synthetic pairs (seed 42), none equal to an evaluation query
#   $T/codiesp-train-pairs.jsonl   every CodiEsp *train* mention (CC-BY 4.0) with its code, texts equal to a
#                                  CodiEsp dev text dropped, hierarchy hard negatives
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
[ -f $T/codiesp-train-pairs.jsonl ] || $MB synth --generator annotated --queries $D/codiesp/train/queries.jsonl \
  --qrels $D/codiesp/train/qrels.tsv --lang es --exclude $D/codiesp/dev/queries.jsonl --out $T/codiesp-train-pairs.jsonl
