#!/usr/bin/env python3
"""Time to quality (issue 17): the wall time and samples a training run needs
until its model meets the reference study's three double-pendulum targets.

For every width and seed: `lnn train` with the shipped configuration
(configs/double_pendulum.toml: fresh states every step unless the config
names a dataset), `--hidden W,W,W --seed S --steps N`, keeping a checkpoint
every K steps (`--keep-checkpoints`). Then the kept checkpoints are judged
in step order by `lnn evaluate` (the reference protocol: held-out L1 of q̈
on 100,000 states, energy error of 40 rollouts to t = 100) until one meets
all three targets. The time to quality is the training's own elapsed time
at that step (the `seconds` column of its log; evaluations excluded), the
samples are step × batch. A checkpoint whose logged validation L1 (4096
fresh states) is over `--skip-above` times the L1 target is not evaluated
(it cannot meet the target; saves most evaluations of a run).

A run planned for N steps anneals its learning rate over N (cosine), so the
result belongs to that N: say it with the figures. A run over its
`--budget-seconds` is stopped (its kept checkpoints stay) and judged as far
as it got.

  python3 bench/time_to_quality.py --lnn build/lnn --widths 128 --seeds 0,1,2 \\
      --steps 60000 --every 5000 --out ttq/

Writes OUT/summary.json and prints one row per run. Exit status 0 whether or
not the targets were met (a measurement, not a test).
"""
import argparse
import csv
import json
import os
import platform
import signal
import subprocess
import sys
import time

TARGETS = {"acc_l1": 0.0689, "energy_mean": 0.0043, "energy_median": 0.0008}


def meets(ev):
    e = ev["energy_error"]
    return (ev["acc_l1"] <= TARGETS["acc_l1"] and e["mean"] <= TARGETS["energy_mean"]
            and e["median"] <= TARGETS["energy_median"] and ev["rollouts_failed"] == 0)


def kept_path(checkpoint, step):
    # lnn::kept_checkpoint_path
    ext = ".safetensors"
    if checkpoint.endswith(ext) and len(os.path.basename(checkpoint)) > len(ext):
        return checkpoint[: -len(ext)] + f".step{step}" + ext
    return checkpoint + f".step{step}"


def log_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def train(args, width, seed, out):
    stem = os.path.join(out, f"w{width}_seed{seed}")
    cmd = [args.lnn, "train", "--force", "--quiet", "--config", args.config,
           "--hidden", ",".join([str(width)] * 3), "--seed", str(seed),
           "--steps", str(args.steps), "--checkpoint-every", str(args.every),
           "--validate-every", str(args.every), "--keep-checkpoints",
           "--device", args.device, "--out", stem + ".safetensors", "--log", stem + ".csv"]
    print("$ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    stopped = False
    try:
        proc.wait(timeout=args.budget_seconds or None)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        stopped = True
    if proc.returncode != 0 and not stopped:
        raise SystemExit(f"time_to_quality: lnn train failed (exit {proc.returncode})")
    return stem, time.monotonic() - start, stopped


def judge(args, stem):
    rows = log_rows(stem + ".csv")
    validated = [r for r in rows if r["val_l1"] not in ("", None)]
    judged = []
    for r in validated:
        step = int(r["step"])
        path = kept_path(stem + ".safetensors", step)
        if not os.path.exists(path):
            continue
        entry = {"step": step, "seconds": float(r["seconds"]), "val_l1": float(r["val_l1"])}
        if entry["val_l1"] > args.skip_above * TARGETS["acc_l1"]:
            entry["evaluated"] = False
            judged.append(entry)
            continue
        out = path + ".eval.json"
        done = subprocess.run([args.lnn, "evaluate", "--model", path, "--json", out],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"time_to_quality: lnn evaluate {path} failed: {done.stderr.strip()}")
        with open(out) as f:
            ev = json.load(f)
        entry.update(evaluated=True, acc_l1=ev["acc_l1"], energy_mean=ev["energy_error"]["mean"],
                     energy_median=ev["energy_error"]["median"], met=meets(ev))
        judged.append(entry)
        print(f"  step {step}: held-out L1 {ev['acc_l1']:.4g}, energy error mean "
              f"{100 * ev['energy_error']['mean']:.3g} %, median "
              f"{100 * ev['energy_error']['median']:.3g} %{'  (targets met)' if entry['met'] else ''}",
              flush=True)
        if entry["met"]:
            break
    return judged


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lnn", default="build/lnn")
    ap.add_argument("--config", default="configs/double_pendulum.toml")
    ap.add_argument("--widths", default="128,600")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=60000)
    ap.add_argument("--every", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=512, help="the config's batch (for samples)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--budget-seconds", type=float, default=0, help="per run; 0 = none")
    ap.add_argument("--skip-above", type=float, default=2.0)
    ap.add_argument("--out", default="ttq")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    info = subprocess.run([args.lnn, "info"], capture_output=True, text=True).stdout
    summary = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(),
               "cpu": cpu_name(), "lnn_info": info, "steps": args.steps,
               "every": args.every, "device": args.device, "targets": TARGETS, "runs": []}
    for width in [int(w) for w in args.widths.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            stem, wall, stopped = train(args, width, seed, args.out)
            judged = judge(args, stem)
            met = next((j for j in judged if j.get("met")), None)
            run = {"width": width, "seed": seed, "train_wall_seconds": wall, "stopped": stopped,
                   "checkpoints": judged,
                   "time_to_quality_seconds": met["seconds"] if met else None,
                   "samples_to_quality": met["step"] * args.batch if met else None,
                   "step_to_quality": met["step"] if met else None}
            summary["runs"].append(run)
            last = judged[-1] if judged else {}
            print(f"width {width} seed {seed}: " +
                  (f"targets met at step {met['step']} after {met['seconds']:.0f} s of training "
                   f"({met['step'] * args.batch:,} samples)" if met else
                   f"targets not met in {last.get('step', 0)} steps "
                   f"({'stopped by the budget' if stopped else 'the planned run'})"), flush=True)
            with open(os.path.join(args.out, "summary.json"), "w") as f:
                json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
