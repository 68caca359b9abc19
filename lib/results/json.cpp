// The table as JSON, for scripts: `vfp report --format json`.
#include "results/results.h"

#include "metrics/metrics.h"

#include <map>

namespace vfp::results {
namespace {

nlohmann::json summary(const std::vector<double>& v) {
  if (v.empty())
    return nullptr;
  const auto m = metrics::mean_std(v);
  return {{"mean", m.mean}, {"sd", m.std}, {"folds", v.size()}};
}

/// null for "not computed" (the negative sentinels of TableRow).
nlohmann::json optional(double v, bool present) {
  return present ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json row_json(const Table& t, const TableRow& r) {
  nlohmann::json axes = nlohmann::json::object();
  for (std::size_t k = 0; k < t.axes.size() && k < r.axis_values.size(); ++k)
    axes[t.axes[k]] = r.axis_values[k];
  nlohmann::json j = {{"axes", axes},
                      {"auroc", summary(r.auroc)},
                      {"auprc", summary(r.auprc)},
                      {"failed", r.failed},
                      {"constant_score_folds", r.constant_score_folds},
                      {"constant_pooled_scores", r.constant_pooled_scores},
                      {"aggregation", r.aggregation}};
  if (r.has_survival)
    j["survival"] = {
        {"c_index_apparent", r.c_index},
        {"c_index_baseline_apparent", r.c_baseline},
        {"c_index_optimism_corrected", optional(r.c_index_corrected, r.c_index_corrected >= 0)},
        {"hr_per_sd_adjusted_for_age_bmi", r.hr_per_sd},
        {"hr_per_sd_lower", r.hr_lower},
        {"hr_per_sd_upper", r.hr_upper}};
  if (r.brier >= 0)
    j["calibration"] = {
        {"brier", r.brier}, {"intercept", r.calibration_intercept}, {"slope", r.calibration_slope}};
  if (t.baseline >= 0)
    j["comparison"] = {
        {"p_corrected_t", optional(r.p_corrected_t, r.p_corrected_t >= 0)},
        {"p_delong", optional(r.p_delong, r.p_delong >= 0)},
        {"p_corrected_t_holm", optional(r.p_corrected_t_holm, r.p_corrected_t_holm >= 0)},
        {"p_delong_holm", optional(r.p_delong_holm, r.p_delong_holm >= 0)}};
  return j;
}

} // namespace

nlohmann::json to_json(const Table& t) {
  nlohmann::json rows = nlohmann::json::array(), selected = nlohmann::json::array();
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto& r = t.rows[i];
    auto j = row_json(t, r);
    j["baseline"] = t.baseline == int(i);
    if (!r.selected) {
      j["config_id"] = r.config_id;
      // Picked on the test folds if a reader takes the best of these rows.
      j["chosen_on_test_folds"] = true;
      rows.push_back(std::move(j));
      continue;
    }
    j["group_id"] = r.config_id;
    j["folds"] = nlohmann::json::array();
    std::map<std::string, int> wins;
    for (const auto& c : r.choices) {
      j["folds"].push_back(to_json(c));
      ++wins[c.config_id];
    }
    j["wins"] = wins;
    selected.push_back(std::move(j));
  }
  nlohmann::json out = {{"axes", t.axes},
                        {"expected_folds", t.expected_folds},
                        {"rows", rows},
                        {"selected", selected}};
  out["excluded"] = nlohmann::json::array();
  for (const auto& [subject, reason] : t.excluded)
    out["excluded"].push_back({{"subject", subject}, {"reason", reason}});
  out["versions"] = t.versions; // code version → rows
  if (!t.selection_metric.empty())
    out["selection"] = {{"over", t.selection_over},
                        {"metric", t.selection_metric},
                        {"inner_folds", t.selection_inner_folds}};
  return out;
}

} // namespace vfp::results
