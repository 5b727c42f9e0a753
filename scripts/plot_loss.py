#!/usr/bin/env python3
"""Plots training logs of `lnn train --log` (CSV) as a PNG.

    plot_loss.py OUT.png LOG.csv [LOG2.csv ...] [--model CKPT ...] [--system NAME]
                 [--title TITLE]

Training loss per step (thin) with a moving median, and the validation L1
(markers), on log axes, the legend beside the plot. The system (in the title,
with its coordinates) and the loss's kind and units (those of q̈: rad/s² for
angles, m/s² otherwise; scripts/plot_common.py) come from the run's
checkpoint: --model, once for all logs or once per log, else the model file
beside a log with its name (w128.csv → w128.safetensors); --system names the
system instead. Needs matplotlib (python3-matplotlib).
"""
import argparse
import csv
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_common  # noqa: E402

ACC = r"$\ddot{q}$"
ERROR = r"$\ddot{q} - \ddot{q}_\mathrm{true}$"


def read(path):
    steps, loss, vsteps, val = [], [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            s = int(row["step"])
            if row["loss"] not in ("", "nan"):
                steps.append(s)
                loss.append(float(row["loss"]))
            if row.get("val_l1"):
                vsteps.append(s)
                val.append(float(row["val_l1"]))
    return steps, loss, vsteps, val


def moving_median(values, window):
    half = window // 2
    return [statistics.median(values[max(0, i - half): i + half + 1]) for i in range(len(values))]


def checkpoints(logs, models):
    """The checkpoint of each log: --model (one for all, or one each), else
    LOG's name with .safetensors where that file exists, else None."""
    if models and len(models) not in (1, len(logs)):
        sys.exit(f"plot_loss.py: {len(models)} --model for {len(logs)} logs (give 1 or {len(logs)})")
    out = []
    for i, log in enumerate(logs):
        if models:
            out.append(models[i] if len(models) > 1 else models[0])
        else:
            guess = os.path.splitext(log)[0] + ".safetensors"
            out.append(guess if os.path.isfile(guess) else None)
    return out


def labels(config, system):
    """Title suffix and y label for a run's configuration and system."""
    info = plot_common.system_info(system)
    coords = plot_common.Coordinates(info, n=config.get("n"))
    what = f"{system} ({coords.describe()})" if info else (system or "")
    unit = coords.unit_list("/s²")
    if config.get("loss") == "mse":
        ylabel = (f"training loss: mean ({ERROR})² ({unit} squared)\n"
                  f"validation: mean |{ERROR}| ({unit})")
    else:  # L1, the default (include/lnn/train.hpp)
        ylabel = f"mean |{ERROR}| ({unit})"
    return what, ylabel


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("logs", nargs="+")
    p.add_argument("--title", default="lnn train")
    p.add_argument("--model", action="append", default=[],
                   help="the run's checkpoint: its system and loss label the axes")
    p.add_argument("--system", help="the system trained on (instead of the checkpoint's)")
    a = p.parse_args()
    configs = [plot_common.model_training(m) if m else {} for m in checkpoints(a.logs, a.model)]
    config = next((c for c in configs if c), {})
    system = a.system or config.get("system") or ""
    what, ylabel = labels(config, system)

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
    for i, path in enumerate(a.logs):
        steps, loss, vsteps, val = read(path)
        color = f"C{i}"
        label = os.path.basename(path).removesuffix(".csv")
        ax.plot(steps, loss, color=color, alpha=0.2, lw=0.6)
        window = max(1, len(loss) // 100)
        ax.plot(steps, moving_median(loss, window), color=color, lw=1.2,
                label=f"{label}: training loss (moving median)")
        if val:
            ax.plot(vsteps, val, "o", color=color, ms=3, label=f"{label}: validation L1")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training step (batches)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{a.title}: {what}" if what else a.title)
    ax.grid(True, which="both", alpha=0.3)
    plot_common.legend_outside(ax)
    fig.tight_layout()
    fig.savefig(a.out, bbox_inches="tight")


if __name__ == "__main__":
    main()
