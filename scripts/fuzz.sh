#!/usr/bin/env bash
# Fuzzes every reader of lnn with libFuzzer under ASan + UBSan (with
# float-cast-overflow): docs/reliability.md, "Fuzzing".
#   scripts/fuzz.sh [SECONDS_PER_TARGET | -runs=N] [HARNESS...]
# Configures and builds build-fuzz (clang), writes the seed corpora from
# valid files (lnn_fuzz_seeds), then runs each harness (default: all) for the
# given time (default 60 s) or number of inputs, one at a time. New inputs
# go to build-fuzz/corpus/<harness>/, crashes to build-fuzz/crashes/.
# Prints each harness's executions; exits non-zero when any harness crashed.
# LNN_FUZZ_SEED fixes libFuzzer's seed (0, the default: a new one each run);
# with -runs=N and a seed a run is the same on every machine.
# LNN_FUZZ_KEEP_GOING=1 runs libFuzzer in fork mode (-fork=1
# -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1): a crash, a timeout
# or an out-of-memory is saved to build-fuzz/crashes/<harness>/ and counted,
# and the campaign goes on to its limit (the exit status still says whether
# anything was found). For long campaigns through libhdf5's own defects
# (docs/reliability.md). LNN_FUZZ_JOBS=N runs N fuzzing processes at once
# in that mode (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-60}
shift || true
all=(model_file checkpoint dataset sweep csv toml capi)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
case "$limit" in
  -runs=*) limit_flag=$limit ;;
  *[!0-9]*|'') echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number or -runs=N" >&2; exit 2 ;;
  *) limit_flag=-max_total_time=$limit ;;
esac
for c in clang clang++; do
  command -v "$c" >/dev/null || { echo "fuzz.sh: $c not found (scripts/setup.sh installs it)" >&2; exit 2; }
done

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLNN_FUZZ=ON \
  -DLNN_ENABLE_CUDA=OFF -DLNN_BUILD_TESTS=OFF -DLNN_BUILD_BENCH=OFF \
  -DLNN_SANITIZE=address,undefined,float-cast-overflow -DLNN_WERROR=OFF >/dev/null
if ! cmake --build build-fuzz -j"$(nproc)" --target lnn_fuzz_seeds $(printf 'fuzz_%s ' "${targets[@]}") \
    >build-fuzz/build.log 2>&1; then
  tail -n 40 build-fuzz/build.log >&2
  echo "fuzz.sh: the build failed (build-fuzz/build.log)" >&2
  exit 2
fi
rm -rf build-fuzz/seeds
build-fuzz/tests/fuzz/lnn_fuzz_seeds . build-fuzz/seeds

# Huge allocations inside libhdf5 (sizes read from a corrupted file) fail as
# they do without ASan (malloc returns NULL, HDF5 reports an error).
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:suppressions=$PWD/tests/fuzz/asan.supp:${ASAN_OPTIONS:-}
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:${LSAN_OPTIONS:-}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}
export OMP_NUM_THREADS=1
# The harnesses write each input to a scratch file (and the sweep harness a
# whole sweep directory, fsync'ed by the atomic writer): on a memory file
# system that costs a fraction of a disk's (sweep: 2.4 times the executions
# per second, docs/reliability.md). LNN_FUZZ_TMPDIR chooses another place.
if [ -n "${LNN_FUZZ_TMPDIR:-}" ]; then
  export TMPDIR=$LNN_FUZZ_TMPDIR
elif [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
mkdir -p build-fuzz/crashes
failed=()
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus" "build-fuzz/crashes/$t"
  log=build-fuzz/fuzz_$t.log
  # Seeds: the committed corpus (with every input that once crashed) and
  # the generated valid files; the first directory collects new inputs.
  # The dataset: libhdf5 (not lnn) mallocs sizes read from the file (12 GB
  # seen, docs/reliability.md): libFuzzer's malloc limit is lifted, and ASan
  # refuses (NULL, as a failing malloc) any single allocation over 2 GB at
  # once instead of mapping it (2.5 s each); the RSS limit still applies.
  extra=()
  asan=$ASAN_OPTIONS
  [ "$t" = dataset ] && extra=(-malloc_limit_mb=1048576) && asan=$ASAN_OPTIONS:max_allocation_size_mb=2048
  # The dataset harness forks the fuzzer per input (the reader's child read):
  # fork and exit cost grows with the memory the process holds, mostly ASan's
  # quarantine of freed blocks (256 MB by default). 1 MB of quarantine and
  # 5-frame allocation stacks run 2.4 times the inputs per second
  # (docs/reliability.md); a read of a freed block is still caught unless
  # over 1 MB was freed after it.
  [ "$t" = dataset ] && asan=$asan:quarantine_size_mb=${LNN_FUZZ_QUARANTINE_MB:-1}:malloc_context_size=5
  # lnn reads a dataset in a child process first (docs/reliability.md): a
  # loop inside libhdf5 is cut there after 10 s, before libFuzzer's 20 s.
  child_limit=${LNN_HDF5_CHILD_LIMIT_S:-10}
  [ "${LNN_FUZZ_KEEP_GOING:-0}" = 1 ] &&
    extra+=(-fork="${LNN_FUZZ_JOBS:-1}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  rc=0
  LNN_HDF5_CHILD_LIMIT_S=$child_limit ASAN_OPTIONS=$asan build-fuzz/tests/fuzz/fuzz_"$t" "$limit_flag" -seed="${LNN_FUZZ_SEED:-0}" -print_final_stats=1 "${extra[@]}" \
    -timeout=20 -rss_limit_mb=4096 -artifact_prefix="build-fuzz/crashes/$t/" \
    "$corpus" "build-fuzz/seeds/$t" $([ -d "tests/fuzz/corpus/$t" ] && echo "tests/fuzz/corpus/$t") \
    >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "${LNN_FUZZ_KEEP_GOING:-0}" = 1 ]; then
    # Fork mode: the parent's last progress line "#N: … oom/timeout/crash: a/b/c …"
    # counts every child's executions and findings.
    last=$(grep -E '^#[0-9]+: ' "$log" | tail -1)
    runs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    found=$(sed -nE 's#.*oom/timeout/crash: ([0-9]+)/([0-9]+)/([0-9]+).*#\1 \2 \3#p' <<<"$last")
    read -r ooms timeouts crashes <<<"${found:-0 0 0}"
    echo "fuzz $t (fork mode): ${runs:-?} executions; out-of-memory $ooms, timeouts $timeouts, crashes $crashes (exit $rc); log $log"
    if ((rc || ooms || timeouts || crashes)); then
      failed+=("$t")
      ls build-fuzz/crashes/"$t"/ | head -20
    fi
    continue
  fi
  if ((rc)); then
    failed+=("$t")
    echo "fuzz $t: CRASH after ${runs:-?} executions (exit $rc); log $log, input in build-fuzz/crashes/$t/"
    grep -m1 -E "ERROR:|runtime error|deadly signal|out-of-memory|timeout" "$log" || true
  else
    echo "fuzz $t: ${runs:-?} executions, no crash"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: crashes in ${failed[*]}" >&2
  exit 1
fi
