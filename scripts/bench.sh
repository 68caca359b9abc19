#!/usr/bin/env bash
# Runs every benchmark in bench/ and prints its figures.
set -euo pipefail
build=${1:-build/release}
echo "== training step (C++, LibTorch) =="
"$build/bench/bench_train_step"
