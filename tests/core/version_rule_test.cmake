# The version rule of cmake/WriteVersion.cmake, run as the build runs it (cmake -P) on scratch
# trees: a tree without .git is a tarball; a git tree is described by git describe, with
# "-dirty" while a tracked file has uncommitted changes; an unchanged text leaves the generated
# file untouched (so a rebuild relinks nothing).
#   cmake -DWRITE_VERSION=<cmake/WriteVersion.cmake> -DSCRATCH=<empty folder> -P this file
file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}/tarball" "${SCRATCH}/repo")
set(out "${SCRATCH}/version.cpp")

function(version_of tree expected)
  execute_process(COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${tree}" -DPROJECT_VERSION=0.1.0
                          "-DOUT=${out}" -P "${WRITE_VERSION}"
                  RESULT_VARIABLE code ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "WriteVersion.cmake failed on ${tree}: ${err}")
  endif()
  file(READ "${out}" cpp)
  string(FIND "${cpp}" "return \"${expected}\";" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${tree}: expected version \"${expected}\", got:\n${cpp}")
  endif()
endfunction()

version_of("${SCRATCH}/tarball" "0.1.0 (tarball, no git)")

find_program(GIT git)
if(NOT GIT)
  message(FATAL_ERROR "git is needed for the git half of this test")
endif()
function(git)
  execute_process(COMMAND "${GIT}" -c user.name=vfp -c user.email=vfp@example.org
                          -c init.defaultBranch=main -c commit.gpgsign=false -c tag.gpgsign=false
                          ${ARGN}
                  WORKING_DIRECTORY "${SCRATCH}/repo" RESULT_VARIABLE code ERROR_VARIABLE err
                  OUTPUT_QUIET)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "git ${ARGN}: ${err}")
  endif()
endfunction()
git(init -q)
file(WRITE "${SCRATCH}/repo/a.txt" "one\n")
git(add a.txt)
git(commit -q -m one)
git(tag v9.9)
version_of("${SCRATCH}/repo" "0.1.0 (git v9.9)")
file(TIMESTAMP "${out}" written "%s")

file(WRITE "${SCRATCH}/repo/a.txt" "two\n") # a tracked file changed, not committed
version_of("${SCRATCH}/repo" "0.1.0 (git v9.9-dirty)")

git(commit -q -a -m two)
execute_process(COMMAND "${GIT}" rev-parse --short=7 HEAD WORKING_DIRECTORY "${SCRATCH}/repo"
                OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE)
version_of("${SCRATCH}/repo" "0.1.0 (git v9.9-1-g${head})")

# The same text again: the file keeps its time stamp (the build relinks nothing).
file(TIMESTAMP "${out}" before "%s")
execute_process(COMMAND "${CMAKE_COMMAND}" -E sleep 1.1)
version_of("${SCRATCH}/repo" "0.1.0 (git v9.9-1-g${head})")
file(TIMESTAMP "${out}" after "%s")
if(NOT before STREQUAL after)
  message(FATAL_ERROR "an unchanged version rewrote ${out} (${before} → ${after})")
endif()
file(REMOVE_RECURSE "${SCRATCH}")
