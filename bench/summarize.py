#!/usr/bin/env python3
"""Turns a Google Benchmark JSON (lnn_bench --benchmark_out=F.json, with
--benchmark_repetitions) into the markdown table of docs/benchmarks.md:
per configuration the median samples/s with min and max over repetitions,
the median GFLOP/s by the docs/math.md §3 count, and its fraction of the SGEMM
rate measured in the same run."""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    data = json.load(open(path))
    runs = defaultdict(list)
    sgemm = None
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        runs[b["run_name"]].append(b)
        sgemm = b.get("sgemm_GFLOP_per_s", sgemm)
    ctx = data["context"]
    print(f"Machine: {ctx.get('num_cpus')} × {ctx.get('mhz_per_cpu')} MHz, {ctx.get('blas')}, "
          f"{ctx.get('cpu_threads')} threads; date {ctx.get('date')}; lnn {ctx.get('lnn_version')}; "
          f"SGEMM (2048×600×600, median of 11) {sgemm:.0f} GFLOP/s\n")
    print("| phase | width | batch | samples/s median | min – max | GFLOP/s | of SGEMM | reps |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, reps in runs.items():
        phase = "accelerations" if "Accelerations" in name else "loss-gradient step"
        parts = dict(p.split(":") for p in name.split("/")[1:] if ":" in p)
        sps = sorted(r["samples_per_s"] for r in reps)
        gf = statistics.median(r["GFLOP_per_s"] for r in reps)
        print(f"| {phase} | {parts['width']} | {parts['batch']} | {statistics.median(sps):,.0f} | "
              f"{sps[0]:,.0f} – {sps[-1]:,.0f} | {gf:.1f} | {gf / sgemm:.0%} | {len(reps)} |")


if __name__ == "__main__":
    main(sys.argv[1])
