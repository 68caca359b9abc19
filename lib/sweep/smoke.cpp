// The `smoke:` section: the values a `--smoke` run puts in place of the file's, so that one
// sweep file serves both the real experiment and its tiny check on a phantom cohort.
#include "sweep/spec.h"

#include "core/core.h"

#include <algorithm>

namespace vfp::sweep::detail {
namespace {

const std::string kUsage = "expected a mapping of dotted keys to values (what a --smoke run "
                           "sets instead of the file's values)";

/// The grid axis that varies `key`, or null.
Axis* grid_axis(std::vector<Axis>& axes, const std::string& key) {
  for (auto& axis : axes)
    if (axis.path == "sweep.grid." + key)
      return &axis;
  return nullptr;
}

} // namespace

namespace {

/// smoke.variants: variant name → keys, each name one of the file's variants.
void read_smoke_variants(const YAML::Node& node, const std::string& file,
                         const std::vector<Axis>& axes, Smoke& out) {
  const auto axis = std::find_if(axes.begin(), axes.end(),
                                 [](const Axis& a) { return a.path == "sweep.variants"; });
  if (axis == axes.end())
    throw InputError(where(node, file) +
                     ": smoke.variants: the file has no sweep.variants to set keys in");
  if (!node.IsMap() || node.size() == 0)
    throw InputError(where(node, file) +
                     ": smoke.variants: expected a mapping of variant names to mappings of "
                     "dotted keys to values");
  std::vector<std::string> names;
  for (const auto& choice : axis->choices)
    names.push_back(choice.variant);
  for (const auto& kv : node) {
    const auto name = kv.first.as<std::string>();
    const auto path = "smoke.variants." + name;
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      auto hint = config::did_you_mean(name, names);
      throw InputError(where(kv.first, file) + ": " + path + ": no such variant in sweep.variants" +
                       (hint.empty() ? "" : " (" + hint + ")"));
    }
    if (!kv.second.IsMap() || kv.second.size() == 0)
      throw InputError(where(kv.second.IsNull() ? kv.first : kv.second, file) + ": " + path +
                       ": expected a mapping of dotted keys to values");
    std::vector<Setting> settings;
    for (const auto& [key, value] : config::flatten(kv.second, file)) {
      require_schema_key(key, value.where(), path);
      settings.push_back(Setting{key, value});
    }
    out.variants.emplace_back(name, std::move(settings));
  }
}

} // namespace

Smoke read_smoke(const YAML::Node& smoke, const std::string& file, const std::vector<Axis>& axes) {
  if (!smoke.IsMap() || smoke.size() == 0)
    throw InputError(where(smoke, file) + ": smoke: " + kUsage);
  Smoke out;
  out.at = where(smoke, file);
  if (smoke["variants"])
    read_smoke_variants(smoke["variants"], file, axes, out);
  // Nested sections (train: {max_epochs: 1}) and dotted keys (train.max_epochs: 1) both work.
  if (smoke["selection"]) {
    out.selection = smoke["selection"];
    out.has_selection = true;
  }
  for (const auto& [key, value] : config::flatten(smoke, file, {"variants", "selection"})) {
    if (key == "name")
      throw InputError(value.where() + ": smoke.name: a smoke run is named after the sweep with "
                                       "'-smoke' appended (its results never mix with the real "
                                       "run's); leave name out of smoke");
    require_schema_key(key, value.where(), "smoke");
    const bool grid_key =
        std::any_of(axes.begin(), axes.end(),
                    // clang < 16 cannot capture a structured binding
                    [&k = key](const Axis& a) { return a.path == "sweep.grid." + k; });
    if (!grid_key) {
      out.settings.emplace(key, value);
      continue;
    }
    // A grid key's smoke value is its new list of values; a single value is a list of one.
    std::vector<config::Located> values;
    if (value.node.IsSequence()) {
      if (value.node.size() == 0)
        throw InputError(value.where() + ": smoke." + key +
                         ": expected a value or a non-empty list of values for the grid key");
      for (const auto& v : value.node)
        values.push_back(locate(v, file));
    } else {
      values.push_back(value);
    }
    out.grid.emplace_back(key, std::move(values));
  }
  return out;
}

void apply_smoke_to_axes(const Smoke& smoke, std::vector<Axis>& axes) {
  for (const auto& [key, values] : smoke.grid) {
    auto* axis = grid_axis(axes, key);
    axis->distribution.reset();
    axis->choices.clear();
    for (const auto& v : values)
      axis->choices.push_back(Choice{{Setting{key, v}}, ""});
  }
  for (auto& axis : axes) {
    if (axis.path != "sweep.variants")
      continue;
    for (const auto& [name, settings] : smoke.variants)
      for (auto& choice : axis.choices) {
        if (choice.variant != name)
          continue;
        // A fresh list, built by copies: assigning a Setting would assign its yaml-cpp node,
        // which rewrites the node the file's document shares.
        std::vector<Setting> merged;
        for (const auto& t : choice.settings)
          if (std::none_of(settings.begin(), settings.end(),
                           [&](const Setting& s) { return s.key == t.key; }))
            merged.push_back(t);
        for (const auto& s : settings) {
          merged.push_back(s);
          axis.declarations.push_back(
              Declaration{s.key, "smoke.variants." + name + "." + s.key, s.value.where()});
        }
        choice.settings = std::move(merged);
      }
  }
  require_disjoint_axes(axes); // a smoke variant key that a grid key also sets is ambiguous
}

} // namespace vfp::sweep::detail
