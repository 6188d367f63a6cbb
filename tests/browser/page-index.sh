#!/usr/bin/env bash
# The Spanish ICD-10 catalogue index the page tests search: the CLI tests' slice of the catalogue
# (chapters E, I, J, R, which hold every code the page tests expect, plus every 16th other code;
# tests/cli.rs `catalog_slice`) under all names, target/test-indexes/icd10-es-slice-names.mbix. `cargo test` builds it
# (11,957 passages, about 7.5 minutes of one core with the dev binary), so in CI this is a no-op; run alone, it runs that one CLI test.
set -euo pipefail
cd "$(dirname "$0")/../.."
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
MB=target/debug/medbridge
INDEX=target/test-indexes/icd10-es-slice-names.mbix
if ! { [ -x $MB ] && [ -f $INDEX ] && $MB search --index $INDEX probe >/dev/null 2>&1; }; then
  echo "== building the catalogue slice's index $INDEX (cargo test --test cli spanish_catalogue_finds_codes)"
  cargo test --features webgpu --test cli spanish_catalogue_finds_codes
fi
