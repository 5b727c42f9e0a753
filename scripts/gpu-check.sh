#!/usr/bin/env bash
# The GPU check (issue 5), one command on a machine with an NVIDIA GPU:
#
#   scripts/gpu-check.sh OUTDIR
#
# 1. records the GPU (nvidia-smi) and the commit;
# 2. configures and builds lnn with CUDA (Release, the present GPU's
#    architecture) in build-gpu/ — or, with LNN_GPU_BUNDLE=DIR, uses the
#    binaries of a bundle made by scripts/gpu-bundle.sh (for GPU machines
#    without lnn's build dependencies);
# 3. runs the CUDA tests (every …IsEquivalentToCpu, errors, TF32 accuracy)
#    and the C API's CUDA tests;
# 4. runs the GPU benchmarks (Google Benchmark, names ending in device:1);
# 5. writes OUTDIR/summary.json: GPU name, driver, commit, test counts, and
#    per benchmark the median samples/s and achieved TFLOP/s (MATH.md §3
#    count) with the cuBLAS SGEMM rate of the same run;
# 6. where Python's jax runs on the GPU, the side-by-side comparison with the
#    JAX reference (issue 7; bench/reference/compare.py --device cuda) into
#    OUTDIR/<date>-compare-cuda.md, limited to LNN_COMPARE_SECONDS (240).
#
# Logs: OUTDIR/{gpu.txt,build.log,tests.log,tests.json,capi.log,bench.log,bench.json}.
# Exit status: 0 when every test passed, 1 otherwise, 2 when no GPU is usable.
# Sized for under 8 minutes on 16 cores and one H100 (a fresh build is most
# of it). Environment: JOBS (default nproc), LNN_BENCH_FILTER (default
# device:1), LNN_BENCH_MIN_TIME (seconds per benchmark, default 0.2).
set -uo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu-check.sh OUTDIR" >&2
  exit 64
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
cd "$root"
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start )) s)"; }
jobs="${JOBS:-$(nproc)}"

step "GPU"
if ! nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader \
    >"$out/gpu.txt" 2>&1; then
  cat "$out/gpu.txt"
  echo "gpu-check: no usable NVIDIA GPU (nvidia-smi failed)" >&2
  exit 2
fi
cat "$out/gpu.txt"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain --untracked-files=no 2>/dev/null | head -1)"
[[ -n "$dirty" ]] && commit="$commit+dirty"
echo "$commit" >"$out/commit.txt"

if [[ -n "${LNN_GPU_BUNDLE:-}" ]]; then
  bundle="$LNN_GPU_BUNDLE"
  if [[ -f "$bundle" ]]; then  # the tarball of scripts/gpu-bundle.sh
    tmp="$(mktemp -d)"
    tar -C "$tmp" -xzf "$bundle"
    bundle="$tmp/gpu-bundle"
  fi
  bundle="$(cd "$bundle" && pwd)"
  step "using the prebuilt bundle $bundle"
  bin="$bundle/bin"
  export LD_LIBRARY_PATH="$bundle/lib:${LD_LIBRARY_PATH:-}"
  # cuBLAS from the CUDA toolkit, else from pip's nvidia-cublas wheel.
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    [[ -d "$d" ]] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
  done
  pyl="$(python3 -c 'import nvidia.cublas, nvidia.cuda_runtime, os; print(":".join(os.path.join(os.path.dirname(m.__file__), "lib") for m in (nvidia.cublas, nvidia.cuda_runtime)))' 2>/dev/null || true)"
  [[ -n "$pyl" ]] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$pyl"
  echo "bundle: $(cat "$bundle/commit.txt" 2>/dev/null)" >"$out/build.log"
  ldd "$bin/lnn_cuda_tests" >>"$out/build.log" 2>&1
  if grep -q "not found" "$out/build.log"; then
    grep "not found" "$out/build.log"
    echo "gpu-check: the bundle's binaries miss libraries (above)" >&2
  fi
  datadir="$bundle/data"
else
  build="$root/build-gpu"
  cc="$(head -1 "$out/gpu.txt" | awk -F', ' '{print $3}' | tr -d '.')"
  step "configure and build (CUDA, sm_$cc, $jobs jobs) in $build"
  if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLNN_ENABLE_CUDA=ON \
           -DCMAKE_CUDA_ARCHITECTURES="$cc" -DLNN_BUILD_TESTS=ON -DLNN_BUILD_BENCH=ON &&
         cmake --build "$build" -j"$jobs" --target lnn_cuda_tests lnn_capi_tests lnn_bench lnn_cli; } \
      >"$out/build.log" 2>&1; then
    tail -30 "$out/build.log"
    echo "gpu-check: the build failed (log: $out/build.log)" >&2
    exit 1
  fi
  bin="$build/bin"
  mkdir -p "$bin"
  ln -sf "$build/tests/lnn_cuda_tests" "$build/tests/lnn_capi_tests" "$build/bench/lnn_bench" \
    "$build/lnn" "$bin/"
  datadir="$root/tests/data"
