// Internal to lib/config: the key table, one entry per config key. Each entry reads its key
// from YAML (checking it), writes it to the configuration's JSON and reads it back, so that a
// key is spelled once and parse, validation and JSON cannot disagree.
#pragma once

#include "config/yaml.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace vfp::config::detail {

/// Collects every problem so a user fixes a config in one round.
class Problems {
public:
  void add(const Located& at, const std::string& key, const std::string& what);
  /// Throws one InputError listing every problem, if there are any.
  void throw_if_any() const;

private:
  std::vector<std::string> lines_;
};

/// When a key enters the configuration's JSON, and with it the configuration id.
enum class InJson {
  kAlways,
  kUnlessDefault, ///< keys added after 0.1: results already written keep their ids
  kNever,         ///< cohort.dir (its paths are what counts), cox.* (the cox task's id has it)
};

/// One config key.
struct Field {
  std::string key; ///< dotted: "section.name", or "name" at the top level
  InJson in_json = InJson::kAlways;
  /// A runtime setting: how a task runs, not what it computes (threads, device, files it
  /// keeps). The configuration id holds it at its default whatever its value (identity_json),
  /// so that changing it reruns nothing; config.json records the value used (to_json).
  bool runtime = false;
  /// Reads and checks the YAML value into the config; `base` resolves relative paths.
  std::function<void(ExperimentConfig&, const Located&, Problems&,
                     const std::filesystem::path& base)>
      read;
  std::function<nlohmann::json(const ExperimentConfig&)> write;       ///< the value as JSON
  std::function<void(ExperimentConfig&, const nlohmann::json&)> load; ///< and back
  std::string section() const; ///< before the dot; "" at the top level
  std::string name() const;    ///< after the dot
};

/// Every key, in the order parse_experiment reads them (cohort.dir before the explicit
/// cohort paths, which override its defaults).
const std::vector<Field>& key_table();

/// A value as an error message shows it (shortened, control bytes escaped).
std::string scalar_text(const YAML::Node& n);

} // namespace vfp::config::detail
