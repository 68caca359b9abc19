#include "tasks/pooled.h"

#include "core/core.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "survival/survival.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace vfp::tasks::detail {
namespace {

/// Risk at this horizon is what the report compares: 5 years, as the study's follow-up
/// allows, or the last event time when follow-up is shorter.
double risk_horizon(const std::vector<double>& time, const std::vector<int>& event) {
  double last_event = 0;
  for (size_t i = 0; i < time.size(); ++i)
    if (event[i])
      last_event = std::max(last_event, time[i]);
  return std::min(5.0, last_event);
}

nlohmann::json calibration_json(const metrics::CalibrationSummary& s, bool with_bins) {
  nlohmann::json j = {{"n", s.n},
                      {"events", s.events},
                      {"brier", s.brier},
                      {"intercept", s.intercept},
                      {"slope", s.slope},
                      {"mean_predicted", s.mean_predicted},
                      {"observed_rate", s.observed_rate}};
  if (with_bins) {
    j["bins"] = nlohmann::json::array();
    for (const auto& b : s.bins)
      j["bins"].push_back({{"n", b.n},
                           {"events", b.events},
                           {"mean_predicted", b.mean_predicted},
                           {"observed", b.observed},
                           {"lower", b.lower},
                           {"upper", b.upper}});
  }
  return j;
}

nlohmann::json calibration_of(const std::vector<double>& score, const std::vector<int>& label,
                              const std::vector<int>& fold, const config::ExperimentConfig& c) {
  int positives = 0;
  for (int l : label)
    positives += l;
  const int negatives = int(label.size()) - positives;
  // A class-weighted loss or balanced sampling trained the output towards a prior of ½;
  // undo that shift before reading the output as a probability.
  const double shift = c.train.shifts_prior() && positives > 0 && negatives > 0
                           ? std::log(double(negatives) / double(positives))
                           : 0.0;
  std::vector<double> prior_corrected;
  prior_corrected.reserve(score.size());
  for (double s : score)
    prior_corrected.push_back(1.0 / (1.0 + std::exp(-(metrics::logit(s) - shift))));
  const auto recalibration = metrics::fit_recalibration(score, label, shift);
  const auto cross = metrics::cross_fitted_probabilities(score, label, fold, shift);
  return {{"prior_shift", shift},
          {"recalibration",
           {{"prior_shift", recalibration.prior_shift},
            {"intercept", recalibration.intercept},
            {"slope", recalibration.slope}}},
          {"uncalibrated",
           calibration_json(metrics::assess_calibration(prior_corrected, label), false)},
          {"cross_fitted", calibration_json(metrics::assess_calibration(cross, label), true)}};
}

nlohmann::json survival_of(const std::vector<double>& time, const std::vector<int>& event,
                           const std::vector<double>& score, const std::vector<double>& age,
                           const std::vector<double>& bmi, const config::ExperimentConfig& c,
                           std::uint64_t seed) {
  const auto comparison =
      survival::compare_models(time, event, {age, bmi}, {"age", "bmi"}, {score, age, bmi},
                               {"score", "age", "bmi"}, 1000, seed);
  const auto& hr = comparison.image.terms.at(0);
  nlohmann::json s = {{"c_baseline", comparison.c_baseline},
                      {"c_image", comparison.c_image},
                      {"c_difference", comparison.c_difference},
                      {"c_difference_lower", comparison.difference_lower},
                      {"c_difference_upper", comparison.difference_upper},
                      {"bootstrap_resamples", comparison.resamples},
                      {"score_hr_per_sd", hr.hr_per_sd},
                      {"score_hr_per_sd_lower", hr.hr_per_sd_lower},
                      {"score_hr_per_sd_upper", hr.hr_per_sd_upper},
                      {"score_p", hr.p},
                      {"hr_adjusted_for", {"age", "bmi"}},
                      {"events", comparison.image.events},
                      {"warnings", comparison.image.warnings}};
  // Both C-indices above are apparent: fitted and scored on the same subjects.
  if (c.cox.bootstrap > 0) {
    const auto image =
        survival::optimism_corrected_c(time, event, {score, age, bmi}, {"score", "age", "bmi"},
                                       c.cox.bootstrap, seed ^ 0x1a2b3c4dULL);
    const auto baseline = survival::optimism_corrected_c(time, event, {age, bmi}, {"age", "bmi"},
                                                         c.cox.bootstrap, seed ^ 0x5e6f7a8bULL);
    s["c_image_corrected"] = image.corrected;
    s["c_image_optimism"] = image.optimism;
    s["c_baseline_corrected"] = baseline.corrected;
    s["c_baseline_optimism"] = baseline.optimism;
    s["optimism_resamples"] = image.resamples;
    s["optimism_failed_resamples"] = image.failed_resamples + baseline.failed_resamples;
  }
  const double horizon = risk_horizon(time, event);
  s["risk_horizon_years"] = horizon;
  s["risk_groups"] = nlohmann::json::array();
  if (horizon > 0)
    for (const auto& g : survival::calibration_by_risk_group(
             time, event, comparison.image.linear_predictor, horizon, 3))
      s["risk_groups"].push_back({{"group", g.group},
                                  {"subjects", g.subjects},
                                  {"events", g.events},
                                  {"predicted", g.predicted},
                                  {"observed", g.observed},
                                  {"observed_lower", g.observed_lower},
                                  {"observed_upper", g.observed_upper}});
  return s;
}

} // namespace

