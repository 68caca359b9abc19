// Shared by the config and sweep tests: YAML files in a scratch folder, and the error a file
// gives when loaded as a sweep.
#pragma once

#include "core/core.h"
#include "sweep/sweep.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vfp::testing {

/// The smallest valid sweep file (lines 1-5); a `sweep:` section appended starts on line 6.
inline constexpr const char* kMinimalSweep = R"(name: t
cohort:
  dir: cohort
train:
  lr: 0.001
)";

/// Writes `text` to <tmp>/vfp_config_tests_<pid>/<name> and returns the path.
inline std::filesystem::path write_yaml(const std::string& name, const std::string& text) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vfp_config_tests_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path;
}

/// The InputError message of loading `text` as a sweep (applying its smoke: section when
/// `smoke`), or "no error".
inline std::string sweep_error(const std::string& text, bool smoke = false) {
  try {
    vfp::sweep::load(write_yaml("bad.yaml", text), {smoke});
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

/// The value each configuration gives an axis, as written.
inline std::vector<std::string> column(const vfp::sweep::Sweep& sweep, const std::string& axis) {
  std::vector<std::string> out;
  for (const auto& c : sweep.configurations)
    for (const auto& [key, value] : c.axes)
      if (key == axis)
        out.push_back(value);
  return out;
}

} // namespace vfp::testing
