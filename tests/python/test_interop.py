"""lnn inside JAX and PyTorch (lnn.jax, lnn.torch; docs/python.md, "JAX and
PyTorch"): q̈ and its gradients w.r.t. parameters, states and τ against
jax.grad / torch.autograd of the reference formulation (the network written
out in the framework, q̈ from its autodiff Hessian, as the reference study's
code does) in float64, on states where cond(M) <= 100; the VJP against the
loss gradient; the layer's parameter sharing the model's memory."""
import numpy as np
import pytest

import lnn
from conftest import random_states

N = 2
HIDDEN = [16, 16]


def unflatten(params, xp_reshape, n_in, hidden):
    """The model's flat parameters as [(W, b), …, (w, c)] (docs/file-formats.md)."""
    layers, k, width = [], 0, n_in
    for m in hidden + [1]:
        W = xp_reshape(params[k:k + m * width], (m, width))
        k += m * width
        b = params[k:k + m]
        k += m
        layers.append((W, b))
        width = m
    assert k == params.shape[0]
    return layers


@pytest.fixture
def model():
    return lnn.Model(n=N, hidden=HIDDEN, embedding=["angle", "plain"], precision="f64",
                     init="lnn", seed=3)


def well_conditioned_states(model, rng, B):
    """B states whose M has cond <= 100 (the issue's condition for 1e-9)."""
    engine = lnn.Engine(model)
    keep = []
    while sum(len(k) for k in keep) < B:
        x = random_states(rng, 4 * B, N, scale=1.5)
        M, _, _ = engine.euler_lagrange_terms(x)
        ok = np.linalg.cond(M) <= 100
        keep.append(x[ok])
    return np.ascontiguousarray(np.concatenate(keep)[:B])


# ---- JAX --------------------------------------------------------------------------

@pytest.fixture
def jax_x64():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_reference(model):
    import jax
    import jax.numpy as jnp
    """q̈(params, states, tau) written out in JAX, as the reference code does."""
    angle = [e == "angle" for e in model.spec.embedding]
    d0 = sum(2 if a else 1 for a in angle) + N

    def lagrangian(params, x):
        z = []
        for j in range(N):
            z += [jnp.cos(x[j]), jnp.sin(x[j])] if angle[j] else [x[j]]
        z = jnp.stack(z + [x[N + j] for j in range(N)])
        layers = unflatten(params, jnp.reshape, d0, HIDDEN)
        for W, b in layers[:-1]:
            z = jnp.logaddexp(W @ z + b, 0.0)  # softplus
        w, c = layers[-1]
        return (w @ z + c)[0]

    def qdd(params, x, t):
        g = jax.grad(lagrangian, argnums=1)(params, x)
        H = jax.hessian(lagrangian, argnums=1)(params, x)
        M, C = H[N:, N:], H[N:, :N]
        return jnp.linalg.solve(M, g[:N] - C @ x[N:] + t)

    return jax.vmap(qdd, in_axes=(None, 0, 0))


def test_jax_accelerations_and_gradients_equal_the_reference(model, rng, jax_x64):
    jax, jnp = jax_x64, jax_x64.numpy
    import lnn.jax as lj
    engine = lnn.Engine(model)
    f = lj.accelerations_fn(engine, model)
    ref = jax_reference(model)
    params = jnp.asarray(model.parameters.copy())
    x = jnp.asarray(well_conditioned_states(model, rng, 24))
    tau = jnp.asarray(rng.normal(size=(24, N)))
    w = jnp.asarray(rng.normal(size=(24, N)))

    np.testing.assert_allclose(f(params, x, tau), ref(params, x, tau), rtol=1e-10, atol=1e-12)

    def loss(fn):
        return lambda p, s, t: jnp.sum(w * fn(p, s, t)) + 0.5 * jnp.sum(fn(p, s, t) ** 2)

    got = jax.jit(jax.grad(loss(f), argnums=(0, 1, 2)))(params, x, tau)
    want = jax.grad(loss(ref), argnums=(0, 1, 2))(params, x, tau)
    for g, r, name in zip(got, want, ["params", "states", "tau"]):
        rel = float(jnp.max(jnp.abs(g - r)) / jnp.max(jnp.abs(r)))
        assert rel <= 1e-9, f"d loss / d {name}: relative difference {rel:.3g}"
    # Without τ.
    g0 = jax.grad(lambda p: jnp.sum(w * f(p, x)))(params)
    r0 = jax.grad(lambda p: jnp.sum(w * ref(p, x, jnp.zeros_like(tau))))(params)
    assert float(jnp.max(jnp.abs(g0 - r0)) / jnp.max(jnp.abs(r0))) <= 1e-9


def test_jax_layer_trains_inside_a_jitted_step(model, rng, jax_x64):
    jax, jnp = jax_x64, jax_x64.numpy
    import lnn.jax as lj
    f = lj.accelerations_fn(lnn.Engine(model), model)
    system = lnn.System("double_pendulum")
    x = system.sample_states(64, seed=1)
    target, _ = system.accelerations(x)
    x, target = jnp.asarray(x), jnp.asarray(target)

    @jax.jit
    def step(p):
        loss, g = jax.value_and_grad(lambda q: jnp.mean(jnp.abs(f(q, x) - target)))(p)
        return p - 1e-5 * g, loss  # plain SGD: a fresh model's gradients are ~10^3

    p = jnp.asarray(model.parameters.copy())
    losses = []
    for _ in range(8):
        p, loss = step(p)
        losses.append(float(loss))
    assert np.isfinite(losses).all() and (np.diff(losses) < 0).all(), losses


# ---- PyTorch ----------------------------------------------------------------------

