"""lnn.Engine (AnyEngine): every call against the C++ numbers (`lnn predict`,
the engine's own identities, finite differences of its loss), f32/f64
consistency, arrays read in place, errors that name the argument, the GIL."""
import gc
import threading
import time

import numpy as np
import pytest

import lnn
from conftest import random_states


@pytest.fixture
def model64():
    return lnn.Model(n=2, hidden=[12, 12], activation="softplus", precision="f64", init="convex",
                     seed=11)


@pytest.mark.parametrize("precision", ["f32", "f64"])
@pytest.mark.parametrize("with_tau", [False, True])
def test_accelerations_and_energy_equal_lnn_predict(cli, tmp_path, rng, precision, with_tau):
    model = lnn.Model(n=2, hidden=[16, 16], embedding=["angle", "plain"], precision=precision,
                      init="lnn", seed=4)
    path = str(tmp_path / "model.safetensors")
    model.save(path)
    states = random_states(rng, 64, 2, scale=2.0)
    tau = rng.normal(size=(64, 2)) if with_tau else None
    acc_cli, energy_cli, status_cli, pivot_cli = cli.predict(path, states, tmp_path, tau=tau)

    engine = lnn.Engine(lnn.Model.load(path))
    assert engine.precision == precision
    acc, status, pivot = engine.accelerations(states, tau, return_pivot=True)
    energy = engine.energy(states)
    assert acc.dtype == energy.dtype == np.float64 and status.dtype == np.int8
    assert [lnn.SolveStatus(s).name for s in status] == status_cli
    if precision == "f32":  # the CLI prints float32 values to float32's shortest text
        np.testing.assert_array_equal(acc.astype(np.float32), acc_cli.astype(np.float32))
        np.testing.assert_array_equal(energy.astype(np.float32), energy_cli.astype(np.float32))
        np.testing.assert_array_equal(pivot.astype(np.float32), pivot_cli.astype(np.float32))
    else:  # shortest round-trip text: the same doubles
        np.testing.assert_array_equal(acc, acc_cli)
        np.testing.assert_array_equal(energy, energy_cli)
        np.testing.assert_array_equal(pivot, pivot_cli)


def test_f64_engine_of_an_f32_model_equals_lnn_predict_precision_f64(cli, tmp_path, rng):
    model = lnn.Model(n=2, hidden=[16, 16], precision="f32", seed=9)
    path = str(tmp_path / "model.safetensors")
    model.save(path)
    states = random_states(rng, 32, 2)
    acc_cli, energy_cli, _, _ = cli.predict(path, states, tmp_path, precision="f64")
    engine = lnn.Engine(model, precision="f64")
    np.testing.assert_array_equal(engine.accelerations(states)[0], acc_cli)
    np.testing.assert_array_equal(engine.energy(states), energy_cli)


def test_f32_and_f64_agree(rng):
    m32 = lnn.Model(n=3, hidden=[32, 32], precision="f32", init="convex", seed=2)
    m64 = m32.to("f64")
    states = random_states(rng, 50, 3)
    e32, e64 = lnn.Engine(m32), lnn.Engine(m64)
    acc32, s32 = e32.accelerations(states)
    acc64, s64 = e64.accelerations(states)
    assert (s32 == 0).all() and (s64 == 0).all()
    np.testing.assert_allclose(acc32, acc64, rtol=2e-3, atol=2e-3 * np.abs(acc64).max())
    np.testing.assert_allclose(e32.energy(states), e64.energy(states), rtol=1e-4,
                               atol=1e-5 * np.abs(e64.energy(states)).max())


def test_float32_arrays_on_an_f32_engine(rng):
    """float32 in, float32 out, the same values as float64 arrays converted by the engine."""
    engine = lnn.Engine(lnn.Model(n=2, hidden=[16], precision="f32", seed=1))
    states64 = random_states(rng, 20, 2)
    states32 = states64.astype(np.float32)
    acc32, _ = engine.accelerations(states32)
    assert acc32.dtype == np.float32
    acc64, _ = engine.accelerations(states32.astype(np.float64))
    np.testing.assert_array_equal(acc32, acc64.astype(np.float32))
    L32 = engine.lagrangian(states32)
    assert L32.dtype == np.float32


