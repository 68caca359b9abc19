#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer target of tests/fuzz (built by the `fuzz` preset) for
# SECONDS on a corpus under BUILD/corpus/<target>, seeded from tests/data/bad/ and good
# examples. A crash, leak or timeout leaves its reproducer in BUILD/findings/<target>/ and
# makes this script fail; fix it, then add the reproducer to tests/data/bad/ with its
# expected error (tests/data/bad/cases.yaml).
#   scripts/fuzz.sh [BUILD=build/fuzz] [SECONDS=60]
set -uo pipefail
build=${1:-build/fuzz}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
bad=$root/tests/data/bad

# Copies seed files into a target's corpus, named by content (equal names in different
# folders would clash).
seed() {
  local dir=$build/corpus/$1
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [[ -f $f ]] && cp "$f" "$dir/seed-$(sha1sum <"$f" | cut -c1-16)"
  done
  return 0
}

shopt -s nullglob
seed fuzz_sweep "$bad"/sweeps/*.yaml "$root"/sweeps/*.yaml
seed fuzz_csv "$bad"/cohort/*.csv "$root"/data/smoke/cohort.csv
seed fuzz_centroids "$bad"/centroids/*.json "$root"/data/smoke/centroids/*.json
seed fuzz_safetensors "$bad"/weights/*.safetensors
# A good safetensors file: two tensors and metadata.
header='{"__metadata__":{"arch":"fnet"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}}'
good=$build/corpus/fuzz_safetensors/seed-good
printf "$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x00\\x00\\x00' $((${#header} % 256)) $((${#header} / 256)))" >"$good"
printf '%s' "$header" >>"$good"
head -c 22 /dev/zero >>"$good"

# Longest input per format: a sweep file is larger than a CSV row set or a header.
declare -A max_len=([fuzz_sweep]=4096 [fuzz_csv]=2048 [fuzz_centroids]=2048 [fuzz_safetensors]=4096)
failed=()
for target in fuzz_sweep fuzz_csv fuzz_centroids fuzz_safetensors; do
  exe=$build/tests/fuzz/$target
  findings=$build/findings/$target
  mkdir -p "$findings"
  echo "== $target: $seconds s"
  "$exe" "$build/corpus/$target" -max_total_time="$seconds" -max_len="${max_len[$target]}" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
    >"$build/$target.log" 2>&1
  code=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$target.log" | grep -o '[0-9]*$')
  echo "   ${runs:-?} runs, $(( ${runs:-0} / (seconds > 0 ? seconds : 1) )) exec/s, exit $code"
  if ((code != 0)) || compgen -G "$findings/*" >/dev/null; then
    failed+=("$target")
    echo "   findings in $findings (log: $build/$target.log):"
    ls "$findings" | sed 's/^/     /'
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: findings for ${failed[*]}"
  exit 1
fi
echo "fuzz: no findings"
