#!/usr/bin/env python3
"""Plots of an `lnn sweep` directory (docs/sweeps.md), written next to its CSV tables.

    energy_error.png   median |energy error| against time, one line per integrator
                       and step; one row per model; left the system's energy along
                       the predicted path, right the model's own energy
    trajectories.png   predicted and true q(t) of the first initial condition,
                       each model at its smallest step, up to the shortest horizon
    step_size.png      error against step size on log axes: median maximum energy
                       error at the longest horizon, and median state error at the
                       shortest, one line per model and fixed-step integrator

Each names the system (sweep.json) and, where a catalogue entry is found
(`lnn systems`, scripts/plot_common.py), its coordinates and their units: t
in s, angles in rad, other coordinates in m; energy errors are relative to
the potential scale. Legends stand beside the plots.

Usage: plot_sweep.py DIR    (needs matplotlib; lnn sweep calls it when it is there)
"""
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_common  # noqa: E402

ENERGY = "|E(t) - E(0)| / potential scale"


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(text):
    return float(text) if text not in ("", "nan") else math.nan


def step_label(row):
    return f"dt={row['dt']}" if row["dt"] else f"tol={row['tol']}"


def short(model):
    return os.path.basename(model)


def group(rows, keys):
    out = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


def positive(values):
    # Log axes: zeros (exact conservation) and NaN are left out.
    return [v if v > 0 else math.nan for v in values]


class Sweep:
    """What the plots say about the sweep: the system and its coordinates."""

    def __init__(self, d, paths):
        try:
            with open(os.path.join(d, "sweep.json")) as f:
                config = json.load(f)
        except (OSError, ValueError):
            config = {}
        self.system = config.get("system", "")
        self.parameters = config.get("parameters", {})
        # paths.csv: the coordinates' columns follow t.
        columns = list(paths[0].keys()) if paths else []
        self.columns = columns[columns.index("t") + 1:] if "t" in columns else []
        info = plot_common.system_info(self.system)
        if info and len(info["coordinates"]) == len(self.columns):
            self.coords = plot_common.Coordinates(info)
        else:
            self.coords = plot_common.Coordinates(names=self.columns)

    def title(self):
        params = ", ".join(f"{k} = {v:g}" for k, v in sorted(self.parameters.items()))
        coords = f" ({self.coords.describe()})" if self.coords.names else ""
        title = f"lnn sweep: {self.system or 'unknown system'}{coords}"
        return f"{title}; {params}" if params else title

    def state_unit(self):
        return ", ".join(filter(None, [self.coords.unit_list(), self.coords.unit_list("/s")]))


