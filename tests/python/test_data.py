"""lnn.Dataset and lnn.generate_*: the same arrays as `lnn generate`'s files,
HDF5 round trips, datasets of the user's own system, and clear errors."""
import numpy as np
import pytest

import lnn


def _same(a, b):
    for field in ("states", "states_true", "accelerations", "energies", "tau", "times", "status"):
        x, y = getattr(a, field), getattr(b, field)
        if x is None or y is None:
            assert x is None and y is None, field
        else:
            np.testing.assert_array_equal(x, y, err_msg=field)
    assert (a.kind, a.system, a.n, a.parameters, a.angles, a.actuated, a.seed) == \
        (b.kind, b.system, b.n, b.parameters, b.angles, b.actuated, b.seed)


def test_generate_derivatives_equals_lnn_generate(cli, tmp_path):
    path = tmp_path / "d.h5"
    cli.run("generate", "--system", "double_pendulum", "--kind", "derivatives", "--samples", 300,
            "--seed", 4, "--out", path, "-q")
    from_cli = lnn.Dataset.load(str(path))
    ours = lnn.generate_derivatives("double_pendulum", 300, seed=4)
    _same(ours, from_cli)
    assert ours.states.shape == (300, 4) and ours.accelerations.shape == (300, 2)
    assert ours.energies.shape == (300,) and ours.times is None


def test_generate_trajectories_equals_lnn_generate(cli, tmp_path):
    path = tmp_path / "t.h5"
    cli.run("generate", "--system", "pendulum", "--kind", "trajectories", "--trajectories", 3,
            "--t-end", 1.5, "--rate", 10, "--seed", 2, "--out", path, "-q")
    from_cli = lnn.Dataset.load(str(path))
    ours = lnn.generate_trajectories(lnn.System("pendulum"), 3, t_end=1.5, rate=10, seed=2)
    _same(ours, from_cli)
    assert ours.kind == "trajectories" and ours.trajectories == 3
    assert ours.states.shape == (3, 16, 2) and ours.times.shape == (16,)
    np.testing.assert_array_equal(ours.accepted, from_cli.accepted)


def test_fields_are_read_only_views_that_keep_the_dataset_alive():
    data = lnn.generate_derivatives("mass_spring", 50, seed=1)
    states = data.states
    assert not states.flags.writeable
    assert np.shares_memory(states, data.states)  # the same memory, twice
    with pytest.raises(ValueError):
        states[0, 0] = 1.0
    expected = states.copy()
    del data
    np.testing.assert_array_equal(states, expected)


def test_a_catalogue_systems_arrays_round_trip(tmp_path):
    system = lnn.System("pendulum", {"l": 2.0})
    states = system.sample_states(20, seed=3)
    acc, _ = system.accelerations(states)
    data = lnn.Dataset(states, acc, system="pendulum", energies=system.energy(states),
                       parameters={"l": 2.0})
    assert not data.user_system and data.parameters == system.parameters
    data.save(str(tmp_path / "p.h5"))
    _same(lnn.Dataset.load(str(tmp_path / "p.h5")), data)
    with pytest.raises(lnn.InvalidArgument, match="energies"):
        lnn.Dataset(states, acc, system="pendulum")  # a catalogue set needs its energies
    with pytest.raises(lnn.InvalidArgument):
        lnn.Dataset(states, acc, system="pendulum", energies=system.energy(states),
                    parameters={"l": -1.0})


def test_a_user_systems_trajectories_round_trip(tmp_path, rng):
    T, S, n = 4, 6, 2
    states = rng.normal(size=(T, S, 2 * n))
    acc = rng.normal(size=(T, S, n))
    times = np.linspace(0.0, 0.5, S)
    data = lnn.Dataset(states, acc, times=times, system="my_double_well", parameters={"a": 0.5},
                       angles=[False, True], potential_scale=2.0)
    assert data.user_system and data.energies is None
    assert data.kind == "trajectories" and data.points == T * S
    assert data.angles == [False, True] and data.actuated == [False, False]
    path = str(tmp_path / "u.h5")
    data.save(path)
    back = lnn.Dataset.load(path)
    _same(back, data)
    assert back.user_system and back.potential_scale == 2.0 and back.parameters == {"a": 0.5}
    assert "user_system=True" in repr(back)


def test_bad_arrays_name_the_argument(rng):
    states = rng.normal(size=(10, 4))
    acc = rng.normal(size=(10, 2))
    with pytest.raises(TypeError, match="states"):
        lnn.Dataset(states.astype(np.float32), acc, system="mine")
    with pytest.raises(ValueError, match="accelerations must have shape"):
        lnn.Dataset(states, np.zeros((10, 1)), system="mine")
    with pytest.raises(ValueError, match="states must have shape"):
        lnn.Dataset(np.zeros((10, 3)), acc, system="mine")
    with pytest.raises(ValueError, match="C-contiguous"):
        lnn.Dataset(np.asfortranarray(states), acc, system="mine")
    with pytest.raises(ValueError, match="energies"):
        lnn.Dataset(states, acc, system="mine", energies=np.zeros(9))
    with pytest.raises(ValueError, match="times"):
        lnn.Dataset(rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 2)), times=np.zeros(4),
                    system="mine")
    with pytest.raises(ValueError, match="angles"):
        lnn.Dataset(states, acc, system="mine", angles=[True])
    with pytest.raises(TypeError, match="status"):
        lnn.Dataset(states, acc, system="mine", status=np.zeros(10))
    bad = states.copy()
    bad[3, 1] = np.nan
    with pytest.raises(lnn.InvalidArgument, match="NaN at point 3"):
        lnn.Dataset(bad, acc, system="mine")
    with pytest.raises(TypeError, match="system"):
        lnn.generate_derivatives(3.0)
    with pytest.raises(lnn.InvalidArgument):
        lnn.generate_derivatives("no_such_system")


def test_missing_file_is_a_file_error(tmp_path):
    path = str(tmp_path / "absent.h5")
    with pytest.raises(lnn.FileError) as info:
        lnn.Dataset.load(path)
    assert info.value.path == path
