# vfp::version() from git at build time (cmake/WriteVersion.cmake): the target runs on every
# build, and rewrites the generated source only when the version text changes.
set(VFP_VERSION_CPP "${PROJECT_BINARY_DIR}/generated/vfp_version.cpp")
add_custom_target(vfp_version_source
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
          "-DPROJECT_VERSION=${PROJECT_VERSION}" "-DOUT=${VFP_VERSION_CPP}"
          -P "${PROJECT_SOURCE_DIR}/cmake/WriteVersion.cmake"
  BYPRODUCTS "${VFP_VERSION_CPP}"
  COMMENT "vfp version from git describe"
  VERBATIM)
# Also at configure time, so that the file exists before the first build (IDEs, clang-tidy).
execute_process(COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
                        "-DPROJECT_VERSION=${PROJECT_VERSION}" "-DOUT=${VFP_VERSION_CPP}"
                        -P "${PROJECT_SOURCE_DIR}/cmake/WriteVersion.cmake")
