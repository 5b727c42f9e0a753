#!/usr/bin/env bash
# End-to-end test of `lnn systems` and `lnn generate` (ctest: cli.generate).
# Usage: bash tests/cli/generate_test.sh path/to/lnn
# The files are opened with h5py (python3-h5py, installed by scripts/setup.sh)
# and checked against the documented layout (docs/file-formats.md).
set -euo pipefail

LNN=${1:?usage: generate_test.sh path/to/lnn}
LNN=$(cd "$(dirname "$LNN")" && pwd)/$(basename "$LNN")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
NAME=generate_test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "systems"
"$LNN" systems >systems.txt
for s in double_pendulum pendulum mass_spring relativistic_reference relativistic chain_pendulum \
         spring_pendulum henon_heiles kepler three_body cart_pole acrobot; do
  grep -q "^$s " systems.txt || fail "lnn systems does not list $s"
done
"$LNN" systems --json | python3 -c '
import json, sys
d = {s["name"]: s for s in json.load(sys.stdin)}
dp = d["double_pendulum"]
assert dp["n"] == 2 and abs(dp["potential_scale"] - 29.4) < 1e-12, dp
assert [p["name"] for p in dp["parameters"]] == ["m1", "m2", "l1", "l2", "g"]
assert d["cart_pole"]["actuated"] == [1, 0]
' || fail "lnn systems --json"

step "generate derivatives"
"$LNN" generate --system double_pendulum --samples 2000 --seed 3 --out d.h5 >d.txt
grep -q "2000 points" d.txt || fail "summary: $(cat d.txt)"
"$LNN" generate --system double_pendulum --samples 2000 --seed 3 --out d2.h5 -q >/dev/null
cmp -s d.h5 d2.h5 || fail "the same seed gave different files"

step "generate trajectories"
"$LNN" generate --system double_pendulum -p m2=2 --kind trajectories --trajectories 3 \
  --t-end 5 --rate 10 --noise 0.001 --seed 1 --out t.h5 >t.txt
grep -q "3 trajectories x 51 times" t.txt || fail "summary: $(cat t.txt)"
grep -q "energy drift" t.txt || fail "no drift in summary: $(cat t.txt)"
"$LNN" generate --system cart_pole --kind trajectories --trajectories 2 --t-end 1 \
  --integrator rk4 --dt 0.01 --out c.h5 -q >c.txt

# h5py: python3-h5py (scripts/setup.sh) belongs to the system Python, which
# may not be the first python3 on PATH (pyenv).
PY=$(python_with "h5py, numpy")
"$PY" - <<'PY' || fail "h5py check of the layout"
import json
import h5py
import numpy as np

def text(v):  # lnn writes fixed-length UTF-8 strings: h5py gives bytes (docs/file-formats.md)
    return v.decode() if isinstance(v, bytes) else v

with h5py.File("d.h5", "r") as f:
    a = {k: text(v) for k, v in f.attrs.items()}
    assert a["format"] == "lnn-dataset" and int(a["format_version"]) == 1
    assert a["kind"] == "derivatives" and a["system"] == "double_pendulum"
    assert int(a["n"]) == 2 and int(a["seed"]) == 3
    assert abs(float(a["potential_scale"]) - 29.4) < 1e-12
    assert json.loads(a["generator"])["samples"] == 2000
    assert f["states"].shape == (2000, 4) and f["states"].dtype == np.float64
    assert f["accelerations"].shape == (2000, 2) and f["energies"].shape == (2000,)
    assert "tau" not in f and "states_true" not in f
    assert float(f["parameters"].attrs["g"]) == 9.8
    # Closed-form accelerations of the double pendulum, independently.
    x = f["states"][:]
    t1, t2, w1, w2 = x.T
    a1 = 0.5 * np.cos(t1 - t2)
    a2 = np.cos(t1 - t2)
    f1 = -0.5 * w2**2 * np.sin(t1 - t2) - 9.8 * np.sin(t1)
    f2 = w1**2 * np.sin(t1 - t2) - 9.8 * np.sin(t2)
    ref = np.stack([(f1 - a1 * f2) / (1 - a1 * a2), (f2 - a2 * f1) / (1 - a1 * a2)], axis=1)
    err = np.abs(f["accelerations"][:] - ref).max() / np.abs(ref).max()
    assert err < 1e-12, err

with h5py.File("t.h5", "r") as f:
    assert text(f.attrs["kind"]) == "trajectories"
    assert float(f["parameters"].attrs["m2"]) == 2.0
    assert f["times"].shape == (51,)
    assert f["states"].shape == (3, 51, 4) and f["states_true"].shape == (3, 51, 4)
    assert f["accelerations"].shape == (3, 51, 2) and f["energies"].shape == (3, 51)
    assert list(f["status"][:]) == [0, 0, 0]
    e = f["energies"][:]
    assert np.abs(e - e[:, :1]).max() / f.attrs["potential_scale"] < 1e-7

with h5py.File("c.h5", "r") as f:
    assert f["tau"].shape == (2, 11, 2)
    assert json.loads(f.attrs["generator"])["integrator"] == "rk4"
PY

step "errors"
expect_fail "unknown system 'triple'" "$LNN" generate --system triple --out x.h5
expect_fail "has no parameter 'mass'" "$LNN" generate --system pendulum -p mass=2 --out x.h5
expect_fail "mass must be > 0" "$LNN" generate --system pendulum -p m=-1 --out x.h5
expect_fail "is not NAME=NUMBER" "$LNN" generate --system pendulum -p m --out x.h5
expect_fail "t_end" "$LNN" generate --system pendulum --kind trajectories --t-end 0 --out x.h5
expect_fail "cannot" "$LNN" generate --system pendulum --samples 10 --out /nonexistent/dir/x.h5
[[ ! -e x.h5 ]] || fail "a failed generate left x.h5 behind"
step "ok"
