#!/usr/bin/env python3
"""lnn against the JAX reference (bench/reference/lnn_jax.py), same machine, same run.

Driven by bench/compare. For each configuration it writes a model with
`lnn init`, checks that lnn and JAX compute the same accelerations on random
states where the mass matrix is well conditioned, and times accelerations and
the L1 loss-gradient step of lnn (`lnn throughput`) and of both JAX variants.
Prints a markdown table and saves it under bench/results/.

Without JAX (import fails) only lnn's side is measured; this path needs
nothing beyond the Python standard library.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# (n, hidden width, batches); 3 hidden layers, softplus, plain embedding, float32.
CONFIGS = [(2, 128, [512, 65536]), (2, 600, [512, 65536]), (8, 128, [512])]
AGREE_STATES = 512  # states generated per configuration for the agreement check
COND_MAX = (10.0, 100.0, 1000.0)  # agreement is reported on the states with cond(M) ≤ each of these
SEED = 0


class Stopped(Exception):
    """SIGTERM arrived: stop measuring and write the report of what was measured."""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or cpu
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} logical cores{mem}, {platform.system()} {platform.release()}"


def git_commit():
    if os.environ.get("LNN_COMMIT"):  # the GPU check: the bundle's commit, not the tree's .git
        return os.environ["LNN_COMMIT"]
    try:
        c = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
        dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).strip()
        return c + (" (with uncommitted changes)" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def loadavg():
    try:
        return " / ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


RATE_RE = re.compile(r"samples/s: median ([0-9.eE+]+), min ([0-9.eE+]+), max ([0-9.eE+]+) \((\d+) repeats\)")


def lnn_throughput(lnn, model, batch, what, repeat, device="cpu"):
    out = sh([lnn, "throughput", "--model", model, "--batch", str(batch), "--repeat", str(repeat),
              "--what", what, "--solver", "lu", "--device", device])
    m = RATE_RE.search(out)
    if not m:
        raise RuntimeError(f"cannot parse lnn throughput output:\n{out}")
    warn = [l.strip() for l in out.splitlines() if "failed to solve" in l]
    return dict(median=float(m[1]), min=float(m[2]), max=float(m[3]), reps=int(m[4]), batch=batch,
                note="; ".join(warn), raw=out.strip())


def fmt_rate(c):
    if c is None:
        return "—"
    s = f"{c['median']:,.0f} ({c['min']:,.0f}–{c['max']:,.0f})"
    if c.get("requested") and c["batch"] != c["requested"]:
        s += f" [batch {c['batch']}]"
    return s


# ---------------------------------------------------------------------------
# JAX side


class Jax:
    def __init__(self, budget):
        import jax
        import numpy as np

        sys.path.insert(0, HERE)
        import lnn_jax

        self.jax, self.np, self.ref = jax, np, lnn_jax
        self.budget = budget
        self.version = jax.__version__
        self.per_sample = {}  # (n, width, what, variant) -> seconds per sample at batch 512

    def load(self, model):
        import jax.numpy as jnp

        spec, tensors = self.ref.read_model(model)
        return spec, self.ref.params_from_tensors(spec, tensors, jnp.float32)

    def agreement(self, lnn, model, n, workdir, device="cpu"):
        np, ref = self.np, self.ref
        import jax.numpy as jnp

        spec, params = self.load(model)
        X = ref.random_states(n, AGREE_STATES, seed=SEED + 100 + n, dtype=np.float64)
        states_csv = os.path.join(workdir, "states.csv")
        np.savetxt(states_csv, X, delimiter=",", fmt="%.17g")

        def lnn_eval(precision):
            out = os.path.join(workdir, f"lnn_{precision}.csv")
            sh([lnn, "predict", "--model", model, "--states", states_csv, "--out", out, "--solver", "lu",
                "--precision", precision, "--device", device])
            acc = np.loadtxt(out, delimiter=",", skiprows=1, usecols=range(n), ndmin=2)
            status = np.loadtxt(out, delimiter=",", skiprows=1, usecols=[n + 1], dtype=str, ndmin=1)
            return acc, status == "ok"

        a32, ok32 = lnn_eval("f32")
        a64, ok64 = lnn_eval("f64")
        X32 = jnp.asarray(X, jnp.float32)
        res = {}
        for variant in ("fair", "published"):
            a, M = self.jax.jit(ref.make_acc(spec, variant, return_mass=True))(params, X32)
            res[variant] = np.asarray(a, np.float64)
            if variant == "fair":
                cond = np.linalg.cond(np.asarray(M, np.float64))
        # float64 on both sides, in a separate process (x64 is a global JAX switch).
        out = sh([sys.executable, os.path.join(HERE, "lnn_jax.py"), "acc", "--model", model,
                  "--states", states_csv, "--variant", "fair", "--f64"])
        j64 = np.loadtxt(out.splitlines()[1:], delimiter=",", ndmin=2)

        base = ok32 & ok64
        base &= np.all(np.isfinite(res["fair"]), axis=1) & np.all(np.isfinite(res["published"]), axis=1)
        out = []
        for cmax in COND_MAX:
            sel = base & (cond <= cmax)

            def maxrel(a, b):  # per state ‖a − b‖∞ / ‖b‖∞, max over the selected states
                d = np.max(np.abs(a[sel] - b[sel]), axis=1) / np.maximum(np.max(np.abs(b[sel]), axis=1), 1e-30)
                return float(np.max(d)) if d.size else float("nan")

            def l1(a):
                return float(np.mean(np.abs(a[sel])))

            out.append(dict(
                cond_max=cmax, states=AGREE_STATES, compared=int(sel.sum()), cond_median=float(np.median(cond)),
                fair=maxrel(res["fair"], a32), published=maxrel(res["published"], a32),
                f64=maxrel(j64, a64),
                lnn32_truth=maxrel(a32, j64), jax32_truth=maxrel(res["fair"], j64),
                loss=abs(l1(res["fair"]) - l1(a32)) / l1(a32) if sel.any() else float("nan"),
            ))
        return out

    def time_cell(self, model, n, width, batch, what, variant, reps):
        np, ref = self.np, self.ref
        import jax.numpy as jnp

        key = (n, width, what, variant)
        used = batch
        if key in self.per_sample and batch > 512:
            # Pick the largest batch whose warm-up + repetitions fit the budget, estimated
            # from the batch-512 measurement; the batch used is reported, nothing extrapolated.
            est = self.per_sample[key]
            for b in (batch, 16384, 8192, 4096, 2048, 512):
                used = b
                if b <= batch and est * b * (reps + 1) <= self.budget:
                    break
        spec, params = self.load(model)
        acc_fn, grad_fn, _ = ref.make_functions(spec, variant)
        X = jnp.asarray(ref.random_states(n, used, seed=SEED + 1), jnp.float32)
        if what == "acc":
            fn, args = acc_fn, (params, X)
        else:
            fn, args = grad_fn, (params, X, jnp.zeros((used, n), jnp.float32))
        warm, times = ref.time_calls(fn, args, reps)
        med, lo, hi = ref.rates_summary(used, times)
        if used == 512:
            self.per_sample[key] = 1.0 / med
        return dict(median=med, min=lo, max=hi, reps=reps, batch=used, requested=batch, warm=warm)


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lnn", default=os.path.join(ROOT, "build", "lnn"))
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--budget", type=float, default=40.0,
                    help="seconds allowed per JAX cell at a large batch (warm-up + repetitions); "
                         "a cell that would take longer is measured at a smaller batch, which is labelled")
    ap.add_argument("--no-jax", action="store_true", help="measure lnn only")
    ap.add_argument("--configs", help="override, e.g. 2:128:512,65536;8:128:512 (n:width:batches)")
    ap.add_argument("--jax-unavailable-reason", default="")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="where lnn runs (JAX runs on its default device: the GPU where jax has CUDA)")
    ap.add_argument("--jax-matmul-precision", choices=("highest", "default"), default="highest",
                    help="JAX's float32 matrix products: 'highest' is FP32, as lnn's GEMMs (lnn "
                         "without --tf32); 'default' lets XLA use TF32 on the GPU (measured on an "
                         "H200: f32 error against f64 of 2e-2 at cond(M) <= 10, against lnn's 1e-5)")
    args = ap.parse_args()
    # Read by JAX at import, here and in the lnn_jax.py processes started below.
    os.environ["JAX_DEFAULT_MATMUL_PRECISION"] = args.jax_matmul_precision

    jx, why = None, args.jax_unavailable_reason
    if not args.no_jax and not why:
        try:
            jx = Jax(args.budget)
        except Exception as e:  # ImportError, or a broken install
            why = f"import failed: {e}"
    if jx is None:
        print(f"bench/compare: JAX is unavailable ({why or 'disabled'}); measuring lnn only.", flush=True)

    started = time.time()
    date = dt.datetime.now(dt.timezone.utc)
    lnn_info = sh([args.lnn, "info"]).strip()
    header = [
        f"Date: {date.strftime('%Y-%m-%dT%H:%M:%SZ')}; git commit {git_commit()}",
        f"Machine: {machine()}; load average at start {loadavg()}",
        f"lnn: {lnn_info.splitlines()[0]}; " + "; ".join(
            l.strip() for l in lnn_info.splitlines() if l.strip().startswith(("blas:", "cpu threads:"))),
        f"JAX: {jx.version + ' (' + jx.jax.devices()[0].platform + ', ' + str(jx.jax.devices()[0].device_kind) + ')' if jx else 'unavailable: ' + (why or 'disabled')}; "
        f"Python {platform.python_version()}; JAX float32 matrix products: precision "
        f"'{args.jax_matmul_precision}'" + (" (FP32, as lnn's)" if args.jax_matmul_precision == "highest"
                                              else " (TF32 allowed on the GPU)"),
    ]
    for h in header:
        print(h, flush=True)

    configs = CONFIGS
    if args.configs:
        configs = [(int(c.split(":")[0]), int(c.split(":")[1]), [int(b) for b in c.split(":")[2].split(",")])
                   for c in args.configs.split(";")]
    workdir = tempfile.mkdtemp(prefix="lnn-compare-")
    rows, agree, raw = [], {}, []
    stopped = ""

    def on_term(signum, frame):  # a time limit (timeout(1)): report what was measured
        raise Stopped()

    signal.signal(signal.SIGTERM, on_term)
    try:
        for n, width, batches in configs:
            model = os.path.join(workdir, f"n{n}_w{width}.safetensors")
            sh([args.lnn, "init", "--force", "--out", model, "--n", str(n), "--hidden", f"{width},{width},{width}",
                "--activation", "softplus", "--embedding", "plain", "--init", "lnn", "--seed", "0",
                "--precision", "f32"])
            if jx:
                agree[(n, width)] = jx.agreement(args.lnn, model, n, workdir, args.device)
                for a in agree[(n, width)]:
                    print(f"[n={n} width={width}] agreement on {a['compared']}/{a['states']} states "
                          f"(cond(M) ≤ {a['cond_max']:g}): lnn f32 vs JAX fair f32 {a['fair']:.2e}, "
                          f"vs JAX published f32 {a['published']:.2e}; f64 both {a['f64']:.2e}", flush=True)
            for batch in batches:
                reps = 5 if batch <= 4096 else 3
                for what in ("acc", "grad"):
                    cell = dict(n=n, width=width, batch=batch, what=what)
                    cell["lnn"] = lnn_throughput(args.lnn, model, batch, what, reps, args.device)
                    raw.append(f"lnn n={n} width={width} batch={batch} {what}:\n{cell['lnn']['raw']}")
                    for variant in ("published", "fair"):
                        cell[variant] = jx.time_cell(model, n, width, batch, what, variant, reps) if jx else None
                    rows.append(cell)
                    print(f"[n={n} width={width} batch={batch} {what}] lnn {fmt_rate(cell['lnn'])} | "
                          f"JAX published {fmt_rate(cell['published'])} | JAX fair {fmt_rate(cell['fair'])}"
                          f"  ({time.time() - started:.0f} s)", flush=True)
    except Stopped:
        stopped = (f"Stopped by SIGTERM after {time.time() - started:.0f} s (a time limit): the "
                   "tables hold the cells measured before it.")
        print(stopped, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    # --- the table
    phase = {"acc": "accelerations", "grad": "loss-gradient step (L1)"}
    where = "CPU" if args.device == "cpu" else "GPU"
    lines = [f"# lnn against JAX ({where}, same machine, same run)", ""] + [f"- {h}" for h in header] + [
        *([f"- {stopped}"] if stopped else []),
        f"- Total time of the run: {time.time() - started:.0f} s; load average at the end {loadavg()} "
        "(both include this run's own load)", "",
        "Model: 3 hidden layers of the given width, softplus, plain embedding, `lnn init --init lnn`, "
        "float32; LU solve in lnn (`--solver lu`). States q ~ U[0, 2π), q̇ ~ U[−10, 10). "
        "Samples/s: median (min–max) of the repetitions after one warm-up call (JAX: warm-up includes "
        "jit compilation; `block_until_ready` after every call); 5 repetitions at batch ≤ 4096, 3 above. "
        "A JAX cell marked [batch b] would not fit the time budget at the requested batch and was "
        "measured at batch b instead (nothing extrapolated); its ratio then compares different batches.",
        "",
        "| n | width | batch | phase | lnn | JAX published (hessian, jac-of-jac, pinv) | JAX fair (fwd-over-rev, solve) | lnn / faster JAX |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    goals = []
    for c in rows:
        best = None
        for v in ("published", "fair"):
            if c[v] and (best is None or c[v]["median"] > best["median"]):
                best = c[v]
        ratio = "—"
        if best:
            r = c["lnn"]["median"] / best["median"]
            ratio = f"{r:.2f}×" + (" [diff. batch]" if best["batch"] != c["batch"] else "")
            if args.device == "cuda" and c["n"] == 2 and c["width"] == 600 and c["what"] == "grad":
                need = {512: 10, 65536: 3}.get(c["batch"])
                if need:
                    goals.append(f"training step, width 600, batch {c['batch']}: lnn / faster JAX = "
                                 f"{r:.2f}× (goal ≥ {need}×): {'met' if r >= need else 'not met'}")
            if args.device == "cpu" and c["n"] == 2 and c["width"] == 600 and c["batch"] == 512:
                need = 3 if c["what"] == "acc" else 5
                goals.append(f"{phase[c['what']]}, width 600, batch 512: lnn / faster JAX = {r:.2f}× "
                             f"(goal ≥ {need}×): {'met' if r >= need else 'not met'}")
        lnn_cell = fmt_rate(c["lnn"]) + (f" ⚠ {c['lnn']['note']}" if c["lnn"]["note"] else "")
        lines.append(f"| {c['n']} | {c['width']} | {c['batch']} | {phase[c['what']]} | {lnn_cell} | "
                     f"{fmt_rate(c['published'])} | {fmt_rate(c['fair'])} | {ratio} |")
    if agree:
        lines += [
            "", f"Agreement of accelerations on {AGREE_STATES} random states per model, compared where "
            f"cond(M) ≤ 10, 100 and 1000 (2-norm, from JAX's M) and every solver reported success. Relative "
            "difference per state = ‖a − a_lnn‖∞ / ‖a_lnn‖∞, maximum over the compared states; lnn via "
            "`lnn predict --solver lu`. The gradient of the L1 loss is not compared: lnn has no command that "
            "prints it (C++ API only); the L1 loss value (mean |q̈|, zero targets) on the compared states is. "
            "\"f32 vs f64\" columns measure each side's float32 result against the float64 JAX fair result "
            "(which agrees with lnn f64 to the digits shown), i.e. each side's own rounding error.",
            "",
            "| n | width | cond(M) ≤ | states compared | median cond(M), all states | lnn f32 vs JAX fair f32 | lnn f32 vs JAX published f32 | lnn f64 vs JAX fair f64 | lnn f32 vs f64 | JAX fair f32 vs f64 | L1 loss rel. diff (f32) | loss gradient |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for (n, width), alist in agree.items():
            for a in alist:
                lines.append(
                    f"| {n} | {width} | {a['cond_max']:g} | {a['compared']} of {a['states']} | "
                    f"{a['cond_median']:.3g} | {a['fair']:.2e} | {a['published']:.2e} | {a['f64']:.2e} | "
                    f"{a['lnn32_truth']:.2e} | {a['jax32_truth']:.2e} | {a['loss']:.2e} | not compared (no CLI) |")
    if goals:
        lines += ["", f"Goals of issue 7 ({where}):", ""] + [f"- {g}" for g in goals]
    lines += ["", "<details><summary>lnn throughput output</summary>", "", "```"] + raw + ["```", "", "</details>", ""]
    text = "\n".join(lines)
    print()
    print(text)
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, f"{date.strftime('%Y-%m-%d')}-compare-{args.device}.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"bench/compare: wrote {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
