#!/usr/bin/env bash
# The main job: set up, build, then generate, train and evaluate a
# double-pendulum LNN with the shipped configuration (configs/double_pendulum.toml),
# printing the evaluation table, then an energy-drift sweep of the model
# against the analytic system (RK4 and the variational integrator; tables and
# plots in out/sweep). About 11 minutes from a fresh clone on two CPU cores
# (measured 10 min 40 s, training 6 min 49 s); prints the evaluation against
# the reference study's targets.
#   LNN_OUT=dir     where files go (default out/)
#   LNN_STEPS=N     override the training steps (e.g. for a quick try)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target lnn_cli
out=${LNN_OUT:-out}
mkdir -p "$out"
lnn=./build/lnn
$lnn info

echo "== generate: 200,000 random double-pendulum states with exact accelerations"
$lnn generate --force --system double_pendulum --samples 200000 --seed 1 --out "$out/double_pendulum_train.h5"

echo "== train (configs/double_pendulum.toml)"
steps=()
[[ -n ${LNN_STEPS:-} ]] && steps=(--steps "$LNN_STEPS")
rm -f "$out/double_pendulum.safetensors"
$lnn train --force --config configs/double_pendulum.toml --dataset "$out/double_pendulum_train.h5" \
  "${steps[@]}" --out "$out/double_pendulum.safetensors" --log "$out/double_pendulum_train.csv"

echo "== evaluate (the reference study's protocol: 40 rollouts to t = 100, 100,000 held-out states)"
$lnn evaluate --model "$out/double_pendulum.safetensors" --json "$out/double_pendulum_eval.json"
echo "== against the reference study's targets (docs/results.md)"
python3 - "$out/double_pendulum_eval.json" <<'PY' || echo "(python3 missing: see $out/double_pendulum_eval.json)"
import json, sys
e = json.load(open(sys.argv[1]))
rows = [("held-out acceleration L1", e["acc_l1"], 0.0689, "{:.4f}"),
        ("energy error mean", 100 * e["energy_error"]["mean"], 0.43, "{:.3f} %"),
        ("energy error median", 100 * e["energy_error"]["median"], 0.08, "{:.3f} %")]
for name, value, target, fmt in rows:
    verdict = "met" if value <= target else "not met"
    print(f"  {name:26s} {fmt.format(value):>10s}   target <= {fmt.format(target):>9s}   {verdict}")
PY

echo "== sweep: RK4 and the variational integrator, learned and analytic, 10 rollouts to t = 100"
rm -rf "$out/sweep"
$lnn sweep --model "$out/double_pendulum.safetensors" --trajectories 10 --dt 0.02,0.01 \
  --horizons 10,100 --out "$out/sweep"

# The loss curve, where matplotlib is installed (python3-matplotlib).
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" scripts/plot_loss.py "$out/double_pendulum_loss.png" "$out/double_pendulum_train.csv" \
      --model "$out/double_pendulum.safetensors" --title "double pendulum, 3 x 128" &&
      echo "loss curve: $out/double_pendulum_loss.png"
    break
  fi
done
