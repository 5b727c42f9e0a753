#!/usr/bin/env bash
# Installs a built lnn into a temporary prefix, then configures, builds and
# runs the examples against it, as a user outside the build tree would:
# examples/cpp (liblnn.so, and liblnn.a), examples/c and examples/fortran with
# find_package(lnn 0.1), examples/c again with its Makefile and pkg-config.
# Each runs on one model file (made by the installed `lnn init`) and its
# numbers must agree with the in-tree reference (examples/cpp/main.cpp built
# against the build tree, the C++ API) to 1e-12 relative.
#
#   install_test.sh <source dir> <build dir> <reference program> [config]
#
# Environment: CMAKE_GENERATOR, CC, CXX are honoured by the consumer's
# configure (ctest passes the build's own); KEEP_TMP=1 keeps the temp dir.
set -euo pipefail

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

[[ $# -ge 3 && $# -le 4 ]] || fail "usage: $0 <source dir> <build dir> <reference program> [config]"
src=$(cd "$1" && pwd) || fail "no source directory '$1'"
build=$(cd "$2" && pwd) || fail "no build directory '$2'"
reference=$3
config=${4:-}
[[ -x "$reference" ]] || fail "reference program '$reference' not found"
for e in cpp c fortran; do
  [[ -f "$src/examples/$e/CMakeLists.txt" ]] || fail "$src/examples/$e/CMakeLists.txt not found"
done
command -v gfortran >/dev/null || fail "gfortran not found (scripts/setup.sh installs it)"
command -v pkg-config >/dev/null || fail "pkg-config not found (scripts/setup.sh installs it)"
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
         "$libdir/liblnn.a" "$libdir/liblnn.so" "$libdir/pkgconfig/lnn.pc" \
         include/lnn/lnn.h include/lnn/engine.hpp include/lnn/model.hpp bin/lnn; do
  [[ -e "$prefix/$f" ]] || fail "installed package lacks $f"
done
# The installed program must run from the prefix (RPATH to its BLAS etc.).
step program_version "$prefix/bin/lnn" --version

# The model every example evaluates, and the reference numbers.
model=$tmp/model.safetensors
step init "$prefix/bin/lnn" init -o "$model" --n 2 --hidden 32,32 --init xavier --seed 1 \
  --precision f64 --embedding angle,plain
step reference "$reference" "$model"
cp "$tmp/reference.log" "$tmp/reference.out"
grep -q '^final ' "$tmp/reference.out" || fail "the reference printed no rollout"
if grep -q '^status [0-9]* [^0]' "$tmp/reference.out"; then
  fail "a reference trajectory failed: $(grep '^status' "$tmp/reference.out" | tr '\n' ' ')"
fi

# configure_and_build <name> <example> [cmake args…]: configure, build, and check that
# find_package(lnn) came from the prefix, never from the build tree.
configure_and_build() {
  local name=$1 example=$2; shift 2
  step "configure_$name" cmake -S "$src/examples/$example" -B "$tmp/$name" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE="${config:-Release}" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON "$@"
  grep -qF "in $prefix/" "$tmp/configure_$name.log" ||
    { cat "$tmp/configure_$name.log" >&2; fail "$name: find_package(lnn) did not use $prefix"; }
  step "build_$name" cmake --build "$tmp/$name" "${config_args[@]}"
}
# run_and_compare <id> <label> <program>: run on the model, compare with the reference.
run_and_compare() {
  local id=$1 label=$2 exe=$3
  [[ -x "$exe" ]] || fail "$label: '$exe' was not built"
  step "run_$id" "$exe" "$model"
  bash "$src/tests/install/compare_outputs.sh" "$tmp/reference.out" "$tmp/run_$id.log" "$label" ||
    fail "$label: results differ from the C++ API's"
}
find_exe() { find "$1" -type f -name "$2" -perm -u+x | head -n 1; }

echo "install_test: building the examples against the installed package"
configure_and_build cpp cpp
run_and_compare cpp "C++ (find_package, liblnn.so)" "$(find_exe "$tmp/cpp" lnn_example)"
configure_and_build cpp_static cpp -DLNN_EXAMPLE_STATIC=ON
run_and_compare cpp_static "C++ (find_package, liblnn.a)" "$(find_exe "$tmp/cpp_static" lnn_example)"
configure_and_build c c
run_and_compare c "C (find_package)" "$(find_exe "$tmp/c" lnn_c_example)"
configure_and_build fortran fortran
run_and_compare fortran "Fortran (find_package)" "$(find_exe "$tmp/fortran" lnn_fortran_example)"

# The C example with its Makefile, from a copy (the source tree stays clean).
cp -r "$src/examples/c" "$tmp/c_make"
step make_c env PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" make -C "$tmp/c_make"
run_and_compare c_make "C (Makefile, pkg-config)" "$tmp/c_make/lnn_c_example"

# The version file: 0.1 is accepted (above), another minor version is not.
mkdir -p "$tmp/wrong_version"
cat >"$tmp/wrong_version/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.24)
project(wrong_version LANGUAGES C)
find_package(lnn 0.2 CONFIG REQUIRED)
CMAKE
if cmake -S "$tmp/wrong_version" -B "$tmp/wrong_version/build" -DCMAKE_PREFIX_PATH="$prefix" \
     -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON >"$tmp/wrong_version.log" 2>&1; then
  fail "find_package(lnn 0.2) accepted the installed $(grep -o 'lnn [0-9.]*' "$tmp/reference.out" | head -1)"
fi
grep -q "lnnConfig.cmake, version: 0.1" "$tmp/wrong_version.log" ||
  { cat "$tmp/wrong_version.log" >&2; fail "find_package(lnn 0.2) failed for another reason"; }

echo "install_test: PASS (find_package(lnn) and pkg-config from $prefix)"
