// Internal to lib/sweep (sweep.h is the public header): the parsed `sweep:` section and the
// helpers its readers share. Every reader validates what it reads and throws InputError
// naming file:line:column and the dotted path under `sweep`.
#pragma once

#include "config/config.h"
#include "sweep/sweep.h"

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace vfp::sweep::detail {

/// More configurations than this is a mistake (or a job for sweep.random).
constexpr std::uint64_t kMaxConfigurations = 100000;

/// The axis name under which variants appear in Sweep::axes and Configuration::axes.
inline const std::string kVariantAxis = "variant";

/// "file:line:column" of a parsed YAML node.
std::string where(const YAML::Node& node, const std::string& file);

/// A parsed YAML node with its place.
config::Located locate(const YAML::Node& node, const std::string& file);

/// A value the sweep made (range, logspace, random draw), placed where its recipe is written
/// so that schema errors point there.
config::Located generated(const std::string& text, const config::Located& recipe);

/// A value as written: a scalar's text, a list in flow style.
std::string value_text(const YAML::Node& node);

/// value_text as an error message shows it: shortened, control bytes escaped.
std::string message_text(const YAML::Node& node);

/// A generated number: "%.6g", so that it reads back as written and ids stay stable.
std::string number_text(double value);

/// Throws "<where>: <path>.<key>: unknown key (did you mean ...)" unless `key` is a schema key.
void require_schema_key(const std::string& key, const std::string& at, const std::string& path);

/// require_schema_key, and refuses a runtime setting (config::is_runtime_key): configurations
/// that differ only in one are one configuration, so a sweep cannot vary it.
void require_sweepable_key(const std::string& key, const std::string& at, const std::string& path);

/// One key set to one value.
struct Setting {
  std::string key;
  config::Located value;
};

/// One value of an axis: the keys it sets (a zip group sets several, a variant any number).
struct Choice {
  std::vector<Setting> settings;
  std::string variant; ///< the variant's name; empty for other axes
};

/// A continuous range of a grid key; only sweep.random draws from it.
struct Distribution {
  enum class Kind { uniform, loguniform, int_uniform };
  Kind kind = Kind::uniform;
  double low = 0;
  double high = 0;
  config::Located recipe; ///< the {uniform: [a, b]} node
};

/// Where an axis sets a key, for the error when two axes set the same one.
struct Declaration {
  std::string key;
  std::string path; ///< "sweep.grid.train.lr", "sweep.variants.big.train.lr"
  std::string at;   ///< file:line:column
};

/// One axis of the product: a grid key, a zip group or the variants.
struct Axis {
  std::string path;                 ///< "sweep.grid.train.lr", "sweep.zip[0]", "sweep.variants"
  std::vector<std::string> columns; ///< its entries in Sweep::axes
  std::vector<Choice> choices;      ///< empty when `distribution` is set
  std::optional<Distribution> distribution;
  std::vector<Declaration> declarations; ///< each key it sets
};

/// An exclude rule's condition on one key: the value is (or, negated, is not) one of `values`.
struct Condition {
  std::string key; ///< dotted key, or "variant"
  std::string at;  ///< where the key is written
  std::vector<YAML::Node> values;
  bool negated = false;
};

/// A point is dropped when every condition of a rule holds.
struct ExcludeRule {
  std::string at;
  std::vector<Condition> conditions;
};

/// One configuration added after the product: base + these keys.
struct Include {
  std::string at;
  config::FlatConfig settings;
  std::vector<std::string> keys; ///< the keys of `settings` in file order
};

/// sweep.random: sample `n` distinct configurations instead of the product.
struct RandomSampling {
  std::uint64_t n = 0;
  std::uint64_t seed = 0;
  std::string at;
};

/// The whole `sweep:` section.
struct Spec {
  std::string at;         ///< where `sweep:` is written; the file's name when it is absent
  std::vector<Axis> axes; ///< grid keys (file order), then zip groups, then variants
  std::vector<ExcludeRule> excludes;
  std::vector<Include> includes;
  std::optional<RandomSampling> random;
};

/// The `smoke:` section, read and checked whether or not the run is a smoke run.
struct Smoke {
  std::string at; ///< where `smoke:` is written
  /// Grid keys and their smoke values, which replace the grid's (one value: a list of one).
  std::vector<std::pair<std::string, std::vector<config::Located>>> grid;
  /// Every other key: set in every configuration, over the base config, zip groups,
  /// variants and include entries.
  config::FlatConfig settings;
  /// smoke.variants: per variant of the file, keys set (or replaced) in that variant only,
  /// e.g. each architecture's stand-in weight file.
  std::vector<std::pair<std::string, std::vector<Setting>>> variants;
  /// smoke.selection: selection keys a smoke run replaces (when has_selection).
  YAML::Node selection;
  bool has_selection = false;
};

/// Reads and validates `sweep:` (absent: an empty spec, i.e. the base config alone).
Spec read_spec(const YAML::Node& sweep, const std::string& file);

// axes.cpp
std::vector<Axis> read_grid(const YAML::Node& grid, const std::string& file);
std::vector<Axis> read_zip(const YAML::Node& zip, const std::string& file);
Axis read_variants(const YAML::Node& variants, const std::string& file);
/// A key varied by two axes is ambiguous: throws naming both places.
void require_disjoint_axes(const std::vector<Axis>& axes);

// rules.cpp
std::vector<ExcludeRule> read_exclude(const YAML::Node& exclude, const std::string& file,
                                      bool has_variants);
std::vector<Include> read_include(const YAML::Node& include, const std::string& file);
/// A rule on a key that neither the base config nor an axis sets could never match.
void require_settable_rule_keys(const std::vector<ExcludeRule>& rules,
                                const config::FlatConfig& base, const std::vector<Axis>& axes);
/// True when `rule` drops the point whose resolved keys are `flat` (variant: its name or "").
bool excludes(const ExcludeRule& rule, const config::FlatConfig& flat, const std::string& variant);

// smoke.cpp
/// Reads `smoke:`: every key a schema key (did-you-mean, file:line:column), `name` refused.
Smoke read_smoke(const YAML::Node& smoke, const std::string& file, const std::vector<Axis>& axes);
/// Replaces the values of the grid keys that `smoke` sets.
void apply_smoke_to_axes(const Smoke& smoke, std::vector<Axis>& axes);

// sampling.cpp
RandomSampling read_random(const YAML::Node& random, const std::string& file);
/// Draws one point: one choice per axis, a value of each distribution.
class PointSampler {
public:
  PointSampler(const std::vector<Axis>& axes, std::uint64_t seed);
  std::vector<Choice> draw();

private:
  double uniform01();
  Choice draw_from(const Distribution& d, const std::string& key, double u);
  const std::vector<Axis>& axes_;
  std::mt19937_64 engine_;
};

// selection.cpp
/// Reads `selection:`; `swept` are the file's swept keys (Sweep::axes), which `over` must name.
/// In a smoke run, `smoke` (the file's smoke.selection, when given) replaces the keys it sets.
Selection read_selection(const YAML::Node& node, const std::string& file,
                         const std::vector<std::string>& swept, const YAML::Node* smoke = nullptr);
/// Groups the configurations that differ only in the selected keys (sweep order kept); groups
/// of one configuration (nothing to choose) are left out.
std::vector<SelectionGroup> selection_groups(const Selection& selection,
                                             const std::vector<Configuration>& configurations);
/// The inner tasks of selection.inner_folds ≥ 2 (none otherwise) of the configurations in
/// `groups`, with ids and seeds.
std::vector<TrainTask> inner_tasks_of(const Selection& selection,
                                      const std::vector<Configuration>& configurations,
                                      const std::vector<SelectionGroup>& groups);

} // namespace vfp::sweep::detail
