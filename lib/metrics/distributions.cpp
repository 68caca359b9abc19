// Student's t and the normal distribution: what the tests' p-values and intervals need.
#include "metrics/metrics.h"

#include "core/core.h"

#include <cmath>
#include <functional>
#include <string>

namespace vfp::metrics {
namespace {

/// Continued fraction of the regularised incomplete beta I_x(a, b) (modified Lentz), which
/// converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double x, double a, double b) {
  constexpr double kTiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::abs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m < 10000; ++m) {
    // Even step: m(b − m)x / ((a + 2m − 1)(a + 2m)); odd step: −(a + m)(a + b + m)x / (…).
    for (const double numerator : {m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))}) {
      d = 1 + numerator * d;
      d = 1 / (std::abs(d) < kTiny ? kTiny : d);
      c = 1 + numerator / c;
      c = std::abs(c) < kTiny ? kTiny : c;
      h *= d * c;
    }
    if (std::abs(d * c - 1) < 1e-16)
      break;
  }
  return h;
}

/// Regularised incomplete beta function I_x(a, b).
double incomplete_beta(double x, double a, double b) {
  if (x <= 0)
    return 0;
  if (x >= 1)
    return 1;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1) / (a + b + 2))
    return std::exp(log_front) * beta_continued_fraction(x, a, b) / a;
  return 1 - std::exp(log_front) * beta_continued_fraction(1 - x, b, a) / b;
}

/// x with cdf(x) = p, by bisection on a bracket grown from [−1, 1]: slow but exact to the
/// last bits, and these are called a handful of times per report.
double invert(const std::function<double(double)>& cdf, double p, const char* what) {
  if (!(p > 0 && p < 1))
    throw InputError(std::string(what) + " quantile: probability " + std::to_string(p) +
                     " is not in (0, 1)");
  double lo = -1, hi = 1;
  while (cdf(lo) > p)
    lo *= 2;
  while (cdf(hi) < p)
    hi *= 2;
  for (int i = 0; i < 200 && lo < hi; ++i) {
    const double mid = lo + (hi - lo) / 2;
    if (mid == lo || mid == hi)
      break;
    (cdf(mid) < p ? lo : hi) = mid;
  }
  return lo + (hi - lo) / 2;
}

} // namespace

double student_t_cdf(double t, double df) {
  if (!(df > 0))
    throw InputError("Student's t: degrees of freedom must be positive, got " + std::to_string(df));
  if (std::isinf(t))
    return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2, 0.5); // P(T < −|t|)
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double df) {
  return invert([df](double t) { return student_t_cdf(t, df); }, p, "Student's t");
}

double normal_quantile(double p) {
  return invert([](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }, p, "normal");
}

} // namespace vfp::metrics
