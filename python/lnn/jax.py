"""lnn inside JAX: accelerations with lnn's exact adjoint (docs/python.md).

``accelerations_fn(engine, model)`` returns ``f(params, states, tau=None)``,
a ``jax.custom_vjp`` function whose forward pass is
``lnn.Engine.accelerations`` and whose backward pass is
``Engine.accelerations_vjp`` (the adjoint of docs/math.md §4 for a given
cotangent): gradients w.r.t. the parameters, the states and τ are lnn's.
Both run through ``jax.pure_callback``, so ``f`` works under ``jax.jit``
and ``jax.grad``; under ``jax.vmap`` it calls lnn once per mapped element.

CPU only in this version. float64 arrays need ``jax_enable_x64``; a
float32 model evaluates float32 arrays as they are.
"""
from __future__ import annotations

import jax as _jax
import jax.numpy as _jnp
import numpy as _np

from . import Engine as _Engine
from . import Model as _Model

__all__ = ["accelerations_fn"]


def accelerations_fn(engine: _Engine, model: _Model):
    """``f(params, states, tau=None) -> q̈`` for the model `engine` evaluates.

    `params` (P,) are written into `model` before each call; `states`
    (B, 2n), `tau` (B, n). Samples whose solve failed give NaN rows and zero
    gradients.
    """
    P = model.spec.parameter_count
    n = model.spec.n

    def host(a, dtype):
        return _np.ascontiguousarray(_np.asarray(a), dtype=dtype)

    def set_params(params):
        view = model.parameters
        _np.copyto(view, _np.asarray(params), casting="same_kind")

    def run_acc(params, states, tau):
        set_params(params)
        x = host(states, states.dtype)
        acc, _ = engine.accelerations(x, None if tau is None else host(tau, x.dtype))
        return acc

    def run_vjp(params, states, tau, v):
        set_params(params)
        x = host(states, states.dtype)
        dp, dx, dt = engine.accelerations_vjp(
            x, host(v, x.dtype), None if tau is None else host(tau, x.dtype))
        return dp.astype(params.dtype, copy=False), dx, dt

    def shapes(params, states):
        if params.shape != (P,):
            raise ValueError(f"params has shape {params.shape}, the model has {P} parameters")
        if states.ndim != 2 or states.shape[1] != 2 * n:
            raise ValueError(f"states must have shape (B, {2 * n}), got {states.shape}")
        B = states.shape[0]
        acc = _jax.ShapeDtypeStruct((B, n), states.dtype)
        return acc, _jax.ShapeDtypeStruct((P,), params.dtype), \
            _jax.ShapeDtypeStruct(states.shape, states.dtype)

    def forward(params, states, tau):
        acc, _, _ = shapes(params, states)
        if tau is None:
            return _jax.pure_callback(lambda p, x: run_acc(p, x, None), acc, params, states,
                                      vmap_method="sequential")
        return _jax.pure_callback(run_acc, acc, params, states, tau, vmap_method="sequential")

    def backward(params, states, tau, v):
        acc, dp, dx = shapes(params, states)
        if tau is None:
            dp_, dx_, _ = _jax.pure_callback(lambda p, x, g: run_vjp(p, x, None, g),
                                             (dp, dx, acc), params, states, v,
                                             vmap_method="sequential")
            return dp_, dx_, None
        return _jax.pure_callback(run_vjp, (dp, dx, acc), params, states, tau, v,
                                  vmap_method="sequential")

    @_jax.custom_vjp
    def with_tau(params, states, tau):
        return forward(params, states, tau)

    with_tau.defvjp(lambda p, x, t: (forward(p, x, t), (p, x, t)),
                    lambda res, g: backward(*res, g))

    @_jax.custom_vjp
    def without_tau(params, states):
        return forward(params, states, None)

    without_tau.defvjp(lambda p, x: (forward(p, x, None), (p, x)),
                       lambda res, g: backward(res[0], res[1], None, g)[:2])

    def f(params, states, tau=None):
        params = _jnp.asarray(params)
        states = _jnp.asarray(states)
        if tau is None:
            return without_tau(params, states)
        return with_tau(params, states, _jnp.asarray(tau))

    return f
