#!/usr/bin/env python3
"""The reference LNN formulation in JAX, loading an lnn model file.

Written for this project from the mathematics (docs/file-formats.md for the
network, docs/math.md §1 for the Euler–Lagrange step); no code
was copied from the reference study. Two variants:

* ``published``: the formulation of the reference study. M = ∂²L/∂q̇² by
  ``jax.hessian`` over q̇, the mixed block ∂²L/∂q̇∂q by a Jacobian of a
  Jacobian, ∂L/∂q by ``jax.grad``, q̈ = pinv(M) (∂L/∂q − (∂²L/∂q̇∂q) q̇) with
  ``jnp.linalg.pinv``; vmapped over the batch and jitted.
* ``fair``: one forward-over-reverse pass (``jax.linearize`` of ``jax.grad``)
  pushed along the n + 1 tangents [0; e_j] (j = 1..n) and [q̇; 0], which gives
  M, the product (∂²L/∂q̇∂q) q̇ and ∂L/∂q at once, then ``jnp.linalg.solve``.

The training step of each is ``jax.grad`` of the mean L1 loss on the
accelerations (mean over samples and coordinates, as lnn's Loss::l1) with
respect to all parameters, through everything above.

float32 by default; ``--f64`` (or ``enable_f64()`` before anything else)
switches to float64.

Command line (also used by bench/compare through the module API):

  lnn_jax.py acc  --model M.safetensors --states S.csv [--variant fair|published] [--f64]
  lnn_jax.py time --model M.safetensors --batch B --what acc|grad [--variant ...] [--repeat R] [--f64]
"""
from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import time
from functools import partial

import numpy as np

_DTYPES = {"F32": np.float32, "F64": np.float64}


def enable_f64():
    import jax

    jax.config.update("jax_enable_x64", True)


# ---------------------------------------------------------------------------
# Model file (safetensors, docs/file-formats.md), read with struct + json + numpy


def read_model(path):
    """Returns (spec, tensors): spec = dict(n, hidden, activation, embedding, dtype)."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    data = raw[8 + header_len :]
    meta = header.pop("__metadata__")
    if meta.get("lnn.format") != "lnn-model":
        raise ValueError(f"{path}: not an lnn model file")
    tensors = {}
    dtype = None
    for name, entry in header.items():
        dt = _DTYPES.get(entry["dtype"])
        if dt is None:
            raise ValueError(f"{path}: unsupported dtype {entry['dtype']}")
        dtype = dt
        begin, end = entry["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(dt).newbyteorder("<"))
        tensors[name] = arr.reshape(entry["shape"]).astype(dt)
    hidden = [int(h) for h in meta["lnn.hidden"].split(",")]
    n = int(meta["lnn.n"])
    embedding = meta["lnn.embedding"].split(",")
    if len(embedding) != n:
        raise ValueError(f"{path}: lnn.embedding has {len(embedding)} entries for n = {n}")
    expected = {f"layers.{l}.{k}" for l in range(len(hidden)) for k in ("weight", "bias")}
    expected |= {"output.weight", "output.bias"}
    if set(tensors) != expected:
        raise ValueError(f"{path}: tensors {sorted(tensors)} != {sorted(expected)}")
    spec = dict(
        n=n,
        hidden=hidden,
        activation=meta["lnn.activation"],
        embedding=tuple(embedding),
        dtype=dtype,
    )
    return spec, tensors


def params_from_tensors(spec, tensors, dtype):
    import jax.numpy as jnp

    K = len(spec["hidden"])
    layers = [
        (
            jnp.asarray(tensors[f"layers.{l}.weight"], dtype=dtype),
            jnp.asarray(tensors[f"layers.{l}.bias"], dtype=dtype),
        )
        for l in range(K)
    ]
    return {
        "layers": layers,
        "w": jnp.asarray(tensors["output.weight"][0], dtype=dtype),
        "c": jnp.asarray(tensors["output.bias"][0], dtype=dtype),
    }


# ---------------------------------------------------------------------------
# The Lagrangian


def activation(name):
    import jax
    import jax.numpy as jnp

    if name == "softplus":
        return jax.nn.softplus
    if name == "tanh":
        return jnp.tanh
    if name == "silu":
        return lambda a: a * jax.nn.sigmoid(a)
    if name == "gelu":
        c = np.sqrt(2.0 / np.pi)
        return lambda a: 0.5 * a * (1.0 + jnp.tanh(c * (a + 0.044715 * a**3)))
    if name == "xtanh_half":
        return lambda a: a * jnp.tanh(0.5 * a)
    raise ValueError(f"unknown activation {name!r}")


def make_lagrangian(spec):
    """L(params, q, qdot) for one state (q, qdot: [n])."""
    import jax.numpy as jnp

    sigma = activation(spec["activation"])
    embedding = spec["embedding"]

    def lagrangian(params, q, qdot):
        parts = []
        for j, e in enumerate(embedding):
            if e == "angle":
                parts += [jnp.cos(q[j])[None], jnp.sin(q[j])[None]]
            else:
                parts.append(q[j][None])
        z = jnp.concatenate(parts + [qdot])
        for W, b in params["layers"]:
            z = sigma(W @ z + b)
        return params["w"] @ z + params["c"]

    return lagrangian


# ---------------------------------------------------------------------------
# Accelerations, one state; vmapped and jitted below


def make_acc(spec, variant, return_mass=False):
    import jax
    import jax.numpy as jnp

    n = spec["n"]
    L = make_lagrangian(spec)

    def published(params, x):
        q, qdot = x[:n], x[n:]
        Lp = partial(L, params)
        M = jax.hessian(Lp, argnums=1)(q, qdot)  # ∂²L/∂q̇∂q̇
        mixed = jax.jacobian(jax.jacobian(Lp, argnums=1), argnums=0)(q, qdot)  # ∂²L/∂q̇∂q
        f = jax.grad(Lp, argnums=0)(q, qdot)  # ∂L/∂q
        a = jnp.linalg.pinv(M) @ (f - mixed @ qdot)
        return (a, M) if return_mass else a

    def fair(params, x):
        qdot = x[n:]
        grad_x = jax.grad(lambda xx: L(params, xx[:n], xx[n:]))
        g, hvp = jax.linearize(grad_x, x)  # one reverse pass, then its forward tangents
        eye = jnp.eye(n, dtype=x.dtype)
        seeds = jnp.concatenate(
            [
                jnp.concatenate([jnp.zeros((n, n), x.dtype), eye], axis=1),  # [0; e_j]
                jnp.concatenate([qdot, jnp.zeros((n,), x.dtype)])[None, :],  # [q̇; 0]
            ]
        )  # (n + 1, 2n)
        Hs = jax.vmap(hvp)(seeds)  # row k = H seeds[k]
        M = Hs[:n, n:]  # ∂²L/∂q̇_i∂q̇_j (symmetric)
        Cv = Hs[n, n:]  # (∂²L/∂q̇∂q) q̇
        f = g[:n]
        a = jnp.linalg.solve(M, f - Cv)
        return (a, M) if return_mass else a

    one = {"published": published, "fair": fair}[variant]
    return jax.vmap(one, in_axes=(None, 0))


def make_functions(spec, variant):
    """Returns (acc_fn(params, X), grad_fn(params, X, targets)), both jitted."""
    import jax
    import jax.numpy as jnp

    acc = make_acc(spec, variant)

    def loss(params, X, targets):
        return jnp.mean(jnp.abs(acc(params, X) - targets))

    return jax.jit(acc), jax.jit(jax.grad(loss)), jax.jit(loss)


# ---------------------------------------------------------------------------
# States and timing


def random_states(n, batch, seed=0, dtype=np.float32):
    """q ~ U[0, 2π), q̇ ~ U[-10, 10): the distribution of `lnn throughput`."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.0, 2.0 * np.pi, size=(batch, n))
    v = rng.uniform(-10.0, 10.0, size=(batch, n))
    return np.concatenate([q, v], axis=1).astype(dtype)


