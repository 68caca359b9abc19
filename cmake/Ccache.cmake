find_program(VFP_CCACHE ccache)
if(VFP_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  message(STATUS "vfp: compiling through ccache (${VFP_CCACHE})")
  set(CMAKE_C_COMPILER_LAUNCHER "${VFP_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${VFP_CCACHE}")
  # Precompiled headers defeat ccache unless it is told which timestamps to ignore.
  set(ENV{CCACHE_SLOPPINESS} "pch_defines,time_macros,include_file_mtime,include_file_ctime")
endif()
