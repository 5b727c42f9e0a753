#!/usr/bin/env bash
# Throughput when lnn shares its cores with other work (issue 16): `lnn
# throughput` alone and beside one busy process (a shell loop), under the
# default threading and under the OpenMP settings it could use instead.
# Prints one table row per case: median, min and max samples/s over
# REPEAT timed calls (after one warm-up), and the ratio to the unloaded
# default. Public tools only; results go under bench/results/.
#
# Usage: bash bench/loaded.sh path/to/lnn [REPEAT]
#   LNN_LOADED_CASES  which cases (default "default libgomp passive one-thread";
#                     also "active", "spin10k")
#   LNN_LOADED_SHAPES which shapes (default "step128 acc600")
set -euo pipefail

LNN=${1:?usage: loaded.sh path/to/lnn [REPEAT]}
REPEAT=${2:-30}
CASES=${LNN_LOADED_CASES:-"default libgomp passive one-thread"}
SHAPES=${LNN_LOADED_SHAPES:-"step128 acc600"}

shape_args() {
  case $1 in
    # The main job's training step: 3 × 128, batch 512, exact L1 gradient.
    step128) echo "--n 2 --hidden 128,128,128 --embedding angle --batch 512 --what grad" ;;
    # Accelerations of the reference width, 3 × 600, batch 4096.
    acc600) echo "--n 2 --hidden 600,600,600 --embedding angle --batch 4096 --what acc" ;;
    *) echo "unknown shape $1" >&2; exit 2 ;;
  esac
}

# Environment of a case, as `env` arguments. "default" is what a user gets
# with nothing set: lnn's own default (GOMP_SPINCOUNT=1000, include/lnn/info.hpp
# prepare_process); "libgomp" the OpenMP runtime's own (300,000 spins).
case_env() {
  case $1 in
    default) echo "-u OMP_WAIT_POLICY -u OMP_NUM_THREADS -u GOMP_SPINCOUNT" ;;
    libgomp) echo "-u OMP_NUM_THREADS -u OMP_WAIT_POLICY GOMP_SPINCOUNT=300000" ;;
    passive) echo "-u OMP_NUM_THREADS OMP_WAIT_POLICY=passive" ;;
    active) echo "-u OMP_NUM_THREADS OMP_WAIT_POLICY=active" ;;
    # libgomp: spin about 10,000 rounds at a barrier before sleeping (its own
    # default without OMP_WAIT_POLICY is 300,000).
    spin10k) echo "-u OMP_NUM_THREADS -u OMP_WAIT_POLICY GOMP_SPINCOUNT=10000" ;;
    one-thread) echo "-u OMP_WAIT_POLICY OMP_NUM_THREADS=1" ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}

busy=()
start_load() {
  sh -c 'while :; do :; done' &
  busy+=($!)
}
stop_load() {
  for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${busy[@]}"; do wait "$p" 2>/dev/null || true; done
  busy=()
}
trap stop_load EXIT

# "median min max" samples/s of one run.
measure() {
  # shellcheck disable=SC2046
  env $(case_env "$2") "$LNN" throughput $(shape_args "$1") --repeat "$REPEAT" 2>&1 |
    sed -n 's/^samples\/s: median \([^,]*\), min \([^,]*\), max \([^ ]*\) .*/\1 \2 \3/p'
}

echo "# lnn throughput beside other work: $(date -u +%F), $(nproc) cores, $("$LNN" --version 2>/dev/null | head -1)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# samples/s over $REPEAT timed calls: median [min, max]; ratio = median / the unloaded default's median"
printf '%-8s %-7s %-11s %12s %12s %12s %7s\n' shape load case median min max ratio
for shape in $SHAPES; do
  base=""
  for load in none busy1; do
    [[ $load == busy1 ]] && start_load
    for c in $CASES; do
      read -r med lo hi < <(measure "$shape" "$c")
      [[ -z $base && $c == default ]] && base=$med
      ratio=$(awk -v a="$med" -v b="${base:-$med}" 'BEGIN { printf "%.2f", a / b }')
      printf '%-8s %-7s %-11s %12.4g %12.4g %12.4g %7s\n' "$shape" "$load" "$c" "$med" "$lo" "$hi" "$ratio"
    done
    stop_load
  done
done
