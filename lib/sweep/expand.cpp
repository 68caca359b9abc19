// Expansion: the base config × the axes of `sweep:` (or random draws from them), minus
// exclude rules, plus include entries, deduplicated by id; then one task per fold.
#include "sweep/spec.h"
#include "sweep/sweep.h"

#include "core/core.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace vfp::sweep {
namespace {

using detail::Choice;
using detail::Spec;

/// The folder that cohort paths count from in configuration ids: the sweep file's.
std::filesystem::path ids_folder(const std::filesystem::path& file) {
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  return std::filesystem::absolute(dir).lexically_normal();
}

/// The hash of a configuration's JSON (identity_json; to_json under the 0.1 rule).
std::string configuration_id(nlohmann::json identity, const std::filesystem::path& folder) {
  identity.erase("name"); // the same experiment in two sweeps is the same configuration
  // Cohort paths count as written relative to the sweep file, so ids (and the seeds
  // derived from them) stay the same when the project is cloned or moved elsewhere.
  for (const char* key : {"csv", "images", "centroids"}) {
    auto& path = identity["cohort"][key];
    path = std::filesystem::path(path.get<std::string>()).lexically_relative(folder).string();
  }
  return stable_id(identity.dump());
}

/// Sets `key` in a copy of the base config. Erase, then insert: assigning a Located would
/// assign its yaml-cpp node, which rewrites the node the base config shares.
void set_key(config::FlatConfig& flat, const std::string& key, const config::Located& value) {
  flat.erase(key);
  flat.emplace(key, value);
}

/// Sweep::axes: the axes' columns, then keys that only include entries set.
std::vector<std::string> sweep_columns(const Spec& spec) {
  std::vector<std::string> columns;
  for (const auto& axis : spec.axes)
    columns.insert(columns.end(), axis.columns.begin(), axis.columns.end());
  for (const auto& include : spec.includes)
    for (const auto& key : include.keys)
      if (std::find(columns.begin(), columns.end(), key) == columns.end())
        columns.push_back(key);
  return columns;
}

/// Turns points into configurations: resolves them, drops excluded ones, validates them
/// against the schema, and keeps the first of identical configurations.
class Collector {
public:
  Collector(const config::FlatConfig& base, const std::filesystem::path& file, const Spec& spec,
            const std::vector<std::string>& columns, const detail::Smoke* smoke)
      : base_(base), spec_(spec), columns_(columns), smoke_(smoke),
        base_dir_(file.has_parent_path() ? file.parent_path() : std::filesystem::path(".")),
        yaml_dir_(ids_folder(file)) {}

  /// A point of the product (or a random draw); exclude rules apply.
  void add_point(const std::vector<Choice>& point) {
    auto flat = base_;
    std::string variant;
    for (const auto& choice : point) {
      for (const auto& s : choice.settings)
        set_key(flat, s.key, s.value);
      if (!choice.variant.empty())
        variant = choice.variant;
    }
    // Exclude rules see what runs: the smoke values in place.
    apply_smoke(flat);
    for (const auto& rule : spec_.excludes)
      if (detail::excludes(rule, flat, variant))
        return;
    add(flat, variant.empty() ? "-" : variant);
  }

  /// An include entry: base + its keys, whatever the exclude rules say.
  void add_include(const detail::Include& include) {
    auto flat = base_;
    for (const auto& [key, value] : include.settings)
      set_key(flat, key, value);
    apply_smoke(flat);
    add(flat, "-");
  }

  size_t size() const { return configurations_.size(); }
  std::vector<Configuration> take() { return std::move(configurations_); }

private:
  /// A smoke run's settings win over the base config, zip groups, variants and includes.
  void apply_smoke(config::FlatConfig& flat) const {
    if (smoke_)
      for (const auto& [key, value] : smoke_->settings)
        set_key(flat, key, value);
  }

  void add(const config::FlatConfig& flat, const std::string& variant) {
    Configuration cfg;
    cfg.config = config::parse_experiment(flat, base_dir_);
    if (smoke_)
      cfg.config.name += kSmokeSuffix; // never the real run's results folder
    cfg.id = id_of(cfg.config);
    if (!ids_.insert(cfg.id).second)
      return;
    for (const auto& column : columns_)
      cfg.axes.emplace_back(column, axis_value(column, flat, variant));
    configurations_.push_back(std::move(cfg));
  }

