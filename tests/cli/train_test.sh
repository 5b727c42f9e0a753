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

step "diagnostics: extra log columns at validation steps, kept on resume"
"$LNN" train --config run.toml --steps 60 --checkpoint-every 30 --init convex --scale-inputs \
  --diagnostics --out diag.safetensors --log diag.csv -q >/dev/null
head -1 diag.csv | grep -q ',seconds,m_posdef,m_negdef,m_indef,m_eig_min,m_eig_max,m_cond,qdd_abs,qdd_max,target_abs,rhs_abs,lagrangian_abs,adam_step_rms,grad_norm_0,grad_norm_1,grad_norm_2$' ||
  fail "diagnostics header: $(head -1 diag.csv)"
python3 - <<'PY' || fail "diagnostics rows"
import csv
rows = list(csv.DictReader(open("diag.csv")))
assert len(rows) == 60
for r in rows:
    validated = r["val_l1"] != ""
    assert (r["m_posdef"] != "") == validated and (r["grad_norm_2"] != "") == validated, r
    if validated:  # a convex start: M positive definite everywhere
        assert abs(float(r["m_posdef"]) + float(r["m_negdef"]) + float(r["m_indef"]) - 1) < 1e-9
        assert float(r["m_posdef"]) == 1.0, r
PY
"$LNN" train --resume diag.safetensors --steps 100 --log diag.csv -q >/dev/null
[[ $(wc -l <diag.csv) -eq 101 ]] || fail "resumed diagnostics log has $(wc -l <diag.csv) lines"
tail -1 diag.csv | awk -F, '{ exit !(NF == 25 && $11 != "") }' || fail "resumed row: $(tail -1 diag.csv)"

step "fresh states from a box of one's own (--q-range, --qdot-range)"
"$LNN" train --system chain_pendulum --hidden 8,8 --steps 10 --batch 64 --validate-every 5 \
  --q-range 0,6.25 --qdot-range -10,10,-9,9,-8,8 --out box.safetensors >box.txt
grep -q "fresh states of chain_pendulum (theta1, theta2, theta3 ~ U\[0, 6.25), theta1dot ~ U\[-10, 10), theta2dot ~ U\[-9, 9), theta3dot ~ U\[-8, 8))" box.txt ||
  fail "the box in the header: $(head -1 box.txt)"
python3 - <<'PY' || fail "the box in the checkpoint's configuration"
import json, struct
with open("box.safetensors", "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    c = json.loads(json.loads(f.read(n))["__metadata__"]["lnn.train.config"])
assert c["box_q"] == [[0.0, 6.25]] and c["box_qdot"] == [[-10.0, 10.0], [-9.0, 9.0], [-8.0, 8.0]], c
PY
"$LNN" generate -s pendulum --samples 50 -o box.h5 -q
expect_fail "--dataset brings its own states" "$LNN" train --dataset box.h5 --q-range 0,1 --qdot-range 0,1 --out x.safetensors
expect_fail "go together" "$LNN" train --q-range 0,1 --out x.safetensors
expect_fail "has 3 numbers" "$LNN" train --q-range 0,1,2 --qdot-range 0,1 --out x.safetensors

step "evaluate"
"$LNN" evaluate --model whole.safetensors --trajectories 3 --t-end 2 --held-out 1000 -q --json eval.json >eval.txt
grep -q "energy error" eval.txt || fail "evaluate output: $(cat eval.txt)"
python3 -c 'import json,sys; d=json.load(open("eval.json")); assert d["system"]=="double_pendulum" and d["energy_error"]["count"]+d["rollouts_failed"]==3' ||
  fail "evaluate --json"
python3 -c 'import json; assert json.load(open("eval.json"))["precision"] == "f32"' || fail "evaluate: the model's precision"
"$LNN" evaluate --model whole.safetensors --trajectories 3 --t-end 2 --held-out 1000 -q --precision f64 --json eval64.json >eval64.txt
grep -q "parameters, f64)" eval64.txt || fail "evaluate --precision f64: $(head -1 eval64.txt)"
python3 - <<'PY' || fail "evaluate --precision f64: the same model in double"
import json
a, b = json.load(open("eval.json")), json.load(open("eval64.json"))
assert b["precision"] == "f64", b
# The same parameters in double: close to the float figures, not equal to them.
assert b["acc_l1"] != a["acc_l1"] and abs(b["acc_l1"] - a["acc_l1"]) <= 1e-3 * a["acc_l1"], (a["acc_l1"], b["acc_l1"])
PY

step "errors"
"$LNN" init --out plain.safetensors --n 2 --hidden 8 >/dev/null
expect_fail "training state" "$LNN" train --resume plain.safetensors
head -c 100 whole.safetensors >broken.safetensors
expect_fail "broken.safetensors" "$LNN" train --resume broken.safetensors
expect_fail "--out" "$LNN" train --steps 5
expect_fail "n = 3" "$LNN" evaluate --model plain.safetensors --system chain_pendulum -p links=3
step "ok"
