// sweep.grid, sweep.zip and sweep.variants → axes of the product.
#include "sweep/spec.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace vfp::sweep::detail {
namespace {

const std::vector<std::string> kGenerators{"range", "logspace"};
const std::vector<std::string> kDistributions{"uniform", "loguniform", "int_uniform"};

InputError error_at(const YAML::Node& node, const std::string& file, const std::string& path,
                    const std::string& what) {
  return InputError(where(node, file) + ": " + shorten_for_message(path, 200) + ": " + what);
}

struct Number {
  double value = 0;
  bool integer = false; ///< written as an integer (no '.', no exponent)
  long long as_integer = 0;
};

Number read_number(const YAML::Node& node, const std::string& file, const std::string& path) {
  Number n;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, n.value) || !std::isfinite(n.value))
    throw error_at(node, file, path, "expected a number, got '" + message_text(node) + "'");
  n.integer = YAML::convert<long long>::decode(node, n.as_integer);
  return n;
}

/// The [a, b, ...] argument of a generator, as numbers.
std::vector<Number> read_arguments(const YAML::Node& args, size_t count, const std::string& usage,
                                   const std::string& file, const std::string& path) {
  if (!args.IsSequence() || args.size() != count)
    throw error_at(args, file, path, "expected " + usage);
  std::vector<Number> out;
  for (const auto& a : args)
    out.push_back(read_number(a, file, path));
  return out;
}

/// {range: [start, stop, step]}: stop is included when reached within 1e-9·|step|.
std::vector<config::Located> range_values(const YAML::Node& args, const config::Located& recipe,
                                          const std::string& file, const std::string& path) {
  const auto n = read_arguments(args, 3, "{range: [start, stop, step]}", file, path + ": range");
  const double start = n[0].value, stop = n[1].value, step = n[2].value;
  if (step == 0)
    throw error_at(args, file, path, "range: step must be non-zero");
  if ((stop - start) / step < 0)
    throw error_at(args, file, path,
                   "range: step " + message_text(args[2]) + " points away from stop " +
                       message_text(args[1]) + " (start " + message_text(args[0]) + ")");
  const double steps = std::floor((stop - start) / step + 1e-9);
  if (steps + 1 > static_cast<double>(kMaxConfigurations))
    throw error_at(args, file, path, "range: more than 100000 values");
  const bool integers = n[0].integer && n[1].integer && n[2].integer;
  std::vector<config::Located> values;
  for (long long i = 0; i <= static_cast<long long>(steps); ++i) {
    // start + i·step rather than a running sum, so that rounding does not accumulate.
    const auto text = integers ? std::to_string(n[0].as_integer + i * n[2].as_integer)
                               : number_text(start + static_cast<double>(i) * step);
    values.push_back(generated(text, recipe));
  }
  return values;
}

/// {logspace: [start, stop, count]}: count values, geometric, both ends included.
std::vector<config::Located> logspace_values(const YAML::Node& args, const config::Located& recipe,
                                             const std::string& file, const std::string& path) {
  const auto n =
      read_arguments(args, 3, "{logspace: [start, stop, count]}", file, path + ": logspace");
  if (n[0].value <= 0 || n[1].value <= 0)
    throw error_at(args, file, path, "logspace: start and stop must be > 0");
  if (!n[2].integer || n[2].as_integer < 2 ||
      n[2].as_integer > static_cast<long long>(kMaxConfigurations))
    throw error_at(args[2], file, path,
                   "logspace: count must be an integer in [2, 100000], got " +
                       message_text(args[2]));
  const double low = std::log10(n[0].value), high = std::log10(n[1].value);
  const auto count = n[2].as_integer;
  std::vector<config::Located> values;
  for (long long i = 0; i < count; ++i) {
    // Powers of ten of evenly spaced exponents: decades come out exact (1e-4, 1e-3, ...).
    const double t = static_cast<double>(i) / static_cast<double>(count - 1);
    values.push_back(generated(number_text(std::pow(10.0, low + t * (high - low))), recipe));
  }
  return values;
}