  /// The value as written; "default" when neither the base nor the point sets the key.
  static std::string axis_value(const std::string& column, const config::FlatConfig& flat,
                                const std::string& variant) {
    if (column == detail::kVariantAxis)
      return variant;
    auto it = flat.find(column);
    return it == flat.end() ? "default" : detail::value_text(it->second.node);
  }

  std::string id_of(const config::ExperimentConfig& config) const {
    return configuration_id(config::identity_json(config), yaml_dir_);
  }

  const config::FlatConfig& base_;
  const Spec& spec_;
  const std::vector<std::string>& columns_;
  const detail::Smoke* smoke_; ///< null unless a smoke run
  std::filesystem::path base_dir_;
  std::filesystem::path yaml_dir_;
  std::set<std::string> ids_;
  std::vector<Configuration> configurations_;
};

/// Points of the product before exclude rules; throws past the cap.
std::uint64_t product_size(const Spec& spec) {
  // The whole product, saturating (100 axes of 10 values overflow 64 bits), so that the
  // message can say how far past the cap the file is: "10 × 10 × ... = 100000000".
  std::uint64_t size = 1;
  std::string factors;
  for (const auto& axis : spec.axes) {
    const std::uint64_t n = axis.choices.size();
    size = n != 0 && size > std::numeric_limits<std::uint64_t>::max() / n
               ? std::numeric_limits<std::uint64_t>::max()
               : size * n;
    factors += (factors.empty() ? "" : " x ") + std::to_string(n);
  }
  if (size > detail::kMaxConfigurations -
                 std::min<std::uint64_t>(spec.includes.size(), detail::kMaxConfigurations))
    throw InputError(spec.at + ": sweep expands to more than " +
                     std::to_string(detail::kMaxConfigurations) + " configurations (" + factors +
                     " = " +
                     (size == std::numeric_limits<std::uint64_t>::max() ? "more than 2^64"
                                                                        : std::to_string(size)) +
                     "); split the sweep, use fewer values or sample with sweep.random");
  return size;
}

/// Every point, in file order: an odometer whose last axis turns fastest.
void expand_product(const Spec& spec, Collector& out) {
  const auto size = product_size(spec);
  std::vector<size_t> index(spec.axes.size(), 0);
  for (std::uint64_t n = 0; n < size; ++n) {
    // A fresh vector each time: copy-assigning Choices would assign yaml-cpp nodes.
    std::vector<Choice> point;
    for (size_t a = 0; a < spec.axes.size(); ++a)
      point.push_back(spec.axes[a].choices[index[a]]);
    out.add_point(point);
    for (size_t a = spec.axes.size(); a-- > 0;) {
      if (++index[a] < spec.axes[a].choices.size())
        break;
      index[a] = 0;
    }
  }
}

/// sweep.random: draws until n distinct configurations survive the exclude rules, or gives
/// up after 100·n draws (the space is then too small or mostly excluded).
void sample_points(const Spec& spec, Collector& out) {
  const auto& random = *spec.random;
  bool finite = true;
  std::uint64_t space = 1;
  for (const auto& axis : spec.axes) {
    finite = finite && !axis.distribution;
    space = axis.distribution ? space : std::min(space * axis.choices.size(), random.n + 1);
  }
  if (finite && space < random.n)
    throw InputError(random.at + ": sweep.random: n is " + std::to_string(random.n) +
                     " but the sweep has only " + std::to_string(space) + " configuration" +
                     (space == 1 ? "" : "s") + "; lower n, or drop sweep.random to run them all");
  detail::PointSampler sampler(spec.axes, random.seed);
  const auto draws = 100 * random.n;
  for (std::uint64_t d = 0; d < draws && out.size() < random.n; ++d)
    out.add_point(sampler.draw());
  if (out.size() < random.n)
    throw InputError(random.at + ": sweep.random: " + std::to_string(draws) + " draws found only " +
                     std::to_string(out.size()) + " distinct configurations (after exclude " +
                     "rules and dedup), fewer than n: " + std::to_string(random.n) +
                     "; lower n or widen the space");
}

std::vector<TrainTask> tasks_of(const std::vector<Configuration>& configurations) {
  std::vector<TrainTask> tasks;
  for (size_t c = 0; c < configurations.size(); ++c) {
    const auto& cfg = configurations[c];
    for (int r = 0; r < cfg.config.cv.repeats; ++r)
      for (int f = 0; f < cfg.config.cv.folds; ++f) {
        TrainTask t;
        t.configuration = static_cast<int>(c);
        t.fold = f;
        t.repeat = r;
        t.id = stable_id(cfg.id + "/train_eval/repeat" + std::to_string(r) + "/fold" +
                         std::to_string(f));
        t.seed = seed_from_id(t.id);
        tasks.push_back(t);
      }
  }
  return tasks;
}

/// What derives from the configurations' ids: outer tasks, selection groups, inner tasks.
void derive_tasks(Sweep& sweep) {
  sweep.tasks = tasks_of(sweep.configurations);
  if (sweep.selection) {
    sweep.groups = detail::selection_groups(*sweep.selection, sweep.configurations);
    sweep.inner_tasks =
        detail::inner_tasks_of(*sweep.selection, sweep.configurations, sweep.groups);
  }
}

} // namespace

