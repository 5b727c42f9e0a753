#!/usr/bin/env bash
# Hostile input and faults at the command line (issue 19), ctest: cli.hostile.
# Each check failed before the fix it guards:
#   - numbers: decimal only ("010" is ten, "0x10" refused), no wrap of "-1"
#     into an unsigned option, no saturation, sizes from t_end x rate checked;
#   - an output that is the same file as an input (by inode) is refused;
#   - a log row is never lost to a kill between it and the checkpoint, and
#     temporaries left by killed writers are cleaned up.
# Usage: bash tests/cli/hostile_test.sh path/to/lnn
set -euo pipefail

LNN=${1:?usage: hostile_test.sh path/to/lnn}
LNN=$(cd "$(dirname "$LNN")" && pwd)/$(basename "$LNN")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
NAME=hostile_test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_usage NEEDLE CMD...: CMD fails with a message on stderr containing NEEDLE.
expect_usage() {
  local needle=$1; shift
  local rc=0
  "$@" >"$T/usage.out" 2>"$T/usage.err" || rc=$?
  [[ $rc -ne 0 && $rc -lt 128 ]] || fail "want a clean failure (exit $rc): $*"
  grep -qF -- "$needle" "$T/usage.err" || fail "message lacks '$needle': $* => $(cat "$T/usage.err")"
}

step "numbers: decimal only, in range, named"
expect_usage "--batch: '-1' is negative" "$LNN" throughput --hidden 8 --batch -1 --repeat 1
expect_usage "--batch: '0x10' is not a decimal integer" "$LNN" throughput --hidden 8 --batch 0x10 --repeat 1
expect_usage "--steps: '99999999999999999999' is out of range" \
  "$LNN" train --hidden 8 --steps 99999999999999999999 --out never.safetensors
"$LNN" throughput --hidden 8 --batch 010 --repeat 1 >tp.txt 2>&1
grep -q "batch 10," tp.txt || fail "010 is not ten: $(cat tp.txt)"
printf 'seed = -1\nsteps = 2\nhidden = "8"\n' >neg.toml
expect_usage "key 'seed': --seed: '-1' is negative" "$LNN" train --config neg.toml --out never.safetensors
[[ ! -e never.safetensors ]] || fail "a refused run wrote its output"

step "lenient or confusing readers: tiny numbers, --config DIR, --out ''"
printf '1e-50,0,0,0\n-1e-300,0.5,0,0\n' >tiny.csv
"$LNN" init --hidden 8 --out tiny.safetensors >/dev/null
"$LNN" predict -m tiny.safetensors --states tiny.csv -o tiny_out.csv 2>/dev/null ||
  fail "1e-50 in a float state CSV was refused"
[[ $(wc -l <tiny_out.csv) -eq 3 ]] || fail "tiny numbers: $(cat tiny_out.csv)"
expect_fail "out of range" "$LNN" predict -m tiny.safetensors --states <(printf '1e50,0,0,0\n') -o - 
mkdir -p cfgdir
expect_fail "is a directory" "$LNN" train --config cfgdir --out never.safetensors
expect_usage "an empty path" "$LNN" init --out ''
expect_usage "an empty path" "$LNN" train --hidden 8 --steps 1 --out x.safetensors --log ''

step "sizes from t_end x rate are checked (no cast of 1e20 to an integer)"
expect_fail "too many" "$LNN" generate -s pendulum --kind trajectories --t-end 1e20 --out big.h5 -q
[[ ! -e big.h5 ]] || fail "generate wrote a dataset for t_end = 1e20"
expect_fail "too many" "$LNN" rollout --t-end 1e300 --out big.h5 -q
expect_fail "too many" timeout 60 "$LNN" sweep --horizons 1e20 --trajectories 2 --out big -q

step "an output that is an input is refused, by inode"
"$LNN" generate -s double_pendulum --samples 50 --out d.h5 -q >/dev/null
cp d.h5 d.orig
ln -s d.h5 alias.h5
expect_fail "same file as --dataset" "$LNN" train --dataset d.h5 --out ./alias.h5 --force --hidden 8 --steps 2 -q
cmp -s d.h5 d.orig || fail "the dataset was changed"
"$LNN" init --hidden 8 --out m.safetensors >/dev/null
cp m.safetensors m.orig
expect_fail "same file as --model" "$LNN" predict -m m.safetensors --states d.h5 -o ./m.safetensors
expect_fail "same file as --model" "$LNN" evaluate -m m.safetensors --json m.safetensors -q
expect_fail "same file as --model" "$LNN" rollout -m m.safetensors --out m.safetensors --force -q
cmp -s m.safetensors m.orig || fail "the model was changed"

step "temporaries of killed writers are removed, a live writer's kept"
sh -c 'exit 0' &
dead=$!
wait "$dead"
touch "m.safetensors.tmp.$dead.0" "m.safetensors.tmp.$dead" "m.safetensors.tmp.$$.0" "m.safetensors.tmp.x.0"
"$LNN" init --hidden 8 --out m.safetensors --force >/dev/null
[[ ! -e m.safetensors.tmp.$dead.0 && ! -e m.safetensors.tmp.$dead ]] || fail "stale temporaries stayed"
[[ -e m.safetensors.tmp.$$.0 ]] || fail "a live process's temporary was removed"
[[ -e m.safetensors.tmp.x.0 ]] || fail "a file not named like a temporary was removed"
rm -f m.safetensors.tmp.*

step "kills never lose a log row (checkpoint every step, 6 kills)"
for trial in 1 2 3 4 5 6; do
  rm -f k.safetensors k.csv
  "$LNN" train --hidden 16,16 --steps 150 --batch 32 --checkpoint-every 1 --validate-every 0 \
    --out k.safetensors --log k.csv -q >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((3 + trial))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ -e k.safetensors ]] || continue
  "$LNN" train --resume k.safetensors --log k.csv -q >/dev/null
  steps=$(tail -n +2 k.csv | cut -d, -f1 | tr '\n' ' ')
  [[ $steps == "$(seq -s ' ' 1 150) " ]] || fail "trial $trial: log steps are not 1..150 once each: $steps"
done

step "passed"