def test_identities_between_the_calls(model64, rng):
    """E = q̇·∂L/∂q̇ − L; the Hessian's q̇q̇ block is M; q̈ = M⁻¹(f − C·q̇ + τ)."""
    n, B = 2, 16
    engine = lnn.Engine(model64)
    states = random_states(rng, B, n)
    tau = rng.normal(size=(B, n))
    L = engine.lagrangian(states)
    L2, grad = engine.gradient(states)
    np.testing.assert_array_equal(L, L2)
    qdot = states[:, n:]
    np.testing.assert_allclose(engine.energy(states), (qdot * grad[:, n:]).sum(1) - L, rtol=1e-12,
                               atol=1e-12)
    H, grad_h = engine.hessian(states, return_gradient=True)
    assert H.shape == (B, 2 * n, 2 * n)
    np.testing.assert_allclose(grad_h, grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(engine.hessian(states), H, rtol=0, atol=0)
    M, Cv, f = engine.euler_lagrange_terms(states)
    np.testing.assert_allclose(M, H[:, n:, n:], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f, grad[:, :n], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Cv, np.einsum("bij,bj->bi", H[:, n:, :n], qdot), rtol=1e-10,
                               atol=1e-12)
    acc, status = engine.accelerations(states, tau)
    assert (status == lnn.SolveStatus.ok).all()
    np.testing.assert_allclose(acc, np.linalg.solve(M, (f - Cv + tau)[..., None])[..., 0],
                               rtol=1e-9, atol=1e-11)


def test_hessian_is_the_derivative_of_the_gradient(model64, rng):
    engine = lnn.Engine(model64)
    states = random_states(rng, 3, 2)
    H = engine.hessian(states)
    h = 1e-6
    for k in range(4):
        plus, minus = states.copy(), states.copy()
        plus[:, k] += h
        minus[:, k] -= h
        column = (engine.gradient(plus)[1] - engine.gradient(minus)[1]) / (2 * h)
        np.testing.assert_allclose(H[:, :, k], column, rtol=1e-6, atol=1e-7)


def _loss(engine, states, targets, **kw):
    return engine.loss_gradient(states, targets, input_grad=False, **kw)[0].loss


@pytest.mark.parametrize("loss", ["mse", "l1"])
def test_loss_gradient_against_finite_differences(model64, rng, loss):
    engine = lnn.Engine(model64)
    states = random_states(rng, 6, 2)
    targets = rng.normal(size=(6, 2))
    tau = rng.normal(size=(6, 2))
    result, param_grad, state_grad = engine.loss_gradient(states, targets, tau, loss=loss)
    assert result.solve.failures == 0 and float(result) == result.loss
    assert param_grad.shape == (model64.parameter_count,) and state_grad.shape == states.shape
    np.testing.assert_allclose(result.loss, _loss(engine, states, targets, tau=tau, loss=loss),
                               rtol=0, atol=0)

    p = model64.parameters  # a view: the engine (same precision) reads it in place
    h = 1e-6
    fd = np.empty_like(param_grad)
    for i in range(p.size):
        saved = p[i]
        p[i] = saved + h
        up = _loss(engine, states, targets, tau=tau, loss=loss)
        p[i] = saved - h
        down = _loss(engine, states, targets, tau=tau, loss=loss)
        p[i] = saved
        fd[i] = (up - down) / (2 * h)
    assert np.linalg.norm(fd - param_grad) <= 1e-6 * np.linalg.norm(param_grad)

    fd_states = np.empty_like(states)
    for idx in np.ndindex(*states.shape):
        plus, minus = states.copy(), states.copy()
        plus[idx] += h
        minus[idx] -= h
        fd_states[idx] = (_loss(engine, plus, targets, tau=tau, loss=loss)
                          - _loss(engine, minus, targets, tau=tau, loss=loss)) / (2 * h)
    assert np.linalg.norm(fd_states - state_grad) <= 1e-6 * np.linalg.norm(state_grad)


def test_weighted_loss_and_mass_penalty(rng):
    model = lnn.Model(n=2, hidden=[12, 12], precision="f64", init="lnn", seed=3)
    engine = lnn.Engine(model)
    B = 40
    states = random_states(rng, B, 2, scale=3.0)
    targets = rng.normal(size=(B, 2))
    weights = rng.uniform(0.5, 2.0, size=B)
    acc, status = engine.accelerations(states)
    ok = status == 0
    per_sample = np.abs(acc - targets).mean(1)
    result, _, _ = engine.loss_gradient(states, targets, weights=weights, mass_penalty=0.5)
    assert result.solve.samples == B and result.solve.failures == (~ok).sum()
    np.testing.assert_allclose(result.data_loss,
                               (weights * per_sample)[ok].sum() / weights[ok].sum(), rtol=1e-12)
    M = engine.euler_lagrange_terms(states)[0]
    penalty = 0.5 * np.maximum(-np.linalg.eigvalsh(M), 0).sum() / B
    np.testing.assert_allclose(result.penalty, penalty, rtol=1e-9, atol=1e-15)
    assert result.loss == pytest.approx(result.data_loss + result.penalty, rel=1e-15)


def test_engine_in_the_other_precision_refreshes(rng):
    model = lnn.Model(n=2, hidden=[8], precision="f32", seed=1)
    engine = lnn.Engine(model, precision="f64")  # keeps a converted copy
    states = random_states(rng, 8, 2)
    before = engine.energy(states)
    model.parameters[:] *= 2
    np.testing.assert_array_equal(engine.energy(states), before)  # the copy, until refreshed
    engine.refresh_parameters()
    np.testing.assert_array_equal(engine.energy(states),
                                  lnn.Engine(model, precision="f64").energy(states))


def test_engine_in_the_models_precision_reads_the_view(rng):
    model = lnn.Model(n=2, hidden=[8], precision="f64", seed=1)
    engine = lnn.Engine(model)
    states = random_states(rng, 8, 2)
    before = engine.lagrangian(states)
    model.parameters[:] *= 2  # L is not linear in the parameters, but changes
    after = engine.lagrangian(states)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, lnn.Engine(model).lagrangian(states))


