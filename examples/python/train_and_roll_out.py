"""Generate data, train a small LNN, roll it out and plot its energy.

    python examples/python/train_and_roll_out.py --out energy.png

The pendulum of the catalogue: a derivative set (random states with exact
q̈), a small model trained on it (lnn.train, the configuration of
`lnn train`), then rollouts of the learned dynamics and of the exact system
from the same initial states with the variational integrator, and the true
energy T + V along both (docs/python.md, "Example"). Needs matplotlib.
"""
import argparse
import os
import tempfile
import time

import numpy as np

import lnn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="energy.png", help="the plot to write (PNG)")
    parser.add_argument("--steps", type=int, default=1500, help="training steps")
    parser.add_argument("--t-end", type=float, default=20.0, help="rollout length")
    args = parser.parse_args()
    start = time.perf_counter()

    system = lnn.System("pendulum")
    with tempfile.TemporaryDirectory() as tmp:
        data = lnn.generate_derivatives(system, 20000, seed=0)
        path = os.path.join(tmp, "pendulum.h5")
        data.save(path)
        print(f"data: {data}")

        def report(progress):
            if progress.validation is not None:
                print(f"  step {progress.step:5d}/{progress.total}  loss {progress.loss:.4f}  "
                      f"validation L1 {progress.validation:.4f}")

        model, result = lnn.train(dataset=path, hidden=[32, 32], activation="softplus",
                                  init="convex", scale_inputs=True, lr=3e-3, schedule="cosine",
                                  steps=args.steps, batch=256, validate_every=500,
                                  checkpoint_every=0, seed=0, precision="f32", callback=report)
    print(f"trained: {result.steps} steps in {result.seconds:.1f} s, "
          f"validation L1 {result.val_loss:.4f} (mean |q̈| of the data "
          f"{np.abs(data.accelerations).mean():.3f})")

    y0 = system.sample_states(4, seed=1) * np.array([0.5, 0.5])  # moderate swings
    times = np.linspace(0.0, args.t_end, int(args.t_end * 20) + 1)
    learned = lnn.rollout(model, y0, times, integrator="variational", dt=0.01)
    exact = lnn.rollout(system, y0, times, integrator="variational", dt=0.01)
    E0 = system.energy(y0)
    # The true energy along the learned rollout (NaN after a failed step).
    E_learned = system.energy(learned.states.reshape(-1, 2)).reshape(learned.states.shape[:2])
    drift = np.abs(E_learned - E0[:, None]) / data.potential_scale
    print(f"rollouts to t = {args.t_end:g}: {int((learned.status == 0).sum())}/4 finished; "
          f"max |E − E0| / potential scale along the learned ones {np.nanmax(drift):.3g}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for b in range(len(y0)):
        top.plot(times, learned.states[b, :, 0], label=f"learned {b}")
        top.plot(times, exact.states[b, :, 0], "k--", lw=0.8)
        bottom.plot(times, E_learned[b] - E0[b], label=f"trajectory {b}")
    top.set_ylabel("θ (learned; exact dashed)")
    bottom.set_ylabel("E_true − E_true(0) along the learned rollout")
    bottom.set_xlabel("t")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}; {time.perf_counter() - start:.1f} s in all")


if __name__ == "__main__":
    main()
