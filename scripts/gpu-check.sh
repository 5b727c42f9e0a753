#!/usr/bin/env bash
# The GPU check: one command on a machine with an NVIDIA GPU, built to give
# usable numbers on its first run or to say exactly what broke and where
# (docs/benchmarks.md, "The GPU check"):
#
#   LNN_GPU_BUNDLE=gpu-bundle.tar.gz scripts/gpu-check.sh OUTDIR
#
# LNN_GPU_BUNDLE is the tarball (or unpacked folder) of scripts/gpu-bundle.sh,
# for GPU machines without lnn's build dependencies; without it the check
# builds lnn here (CMake, nvcc and the Debian packages of scripts/setup.sh).
#
# Stages, in order of value, each under its own time limit and all under an
# overall one, so that the summary and the logs reach OUTDIR even when a
# stage hangs:
#   libraries   ldd on every bundled binary and library; what the bundle
#               lacks (cuBLAS) found by name in /usr/local/cuda*/, then in
#               Python's nvidia packages, then ldconfig's cache, and linked
#               into the bundle's lib/ (the binaries' RUNPATH; nothing is put
#               in LD_LIBRARY_PATH); stops naming a library found nowhere
#   loads       every binary started once (lnn info --json, test and
#               benchmark lists): stops if one does not start
#   gpu         nvidia-smi; stops with status 2 when there is no GPU
#   bench-reference   the reference shapes (width 600, n = 2, float):
#               accelerations at B = 65536, loss gradient and training step
#               at B = 512 and 65536, one process per benchmark
#   tests-float, capi, tests-double   the CUDA tests against the CPU engine
#   first-failure-sync, first-failure-memcheck   the first failing test
#               alone with LNN_CUDA_SYNC=1 (each launch waited for, the
#               faulting kernel named) and under compute-sanitizer memcheck
#   phases      the reference benchmarks again with LNN_PHASE_TIMES=1: ms per
#               call by phase of the engine's work (include/lnn/phase_times.hpp)
#   bench-scaling     the other GPU benchmarks (batch and n scaling, width 128)
#   time-to-quality   bench/time_to_quality.py: a 3 x 128 double-pendulum
#               model trained on the GPU (the main job's 60,000 steps, 150 s budget),
#               its checkpoints judged by lnn evaluate against the targets
#   compare-jax       bench/reference/compare.py --device cuda, where JAX
#               runs on the GPU and time is left
#
# OUTDIR receives summary.json, summary.txt and gpu-check-logs.tar.gz (every
# log, the gtest and benchmark JSON); logs/ stays there only when the check
# was killed before it could pack them.
#
# Exit status: 0 all stages passed; 1 a test or benchmark failed or a stage
# ran out of time; 2 no usable GPU; 3 the binaries cannot load or run.
#
# Environment: LNN_CHECK_LIMIT overall seconds (default 480);
# LNN_STAGE_LIMIT a cap on every stage's limit (for rehearsals);
# LNN_CHECK_WITHOUT_GPU=1 goes on without a GPU (rehearsals: the CUDA tests
# skip, the GPU benchmarks report "no usable GPU"); LNN_BENCH_MIN_TIME
# (Google Benchmark's per-benchmark minimum, default theirs);
# LNN_CHECK_STAGES=a,b,… runs only those measuring stages (a rerun of what
# failed; the gates always run); LNN_GPU_COMPARE=0 skips the JAX comparison;
# LNN_BENCH_DEVICE=0 runs the
# benchmark stages over the CPU benchmarks instead (rehearsals: real work for
# the time limits to cut); JOBS (source builds).
set -uo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: [LNN_GPU_BUNDLE=gpu-bundle.tar.gz] scripts/gpu-check.sh OUTDIR" >&2
  exit 64
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1" || exit 64
out="$(cd "$1" && pwd)"
logs="$out/logs"
rm -rf "$logs" "$out/summary.json" "$out/summary.txt" "$out/gpu-check-logs.tar.gz"
mkdir -p "$logs"
cd "$root"

start=$(date +%s)
limit="${LNN_CHECK_LIMIT:-480}"
deadline=$((start + limit))
reserve=20  # seconds kept for the summary and the archive
stage_cap="${LNN_STAGE_LIMIT:-100000}"
exit_code=0
: >"$logs/stages.tsv"  # name, status, exit code, seconds, limit, note
echo "check limit ${limit} s, started $(date -u +%FT%TZ)" >"$logs/check.txt"