std::string legacy_configuration_id(const Sweep& sweep, const Configuration& configuration,
                                    const nlohmann::json& recorded) {
  // 0.1 hashed the configuration as it ran: to_json, runtime settings included.
  return configuration_id(
      config::to_json(config::with_recorded_runtime_settings(configuration.config, recorded)),
      ids_folder(sweep.file));
}

void use_configuration_ids(Sweep& sweep, const std::map<int, std::string>& ids) {
  if (ids.empty())
    return;
  for (const auto& [index, id] : ids) {
    if (index < 0 || std::size_t(index) >= sweep.configurations.size())
      throw Error("use_configuration_ids: no configuration " + std::to_string(index) + " in a " +
                  "sweep of " + std::to_string(sweep.configurations.size()));
    sweep.configurations[std::size_t(index)].id = id;
  }
  derive_tasks(sweep);
}

std::uint64_t seed_from_id(const std::string& id) {
  return mix_seed(fnv1a64(id));
}

Sweep expand(const YAML::Node& document, const std::filesystem::path& file,
             const Options& options) {
  const auto file_name = file.string();
  if (!document.IsMap())
    throw InputError(file_name + ": expected a YAML mapping (name, cohort, preprocess, ...)");
  const auto base = config::flatten(document, file_name, {"sweep", "smoke", "selection"});
  auto spec = detail::read_spec(document["sweep"], file_name);
  detail::require_settable_rule_keys(spec.excludes, base, spec.axes);
  // Checked on every load, so that a typo in smoke: shows before CI runs it.
  std::optional<detail::Smoke> smoke;
  if (document["smoke"])
    smoke = detail::read_smoke(document["smoke"], file_name, spec.axes);
  if (options.smoke && !smoke)
    throw InputError(file_name + ": --smoke: the file has no smoke: section (a mapping of dotted "
                                 "keys to the values of a tiny run, e.g. cv.folds: 2, "
                                 "train.max_epochs: 1; see docs/configuration.md)");
  if (options.smoke)
    detail::apply_smoke_to_axes(*smoke, spec.axes);

  Sweep sweep;
  sweep.file = file;
  sweep.smoke = options.smoke;
  sweep.axes = sweep_columns(spec);
  Collector collector(base, file, spec, sweep.axes, options.smoke ? &*smoke : nullptr);
  if (spec.random)
    sample_points(spec, collector);
  else
    expand_product(spec, collector);
  for (const auto& include : spec.includes)
    collector.add_include(include);
  sweep.configurations = collector.take();
  if (sweep.configurations.empty())
    throw InputError(spec.at + ": sweep: the exclude rules drop every configuration");
  sweep.name = sweep.configurations.front().config.name;
  if (smoke && smoke->has_selection && !document["selection"])
    throw InputError(detail::where(smoke->selection, file_name) +
                     ": smoke.selection: the file has no selection: section to change");
  if (document["selection"]) {
    if (smoke && smoke->has_selection && !options.smoke) // a typo shows before CI runs it
      detail::read_selection(document["selection"], file_name, sweep.axes, &smoke->selection);
    sweep.selection = detail::read_selection(
        document["selection"], file_name, sweep.axes,
        options.smoke && smoke && smoke->has_selection ? &smoke->selection : nullptr);
  }
  derive_tasks(sweep);
  return sweep;
}

Sweep load(const std::filesystem::path& file, const Options& options) {
  return expand(config::load_yaml_file(file), file, options);
}

} // namespace vfp::sweep
