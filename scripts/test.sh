#!/usr/bin/env bash
# `make test` once the build is done: ctest over BUILD_DIR, clang-tidy (scripts/lint.sh, as
# `make lint`), then the AddressSanitizer + UBSan build of the unit suites and their tests (as
# `make test-asan`). Each step runs even when one before it failed, so that one run shows every
# failure; exits 1 naming the steps that failed.
#   scripts/test.sh BUILD_DIR        JOBS sets the parallelism (default: nproc)
#
# One after another, not side by side: with lint and the ASan build at nice 19 beside ctest
# (their own session, its autogroup at nice 19), ctest took 1 253 s instead of 997 s on the
# 2-core VM and the background jobs got little done meanwhile: 51 min in all against ~45
# (2026-12, docs/performance_notes.md).
set -uo pipefail

build=${1:?usage: scripts/test.sh BUILD_DIR}
jobs=${JOBS:-$(nproc)}

failed=()
ctest --test-dir "$build" --output-on-failure -j "$jobs" || failed+=("ctest")
LINT_JOBS="$jobs" scripts/lint.sh "$build" || failed+=("lint")
if { cmake --preset asan >/dev/null || cmake --preset asan; } &&
  cmake --build --preset asan-unit -j "$jobs"; then
  ctest --preset asan-unit -j "$jobs" || failed+=("sanitized suites")
else
  failed+=("ASan build")
fi

if ((${#failed[@]})); then
  echo "test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test: ctest, lint and the sanitized suites passed"