Distribution read_distribution(const std::string& kind, const YAML::Node& args,
                               const config::Located& recipe, const std::string& file,
                               const std::string& path) {
  const auto n = read_arguments(args, 2, "{" + kind + ": [low, high]}", file, path + ": " + kind);
  Distribution d;
  d.low = n[0].value;
  d.high = n[1].value;
  d.recipe = recipe;
  d.kind = kind == "uniform"      ? Distribution::Kind::uniform
           : kind == "loguniform" ? Distribution::Kind::loguniform
                                  : Distribution::Kind::int_uniform;
  if (d.kind == Distribution::Kind::int_uniform) {
    if (!n[0].integer || !n[1].integer || d.low > d.high)
      throw error_at(args, file, path, "int_uniform: expected integers low <= high");
  } else if (!(d.low < d.high)) {
    throw error_at(args, file, path, kind + ": expected low < high");
  }
  if (d.kind == Distribution::Kind::loguniform && d.low <= 0)
    throw error_at(args, file, path, "loguniform: low and high must be > 0");
  return d;
}

/// The values of one grid or zip key: a list, a range, a logspace or (grid only) a
/// distribution for sweep.random.
struct Values {
  std::vector<config::Located> list;
  std::optional<Distribution> distribution;
};

Values read_values(const YAML::Node& key, const YAML::Node& node, const std::string& file,
                   const std::string& path, bool allow_distribution) {
  const std::string usage = "expected a non-empty list of values, or {range: [start, stop, step]} "
                            "or {logspace: [start, stop, count]}";
  Values out;
  if (node.IsSequence() && node.size() > 0) {
    for (const auto& v : node)
      out.list.push_back(locate(v, file));
    return out;
  }
  if (!node.IsMap() || node.size() != 1)
    throw error_at(node.IsNull() ? key : node, file, path, usage);
  const auto kind = node.begin()->first.as<std::string>();
  // A copy: the iterator's pair is a temporary, and a reference into it dangles (asan found
  // it: stack-use-after-scope).
  const YAML::Node args = node.begin()->second;
  const auto recipe = locate(node, file);
  if (kind == "range")
    out.list = range_values(args, recipe, file, path);
  else if (kind == "logspace")
    out.list = logspace_values(args, recipe, file, path);
  else if (std::find(kDistributions.begin(), kDistributions.end(), kind) != kDistributions.end())
    out.distribution = read_distribution(kind, args, recipe, file, path);
  else {
    auto known = kGenerators;
    known.insert(known.end(), kDistributions.begin(), kDistributions.end());
    auto hint = config::did_you_mean(kind, known);
    throw error_at(node.begin()->first, file, path,
                   "unknown value generator '" + kind + "'" +
                       (hint.empty() ? "" : " (" + hint + ")") + "; " + usage);
  }
  if (out.distribution && !allow_distribution)
    throw error_at(node, file, path, kind + " is for grid keys only (zip groups take lists)");
  return out;
}

Choice single_setting(const std::string& key, const config::Located& value) {
  return Choice{{Setting{key, value}}, ""};
}

} // namespace

