"""A jitted JAX training step with lnn's layer against the same step in pure
JAX (issue 20's benchmark).

Both steps compute the L1 loss of q̈ against the double pendulum's exact
accelerations and its gradient w.r.t. the parameters, then an SGD update,
under jax.jit: one with `lnn.jax.accelerations_fn` (lnn's engine and
adjoint through pure_callback), one with the reference formulation (the
network in JAX, q̈ from jax.hessian and a solve, vmapped: the reference
study's construction). Same model, same batch, same machine, same run:

    python bench/python/jax_step.py [--batch 512] [--hidden 128 128 128]
"""
import argparse
import json
import platform
import statistics
import sys
import time

import numpy as np

import jax
import jax.numpy as jnp

import lnn
import lnn.jax as lj


def reference(spec, hidden):
    n = spec.n
    angle = [e == "angle" for e in spec.embedding]
    d0 = sum(2 if a else 1 for a in angle) + n

    def lagrangian(params, x):
        z = []
        for j in range(n):
            z += [jnp.cos(x[j]), jnp.sin(x[j])] if angle[j] else [x[j]]
        z = jnp.stack(z + [x[n + j] for j in range(n)])
        k, width = 0, d0
        for m in hidden:
            W = params[k:k + m * width].reshape(m, width)
            k += m * width
            z = jnp.logaddexp(W @ z + params[k:k + m], 0.0)
            k += m
            width = m
        return params[k:k + width] @ z + params[k + width]

    def qdd(params, x):
        g = jax.grad(lagrangian, argnums=1)(params, x)
        H = jax.hessian(lagrangian, argnums=1)(params, x)
        return jnp.linalg.solve(H[n:, n:], g[:n] - H[n:, :n] @ x[n:])

    return jax.vmap(qdd, in_axes=(None, 0))


def time_step(step, p, repeat):
    p, loss = step(p)  # compile
    jax.block_until_ready(loss)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p, loss = step(p)
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - t0)
    return times, float(loss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 128, 128])
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    model = lnn.Model(n=2, hidden=a.hidden, embedding="angle", precision="f32", init="lnn", seed=0)
    system = lnn.System("double_pendulum")
    x = system.sample_states(a.batch, seed=1)
    target, _ = system.accelerations(x)
    x, target = jnp.asarray(x, jnp.float32), jnp.asarray(target, jnp.float32)
    p0 = jnp.asarray(model.parameters.copy())

    def make_step(f):
        @jax.jit
        def step(p):
            loss, g = jax.value_and_grad(lambda q: jnp.mean(jnp.abs(f(q, x) - target)))(p)
            return p - 1e-4 * g, loss
        return step

    lnn_step = make_step(lj.accelerations_fn(lnn.Engine(model), model))
    ref_step = make_step(reference(model.spec, a.hidden))
    res = {"lnn": [], "jax": []}
    for _ in range(a.rounds):
        res["lnn"] += time_step(lnn_step, p0, a.repeat)[0]
        res["jax"] += time_step(ref_step, p0, a.repeat)[0]
    med = {k: statistics.median(v) for k, v in res.items()}
    for k, v in res.items():
        print(f"{k:4s} step: median {med[k] * 1e3:.2f} ms (min {min(v) * 1e3:.2f}, max "
              f"{max(v) * 1e3:.2f}; {len(v)} steps)")
    print(f"pure JAX / lnn layer: {med['jax'] / med['lnn']:.2f}")
    meta = {"batch": a.batch, "hidden": a.hidden, "precision": "f32", "jax": jax.__version__,
            "lnn": lnn.__version__, "threads": lnn.cpu_threads(), "machine": platform.machine(),
            "python": sys.version.split()[0]}
    print(json.dumps(meta))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"meta": meta, "seconds": res}, f, indent=1)


if __name__ == "__main__":
    main()
