#!/usr/bin/env bash
# The second build: the whole project against LibTorch 2.x from PyPI's torch wheel (a CUDA
# build), installed with MONAI into the project's own virtual environment .venv.
#   scripts/torch2.sh venv    .venv with scripts/requirements-torch2.txt (nothing when current)
#   scripts/torch2.sh build [target...]   venv, then configure (preset torch2) and build the
#                             targets (default: every one)
#   scripts/torch2.sh test    configure, build vfp and the LibTorch suites, run them (make test)
# The wheel's CMake config needs the CUDA toolkit (nvcc) to configure; without one the build
# and its tests are skipped, saying so. JOBS=<n> sets the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:?usage: scripts/torch2.sh venv|build [target...]|test}
jobs=${JOBS:-$(nproc)}
venv=.venv
requirements=scripts/requirements-torch2.txt

make_venv() {
  # Debian's interpreter (python3-venv, scripts/setup.sh); `python3` on PATH may be another.
  local python=${VFP_VENV_PYTHON:-/usr/bin/python3}
  [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
  if ! cmp -s "$requirements" "$venv/.installed-requirements"; then
    echo "torch2: installing $(grep -v '^#' "$requirements" | xargs) into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.installed-requirements"
  fi
  # The preset's CMAKE_PREFIX_PATH: the wheel's torch folder, whatever the Python version.
  ln -sfn "$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')" \
    "$venv/torch"
  "$venv/bin/python" -c 'import torch; print("torch2: LibTorch", torch.__version__, "CUDA", torch.version.cuda)'
}

# A skip, not a failure: the machine cannot configure the CUDA wheel's LibTorch.
require_cuda_toolkit() {
  if ! command -v nvcc >/dev/null 2>&1 && [[ ! -x /usr/local/cuda/bin/nvcc ]]; then
    echo "torch2: SKIPPED: no CUDA toolkit (nvcc) here; the CUDA wheel's CMake config needs one"
    exit 0
  fi
}

# Builds the given targets (none: every target); any failure stops the script (set -e).
build() {
  require_cuda_toolkit
  make_venv
  cmake --preset torch2 >/dev/null || cmake --preset torch2
  cmake --build --preset torch2 -j "$jobs" ${1:+--target "$@"}
}

case $step in
venv) make_venv ;;
build)
  shift
  build "$@"
  ;;
test)
  # vfp itself (every module but the tests and benchmarks: the whole CUDA code path compiles
  # and links) and the suites below; `build` compiles everything (about 15 min more on 2 cores).
  build vfp models_tests train_tests ssl_tests tasks_tests integration_tests
  # The suites that run LibTorch directly (models, train, ssl, tasks: label torch), and one
  # whole sweep through the vfp binary under mpirun. The rest of ctest exercises code that
  # does not depend on the LibTorch version; CI time keeps it to the Debian build.
  failed=0
  ctest --preset torch2 -j "$jobs" -L torch || failed=1
  ctest --preset torch2 -R '^TinySweep\.TwoRanksRunEveryTaskAndPrintTheTable$' || failed=1
  exit $failed
  ;;
*)
  echo "usage: scripts/torch2.sh venv|build [target...]|test" >&2
  exit 2
  ;;
esac
