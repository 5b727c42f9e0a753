#!/usr/bin/env bash
# Builds the GPU check's binaries here and packs them for a GPU machine that
# lacks lnn's build dependencies (no Debian dev packages, no network):
#
#   scripts/gpu-bundle.sh [ARCH]      # ARCH: CUDA architecture, default 90
#
# Writes gpu-bundle.tar.gz (git-ignored): bin/ (lnn_cuda_tests,
# lnn_capi_tests, lnn_bench, lnn; stripped), lib/ (the shared libraries they
# need that are neither glibc's nor CUDA's cuBLAS: OpenBLAS, HDF5, libstdc++,
# gfortran, cudart, liblnn), data/ (tests/data) and commit.txt. On the GPU
# machine:
#
#   LNN_GPU_BUNDLE=gpu-bundle.tar.gz scripts/gpu-check.sh OUTDIR
#
# cuBLAS is taken from the GPU machine's CUDA toolkit (or pip's nvidia-cublas).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
arch="${1:-90}"
build="${LNN_BUNDLE_BUILD:-$root/build-gpu-bundle}"  # any Release build with CUDA will do
bash scripts/setup.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLNN_ENABLE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLNN_BUILD_TESTS=ON -DLNN_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target lnn_cuda_tests lnn_capi_tests lnn_bench lnn_cli
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/gpu-bundle/bin" "$stage/gpu-bundle/lib"
cp "$build/tests/lnn_cuda_tests" "$build/tests/lnn_capi_tests" "$build/bench/lnn_bench" \
  "$build/lnn" "$stage/gpu-bundle/bin/"
strip --strip-unneeded "$stage/gpu-bundle/bin/"*
for b in "$stage/gpu-bundle/bin/"*; do
  ldd "$b" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libcuda.so*|libcublas*) ;;
    *) cp -L "$lib" "$stage/gpu-bundle/lib/" ;;
  esac
done
cp -r tests/data "$stage/gpu-bundle/data"
echo "$(git rev-parse --short HEAD)$(git status --porcelain --untracked-files=no | head -1 | sed 's/.*/+dirty/'), built $(date -u +%FT%TZ) for sm_$arch" \
  >"$stage/gpu-bundle/commit.txt"
tar -C "$stage" -czf gpu-bundle.tar.gz gpu-bundle
echo "gpu-bundle.tar.gz: $(du -h gpu-bundle.tar.gz | cut -f1) ($(cat "$stage/gpu-bundle/commit.txt"))"
