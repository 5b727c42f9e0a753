#!/usr/bin/env python3
"""The GPU check's summary (scripts/gpu-check.sh): OUTDIR/summary.json and
OUTDIR/summary.txt from OUTDIR/logs, written also when stages were killed by
their time limits (results of killed stages are read from what they left).

    gpu_check_summary.py OUTDIR EXIT_CODE
"""
import glob
import json
import os
import re
import statistics
import sys


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load_json_partial(path):
    """A JSON file, or the longest prefix of a Google Benchmark file cut off
    mid-write that closes into valid JSON; None if neither."""
    text = read(path)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    end = text.rfind("\n    }")
    while end > 0:
        try:
            return json.loads(text[: end + 6] + "\n  ]\n}")
        except ValueError:
            end = text.rfind("\n    }", 0, end)
    return None


def stages(logs):
    out = []
    for line in read(os.path.join(logs, "stages.tsv")).splitlines():
        f = line.split("\t")
        f += [""] * (6 - len(f))
        s = {"name": f[0], "status": f[1]}
        if f[2]:
            s["exit_code"] = int(f[2])
        s["seconds"] = float(f[3] or 0)
        if f[4] and f[4] != "0":
            s["limit_s"] = int(f[4])
        if f[5]:
            s["note"] = f[5]
        out.append(s)
    return out


def tests(logs, name):
    """Each test's result: from the gtest JSON, else from the log (a killed
    run writes no JSON; the test running at the kill is named)."""
    data = load_json_partial(os.path.join(logs, name + ".json"))
    results = []
    if data:
        for suite in data.get("testsuites", []):
            for case in suite.get("testsuite", []):
                full = f"{case.get('classname', suite.get('name'))}.{case['name']}"
                if case.get("failures"):
                    result = "failed"
                elif case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                    result = "skipped"
                else:
                    result = "passed"
                r = {"name": full, "result": result, "time": case.get("time")}
                if result == "failed":
                    r["failure"] = "\n".join(x.get("failure", "") for x in case["failures"])[:2000]
                props = {k: v for k, v in case.items() if k.endswith("_rel_err")}
                if props:
                    r["properties"] = props
                results.append(r)
        return results, "gtest json"
    log = read(os.path.join(logs, name + ".log"))
    if not log:
        return [], "not run"
    running = None
    for line in log.splitlines():
        m = re.match(r"^\[ +(RUN|OK|FAILED|SKIPPED) +\] (\S+\.\S+)(, where .*?)?( \((\d+) ms\))?$", line)
        if not m:
            continue
        kind, test = m.group(1), m.group(2).rstrip(",")
        if kind == "RUN":
            running = test
            continue
        if test != running:  # the FAILED list at the end repeats names
            continue
        results.append({"name": test, "result": {"OK": "passed", "FAILED": "failed",
                                                  "SKIPPED": "skipped"}[kind],
                        "time": f"{int(m.group(5)) / 1000:.3f}s" if m.group(5) else None})
        running = None
    if running:
        results.append({"name": running,
                        "result": "unfinished: the process ended in it (time limit or crash)"})
    return results, "log (no gtest json: the run did not end)"


def benchmarks(logs, stage):
    out = []
    for path in sorted(glob.glob(os.path.join(logs, stage, "*.json"))):
        data = load_json_partial(path)
        if not data:
            continue
        runs = [r for r in data.get("benchmarks", []) if r.get("run_type") == "iteration"]
        for r in data.get("benchmarks", []):
            if r.get("error_occurred"):
                out.append({"name": r.get("run_name", r["name"]),
                            "error": r.get("error_message")})
                break
        if not runs or any(r.get("error_occurred") for r in runs):
            continue
        rates = sorted(r.get("samples_per_s", 0) for r in runs)
        ms = sorted(r["real_time"] for r in runs)  # Unit: milliseconds
        tflops = sorted(r.get("GFLOP_per_s", 0) / 1e3 for r in runs)
        mid = len(runs) // 2
        out.append({
            "name": runs[0]["run_name"],
            "label": runs[0].get("label", ""),
            "repetitions": len(runs),
            "ms_per_call": {"median": ms[mid], "min": ms[0], "max": ms[-1]},
            "samples_per_s": {"median": rates[mid], "min": rates[0], "max": rates[-1]},
            "TFLOP_per_s_median": tflops[mid],
            "cublas_sgemm_TFLOP_per_s": runs[0].get("sgemm_GFLOP_per_s", 0) / 1e3,
            "solve_failures": runs[0].get("solve_failures"),
        })
        phases = {k[len("phase "):-len(" ms")]: statistics.median(r[k] for r in runs)
                  for k in runs[0] if k.startswith("phase ") and k.endswith(" ms")}
        if phases:
            out[-1]["phase_ms_per_call"] = phases
    return out


