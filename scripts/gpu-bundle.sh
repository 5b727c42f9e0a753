#!/usr/bin/env bash
# Builds the GPU check's binaries here and packs them, self-contained, for a
# GPU machine that lacks lnn's build dependencies (no Debian dev packages, no
# network; docs/benchmarks.md, "The GPU check"):
#
#   scripts/gpu-bundle.sh [ARCH]      # ARCH: CUDA architecture, default 90
#
# Writes gpu-bundle.tar.gz (git-ignored; under 40 MB or the script fails):
#   bin/   lnn_cuda_tests, lnn_capi_tests, lnn_bench, lnn (stripped;
#          RUNPATH $ORIGIN/../lib)
#   lib/   every shared library they load that is neither the C library's
#          own (the glibc family: mixing those with the host's breaks
#          loading) nor the GPU machine's (the driver's libcuda, and cuBLAS,
#          whose Lt half alone is 540 MB: scripts/gpu-check.sh finds it by
#          name there); each with RUNPATH $ORIGIN, so their own needs are
#          found beside them. The CUDA runtime (libcudart) is bundled.
#   data/  tests/data;  MANIFEST  each library and where it came from;
#   commit.txt  the commit, the build time, the architecture.
# On the GPU machine:  LNN_GPU_BUNDLE=gpu-bundle.tar.gz scripts/gpu-check.sh OUT
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
arch="${1:-90}"
build="${LNN_BUNDLE_BUILD:-$root/build-gpu-bundle}"  # any Release build with CUDA will do
max_mb=40
bash scripts/setup.sh
if ! command -v patchelf >/dev/null; then
  echo "gpu-bundle: installing patchelf"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends patchelf
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLNN_ENABLE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" -DLNN_BUILD_TESTS=ON -DLNN_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target lnn_cuda_tests lnn_capi_tests lnn_bench lnn_cli
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
b="$stage/gpu-bundle"
mkdir -p "$b/bin" "$b/lib"
cp "$build/tests/lnn_cuda_tests" "$build/tests/lnn_capi_tests" "$build/bench/lnn_bench" \
  "$build/lnn" "$b/bin/"

# Libraries the GPU machine supplies: the glibc family and the NVIDIA driver's,
# cuBLAS's and cuSOLVER's with its dependencies (found there by name, in
# /usr/local/cuda*/lib64 or Python's nvidia packages: scripts/gpu-check.sh;
# cuSOLVER, cuSPARSE and nvJitLink alone are ~400 MB, far over a carry).
host_owned() {
  case "$1" in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libresolv.so*|libnss_*|libutil.so*|\
    libanl.so*|libmvec.so*|libBrokenLocale.so*|libthread_db.so*|ld-linux*|linux-vdso*|\
    libcuda.so*|libnvidia-*|libcublas.so*|libcublasLt.so*|libcusolver.so*|libcusparse.so*|\
    libnvJitLink.so*) return 0 ;;
  esac
  return 1
}
: >"$b/MANIFEST"
for f in "$b/bin/"*; do
  ldd "$f" | awk '/=> \// {print $1, $3}'
done | sort -u | while read -r name path; do
  if host_owned "$name"; then
    echo "$name  (the GPU machine's)" >>"$b/MANIFEST"
  else
    cp -L "$path" "$b/lib/$name"
    echo "$name  $path" >>"$b/MANIFEST"
  fi
done
sort -u -o "$b/MANIFEST" "$b/MANIFEST"
strip --strip-unneeded "$b/bin/"* "$b/lib/"*
for f in "$b/bin/"*; do patchelf --set-rpath '$ORIGIN/../lib' "$f"; done
for f in "$b/lib/"*; do patchelf --set-rpath '$ORIGIN' "$f"; done
cp -r tests/data "$b/data"
echo "$(git rev-parse --short HEAD)$(git status --porcelain --untracked-files=no | head -1 | sed 's/.*/+dirty/'), built $(date -u +%FT%TZ) for sm_$arch" \
  >"$b/commit.txt"
tar -C "$stage" -czf gpu-bundle.tar.gz gpu-bundle
size_mb=$(( ($(stat -c %s gpu-bundle.tar.gz) + 1048575) / 1048576 ))
echo "gpu-bundle.tar.gz: ${size_mb} MB, $(ls "$b/lib" | wc -l) libraries ($(cat "$b/commit.txt"))"
if (( size_mb > max_mb )); then
  echo "gpu-bundle: the bundle is over ${max_mb} MB; see $b/MANIFEST for what it carries" >&2
  exit 1
fi
