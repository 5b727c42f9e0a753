#!/usr/bin/env bash
# End-to-end test of `lnn train` and `lnn evaluate` (ctest: cli.train):
# a run killed with SIGKILL mid-way and resumed from its checkpoint ends with
# the same parameters (the same file, byte for byte) as an uninterrupted run.
# Usage: bash tests/cli/train_test.sh path/to/lnn
set -euo pipefail

LNN=${1:?usage: train_test.sh path/to/lnn}
LNN=$(cd "$(dirname "$LNN")" && pwd)/$(basename "$LNN")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
NAME=train_test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The training step a checkpoint holds (safetensors metadata), or 0.
ckpt_step() {
  python3 - "$1" <<'PY' 2>/dev/null || echo 0
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    print(int(json.loads(f.read(n))["__metadata__"]["lnn.train.step"]))
PY
}

# A config file (CLI11 TOML) for a small, quick run.
cat >run.toml <<'TOML'
system = "double_pendulum"
hidden = "32,32"
steps = 400
batch = 128
lr = 0.003
schedule = "one_cycle"
validate-every = 50
checkpoint-every = 25
seed = 7
TOML

step "uninterrupted run"
"$LNN" train --config run.toml --out whole.safetensors --log whole.csv -q >whole.txt
grep -q "400 steps" whole.txt || fail "summary: $(cat whole.txt)"
[[ $(wc -l <whole.csv) -eq 401 ]] || fail "log has $(wc -l <whole.csv) lines, expected 401"
head -1 whole.csv | grep -q '^step,lr,loss' || fail "log header"

step "killed run, resumed"
"$LNN" train --config run.toml --out part.safetensors --log part.csv -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  s=$(ckpt_step part.safetensors)
  [[ $s -ge 50 ]] && break
  sleep 0.02
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
s=$(ckpt_step part.safetensors)
[[ $s -ge 25 && $s -lt 400 ]] || fail "the kill did not land mid-run (checkpoint at step $s)"
step "killed at checkpoint step $s; resuming"
"$LNN" train --resume part.safetensors --log part.csv -q >resume.txt
grep -q "resuming part.safetensors at step $s" resume.txt || fail "resume: $(cat resume.txt)"
cmp -s whole.safetensors part.safetensors || fail "resumed run differs from the uninterrupted one"
[[ $(wc -l <part.csv) -eq 401 ]] || fail "resumed log has $(wc -l <part.csv) lines, expected 401"
# SIGKILL during a checkpoint write may leave that process's temporary
# (<file>.tmp.<pid>.<i>); nothing else may remain.
ls | grep '\.tmp\.' | grep -qv "\.tmp\.$pid\." && fail "a temporary file was left behind: $(ls | grep '\.tmp\.')"

step "evaluate"
"$LNN" evaluate --model whole.safetensors --trajectories 3 --t-end 2 --held-out 1000 -q --json eval.json >eval.txt
grep -q "energy error" eval.txt || fail "evaluate output: $(cat eval.txt)"
python3 -c 'import json,sys; d=json.load(open("eval.json")); assert d["system"]=="double_pendulum" and d["energy_error"]["count"]+d["rollouts_failed"]==3' ||
  fail "evaluate --json"

step "errors"
"$LNN" init --out plain.safetensors --n 2 --hidden 8 >/dev/null
expect_fail "training state" "$LNN" train --resume plain.safetensors
head -c 100 whole.safetensors >broken.safetensors
expect_fail "broken.safetensors" "$LNN" train --resume broken.safetensors
expect_fail "--out" "$LNN" train --steps 5
expect_fail "n = 3" "$LNN" evaluate --model plain.safetensors --system chain_pendulum -p links=3
step "ok"
