"""lnn as a PyTorch layer: accelerations with lnn's exact adjoint (docs/python.md).

``Accelerations`` is a ``torch.autograd.Function``: the forward pass is
``lnn.Engine.accelerations``, the backward pass ``Engine.accelerations_vjp``
(the adjoint of docs/math.md §4 for a given cotangent), so gradients w.r.t.
the parameters, the states and τ are lnn's, not PyTorch's autodiff of a
second implementation. ``LagrangianLayer`` wraps a model as an
``nn.Module`` whose one parameter shares the model's memory.

CPU tensors only in this version (CUDA tensors are refused with an error):
a tensor is handed to lnn as a NumPy view (no copy) when it is contiguous
and of the engine's dtype; otherwise a contiguous copy is made.
"""
from __future__ import annotations

import numpy as _np
import torch as _torch

from . import Engine as _Engine
from . import Model as _Model

__all__ = ["Accelerations", "LagrangianLayer", "accelerations"]


def _host_array(t: _torch.Tensor, name: str) -> _np.ndarray:
    if t.device.type != "cpu":
        raise ValueError(f"{name} is on {t.device}: lnn.torch takes CPU tensors in this version")
    t = t.detach()
    if not t.is_contiguous():
        t = t.contiguous()
    return t.numpy()


def _bind(model: _Model, params: _torch.Tensor) -> None:
    """Make the model hold `params` (nothing to do when they share its memory)."""
    view = model.parameters
    p = _host_array(params, "params")
    if p.shape != view.shape:
        raise ValueError(f"params has shape {tuple(p.shape)}, the model has {view.shape[0]} parameters")
    if p.ctypes.data != view.ctypes.data or p.dtype != view.dtype:
        _np.copyto(view, p, casting="same_kind")


class Accelerations(_torch.autograd.Function):
    """q̈ = Accelerations.apply(engine, model, params, states, tau).

    `model` is the model `engine` evaluates; `params` (P,) its parameters as
    a tensor (written into the model before the call unless they are its own
    memory, as in ``LagrangianLayer``); `states` (B, 2n); `tau` (B, n) or
    None. Samples whose solve failed give NaN rows and zero gradients.
    """

    @staticmethod
    def forward(ctx, engine: _Engine, model: _Model, params, states, tau):  # type: ignore[override]
        _bind(model, params)
        x = _host_array(states, "states")
        ta = None if tau is None else _host_array(tau, "tau")
        acc, _status = engine.accelerations(x, ta)
        ctx.engine, ctx.model = engine, model
        ctx.save_for_backward(params, states, tau if tau is not None else _torch.empty(0))
        ctx.has_tau = tau is not None
        return _torch.from_numpy(acc)

    @staticmethod
    def backward(ctx, grad_acc):  # type: ignore[override]
        params, states, tau = ctx.saved_tensors
        _bind(ctx.model, params)
        x = _host_array(states, "states")
        v = _host_array(grad_acc.to(states.dtype), "grad")
        ta = _host_array(tau, "tau") if ctx.has_tau else None
        dp, dx, dt = ctx.engine.accelerations_vjp(x, v, ta)
        return (
            None,
            None,
            _torch.from_numpy(dp).to(params.dtype) if ctx.needs_input_grad[2] else None,
            _torch.from_numpy(dx) if ctx.needs_input_grad[3] else None,
            _torch.from_numpy(dt) if ctx.has_tau and ctx.needs_input_grad[4] else None,
        )


def accelerations(engine: _Engine, model: _Model, params, states, tau=None):
    """Functional form of ``Accelerations.apply``."""
    return Accelerations.apply(engine, model, params, states, tau)


class LagrangianLayer(_torch.nn.Module):
    """A model as a PyTorch module: ``layer(states, tau=None)`` is q̈ (B, n).

    ``layer.params`` is a ``torch.nn.Parameter`` over the model's own memory
    (``model.parameters``), so a PyTorch optimizer's in-place updates are
    the model's, seen by the next call, with no copy; the model keeps its
    precision (a float32 model gives float32 parameters). Engine options as
    ``lnn.Engine``'s (``device="cpu"`` only in this version).
    """

    def __init__(self, model: _Model, **engine_options):
        super().__init__()
        self.model = model
        self.engine = _Engine(model, **engine_options)
        self.params = _torch.nn.Parameter(_torch.from_numpy(model.parameters))

    def forward(self, states, tau=None):
        return Accelerations.apply(self.engine, self.model, self.params, states, tau)