record() {  # name status rc seconds limit note
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$logs/stages.tsv"
}
elapsed() { echo $(($(date +%s) - start)); }

# stage NAME LIMIT CMD...: CMD's output into logs/NAME.log, killed (with its
# children) after min(LIMIT, LNN_STAGE_LIMIT, time left before the overall
# limit less the reserve). Returns CMD's status; 124 on its time limit.
stage() {
  local name="$1" want="$2"
  shift 2
  if [[ -n "${LNN_CHECK_STAGES:-}" && $name != build && $name != loads && $name != gpu &&
        $name != first-failure-* && ",$LNN_CHECK_STAGES," != *",$name,"* ]]; then
    record "$name" skipped "" 0 "$want" "not in LNN_CHECK_STAGES"
    return 0
  fi
  local left=$((deadline - reserve - $(date +%s)))
  local lim=$want
  # LNN_STAGE_LIMIT caps the measuring stages, not the gates before them.
  if [[ $name != build && $name != loads && $name != gpu ]] && ((stage_cap < lim)); then
    lim=$stage_cap
  fi
  ((left < lim)) && lim=$left
  if ((lim < 2)); then
    echo "== $name: skipped, no time left ($(elapsed) s)"
    record "$name" skipped "" 0 "$want" "no time left before the overall limit"
    return 125
  fi
  echo "== $name (limit $lim s; at $(elapsed) s)"
  local t0 rc st
  t0=$(date +%s%N)
  timeout -k 5 "$lim" "$@" >"$logs/$name.log" 2>&1
  rc=$?
  local secs
  secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
  case $rc in
    0) st=ok ;;
    124 | 137) st=timeout ;;
    *) st=failed ;;
  esac
  record "$name" "$st" "$rc" "$secs" "$lim"
  echo "   $name: $st (exit $rc, $secs s)"
  return $rc
}

finish() {
  local rc=$?
  trap - EXIT TERM INT
  ((exit_code == 0 && rc != 0)) && exit_code=$rc
  echo "== summary ($(elapsed) s)"
  echo "exit $exit_code" >>"$logs/check.txt"
  if command -v python3 >/dev/null &&
     python3 "$root/scripts/gpu_check_summary.py" "$out" "$exit_code" >"$logs/summary.log" 2>&1; then
    cat "$out/summary.txt"
  else
    # No Python (or it failed): the stages table as JSON, by hand.
    cat "$logs/summary.log" 2>/dev/null
    {
      echo "{\"exit_code\": $exit_code, \"summary_error\": \"python3 missing or failed (logs/summary.log)\", \"stages\": ["
      awk -F'\t' 'BEGIN{s=""} {printf "%s{\"name\": \"%s\", \"status\": \"%s\", \"seconds\": \"%s\"}", s, $1, $2, $4; s=",\n"}' "$logs/stages.tsv"
      echo "]}"
    } >"$out/summary.json"
    column -t -s $'\t' "$logs/stages.tsv" >"$out/summary.txt" 2>/dev/null || cp "$logs/stages.tsv" "$out/summary.txt"
    cat "$out/summary.txt"
  fi
  # At most 16 MiB a file comes back from a lent GPU machine: a log over
  # 4 MiB keeps its first and last 2 MiB.
  find "$logs" -type f -size +4M | while read -r f; do
    { head -c 2M "$f"; printf '\n[... cut by gpu-check: %s bytes in all ...]\n' "$(stat -c %s "$f")"
      tail -c 2M "$f"; } >"$f.cut" && mv "$f.cut" "$f"
  done
  if tar -C "$out" -czf "$out/gpu-check-logs.tar.gz" logs; then
    rm -rf "$logs"
  fi
  [[ -n "${bundle_tmp:-}" ]] && rm -rf "$bundle_tmp"
  echo "gpu-check: exit $exit_code; $out/summary.json, $out/gpu-check-logs.tar.gz ($(elapsed) s)"
  exit "$exit_code"
}
trap finish EXIT
trap 'echo "gpu-check: stopped by a signal" >&2; exit_code=1; exit 1' TERM INT

fail_stop() {  # code message: say why and stop
  echo "gpu-check: $2" | tee -a "$logs/check.txt" >&2
  exit_code=$1
  exit "$1"
}

