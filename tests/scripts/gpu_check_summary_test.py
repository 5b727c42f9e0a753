#!/usr/bin/env python3
"""scripts/gpu_check_summary.py on the logs a GPU check leaves when its stages
end badly: a gtest run killed mid-test (no JSON), a crashed one, a Google
Benchmark JSON cut off mid-write, a phase-timed benchmark, and a stage table
with timeouts. The summary must be written, name what was running, and keep
every benchmark that finished."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = os.path.join(HERE, "..", "..", "scripts", "gpu_check_summary.py")


def bench_run(name, ms, rate, extra=None):
    r = {"name": name, "run_name": name, "run_type": "iteration", "real_time": ms,
         "samples_per_s": rate, "GFLOP_per_s": 2000.0, "sgemm_GFLOP_per_s": 50000.0,
         "solve_failures": 0}
    r.update(extra or {})
    return r


def main():
    failures = []
    with tempfile.TemporaryDirectory() as out:
        logs = os.path.join(out, "logs")
        os.makedirs(os.path.join(logs, "bench-reference"))
        os.makedirs(os.path.join(logs, "phases"))
        with open(os.path.join(logs, "stages.tsv"), "w") as f:
            f.write("libraries\tok\t0\t0\t0\t1 found on this machine\n")
            f.write("tests-float\ttimeout\t124\t150.0\t150\t\n")
            f.write("tests-double\tfailed\t134\t2.0\t150\t\n")
            f.write("bench-reference\ttimeout\t124\t150.0\t150\t\n")
        with open(os.path.join(logs, "gpu.txt"), "w") as f:
            f.write("NVIDIA H200, 580.159.04, 9.0, 143771 MiB\n")
        with open(os.path.join(logs, "commit.txt"), "w") as f:
            f.write("abc1234, built now for sm_90\n")
        with open(os.path.join(logs, "libraries.log"), "w") as f:
            f.write("resolved: libcublas.so.13 => /usr/local/cuda/lib64/libcublas.so.13\n")
        # Killed by its time limit inside the third test (no gtest JSON).
        with open(os.path.join(logs, "tests-float.log"), "w") as f:
            f.write("[ RUN      ] CudaEngine/0.A\n[       OK ] CudaEngine/0.A (12 ms)\n"
                    "[ RUN      ] CudaEngine/0.B\nx.cpp:1: Failure\n"
                    "[  FAILED  ] CudaEngine/0.B, where TypeParam = float (5 ms)\n"
                    "[ RUN      ] CudaEngine/0.C\n")
        # Crashed inside its only test.
        with open(os.path.join(logs, "tests-double.log"), "w") as f:
            f.write("[ RUN      ] CudaEngine/1.A\nSegmentation fault\n")
        # One benchmark complete, one cut off mid-write.
        with open(os.path.join(logs, "bench-reference", "01.json"), "w") as f:
            json.dump({"context": {}, "benchmarks": [bench_run("BM_A", 2.0, 5.0),
                                                     bench_run("BM_A", 1.0, 7.0),
                                                     bench_run("BM_A", 3.0, 4.0)]}, f, indent=2)
        text = json.dumps({"context": {}, "benchmarks": [bench_run("BM_B", 1.0, 9.0),
                                                         bench_run("BM_B", 1.0, 8.0)]}, indent=2)
        with open(os.path.join(logs, "bench-reference", "02.json"), "w") as f:
            f.write(text[: text.rfind('"solve_failures"')])  # cut inside the second run
        with open(os.path.join(logs, "phases", "01.json"), "w") as f:
            json.dump({"context": {}, "benchmarks": [
                bench_run("BM_C", 1.0, 1.0, {"phase forward ms": 0.25, "phase solve ms": 0.5})]}, f)
        rc = subprocess.run([sys.executable, SUMMARY, out, "1"]).returncode
        if rc != 0:
            failures.append(f"summary script exited {rc}")
        s = json.load(open(os.path.join(out, "summary.json")))
        txt = open(os.path.join(out, "summary.txt")).read()

        def expect(cond, what):
            if not cond:
                failures.append(what)

        expect(s["exit_code"] == 1 and s["gpu"] == "NVIDIA H200", "header fields")
        expect([x["status"] for x in s["stages"]] == ["ok", "timeout", "failed", "timeout"],
               "stage statuses")
        tf = {r["name"]: r["result"] for r in s["tests"]["tests-float"]["results"]}
        expect(tf.get("CudaEngine/0.A") == "passed", "passed test from the log")
        expect(tf.get("CudaEngine/0.B") == "failed", "failed typed test from the log")
        expect(tf.get("CudaEngine/0.C", "").startswith("unfinished"), "the test running at the kill")
        td = {r["name"]: r["result"] for r in s["tests"]["tests-double"]["results"]}
        expect(td.get("CudaEngine/1.A", "").startswith("unfinished"), "the test that crashed")
        ref = {b["name"]: b for b in s["benchmarks"]["bench-reference"]}
        expect("BM_A" in ref and ref["BM_A"]["samples_per_s"] == {"median": 5.0, "min": 4.0, "max": 7.0},
               "median and spread of a complete benchmark")
        expect("BM_B" in ref and ref["BM_B"]["repetitions"] == 1,
               "the finished repetition of a benchmark cut off mid-write")
        ph = s["benchmarks"]["phases"][0].get("phase_ms_per_call", {})
        expect(ph == {"forward": 0.25, "solve": 0.5}, "phase times")
        expect("UNFINISHED CudaEngine/0.C" in txt and "FAILED CudaEngine/0.B" in txt, "summary.txt")
        expect(any("libcublas" in l for l in s["libraries"]), "where cuBLAS resolved")
    if failures:
        print("gpu_check_summary_test: FAILED: " + "; ".join(failures))
        return 1
    print("gpu_check_summary_test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
