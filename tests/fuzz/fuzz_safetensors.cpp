// libFuzzer target: the safetensors header parser (lib/models/safetensors_header.cpp, the
// torch-free part of the reader): length prefix, JSON, fields, dtypes, shapes and offsets. A
// vfp::Error is the expected answer to bad input.
#include "core/core.h"
#include "models/safetensors_header.h"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    vfp::models::safetensors::read_header("fuzz.safetensors", in);
  } catch (const vfp::Error&) {
  }
  return 0;
}
