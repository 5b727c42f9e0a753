#!/usr/bin/env bash
# Right answers by default (issue 16), ctest: cli.defaults. Each check failed
# before the fix it guards:
#   - evaluate, rollout and sweep judge a checkpoint on the system it was
#     trained on (they read lnn.train.config), not on the double pendulum;
#   - initial conditions come from that system's evaluation box (r ~ U[0.5,
#     1.5) for the spring pendulum, never r ≈ 0), per-coordinate ranges work;
#   - an evaluation in which no rollout finished prints n/a and exits non-zero;
#   - the default solver gives q̈ for a fresh model's M of either sign.
# Usage: bash tests/cli/defaults_test.sh path/to/lnn
set -euo pipefail

LNN=${1:?usage: defaults_test.sh path/to/lnn}
LNN=$(cd "$(dirname "$LNN")" && pwd)/$(basename "$LNN")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
NAME=defaults_test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "a spring-pendulum checkpoint"
"$LNN" train --system spring_pendulum --param k=30 --hidden 16,16 --steps 20 --batch 64 \
  --out sp.safetensors -q >train.txt

step "evaluate without --system uses the checkpoint's system and its box"
"$LNN" evaluate -m sp.safetensors --trajectories 3 --t-end 0.5 --held-out 200 -q --json e.json >e.txt
grep -q "on spring_pendulum" e.txt || fail "evaluate: $(cat e.txt)"
grep -q "from r ~ U\[0.5, 1.5)" e.txt || fail "evaluate's initial conditions: $(cat e.txt)"
grep -q '"system": "spring_pendulum"' e.json || fail "evaluate JSON: $(cat e.json)"
"$LNN" systems spring_pendulum --json | grep -q '"k"' || fail "systems --json"

step "the checkpoint's system parameters come with it (k = 30)"
"$LNN" rollout -m sp.safetensors --trajectories 2 --t-end 0.2 --integrator rk4 --out r.h5 -q >r.txt
P=$(python_with "h5py, numpy")
"$P" - r.h5 <<'PY' || fail "rollout file: wrong system"
import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    system = f.attrs["system"]
    system = system.decode() if isinstance(system, bytes) else system
    assert system == "spring_pendulum", system
    assert f["parameters"].attrs["k"] == 30, dict(f["parameters"].attrs)
PY

step "sweep without --system uses the checkpoint's system"
"$LNN" sweep -m sp.safetensors --integrators rk4 --horizons 0.5 --trajectories 2 --no-plots \
  --out sw -q >sw.txt
grep -q '"system": "spring_pendulum"' sw/sweep.json || fail "sweep.json: $(cat sw/sweep.json)"
grep -q '"box_q": \[\]' sw/sweep.json || fail "sweep box (want the system's own sampling): $(cat sw/sweep.json)"

step "the double pendulum keeps the reference evaluation box"
"$LNN" train --hidden 8 --steps 5 --batch 32 --out dp.safetensors -q >/dev/null
"$LNN" evaluate -m dp.safetensors --trajectories 2 --t-end 0.2 --held-out 10 -q >dp.txt || true
grep -q "theta1, theta2 ~ U\[0, 6.28319), theta1dot, theta2dot ~ U\[0, 0.1)" dp.txt ||
  fail "double pendulum box: $(cat dp.txt)"

step "per-coordinate ranges"
"$LNN" evaluate -m sp.safetensors --trajectories 2 --t-end 0.2 --held-out 10 -q \
  --q-range 0.9,1.1,0,0.5 --qdot-range 0,0.1 >pc.txt
grep -q "r ~ U\[0.9, 1.1), theta ~ U\[0, 0.5), rdot, thetadot ~ U\[0, 0.1)" pc.txt ||
  fail "per-coordinate box: $(cat pc.txt)"
expect_fail "has 3 numbers" "$LNN" evaluate -m sp.safetensors --q-range 1,2,3 --qdot-range 0,1
expect_fail "go together" "$LNN" evaluate -m sp.safetensors --q-range 1,2

step "no rollout finished: n/a, failures by reason, non-zero exit"
expect_fail "no rollout finished" "$LNN" evaluate -m sp.safetensors --trajectories 3 --t-end 200 \
  --dt 4 --held-out 10 -q --json bad.json
grep -q "mean n/a" "$T/fail.out" || fail "want n/a: $(cat "$T/fail.out")"
grep -q "3 failed (3 " "$T/fail.out" || fail "want failures by reason: $(cat "$T/fail.out")"
grep -q '"mean": null' bad.json || fail "JSON: $(cat bad.json)"
grep -q '"rollout_failures"' bad.json || fail "JSON lacks the reasons: $(cat bad.json)"

step "fresh models: the default solver gives q̈ for M of either sign"
for seed in 1 2 3; do
  "$LNN" init --hidden 32,32 --seed $seed --out fresh$seed.safetensors >/dev/null
  "$P" -c "
import numpy as np
rng = np.random.default_rng($seed)
np.savetxt('states.csv', np.c_[rng.uniform(0, 6.28, (500, 2)), rng.uniform(-1, 1, (500, 2))], delimiter=',')
"
  "$LNN" predict -m fresh$seed.safetensors --states states.csv -o out$seed.csv >/dev/null
  "$P" - out$seed.csv <<'PY' || fail "fresh model $seed: NaN accelerations under the default solver"
