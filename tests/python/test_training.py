"""lnn.train, lnn.train_config and lnn.TrainingRun: the same model as
`lnn train` with the same configuration (keywords or its TOML file), the
per-step callback, checkpoints and resume, and refused configurations."""
import numpy as np
import pytest

import lnn

# A small run of the mass–spring system (seconds on two cores).
SMALL = dict(system="mass_spring", hidden=[16, 16], activation="softplus", init="xavier",
             lr=3e-3, schedule="cosine", steps=40, batch=32, seed=3, validate_every=10,
             validation_samples=256, checkpoint_every=0)
CLI_SMALL = ["--system", "mass_spring", "--hidden", "16,16", "--activation", "softplus",
             "--init", "xavier", "--lr", "3e-3", "--schedule", "cosine", "--steps", 40,
             "--batch", 32, "--seed", 3, "--validate-every", 10, "--validation-samples", 256,
             "--checkpoint-every", 0, "-q"]


def test_train_equals_lnn_train(cli, tmp_path):
    path = tmp_path / "cli.safetensors"
    cli.run("train", *CLI_SMALL, "--precision", "f64", "--out", path)
    from_cli = lnn.Model.load(str(path))
    model, result = lnn.train(precision="f64", **SMALL)
    assert model.precision == "f64" and model.spec.hidden == from_cli.spec.hidden == [16, 16]
    np.testing.assert_array_equal(model.parameters, from_cli.parameters)
    assert result.steps == 40 and result.skipped == 0
    assert np.isfinite(result.loss) and np.isfinite(result.val_loss)


def test_the_defaults_are_lnn_trains(cli, tmp_path):
    path = tmp_path / "cli.safetensors"
    cli.run("train", "--steps", 2, "--batch", 8, "--validation-samples", 16, "--out", path, "-q")
    model, _ = lnn.train(steps=2, batch=8, validation_samples=16)
    assert model.precision == "f32" and model.spec.hidden == [128, 128, 128]
    np.testing.assert_array_equal(model.parameters, lnn.Model.load(str(path)).parameters)


def test_a_toml_configuration_as_lnn_train_reads_it(cli, tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('system = "pendulum"\nhidden = "8,8"\nsteps = 25\nbatch = 16\n'
                    'mass-penalty = 0.001\nseed = 7\nprecision = "f64"\nschedule = "constant"\n'
                    'validate-every = 0\ncheckpoint-every = 0\nparam = ["l=1.5"]\n')
    path = tmp_path / "cli.safetensors"
    cli.run("train", "--config", toml, "--out", path, "-q")
    from_cli = lnn.Model.load(str(path))
    model, _ = lnn.train(str(toml))
    np.testing.assert_array_equal(model.parameters, from_cli.parameters)
    config = lnn.train_config(toml, steps=30)  # keywords override the file
    assert '"steps":30' in config.to_json().replace(" ", "")
    assert '"l":1.5' in config.to_json().replace(" ", "")


def test_a_box_of_ones_own_as_lnn_train_draws_it(cli, tmp_path):
    # --q-range/--qdot-range (or TOML's q-range/qdot-range): fresh states from that box.
    path = tmp_path / "cli.safetensors"
    cli.run("train", *CLI_SMALL, "--q-range", "0.5,1", "--qdot-range", "-2,2", "--out", path)
    from_cli = lnn.Model.load(str(path))
    model, _ = lnn.train(q_range="0.5,1", qdot_range="-2,2", **SMALL)
    np.testing.assert_array_equal(model.parameters, from_cli.parameters)
    same, _ = lnn.train(box_q=[[0.5, 1]], box_qdot=[(-2, 2)], **SMALL)
    np.testing.assert_array_equal(same.parameters, from_cli.parameters)
    default, _ = lnn.train(**SMALL)
    assert not np.array_equal(default.parameters, from_cli.parameters)
    with pytest.raises(ValueError, match="not LO,HI pairs"):
        lnn.train_config(q_range="0,1,2", qdot_range="0,1", **SMALL)


def test_the_callback_sees_every_step_and_its_exception_propagates():
    seen = []
    model, result = lnn.train(callback=seen.append, **SMALL)
    assert [p.step for p in seen] == list(range(1, 41))
    assert all(p.total == 40 and np.isfinite(p.loss) for p in seen)
    assert [p.step for p in seen if p.validation is not None] == [10, 20, 30, 40]
    assert seen[-1].validation == pytest.approx(result.val_loss)

    class Stop(Exception):
        pass

    def stop_at_5(progress):
        if progress.step == 5:
            raise Stop("enough")

    run = lnn.TrainingRun(lnn.train_config(**SMALL))
    with pytest.raises(Stop, match="enough"):
        run.run(stop_at_5)
    assert run.step == 5


def test_resume_equals_an_uninterrupted_run(tmp_path):
    config = dict(SMALL, steps=60, checkpoint_every=20)
    whole, _ = lnn.train(precision="f64", checkpoint=str(tmp_path / "whole.safetensors"),
                         **config)

    def crash_at_30(progress):
        if progress.step == 30:
            raise KeyboardInterrupt

    part = str(tmp_path / "part.safetensors")
    run = lnn.TrainingRun(lnn.train_config(config, out=part), "f64")
    with pytest.raises(KeyboardInterrupt):
        run.run(crash_at_30)
    resumed = lnn.TrainingRun.resume(part)
    assert resumed.step == 20 and resumed.precision == "f64"
    result = resumed.run()
    assert result.steps == 60
    np.testing.assert_array_equal(resumed.model.parameters, whole.parameters)
    # Extending a finished run, as lnn train --resume --steps.
    longer = lnn.TrainingRun.resume(part, steps=70)
    assert longer.run().steps == 70
    with pytest.raises(lnn.InvalidArgument, match="cannot be shortened"):
        lnn.TrainingRun.resume(part, steps=10)


def test_bad_configurations_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="unknown key 'stpes'"):
        lnn.train_config(stpes=10)
    with pytest.raises(ValueError, match="'log' is an option of the lnn program"):
        lnn.train_config(log="x.csv")
    with pytest.raises(lnn.InvalidArgument, match="steps must be >= 1"):
        lnn.train_config(steps=0)
    with pytest.raises(lnn.InvalidArgument, match="field 'schedule'"):
        lnn.train_config(schedule="sometimes")
    with pytest.raises(lnn.InvalidArgument, match="n = 3"):
        lnn.train_config(system="pendulum", n=3)
    with pytest.raises(lnn.InvalidArgument):
        lnn.train_config(system="no_such_system")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        lnn.train_config(param=["l"])
    with pytest.raises(TypeError, match="config must be"):
        lnn.train_config(42)
    with pytest.raises(lnn.FileError):
        lnn.train(dataset=str(tmp_path / "absent.h5"), steps=1)


def test_training_releases_the_gil():
    """Another Python thread runs while a TrainingRun trains (no callback)."""
    import threading
    import time

    run = lnn.TrainingRun(lnn.train_config(SMALL, steps=400, batch=256))
    done = threading.Event()

    def work():
        run.run()
        done.set()

    ticks = 0
    worker = threading.Thread(target=work)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0)
    worker.join()
    elapsed = time.perf_counter() - start
    assert run.step == 400
    # With the GIL held for the whole run the loop would not run during it.
    assert elapsed > 0.05 and ticks > 100, (elapsed, ticks)