# --- the binaries: a bundle, or a build here -------------------------------
if [[ -n "${LNN_GPU_BUNDLE:-}" ]]; then
  bundle="$LNN_GPU_BUNDLE"
  [[ -e "$bundle" ]] || fail_stop 3 "LNN_GPU_BUNDLE=$bundle does not exist"
  if [[ -f "$bundle" ]]; then
    bundle_tmp="$(mktemp -d)"
    tar -C "$bundle_tmp" -xzf "$bundle" || fail_stop 3 "cannot unpack $bundle"
    bundle="$bundle_tmp/gpu-bundle"
  fi
  bundle="$(cd "$bundle" && pwd)"
  bin="$bundle/bin"
  libdir="$bundle/lib"
  datadir="$bundle/data"
  cp "$bundle/commit.txt" "$logs/commit.txt" 2>/dev/null
  cp "$bundle/MANIFEST" "$logs/bundle-manifest.txt" 2>/dev/null
  echo "bundle: $(cat "$bundle/commit.txt" 2>/dev/null)"
else
  build="$root/build-gpu"
  cc="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')"
  echo "source build, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), sm_${cc:-90}" \
    >"$logs/commit.txt"
  stage build 900 bash -c "cmake -S . -B '$build' -DCMAKE_BUILD_TYPE=Release -DLNN_ENABLE_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES=${cc:-90} -DLNN_BUILD_TESTS=ON -DLNN_BUILD_BENCH=ON &&
    cmake --build '$build' -j${JOBS:-$(nproc)} --target lnn_cuda_tests lnn_capi_tests lnn_bench lnn_cli" ||
    fail_stop 3 "the build failed (logs/build.log)"
  bin="$build/gpu-check-bin"
  mkdir -p "$bin"
  ln -sf "$build/tests/lnn_cuda_tests" "$build/tests/lnn_capi_tests" "$build/bench/lnn_bench" \
    "$build/lnn" "$bin/"
  libdir=""
  datadir="$root/tests/data"
fi

# --- libraries: every binary's needs met, or the missing one named --------
missing_libs() {  # the sonames ldd cannot find for the bundle's files
  local f
  for f in "$bin"/* ${libdir:+"$libdir"/*}; do
    [[ -f "$f" ]] || continue
    ldd "$f" 2>/dev/null | awk -v f="$(basename "$f")" '/not found/ {print $1, f}'
  done | sort -u
}
search_dirs() {  # where this machine keeps CUDA libraries, best first
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib; do
    [[ -d "$d" ]] && echo "$d"
  done
  command -v python3 >/dev/null &&
    python3 - <<'PY' 2>/dev/null
import glob, os
try:
    import nvidia
    for base in nvidia.__path__:
        for d in sorted(glob.glob(os.path.join(base, "*", "lib"))):
            print(d)
except Exception:
    pass
PY
}
{
  echo "# each library the bundle lacks, and where it was found (linked into its lib/)"
  if [[ -n "$libdir" ]]; then
    for pass in 1 2 3; do
      todo="$(missing_libs | awk '{print $1}' | sort -u)"
      [[ -z "$todo" ]] && break
      dirs="$(search_dirs)"
      for lib in $todo; do
        found=""
        for d in $dirs; do
          [[ -e "$d/$lib" ]] && { found="$d/$lib"; break; }
        done
        [[ -z "$found" ]] && found="$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l {print $NF; exit}')"
        if [[ -n "$found" ]]; then
          ln -sf "$found" "$libdir/$lib"
          echo "$lib -> $found"
        fi
      done
    done
  fi
  # Where cuBLAS and the CUDA runtime resolved in the end (bundle, link, or
  # the machine's own loader cache).
  ldd "$bin/lnn" 2>/dev/null | awk '/(libcublas|libcudart)[^ ]* => \// {print "resolved: " $1 " => " $3}'
  echo "# ldd of every binary"
  for f in "$bin"/*; do echo "## $(basename "$f")"; ldd "$f" 2>&1; done
} >"$logs/libraries.log" 2>&1
still="$(missing_libs)"
if [[ -n "$still" ]]; then
  record libraries failed 3 0 0 "missing: $(echo "$still" | awk '{print $1}' | sort -u | tr '\n' ' ')"
  echo "$still" | while read -r lib who; do
    echo "gpu-check: $who needs $lib, which is neither in the bundle nor on this machine" \
         "(looked in the bundle's lib/, /usr/local/cuda*/lib64, Python's nvidia packages" \
         "and ldconfig's cache)" >&2
  done
  fail_stop 3 "the binaries cannot load (logs/libraries.log)"
