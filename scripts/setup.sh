#!/usr/bin/env bash
# Installs the Debian packages lnn needs, only those missing. Safe to rerun.
set -euo pipefail
packages=(build-essential cmake pkg-config gfortran python3 libopenblas-dev libopenblas-openmp-dev nlohmann-json3-dev libcli11-dev
          librandom123-dev libhdf5-dev python3-h5py python3-numpy python3-matplotlib libgtest-dev libgmock-dev libbenchmark-dev
          python3-dev python3-venv  # the Python package (docs/python.md): Python.h, venv with pip
          clang libclang-rt-dev libomp-dev)  # the last three: the fuzz build (scripts/fuzz.sh)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
