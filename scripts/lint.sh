#!/usr/bin/env bash
# clang-tidy (the checks of .clang-tidy) over the translation units of lib/, runner/ and tasks/
# of a configured build folder. Prints each finding once and exits 1 when there is any.
#   scripts/lint.sh BUILD_DIR          every TU but the LibTorch ones (make lint, make test)
#   scripts/lint.sh BUILD_DIR --all    the LibTorch ones too (make lint-all)
# LINT_JOBS sets the parallelism (default: nproc).
#
# Why the LibTorch TUs (lib/models, lib/train, lib/ssl, lib/inference/predictor.cpp: the only
# places torch headers may appear) are left to make lint-all: clang-tidy parses <torch/torch.h>
# and runs every check over it: 41 s of CPU per TU against 6 s for the rest (clang-tidy 14,
# measured 2026-12). Their 26 TUs would add ~9 min on 2 cores to make test, whose lint budget
# is ~6 min; the other 108 take ~5 min there (630 s of CPU). See docs/hardening.md.
set -euo pipefail

build=${1:?usage: scripts/lint.sh BUILD_DIR [--all]}
scope=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
[[ -d "$build" ]] || { echo "lint: no build folder $build; configure first (cmake --preset release)" >&2; exit 2; }
build=$(cd "$build" && pwd)
db="$build/compile_commands.json"
[[ -f "$db" ]] || { echo "lint: $db is missing; configure first (cmake --preset release)" >&2; exit 2; }
command -v clang-tidy >/dev/null || { echo "lint: clang-tidy is not installed (scripts/setup.sh)" >&2; exit 2; }

work="$build/lint"
rm -rf "$work"
mkdir -p "$work/logs"

# The compile commands are GCC's; two things in them stop clang from parsing:
#  - the torch precompiled header (-include cmake_pch.hxx): clang finds GCC's .gch beside it
#    and rejects it. Each TU includes what it uses, so the header is simply dropped;
#  - ITK 5.2's itk_compiler_detection.h knows only the GCC Debian built it with and #errors on
#    clang: ITK TUs are shown a GCC. 10.2, not 12: with GCC >= 11, glibc's headers use an
#    attribute form clang 14 rejects.
sed -E -e 's# -Winvalid-pch -include [^ "]*cmake_pch\.hxx##' \
  -e '/"command":.*ITK-/ s#("command": "[^ ]+)#\1 -U__clang__ -fgnuc-version=10.2.0#' \
  "$db" >"$work/compile_commands.json"

# What to check: the files of lib/, runner/ and tasks/ and, in a unity build (VFP_UNITY_BUILD,
# the default), their batches (<target>.dir/Unity/unity_N_cxx.cxx, each #including up to 8 of
# them): .clang-tidy's HeaderFilterRegex reports findings in every file a batch includes, and
# the headers they share are parsed and checked once per batch instead of once per file.
sed -n -E 's#^ *"file": "([^"]*)",?$#\1#p' "$db" | sort -u |
  awk -v root="$root/" -v build="$build/" -v all="$scope" '
    function torch(rel) {
      return rel ~ /^lib\/(models|train|ssl)\// || rel == "lib/inference/predictor.cpp" ||
             rel ~ /^lib\/inference\/CMakeFiles\/vfp_inference_predictor\.dir\//
    }
    {
      if (index($0, build) == 1) {
        rel = substr($0, length(build) + 1)
        if (rel !~ /\/Unity\/unity_[0-9]+_cxx\.cxx$/) next
      } else if (index($0, root) == 1) {
        rel = substr($0, length(root) + 1)
        if (rel !~ /\.cpp$/) next
      } else next
      if (rel ~ /^(lib|runner|tasks)\// && (all == "--all" || !torch(rel))) print
    }' >"$work/files"
count=$(wc -l <"$work/files")
echo "lint: clang-tidy over $count translation units (${scope:-without the LibTorch ones})"

start=$SECONDS
status=0
# A batch is made of #include "x.cpp" lines, which bugprone-suspicious-include would flag.
(cd "$root" && xargs -P "${LINT_JOBS:-$(nproc)}" -I{} sh -c '
  case "$2" in */Unity/unity_*) only=--checks=-bugprone-suspicious-include ;; *) only= ;; esac
  clang-tidy -p "$1" --quiet $only "$2" >"$1/logs/$(echo "$2" | tr / _).log" 2>&1' \
  _ "$work" {} <"$work/files") || status=$?

# A header's finding shows up in every TU that includes it: print each once.
findings=$(cat "$work"/logs/*.log | grep -E '^[^ ].*: (error|warning): ' | sed "s#^$root/##" |
  sort -u || true)
seconds=$((SECONDS - start))
if [[ -n "$findings" || $status -ne 0 ]]; then
  echo "$findings"
  echo "lint: $(grep -c . <<<"$findings") finding(s) in ${seconds}s; full output in $work/logs" >&2
  exit 1
fi
echo "lint: no findings in ${seconds}s"
