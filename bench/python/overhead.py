"""Python's overhead per engine call against the C++ call (issue 20's benchmark).

For each batch size: the median time of `lnn.Engine.accelerations` called
from Python (argument checks, GIL release, output arrays included) against
`lnn throughput --what acc` (the C++ engine, timed inside the program) on
the same model file, precision and thread count, in the same run:

    python bench/python/overhead.py --cli build/lnn [--batches 512 65536]

Prints one line per batch size and, with --out, writes them as JSON.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import lnn


def cpp_median_seconds(cli, model_path, batch, repeat, precision):
    out = subprocess.run([cli, "throughput", "--model", model_path, "--batch", str(batch),
                          "--repeat", str(repeat), "--what", "acc", "--precision", precision,
                          "--solver", "lu"],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, LNN_NO_REEXEC="1")).stdout
    # Each repeat's samples/s (4 significant digits; its seconds are printed
    # with 3, too coarse for a 5 % comparison) as seconds per call.
    rates = re.findall(r"repeat \d+: [0-9.e+-]+ s, ([0-9.e+-]+) samples/s", out)
    times = [batch / float(r) for r in rates]
    return statistics.median(times), min(times), max(times), out


def python_seconds(engine, states, repeat):
    engine.accelerations(states)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        engine.accelerations(states)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True, help="the lnn program")
    ap.add_argument("--batches", type=int, nargs="+", default=[512, 65536])
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 128, 128])
    ap.add_argument("--precision", default="f32")
    ap.add_argument("--repeat", type=int, default=31)
    ap.add_argument("--rounds", type=int, default=3, help="C++ / Python alternations")
    ap.add_argument("--out")
    a = ap.parse_args()
    model = lnn.Model(n=2, hidden=a.hidden, embedding="angle", precision=a.precision,
                      init="lnn", seed=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        model.save(path)
        engine = lnn.Engine(lnn.Model.load(path))
        dtype = np.float32 if a.precision == "f32" else np.float64
        for B in a.batches:
            states = np.random.default_rng(0).uniform(-1, 1, size=(B, 4)).astype(dtype)
            cpp, py = [], []
            for _ in range(a.rounds):  # alternate, so drift in the machine's load hits both
                cpp.append(cpp_median_seconds(a.cli, path, B, a.repeat, a.precision)[0])
                py.append(python_seconds(engine, states, a.repeat)[0])
            c, p = statistics.median(cpp), statistics.median(py)
            row = {"batch": B, "cpp_median_s": c, "python_median_s": p,
                   "overhead": p / c - 1, "cpp_rounds_s": cpp, "python_rounds_s": py}
            rows.append(row)
            print(f"B {B}: C++ {c * 1e3:.3f} ms, Python {p * 1e3:.3f} ms per call "
                  f"(medians of {a.rounds} rounds × {a.repeat} calls): overhead {100 * (p / c - 1):+.1f} %"
                  f" [C++ rounds {', '.join(f'{x * 1e3:.3f}' for x in cpp)}; Python rounds "
                  f"{', '.join(f'{x * 1e3:.3f}' for x in py)} ms]", flush=True)
    meta = {"lnn": lnn.__version__, "model": f"n 2, {a.hidden}, {a.precision}",
            "threads": lnn.cpu_threads(), "blas": lnn.blas_name(), "machine": platform.processor()
            or platform.machine(), "python": sys.version.split()[0]}
    print(json.dumps(meta))
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
