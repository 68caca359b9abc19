// vfp::config, YAML side: loading, flattening and parsing a YAML experiment config. Apart
// from config/config.h so that the modules that only read a typed config (data, tasks,
// inference, ...) do not parse yaml-cpp's headers; lib/sweep includes this one.
#pragma once

#include "config/config.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace vfp::config {

/// A YAML value with the place it came from, for error messages.
struct Located {
  YAML::Node node;
  std::string file;
  int line = 0;              ///< 1-based
  int column = 0;            ///< 1-based
  std::string where() const; ///< "file:line:column"
};

/// Flattened view of a YAML mapping: dotted key → value (sequences are leaves).
using FlatConfig = std::map<std::string, Located>;

/// Loads a YAML file (syntax errors become InputError with file:line:column). The tree is
/// checked: no duplicate or non-scalar keys, UTF-8 scalars, and, aliases expanded, no cycle,
/// at most 64 levels and 100000 values (InputError naming the file otherwise), so that every
/// later walk over it ends.
YAML::Node load_yaml_file(const std::filesystem::path& path);

/// The same for a document already read (`file` names it in errors): what other MPI ranks
/// parse from the text rank 0 read.
YAML::Node load_yaml_text(const std::string& text, const std::string& file);

/// Flattens `node` (a mapping) under `prefix`; `skip` lists top-level keys left out.
FlatConfig flatten(const YAML::Node& node, const std::string& file,
                   const std::vector<std::string>& skip = {});

/// Builds a validated config from flattened keys; collects every error and throws one
/// InputError listing them. `base_dir` resolves relative cohort paths.
ExperimentConfig parse_experiment(const FlatConfig& flat, const std::filesystem::path& base_dir);

} // namespace vfp::config
