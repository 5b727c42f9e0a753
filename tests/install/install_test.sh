#!/usr/bin/env bash
# Installs a built lnn into a temporary prefix, then configures, builds and
# runs the examples against it, as a user outside the build tree would:
# examples/cpp, examples/c and examples/fortran with find_package(lnn 0.1),
# each with liblnn.so and with liblnn.a (lnn::lnn_static from C++, C and
# Fortran projects), and examples/c with pkg-config: its Makefile, the
# command lines of docs/c-api.md for lnn.pc (liblnn.so and its run path) and
# lnn-static.pc (liblnn.a). Each runs on one model file (made by the
# installed `lnn init`) and its numbers must agree with the in-tree reference
# (examples/cpp/main.cpp built against the build tree, the C++ API) to 1e-12
# relative. tests/install/fortran_bindings checks the installed lnn.f90's
# bindings of the smaller C functions, from a Fortran-only project linking
# liblnn.a and with gfortran and pkg-config. The pkg-config files must name
# only libraries a user can link; the installed plot_loss.py must run.
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
for e in examples/cpp examples/c examples/fortran tests/install/fortran_bindings; do
  [[ -f "$src/$e/CMakeLists.txt" ]] || fail "$src/$e/CMakeLists.txt not found"
done
command -v gfortran >/dev/null || fail "gfortran not found (scripts/setup.sh installs it)"
command -v pkg-config >/dev/null || fail "pkg-config not found (scripts/setup.sh installs it)"
command -v readelf >/dev/null || fail "readelf not found (binutils)"
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
         "$libdir/pkgconfig/lnn-static.pc" include/lnn/lnn.h include/lnn/engine.hpp \
         include/lnn/model.hpp include/lnn/lnn.f90 bin/lnn share/lnn/plot_sweep.py \
         share/lnn/plot_loss.py share/lnn/plot_common.py; do
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

