// Breslow's baseline hazard and the Cox model's predicted against observed risk per risk group.
#include "survival/survival.h"

#include "core/core.h"
#include "survival/checks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vfp::survival {
namespace {

void check_inputs(const std::vector<double>& time, const std::vector<int>& event,
                  const std::vector<double>& linear_predictor, const std::string& what) {
  if (time.size() != event.size() || time.size() != linear_predictor.size() || time.empty())
    throw InputError(what + ": " + std::to_string(time.size()) + " times, " +
                     std::to_string(event.size()) + " event indicators and " +
                     std::to_string(linear_predictor.size()) + " linear predictors");
  detail::check_times(time, what);
  for (std::size_t i = 0; i < time.size(); ++i) {
    if (event[i] != 0 && event[i] != 1)
      throw InputError(what + ": event of row " + std::to_string(i + 1) + " is " +
                       std::to_string(event[i]) + ", not 0 or 1");
    if (!std::isfinite(linear_predictor[i]))
      throw InputError(what + ": the linear predictor of row " + std::to_string(i + 1) +
                       " is not finite");
  }
}

} // namespace

double BaselineHazard::at(double t) const {
  const auto it = std::upper_bound(time.begin(), time.end(), t);
  return it == time.begin() ? 0.0 : cumulative_hazard[std::size_t(it - time.begin()) - 1];
}

BaselineHazard breslow_baseline(const std::vector<double>& time, const std::vector<int>& event,
                                const std::vector<double>& linear_predictor) {
  check_inputs(time, event, linear_predictor, "Breslow baseline hazard");
  std::vector<std::size_t> order(time.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return time[a] < time[b]; });
  // Everyone whose time is at or after t is at risk at t: from the longest time down, each
  // risk set is the previous one plus the subjects at the next time (sums, no cancellation).
  std::vector<double> event_time, increment;
  double at_risk = 0;
  for (std::size_t k = order.size(); k > 0;) {
    const double t = time[order[k - 1]];
    double deaths = 0;
    for (; k > 0 && time[order[k - 1]] == t; --k) {
      deaths += event[order[k - 1]];
      at_risk += std::exp(linear_predictor[order[k - 1]]);
    }
    if (deaths > 0) {
      event_time.push_back(t);
      increment.push_back(deaths / at_risk);
    }
  }
  BaselineHazard out;
  double cumulative = 0;
  for (std::size_t k = event_time.size(); k > 0; --k) {
    cumulative += increment[k - 1];
    out.time.push_back(event_time[k - 1]);
    out.cumulative_hazard.push_back(cumulative);
  }
  return out;
}

std::vector<RiskGroupCalibration>
calibration_by_risk_group(const std::vector<double>& time, const std::vector<int>& event,
                          const std::vector<double>& linear_predictor, double horizon, int groups) {
  check_inputs(time, event, linear_predictor, "calibration by risk group");
  if (!std::isfinite(horizon) || horizon < 0)
    throw InputError("calibration by risk group: the horizon must be finite and 0 or more");
  const double baseline = breslow_baseline(time, event, linear_predictor).at(horizon);
  const auto group = risk_groups(linear_predictor, groups);
  std::vector<RiskGroupCalibration> out;
  for (int g = 0; g < groups; ++g) {
    RiskGroupCalibration row;
    row.group = g;
    std::vector<double> t;
    std::vector<int> e;
    for (std::size_t i = 0; i < time.size(); ++i) {
      if (group[i] != g)
        continue;
      ++row.subjects;
      row.events += event[i] && time[i] <= horizon;
      row.predicted += 1 - std::exp(-baseline * std::exp(linear_predictor[i]));
      t.push_back(time[i]);
      e.push_back(event[i]);
    }
    if (row.subjects == 0)
      continue; // tied linear predictors left this group empty
    row.predicted /= row.subjects;
    const auto survival = survival_at(kaplan_meier(t, e), horizon);
    row.observed = 1 - survival.survival;
    row.observed_lower = 1 - survival.upper;
    row.observed_upper = 1 - survival.lower;
    out.push_back(row);
  }
  return out;
}

} // namespace vfp::survival
