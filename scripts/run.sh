#!/usr/bin/env bash
# The main job as it stands: set up, build, report what this build can do,
# and evaluate a freshly initialized double-pendulum LNN (the reference
# study's 3 × 600 softplus network) on random states, printing throughput.
# LU, because the mass matrix of an untrained network is often indefinite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target lnn_cli
out=${LNN_OUT:-out}
mkdir -p "$out"
./build/lnn info
./build/lnn init --out "$out/double_pendulum_init.safetensors" --n 2 --hidden 600,600,600 \
  --activation softplus --embedding angle --init lnn --seed 0 --precision f32
echo "== accelerations, float, batch 16384"
./build/lnn throughput --model "$out/double_pendulum_init.safetensors" --batch 16384 --repeat 3 --what acc --solver lu
echo "== loss-gradient steps, float, batch 4096"
./build/lnn throughput --model "$out/double_pendulum_init.safetensors" --batch 4096 --repeat 3 --what grad --solver lu