fi
record libraries ok 0 0 0 "$(grep -c -- ' -> ' "$logs/libraries.log") found on this machine"
grep -- ' -> ' "$logs/libraries.log" | sed 's/^/   /'

# --- every binary starts --------------------------------------------------
stage loads 60 bash -c "set -e; '$bin/lnn' info --json >'$logs/lnn-info.json';
  '$bin/lnn' info; '$bin/lnn_cuda_tests' --gtest_list_tests; '$bin/lnn_capi_tests' --gtest_list_tests;
  '$bin/lnn_bench' --benchmark_list_tests" ||
  fail_stop 3 "a binary does not start (logs/loads.log): $(grep -v '^ ' "$logs/loads.log" | tail -3)"

# --- the GPU ---------------------------------------------------------------
have_gpu=1
if ! stage gpu 30 bash -c "nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total \
      --format=csv,noheader >'$logs/gpu.txt' && nvidia-smi"; then
  have_gpu=0
  if [[ "${LNN_CHECK_WITHOUT_GPU:-0}" == 1 ]]; then
    echo "   no GPU: going on (LNN_CHECK_WITHOUT_GPU=1; the CUDA tests skip)"
  else
    fail_stop 2 "no usable NVIDIA GPU (nvidia-smi failed: $(tail -1 "$logs/gpu.log"))"
  fi
else
  sed 's/^/   /' "$logs/gpu.txt"
  # nvidia-smi sees the GPU; lnn must too. The CUDA runtime loads the driver's
  # libcuda.so.1 by name: where this machine's loader does not know it, it is
  # linked into the bundle's lib/ (libcudart's RUNPATH) and lnn asked again.
  cuda_usable() {
    "$bin/lnn" info --json >"$logs/lnn-info.json" 2>>"$logs/cuda.log" &&
      python3 -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1]))["backends"]["cuda"]["usable"])' \
        "$logs/lnn-info.json" 2>>"$logs/cuda.log"
  }
  if ! cuda_usable && [[ -n "$libdir" ]]; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 \
             /usr/local/cuda/compat; do
      if [[ -e "$d/libcuda.so.1" ]]; then
        ln -sf "$d/libcuda.so.1" "$libdir/libcuda.so.1"
        echo "libcuda.so.1 -> $d/libcuda.so.1" | tee -a "$logs/libraries.log"
        break
      fi
    done
  fi
  if cuda_usable; then
    record cuda ok 0 0 0 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backends"]["cuda"]["versions"])' "$logs/lnn-info.json")"
  else
    record cuda failed 2 0 0 "lnn does not see the GPU"
    fail_stop 2 "nvidia-smi sees a GPU but lnn does not: $(grep -o '"reason": "[^"]*"' "$logs/lnn-info.json" | tail -1) (logs/cuda.log, logs/lnn-info.json)"
  fi
fi

# --- benchmarks: one process each, so a killed stage keeps what finished ---
bench_each() {  # stage-name regex [exclude]: every listed benchmark matching regex, not exclude
  local name="$1" regex="$2" exclude="${3:-^$}" dir="$logs/$1" b i=0
  mkdir -p "$dir"
  "$bin/lnn_bench" --benchmark_list_tests --benchmark_filter="$regex" 2>&1 |
    grep -v -E "$exclude" >"$dir/list.txt"
  while read -r b; do
    i=$((i + 1))
    echo "-- $b"
    # The list gives full names: '^…$' runs exactly that one.
    "$bin/lnn_bench" --benchmark_filter="^$b\$" ${LNN_BENCH_MIN_TIME:+--benchmark_min_time=$LNN_BENCH_MIN_TIME} \
      --benchmark_out="$dir/$(printf %02d $i).json" --benchmark_out_format=json 2>&1 ||
      echo "(exit $?)"
  done <"$dir/list.txt"
}
export -f bench_each
export bin logs LNN_BENCH_MIN_TIME
dev="${LNN_BENCH_DEVICE:-1}"  # 0: the same stages over the CPU benchmarks (rehearsals)
reference="^BM_Accelerations/width:600/batch:65536/n:2/device:$dev|^BM_(LossGradient|TrainingStep|TrainingStepFresh)/width:600/batch:(512|65536)/n:2/device:$dev"
stage bench-reference 150 bash -c "bench_each bench-reference '$reference'" || exit_code=1

# --- tests -----------------------------------------------------------------
gtest() {  # stage-name limit binary filter
  stage "$1" "$2" env LNN_TEST_DATA="$datadir" "$bin/$3" --gtest_filter="$4" \
    --gtest_output="json:$logs/$1.json"
}
failing=""
first_failure() {  # stage binary: the stage's first failed test, or the one it crashed in
  [[ -n "$failing" ]] && return
  failing="$(grep -m1 -E '^\[  FAILED  \] [^ ]+\.[^ ]+' "$logs/$1.log" 2>/dev/null | awk '{sub(/,$/, "", $4); print $4}')"
  if [[ -z "$failing" && "$(tail -1 "$logs/stages.tsv" | cut -f2)" == failed ]]; then
    # No FAILED line but the run failed: it died inside the last test it began.
    failing="$(grep -E '^\[ RUN      \] ' "$logs/$1.log" | tail -1 | awk '{print $4}')"
  fi
  [[ -n "$failing" ]] && failing_bin="$2"
}
gtest tests-float 150 lnn_cuda_tests '-*/1.*' || { exit_code=1; first_failure tests-float lnn_cuda_tests; }
gtest capi 60 lnn_capi_tests 'CApiCuda*:CApiErrors.Cuda*' || { exit_code=1; first_failure capi lnn_capi_tests; }
gtest tests-double 150 lnn_cuda_tests '*/1.*' || { exit_code=1; first_failure tests-double lnn_cuda_tests; }
if [[ -n "$failing" ]]; then
  echo "$failing_bin $failing" >"$logs/first-failure.txt"
  stage first-failure-sync 90 env LNN_CUDA_SYNC=1 LNN_TEST_DATA="$datadir" "$bin/$failing_bin" \
    --gtest_filter="$failing"
  sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)"
  if [[ -n "$sanitizer" ]]; then
    stage first-failure-memcheck 150 env LNN_TEST_DATA="$datadir" "$sanitizer" --tool memcheck \
      --error-exitcode 99 "$bin/$failing_bin" --gtest_filter="$failing"
  else
    record first-failure-memcheck skipped "" 0 0 "no compute-sanitizer on this machine"
  fi