def test_the_engine_keeps_its_model_alive(rng):
    engine = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1))
    gc.collect()
    states = random_states(rng, 4, 2)
    expected = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1)).energy(states)
    np.testing.assert_array_equal(engine.energy(states), expected)


def test_inputs_are_read_in_place(rng):
    states = random_states(rng, 10, 2)
    address = states.__array_interface__["data"][0]
    assert lnn._lnn._input_address(states) == address
    rows = states[3:7]  # a C-contiguous slice: still a view
    assert lnn._lnn._input_address(rows) == address + 3 * 4 * 8
    states32 = states.astype(np.float32)
    assert lnn._lnn._input_address(states32) == states32.__array_interface__["data"][0]
    frozen = states.copy()
    frozen.flags.writeable = False  # read-only arrays are taken as they are
    assert lnn._lnn._input_address(frozen) == frozen.__array_interface__["data"][0]
    engine = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1))
    np.testing.assert_array_equal(engine.energy(frozen), engine.energy(states))
    np.testing.assert_array_equal(engine.energy(rows), engine.energy(states)[3:7])


def test_outputs_are_new_arrays(rng):
    engine = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1))
    states = random_states(rng, 5, 2)
    a = engine.energy(states)
    b = engine.energy(states)
    assert a.flags.c_contiguous and a.flags.writeable
    assert not a.flags.owndata  # the engine's own output buffer, handed over without a copy
    assert a.__array_interface__["data"][0] != b.__array_interface__["data"][0]
    assert engine.energy(np.empty((0, 4))).shape == (0,)


def test_argument_errors_name_the_argument(rng):
    engine = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1))
    states = random_states(rng, 6, 2)
    targets = np.zeros((6, 2))
    with pytest.raises(TypeError, match="states has dtype int64"):
        engine.accelerations(states.astype(np.int64))
    with pytest.raises(TypeError, match="states has dtype float32 but this engine evaluates in f64"):
        engine.energy(states.astype(np.float32))
    with pytest.raises(TypeError, match="states must be an array"):
        engine.energy(states.tolist())
    with pytest.raises(ValueError, match=r"states must have shape \(B, 2n\) = \(B, 4\)"):
        engine.energy(states[:, :3].copy())
    with pytest.raises(ValueError, match=r"got \(24,\)"):
        engine.energy(states.ravel())
    with pytest.raises(ValueError, match="states is not C-contiguous"):
        engine.accelerations(states[::2])
    with pytest.raises(ValueError, match="states is not C-contiguous"):
        engine.accelerations(np.asfortranarray(states))
    with pytest.raises(TypeError, match="tau has dtype float32 but states has float64"):
        engine.accelerations(states, np.zeros((6, 2), np.float32))
    with pytest.raises(ValueError, match=r"tau must have shape \(B, n\) = \(6, 2\)"):
        engine.accelerations(states, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="targets must have shape"):
        engine.loss_gradient(states, np.zeros((6, 3)))
    with pytest.raises(ValueError, match="weights must have shape"):
        engine.loss_gradient(states, targets, weights=np.ones(5))
    with pytest.raises(lnn.InvalidArgument, match="loss"):
        engine.loss_gradient(states, targets, loss="huber")
    with pytest.raises(lnn.InvalidArgument):
        engine.loss_gradient(states, targets, weights=-np.ones(6))
    with pytest.raises(lnn.InvalidArgument):
        engine.loss_gradient(states, targets, mass_penalty=-1.0)


