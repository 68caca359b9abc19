#!/usr/bin/env bash
# The walking skeleton: synthetic cohort (once), the demo sweep under mpirun, the table.
set -euo pipefail
vfp=${1:-build/release/runner/vfp}
cohort=data/synth
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
if [ ! -f "$cohort/cohort.csv" ]; then
  echo "demo: writing the synthetic cohort to $cohort (400 subjects, ~15 % events)"
  "$vfp" synth --subjects 400 --event-rate 0.15 --seed 1 --out "$cohort"
else
  echo "demo: reusing the synthetic cohort in $cohort"
fi
# The coordinator and one single-threaded worker per core (the sweep sets train.threads: 1,
# so the table does not depend on how many there are).
ranks=${VFP_RANKS:-$(($(nproc) + 1))}
echo "demo: mpirun -np $ranks vfp run sweeps/demo.yaml"
# Ranks are not pinned and may outnumber the cores: rank 0 sleeps while it waits.
mpirun --oversubscribe --bind-to none -np "$ranks" "$vfp" run sweeps/demo.yaml
echo "demo: table also in results/demo/report/table.md; wall time $(( $(date +%s) - start )) s"
