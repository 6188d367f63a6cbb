#!/usr/bin/env bash
# The Spanish ICD-10 catalogue index the page tests search (target/test-indexes/icd10-es.mbix), built
# with the CLI when missing or unreadable (~10 min of one core with the dev-profile binary).
# scripts/test.sh starts it in the background as soon as the CLI is built, so it overlaps with clippy
# and `cargo test` instead of running alone at the end; run-page.sh calls it too (a no-op then).
set -euo pipefail
cd "$(dirname "$0")/../.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
MB=target/debug/medbridge
INDEX=target/test-indexes/icd10-es.mbix
[ -x $MB ] || cargo build --bin medbridge --features webgpu
if ! { [ -f $INDEX ] && $MB search --index $INDEX probe >/dev/null 2>&1; }; then
  echo "== building the Spanish catalogue index $INDEX"
  mkdir -p "$(dirname $INDEX)"
  $MB index --icd10 --lang es --out $INDEX
fi
