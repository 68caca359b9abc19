# Every dependency comes from Debian 12 packages (see scripts/setup.sh); a CUDA LibTorch
# is picked up through Torch_DIR.
find_package(Torch REQUIRED)

# LibTorch's exported flags are plain variables; wrap them in one imported target so that
# only targets that link vfp::torch see them.
add_library(vfp_torch INTERFACE)
add_library(vfp::torch ALIAS vfp_torch)
target_link_libraries(vfp_torch INTERFACE ${TORCH_LIBRARIES})
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
