#include "results/results.h"

#include "core/core.h"
#include "metrics/metrics.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace vfp::results {

namespace {

/// A number of a row, or `missing` when absent or null: JSON writes a non-finite number (an
/// overflowing hazard ratio, a C-index no resample could correct) as null.
double number_or(const nlohmann::json& j, const char* key, double missing) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : missing;
}

/// The survival and calibration columns from a cox or selection row's analysis.
void read_analysis(const nlohmann::json& r, TableRow& row, Table& table) {
  const auto& pooled = r.value("pooled", nlohmann::json());
  if (pooled.is_object())
    row.constant_pooled_scores = pooled.value("constant_scores", false);
  const auto& cal = r.value("calibration", nlohmann::json());
  if (cal.is_object() && cal.contains("cross_fitted")) {
    const auto& c = cal["cross_fitted"];
    row.brier = number_or(c, "brier", -1.0);
    row.calibration_intercept = number_or(c, "intercept", 0.0);
    row.calibration_slope = number_or(c, "slope", 0.0);
    table.calibration = table.calibration || row.brier >= 0;
  }
  const auto& s = r.value("survival", nlohmann::json());
  if (!s.is_object())
    return;
  const double inf = std::numeric_limits<double>::infinity();
  row.has_survival = true;
  row.c_index = number_or(s, "c_image", 0.0);
  row.c_baseline = number_or(s, "c_baseline", 0.0);
  row.c_index_corrected = number_or(s, "c_image_corrected", -1.0);
  // A separated fit's hazard ratio overflows: its table cell reads "> 1e6".
  row.hr_per_sd = number_or(s, "score_hr_per_sd", inf);
  row.hr_lower = number_or(s, "score_hr_per_sd_lower", inf);
  row.hr_upper = number_or(s, "score_hr_per_sd_upper", inf);
  table.survival = true;
}

/// A selection row as a table row: the selected folds' figures, its axes with each selected
/// key's choices counted ("nested: 1e-3 ×3, 3e-4 ×1").
TableRow selected_row(const nlohmann::json& r, const std::map<std::string, TableRow>& by_config,
                      Table& table) {
  TableRow row;
  row.selected = true;
  row.config_id = r.value("task_id", "");
  row.config_index = 1 << 30;
  for (const auto& f : r.value("folds", nlohmann::json::array())) {
    const auto c = fold_choice_from_json(f);
    row.auroc.push_back(c.auroc);
    row.auprc.push_back(c.auprc);
    row.splits.emplace_back(c.repeat, c.fold);
    const auto chosen = by_config.find(c.config_id);
    if (chosen != by_config.end() && row.aggregation.empty())
      row.aggregation = chosen->second.aggregation;
    row.choices.push_back(c);
  }
  const auto over = r.value("over", std::vector<std::string>{});
  row.selection_metric = r.value("metric", "");
  row.selection_inner_folds = r.value("inner_folds", 0);
  table.selection_over = over;
  table.selection_metric = row.selection_metric;
  table.selection_inner_folds = row.selection_inner_folds;
  for (const auto& kv : r.value("axes", nlohmann::json::array())) {
    const auto key = kv.at(0).get<std::string>();
    auto value = kv.at(1).get<std::string>();
    const auto column = std::find(table.axes.begin(), table.axes.end(), key);
    if (std::find(over.begin(), over.end(), key) != over.end() && column != table.axes.end()) {
      // Each chosen configuration's value of this key, counted in order of first choice.
      std::vector<std::pair<std::string, int>> counts;
      for (const auto& c : row.choices) {
        const auto chosen = by_config.find(c.config_id);
        const auto k = std::size_t(column - table.axes.begin());
        const auto v = chosen != by_config.end() && k < chosen->second.axis_values.size()
                           ? chosen->second.axis_values[k]
                           : "?";
        auto at =
            std::find_if(counts.begin(), counts.end(), [&](const auto& p) { return p.first == v; });
        if (at == counts.end())
          counts.emplace_back(v, 1);
        else
          ++at->second;
      }
      value = row.selection_inner_folds >= 2
                  ? "nested (" + std::to_string(row.selection_inner_folds) + " inner folds):"
                  : std::string("nested (early-stopping split):");
      for (std::size_t k = 0; k < counts.size(); ++k)
        value += (k ? ", " : " ") + counts[k].first + " ×" + std::to_string(counts[k].second);
    }
    row.axis_values.push_back(value);
  }
  read_analysis(r, row, table);
  return row;
}

} // namespace

