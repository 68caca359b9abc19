// vfp::sweep — one YAML file (base config + `sweep:` section) → configurations → tasks with
// stable ids. A task's id and seed derive from its resolved inputs, never from a rank.
#pragma once

#include "config/yaml.h" // the base config, parsed from YAML

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::sweep {

/// One point of the sweep: a resolved config and the axis values that made it.
struct Configuration {
  std::string id; ///< hash of the resolved config
  config::ExperimentConfig config;
  /// Every Sweep::axes entry → its value as written ("default" when neither the base nor the
  /// sweep sets the key; the variant's name, or "-" for an include entry).
  std::vector<std::pair<std::string, std::string>> axes;
};

/// Training and evaluation of one configuration on one outer fold (of one CV repeat), or, for
/// nested selection with inner folds, on one inner fold of that outer fold's training part.
struct TrainTask {
  std::string id;
  int configuration = 0; ///< index into Sweep::configurations
  int fold = 0;
  int repeat = 0;
  std::uint64_t seed = 0; ///< from the id
  /// −1: an outer task (tests on outer fold `fold`). ≥ 0: an inner task that trains on the
  /// outer training part without inner fold `inner_fold` and tests on that inner fold only.
  int inner_fold = -1;
  int inner_folds = 0; ///< inner folds of an inner task (selection.inner_folds)
  bool inner() const { return inner_fold >= 0; }
};

/// The sweep file's `selection:` section: nested model selection. Configurations that differ
/// only in the `over` keys form a group; per group and outer fold (and repeat) the one with
/// the best inner score is selected, on data that the outer fold's test subjects never touch.
struct Selection {
  std::vector<std::string> over; ///< swept dotted keys chosen inside each outer fold
  std::string metric = "auroc";  ///< auroc, auprc (higher is better) or loss (lower)
  /// 0: the early-stopping validation split of the outer task; k ≥ 2: inner k-fold CV of
  /// each outer training part (extra inner tasks).
  int inner_folds = 0;
  std::string at; ///< file:line:column of `selection:`
};

/// One group of configurations that a selection chooses among.
struct SelectionGroup {
  std::string id;           ///< hash of the selection and its members' ids
  std::vector<int> members; ///< indices into Sweep::configurations, in sweep order
  /// Sweep::axes → the group's value; the `over` keys read "selected".
  std::vector<std::pair<std::string, std::string>> axes;
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
  std::vector<TrainTask> tasks; ///< outer tasks: configuration × repeat × fold
  /// With a `selection:` section: its groups of two or more configurations (each
  /// configuration in one group at most).
  std::optional<Selection> selection;
  std::vector<SelectionGroup> groups;
  /// With selection.inner_folds ≥ 2: for the configurations of a group, configuration ×
  /// repeat × outer fold × inner fold.
  std::vector<TrainTask> inner_tasks;
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

// Results written before runtime settings left configuration ids (vfp 0.1 hashed train.threads,
// train.save_model, ... into them) carry ids that a configuration no longer has once one of
// those settings was not at its default. A resumed sweep finds them by these ids and keeps
// them: nothing on disk is renamed, so nothing can be lost half way (docs/configuration.md).

/// A configuration that the results on disk hold.
struct StoredConfiguration {
  std::string id;
  /// As its tasks' config.json files recorded it (config::to_json), each distinct one once:
  /// tasks resumed under a 0.1 id record the runtime settings they ran with, not the 0.1 ones.
  std::vector<nlohmann::json> configs;
  int finished = 0; ///< its tasks whose latest row is a success
};

/// The id that `configuration` of `sweep` had under vfp 0.1 when run with the runtime
/// settings `recorded` holds (a to_json; defaults for the settings it lacks).
std::string legacy_configuration_id(const Sweep& sweep, const Configuration& configuration,
                                    const nlohmann::json& recorded);

/// For each configuration with no finished task under its own id: the stored configuration
/// it equals but for runtime settings (legacy_configuration_id under the settings any of a
/// stored configuration's tasks ran with), the one with most finished tasks when several do
/// (index → id).
/// A stored configuration whose recorded settings do not read back is left out.
std::map<int, std::string> stored_configuration_ids(const Sweep& sweep,
                                                    const std::vector<StoredConfiguration>& stored);

/// Gives configurations other ids (index → id; those their stored results carry) and derives
/// their tasks (ids and seeds), selection groups and inner tasks from those, as expansion does.
void use_configuration_ids(Sweep& sweep, const std::map<int, std::string>& ids);

} // namespace vfp::sweep
