"""lnn.rollout, lnn.evaluate and lnn.run_sweep against `lnn rollout`,
`lnn evaluate` and `lnn sweep` on the same models and settings."""
import json

import numpy as np
import pytest

import lnn


@pytest.fixture
def pendulum_model(tmp_path):
    """An untrained f32 model of the pendulum (n = 1), saved: both sides load the same file."""
    model = lnn.Model(n=1, hidden=[8, 8], embedding="angle", precision="f32", init="convex",
                      seed=2)
    path = str(tmp_path / "model.safetensors")
    model.save(path)
    return lnn.Model.load(path), path


def _initial(tmp_path, states):
    path = tmp_path / "initial.csv"
    np.savetxt(path, states, delimiter=",", fmt="%.17g")
    return path


def test_analytic_rollout_equals_lnn_rollout(cli, tmp_path):
    system = lnn.System("pendulum")
    y0 = system.sample_states(3, seed=8)
    out = tmp_path / "r.h5"
    cli.run("rollout", "--model", "analytic", "--system", "pendulum", "--initial",
            _initial(tmp_path, y0), "--t-end", 2, "--rate", 10, "--integrator", "variational",
            "--dt", 0.01, "--out", out, "-q")
    from_cli = lnn.Dataset.load(str(out))
    r = lnn.rollout(system, y0, from_cli.times, integrator="variational", dt=0.01)
    assert r.states.shape == (3, 21, 2) and r.energies.shape == (3, 21)
    np.testing.assert_array_equal(r.states, from_cli.states)
    np.testing.assert_array_equal(r.energies, from_cli.energies)
    assert (r.status == 0).all() and (r.t_reached == 2.0).all()
    # The variational integrator keeps the exact energy bounded.
    assert (np.abs(r.energies - r.energies[:, :1]) < 1e-3 * np.abs(r.energies[:, :1])).all()


def test_model_rollout_equals_lnn_rollout(cli, tmp_path, pendulum_model):
    model, path = pendulum_model
    y0 = lnn.System("pendulum").sample_states(2, seed=9) * 0.1
    out = tmp_path / "r.h5"
    for integrator in ("variational", "rk4"):
        cli.run("rollout", "--model", path, "--system", "pendulum", "--initial",
                _initial(tmp_path, y0), "--t-end", 1, "--rate", 10, "--integrator", integrator,
                "--dt", 0.01, "--out", out, "--force", "-q")
        from_cli = lnn.Dataset.load(str(out))
        r = lnn.rollout(model, y0, from_cli.times, integrator=integrator, dt=0.01)
        np.testing.assert_array_equal(r.status, from_cli.status)
        np.testing.assert_array_equal(r.states, from_cli.states)
        np.testing.assert_array_equal(r.energies, from_cli.model_energies)


def test_evaluate_equals_lnn_evaluate(cli, tmp_path, pendulum_model):
    model, path = pendulum_model
    report = tmp_path / "e.json"
    cli.run("evaluate", "--model", path, "--system", "pendulum", "--trajectories", 4, "--t-end",
            1, "--held-out", 300, "--integrator", "variational", "--json", report, "-q")
    want = json.loads(report.read_text())
    got = lnn.evaluate(model, "pendulum", trajectories=4, t_end=1, held_out=300,
                       integrator="variational")
    assert got["acc_l1"] == want["acc_l1"]
    assert got["energy_error"] == want["energy_error"]
    assert got["rollouts_failed"] == want["rollouts_failed"]


def test_evaluate_against_a_dataset_equals_lnn_evaluate_dataset(cli, tmp_path, pendulum_model):
    model, path = pendulum_model
    data = lnn.generate_trajectories("pendulum", 3, t_end=1.0, rate=10, seed=5)
    data_path = str(tmp_path / "t.h5")
    data.save(data_path)
    report = tmp_path / "e.json"
    cli.run("evaluate", "--model", path, "--dataset", data_path, "--trajectories", 0,
            "--integrator", "variational", "--json", report, "-q")
    want = json.loads(report.read_text())
    got = lnn.evaluate(model, data, integrator="variational")
    for key in ("acc_l1", "acc_points", "position_error", "energy_drift", "rollouts_failed",
                "trajectories_skipped"):
        assert got[key] == want[key], key
    assert got["acc_points"] == 3 * 11 and got["position_error"]["count"] == 3


def test_run_sweep_equals_lnn_sweep(cli, tmp_path, pendulum_model):
    _, path = pendulum_model
    cli.run("sweep", "--model", path, "--system", "pendulum", "--integrators", "rk4,variational",
            "--dt", 0.05, "--horizons", 1, "--trajectories", 3, "--out", tmp_path / "cli",
            "--no-plots", "-q")
    config = lnn.SweepConfig(system="pendulum", models=[path, "analytic"],
                             integrators=["rk4", "variational"], dts=[0.05], horizons=[1.0],
                             trajectories=3)
    seen = []
    result = lnn.run_sweep(config, str(tmp_path / "py"), seen.append)
    assert result.complete and result.cells_total == 4 and result.cells_computed == 4
    assert seen and seen[-1].cells_total == 4
    for table in ("summary.csv", "trajectories.csv"):
        assert (tmp_path / "py" / table).read_text() == (tmp_path / "cli" / table).read_text()

    # A callback's exception stops the sweep; calling again resumes it.
    def stop(progress):
        if progress.cells_done == 1:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lnn.run_sweep(config, str(tmp_path / "again"), stop)
    resumed = lnn.run_sweep(config, str(tmp_path / "again"))
    assert resumed.complete and resumed.cells_resumed >= 1
    with pytest.raises(lnn.InvalidArgument):
        lnn.SweepConfig(system="pendulum", dts=[-1.0])
    with pytest.raises(TypeError):
        lnn.SweepConfig(system="pendulum", dtz=[0.1])


def test_rollout_errors(pendulum_model):
    model, _ = pendulum_model
    times = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="states must have shape"):
        lnn.rollout(model, np.zeros((2, 3)), times)
    with pytest.raises(TypeError, match="float32"):
        lnn.rollout(model, np.zeros((2, 2), dtype=np.float32), times)
    with pytest.raises(ValueError, match="times"):
        lnn.rollout(model, np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(lnn.InvalidArgument):
        lnn.rollout(model, np.zeros((2, 2)), times, integrator="euler")
    with pytest.raises(TypeError, match="dynamics"):
        lnn.rollout(42, np.zeros((2, 2)), times)
    with pytest.raises(lnn.InvalidArgument):
        lnn.evaluate(model, "double_pendulum", trajectories=1, t_end=1, held_out=10)
