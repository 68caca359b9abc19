#include "results/results.h"

#include "core/core.h"
#include "metrics/metrics.h"

#include <map>
#include <set>
#include <sstream>

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
  }
  for (auto& [id, row] : by_config)
    table.rows.push_back(row);
  std::sort(table.rows.begin(), table.rows.end(),
            [](const TableRow& a, const TableRow& b) { return a.config_index < b.config_index; });
  return table;
}

namespace {
std::string cell(const std::vector<double>& v) {
  if (v.empty())
    return "–";
  return metrics::format_mean_std(metrics::mean_std(v), 100.0, 1);
}
} // namespace

std::string to_markdown(const Table& t) {
  std::ostringstream md;
  md << "|";
  if (t.axes.empty())
    md << " configuration |";
  for (const auto& a : t.axes)
    md << " " << a << " |";
  md << " AUROC (%) | AUPRC (AP, %) | folds |\n|";
  for (size_t i = 0; i < std::max<size_t>(t.axes.size(), 1); ++i)
    md << "---|";
  md << "---:|---:|---:|\n";
  for (const auto& r : t.rows) {
    md << "|";
    if (t.axes.empty())
      md << " " << r.config_id << " |";
    for (const auto& v : r.axis_values)
      md << " " << v << " |";
    md << " " << cell(r.auroc) << " | " << cell(r.auprc) << " | " << r.auroc.size();
    if (t.expected_folds > 0)
      md << "/" << t.expected_folds;
    if (r.failed > 0)
      md << " (" << r.failed << " failed)";
    md << " |\n";
  }
  md << "\nmean ± sample SD over folds; patient-level scores (max over vertebrae); "
        "AUPRC is average precision.\n";
  return md.str();
}

std::string to_csv(const Table& t) {
  std::ostringstream csv;
  csv.precision(10);
  csv << "config_id";
  for (const auto& a : t.axes)
    csv << "," << a;
  csv << ",auroc_mean,auroc_sd,auprc_mean,auprc_sd,folds,failed\n";
  for (const auto& r : t.rows) {
    csv << r.config_id;
    for (const auto& v : r.axis_values)
      csv << "," << v;
    if (r.auroc.empty()) {
      csv << ",,,,,0," << r.failed << "\n";
      continue;
    }
    const auto a = metrics::mean_std(r.auroc), p = metrics::mean_std(r.auprc);
    csv << "," << a.mean << "," << a.std << "," << p.mean << "," << p.std << "," << r.auroc.size()
        << "," << r.failed << "\n";
  }
  return csv.str();
}

} // namespace vfp::results