fi

status=0
step "CUDA tests"
LNN_TEST_DATA="$datadir" "$bin/lnn_cuda_tests" --gtest_output="json:$out/tests.json" \
  2>&1 | tee "$out/tests.log" | grep -E "^\[ +(OK|FAILED|SKIPPED|PASSED) |accelerations vs"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
step "C API CUDA tests"
LNN_TEST_DATA="$datadir" "$bin/lnn_capi_tests" --gtest_filter='CApiCuda*:CApiErrors.Cuda*' \
  2>&1 | tee "$out/capi.log" | grep -E "^\[ +(OK|FAILED|SKIPPED|PASSED) "
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1

step "GPU benchmarks"
"$bin/lnn_bench" --benchmark_filter="${LNN_BENCH_FILTER:-device:1}" \
  --benchmark_min_time="${LNN_BENCH_MIN_TIME:-0.2}" \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json >"$out/bench.log" 2>&1 ||
  status=1
grep -E "_median|ERROR" "$out/bench.log" | head -60

step "summary"
python3 - "$out" "$commit" "$status" <<'PY'
import json, os, sys
out, commit, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
gpu = open(os.path.join(out, "gpu.txt")).read().strip().split("\n")[0].split(", ")
summary = {"commit": commit, "gpu": gpu[0], "driver": gpu[1] if len(gpu) > 1 else "",
           "compute_capability": gpu[2] if len(gpu) > 2 else "",
           "memory": gpu[3] if len(gpu) > 3 else "", "tests_passed": status == 0}
try:
    t = json.load(open(os.path.join(out, "tests.json")))
    summary["tests"] = {"total": t.get("tests"), "failures": t.get("failures"),
                        "disabled": t.get("disabled")}
    props = {}
    for suite in t.get("testsuites", []):
        for case in suite.get("testsuite", []):
            for k, v in case.items():
                if k.endswith("_rel_err"):
                    props[k] = float(v)
    summary["tf32_accuracy"] = props
except Exception as e:  # the tests did not run to the end
    summary["tests"] = {"error": str(e)}
benches = []
try:
    b = json.load(open(os.path.join(out, "bench.json")))
    summary["bench_context"] = {k: b["context"].get(k) for k in ("date", "host_name", "lnn_version")}
    for r in b["benchmarks"]:
        if r.get("aggregate_name") != "median":
            continue
        benches.append({
            "name": r["run_name"],
            "label": r.get("label", ""),
            "ms_per_call": r["real_time"],
            "samples_per_s": r.get("samples_per_s"),
            "TFLOP_per_s": r.get("GFLOP_per_s", 0) / 1e3,
            "cublas_sgemm_TFLOP_per_s": r.get("sgemm_GFLOP_per_s", 0) / 1e3,
            "solve_failures": r.get("solve_failures"),
        })
    for r in b["benchmarks"]:
        if r.get("error_occurred"):
            benches.append({"name": r["name"], "error": r.get("error_message")})
except Exception as e:
    summary["bench_error"] = str(e)
summary["benchmarks"] = benches
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
print(json.dumps({k: v for k, v in summary.items() if k != "benchmarks"}, indent=1))
for r in benches:
    if "error" in r:
        print(f"{r['name']}: {r['error']}")
    else:
        print(f"{r['name']}: {r['samples_per_s']:.4g} samples/s, {r['TFLOP_per_s']:.2f} TFLOP/s, "
              f"{r['ms_per_call']:.3f} ms/call")
PY
if [[ "${LNN_GPU_COMPARE:-1}" != 0 ]] &&
   python3 -c 'import jax, sys; sys.exit(jax.default_backend() != "gpu")' 2>/dev/null; then
  step "lnn against JAX on the GPU (at most ${LNN_COMPARE_SECONDS:-240} s)"
  timeout "${LNN_COMPARE_SECONDS:-240}" python3 bench/reference/compare.py --lnn "$bin/lnn" \
    --device cuda --results "$out" --budget 10 >"$out/compare.log" 2>&1 ||
    echo "gpu-check: the JAX comparison did not finish (log: $out/compare.log)"
  grep -E "^\[n=|agreement|Goals|goal" "$out/compare.log" | head -40
else
  echo "(no JAX with GPU support here: the comparison with JAX is skipped)"
fi

step "done (status $status)"
exit "$status"
