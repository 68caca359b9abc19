// Ordering the table's rows and testing them against a baseline row.
#include "results/results.h"

#include "core/core.h"
#include "metrics/metrics.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

namespace vfp::results {
namespace {

double mean_or_lowest(const std::vector<double>& v) {
  return v.empty() ? -1.0 : metrics::mean_std(v).mean;
}

/// subject → (score, label) of a configuration's pooled out-of-fold predictions.
std::map<std::string, std::pair<double, int>>
pooled_predictions(const std::filesystem::path& file) {
  std::map<std::string, std::pair<double, int>> out;
  for (const auto& p : read_pooled(file))
    out[p.id] = {p.score, p.event};
  return out;
}

/// A row's pooled out-of-fold predictions: a configuration's, or a nested selection's. The ids
/// come from results.jsonl: SweepFolder keeps a tampered one from leading the read elsewhere.
std::filesystem::path oof_file(const SweepFolder& sweep, const TableRow& row) {
  return (row.selected ? sweep.selection(row.config_id) : sweep.configuration(row.config_id))
      .predictions;
}

} // namespace

void sort_rows(Table& table, const std::string& by) {
  std::function<double(const TableRow&)> key;
  if (by == "auroc")
    key = [](const TableRow& r) { return mean_or_lowest(r.auroc); };
  else if (by == "auprc")
    key = [](const TableRow& r) { return mean_or_lowest(r.auprc); };
  else if (by == "c_index")
    key = [](const TableRow& r) { return r.has_survival ? r.c_index : -1.0; };
  else if (by != "sweep")
    throw InputError("--sort: unknown key '" + by + "' (auroc, auprc, c_index or sweep)");
  const std::string baseline_id =
      table.baseline >= 0 ? table.rows[std::size_t(table.baseline)].config_id : "";
  std::stable_sort(table.rows.begin(), table.rows.end(), [&](const auto& a, const auto& b) {
    return key ? key(a) > key(b) : a.config_index < b.config_index;
  });
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (table.rows[i].config_id == baseline_id)
      table.baseline = int(i);
}

int find_row(const Table& table, const std::string& which) {
  if (!which.empty() && std::all_of(which.begin(), which.end(),
                                    [](unsigned char c) { return std::isdigit(c) != 0; })) {
    const int index = std::stoi(which);
    if (index < int(table.rows.size()))
      return index;
    throw InputError("--baseline " + which + ": the table has " +
                     std::to_string(table.rows.size()) + " rows (0 to " +
                     std::to_string(int(table.rows.size()) - 1) + ")");
  }
  int found = -1;
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (table.rows[i].config_id.rfind(which, 0) == 0) {
      if (found >= 0)
        throw InputError("--baseline " + which + ": more than one configuration id starts so");
      found = int(i);
    }
  if (found < 0)
    throw InputError("--baseline " + which +
                     ": no row has that position or configuration id (vfp report --format csv "
                     "lists the ids)");
  return found;
}

void compare_to_baseline(Table& table, int baseline, const SweepFolder& sweep) {
  table.baseline = baseline;
  const auto& base = table.rows.at(std::size_t(baseline));
  const double ratio = table.folds_per_repeat > 1 ? 1.0 / (table.folds_per_repeat - 1) : 0.0;
  const auto base_oof = oof_file(sweep, base);
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    auto& row = table.rows[i];
    row.p_corrected_t = row.p_delong = -1;
    if (int(i) == baseline)
      continue;
    std::vector<double> differences; // on the splits both have
    for (std::size_t k = 0; k < row.splits.size(); ++k) {
      const auto at = std::find(base.splits.begin(), base.splits.end(), row.splits[k]);
      if (at != base.splits.end())
        differences.push_back(row.auroc[k] - base.auroc[std::size_t(at - base.splits.begin())]);
    }
    if (differences.size() >= 2)
      row.p_corrected_t = metrics::corrected_resampled_t_test(differences, ratio).p;
    const auto oof = oof_file(sweep, row);
    if (!std::filesystem::exists(oof) || !std::filesystem::exists(base_oof))
      continue;
    const auto a = pooled_predictions(oof), b = pooled_predictions(base_oof);
    std::vector<double> scores_a, scores_b;
    std::vector<int> labels;
    for (const auto& [subject, prediction] : a) {
      const auto other = b.find(subject);
      if (other == b.end())
        continue;
      scores_a.push_back(prediction.first);
      scores_b.push_back(other->second.first);
      labels.push_back(prediction.second);
    }
    try {
      row.p_delong = metrics::delong_test(scores_a, scores_b, labels).p;
    } catch (const InputError&) {
      // Too few shared subjects of a class: no DeLong p for this row.
    }
  }
  // Every row compared is a test: Holm's adjustment over them, per test.
  std::vector<double> t, delong;
  for (const auto& row : table.rows) {
    t.push_back(row.p_corrected_t);
    delong.push_back(row.p_delong);
  }
  t = metrics::holm_adjust(t);
  delong = metrics::holm_adjust(delong);
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    table.rows[i].p_corrected_t_holm = t[i];
    table.rows[i].p_delong_holm = delong[i];
  }
}

} // namespace vfp::results
