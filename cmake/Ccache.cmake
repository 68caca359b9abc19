find_program(VFP_CCACHE ccache)
if(VFP_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  message(STATUS "vfp: compiling through ccache (${VFP_CCACHE})")
  # Precompiled headers defeat ccache unless it is told which timestamps to ignore. The setting
  # must reach every compile, not only CMake's configure step, so the launcher carries it
  # (ccache 4.7, Debian 12's, takes no settings on its own command line).
  set(VFP_CCACHE_LAUNCHER "${CMAKE_COMMAND}" -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "${VFP_CCACHE}")
  set(CMAKE_C_COMPILER_LAUNCHER ${VFP_CCACHE_LAUNCHER})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${VFP_CCACHE_LAUNCHER})
endif()