def main():
    out, code = sys.argv[1], int(sys.argv[2])
    logs = os.path.join(out, "logs")
    gpu = read(os.path.join(logs, "gpu.txt")).strip().split("\n")[0].split(", ")
    info = load_json_partial(os.path.join(logs, "lnn-info.json")) or {}
    cuda = info.get("backends", {}).get("cuda", {})
    found = [l for l in read(os.path.join(logs, "libraries.log")).splitlines()
             if " -> " in l or l.startswith("resolved: ")]
    summary = {
        "exit_code": code,
        "commit": read(os.path.join(logs, "commit.txt")).strip(),
        "gpu": gpu[0] if gpu and gpu[0] else None,
        "driver": gpu[1] if len(gpu) > 1 else None,
        "compute_capability": gpu[2] if len(gpu) > 2 else None,
        "memory": gpu[3] if len(gpu) > 3 else None,
        "cuda_versions": cuda.get("versions"),
        "cuda_usable": cuda.get("usable"),
        "cuda_reason": cuda.get("reason"),
        "libraries": found,  # linked in from this machine, and where cuBLAS resolved
        "check": read(os.path.join(logs, "check.txt")).strip().splitlines(),
        "stages": stages(logs),
        "tests": {},
        "benchmarks": {},
    }
    for name in ("tests-float", "capi", "tests-double", "first-failure-sync"):
        results, source = tests(logs, name)
        if source == "not run":
            continue
        counts = {}
        for r in results:
            counts[r["result"]] = counts.get(r["result"], 0) + 1
        summary["tests"][name] = {"source": source, "counts": counts, "results": results}
    for stage in ("bench-reference", "phases", "bench-scaling"):
        b = benchmarks(logs, stage)
        if b or os.path.isdir(os.path.join(logs, stage)):
            summary["benchmarks"][stage] = b
    compare = sorted(glob.glob(os.path.join(logs, "*compare-cuda.md")))
    if compare:
        summary["compare_jax"] = os.path.basename(compare[-1])
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    lines = [f"gpu-check {summary['commit']}: exit {code}",
             f"GPU: {summary['gpu']}, driver {summary['driver']}, sm {summary['compute_capability']}, "
             f"{summary['memory']}; {summary['cuda_versions']}"]
    lines += [f"  library {l.strip()}" for l in found]
    lines.append("stages:")
    for s in summary["stages"]:
        lim = f"/{s['limit_s']}" if "limit_s" in s else ""
        lines.append(f"  {s['name']:<24} {s['status']:<8} {s['seconds']:7.1f}{lim} s"
                     + (f"  ({s['note']})" if s.get("note") else ""))
    for name, t in summary["tests"].items():
        lines.append(f"tests {name}: {t['counts']} ({t['source']})")
        lines += [f"  FAILED {r['name']}" for r in t["results"] if r["result"] == "failed"]
        lines += [f"  UNFINISHED {r['name']}" for r in t["results"]
                  if r["result"].startswith("unfinished")]
    for stage, bs in summary["benchmarks"].items():
        lines.append(f"benchmarks {stage}: (median [min, max] over repetitions)")
        for b in bs:
            if "error" in b:
                lines.append(f"  {b['name']}: {b['error']}")
                continue
            sp = b["samples_per_s"]
            lines.append(f"  {b['name']}: {sp['median']:.4g} samples/s [{sp['min']:.4g}, {sp['max']:.4g}], "
                         f"{b['ms_per_call']['median']:.3f} ms/call, {b['TFLOP_per_s_median']:.2f} TFLOP/s "
                         f"(cuBLAS SGEMM {b['cublas_sgemm_TFLOP_per_s']:.1f}), "
                         f"solve failures {b['solve_failures']:.0f}")
            if "phase_ms_per_call" in b:
                total = sum(b["phase_ms_per_call"].values())
                for name, ms in sorted(b["phase_ms_per_call"].items(), key=lambda kv: -kv[1]):
                    lines.append(f"      {name:<32} {ms:9.4f} ms  {100 * ms / total if total else 0:5.1f} %")
    if "compare_jax" in summary:
        lines.append(f"JAX comparison: logs/{summary['compare_jax']}")
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
