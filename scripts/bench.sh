#!/usr/bin/env bash
# Runs every benchmark in bench/ and prints its figures (docs/performance.md explains them).
# Usage: scripts/bench.sh [build dir] [--full]   --full: bench_model_step's whole matrix
set -euo pipefail
build=build/release
full=0
for arg in "$@"; do
  case "$arg" in
    --full) full=1 ;;
    *) build=$arg ;;
  esac
done
echo "== training step (C++, LibTorch) =="
"$build/bench/bench_train_step"
echo
echo "== training step per architecture: vfp (C++) vs PyTorch's Python API =="
if ((full)); then
  # 2D 64/128/224 and 3D 32³/64³ at 1 and 2 threads: long (ResNet-152 3D 64³ 1 thread alone
  # takes minutes).
  "$build/bench/bench_model_step"
else
  "$build/bench/bench_model_step" --size2d 64 --size3d 32 --threads 2
fi
echo
echo "== training loop: throughput and time outside forward/backward/step =="
"$build/bench/bench_fit" --arch fnet,resnet18 --dims 2,3
echo
echo "== loader stall (share of step time waiting for data) =="
"$build/bench/bench_loader"
if [[ -x "$build/bench/bench_stats" ]]; then
  echo
  echo "== statistics: Cox, concordance, AUROC/AP, bootstrap, DeLong vs R and scikit-learn =="
  "$build/bench/bench_stats"
fi
if [[ -x "$build/bench/bench_dispatch" ]]; then
  echo
  echo "== dispatch: no-op jobs/s and a 64-worker simulated sweep's scheduling efficiency =="
  mpi="mpirun --allow-run-as-root --oversubscribe --bind-to none"
  for np in 2 3 5; do $mpi -np $np "$build/bench/bench_dispatch" --jobs 50000; done
  $mpi -np 65 "$build/bench/bench_dispatch" --jobs 640 --sleep-ms 50,350
  $mpi -np 65 "$build/bench/bench_dispatch" --jobs 640 --sleep-ms 50,350 --no-estimates
fi
if [[ -x "$build/bench/bench_data" ]]; then
  echo
  echo "== data layer: preprocessing throughput and cached patch reads =="
  "$build/bench/bench_data"
fi
if [[ -x "$build/bench/bench_predict" ]]; then
  echo
  echo "== vfp predict: patients/s on CPU, CT file to report (preprocessing included) =="
  "$build/bench/bench_predict"
fi
