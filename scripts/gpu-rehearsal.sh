#!/usr/bin/env bash
# The GPU check rehearsed here, before a GPU minute is spent on it: the bundle
# (scripts/gpu-bundle.sh) and scripts/gpu-check.sh run in a bare Debian 13
# root (debootstrap --variant=minbase, with python3 as on the GPU machine; no
# lnn build dependency, no CUDA, no GPU), chrooted. Three runs, each checked:
#
#   no-cublas  cuBLAS nowhere: the check stops at 'libraries' (exit 3),
#              naming libcublas, with the summary and the log archive written
#   no-gpu     cuBLAS where the GPU machine keeps it (/usr/local/cuda/lib64):
#              every binary loads and starts, the check stops at 'gpu'
#              (exit 2: no GPU), summary and archive written
#   tiny-limit as no-gpu but going on without a GPU (LNN_CHECK_WITHOUT_GPU=1),
#              the benchmark stages over the CPU benchmarks (LNN_BENCH_DEVICE=0,
#              seconds of work each) and every measuring stage limited to
#              LNN_STAGE_LIMIT=2 s: the benchmark stages are killed by their
#              limits and still the summary (those stages 'timeout') and the
#              archive are written
#
#   scripts/gpu-rehearsal.sh [OUTDIR]        (default out/gpu-rehearsal)
#
# Needs root (chroot, mount). The root is made once, under a minute, in
# LNN_REHEARSAL_ROOT (default ~/.cache/lnn-rehearsal/trixie); the bundle is
# built unless LNN_GPU_BUNDLE names one. Exit 0 when all three behave.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
outdir="$(mkdir -p "${1:-out/gpu-rehearsal}" && cd "${1:-out/gpu-rehearsal}" && pwd)"
fsroot="${LNN_REHEARSAL_ROOT:-$HOME/.cache/lnn-rehearsal/trixie}"
[[ "$(id -u)" -eq 0 ]] || { echo "gpu-rehearsal: needs root (chroot)" >&2; exit 1; }

if [[ ! -x "$fsroot/usr/bin/python3" ]]; then
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
  echo "== making a bare Debian 13 root in $fsroot"
  rm -rf "$fsroot"
  mkdir -p "$(dirname "$fsroot")"
  debootstrap --variant=minbase --include=python3 trixie "$fsroot" http://deb.debian.org/debian \
    >"$outdir/debootstrap.log" 2>&1 || { tail "$outdir/debootstrap.log"; exit 1; }
fi
echo "root: $(chroot "$fsroot" /bin/sh -c '. /etc/os-release; echo "$PRETTY_NAME, $(ldd --version | head -1)"')"

bundle="${LNN_GPU_BUNDLE:-}"
if [[ -z "$bundle" ]]; then
  bash scripts/gpu-bundle.sh
  bundle="$root/gpu-bundle.tar.gz"
fi

# The tree as the device tool sends it (tracked and untracked-not-ignored
# files, with uncommitted edits), and the bundle beside it.
work="$fsroot/check"
rm -rf "$work"
mkdir -p "$work"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work" 2>/dev/null || true
cp "$bundle" "$work/gpu-bundle.tar.gz"

# cuBLAS where the GPU machine's CUDA keeps it (hard links: same file system).
cublas_dir="$(dirname "$(readlink -f /usr/local/cuda/lib64/libcublas.so)")"
supply_cublas() {
  mkdir -p "$fsroot/usr/local/cuda/lib64"
  # cuBLAS, and cuSOLVER with the libraries it needs (the bundle carries
  # none of them: scripts/gpu-bundle.sh).
  for l in libcublas.so.13 libcublasLt.so.13 libcusolver.so.12 libcusparse.so.12 libnvJitLink.so.13; do
    ln -f "$cublas_dir/$l" "$fsroot/usr/local/cuda/lib64/$l" 2>/dev/null ||
      cp "$cublas_dir/$l" "$fsroot/usr/local/cuda/lib64/$l"
  done
}
remove_cublas() { rm -rf "$fsroot/usr/local/cuda"; }

mount -t proc proc "$fsroot/proc"
trap 'umount "$fsroot/proc" 2>/dev/null || true' EXIT

failures=0
run_case() {  # name expected-exit env...
  local name="$1" want="$2"
  shift 2
  local o="/check/out-$name"
  echo
  echo "==== $name (expect exit $want)"
  set +e
  chroot "$fsroot" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LNN_GPU_BUNDLE=/check/gpu-bundle.tar.gz "$@" \
    /bin/bash /check/scripts/gpu-check.sh "$o" 2>&1 | tee "$outdir/$name.log"
  local rc=${PIPESTATUS[0]}
  set -e
  rm -rf "$outdir/$name"
  cp -r "$fsroot$o" "$outdir/$name"
  local verdict="ok"
  [[ $rc -eq $want ]] || verdict="exit $rc, not $want"
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$outdir/$name/summary.json" ||
    verdict="no valid summary.json"
  tar -tzf "$outdir/$name/gpu-check-logs.tar.gz" >/dev/null || verdict="no log archive"
  shift 0
  echo "==== $name: $verdict"
  [[ "$verdict" == ok ]] || failures=$((failures + 1))
}
check_in() {  # case pattern what: pattern must occur in the case's log
  if grep -q -E "$2" "$outdir/$1.log"; then
    echo "     $1: $3: yes"
  else
    echo "     $1: $3: NO (no /$2/ in $outdir/$1.log)"
    failures=$((failures + 1))
  fi
}

remove_cublas
run_case no-cublas 3
check_in no-cublas 'needs libcublas(Lt)?\.so\.13' "the missing cuBLAS named"

supply_cublas
run_case no-gpu 2
check_in no-gpu 'libcublas\.so\.13 -> /usr/local/cuda/lib64' "cuBLAS found by name"
check_in no-gpu 'loads: ok' "every binary starts"
check_in no-gpu 'no usable NVIDIA GPU' "stops at the GPU, saying so"

run_case tiny-limit 1 LNN_CHECK_WITHOUT_GPU=1 LNN_STAGE_LIMIT=2 LNN_GPU_COMPARE=0 LNN_BENCH_DEVICE=0
check_in tiny-limit 'timeout' "a stage killed by its limit"
check_in tiny-limit 'tests-double' "the stages after it still run"
check_in tiny-limit 'gpu-check: exit 1;' "summary and archive after the kills"
remove_cublas

echo
if ((failures)); then
  echo "gpu-rehearsal: $failures check(s) failed (logs in $outdir)"
  exit 1
fi
echo "gpu-rehearsal: passed (logs and summaries in $outdir)"
