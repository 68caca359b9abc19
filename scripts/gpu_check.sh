#!/usr/bin/env bash
# The CUDA path, on a machine with a GPU and Python's torch (no Debian packages needed):
# builds lib/models, lib/train, lib/ssl and bench_fit against that LibTorch (torch-only
# preset), runs the CUDA tests when GoogleTest is there, and times the training loop on the
# GPU against the CPU. Usage: scripts/gpu_check.sh [build dir]
set -euo pipefail
build=${1:-build/gpu}
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVFP_TORCH_ONLY=ON \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$build" -j "$(nproc)"
if [[ -x "$build/tests/train/train_tests" ]]; then
  # Device.*: bf16 training and a resumed run on the GPU; Resume.OnCuda*: train.deterministic
  # gives the same numbers twice and a resumed run (CUDA generators restored) ends bit for bit.
  "$build/tests/train/train_tests" --gtest_filter='Device.*:Resume.OnCuda*:Resume.TheCheckpoint*'
  "$build/tests/ssl/ssl_tests" --gtest_filter='Byol.OnCuda*'
else
  echo "gpu_check: GoogleTest not found, tests not built; timing only"
fi
"$build/bench/bench_fit" --device cuda --arch fnet,resnet18 --dims 2,3
# The study's 3D setting: 47³ cubes, batch 16, fNet 3D and SE-ResNet50 3D; "data wait" says
# whether the loader keeps the GPU busy.
"$build/bench/bench_fit" --device cuda --arch fnet,se_resnet50 --dims 3 --size3d 47 --batch 16 \
  --patches 512 --epochs 2
"$build/bench/bench_fit" --device cpu --arch fnet --dims 2