def test_arrays_nanobind_cannot_take_in_place_are_refused(rng):
    engine = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1))
    states = random_states(rng, 3, 2)
    with pytest.raises(TypeError, match=r"states must be an array .* byte order, got ndarray of dtype >f8"):
        engine.energy(states.astype(">f8"))
    buffer = bytearray(states.nbytes + 1)
    unaligned = np.frombuffer(buffer, dtype=np.float64, count=states.size, offset=1).reshape(3, 4)
    unaligned[:] = states
    with pytest.raises(ValueError, match="states is not aligned"):
        engine.energy(unaligned)


def test_dlpack_producers_in_host_memory(rng):
    """An object that offers only __dlpack__ (as PyTorch and JAX CPU arrays do) is read in place."""

    class DLPackOnly:
        def __init__(self, array):
            self.array = array

        def __dlpack__(self, **kwargs):
            return self.array.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    engine = lnn.Engine(lnn.Model(n=2, hidden=[8], precision="f64", seed=1))
    states = random_states(rng, 5, 2)
    wrapped = DLPackOnly(states)
    assert lnn._lnn._input_address(wrapped) == states.__array_interface__["data"][0]
    np.testing.assert_array_equal(engine.energy(wrapped), engine.energy(states))


def test_construction_errors():
    model = lnn.Model(n=2, hidden=[8], seed=1)
    with pytest.raises(ValueError, match="cholesky"):  # the message lists the names
        lnn.Engine(model, solver="qr")
    with pytest.raises(ValueError):
        lnn.Engine(model, precision="f16")
    with pytest.raises(ValueError):
        lnn.Engine(model, device="tpu")
    with pytest.raises(lnn.InvalidArgument):
        lnn.Engine(model, chunk=0)
    if not lnn.cuda_compiled():
        with pytest.raises(lnn.Error, match="CUDA"):
            lnn.Engine(model, device="cuda")


def test_solvers_and_statuses(rng):
    """A zero model has M = 0: every solve fails, NaN rows, the status says why."""
    engine = lnn.Engine(lnn.Model(n=2, hidden=[4], init=None, precision="f64"), solver="cholesky")
    acc, status = engine.accelerations(random_states(rng, 3, 2))
    assert np.isnan(acc).all()
    assert (status != lnn.SolveStatus.ok).all()


def test_the_gil_is_released_during_engine_calls(rng):
    """Another Python thread runs while an engine call is in progress."""
    engine = lnn.Engine(lnn.Model(n=2, hidden=[128, 128], precision="f64", seed=1))
    states = random_states(rng, 20000, 2)
    engine.accelerations(states[:100])
    in_call = threading.Event()
    done = threading.Event()

    def work():
        in_call.set()
        engine.accelerations(states)
        done.set()

    ticks = 0
    worker = threading.Thread(target=work)
    start = time.perf_counter()
    worker.start()
    in_call.wait()
    while not done.is_set():
        ticks += 1
        time.sleep(0)
    worker.join()
    elapsed = time.perf_counter() - start
    # With the GIL held for the whole call the loop would run only around it.
    assert ticks > 20, (ticks, elapsed)


def test_one_engine_from_two_threads(rng):
    engine = lnn.Engine(lnn.Model(n=2, hidden=[32], precision="f64", seed=1))
    states = [random_states(rng, 500, 2) for _ in range(2)]
    expected = [engine.accelerations(s)[0] for s in states]
    results = [None, None]

    def work(i):
        for _ in range(5):
            results[i] = engine.accelerations(states[i])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_out_arrays_are_written_in_place(model64, rng):
    """out= writes the caller's array (no new one), with the same values as
    the call without it; wrong dtype, shape, order or a read-only array is
    refused by name."""
    engine = lnn.Engine(model64)
    x = random_states(rng, 16, 2)
    acc, status = engine.accelerations(x)
    out = np.full((16, 2), 7.0)
    got, status2 = engine.accelerations(x, out=out)
    assert got is out
    np.testing.assert_array_equal(out, acc)
    np.testing.assert_array_equal(status2, status)
    got, _, pivot = engine.accelerations(x, return_pivot=True, out=out)
    assert got is out and pivot.shape == (16,)
    for name in ("lagrangian", "energy"):
        o = np.empty(16)
        assert getattr(engine, name)(x, out=o) is o
        np.testing.assert_array_equal(o, getattr(engine, name)(x))
    with pytest.raises(TypeError, match="out must have dtype float64"):
        engine.accelerations(x, out=np.empty((16, 2), np.float32))
    with pytest.raises(ValueError, match=r"out must have shape \(16, 2\)"):
        engine.accelerations(x, out=np.empty((16, 3)))
    with pytest.raises(ValueError, match="out is not C-contiguous"):
        engine.accelerations(x, out=np.empty((2, 16)).T)
    frozen = np.empty((16, 2))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        engine.accelerations(x, out=frozen)
