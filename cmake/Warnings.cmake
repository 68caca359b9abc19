add_library(vfp_warnings INTERFACE)
add_library(vfp::warnings ALIAS vfp_warnings)
target_compile_options(vfp_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
