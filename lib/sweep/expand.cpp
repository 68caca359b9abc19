#include "sweep/sweep.h"

#include "core/core.h"

#include <set>

namespace vfp::sweep {
namespace {

std::string at(const YAML::Node& node, const std::string& file) {
  return file + ":" + std::to_string(node.Mark().line + 1) + ":" +
         std::to_string(node.Mark().column + 1);
}

/// Reads `sweep.grid` into (key, values) axes; validates keys against the schema.
std::vector<std::pair<std::string, std::vector<config::Located>>>
read_grid(const YAML::Node& sweep, const std::string& file) {
  std::vector<std::pair<std::string, std::vector<config::Located>>> axes;
  if (!sweep)
    return axes;
  if (!sweep.IsMap())
    throw InputError(at(sweep, file) + ": sweep: expected a mapping with a 'grid' key");
  for (const auto& kv : sweep) {
    const auto key = kv.first.as<std::string>();
    if (key != "grid") {
      auto hint = config::did_you_mean(key, {"grid"});
      throw InputError(at(kv.first, file) + ": sweep." + key + ": unknown key" +
                       (hint.empty() ? "" : " (" + hint + ")"));
    }
  }
  const auto grid = sweep["grid"];
  if (!grid.IsMap() || grid.size() == 0)
    throw InputError(at(grid, file) + ": sweep.grid: expected a mapping of dotted keys to lists");
  for (const auto& kv : grid) {
    const auto key = kv.first.as<std::string>();
    const auto& keys = config::known_keys();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      auto hint = config::did_you_mean(key, keys);
      throw InputError(at(kv.first, file) + ": sweep.grid." + key + ": unknown key" +
                       (hint.empty() ? "" : " (" + hint + ")"));
    }
    if (!kv.second.IsSequence() || kv.second.size() == 0)
      throw InputError(at(kv.second.IsNull() ? kv.first : kv.second, file) + ": sweep.grid." + key +
                       ": expected a non-empty list of values");
    std::vector<config::Located> values;
    for (const auto& v : kv.second)
      values.push_back({v, file, v.Mark().line + 1, v.Mark().column + 1});
    axes.emplace_back(key, std::move(values));
  }
  return axes;
}

std::string value_text(const YAML::Node& n) {
  if (n.IsScalar())
    return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

} // namespace

std::uint64_t seed_from_id(const std::string& id) {
  return mix_seed(fnv1a64(id));
}

Sweep expand(const YAML::Node& document, const std::filesystem::path& file) {
  const auto file_name = file.string();
  if (!document.IsMap())
    throw InputError(file_name + ": expected a YAML mapping (name, cohort, preprocess, ...)");
  const auto base = config::flatten(document, file_name, {"sweep"});
  const auto axes = read_grid(document["sweep"], file_name);
  const auto base_dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const auto yaml_dir = std::filesystem::absolute(base_dir).lexically_normal();

  Sweep sweep;
  sweep.file = file;
  for (const auto& a : axes)
    sweep.axes.push_back(a.first);

  std::uint64_t combinations = 1;
  for (const auto& a : axes) {
    combinations *= a.second.size();
    if (combinations > 100000)
      throw InputError(file_name + ": sweep.grid expands to more than 100000 configurations; "
                                   "split the sweep or use fewer values");
  }

  std::set<std::string> seen;
  std::vector<size_t> index(axes.size(), 0);
  for (std::uint64_t n = 0; n < combinations; ++n) {
    auto flat = base;
    Configuration cfg;
    for (size_t a = 0; a < axes.size(); ++a) {
      const auto& value = axes[a].second[index[a]];
      flat[axes[a].first] = value;
      cfg.axes.emplace_back(axes[a].first, value_text(value.node));
    }
    cfg.config = config::parse_experiment(flat, base_dir);
    auto identity = config::to_json(cfg.config);
    identity.erase("name"); // the same experiment in two sweeps is the same configuration
    // Cohort paths count as written relative to the sweep file, so ids (and the seeds
    // derived from them) stay the same when the project is cloned or moved elsewhere.
    for (const char* key : {"csv", "images", "centroids"}) {
      auto& path = identity["cohort"][key];
      path = std::filesystem::path(path.get<std::string>()).lexically_relative(yaml_dir).string();
    }
    cfg.id = stable_id(identity.dump());
    if (seen.insert(cfg.id).second)
      sweep.configurations.push_back(std::move(cfg));
    // Odometer increment, last axis fastest, so the order follows the file.
    for (size_t a = axes.size(); a-- > 0;) {
      if (++index[a] < axes[a].second.size())
        break;
      index[a] = 0;
    }
  }
  sweep.name = sweep.configurations.front().config.name;

  for (size_t c = 0; c < sweep.configurations.size(); ++c) {
    const auto& cfg = sweep.configurations[c];
    for (int r = 0; r < cfg.config.cv.repeats; ++r)
      for (int f = 0; f < cfg.config.cv.folds; ++f) {
        TrainTask t;
        t.configuration = static_cast<int>(c);
        t.fold = f;
        t.repeat = r;
        t.id = stable_id(cfg.id + "/train_eval/repeat" + std::to_string(r) + "/fold" +
                         std::to_string(f));
        t.seed = seed_from_id(t.id);
        sweep.tasks.push_back(t);
      }
  }
  return sweep;
}

Sweep load(const std::filesystem::path& file) {
  return expand(config::load_yaml_file(file), file);
}

} // namespace vfp::sweep