def torch_reference(torch, model, params, x, tau):
    """q̈ written out in PyTorch: autograd Hessian of the network, batched."""
    angle = [e == "angle" for e in model.spec.embedding]
    d0 = sum(2 if a else 1 for a in angle) + N
    layers = unflatten(params, torch.reshape, d0, HIDDEN)
    cols = []
    for j in range(N):
        cols += [torch.cos(x[:, j]), torch.sin(x[:, j])] if angle[j] else [x[:, j]]
    z = torch.stack(cols + [x[:, N + j] for j in range(N)], dim=1)
    for W, b in layers[:-1]:
        z = torch.logaddexp(z @ W.T + b, torch.zeros((), dtype=z.dtype))
    w, c = layers[-1]
    L = (z @ w.T + c)[:, 0]
    g = torch.autograd.grad(L.sum(), x, create_graph=True)[0]
    H = torch.stack([torch.autograd.grad(g[:, i].sum(), x, create_graph=True)[0]
                     for i in range(2 * N)], dim=1)
    M, C = H[:, N:, N:], H[:, N:, :N]
    rhs = g[:, :N] - (C @ x[:, N:, None])[..., 0] + tau
    return torch.linalg.solve(M, rhs)


def test_torch_accelerations_and_gradients_equal_the_reference(model, rng):
    torch = pytest.importorskip("torch")
    import lnn.torch as lt
    layer = lt.LagrangianLayer(model)
    x0 = well_conditioned_states(model, rng, 24)
    tau0 = rng.normal(size=(24, N))
    w = torch.from_numpy(rng.normal(size=(24, N)))

    def grads(fn):
        p = torch.tensor(model.parameters.copy(), requires_grad=True)
        x = torch.tensor(x0, requires_grad=True)
        t = torch.tensor(tau0, requires_grad=True)
        acc = fn(p, x, t)
        (torch.sum(w * acc) + 0.5 * torch.sum(acc ** 2)).backward()
        return acc.detach(), p.grad, x.grad, t.grad

    got = grads(lambda p, x, t: lt.accelerations(layer.engine, model, p, x, t))
    want = grads(lambda p, x, t: torch_reference(torch, model, p, x, t))
    torch.testing.assert_close(got[0], want[0], rtol=1e-10, atol=1e-12)
    for g, r, name in zip(got[1:], want[1:], ["params", "states", "tau"]):
        rel = float((g - r).abs().max() / r.abs().max())
        assert rel <= 1e-9, f"d loss / d {name}: relative difference {rel:.3g}"


def test_torch_layer_shares_the_models_memory_and_trains(model, rng):
    torch = pytest.importorskip("torch")
    import lnn.torch as lt
    layer = lt.LagrangianLayer(model)
    assert layer.params.data_ptr() == model.parameters.ctypes.data
    system = lnn.System("double_pendulum")
    x = system.sample_states(64, seed=2)
    target, _ = system.accelerations(x)
    x, target = torch.from_numpy(x), torch.from_numpy(target)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    before = model.parameters.copy()
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.mean(torch.abs(layer(x) - target))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert not np.array_equal(before, model.parameters)  # the optimizer wrote the model
    assert losses[-1] < losses[0]
    # A non-contiguous input is copied, not refused; the result is the same.
    xt = torch.from_numpy(np.asfortranarray(x.numpy()))
    assert not xt.is_contiguous()
    torch.testing.assert_close(layer(xt), layer(x.contiguous()), rtol=0, atol=0)


# ---- the VJP itself ---------------------------------------------------------------

def test_vjp_of_the_mse_seed_is_the_loss_gradient(model, rng):
    engine = lnn.Engine(model)
    x = random_states(rng, 32, N)
    targets = rng.normal(size=(32, N))
    result, dp, dx = engine.loss_gradient(x, targets, loss="mse")
    acc, status = engine.accelerations(x)
    ok = status == 0
    v = np.where(ok[:, None], 2 * (acc - targets) / (ok.sum() * N), 0.0)
    vp, vx, vt = engine.accelerations_vjp(x, v)
    np.testing.assert_allclose(vp, dp, rtol=1e-11, atol=1e-13 * np.abs(dp).max())
    np.testing.assert_allclose(vx, dx, rtol=1e-11, atol=1e-13 * np.abs(dx).max())
    # ∂q̈/∂τ = M⁻¹: the τ part is M⁻¹ v on the solved samples, zero elsewhere.
    M, _, _ = engine.euler_lagrange_terms(x)
    want = np.array([np.linalg.solve(M[s], v[s]) if ok[s] else np.zeros(N) for s in range(32)])
    np.testing.assert_allclose(vt, want, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="cotangent"):
        engine.accelerations_vjp(x, v[:, :1].copy())



def test_torch_and_jax_arrays_are_read_in_place(model, rng, jax_x64):
    """CPU tensors of PyTorch and arrays of JAX go to the engine through DLPack
    without a copy (the address lnn reads is the framework's) and give what
    the same values as NumPy give; a non-contiguous tensor is refused by name."""
    torch = pytest.importorskip("torch")
    engine = lnn.Engine(model)
    x = random_states(rng, 8, N)
    expected, _ = engine.accelerations(x)

    t = torch.from_numpy(x.copy())
    assert lnn._lnn._input_address(t) == t.data_ptr()
    np.testing.assert_array_equal(engine.accelerations(t)[0], expected)
    with pytest.raises(ValueError, match="states is not C-contiguous"):
        engine.accelerations(torch.from_numpy(np.asfortranarray(x)))

    j = jax_x64.numpy.asarray(x)
    assert j.dtype == np.float64
    assert lnn._lnn._input_address(j) == j.unsafe_buffer_pointer()
    np.testing.assert_array_equal(engine.accelerations(j)[0], expected)
