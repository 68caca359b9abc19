# Run at build time (cmake -P), not at configure time, so that every build records the commit it
# was built from: writes OUT, a .cpp defining vfp::version(), only when its text changes, so that
# a rebuild of an unchanged tree recompiles nothing and relinks nothing.
#   -DSOURCE_DIR=<the vfp tree> -DPROJECT_VERSION=<x.y.z> -DOUT=<generated .cpp>
#
# The version text: "<x.y.z> (git <describe>)" from `git describe --always --dirty --tags`
# ("-dirty": uncommitted changes to tracked files); "<x.y.z> (tarball, no git)" for a tree
# without .git (a release tarball); "<x.y.z> (git describe failed)" when the tree has .git but
# git is missing or refuses it (e.g. a tree owned by another user).
foreach(required SOURCE_DIR PROJECT_VERSION OUT)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "WriteVersion.cmake: -D${required}=... is required")
  endif()
endforeach()

if(NOT EXISTS "${SOURCE_DIR}/.git") # a folder, or a file in a worktree or submodule
  set(source "tarball, no git")
else()
  find_program(VFP_GIT_EXECUTABLE git)
  set(describe_result 1)
  if(VFP_GIT_EXECUTABLE)
    execute_process(COMMAND "${VFP_GIT_EXECUTABLE}" describe --always --dirty --tags
                    WORKING_DIRECTORY "${SOURCE_DIR}"
                    RESULT_VARIABLE describe_result OUTPUT_VARIABLE describe
                    ERROR_VARIABLE describe_error OUTPUT_STRIP_TRAILING_WHITESPACE)
  endif()
  if(describe_result EQUAL 0 AND NOT describe STREQUAL "")
    set(source "git ${describe}")
  else()
    message(WARNING "vfp: cannot tell the commit (git describe: ${describe_error}); rows will "
                    "record 'git describe failed'")
    set(source "git describe failed")
  endif()
endif()

set(text "${PROJECT_VERSION} (${source})")
string(REPLACE "\\" "\\\\" escaped "${text}")
string(REPLACE "\"" "\\\"" escaped "${escaped}")
set(cpp "// Written by cmake/WriteVersion.cmake at build time; do not edit.
#include \"core/core.h\"

namespace vfp {

std::string_view version() {
  return \"${escaped}\";
}

} // namespace vfp
")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL cpp)
  file(WRITE "${OUT}" "${cpp}")
  message(STATUS "vfp version: ${text}")
endif()
