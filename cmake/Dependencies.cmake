# Every dependency comes from Debian 12 packages (see scripts/setup.sh); another LibTorch
# (a CUDA one: the PyPI wheel of scripts/torch2.sh, or an archive) is picked up through
# CMAKE_PREFIX_PATH or Torch_DIR (docs/cluster_build.md).
#
# TorchConfig looks for libtorch and libc10 in the prefix path and the system folders before
# its own lib/, and torch.utils.cmake_prefix_path names <torch>/share/cmake, whose lib/ does
# not exist: Debian's /usr/lib/x86_64-linux-gnu/libtorch.so would be linked under the
# wheel's headers. Search the chosen LibTorch's own root first.
foreach(_vfp_prefix IN LISTS CMAKE_PREFIX_PATH Torch_DIR)
  foreach(_vfp_config IN ITEMS "${_vfp_prefix}/Torch/TorchConfig.cmake"
                               "${_vfp_prefix}/TorchConfig.cmake")
    if(EXISTS "${_vfp_config}")
      get_filename_component(_vfp_config_dir "${_vfp_config}" DIRECTORY)
      get_filename_component(_vfp_torch_root "${_vfp_config_dir}/../../.." ABSOLUTE)
      list(PREPEND CMAKE_PREFIX_PATH "${_vfp_torch_root}")
    endif()
  endforeach()
endforeach()
find_package(Torch REQUIRED)
# (Debian's prefix is /usr, its library in /usr/lib/<multiarch>: under the prefix is enough.)
string(FIND "${TORCH_LIBRARY}" "${TORCH_INSTALL_PREFIX}/" _vfp_torch_lib_at)
if(NOT _vfp_torch_lib_at EQUAL 0)
  message(FATAL_ERROR "LibTorch's headers come from ${TORCH_INSTALL_PREFIX} but libtorch from "
                      "${TORCH_LIBRARY}: delete the build folder's CMakeCache.txt and configure "
                      "with CMAKE_PREFIX_PATH=${TORCH_INSTALL_PREFIX}")
endif()

# LibTorch's exported flags are plain variables; wrap them in one imported target so that
# only targets that link vfp::torch see them.
add_library(vfp_torch INTERFACE)
add_library(vfp::torch ALIAS vfp_torch)
target_link_libraries(vfp_torch INTERFACE ${TORCH_LIBRARIES})
# A PyPI wheel's libtorch_cuda finds its CUDA libraries (NCCL, cuDNN, cuBLAS, ...) in the
# wheel's nvidia/ packages through an $ORIGIN rpath, which the linker does not follow: it took
# the CUDA toolkit's older NCCL instead (undefined ncclCommGrow, ...). Show it the wheel's.
# The real folder: the torch2 preset reaches the wheel through the link .venv/torch, and CMake
# resolves "<link>/.." lexically (to .venv), not through the link.
get_filename_component(_vfp_torch_real "${TORCH_INSTALL_PREFIX}" REALPATH)
file(GLOB _vfp_wheel_cuda_dirs LIST_DIRECTORIES true "${_vfp_torch_real}/../nvidia/*/lib")
foreach(_vfp_dir IN LISTS _vfp_wheel_cuda_dirs)
  get_filename_component(_vfp_dir "${_vfp_dir}" ABSOLUTE)
  target_link_options(vfp_torch INTERFACE "LINKER:-rpath-link,${_vfp_dir}")
endforeach()
if(TORCH_CXX_FLAGS)
  separate_arguments(_vfp_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(vfp_torch INTERFACE ${_vfp_torch_flags})
endif()

if(NOT VFP_TORCH_ONLY)
  find_package(nlohmann_json 3.10 REQUIRED)
  find_package(MPI REQUIRED COMPONENTS C)
  find_package(HDF5 REQUIRED COMPONENTS C CXX)
  find_package(ITK 5.2 REQUIRED COMPONENTS
    ITKCommon ITKIOImageBase ITKIONIFTI ITKIOMeta ITKIONRRD ITKIOGDCM ITKImageGrid
    ITKImageFunction)
  find_package(yaml-cpp REQUIRED)
  find_package(ZLIB REQUIRED) # vfp synth gzips its NIfTI files itself (lib/synth)
  find_package(Eigen3 3.3 REQUIRED NO_MODULE)
  find_package(spdlog REQUIRED)
  find_package(CLI11 QUIET)
  if(NOT CLI11_FOUND)
    find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
    add_library(CLI11::CLI11 INTERFACE IMPORTED)
    target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
  endif()

  add_library(vfp_hdf5 INTERFACE)
  add_library(vfp::hdf5 ALIAS vfp_hdf5)
  target_include_directories(vfp_hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(vfp_hdf5 INTERFACE ${HDF5_CXX_LIBRARIES} ${HDF5_LIBRARIES})
  target_compile_definitions(vfp_hdf5 INTERFACE ${HDF5_DEFINITIONS})

  # ITK's use-file adds global include directories; keep them on one target instead.
  add_library(vfp_itk INTERFACE)
  add_library(vfp::itk ALIAS vfp_itk)
  target_include_directories(vfp_itk SYSTEM INTERFACE ${ITK_INCLUDE_DIRS})
  target_link_libraries(vfp_itk INTERFACE ${ITK_LIBRARIES})
endif()