def time_calls(fn, args, repeat):
    """One warm-up call (includes compilation), then `repeat` timed calls.

    Returns (warm_up_seconds, [seconds per call])."""
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return warm, times


def rates_summary(batch, times):
    rates = sorted(batch / t for t in times)
    return statistics.median(rates), rates[0], rates[-1]


# ---------------------------------------------------------------------------
# Command line


def _load(args):
    import jax.numpy as jnp

    spec, tensors = read_model(args.model)
    dtype = jnp.float64 if args.f64 else jnp.float32
    return spec, params_from_tensors(spec, tensors, dtype), dtype


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("acc", help="accelerations of the states in a CSV, to stdout")
    a.add_argument("--states", required=True)
    t = sub.add_parser("time", help="samples/s on random states")
    t.add_argument("--batch", type=int, default=512)
    t.add_argument("--what", choices=["acc", "grad"], default="acc")
    t.add_argument("--repeat", type=int, default=5)
    for p in (a, t):
        p.add_argument("--model", required=True)
        p.add_argument("--variant", choices=["fair", "published"], default="fair")
        p.add_argument("--f64", action="store_true", help="float64 instead of float32")
    args = ap.parse_args(argv)
    if args.f64:
        enable_f64()
    import jax
    import jax.numpy as jnp

    spec, params, dtype = _load(args)
    acc_fn, grad_fn, _ = make_functions(spec, args.variant)
    if args.cmd == "acc":
        X = np.loadtxt(args.states, delimiter=",", comments="#", ndmin=2)
        out = np.asarray(acc_fn(params, jnp.asarray(X, dtype=dtype)))
        print(",".join(f"qdd_{j + 1}" for j in range(spec["n"])))
        for row in out:
            print(",".join(repr(float(v)) for v in row))
        return 0
    X = jnp.asarray(random_states(spec["n"], args.batch), dtype=dtype)
    if args.what == "acc":
        fn, fargs = acc_fn, (params, X)
    else:
        fn, fargs = grad_fn, (params, X, jnp.zeros((args.batch, spec["n"]), dtype))
    warm, times = time_calls(fn, fargs, args.repeat)
    med, lo, hi = rates_summary(args.batch, times)
    print(
        f"lnn_jax: {args.variant}, {args.what}, {'f64' if args.f64 else 'f32'}, n={spec['n']}, "
        f"hidden {','.join(map(str, spec['hidden']))}, {spec['activation']}, batch {args.batch}, "
        f"jax {jax.__version__}, {jax.devices()[0].platform}"
    )
    print(f"  warm-up (with compilation): {warm:.3f} s")
    for i, s in enumerate(times):
        print(f"  repeat {i + 1}: {s:.4f} s, {args.batch / s:.4g} samples/s")
    print(f"samples/s: median {med:.4g}, min {lo:.4g}, max {hi:.4g} ({args.repeat} repeats)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
