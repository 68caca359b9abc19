# vfp — the two commands of the README, and their parts.
#   make run    install what is missing, build, make the synthetic cohort, run the demo sweep
#   make test   install what is missing, build, run every test (ctest), clang-tidy (lint), then
#               the unit suites again under AddressSanitizer + UBSan (test-asan)
SHELL := /bin/bash
PRESET ?= release
BUILD := build/$(PRESET)
JOBS ?= $(shell nproc)
# Open MPI refuses root unless told, and a 2-core laptop needs oversubscription for -np 3.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1

.PHONY: all setup configure build run test lint lint-all test-asan torch2 test-torch2 bench fuzz \
	clean

all: build

setup:
	@scripts/setup.sh

configure: setup
	@cmake --preset $(PRESET) >/dev/null || cmake --preset $(PRESET)

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

# The demo needs only vfp: not the test suites and benchmarks (most of a full build's time).
run: configure
	@cmake --build --preset $(PRESET) --target vfp -j $(JOBS)
	@scripts/demo.sh $(BUILD)/runner/vfp

# ctest, lint, then the sanitized suites; each runs when one before failed (scripts/test.sh).
test: build
	@PRESET=$(PRESET) JOBS=$(JOBS) scripts/test.sh

# clang-tidy with .clang-tidy's checks over lib/, runner/ and tasks/, any finding an error: part
# of make test. It leaves out the LibTorch translation units, which take ~10 min more on 2
# cores; lint-all checks them too (scripts/lint.sh says why).
lint: configure
	@LINT_JOBS=$(JOBS) scripts/lint.sh $(BUILD)

lint-all: configure
	@LINT_JOBS=$(JOBS) scripts/lint.sh $(BUILD) --all

# The unit suites that need neither LibTorch nor mpirun (label "sanitized", with the in-process
# bad-input corpus) once more, built with AddressSanitizer + UBSan: part of make test.
test-asan: setup
	@cmake --preset asan >/dev/null || cmake --preset asan
	@cmake --build --preset asan-unit -j $(JOBS)
	@ctest --preset asan-unit -j $(JOBS)

# The second build: the whole project against LibTorch 2.x with CUDA (PyPI's wheel, with MONAI
# for the tests, in .venv) in build/torch2; test-torch2 then runs its LibTorch suites and one
# sweep under mpirun: part of make test (docs/cluster_build.md).
torch2: setup
	@JOBS=$(JOBS) scripts/torch2.sh build

test-torch2: setup
	@JOBS=$(JOBS) scripts/torch2.sh test

# Every benchmark, then docs/performance.md from their figures (installs the references; the
# vfp-vs-MONAI loop runs vfp's side from the LibTorch 2.x build, MONAI's torch).
bench: build
	@scripts/setup.sh --bench
	@JOBS=$(JOBS) scripts/torch2.sh build bench_fit
	@scripts/bench.sh $(BUILD)

# libFuzzer targets (clang, tests/fuzz): each runs FUZZ_SECONDS; not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	@cmake --preset fuzz >/dev/null || cmake --preset fuzz
	@cmake --build --preset fuzz -j $(JOBS)
	@scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build