fi

# --- where the time goes: the reference shapes with LNN_PHASE_TIMES=1 --------
stage phases 120 env LNN_PHASE_TIMES=1 bash -c "bench_each phases '$reference'" || exit_code=1

# --- the scaling tables ----------------------------------------------------
stage bench-scaling 200 bash -c "bench_each bench-scaling 'device:$dev' '$reference'" || exit_code=1

# --- time to quality: a 3 x 128 model trained on the GPU until it meets the
# reference targets (issue 17 item 5; the goal is under 60 s of training).
# The kept checkpoints are removed afterwards (the logs keep the CSV and JSON).
if ((have_gpu)) && command -v python3 >/dev/null; then
  stage time-to-quality 200 python3 bench/time_to_quality.py --lnn "$bin/lnn" --device cuda \
    --widths 128 --seeds 0 --steps 60000 --every 5000 --budget-seconds 150 \
    --out "$logs/time-to-quality" || exit_code=1
  rm -f "$logs"/time-to-quality/*.safetensors
else
  record time-to-quality skipped "" 0 0 "no GPU or no python3"
fi

# --- lnn against JAX, where JAX runs on the GPU and time is left ------------
if [[ "${LNN_GPU_COMPARE:-1}" == 0 ]]; then
  record compare-jax skipped "" 0 0 "LNN_GPU_COMPARE=0"
elif ((have_gpu)) && python3 -c 'import jax, sys; sys.exit(jax.default_backend() != "gpu")' \
       >"$logs/jax-probe.log" 2>&1; then
  # The reference width first; a time limit stops it with the cells measured
  # so far written (compare.py reports on SIGTERM).
  stage compare-jax 240 env LNN_COMMIT="$(head -1 "$logs/commit.txt")" python3 bench/reference/compare.py --lnn "$bin/lnn" --device cuda \
    --results "$logs" --budget 10 --configs "${LNN_COMPARE_CONFIGS:-2:600:512,65536;2:128:512,65536;8:128:512}" ||
    exit_code=1
else
  record compare-jax skipped "" 0 0 "no JAX with GPU support here (logs/jax-probe.log)"
fi
exit "$exit_code"
