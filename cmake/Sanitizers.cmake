option(VFP_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
add_library(vfp_sanitizers INTERFACE)
add_library(vfp::sanitizers ALIAS vfp_sanitizers)
if(VFP_SANITIZE)
  target_compile_options(vfp_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(vfp_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# VFP_FUZZ (the `fuzz` preset, clang): every library the libFuzzer targets of tests/fuzz link
# gets coverage instrumentation and the same sanitizers; the targets add -fsanitize=fuzzer.
option(VFP_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if(VFP_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VFP_FUZZ needs clang (cmake --preset fuzz)")
  endif()
  target_compile_options(vfp_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(vfp_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
