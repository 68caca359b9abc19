option(VFP_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
add_library(vfp_sanitizers INTERFACE)
add_library(vfp::sanitizers ALIAS vfp_sanitizers)
if(VFP_SANITIZE)
  target_compile_options(vfp_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(vfp_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
