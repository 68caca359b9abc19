// The models a bundle ships besides the networks: the Cox model with its Breslow baseline and
// the recalibration of the ensemble's score, fitted on the pooled out-of-fold predictions.
#include "inference/bundle_models.h"

#include "core/core.h"
#include "metrics/metrics.h"
#include "survival/survival.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

namespace vfp::inference::detail {
namespace {

std::string one_decimal(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << v;
  return s.str();
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

/// Cox model score + age + BMI on the pooled out-of-fold scores with its Breslow baseline
/// cumulative hazard (covariates centred at their means, as the linear predictor is).
nlohmann::json fit_cox_model(const std::vector<results::PooledSubject>& pooled) {
  const auto columns = results::columns_of(pooled);
  const auto& time = columns.time;
  const auto& event = columns.event;
  const std::vector<std::string> names{"score", "age", "bmi"};
  const std::vector<std::vector<double>> x{columns.score, columns.age, columns.bmi};
  const auto fit = survival::fit_cox(time, event, x, names);
  nlohmann::json terms = nlohmann::json::array();
  std::vector<double> coef, mean, sd;
  for (std::size_t k = 0; k < names.size(); ++k) {
    coef.push_back(fit.terms[k].coef);
    const auto summary = metrics::mean_std(x[k]);
    mean.push_back(summary.mean);
    sd.push_back(summary.std);
    terms.push_back({{"name", names[k]},
                     {"coef", fit.terms[k].coef},
                     {"se", fit.terms[k].se},
                     {"hr_per_sd", fit.terms[k].hr_per_sd},
                     {"hr_per_sd_lower", fit.terms[k].hr_per_sd_lower},
                     {"hr_per_sd_upper", fit.terms[k].hr_per_sd_upper},
                     {"p", fit.terms[k].p}});
  }
  const std::size_t n = time.size();
  std::vector<double> lp(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < names.size(); ++k)
      lp[i] += coef[k] * (x[k][i] - mean[k]);
  // Breslow: at each distinct event time, events / Σ exp(lp) over those still at risk.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return time[a] < time[b]; });
  std::vector<double> times, hazard;
  double risk = 0;
  for (double v : lp)
    risk += std::exp(v);
  double h = 0;
  for (std::size_t r = 0; r < n;) {
    std::size_t end = r;
    int deaths = 0;
    double leaving = 0;
    while (end < n && time[order[end]] == time[order[r]]) {
      deaths += event[order[end]];
      leaving += std::exp(lp[order[end]]);
      ++end;
    }
    if (deaths > 0) {
      h += deaths / risk;
      times.push_back(time[order[r]]);
      hazard.push_back(h);
    }
    risk -= leaving;
    r = end;
  }
  std::vector<double> sorted = lp;
  std::sort(sorted.begin(), sorted.end());
  const std::vector<double> cuts{sorted[n / 3], sorted[2 * n / 3]};
  return {{"covariates", names},
          {"coef", coef},
          {"mean", mean},
          {"sd", sd},
          {"terms", terms},
          {"subjects", n},
          {"events", fit.events},
          {"ties", "efron"},
          {"baseline", {{"method", "breslow"}, {"time", times}, {"cumulative_hazard", hazard}}},
          {"max_follow_up", *std::max_element(time.begin(), time.end())},
          {"risk_groups",
           {{"names", {"low", "intermediate", "high"}},
            {"linear_predictor_cuts", cuts},
            {"rule", "tertiles of the training subjects' linear predictor"}}},
          {"warnings", fit.warnings}};
}

/// The keys of a configuration's train section that shifts_prior() reads (config::to_json
/// leaves a key at its default out).
config::TrainConfig train_from_json(const nlohmann::json& j) {
  config::TrainConfig t;
  t.sampling = j.value("sampling", t.sampling);
  t.balanced_loss = j.value("balanced_loss", t.balanced_loss);
  t.loss = j.value("loss", t.loss);
  return t;
}

/// The recalibration of the pooled out-of-fold scores (a subject's mean over CV repeats), with
/// its horizon: the training label is an incident fracture at any time of a subject's
/// follow-up, so the probability refers to the cohort's follow-up, not to a fixed time.
/// Also sets validation["calibration"]: the cross-fitted calibration (each fold of CV repeat 0
/// calibrated by the recalibration fitted on the other folds), or why there is none. Throws
/// vfp::InputError when the scores cannot carry a recalibration (one class, separation).
nlohmann::json fit_recalibration(const std::vector<results::PooledSubject>& pooled,
                                 const config::TrainConfig& train, nlohmann::json& validation) {
  const auto columns = results::columns_of(pooled);
  const auto& score = columns.score;
  const auto& time = columns.time;
  const auto& event = columns.event;
  const auto& fold = columns.fold;
  const auto events = std::count(event.begin(), event.end(), 1);
  const auto n = std::ptrdiff_t(event.size());
  // Training moved the prior to ½ by weighting or drawing the classes by negatives/positives
  // of its training patches; the pooled subjects' ratio is that ratio when each subject gives
  // the same vertebrae. The fitted intercept absorbs what is left.
  const bool shifted = train.shifts_prior() && events > 0 && events < n;
  const double prior_shift = shifted ? std::log(double(n - events) / double(events)) : 0.0;
  std::string shift_reason = "none: training kept the data's prior";
  if (train.sampling == "balanced")
    shift_reason = "train.sampling: balanced (each class half the draws)";
  else if (train.shifts_prior())
    shift_reason = "train.balanced_loss with bce and shuffle sampling (pos_weight = "
                   "negatives/positives)";
  const auto recalibration = metrics::fit_recalibration(score, event, prior_shift);
  std::vector<double> x(score.size());
  for (std::size_t i = 0; i < score.size(); ++i)
    x[i] = metrics::logit(score[i]) - prior_shift;
  const auto fit = metrics::fit_logistic(x, event); // the same fit, for its standard errors
  const double median = median_of(time), longest = *std::max_element(time.begin(), time.end());
  try {
    const auto s = metrics::assess_calibration(
        metrics::cross_fitted_probabilities(score, event, fold, prior_shift), event);
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& b : s.bins)
      bins.push_back({{"n", b.n},
                      {"events", b.events},
                      {"mean_predicted", b.mean_predicted},
                      {"observed", b.observed},
                      {"observed_lower", b.lower},
                      {"observed_upper", b.upper}});
    validation["calibration"] = {
        {"method", "cross-fitted: the subjects of each outer fold (CV repeat 0) calibrated by "
                   "the recalibration fitted on the other folds' out-of-fold scores"},
        {"subjects", s.n},
        {"events", s.events},
        {"brier", s.brier},
        {"intercept", s.intercept},
        {"slope", s.slope},
        {"mean_predicted", s.mean_predicted},
        {"observed_rate", s.observed_rate},
        {"bins", bins},
        {"bins_rule", "deciles of the predicted probability; observed rate with its Wilson 95 % "
                      "interval"}};
  } catch (const InputError& e) {
    validation["calibration"] = nullptr;
    validation["calibration_problem"] = e.what();
  }
  return {{"method", "logistic recalibration of the pooled out-of-fold scores: probability = "
                     "sigmoid(intercept + slope·(logit(score) − prior_shift))"},
          {"prior_shift", prior_shift},
          {"prior_shift_reason", shift_reason},
          {"intercept", recalibration.intercept},
          {"slope", recalibration.slope},
          {"intercept_se", fit.intercept_se},
          {"slope_se", fit.slope_se},
          {"subjects", n},
          {"events", events},
          {"event_rate", double(events) / double(n)},
          {"horizon",
           {{"median_follow_up_years", median},
            {"max_follow_up_years", longest},
            {"rule", "the training label: an incident vertebral fracture at any time of each "
                     "subject's follow-up (time_years)"}}},
          {"probability_of", "an incident vertebral fracture within the training cohort's "
                             "follow-up (median " +
                                 one_decimal(median) + " y, longest " + one_decimal(longest) +
                                 " y)"}};
}

} // namespace vfp::inference::detail
