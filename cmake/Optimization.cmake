# Release builds compile at -O2 instead of CMake's default -O3: the numbers are the same
# (neither level reorders floating-point arithmetic), the tensor work is LibTorch's own, and
# -O3 cost a fifth more compile time. Code that runs once per task, sweep or table (the runner,
# the tasks' glue, sweep expansion, results tables, reports, Slurm scripts, logging) compiles
# at -O1 (vfp_cold_code): its compile time is mostly code generation. The runner's first unity
# batch took 34 s at -O3, 28 s at -O2 and 21 s at -O1 (2026-12, one core).
foreach(lang C CXX)
  string(REPLACE "-O3" "-O2" CMAKE_${lang}_FLAGS_RELEASE "${CMAKE_${lang}_FLAGS_RELEASE}")
endforeach()

# -O1 for `target` in Release builds (a later -O wins on GCC's and Clang's command line).
function(vfp_cold_code target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-O1>)
endfunction()
