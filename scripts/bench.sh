#!/usr/bin/env bash
# Runs every benchmark in bench/, prints its figures, and writes docs/performance.md from the
# figures they record (bench/record.h) with bench_report.
# Usage: scripts/bench.sh [build dir] [--full] [--out FILE]
#   --full: bench_model_step's whole matrix; --out: the report (default docs/performance.md)
set -euo pipefail
build=build/release
full=0
report=docs/performance.md
while (($#)); do
  case "$1" in
    --full) full=1 ;;
    --out) report=$2; shift ;;
    *) build=$1 ;;
  esac
  shift
done
export VFP_BENCH_RECORD
VFP_BENCH_RECORD=$(realpath -m "$build/bench/figures.jsonl")
: >"$VFP_BENCH_RECORD"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
echo "== training step (C++, LibTorch) =="
"$build/bench/bench_train_step"
echo
echo "== training step per architecture: vfp (C++) vs PyTorch's Python API =="
if ((full)); then
  # 2D 64/128/224 and 3D 32³/64³ at 1 and 2 threads: long (ResNet-152 3D 64³ 1 thread alone
  # takes minutes).
  "$build/bench/bench_model_step"
else
  # Two rounds per case, alternating which side goes first: a step slowed by something else on
  # the machine (seen: one side 2x slower once) does not decide the ratio.
  "$build/bench/bench_model_step" --size2d 64 --size3d 32 --threads 2 --rounds 2
fi
echo
echo "== training loop: throughput and time outside forward/backward/step =="
"$build/bench/bench_fit" --arch fnet,resnet18 --dims 2,3
echo
echo "== training loop, vfp vs MONAI: the study's 3D setting (47³, batch 16), the same patches =="
# vfp's side from the LibTorch 2.x build when there is one (make bench builds it): the same
# torch as MONAI's, so that the loops differ and not the libraries.
fit_vs_monai="$build/bench/bench_fit"
[[ -x build/torch2/bench/bench_fit ]] && fit_vs_monai=build/torch2/bench/bench_fit
if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import monai' 2>/dev/null; then
  echo "vfp: $fit_vs_monai"
  "$fit_vs_monai" --arch fnet,monai_seresnet50 --dims 3 --size3d 47 --batch 16 --width 32 \
    --patches 160 --epochs 2 --versus-monai .venv/bin/python
else
  echo "skipped: no MONAI in .venv (scripts/torch2.sh venv installs it; make bench does)"
fi
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
if [[ -x "$build/bench/bench_out_of_core" ]]; then
  echo
  echo "== out-of-core data: worker RSS and samples/s over 1k/10k/40k 3D patch caches, mapped vs in memory; BYOL =="
  # Writes each cache (up to 21 GB: 40k x 64^3 stored as float16) under /tmp, measures, deletes
  # it; 10-20 min on 2 cores.
  "$build/bench/bench_out_of_core"
fi
if [[ -x "$build/bench/bench_predict" ]]; then
  echo
  echo "== vfp predict: patients/s on CPU, CT file to report (preprocessing included) =="
  "$build/bench/bench_predict"
fi

# The report: versions of both sides, the load around the run, then every recorded figure.
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
"$build/bench/bench_report" "$VFP_BENCH_RECORD" --out "$report" \
  --machine-note "vfp $(git describe --always --dirty 2>/dev/null || echo '(no git)'); LibTorch (Debian libtorch-dev) $(version libtorch-dev); PyTorch (python3-torch) $(version python3-torch); R survival $(version r-cran-survival); scikit-learn $(version python3-sklearn); h5py $(version python3-h5py)" \
  --machine-note "load average before the run $load_before, after $(cut -d' ' -f1-3 /proc/loadavg); the run took $(( $(date +%s) - started )) s" \
  --machine-note "allocator: bench_model_step runs both sides with the same GLIBC_TUNABLES (raised mmap/trim thresholds); bench_fit and bench_out_of_core's workers as vfp sets it at start-up, and bench_fit's MONAI loop under the same thresholds as GLIBC_TUNABLES; the others glibc defaults" \
  --machine-note "bench_model_step: each side runs twice per case (--rounds 2), alternating which goes first; each side's faster median counts"
