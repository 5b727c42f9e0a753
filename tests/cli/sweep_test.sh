#!/usr/bin/env bash
# End-to-end test of `lnn rollout` and `lnn sweep` (ctest: cli.sweep).
# Usage: bash tests/cli/sweep_test.sh path/to/lnn path/to/tests/data
# Rollout files are opened with h5py; a sweep killed mid-run and resumed must
# give the same tables as an uninterrupted one; the plots are made when the
# system Python has matplotlib (scripts/setup.sh installs it).
set -euo pipefail

LNN=${1:?usage: sweep_test.sh path/to/lnn path/to/tests/data}
DATA=$(cd "${2:?usage: sweep_test.sh path/to/lnn path/to/tests/data}" && pwd)
LNN=$(cd "$(dirname "$LNN")" && pwd)/$(basename "$LNN")
MODEL=$DATA/pendulum_32x32_f64.safetensors
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
NAME=sweep_test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=$(python_with "h5py, numpy")

step "rollout of a learned model from a CSV of initial states"
printf 'q,qdot\n0.5,0\n2.0,0.5\n' >init.csv
"$LNN" rollout -m "$MODEL" -s pendulum --initial init.csv --t-end 20 --rate 5 --dt 0.01 \
  --out r.h5 -q >r.txt
grep -q "0 failed" r.txt || fail "rollout summary: $(cat r.txt)"
"$PY" - "$MODEL" <<'PY' || fail "h5py check of the rollout file"
import json, sys
import h5py
import numpy as np
with h5py.File("r.h5", "r") as f:
    # lnn writes fixed-length UTF-8 strings: h5py gives bytes (docs/file-formats.md)
    a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    assert a["format"] == "lnn-dataset" and a["kind"] == "trajectories", dict(a)
    gen = json.loads(a["generator"])
    assert gen["tool"] == "lnn rollout" and gen["integrator"] == "variational", gen
    assert gen["model"] == sys.argv[1] and gen["dt"] == 0.01, gen
    s = f["states"][()]
    assert s.shape == (2, 101, 2), s.shape
    assert np.array_equal(s[:, 0, :], [[0.5, 0.0], [2.0, 0.5]])
    assert np.allclose(f["times"][()], np.arange(101) / 5)
    assert (f["status"][()] == 0).all()
    E = f["model_energies"][()]
    assert E.shape == (2, 101)
    # The variational integrator keeps the model's own energy close.
    drift = np.abs(E - E[:, :1]).max() / np.abs(E).max()
    assert drift < 1e-2, drift
    assert f["energies"].shape == (2, 101) and f["accelerations"].shape == (2, 101, 1)
PY

step "rollout of the analytic system, sampled initial conditions, rk4"
"$LNN" rollout -s double_pendulum --trajectories 3 --t-end 2 --integrator rk4 --out a.h5 -q >/dev/null
"$PY" -c '
import h5py
with h5py.File("a.h5", "r") as f:
    assert f["states"].shape == (3, 21, 4) and "model_energies" not in f
' || fail "analytic rollout file"
expect_fail "--out is required" "$LNN" rollout -s pendulum
expect_fail "unknown integrator 'leapfrog'" "$LNN" rollout -s pendulum --integrator leapfrog --out x.h5
expect_fail "has n = 1 but double_pendulum has n = 2" "$LNN" rollout -m "$MODEL" -s double_pendulum --out x.h5
[[ ! -e x.h5 ]] || fail "a failed rollout wrote its file"

SWEEP=(sweep -m "$MODEL" -s pendulum --integrators rk4,variational,dopri5 --dt 0.05,0.02
       --tolerances 1e-6 --horizons 5,20 --trajectories 4 --no-plots)

step "uninterrupted sweep"
"$LNN" "${SWEEP[@]}" -o whole -q >whole.txt
grep -q "10 cells: 10 computed, 0 found finished" whole.txt || fail "summary: $(cat whole.txt)"
grep -q "variational" whole.txt || fail "report: $(cat whole.txt)"

step "sweep stopped after 3 cells, then killed mid-run, then resumed"
"$LNN" "${SWEEP[@]}" -o part --max-cells 3 -q >part1.txt
grep -q "stopped after 3 cells" part1.txt || fail "max-cells: $(cat part1.txt)"
[[ ! -e part/summary.csv ]] || fail "an incomplete sweep wrote its tables"
"$LNN" "${SWEEP[@]}" -o part -q >part2.txt &
pid=$!
for _ in $(seq 1 500); do
  [[ $(ls part/cells | wc -l) -ge 5 ]] && break
  sleep 0.01
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
"$LNN" "${SWEEP[@]}" -o part -q >part3.txt
grep -q "10 cells: .* computed, .* found finished" part3.txt || fail "resume: $(cat part3.txt)"
for f in summary.csv trajectories.csv series.csv paths.csv; do
  cmp -s whole/$f part/$f || fail "resumed $f differs from the uninterrupted one"
done
[[ $(wc -l <whole/timing.csv) -eq 11 && $(wc -l <part/timing.csv) -eq 11 ]] || fail "timing.csv rows"

step "another configuration in the same directory is refused"
expect_fail "another configuration" "$LNN" "${SWEEP[@]/--trajectories/--seed}" -o whole -q
expect_fail "--dt: 'x' is not a finite number" "$LNN" sweep --dt 0.1,x -o y -q
expect_fail "unknown integrator 'euler'" "$LNN" sweep --integrators rk4,euler -o y -q

step "options from a config file (the command line wins)"
printf 'system = "pendulum"\ntrajectories = 2\nhorizons = "1,2"\ndt = "0.1"\nintegrators = "variational"\n' >s.toml
"$LNN" sweep --config s.toml --trajectories 3 --no-plots -o cfg -q >/dev/null
"$PY" -c '
import json
c = json.load(open("cfg/sweep.json"))
assert c["system"] == "pendulum" and c["trajectories"] == 3 and c["horizons"] == [1, 2], c
assert c["dts"] == [0.1] and c["integrators"] == ["variational"] and c["models"] == ["analytic"], c
' || fail "config file: $(cat cfg/sweep.json)"

step "plots"
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || python3 -c 'import matplotlib' 2>/dev/null; then
  "$LNN" sweep -s pendulum --dt 0.05 --horizons 2 --trajectories 2 -o plots -q >plots.txt
  for p in energy_error.png trajectories.png step_size.png; do
    [[ -s plots/$p ]] || fail "no plots/$p: $(cat plots.txt)"
  done
else
  step "  (skipped: no python3 with matplotlib)"
fi
echo "sweep_test: PASS"