# configure_and_build <name> <project> [cmake args…]: configure and build the
# project at $src/<project>, and check that find_package(lnn) came from the
# prefix, never from the build tree.
configure_and_build() {
  local name=$1 project=$2; shift 2
  step "configure_$name" cmake -S "$src/$project" -B "$tmp/$name" \
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

echo "install_test: liblnn.so exports the public interface only"
# Hidden by default (include/lnn/visibility.hpp): no symbol of the library's
# internal namespaces may be exported; the C API and lnn:: classes must be.
so=$(find "$prefix/$libdir" -maxdepth 1 -name 'liblnn.so' | head -n 1)
[[ -n "$so" ]] || fail "no liblnn.so under $prefix/$libdir"
exported=$(nm -D --defined-only "$so" | c++filt)
leaked=$(grep -E 'lnn::(cli|io|cuda|cpu|core|training|systems|capi)::' <<<"$exported" | head -n 5 || true)
[[ -z "$leaked" ]] || fail "liblnn.so exports internal symbols, e.g.:"$'\n'"$leaked"
for want in lnn_model_load 'lnn::AnyEngine::AnyEngine' 'lnn::Engine<double>::accelerations'; do
  grep -qF "$want" <<<"$exported" || fail "liblnn.so does not export $want"
done

echo "install_test: building the examples against the installed package"
configure_and_build cpp examples/cpp
run_and_compare cpp "C++ (find_package, liblnn.so)" "$(find_exe "$tmp/cpp" lnn_example)"
configure_and_build cpp_static examples/cpp -DLNN_EXAMPLE_STATIC=ON
run_and_compare cpp_static "C++ (find_package, liblnn.a)" "$(find_exe "$tmp/cpp_static" lnn_example)"
configure_and_build c examples/c
run_and_compare c "C (find_package)" "$(find_exe "$tmp/c" lnn_c_example)"
# A C-only project linking liblnn.a: lnnConfig.cmake finds OpenMP for C and
# adds the C++ runtime; no C++ compiler is enabled there.
configure_and_build c_static examples/c -DLNN_EXAMPLE_STATIC=ON
run_and_compare c_static "C (find_package, liblnn.a)" "$(find_exe "$tmp/c_static" lnn_c_example)"
configure_and_build fortran examples/fortran
run_and_compare fortran "Fortran (find_package)" "$(find_exe "$tmp/fortran" lnn_fortran_example)"
configure_and_build fortran_static examples/fortran -DLNN_EXAMPLE_STATIC=ON
run_and_compare fortran_static "Fortran (find_package, liblnn.a)" \
  "$(find_exe "$tmp/fortran_static" lnn_fortran_example)"
# The statically linked programs must not need liblnn.so.
for name in cpp_static c_static fortran_static; do
  exe=$(find "$tmp/$name" -type f -name 'lnn_*example' -perm -u+x | head -n 1)
  if readelf -d "$exe" | grep -q 'NEEDED.*liblnn\.so'; then
    fail "$name: linked liblnn.so, not liblnn.a"
  fi
done

echo "install_test: the Fortran bindings (installed lnn.f90, liblnn.a)"
configure_and_build fortran_bindings tests/install/fortran_bindings
exe=$(find_exe "$tmp/fortran_bindings" lnn_fortran_bindings)
[[ -x "$exe" ]] || fail "lnn_fortran_bindings was not built"
if ! "$exe" "$model" >"$tmp/fortran_bindings.log" 2>&1; then
  cat "$tmp/fortran_bindings.log" >&2
  fail "the Fortran bindings disagree with the C API"
fi
grep -q '^all bindings agree' "$tmp/fortran_bindings.log" || fail "lnn_fortran_bindings did not finish"

echo "install_test: pkg-config"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
# Only what a user can link: liblnn.so by -l; for liblnn.a, liblnn.a itself
# by path and existing shared libraries or -l names, never another static
# archive (the build machine's libpthread.a, libdl.a) nor a library of a
# dependency (libhdf5's libcurl, libcrypto, libsz).
read -ra pc_libs <<<"$(pkg-config --libs lnn)"
[[ ${#pc_libs[@]} == 2 && ${pc_libs[0]} == -L* && ${pc_libs[1]} == -llnn &&
   "$(cd "${pc_libs[0]#-L}" && pwd -P)" == "$(cd "$prefix/$libdir" && pwd -P)" ]] ||
  fail "pkg-config --libs lnn is '${pc_libs[*]}', not -L$prefix/$libdir -llnn"
for query in "--static --libs lnn" "--libs lnn-static"; do
  # shellcheck disable=SC2086 # the query is split on purpose
  for word in $(pkg-config $query); do
    case $word in
      */liblnn.a) [[ -f "$word" ]] || fail "pkg-config $query: no $word" ;;
      *.a) fail "pkg-config $query names a static archive: $word" ;;
      /*) [[ -f "$word" ]] || fail "pkg-config $query: no $word" ;;
    esac
    case $word in
      *curl* | *crypto* | *libsz* | *libz.* | *pthread* | *libdl*)
        fail "pkg-config $query names a dependency of a dependency: $word" ;;
    esac
  done
done
pc_cc=${CC:-cc}
c_flags=(-std=c99 -Wall -Wextra -pedantic -Werror -O2)
# The command line of docs/c-api.md: liblnn.so, found at run time through the run path.
# shellcheck disable=SC2046 # pkg-config's words are split on purpose
step cc_pkg_config "$pc_cc" "${c_flags[@]}" $(pkg-config --cflags lnn) -o "$tmp/c_pkg_config" \
  "$src/examples/c/main.c" $(pkg-config --libs lnn) -Wl,-rpath,"$(pkg-config --variable=libdir lnn)"
readelf -d "$tmp/c_pkg_config" | grep -q 'NEEDED.*liblnn\.so' ||
  fail "c_pkg_config: liblnn.so not linked"
run_and_compare c_pkg_config "C (pkg-config lnn)" "$tmp/c_pkg_config"
# liblnn.a through lnn-static.pc, with the C compiler; no run path to lnn's libdir.
# shellcheck disable=SC2046
step cc_pkg_config_static "$pc_cc" "${c_flags[@]}" $(pkg-config --cflags lnn-static) \
  -o "$tmp/c_pkg_config_static" "$src/examples/c/main.c" $(pkg-config --libs lnn-static)
if readelf -d "$tmp/c_pkg_config_static" | grep -q 'NEEDED.*liblnn\.so'; then
  fail "c_pkg_config_static: linked liblnn.so, not liblnn.a"
fi
run_and_compare c_pkg_config_static "C (pkg-config lnn-static)" "$tmp/c_pkg_config_static"

# Fortran with pkg-config (docs/c-api.md): the installed module and liblnn.so.
mkdir -p "$tmp/f_pkg_config"
# shellcheck disable=SC2046
step gfortran_pkg_config gfortran -std=f2018 -J "$tmp/f_pkg_config" -o "$tmp/f_pkg_config/bindings" \
  "$(pkg-config --variable=includedir lnn)/lnn/lnn.f90" "$src/tests/install/fortran_bindings/main.f90" \
  $(pkg-config --libs lnn) -Wl,-rpath,"$(pkg-config --variable=libdir lnn)"
step run_f_pkg_config "$tmp/f_pkg_config/bindings" "$model"
grep -q '^all bindings agree' "$tmp/run_f_pkg_config.log" || fail "Fortran (pkg-config lnn) did not finish"

# The C example with its Makefile, from a copy (the source tree stays clean).
cp -r "$src/examples/c" "$tmp/c_make"
step make_c make -C "$tmp/c_make"
run_and_compare c_make "C (Makefile, pkg-config)" "$tmp/c_make/lnn_c_example"

# The installed plotting script, where a Python has matplotlib: it imports
# its module from share/lnn and finds the catalogue through bin/lnn.
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import matplotlib' >/dev/null 2>&1; then
    { echo "step,lr,loss,penalty,grad_norm,val_l1,skipped,failed_solves,samples_per_s,seconds"
      echo "1,0.001,2,0,1,,0,0,1,0"
      echo "2,0.001,1,0,1,1.5,0,0,1,0"; } >"$tmp/train.csv"
    step plot_loss env -u LNN_PROGRAM "$py" "$prefix/share/lnn/plot_loss.py" "$tmp/loss.png" \
      "$tmp/train.csv" --system pendulum
    [[ -s "$tmp/loss.png" ]] || fail "the installed plot_loss.py wrote no PNG"
    break
  fi
done

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
