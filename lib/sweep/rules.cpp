// sweep.exclude (drop points of the product) and sweep.include (add configurations).
#include "sweep/spec.h"

#include "core/core.h"

#include <algorithm>
#include <optional>

namespace vfp::sweep::detail {
namespace {

const std::string kRuleUsage = "expected a value, a list of values or {not: value or list}";

/// The values a condition lists: a scalar is a list of one; a list value (e.g. of
/// preprocess.channels) is written as a list of lists.
std::vector<YAML::Node> listed_values(const YAML::Node& node) {
  if (!node.IsSequence())
    return {node};
  return std::vector<YAML::Node>(node.begin(), node.end());
}

Condition read_condition(const std::string& key, const YAML::Node& key_node,
                         const YAML::Node& value, const std::string& file,
                         const std::string& path) {
  Condition c;
  c.key = key;
  c.at = where(key_node, file);
  if (value.IsMap() && (value.size() != 1 || value.begin()->first.as<std::string>() != "not"))
    throw InputError(where(value, file) + ": " + path + "." + key + ": " + kRuleUsage);
  c.negated = value.IsMap();
  // Bound once, never assigned: assigning a yaml-cpp node rewrites the document it refers to.
  const YAML::Node values = c.negated ? value.begin()->second : value;
  if (values.IsNull() || values.IsMap() || (values.IsSequence() && values.size() == 0))
    throw InputError(where(values.IsNull() ? key_node : values, file) + ": " + path + "." + key +
                     ": " + kRuleUsage);
  c.values = listed_values(values);
  return c;
}

/// Numbers compare by value (1e-3 matches 0.001), anything else as written.
bool same_value(const YAML::Node& resolved, const YAML::Node& listed) {
  if (resolved.IsScalar() && listed.IsScalar()) {
    double a = 0, b = 0;
    if (YAML::convert<double>::decode(resolved, a) && YAML::convert<double>::decode(listed, b))
      return a == b;
    return resolved.Scalar() == listed.Scalar();
  }
  return value_text(resolved) == value_text(listed);
}

/// The value a point gives `key` (the variant's name for "variant"); none when unset.
std::optional<YAML::Node> resolved_value(const std::string& key, const config::FlatConfig& flat,
                                         const std::string& variant) {
  if (key == kVariantAxis)
    return variant.empty() ? std::nullopt : std::optional<YAML::Node>(YAML::Node(variant));
  auto it = flat.find(key);
  return it == flat.end() ? std::nullopt : std::optional<YAML::Node>(it->second.node);
}

/// Keys in the order they are written (flatten sorts them by name).
std::vector<std::string> keys_in_file_order(const config::FlatConfig& flat) {
  std::vector<std::string> keys;
  for (const auto& kv : flat)
    keys.push_back(kv.first);
  std::stable_sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) {
    const auto &x = flat.at(a), &y = flat.at(b);
    return std::make_pair(x.line, x.column) < std::make_pair(y.line, y.column);
  });
  return keys;
}

} // namespace

std::vector<ExcludeRule> read_exclude(const YAML::Node& exclude, const std::string& file,
                                      bool has_variants) {
  if (!exclude.IsSequence() || exclude.size() == 0)
    throw InputError(where(exclude, file) +
                     ": sweep.exclude: expected a list of rules (mappings of dotted keys to "
                     "values)");
  std::vector<ExcludeRule> rules;
  for (size_t r = 0; r < exclude.size(); ++r) {
    const auto& node = exclude[r];
    const auto path = "sweep.exclude[" + std::to_string(r) + "]";
    if (!node.IsMap() || node.size() == 0)
      throw InputError(where(node, file) + ": " + path +
                       ": expected a mapping of dotted keys to values (a point is dropped when "
                       "it matches every key)");
    ExcludeRule rule;
    rule.at = where(node, file);
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (!(has_variants && key == kVariantAxis))
        require_schema_key(key, where(kv.first, file), path);
      rule.conditions.push_back(read_condition(key, kv.first, kv.second, file, path));
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::vector<Include> read_include(const YAML::Node& include, const std::string& file) {
  if (!include.IsSequence() || include.size() == 0)
    throw InputError(where(include, file) +
                     ": sweep.include: expected a list of mappings of dotted keys to values");
  std::vector<Include> out;
  for (size_t i = 0; i < include.size(); ++i) {
    const auto& node = include[i];
    const auto path = "sweep.include[" + std::to_string(i) + "]";
    if (!node.IsMap() || node.size() == 0)
      throw InputError(where(node, file) + ": " + path +
                       ": expected a mapping of dotted keys to values");
    Include entry;
    entry.at = where(node, file);
    entry.settings = config::flatten(node, file);
    for (const auto& [key, value] : entry.settings)
      require_sweepable_key(key, value.where(), path);
    entry.keys = keys_in_file_order(entry.settings);
    out.push_back(std::move(entry));
  }
  return out;
}

void require_settable_rule_keys(const std::vector<ExcludeRule>& rules,
                                const config::FlatConfig& base, const std::vector<Axis>& axes) {
  auto swept = [&](const std::string& key) {
    for (const auto& axis : axes)
      for (const auto& d : axis.declarations)
        if (d.key == key)
          return true;
    return false;
  };
  for (size_t r = 0; r < rules.size(); ++r)
    for (const auto& c : rules[r].conditions)
      if (c.key != kVariantAxis && !base.count(c.key) && !swept(c.key))
        throw InputError(c.at + ": sweep.exclude[" + std::to_string(r) + "]." + c.key +
                         ": neither the base config nor a sweep axis sets this key, so the rule "
                         "could never match (write the key in the base config to match its "
                         "default)");
}

bool excludes(const ExcludeRule& rule, const config::FlatConfig& flat, const std::string& variant) {
  for (const auto& c : rule.conditions) {
    const auto resolved = resolved_value(c.key, flat, variant);
    // A point that leaves the key at its default (a variant that does not set it) has no
    // written value to compare: the rule does not drop it.
    if (!resolved)
      return false;
    const bool listed = std::any_of(c.values.begin(), c.values.end(),
                                    [&](const YAML::Node& v) { return same_value(*resolved, v); });
    if (listed == c.negated)
      return false;
  }
  return true;
}

} // namespace vfp::sweep::detail
