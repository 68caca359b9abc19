// vfp::sweep — one YAML file (base config + `sweep:` section) → configurations → tasks with
// stable ids. A task's id and seed derive from its resolved inputs, never from a rank.
#pragma once

#include "config/config.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace vfp::sweep {

/// One point of the sweep: a resolved config and the axis values that made it.
struct Configuration {
  std::string id; ///< hash of the resolved config
  config::ExperimentConfig config;
  /// Every Sweep::axes entry → its value as written ("default" when neither the base nor the
  /// sweep sets the key; the variant's name, or "-" for an include entry).
  std::vector<std::pair<std::string, std::string>> axes;
};

/// Training and evaluation of one configuration on one outer fold (of one CV repeat).
struct TrainTask {
  std::string id;
  int configuration = 0; ///< index into Sweep::configurations
  int fold = 0;
  int repeat = 0;
  std::uint64_t seed = 0; ///< from the id
};

/// An expanded sweep.
struct Sweep {
  std::string name;   ///< with "-smoke" appended for a smoke run
  bool smoke = false; ///< expanded with the file's `smoke:` values
  std::filesystem::path file;
  /// Swept dotted keys: grid keys in file order, zip groups' keys, "variant", then keys that
  /// only sweep.include sets.
  std::vector<std::string> axes;
  std::vector<Configuration> configurations;
  std::vector<TrainTask> tasks;
};

/// How to expand a sweep file.
struct Options {
  /// Put the file's `smoke:` values in place (a tiny run of every configuration kind, e.g. on
  /// a phantom cohort in CI); the sweep is then named "<name>-smoke". A file without a
  /// `smoke:` section is an error.
  bool smoke = false;
};

/// Reads and expands a sweep file (grid, zip, variants, exclude, include, random, smoke: see
/// docs/configuration.md); every error names file:line:column and the key.
Sweep load(const std::filesystem::path& file, const Options& options = {});

/// Expands an already parsed YAML document (`file` names it in errors).
Sweep expand(const YAML::Node& document, const std::filesystem::path& file,
             const Options& options = {});

/// What a smoke run appends to the sweep's name (and so to its results folder).
inline constexpr const char* kSmokeSuffix = "-smoke";

/// Seed of a task id (a 16-hex-digit string).
std::uint64_t seed_from_id(const std::string& id);

} // namespace vfp::sweep
