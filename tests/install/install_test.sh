#!/usr/bin/env bash
# Installs a built lnn into a temporary prefix, then configures, builds and
# runs examples/cpp against it with find_package(lnn CONFIG REQUIRED): the
# package must be usable from outside the build tree.
#
#   install_test.sh <source dir> <build dir> [config]
#
# Environment: CMAKE_GENERATOR, CC, CXX are honoured by the consumer's
# configure (ctest passes the build's own); KEEP_TMP=1 keeps the temp dir.
set -euo pipefail

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

[[ $# -ge 2 && $# -le 3 ]] || fail "usage: $0 <source dir> <build dir> [config]"
src=$(cd "$1" && pwd) || fail "no source directory '$1'"
build=$(cd "$2" && pwd) || fail "no build directory '$2'"
config=${3:-}
[[ -f "$src/examples/cpp/CMakeLists.txt" ]] || fail "$src/examples/cpp/CMakeLists.txt not found"
[[ -f "$build/CMakeCache.txt" ]] || fail "$build is not a configured CMake build directory"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lnn-install-test.XXXXXX")
cleanup() {
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "install_test: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
prefix=$tmp/prefix
consumer=$tmp/consumer
config_args=()
[[ -n "$config" ]] && config_args=(--config "$config")

# Run a step quietly; on failure show its log and stop.
step() {
  local name=$1; shift
  local log=$tmp/$name.log
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "$name failed: $*"
  fi
}

echo "install_test: installing $build into $prefix"
step install cmake --install "$build" --prefix "$prefix" "${config_args[@]}"

# What an installed package must hold.
libdir=
for d in lib lib64 lib/x86_64-linux-gnu; do
  [[ -f "$prefix/$d/cmake/lnn/lnnConfig.cmake" ]] && libdir=$d && break
done
[[ -n "$libdir" ]] || fail "no lnnConfig.cmake under $prefix/lib*/cmake/lnn"
for f in "$libdir/cmake/lnn/lnnConfigVersion.cmake" "$libdir/cmake/lnn/lnnTargets.cmake" \
         "$libdir/liblnn.a" include/lnn/engine.hpp include/lnn/model.hpp bin/lnn; do
  [[ -e "$prefix/$f" ]] || fail "installed package lacks $f"
done
# The installed program must run from the prefix (RPATH to its BLAS etc.).
step program_version "$prefix/bin/lnn" --version

echo "install_test: building examples/cpp against the installed package"
step configure cmake -S "$src/examples/cpp" -B "$consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE="${config:-Release}" \
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
# The package must come from the prefix, never from the build tree.
grep -qF "in $prefix/" "$tmp/configure.log" ||
  { cat "$tmp/configure.log" >&2; fail "find_package(lnn) did not use $prefix"; }
step build cmake --build "$consumer" "${config_args[@]}"

exe=$(find "$consumer" -type f -name lnn_example -perm -u+x | head -n 1)
[[ -n "$exe" ]] || fail "the consumer build produced no lnn_example"
if ! OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$exe"; then
  fail "lnn_example (built against the installed package) failed"
fi
echo "install_test: PASS (find_package(lnn) from $prefix)"
