#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build (CUDA backend
# compiled when nvcc is present; CUDA tests skip without a GPU), then the CPU
# tests again under AddressSanitizer and UBSan, then the Python package
# (pip install . into build-py/venv, its pytest suite), then a short pass of
# every fuzz harness (libFuzzer, clang; docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== Release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLNN_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== CPU tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLNN_ENABLE_CUDA=OFF \
  -DLNN_BUILD_BENCH=OFF -DLNN_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

# The Python package (docs/python.md): a venv in build-py/venv, the package
# built by `pip install .` into the persistent build-py/build (incremental on
# reruns; the CUDA backend off, -Werror on), then its pytest suite, which
# checks the bindings against the lnn program just built. Tested with
# nanobind 2.0.0 + scikit-build-core 0.10.0 and nanobind 3.1.0 +
# scikit-build-core 1.1.2; the next major versions are kept out.
echo "== Python package: pip install . and pytest"
py_start=$SECONDS
[ -x build-py/venv/bin/python ] || python3 -m venv build-py/venv
py=build-py/venv/bin/python
"$py" -m pip install -q --disable-pip-version-check numpy pytest "nanobind>=2.0,<4" "scikit-build-core>=0.10,<2"
# JAX and PyTorch, for the tests of lnn.jax and lnn.torch, and matplotlib for
# the example's test (PyPI's PyTorch brings its CUDA libraries: about 3 GB
# the first time, docs/python.md).
"$py" -m pip install -q --disable-pip-version-check jax torch matplotlib
CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$py" -m pip install -q --disable-pip-version-check \
  --no-build-isolation -C build-dir=build-py/build -C cmake.define.LNN_WERROR=ON .
LNN_CLI=build/lnn LNN_REQUIRE_CLI=1 "$py" -m pytest -q -p no:cacheprovider tests/python
echo "python package: $((SECONDS - py_start)) s"

# A fixed seed and a fixed number of inputs: the same inputs on every run and
# machine, so CI does not turn red by chance; longer, random campaigns are
# scripts/fuzz.sh's own use (docs/reliability.md).
echo "== Fuzz pass: every reader, 2,000 inputs each (seed 1) under libFuzzer + ASan + UBSan"
LNN_FUZZ_SEED=1 bash scripts/fuzz.sh -runs=2000