def energy_plot(series, sweep, out):
    models = list(dict.fromkeys(r["model"] for r in series))
    fig, axes = plt.subplots(len(models), 2, figsize=(13, 3.2 * len(models) + 0.5), squeeze=False)
    for i, model in enumerate(models):
        rows = [r for r in series if r["model"] == model]
        for (integrator, dt, tol), rs in group(rows, ["integrator", "dt", "tol"]).items():
            t = [num(r["t"]) for r in rs]
            label = f"{integrator} {step_label(rs[0])}"
            axes[i][0].plot(t, positive([num(r["energy_median"]) for r in rs]), label=label, lw=1)
            axes[i][1].plot(t, positive([num(r["model_energy_median"]) for r in rs]), label=label, lw=1)
        axes[i][0].set_title(f"{short(model)}: the system's energy along the predicted path (median)",
                             fontsize=9)
        axes[i][1].set_title(f"{short(model)}: the model's own energy, drift (median)", fontsize=9)
        axes[i][0].set_ylabel(f"{ENERGY} (dimensionless)", fontsize=8)
        axes[i][1].set_ylabel("|E_model(t) - E_model(0)| /\n(α · potential scale) (dimensionless)",
                              fontsize=8)
        for ax in axes[i]:
            ax.set_yscale("log")
            ax.set_xlabel("t (s)")
            ax.grid(True, which="both", alpha=0.3)
        plot_common.legend_outside(axes[i][1])
    fig.suptitle(sweep.title(), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def trajectory_plot(paths, summary, sweep, out):
    horizon = min(num(r["horizon"]) for r in summary)
    rows = [r for r in paths if r["trajectory"] == "0" and num(r["t"]) <= horizon + 1e-9]
    qs = sweep.columns
    fig, axes = plt.subplots(len(qs), 1, figsize=(11, 2.8 * len(qs) + 0.5), squeeze=False)
    # Each model and integrator at its smallest step, and the truth.
    best = {}
    for (model, integrator), rs in group(rows, ["model", "integrator"]).items():
        steps = sorted({num(r["dt"] or r["tol"]) for r in rs})
        best[(model, integrator)] = [r for r in rs if num(r["dt"] or r["tol"]) == steps[0]]
    for (model, integrator), rs in best.items():
        t = [num(r["t"]) for r in rs]
        truth = model == "truth"
        for j, q in enumerate(qs):
            axes[j][0].plot(t, [num(r[q]) for r in rs], "k-" if truth else "-", lw=2 if truth else 1,
                            label="truth" if truth else f"{short(model)} {integrator} {step_label(rs[0])}")
    for j in range(len(qs)):
        axes[j][0].set_ylabel(sweep.coords.label(j))
        axes[j][0].set_xlabel("t (s)")
        axes[j][0].grid(True, alpha=0.3)
    plot_common.legend_outside(axes[0][0])
    axes[0][0].set_title("initial condition 0: predicted against true coordinates", fontsize=9)
    fig.suptitle(sweep.title(), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def step_plot(summary, sweep, out):
    fixed = [r for r in summary if r["dt"]]
    horizons = sorted({num(r["horizon"]) for r in summary})
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for (model, integrator), rs in group(fixed, ["model", "integrator"]).items():
        for ax, horizon, column in ((axes[0], horizons[-1], "energy_max_median"),
                                    (axes[1], horizons[0], "state_mean_median")):
            pts = sorted((num(r["dt"]), num(r[column]), int(r["failed"])) for r in rs
                         if num(r["horizon"]) == horizon)
            if pts:
                line, = ax.plot([p[0] for p in pts], positive([p[1] for p in pts]), "o-",
                                label=f"{short(model)} {integrator}")
                # A median over fewer trajectories is not comparable: say so.
                for dt, value, failed in pts:
                    if failed and value > 0:
                        ax.annotate(f"{failed} failed", (dt, value), fontsize=7,
                                    color=line.get_color(), xytext=(4, 4),
                                    textcoords="offset points")
    axes[0].set_title(f"largest energy error to t = {horizons[-1]:g} s (median)", fontsize=9)
    axes[1].set_title(f"mean state error to t = {horizons[0]:g} s (median)", fontsize=9)
    axes[0].set_ylabel(f"max {ENERGY} (dimensionless)", fontsize=8)
    axes[1].set_ylabel(f"mean RMS of (q, qdot) - truth ({sweep.state_unit()})", fontsize=8)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dt (s)")
        ax.grid(True, which="both", alpha=0.3)
    plot_common.legend_outside(axes[1])
    fig.suptitle(sweep.title(), fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    summary = read(os.path.join(d, "summary.csv"))
    paths = read(os.path.join(d, "paths.csv"))
    sweep = Sweep(d, paths)
    energy_plot(read(os.path.join(d, "series.csv")), sweep, os.path.join(d, "energy_error.png"))
    trajectory_plot(paths, summary, sweep, os.path.join(d, "trajectories.png"))
    step_plot(summary, sweep, os.path.join(d, "step_size.png"))
    for name in ("energy_error.png", "trajectories.png", "step_size.png"):
        print(f"  {os.path.join(d, name)}")


if __name__ == "__main__":
    main()
