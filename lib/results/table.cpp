#include "results/results.h"

#include "core/core.h"
#include "metrics/metrics.h"

#include <map>
#include <set>

namespace vfp::results {

Table aggregate(const std::vector<nlohmann::json>& rows) {
  Table table;
  std::map<std::string, TableRow> by_config;
  std::set<std::string> seen_tasks;
  for (const auto& r : rows) {
    if (r.value("kind", "") != "train_eval")
      continue;
    const auto config_id = r.value("config_id", "");
    auto [it, fresh] = by_config.try_emplace(config_id);
    auto& row = it->second;
    if (fresh) {
      row.config_id = config_id;
      row.config_index = r.value("config_index", 0);
      // "axes": [[key, value], ...] in the sweep file's order.
      for (const auto& kv : r.value("axes", nlohmann::json::array())) {
        const auto key = kv.at(0).get<std::string>();
        if (std::find(table.axes.begin(), table.axes.end(), key) == table.axes.end())
          table.axes.push_back(key);
        row.axis_values.push_back(kv.at(1).get<std::string>());
      }
      table.expected_folds = std::max(table.expected_folds, r.value("expected_folds", 0));
    }
    if (r.value("status", "") != "ok") {
      ++row.failed;
      continue;
    }
    if (!seen_tasks.insert(r.value("task_id", "")).second)
      continue;
    row.auroc.push_back(r.at("auroc").get<double>());
    row.auprc.push_back(r.at("auprc").get<double>());
    row.splits.emplace_back(r.value("repeat", 0), r.value("fold", 0));
    table.folds_per_repeat = std::max(table.folds_per_repeat, r.value("fold", 0) + 1);
  }
  // A configuration's cox row: the survival columns.
  for (const auto& r : rows) {
    if (r.value("kind", "") != "cox" || r.value("status", "") != "ok")
      continue;
    const auto it = by_config.find(r.value("config_id", ""));
    const auto& s = r.value("survival", nlohmann::json());
    if (it == by_config.end() || !s.is_object())
      continue;
    auto& row = it->second;
    row.has_survival = true;
    row.c_index = s.value("c_image", 0.0);
    row.c_baseline = s.value("c_baseline", 0.0);
    row.hr_per_sd = s.value("score_hr_per_sd", 0.0);
    row.hr_lower = s.value("score_hr_per_sd_lower", 0.0);
    row.hr_upper = s.value("score_hr_per_sd_upper", 0.0);
    table.survival = true;
  }
  for (auto& [id, row] : by_config)
    table.rows.push_back(row);
  std::sort(table.rows.begin(), table.rows.end(),
            [](const TableRow& a, const TableRow& b) { return a.config_index < b.config_index; });
  return table;
}

} // namespace vfp::results