Table aggregate(const std::vector<nlohmann::json>& rows) {
  Table table;
  // Each train_eval task by its latest row: a rerun's row supersedes an earlier one (a success
  // an earlier failure, a failure an earlier success), so the table is the sweep as last run
  // whatever order the rows came in.
  std::map<std::string, const nlohmann::json*> latest;
  std::vector<const nlohmann::json*> in_order; // rows of each task's first appearance
  for (const auto& r : rows) {
    if (r.value("kind", "") != "train_eval")
      continue;
    auto [it, fresh] = latest.try_emplace(r.value("task_id", ""), &r);
    if (fresh)
      in_order.push_back(&r);
    else
      it->second = &r;
  }
  // A configuration's axes, index and fold count from any of its rows that carries them (a
  // failure row of an older vfp carries no axes).
  std::map<std::string, TableRow> by_config;
  std::map<std::string, std::map<std::string, std::string>> axes_of;
  for (const auto& r : rows) {
    if (r.value("kind", "") != "train_eval")
      continue;
    const auto config_id = r.value("config_id", "");
    auto [it, fresh] = by_config.try_emplace(config_id);
    if (fresh) {
      it->second.config_id = config_id;
      it->second.config_index = r.value("config_index", 0);
    }
    auto& values = axes_of[config_id];
    // "axes": [[key, value], ...] in the sweep file's order.
    for (const auto& kv : r.value("axes", nlohmann::json::array())) {
      const auto key = kv.at(0).get<std::string>();
      if (std::find(table.axes.begin(), table.axes.end(), key) == table.axes.end())
        table.axes.push_back(key);
      values.try_emplace(key, kv.at(1).get<std::string>());
    }
    table.expected_folds = std::max(table.expected_folds, r.value("expected_folds", 0));
  }
  std::set<std::string> excluded_subjects;
  for (const auto* first : in_order) {
    const auto& r = *latest.at(first->value("task_id", ""));
    auto& row = by_config.at(r.value("config_id", ""));
    if (r.value("status", "") != "ok") {
      ++row.failed;
      continue;
    }
    if (row.aggregation.empty())
      row.aggregation = r.value("aggregation", "");
    for (const auto& e : r.value("excluded", nlohmann::json::array()))
      if (excluded_subjects.insert(e.value("subject", "")).second)
        table.excluded.emplace_back(e.value("subject", ""), e.value("reason", ""));
    row.auroc.push_back(r.at("auroc").get<double>());
    row.auprc.push_back(r.at("auprc").get<double>());
    row.splits.emplace_back(r.value("repeat", 0), r.value("fold", 0));
    row.constant_score_folds += r.value("constant_scores", false) ? 1 : 0;
    table.folds_per_repeat = std::max(table.folds_per_repeat, r.value("fold", 0) + 1);
  }
  // One cell per column: a configuration without a key (or whose rows carry no axes) shows "–".
  for (auto& [id, row] : by_config) {
    const auto& values = axes_of[id];
    for (const auto& key : table.axes) {
      const auto v = values.find(key);
      row.axis_values.push_back(v != values.end() ? v->second : "–");
    }
  }
  // A configuration's cox row: the survival and calibration columns.
  for (const auto& r : rows) {
    if (r.value("kind", "") != "cox" || r.value("status", "") != "ok")
      continue;
    const auto it = by_config.find(r.value("config_id", ""));
    if (it == by_config.end())
      continue;
    read_analysis(r, it->second, table);
  }
  for (auto& [id, row] : by_config)
    table.rows.push_back(row);
  std::sort(table.rows.begin(), table.rows.end(),
            [](const TableRow& a, const TableRow& b) { return a.config_index < b.config_index; });
  // Nested selections follow the configurations they chose among.
  std::set<std::string> seen_groups;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) { // the latest row of each group
    const auto& r = *it;
    if (r.value("kind", "") != "selection" || r.value("status", "") != "ok" ||
        !seen_groups.insert(r.value("task_id", "")).second)
      continue;
    table.rows.push_back(selected_row(r, by_config, table));
  }
  std::stable_sort(table.rows.begin(), table.rows.end(),
                   [](const TableRow& a, const TableRow& b) { return !a.selected && b.selected; });
  return table;
}

} // namespace vfp::results