import numpy as np, sys
a = np.genfromtxt(sys.argv[1], delimiter=",", names=True)
q = np.c_[a[a.dtype.names[0]], a[a.dtype.names[1]]]
assert np.isfinite(q).mean() > 0.99, np.isfinite(q).mean()
PY
done

step "one vocabulary: -s is --system, -n means nothing, predict (alias eval), activations"
expect_fail "-s" "$LNN" predict -m fresh1.safetensors -s states.csv -o x.csv
rc=0; "$LNN" generate -s pendulum -n 10 -o g.h5 >/dev/null 2>g.err || rc=$?
[[ $rc -ne 0 ]] || fail "generate -n was accepted"
"$LNN" eval -m fresh3.safetensors --states states.csv -o alias.csv 2>/dev/null
cmp -s alias.csv out3.csv || fail "eval (the alias) differs from predict"
"$LNN" train --help >th.txt
grep -q "xtanh_half" th.txt || fail "train --help lacks xtanh_half"
grep -q "xtanh |" th.txt && fail "train --help offers xtanh"
"$LNN" init --help | grep -q "xtanh_half" || fail "init --help lacks xtanh_half"

step "TOML lists as arrays, as in sweep"
cat >arr.toml <<'TOML'
hidden = [12, 10]
steps = 2
batch = 16
TOML
"$LNN" train --config arr.toml --out arr.safetensors -q >arr.txt
grep -q "hidden 12,10," arr.txt || fail "hidden = [12, 10]: $(cat arr.txt)"
cat >sw.toml <<'TOML'
integrators = ["rk4"]
horizons = [0.2, 0.4]
trajectories = 2
TOML
"$LNN" sweep --config sw.toml -m sp.safetensors --no-plots --out sw2 -q >/dev/null
grep -q '"horizons": \[' sw2/sweep.json || fail "sweep arrays"

step "nothing overwritten without --force"
cp sp.safetensors keep.safetensors
expect_fail "--force" "$LNN" train -s spring_pendulum --hidden 8 --steps 3 --batch 16 --out sp.safetensors -q
cmp -s sp.safetensors keep.safetensors || fail "train replaced its --out"
expect_fail "--force" "$LNN" init --hidden 8 --out sp.safetensors
expect_fail "--force" "$LNN" generate -s pendulum --samples 10 --out r.h5 -q
expect_fail "--force" "$LNN" rollout -m sp.safetensors --trajectories 1 --t-end 0.1 --out r.h5 -q
cmp -s sp.safetensors keep.safetensors || fail "a refused command changed the model"
"$LNN" train --hidden 8 --steps 3 --batch 16 --out fresh.safetensors -q >/dev/null
touch log.csv
expect_fail "--log" "$LNN" train --hidden 8 --steps 3 --batch 16 --out other.safetensors --log log.csv -q
"$LNN" init --hidden 8 --out sp.safetensors --force >/dev/null
cmp -s sp.safetensors keep.safetensors && fail "init --force did not replace the file"

step "resume: a finished run says so with its figures; --steps extends it"
"$LNN" train --hidden 8 --steps 20 --batch 16 --validate-every 10 --out run.safetensors -q >run.txt
final=$(grep "final loss" run.txt)
"$LNN" train --resume run.safetensors -q >again.txt
grep -q "nothing to do" again.txt || fail "resume of a finished run: $(cat again.txt)"
grep -qF "$final" again.txt || fail "resume of a finished run: want '$final', got $(cat again.txt)"
"$LNN" train --resume run.safetensors --steps 30 -q >more.txt
grep -q "extending the run from 20 to 30" more.txt || fail "--steps on resume: $(cat more.txt)"
grep -q "10 steps in .* (to step 30 of 30)" more.txt || fail "--steps on resume: $(cat more.txt)"
expect_fail "cannot be shortened" "$LNN" train --resume run.safetensors --steps 5 -q

step "forced systems: rollouts refuse until told tau = 0 is meant"
expect_fail "--unforced" "$LNN" rollout -s cart_pole --trajectories 1 --t-end 0.1 --out cp.h5 -q
expect_fail "forced on theta2" "$LNN" sweep -s acrobot --integrators rk4 --horizons 0.1 --trajectories 1 --out cps -q
"$LNN" rollout -s cart_pole --trajectories 1 --t-end 0.1 --out cp.h5 -q --unforced >/dev/null ||
  fail "rollout --unforced"

step "shared cores: a short spin unless the user chose a wait policy"
env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY -u LNN_NO_REEXEC -u LNN_NO_BLAS_REEXEC "$LNN" info >info.txt
grep -q "waiting threads: GOMP_SPINCOUNT=1000" info.txt || fail "default wait policy: $(cat info.txt)"
env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active "$LNN" info | grep -q "OMP_WAIT_POLICY=active" ||
  fail "a user's OMP_WAIT_POLICY was overridden"
GOMP_SPINCOUNT=77 "$LNN" info | grep -q "GOMP_SPINCOUNT=77" || fail "a user's GOMP_SPINCOUNT was overridden"

step "passed"