std::vector<Axis> read_grid(const YAML::Node& grid, const std::string& file) {
  if (!grid.IsMap() || grid.size() == 0)
    throw error_at(grid, file, "sweep.grid", "expected a mapping of dotted keys to lists");
  std::vector<Axis> axes;
  for (const auto& kv : grid) {
    const auto key = kv.first.as<std::string>();
    const auto path = "sweep.grid." + key;
    require_sweepable_key(key, where(kv.first, file), "sweep.grid");
    auto values = read_values(kv.first, kv.second, file, path, true);
    Axis axis;
    axis.path = path;
    axis.columns = {key};
    axis.declarations = {Declaration{key, path, where(kv.first, file)}};
    axis.distribution = values.distribution;
    for (const auto& v : values.list)
      axis.choices.push_back(single_setting(key, v));
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::vector<Axis> read_zip(const YAML::Node& zip, const std::string& file) {
  if (!zip.IsSequence() || zip.size() == 0)
    throw error_at(zip, file, "sweep.zip",
                   "expected a list of mappings (each: dotted keys to lists of equal length)");
  std::vector<Axis> axes;
  for (size_t g = 0; g < zip.size(); ++g) {
    const auto& group = zip[g];
    Axis axis;
    axis.path = "sweep.zip[" + std::to_string(g) + "]";
    if (!group.IsMap() || group.size() == 0)
      throw error_at(group, file, axis.path,
                     "expected a mapping of dotted keys to lists of equal length");
    std::vector<std::pair<std::string, std::vector<config::Located>>> lists;
    for (const auto& kv : group) {
      const auto key = kv.first.as<std::string>();
      require_sweepable_key(key, where(kv.first, file), axis.path);
      lists.emplace_back(key,
                         read_values(kv.first, kv.second, file, axis.path + "." + key, false).list);
      axis.columns.push_back(key);
      axis.declarations.push_back(Declaration{key, axis.path + "." + key, where(kv.first, file)});
    }
    for (size_t k = 1; k < lists.size(); ++k)
      if (lists[k].second.size() != lists[0].second.size())
        throw error_at(group, file, axis.path,
                       "lists of unequal length: " + lists[0].first + " has " +
                           std::to_string(lists[0].second.size()) + " values (" +
                           axis.declarations[0].at + "), " + lists[k].first + " has " +
                           std::to_string(lists[k].second.size()) + " (" + axis.declarations[k].at +
                           ")");
    for (size_t i = 0; i < lists[0].second.size(); ++i) {
      Choice choice;
      for (const auto& [key, values] : lists)
        choice.settings.push_back(Setting{key, values[i]});
      axis.choices.push_back(std::move(choice));
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

Axis read_variants(const YAML::Node& variants, const std::string& file) {
  if (!variants.IsMap() || variants.size() == 0)
    throw error_at(variants, file, "sweep.variants",
                   "expected a mapping of variant names to mappings of dotted keys to values");
  Axis axis;
  axis.path = "sweep.variants";
  axis.columns = {kVariantAxis};
  for (const auto& kv : variants) {
    const auto name = kv.first.as<std::string>();
    const auto path = "sweep.variants." + name;
    if (name.empty())
      throw error_at(kv.first, file, "sweep.variants", "a variant needs a name");
    if (!kv.second.IsMap() || kv.second.size() == 0)
      throw error_at(kv.second.IsNull() ? kv.first : kv.second, file, path,
                     "expected a mapping of dotted keys to values");
    Choice choice;
    choice.variant = name;
    // Nested sections (model: {width: 32}) and dotted keys (model.width: 32) both work.
    for (const auto& [key, value] : config::flatten(kv.second, file)) {
      require_sweepable_key(key, value.where(), path);
      choice.settings.push_back(Setting{key, value});
      axis.declarations.push_back(Declaration{key, path + "." + key, value.where()});
    }
    axis.choices.push_back(std::move(choice));
  }
  return axis;
}

void require_disjoint_axes(const std::vector<Axis>& axes) {
  std::map<std::string, std::pair<const Axis*, const Declaration*>> first;
  for (const auto& axis : axes)
    for (const auto& d : axis.declarations) {
      auto [it, fresh] = first.try_emplace(d.key, &axis, &d);
      if (fresh || it->second.first == &axis)
        continue; // several variants may set the same key: they are one axis
      const auto* other = it->second.second;
      throw InputError(d.at + ": " + d.path + ": also varied by " + other->path + " (" + other->at +
                       "); vary a key in one place only");
    }
}

} // namespace vfp::sweep::detail
