#!/usr/bin/env bash
# Two builds of lnn side by side: `lnn throughput` of each on the same shapes,
# alternating old and new in every round so that drift in the machine's
# speed falls on both (docs/benchmarks.md).
#
#   bench/ab.sh OLD_LNN NEW_LNN [ROUNDS] > bench/results/<date>-cpu-<new>-vs-<old>.txt
#
# Float, n = 2, angle embedding, LU, chunk 1024, 3 hidden layers; each
# figure is lnn throughput's median of 5 timed calls after a warm-up.
# Prints one line per (round, build, shape): round build width batch what samples/s.
# Run it on an otherwise idle machine.
set -euo pipefail
old=${1:?OLD_LNN}
new=${2:?NEW_LNN}
rounds=${3:-3}
shapes=("600 512 acc" "600 512 grad" "128 512 grad" "128 65536 acc" "128 65536 grad" "600 65536 acc")
rate() {  # lnn width batch what
  "$1" throughput --n 2 --embedding angle --solver lu --hidden "$2,$2,$2" --batch "$3" \
    --what "$4" --repeat 5 2>&1 | sed -n 's/^samples\/s: median \([^,]*\),.*/\1/p'
}
echo "# lnn throughput, samples/s (median of 5 calls); float, n 2, angle, LU, chunk 1024"
echo "# old = $old ($("$old" --version 2>&1 | head -1)), new = $new ($("$new" --version 2>&1 | head -1))"
echo "# $(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# round build width batch what samples/s"
for r in $(seq 1 "$rounds"); do
  for s in "${shapes[@]}"; do
    read -r w b what <<<"$s"
    echo "$r old w$w b$b $what $(rate "$old" "$w" "$b" "$what")"
    echo "$r new w$w b$b $what $(rate "$new" "$w" "$b" "$what")"
  done
done
