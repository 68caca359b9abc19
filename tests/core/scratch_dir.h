// A fresh, empty folder per test of the core suites.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace vfp::testing {

/// <tmp>/vfp_core_<name>_<pid>, emptied.
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("vfp_core_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

} // namespace vfp::testing
