#!/usr/bin/env bash
# `make test` once the build is done: ctest over BUILD_DIR in the foreground;
# clang-tidy (scripts/lint.sh, as `make lint`) and the AddressSanitizer + UBSan build of the
# unit suites (as `make test-asan`) beside it at the lowest CPU priority; then the sanitized
# suites. Exits 1 when any of the four failed, naming which.
#   scripts/test.sh BUILD_DIR        JOBS sets the parallelism (default: nproc)
#
# Why beside rather than after: ctest keeps 2 cores only about half busy (its MPI suites run one
# at a time and wait on mpirun start-up, Slurm and signals: 18 min of CPU in 16.6 min, 2026-12),
# and lint and the ASan build are ~25 min of CPU that fit in the gaps. At nice 19 they take
# what the tests leave. With the kernel's autogroups (sched_autogroup_enabled, Debian's default)
# nice counts only inside a session, and the tests start their own (setsid), so the background
# jobs get a session of their own whose autogroup is set to nice 19 as well.
set -uo pipefail

build=${1:?usage: scripts/test.sh BUILD_DIR}
jobs=${JOBS:-$(nproc)}
logs=$build/test-logs
mkdir -p "$logs"

# In the background at the lowest priority, in a session (and process group) of its own.
background() {
  setsid bash -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"' _ "$@" &
}
background env LINT_JOBS="$jobs" scripts/lint.sh "$build" >"$logs/lint.log" 2>&1
lint=$!
background bash -c "{ cmake --preset asan >/dev/null || cmake --preset asan; } &&
  cmake --build --preset asan-unit -j $jobs" >"$logs/asan-build.log" 2>&1
asan_build=$!
trap 'kill -- -$lint -$asan_build 2>/dev/null' EXIT

failed=()
ctest --test-dir "$build" --output-on-failure -j "$jobs" || failed+=("ctest")

echo "test: waiting for clang-tidy and the ASan build (logs in $logs)"
wait $lint || failed+=("lint")
cat "$logs/lint.log"
if wait $asan_build; then
  echo "test: ASan + UBSan build done"
  ctest --preset asan-unit -j "$jobs" || failed+=("sanitized suites")
else
  tail -n 40 "$logs/asan-build.log"
  failed+=("ASan build")
fi
trap - EXIT

if ((${#failed[@]})); then
  echo "test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test: ctest, lint and the sanitized suites passed"
