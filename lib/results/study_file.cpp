// The study file: which multi-sweep tables a study has, each with its sweeps, the rows it
// keeps and its baseline (study.h; the layout is in docs/reports.md).
#include "results/study.h"

#include "config/yaml.h"
#include "core/core.h"

#include <algorithm>

namespace vfp::results {
namespace {

/// "file:line" of a node, for messages.
std::string at(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(node.Mark().line + 1);
}

[[noreturn]] void refuse(const std::string& file, const YAML::Node& node, const std::string& what) {
  throw InputError(at(file, node) + ": " + what);
}

std::string scalar(const std::string& file, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar())
    refuse(file, node, key + " must be a single value");
  return node.as<std::string>();
}

/// A list of values, or one value as a list of one.
std::vector<std::string> scalars(const std::string& file, const YAML::Node& node,
                                 const std::string& key) {
  if (node.IsScalar())
    return {node.as<std::string>()};
  if (!node.IsSequence() || node.size() == 0)
    refuse(file, node, key + " must be a value or a list of values");
  std::vector<std::string> out;
  for (const auto& item : node)
    out.push_back(scalar(file, item, key + " entry"));
  return out;
}

/// A mapping of table columns to values, in file order.
template <typename Value, typename Read>
std::vector<std::pair<std::string, Value>> column_map(const std::string& file,
                                                      const YAML::Node& node,
                                                      const std::string& key, Read read) {
  if (!node.IsMap() || node.size() == 0)
    refuse(file, node,
           key + " must map table columns to values, e.g. {sweep: ssl_3d, variant: fnet_scratch}");
  std::vector<std::pair<std::string, Value>> out;
  for (const auto& kv : node) {
    const auto column = kv.first.as<std::string>();
    out.emplace_back(column, read(kv.second, key + "." + column));
  }
  return out;
}

TableSpec read_table(const std::string& file, const YAML::Node& key, const YAML::Node& node) {
  const auto name = key.as<std::string>();
  TableSpec spec;
  spec.origin = at(file, key);
  try {
    spec.name = checked_path_component(name, "table name");
  } catch (const InputError& e) {
    refuse(file, key, e.what());
  }
  if (!node.IsMap())
    refuse(file, node, "table " + name + " must be a mapping with sweeps: (and rows:, where:, "
                                         "baseline:, sort:)");
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    const auto& value = kv.second;
    if (key == "sweeps") {
      spec.sweeps = scalars(file, value, "sweeps");
      for (const auto& s : spec.sweeps)
        try {
          checked_path_component(s, "sweep name");
        } catch (const InputError& e) {
          refuse(file, value, e.what());
        }
    } else if (key == "rows") {
      spec.rows = scalar(file, value, "rows");
      if (spec.rows != "all" && spec.rows != "configurations" && spec.rows != "nested")
        refuse(file, value, "rows: '" + spec.rows + "' is not all, configurations or nested");
    } else if (key == "where") {
      spec.where = column_map<std::vector<std::string>>(
          file, value, "where",
          [&](const YAML::Node& v, const std::string& k) { return scalars(file, v, k); });
    } else if (key == "baseline") {
      spec.baseline_match = column_map<std::string>(
          file, value, "baseline",
          [&](const YAML::Node& v, const std::string& k) { return scalar(file, v, k); });
    } else if (key == "sort") {
      spec.sort = scalar(file, value, "sort");
      const std::vector<std::string> sorts{"auroc", "auprc", "c_index", "sweep"};
      if (std::find(sorts.begin(), sorts.end(), spec.sort) == sorts.end())
        refuse(file, value, "sort: '" + spec.sort + "' is not auroc, auprc, c_index or sweep");
    } else {
      refuse(file, kv.first,
             "unknown key '" + key + "' in table " + name +
                 " (a table has sweeps, rows, where, baseline and sort)");
    }
  }
  if (spec.sweeps.empty())
    refuse(file, key, "table " + name + " names no sweeps (sweeps: [name, ...])");
  return spec;
}

} // namespace

Study read_study(const std::filesystem::path& path) {
  const auto doc = config::load_yaml_file(path);
  Study study;
  study.file = path.string();
  const auto& file = study.file;
  if (!doc.IsMap())
    throw InputError(file + ": a study file maps tables: to the study's tables");
  for (const auto& kv : doc)
    if (kv.first.as<std::string>() != "tables")
      refuse(file, kv.first,
             "unknown key '" + kv.first.as<std::string>() + "' (a study file has tables:)");
  const auto tables = doc["tables"];
  if (!tables || !tables.IsMap() || tables.size() == 0)
    throw InputError(file + ": tables: must map each table's name to its sweeps, rows and "
                            "baseline (docs/reports.md)");
  for (const auto& kv : tables)
    study.tables.push_back(read_table(file, kv.first, kv.second));
  return study;
}

} // namespace vfp::results
