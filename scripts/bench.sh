#!/usr/bin/env bash
# Runs every benchmark in bench/ and prints its figures (docs/performance.md explains them).
set -euo pipefail
build=${1:-build/release}
echo "== training step (C++, LibTorch) =="
"$build/bench/bench_train_step"
echo
echo "== loader stall (share of step time waiting for data) =="
"$build/bench/bench_loader"
if [[ -x "$build/bench/bench_data" ]]; then
  echo
  echo "== data layer: preprocessing throughput and cached patch reads =="
  "$build/bench/bench_data"
fi
