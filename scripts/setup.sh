#!/usr/bin/env bash
# Installs every Debian 12 package vfp needs, and nothing when all are present.
# --bench: also the references of make bench.
# Runs as root, or through sudo; never asks questions.
set -euo pipefail

packages=(
  # toolchain
  g++ make cmake ccache pkg-config git
  # make lint (part of make test): clang-tidy 14 and the checks of .clang-tidy
  clang-tidy
  # libraries
  libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libinsighttoolkit5-dev
  libyaml-cpp-dev libeigen3-dev libspdlog-dev libfmt-dev libgtest-dev libcli11-dev
  nlohmann-json3-dev zlib1g-dev
  # reference models for the model-zoo tests and the PyTorch side of the benchmarks
  python3-torchvision
  # make test-torch2: the venv of LibTorch 2.x (PyPI's torch wheel) and MONAI
  python3-venv
  # SLURM for `vfp slurm` and its real clusters in tests/slurm: one node, and two hosts in
  # network namespaces (ip from iproute2, unshare from util-linux)
  slurm-wlm munge iproute2 util-linux
  # GDCM's command-line tools: ITK's CMake looks for them; the DICOM archive tests use gdcmconv
  libgdcm-tools
  # compressed DICOM transfer syntaxes in the DICOM archive tests (dcmcjpeg, dcmcjpls, dcmcrle)
  dcmtk
  # the report's figures (vfp report, the end of vfp run); without it only the tables
  gnuplot-nox
)

# make bench: the references its figures stand beside (R's coxph, scikit-learn, h5py).
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(r-base-core r-cran-survival python3-sklearn python3-h5py)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages are installed; nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
  exit 1
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
