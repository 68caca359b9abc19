// The `sweep:` section as a whole, and the helpers its readers share.
#include "sweep/spec.h"

#include "core/core.h"

#include <algorithm>
#include <cstdio>

namespace vfp::sweep::detail {

std::string where(const YAML::Node& node, const std::string& file) {
  return file + ":" + std::to_string(node.Mark().line + 1) + ":" +
         std::to_string(node.Mark().column + 1);
}

config::Located locate(const YAML::Node& node, const std::string& file) {
  return config::Located{node, file, node.Mark().line + 1, node.Mark().column + 1};
}

config::Located generated(const std::string& text, const config::Located& recipe) {
  return config::Located{YAML::Node(text), recipe.file, recipe.line, recipe.column};
}

std::string value_text(const YAML::Node& node) {
  if (node.IsScalar())
    return node.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << node;
  return e.c_str();
}

std::string message_text(const YAML::Node& node) {
  return shorten_for_message(value_text(node));
}

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void require_schema_key(const std::string& key, const std::string& at, const std::string& path) {
  const auto& keys = config::known_keys();
  if (std::find(keys.begin(), keys.end(), key) != keys.end())
    return;
  auto hint = config::did_you_mean(key, keys);
  throw InputError(at + ": " + path + "." + shorten_for_message(key) + ": unknown key" +
                   (hint.empty() ? "" : " (" + hint + ")"));
}

void require_sweepable_key(const std::string& key, const std::string& at, const std::string& path) {
  require_schema_key(key, at, path);
  if (config::is_runtime_key(key))
    throw InputError(at + ": " + path + "." + key + ": " + key +
                     " is a runtime setting (it changes how a task runs, not its result), so "
                     "configurations that differ only in it are one configuration with one id; "
                     "set it in the base config (or in smoke:), not under sweep:");
}

namespace {

const std::vector<std::string> kSections{"grid", "zip", "variants", "include", "exclude", "random"};

void require_known_sections(const YAML::Node& sweep, const std::string& file) {
  for (const auto& kv : sweep) {
    const auto key = kv.first.as<std::string>();
    if (std::find(kSections.begin(), kSections.end(), key) != kSections.end())
      continue;
    auto hint = config::did_you_mean(key, kSections);
    throw InputError(where(kv.first, file) + ": sweep." + shorten_for_message(key) +
                     ": unknown key" +
                     (hint.empty() ? " (expected grid, zip, variants, include, exclude or random)"
                                   : " (" + hint + ")"));
  }
}

/// Continuous ranges have no finite product: without sweep.random they are a mistake.
void require_random_for_distributions(const Spec& spec) {
  if (spec.random)
    return;
  for (const auto& axis : spec.axes)
    if (axis.distribution)
      throw InputError(axis.distribution->recipe.where() + ": " + axis.path +
                       ": a continuous range needs sweep.random (random: {n: N, seed: S}); "
                       "for a grid, use {range: [start, stop, step]} or "
                       "{logspace: [start, stop, count]}");
}

} // namespace

Spec read_spec(const YAML::Node& sweep, const std::string& file) {
  Spec spec;
  spec.at = sweep ? where(sweep, file) : file;
  if (!sweep)
    return spec;
  if (!sweep.IsMap() || sweep.size() == 0)
    throw InputError(where(sweep, file) +
                     ": sweep: expected a mapping of grid, zip, variants, include, exclude or "
                     "random");
  require_known_sections(sweep, file);
  // Axis order is fixed (grid keys, zip groups, variants), whatever the order in the file.
  if (sweep["grid"])
    spec.axes = read_grid(sweep["grid"], file);
  if (sweep["zip"])
    for (auto& axis : read_zip(sweep["zip"], file))
      spec.axes.push_back(std::move(axis));
  if (sweep["variants"])
    spec.axes.push_back(read_variants(sweep["variants"], file));
  require_disjoint_axes(spec.axes);
  if (sweep["exclude"])
    spec.excludes = read_exclude(sweep["exclude"], file, static_cast<bool>(sweep["variants"]));
  if (sweep["include"])
    spec.includes = read_include(sweep["include"], file);
  if (sweep["random"])
    spec.random = read_random(sweep["random"], file);
  require_random_for_distributions(spec);
  return spec;
}

} // namespace vfp::sweep::detail