nlohmann::json analyse_pooled(const std::vector<results::PooledSubject>& pooled,
                              const config::ExperimentConfig& c, std::uint64_t seed,
                              const std::string& what) {
  const auto columns = results::columns_of(pooled);
  const auto& score = columns.score;
  const auto& time = columns.time;
  const auto& age = columns.age;
  const auto& bmi = columns.bmi;
  const auto& event = columns.event;
  const auto& fold = columns.fold;
  nlohmann::json out = {{"subjects", pooled.size()}};
  // Pooled discrimination: every subject scored once by a model that never saw it.
  metrics::BootstrapOptions boot;
  boot.seed = seed;
  const auto delong = metrics::delong_auroc(score, event);
  // Both on the same resamples: the intervals each gets alone, with one set of draws.
  const auto intervals = metrics::bootstrap_intervals(
      {metrics::Metric::kAuroc, metrics::Metric::kAveragePrecision}, score, event, boot, fold);
  const auto &auroc = intervals[0], &ap = intervals[1];
  out["pooled"] = {{"auroc", delong.auroc},
                   {"auroc_delong_lower", delong.lower},
                   {"auroc_delong_upper", delong.upper},
                   {"auroc_bootstrap_lower", auroc.lower},
                   {"auroc_bootstrap_upper", auroc.upper},
                   {"average_precision", ap.estimate},
                   {"average_precision_lower", ap.lower},
                   {"average_precision_upper", ap.upper}};
  // Equal scores rank nothing: AUROC 0.5 by ties, AP the prevalence, DeLong's interval void.
  if (std::all_of(score.begin(), score.end(), [&](double v) { return v == score.front(); })) {
    out["pooled"]["constant_scores"] = true; // the report's footnote: DeLong's interval is void
    spdlog::warn("{}: every pooled score is equal: no ranking information (AUROC 0.5 by ties, "
                 "AP the prevalence)",
                 what);
  }
  try {
    out["calibration"] = calibration_of(score, event, fold, c);
  } catch (const InputError& e) {
    out["calibration"] = nullptr;
    out["calibration_note"] = e.what();
    spdlog::warn("{}: no calibration: {}", what, e.what());
  }
  // The study's survival question: does the image score add to age and BMI?
  try {
    out["survival"] = survival_of(time, event, score, age, bmi, c, seed);
  } catch (const InputError& e) {
    // Data that cannot carry a Cox model (no event, a constant covariate) is a finding, not a
    // failed run: the row says why and the discrimination above stands.
    out["survival"] = nullptr;
    out["survival_note"] = e.what();
    spdlog::warn("{}: {}", what, e.what());
  }
  return out;
}

} // namespace vfp::tasks::detail
