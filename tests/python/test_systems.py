"""lnn.systems() and lnn.System: the catalogue, exact q̈ and energies."""
import json

import numpy as np
import pytest

import lnn


def test_names_and_parameters_equal_lnn_systems(cli):
    catalogue = json.loads(cli.run("systems", "--json"))
    assert lnn.systems() == [entry["name"] for entry in catalogue]
    for entry in catalogue:
        system = lnn.System(entry["name"])
        assert system.dof == entry["n"]
        assert system.coordinates == entry["coordinates"]
        assert system.angles == [bool(a) for a in entry["angles"]]
        assert system.parameters == {p["name"]: p["default"] for p in entry["parameters"]}


def test_pendulum_in_closed_form(rng):
    m, l, g = 2.0, 0.5, 9.8
    system = lnn.System("pendulum", {"m": m, "l": l})
    assert system.parameters == {"m": m, "l": l, "g": g}
    states = rng.uniform(-3, 3, size=(25, 2))
    q, qdot = states[:, 0], states[:, 1]
    acc, status = system.accelerations(states)
    assert acc.shape == (25, 1) and (status == lnn.SolveStatus.ok).all()
    np.testing.assert_allclose(acc[:, 0], -(g / l) * np.sin(q), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(system.energy(states),
                               0.5 * m * l * l * qdot**2 - m * g * l * np.cos(q), rtol=1e-14,
                               atol=1e-14)
    np.testing.assert_allclose(system.lagrangian(states),
                               0.5 * m * l * l * qdot**2 + m * g * l * np.cos(q), rtol=1e-14,
                               atol=1e-14)
    tau = rng.normal(size=(25, 1))
    np.testing.assert_allclose(system.accelerations(states, tau)[0],
                               acc + tau / (m * l * l), rtol=1e-12, atol=1e-12)


def test_a_learned_model_against_the_exact_system(rng):
    """The comparison the bindings are for: same states, learned vs exact."""
    system = lnn.System("double_pendulum")
    states = system.sample_states(16, seed=5)
    exact, _ = system.accelerations(states)
    model = lnn.Model(n=2, hidden=[16, 16], embedding="angle", precision="f64", seed=1)
    learned, _ = lnn.Engine(model).accelerations(states)
    assert exact.shape == learned.shape == (16, 2)
    assert np.isfinite(exact).all()


def test_sampling_is_counter_based():
    system = lnn.System("double_pendulum")
    states = system.sample_states(10, seed=3)
    assert states.shape == (10, 4)
    np.testing.assert_array_equal(system.sample_states(6, seed=3, first=4), states[4:])
    assert not np.array_equal(system.sample_states(10, seed=4), states)


def test_errors():
    with pytest.raises(lnn.InvalidArgument, match="double_pendulum"):  # lists the known ones
        lnn.System("triple_pendulum")
    with pytest.raises(ValueError, match="m1"):
        lnn.System("double_pendulum", {"mass": 1.0})
    with pytest.raises(ValueError):
        lnn.System("pendulum", {"l": 0.0})
    system = lnn.System("pendulum")
    with pytest.raises(TypeError, match="a System evaluates in float64"):
        system.energy(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(B, 2n\) = \(B, 2\)"):
        system.energy(np.zeros((2, 4)))
