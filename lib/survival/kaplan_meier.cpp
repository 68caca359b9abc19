#include "survival/survival.h"

#include "core/core.h"
#include "survival/checks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vfp::survival {
namespace {

/// The standard normal quantile of p (Acklam's rational approximation refined by one Newton
/// step on erfc: |error| < 1e-15 for the confidence levels used here).
double normal_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

} // namespace

KaplanMeier kaplan_meier(const std::vector<double>& time, const std::vector<int>& event,
                         double confidence) {
  if (time.size() != event.size() || time.empty())
    throw InputError("Kaplan-Meier: " + std::to_string(time.size()) + " times and " +
                     std::to_string(event.size()) + " event indicators");
  if (!(confidence > 0 && confidence < 1))
    throw InputError("Kaplan-Meier: confidence must be in (0, 1)");
  detail::check_times(time, "Kaplan-Meier");
  std::vector<std::size_t> order(time.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return time[a] < time[b]; });
  const double z = normal_quantile(0.5 + confidence / 2);
  KaplanMeier km;
  double s = 1, greenwood = 0;
  int at_risk = int(time.size());
  for (std::size_t k = 0; k < order.size();) {
    const double t = time[order[k]];
    int d = 0, c = 0;
    for (; k < order.size() && time[order[k]] == t; ++k)
      (event[order[k]] ? d : c) += 1;
    if (d > 0) {
      s *= 1 - double(d) / at_risk;
      greenwood += d < at_risk ? double(d) / (double(at_risk) * (at_risk - d)) : 0.0;
    }
    km.time.push_back(t);
    km.at_risk.push_back(at_risk);
    km.events.push_back(d);
    km.censored.push_back(c);
    km.survival.push_back(s);
    const double se_log = std::sqrt(greenwood);
    km.std_err.push_back(s * se_log); // 0 once S reaches 0
    km.lower.push_back(s * std::exp(-z * se_log));
    km.upper.push_back(std::min(1.0, s * std::exp(z * se_log)));
    at_risk -= d + c;
  }
  return km;
}

SurvivalAt survival_at(const KaplanMeier& km, double t) {
  const auto it = std::upper_bound(km.time.begin(), km.time.end(), t);
  if (it == km.time.begin())
    return {};
  const auto i = std::size_t(it - km.time.begin()) - 1;
  return {km.survival[i], km.std_err[i], km.lower[i], km.upper[i]};
}

std::vector<int> risk_groups(const std::vector<double>& score, int groups) {
  if (groups < 1 || std::size_t(groups) > score.size())
    throw InputError("risk groups: " + std::to_string(groups) + " groups for " +
                     std::to_string(score.size()) + " scores");
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] < score[b]; });
  std::vector<int> group(score.size());
  for (std::size_t r = 0; r < order.size();) {
    std::size_t end = r; // a run of tied scores takes the group of its first member
    while (end < order.size() && score[order[end]] == score[order[r]])
      ++end;
    const int g = int(r * std::size_t(groups) / order.size());
    for (; r < end; ++r)
      group[order[r]] = g;
  }
  return group;
}

} // namespace vfp::survival
