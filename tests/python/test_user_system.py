"""A system that is not in the catalogue, end to end: the test writes the
1-D anharmonic oscillator L = q̇²/2 − q²/2 − q⁴/4 (q̈ = −q − q³) as arrays,
trains on them (1000 steps), evaluates on held-out trajectories and rolls the model out
(docs/python.md, "Your own system")."""
import numpy as np
import pytest

import lnn


def qdd(q):
    return -q - q**3


def energy(y):
    q, v = y[..., 0], y[..., 1]
    return 0.5 * v**2 + 0.5 * q**2 + 0.25 * q**4


def trajectories(rng, count, t_end=2.0, rate=10, substeps=50):
    """RK4 in numpy at h = 1 / (rate · substeps): (T, S, 2) states, (T, S, 1) q̈, times."""
    times = np.arange(int(round(t_end * rate)) + 1) / rate
    y = np.column_stack([rng.uniform(-1.5, 1.5, count), rng.uniform(-1.0, 1.0, count)])
    h = 1.0 / (rate * substeps)
    f = lambda y: np.column_stack([y[:, 1], qdd(y[:, 0])])  # noqa: E731
    out = [y]
    for _ in range(len(times) - 1):
        for _ in range(substeps):
            k1 = f(y)
            k2 = f(y + 0.5 * h * k1)
            k3 = f(y + 0.5 * h * k2)
            k4 = f(y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(y)
    states = np.ascontiguousarray(np.stack(out, axis=1))
    return states, qdd(states[..., :1]), times


def dataset(rng, count, energies=True):
    states, acc, times = trajectories(rng, count)
    return lnn.Dataset(states, acc, times=times, system="anharmonic_oscillator",
                       energies=energy(states) if energies else None, generator='{"by":"test"}')


# Normalised inputs (scale_inputs) and lr 1e-2: from xavier or lnn starts
# without them the run stayed at an L1 of about 0.25 of the mean |q̈| for
# 3000 steps (measured while writing this test).
CONFIG = dict(hidden=[32, 32], activation="softplus", init="lnn", scale_inputs=True, lr=1e-2,
              schedule="cosine", steps=1000, batch=64, seed=3, validate_every=100,
              checkpoint_every=0, validation_fraction=0.1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    rng = np.random.default_rng(7)
    tmp = tmp_path_factory.mktemp("user")
    train_set = dataset(rng, 40)
    path = str(tmp / "train.h5")
    train_set.save(path)
    model, result = lnn.train(dataset=path, precision="f64", **CONFIG)
    held_out = dataset(rng, 10, energies=False)
    return model, result, path, held_out, tmp


def test_training_on_the_arrays_equals_training_on_the_file(trained):
    model, _, path, _, tmp = trained
    in_memory = lnn.Dataset.load(path)
    again, _ = lnn.train(dataset=in_memory, precision="f64", **CONFIG)
    np.testing.assert_array_equal(again.parameters, model.parameters)
    # With a checkpoint the arrays are written beside it, which resuming reads.
    out = str(tmp / "from_arrays.safetensors")
    lnn.train(dataset=in_memory, precision="f64", out=out, **dict(CONFIG, steps=10))
    assert lnn.Dataset.load(out + ".dataset.h5").points == in_memory.points
    assert lnn.TrainingRun.resume(out).step == 10


def test_the_data_is_a_user_systems(trained):
    _, _, path, held_out, _ = trained
    data = lnn.Dataset.load(path)
    assert data.user_system and data.system == "anharmonic_oscillator" and data.n == 1
    # The numpy integration conserves the energy (the data is what it says).
    assert np.abs(data.energies - data.energies[:, :1]).max() < 1e-9
    assert held_out.energies is None


def test_training_drops_the_held_out_error_well_below_the_accelerations(trained):
    model, result, _, held_out, _ = trained
    assert result.steps == 1000 and result.skipped == 0
    scale = np.abs(held_out.accelerations).mean()
    untrained = lnn.Model(model.spec, precision="f64", init="lnn", seed=3)
    before = lnn.evaluate(untrained, held_out)["acc_l1"]
    report = lnn.evaluate(model, held_out, integrator="variational", dt=0.01)
    assert report["acc_points"] == 10 * 21
    assert report["acc_l1"] < 0.1 * scale, (report["acc_l1"], scale, before)
    assert report["acc_l1"] < 0.2 * before
    # Rollouts from the held-out trajectories' first states stay close to them
    # over t = 0 .. 2, and the model conserves its own energy.
    assert report["position_error"]["count"] == 10
    assert report["position_error"]["median"] < 0.05
    assert report["energy_drift"]["max"] < 1e-3


def test_rolling_out_the_model_follows_the_true_trajectories(trained):
    model, _, _, held_out, _ = trained
    y0 = np.ascontiguousarray(held_out.states[:, 0])
    r = lnn.rollout(model, y0, held_out.times, integrator="variational", dt=0.01)
    assert (r.status == 0).all()
    error = np.abs(r.states[..., 0] - held_out.states[..., 0])
    assert np.median(error[:, -1]) < 0.05
    # Its own energy is conserved by the variational integrator.
    assert np.abs(r.energies - r.energies[:, :1]).max() < 1e-3 * np.abs(r.energies).max()


def test_lnn_train_on_the_users_file_gives_the_same_model(cli, trained):
    model, _, path, held_out, tmp = trained
    out = tmp / "cli.safetensors"
    cli.run("train", "--dataset", path, "--hidden", "32,32", "--activation", "softplus",
            "--init", "lnn", "--scale-inputs", "--lr", "1e-2", "--schedule", "cosine", "--steps", 1000,
            "--batch", 64, "--seed", 3, "--validate-every", 100, "--checkpoint-every", 0,
            "--validation-fraction", 0.1, "--precision", "f64", "--out", out, "-q")
    np.testing.assert_array_equal(lnn.Model.load(str(out)).parameters, model.parameters)
    held_path = str(tmp / "held_out.h5")
    held_out.save(held_path)
    report = tmp / "e.json"
    cli.run("evaluate", "--model", out, "--dataset", held_path, "--trajectories", 0,
            "--json", report, "-q")
    import json
    assert json.loads(report.read_text())["acc_l1"] == lnn.evaluate(model, held_out)["acc_l1"]


def test_a_sweep_of_the_users_system(cli, trained):
    """The held-out trajectories as a sweep's ground truth (SweepConfig.dataset)."""
    import csv

    model, _, _, held_out, tmp = trained
    model_path = str(tmp / "model.safetensors")
    model.save(model_path)
    held_path = str(tmp / "held_out_sweep.h5")
    held_out.save(held_path)
    config = lnn.SweepConfig(dataset=held_path, models=[model_path],
                             integrators=["rk4", "variational"], dts=[0.01],
                             horizons=[1.0, 2.0], trajectories=5)
    result = lnn.run_sweep(config, str(tmp / "sweep"))
    assert result.complete and result.cells_total == 2
    with open(tmp / "sweep" / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["trajectories"] for r in rows} == {"5"}
    for r in rows:
        assert r["energy_max_median"] == "nan"       # no energy function for this system
        assert float(r["state_final_median"]) < 0.05  # close to the held-out trajectories
        assert float(r["model_energy_max_median"]) < 1e-2
    cli.run("sweep", "--dataset", held_path, "--model", model_path, "--integrators",
            "rk4,variational", "--dt", 0.01, "--horizons", "1,2", "--trajectories", 5, "--out",
            tmp / "cli", "--no-plots", "-q")
    for table in ("summary.csv", "trajectories.csv", "paths.csv"):
        assert (tmp / "sweep" / table).read_text() == (tmp / "cli" / table).read_text()
    with pytest.raises(lnn.InvalidArgument, match="analytic"):
        lnn.SweepConfig(dataset=held_path, models=["analytic"], trajectories=5, horizons=[1.0])
