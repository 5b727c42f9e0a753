#!/usr/bin/env python3
"""Plots training logs of `lnn train --log` (CSV) as a PNG.

    plot_loss.py OUT.png LOG.csv [LOG2.csv ...] [--title TITLE]

Training loss per step (thin) with a moving median, and the validation L1
(markers), on log axes. Needs matplotlib (python3-matplotlib).
"""
import argparse
import csv
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("logs", nargs="+")
    p.add_argument("--title", default="lnn train")
    a = p.parse_args()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for i, path in enumerate(a.logs):
        steps, loss, vsteps, val = read(path)
        color = f"C{i}"
        label = path.rsplit("/", 1)[-1].removesuffix(".csv")
        ax.plot(steps, loss, color=color, alpha=0.2, lw=0.6)
        window = max(1, len(loss) // 100)
        ax.plot(steps, moving_median(loss, window), color=color, lw=1.2, label=f"{label}: training loss")
        if val:
            ax.plot(vsteps, val, "o", color=color, ms=3, label=f"{label}: validation L1")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("L1 acceleration error")
    ax.set_title(a.title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
