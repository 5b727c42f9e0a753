"""Fixtures of the Python package's tests (docs/python.md, "Tests").

The numbers are checked against the C++ library through an independent
path: the `lnn` program (`lnn init`, `lnn predict`, `lnn systems`). Its
path is $LNN_CLI, else build/lnn or build-cpu/lnn of the repository; tests
that need it skip without it, unless LNN_REQUIRE_CLI=1 (scripts/test.sh)
makes its absence a failure.
"""
import csv
import io
import os
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _find_cli():
    if os.environ.get("LNN_CLI"):
        return pathlib.Path(os.environ["LNN_CLI"])
    for candidate in (REPO / "build" / "lnn", REPO / "build-cpu" / "lnn"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class Cli:
    def __init__(self, path):
        self.path = path

    def run(self, *args):
        env = dict(os.environ, LNN_NO_REEXEC="1")
        result = subprocess.run([str(self.path), *map(str, args)], capture_output=True, text=True,
                                env=env)
        if result.returncode != 0:
            raise AssertionError(f"lnn {' '.join(map(str, args))} failed: {result.stderr}")
        return result.stdout

    def predict(self, model_path, states, tmp_path, tau=None, precision="auto", solver="lu"):
        """`lnn predict`'s columns: acc (B, n), energy (B,), status (B,), min_pivot (B,)."""
        states_csv = tmp_path / "states.csv"
        np.savetxt(states_csv, states, delimiter=",", fmt="%.17g")
        args = ["predict", "--model", model_path, "--states", states_csv, "--out", "-",
                "--precision", precision, "--solver", solver]
        if tau is not None:
            tau_csv = tmp_path / "tau.csv"
            np.savetxt(tau_csv, tau, delimiter=",", fmt="%.17g")
            args += ["--tau", tau_csv]
        rows = list(csv.reader(io.StringIO(self.run(*args))))
        header, body = rows[0], rows[1:]
        n = sum(1 for h in header if h.startswith("qdd_"))
        acc = np.array([[float(v) for v in r[:n]] for r in body])
        energy = np.array([float(r[n]) for r in body])
        status = [r[n + 1] for r in body]
        pivot = np.array([float(r[n + 2]) for r in body])
        return acc, energy, status, pivot


@pytest.fixture(scope="session")
def cli():
    path = _find_cli()
    if path is None:
        if os.environ.get("LNN_REQUIRE_CLI") == "1":
            pytest.fail("the lnn program was not found (set LNN_CLI)")
        pytest.skip("the lnn program was not found (set LNN_CLI or build build/lnn)")
    return Cli(path)


@pytest.fixture
def rng():
    return np.random.default_rng(20261201)


def random_states(rng, B, n, scale=1.0):
    return np.ascontiguousarray(rng.uniform(-scale, scale, size=(B, 2 * n)))
