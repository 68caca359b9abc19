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
void read_analysis(const PooledAnalysis& r, TableRow& row, Table& table) {
  if (r.pooled.is_object())
    row.constant_pooled_scores = r.pooled.value("constant_scores", false);
  const auto& cal = r.calibration;
  if (cal.is_object() && cal.contains("cross_fitted")) {
    const auto& c = cal["cross_fitted"];
    row.brier = number_or(c, "brier", -1.0);
    row.calibration_intercept = number_or(c, "intercept", 0.0);
    row.calibration_slope = number_or(c, "slope", 0.0);
    table.calibration = table.calibration || row.brier >= 0;
  }
  const auto& s = r.survival;
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
TableRow selected_row(const SelectionRow& r, const std::map<std::string, TableRow>& by_config,
                      Table& table) {
  TableRow row;
  row.selected = true;
  row.config_id = r.task_id;
  row.config_index = 1 << 30;
  for (const auto& c : r.folds) {
    row.auroc.push_back(c.auroc);
    row.auprc.push_back(c.auprc);
    row.splits.emplace_back(c.repeat, c.fold);
    const auto chosen = by_config.find(c.config_id);
    if (chosen != by_config.end() && row.aggregation.empty())
      row.aggregation = chosen->second.aggregation;
    row.choices.push_back(c);
  }
  const auto& over = r.over;
  row.selection_metric = r.metric;
  row.selection_inner_folds = r.inner_folds;
  table.selection_over = over;
  table.selection_metric = row.selection_metric;
  table.selection_inner_folds = row.selection_inner_folds;
  for (const auto& [key, axis_value] : r.axes) {
    auto value = axis_value;
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

/// A train_eval or inner task's configuration and split, success or failure; null for other rows.
const TaskKeys* task_keys(const Row& row) {
  if (const auto* r = std::get_if<TrainEvalRow>(&row))
    return r;
  return std::get_if<FailureRow>(&row);
}

} // namespace

Table aggregate(const std::vector<nlohmann::json>& json_rows) {
  const auto rows = typed_rows(json_rows);
  Table table;
  table.versions = code_versions(rows);
  // Each train_eval task by its latest row: a rerun's row supersedes an earlier one (a success
  // an earlier failure, a failure an earlier success), so the table is the sweep as last run
  // whatever order the rows came in.
  std::map<std::string, const Row*> latest;
  std::vector<const Row*> in_order; // rows of each task's first appearance
  for (const auto& r : rows) {
    if (header_of(r).kind != "train_eval")
      continue;
    auto [it, fresh] = latest.try_emplace(header_of(r).task_id, &r);
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
    const auto* keys = task_keys(r);
    if (!keys || header_of(r).kind != "train_eval")
      continue;
    auto [it, fresh] = by_config.try_emplace(keys->config_id);
    if (fresh) {
      it->second.config_id = keys->config_id;
      it->second.config_index = keys->config_index;
    }
    auto& values = axes_of[keys->config_id];
    for (const auto& [key, value] : keys->axes) { // in the sweep file's order
      if (std::find(table.axes.begin(), table.axes.end(), key) == table.axes.end())
        table.axes.push_back(key);
      values.try_emplace(key, value);
    }
    table.expected_folds = std::max(table.expected_folds, keys->expected_folds);
  }
  std::set<std::string> excluded_subjects;
  for (const auto* first : in_order) {
    const auto& latest_row = *latest.at(header_of(*first).task_id);
    auto& row = by_config.at(task_keys(latest_row)->config_id);
    const auto* r = std::get_if<TrainEvalRow>(&latest_row);
    if (!r || !r->ok()) {
      ++row.failed;
      continue;
    }
    if (row.aggregation.empty())
      row.aggregation = r->aggregation;
    for (const auto& e : r->excluded)
      if (excluded_subjects.insert(e.subject).second)
        table.excluded.emplace_back(e.subject, e.reason);
    row.auroc.push_back(r->auroc);
    row.auprc.push_back(r->auprc);
    row.splits.emplace_back(r->repeat, r->fold);
    row.constant_score_folds += r->constant_scores ? 1 : 0;
    table.folds_per_repeat = std::max(table.folds_per_repeat, r->fold + 1);
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
  for (const auto& row : rows) {
    const auto* r = std::get_if<CoxRow>(&row);
    if (!r || !r->ok())
      continue;
    const auto it = by_config.find(r->config_id);
    if (it == by_config.end())
      continue;
    read_analysis(*r, it->second, table);
  }
  for (auto& [id, row] : by_config)
    table.rows.push_back(row);
  std::sort(table.rows.begin(), table.rows.end(),
            [](const TableRow& a, const TableRow& b) { return a.config_index < b.config_index; });
  // Nested selections follow the configurations they chose among.
  std::set<std::string> seen_groups;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) { // the latest row of each group
    const auto* r = std::get_if<SelectionRow>(&*it);
    if (!r || !r->ok() || !seen_groups.insert(r->task_id).second)
      continue;
    table.rows.push_back(selected_row(*r, by_config, table));
  }
  std::stable_sort(table.rows.begin(), table.rows.end(),
                   [](const TableRow& a, const TableRow& b) { return !a.selected && b.selected; });
  return table;
}

} // namespace vfp::results
