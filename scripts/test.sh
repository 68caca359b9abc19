#!/usr/bin/env bash
# `make test` once the build is done: ctest over the preset's build, then `make lint`
# (clang-tidy), then `make test-asan` (the AddressSanitizer + UBSan build of the unit suites and
# their tests), then `make test-torch2` (the whole project built against LibTorch 2.x with CUDA,
# its LibTorch suites run). Each step runs even when one before it failed, so that one run shows every
# failure; exits 1 naming the steps that failed.
#   PRESET=release JOBS=2 scripts/test.sh      (make test passes both)
#
# One after another, not side by side: with lint and the ASan build at nice 19 beside ctest
# (their own session, its autogroup at nice 19), ctest took 1 253 s instead of 997 s on the
# 2-core VM and the background jobs got little done meanwhile: 51 min in all against ~45
# (2026-12, docs/performance_notes.md).
set -uo pipefail

preset=${PRESET:?usage: PRESET=release JOBS=2 scripts/test.sh (as make test runs it)}
jobs=${JOBS:-$(nproc)}

# lint and the sanitized suites are the Makefile's own targets: one recipe for each.
failed=()
ctest --preset "$preset" -j "$jobs" || failed+=("ctest")
make --no-print-directory lint || failed+=("lint")
make --no-print-directory test-asan || failed+=("sanitized suites")
make --no-print-directory test-torch2 || failed+=("LibTorch 2.x build")

if ((${#failed[@]})); then
  echo "test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test: ctest, lint, the sanitized suites and the LibTorch 2.x build passed"
