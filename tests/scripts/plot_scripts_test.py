#!/usr/bin/env python3
"""scripts/plot_loss.py and scripts/plot_sweep.py on small generated files (a
training log with its checkpoint's metadata, a sweep directory of a
spring pendulum): each must write its PNGs with every axis labelled with
units, name the system and its coordinates (r, theta), and keep every legend
off the axes it belongs to. Without the catalogue (no `lnn` program) they
fall back to the tables' column names.

    plot_scripts_test.py [LNN_PROGRAM]

Needs matplotlib: tries this Python, then $LNN_PYTHON and /usr/bin/python3
(where scripts/setup.sh installs python3-matplotlib); exit status 77 (ctest:
skipped) when none has it."""
import contextlib
import csv
import importlib
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "..", "scripts")
SKIP = 77


def find_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    if os.environ.get("LNN_PLOT_TEST_REEXEC"):
        print("plot_scripts_test: skipped: matplotlib does not import")
        sys.exit(SKIP)
    for python in (os.environ.get("LNN_PYTHON"), "/usr/bin/python3"):
        if python and os.path.exists(python) and os.path.realpath(python) != os.path.realpath(
                sys.executable):
            if subprocess.run([python, "-c", "import matplotlib"], capture_output=True).returncode == 0:
                env = dict(os.environ, LNN_PLOT_TEST_REEXEC="1")
                sys.exit(subprocess.run([python, __file__] + sys.argv[1:], env=env).returncode)
    print("plot_scripts_test: skipped: no python3 with matplotlib")
    sys.exit(SKIP)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_checkpoint_header(path, config):
    # A safetensors header with only the metadata the script reads
    # (docs/file-formats.md); no tensors.
    header = json.dumps({"__metadata__": {"lnn.train.config": json.dumps(config)}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)


def make_sweep(d, coordinate_columns):
    os.makedirs(d)
    with open(os.path.join(d, "sweep.json"), "w") as f:
        json.dump({"system": "spring_pendulum", "parameters": {"m": 1, "k": 40, "l0": 1, "g": 9.8}}, f)
    stats = [f"{m}_{s}_{a}" for m in ("energy", "model_energy", "state")
             for s in ("max", "final", "mean", "slope") for a in ("median", "mean", "p90")]
    summary = []
    for model in ("analytic", "runs/model.safetensors"):
        for integrator in ("rk4", "variational"):
            for dt in ("0.05", "0.02"):
                for horizon in ("1", "2"):
                    e = float(dt) ** (4 if integrator == "rk4" else 2) * float(horizon)
                    summary.append([model, integrator, dt, "", horizon, 3, 1 if dt == "0.05" else 0, 1]
                                   + [e * (1 + i / 10) for i in range(len(stats))])
    write_csv(os.path.join(d, "summary.csv"),
              ["model", "integrator", "dt", "tol", "horizon", "trajectories", "failed", "alpha"] + stats,
              summary)
    series, paths = [], []
    for model in ("analytic", "runs/model.safetensors"):
        for integrator in ("rk4", "variational"):
            for dt in ("0.05", "0.02"):
                for k in range(21):
                    t = k / 10
                    e = float(dt) ** 2 * (1 + t)
                    series.append([model, integrator, dt, "", t, e, 2 * e, e, e / 2])
                    for traj in (0, 1):
                        paths.append([model, integrator, dt, "", traj, t, 1 + 0.1 * t, 0.5 * t])
    for k in range(21):
        for traj in (0, 1):
            paths.append(["truth", "dopri5", "", "1e-10", traj, k / 10, 1 + 0.1 * k / 10, 0.05 * k])
    write_csv(os.path.join(d, "series.csv"),
              ["model", "integrator", "dt", "tol", "t", "energy_median", "energy_p90",
               "model_energy_median", "state_median"], series)
    write_csv(os.path.join(d, "paths.csv"),
              ["model", "integrator", "dt", "tol", "trajectory", "t"] + coordinate_columns, paths)


class Figures:
    """Records every figure the scripts save (Figure.savefig wrapped)."""

    def __init__(self):
        self.saved = []

    @contextlib.contextmanager
    def recording(self):
        from matplotlib.figure import Figure
        original = Figure.savefig

        def savefig(fig, fname, *args, **kwargs):
            self.saved.append((str(fname), fig))
            return original(fig, fname, *args, **kwargs)

        Figure.savefig = savefig
        try:
            yield
        finally:
            Figure.savefig = original


def run_script(failures, name, argv, programs):
    """Runs scripts/<name>.py in this process with sys.argv = argv; the lnn
    programs it may ask for the catalogue are `programs`. The figures saved;
    an exception is a failure."""
    sys.path.insert(0, SCRIPTS)
    import plot_common
    plot_common.lnn_programs = lambda: list(programs)
    module = importlib.import_module(name)
    figures = Figures()
    saved_argv = sys.argv
    sys.argv = [name + ".py"] + argv
    try:
        with figures.recording():
            module.main()
    except Exception as e:  # noqa: BLE001 (reported, then the next case)
        failures.append(f"{name} {' '.join(argv)}: {type(e).__name__}: {e}")
    finally:
        sys.argv = saved_argv
    return figures.saved


def check_figure(failures, what, path, fig, expect_text):
    """PNG written; every axis labelled with a unit; expect_text somewhere in
    the titles; no legend overlapping its axes."""
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            failures.append(f"{what}: {path} is not a PNG")
    texts = [fig._suptitle.get_text() if fig._suptitle else ""]
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        texts.append(ax.get_title())
        for axis, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if not label or "(" not in label or not label.rstrip().endswith(")"):
                failures.append(f"{what}: {axis} axis label without unit: {label!r}")
        legend = ax.get_legend()
        if legend is not None:
            box, lbox = ax.get_window_extent(renderer), legend.get_window_extent(renderer)
            if box.overlaps(lbox):
                failures.append(f"{what}: the legend overlaps the axes {ax.get_title()!r}")
    if not any(expect_text in t for t in texts):
        failures.append(f"{what}: no title names {expect_text!r}: {texts}")


def main():
    find_matplotlib()
    import matplotlib
    matplotlib.use("Agg")
    lnn = sys.argv[1] if len(sys.argv) > 1 else None
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        # The training log of a spring-pendulum run and its checkpoint (same name).
        log = os.path.join(tmp, "run.csv")
        rows = []
        for step in range(1, 61):
            val = 50.0 / step if step % 20 == 0 else ""
            rows.append([step, 1e-3, 100.0 / step, 0, 10.0, val, 0, 0, 1e5, step / 100])
        write_csv(log, ["step", "lr", "loss", "penalty", "grad_norm", "val_l1", "skipped",
                        "failed_solves", "samples_per_s", "seconds"], rows)
        write_checkpoint_header(os.path.join(tmp, "run.safetensors"),
                                {"system": "spring_pendulum", "n": 2, "loss": "l1"})
        sweep = os.path.join(tmp, "sweep")
        make_sweep(sweep, ["q1", "q2"])
        named = os.path.join(tmp, "sweep_named")
        make_sweep(named, ["r", "theta"])

        cases = []
        if lnn:
            cases.append(("with the catalogue", [lnn], "spring_pendulum (r, theta)",
                          ["r (m)", "theta (rad)"], "m/s², rad/s²"))
        else:
            print("plot_scripts_test: no lnn program given: the catalogue's names are not checked")
        cases.append(("without the catalogue", [], "spring_pendulum", ["q1 (SI units)", "q2 (SI units)"],
                      "SI units of q/s²"))
        for case, programs, title, coordinate_labels, acc_unit in cases:
            png = os.path.join(tmp, f"loss_{len(programs)}.png")
            saved = run_script(failures, "plot_loss", [png, log], programs)
            if len(saved) != 1:
                failures.append(f"plot_loss ({case}): {len(saved)} figures saved")
            for path, fig in saved:
                check_figure(failures, f"plot_loss ({case})", path, fig, title)
                ylabel = fig.axes[0].get_ylabel()
                if acc_unit not in ylabel:
                    failures.append(f"plot_loss ({case}): y label {ylabel!r} lacks {acc_unit!r}")

            saved = run_script(failures, "plot_sweep", [sweep], programs)
            names = sorted(os.path.basename(p) for p, _ in saved)
            if names != ["energy_error.png", "step_size.png", "trajectories.png"]:
                failures.append(f"plot_sweep ({case}): saved {names}")
            for path, fig in saved:
                check_figure(failures, f"plot_sweep ({case}) {os.path.basename(path)}", path, fig, title)
                if path.endswith("trajectories.png"):
                    labels = [ax.get_ylabel() for ax in fig.axes]
                    if labels != coordinate_labels:
                        failures.append(f"plot_sweep ({case}): coordinates {labels}, "
                                        f"expected {coordinate_labels}")
                    if fig.axes[-1].get_xlabel() != "t (s)":
                        failures.append(f"plot_sweep ({case}): time axis {fig.axes[-1].get_xlabel()!r}")

        # paths.csv with the coordinates' names as columns: used as they are.
        saved = run_script(failures, "plot_sweep", [named], [])
        for path, fig in saved:
            if path.endswith("trajectories.png"):
                labels = [ax.get_ylabel() for ax in fig.axes]
                if labels != ["r (SI units)", "theta (SI units)"]:
                    failures.append(f"plot_sweep (named columns): coordinates {labels}")

    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("plot_scripts_test: PASS")


if __name__ == "__main__":
    main()
