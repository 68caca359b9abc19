// Shared by the libFuzzer targets: the readers under test take a path, so each input is
// written to one scratch file per process first.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace vfp::fuzz {

/// Writes the fuzzer's bytes to <tmp>/vfp_fuzz_<pid><suffix> and returns its path.
inline std::filesystem::path scratch_file(const std::uint8_t* data, std::size_t size,
                                          const std::string& suffix) {
  const auto path =
      std::filesystem::temp_directory_path() / ("vfp_fuzz_" + std::to_string(::getpid()) + suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

} // namespace vfp::fuzz
