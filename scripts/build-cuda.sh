#!/usr/bin/env bash
# Compile-check `cargo build --release --features cuda` on a machine without a GPU or CUDA install:
# the CUDA 13 toolchain comes from PyPI wheels (~1.2 GB), laid out as a CUDA_ROOT tree, with a stub
# libcuda.so for the link (no driver is needed to compile). Run on a GPU machine with a real CUDA
# install by skipping this script and running `cargo build --release --features cuda` directly.
# Everything goes under target/cuda-work (git-ignored); ~15 min (nvcc builds candle's kernels).
#   bash scripts/build-cuda.sh            # then: target/cuda-work/target-cuda/release/medbridge train bi …
set -euo pipefail
cd "$(dirname "$0")/.."
H=$PWD/target/cuda-work
mkdir -p "$H/stub"

if [ ! -x "$H/cu13/bin/pip" ]; then python3 -m venv "$H/cu13"; fi
if ! ls -d "$H"/cu13/lib/python3*/site-packages/nvidia/cu13/bin/nvcc >/dev/null 2>&1; then
  echo "== CUDA 13 toolchain from PyPI (~1.2 GB)"
  "$H/cu13/bin/pip" install -q nvidia-cuda-nvcc nvidia-cuda-runtime nvidia-cuda-crt nvidia-nvvm \
    nvidia-cuda-cccl nvidia-cuda-nvrtc nvidia-curand nvidia-cublas
fi
W=$(ls -d "$H"/cu13/lib/python3*/site-packages/nvidia/cu13)

echo "== CUDA_ROOT tree + stub libcuda.so"
cargo fetch --quiet   # the cudarc sources the stub is generated from
R=$H/cuda-root
rm -rf "$R" && mkdir -p "$R/lib64"
ln -s "$W/bin" "$R/bin"; ln -s "$W/include" "$R/include"; ln -s "$W/nvvm" "$R/nvvm"
for f in "$W"/lib/*.so.*; do b=$(basename "$f"); ln -sf "$f" "$R/lib64/$b"; ln -sf "$f" "$R/lib64/${b%%.so.*}.so"; done
S=$(ls -d ~/.cargo/registry/src/*/cudarc-0.19.10 | head -1)
grep -hoE '^\s+fn cu[A-Za-z0-9_]+\(' "$S/src/driver/sys/mod.rs" | sed -E 's/^\s+fn (cu[A-Za-z0-9_]+)\(/\1/' | sort -u \
  | awk '{print "void " $1 "(void){}"}' > "$H/stub/libcuda_stub.c"
gcc -shared -fPIC -o "$R/lib64/libcuda.so" -Wl,-soname,libcuda.so.1 "$H/stub/libcuda_stub.c"

export CUDA_ROOT=$R CUDA_HOME=$R CUDA_PATH=$R NVCC=$R/bin/nvcc PATH=$R/bin:$PATH LIBRARY_PATH=$R/lib64
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}     # no nvidia-smi here: say which GPU to build for (90 = H100)
export CUDARC_CUDA_VERSION=13040                    # cudarc 0.19.10 knows up to 13.4; the wheels are 13.5
export CARGO_TARGET_DIR=$H/target-cuda
echo "== cargo build --release --features cuda (compute capability $CUDA_COMPUTE_CAP)"
cargo build --release --features cuda
echo "built $CARGO_TARGET_DIR/release/medbridge with CUDA; \`medbridge train bi|cross\` picks GPU 0 when one is present"
