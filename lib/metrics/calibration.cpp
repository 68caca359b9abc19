// Calibration: logistic fits (as R's glm), Brier score, reliability bins, and the logistic
// recalibration that turns a model's score into a probability.
#include "metrics/metrics.h"

#include "core/core.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>
#include <string>

namespace vfp::metrics {
namespace {

constexpr double kLogitClamp = 1e-7;
// R's glm.control() stops at a relative deviance change below 1e-8 (maxit 25); a tighter
// criterion costs a step or two and gives the maximum-likelihood estimate to ~1e-12.
constexpr double kDevianceEpsilon = 1e-10;
constexpr int kMaxIterations = 50;

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

double sigmoid(double eta) {
  if (eta >= 0)
    return 1.0 / (1.0 + std::exp(-eta));
  const double e = std::exp(eta);
  return e / (1.0 + e);
}

/// log(1 + e^v) without overflow.
double log1p_exp(double v) {
  return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}

/// Sizes and 0/1 labels; `values` names what the other vector holds ("probabilities").
void check_labels(std::size_t n, const std::vector<int>& y, const std::string& what,
                  const char* values) {
  if (n != y.size())
    throw InputError(what + ": " + std::to_string(n) + " " + values + " but " +
                     std::to_string(y.size()) + " labels");
  if (y.empty())
    throw InputError(what + ": no subjects");
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] != 0 && y[i] != 1)
      throw InputError(what + ": label " + std::to_string(y[i]) + " at index " + std::to_string(i) +
                       " is not 0 or 1");
}

void check_both_classes(const std::vector<int>& y, const std::string& what) {
  const auto events = std::count(y.begin(), y.end(), 1);
  if (events == 0 || events == std::ptrdiff_t(y.size()))
    throw InputError(what + " is undefined: no " + (events == 0 ? "positive" : "negative") +
                     " labels among " + std::to_string(y.size()) + " samples");
}

/// Probabilities (or scores) in [0, 1] with their labels.
void check_probabilities(const std::vector<double>& p, const std::vector<int>& y,
                         const std::string& what, const char* values = "probabilities") {
  check_labels(p.size(), y, what, values);
  const auto bad = std::find_if(p.begin(), p.end(), [](double v) {
    return !(v >= 0.0 && v <= 1.0); // NaN fails too
  });
  if (bad == p.end())
    return;
  const std::string noun = std::string(values) == "scores" ? "score" : "probability";
  throw InputError(what + ": " + noun + " " + num(*bad) + " at index " +
                   std::to_string(bad - p.begin()) + " is outside [0, 1]");
}

/// Throws when every value is the same (a slope would not be identifiable).
void check_not_constant(const std::vector<double>& v, const std::string& what, const char* values) {
  if (std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); }))
    throw InputError(what + ": every one of the " + std::to_string(v.size()) + " " + values +
                     " is " + num(v.front()) + ": the slope is undefined");
}

/// Wilson's score interval of events/n at 95 % (R: prop.test(correct = FALSE)$conf.int).
std::pair<double, double> wilson_interval(int events, int n) {
  const double z = normal_quantile(0.975);
  const double p = double(events) / n, z2n = z * z / n;
  const double centre = (p + z2n / 2) / (1 + z2n);
  const double half = z / (1 + z2n) * std::sqrt(p * (1 - p) / n + z2n / (4.0 * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

} // namespace

double logit(double p) {
  const double q = std::clamp(p, kLogitClamp, 1.0 - kLogitClamp);
  return std::log(q / (1.0 - q));
}

LogisticFit fit_logistic(const std::vector<double>& x, const std::vector<int>& y,
                         bool fixed_slope) {
  const std::string what = "logistic fit";
  check_labels(x.size(), y, what, "values");
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      throw InputError(what + ": value " + num(x[i]) + " at index " + std::to_string(i) +
                       " is not finite");
  check_both_classes(y, what);
  if (!fixed_slope)
    check_not_constant(x, what, "values");
  const std::size_t n = x.size();
  // IRLS as R's glm.fit: start from mu = (y + 1/2) / 2, then weighted least squares of the
  // working response z = eta − offset + (y − mu)/w with weights w = mu(1 − mu).
  std::vector<double> eta(n), mu(n), w(n), z(n);
  auto deviance = [&](const std::vector<double>& e) {
    double d = 0;
    for (std::size_t i = 0; i < n; ++i)
      d += 2 * log1p_exp(y[i] ? -e[i] : e[i]); // −2 log-likelihood
    return d;
  };
  for (std::size_t i = 0; i < n; ++i)
    eta[i] = std::log((y[i] + 0.5) / (1.5 - y[i])); // logit((y + 1/2) / 2)
  double dev_old = deviance(eta);
  LogisticFit fit;
  double a = 0, b = 1;
  double info_a = 0, xbar = 0, sxx = 0; // of the last weighted solve, for the SEs (as R)
  for (int it = 1; it <= kMaxIterations; ++it) {
    double sw = 0, swx = 0, swz = 0;
    for (std::size_t i = 0; i < n; ++i) {
      mu[i] = sigmoid(eta[i]);
      w[i] = std::max(mu[i] * (1 - mu[i]), DBL_MIN);
      z[i] = eta[i] - (fixed_slope ? x[i] : 0.0) + (y[i] - mu[i]) / w[i];
      sw += w[i];
      swx += w[i] * x[i];
      swz += w[i] * z[i];
    }
    double new_a = 0, new_b = 1;
    if (fixed_slope) {
      new_a = swz / sw;
    } else {
      // Centred at the weighted means, so that a large mean of x costs no precision.
      xbar = swx / sw;
      const double zbar = swz / sw;
      double sxz = 0;
      sxx = 0;
      for (std::size_t i = 0; i < n; ++i) {
        sxx += w[i] * (x[i] - xbar) * (x[i] - xbar);
        sxz += w[i] * (x[i] - xbar) * (z[i] - zbar);
      }
      new_b = sxz / sxx;
      new_a = zbar - new_b * xbar;
    }
    info_a = sw;
    std::vector<double> new_eta(n);
    auto set_eta = [&] {
      for (std::size_t i = 0; i < n; ++i)
        new_eta[i] = new_a + new_b * x[i];
    };
    set_eta();
    double dev = deviance(new_eta);
    // Logistic IRLS is Newton's method on a concave likelihood and rarely overshoots; when it
    // does (far from the optimum), halve the step as glm.fit does for an invalid deviance.
    for (int half = 0; it > 1 && !(dev <= dev_old * (1 + 1e-12)) && half < 30; ++half) {
      new_a = (new_a + a) / 2;
      new_b = (new_b + b) / 2;
      set_eta();
      dev = deviance(new_eta);
    }
    a = new_a;
    b = new_b;
    eta.swap(new_eta);
    fit.iterations = it;
    if (std::abs(dev - dev_old) / (std::abs(dev) + 0.1) < kDevianceEpsilon) {
      fit.converged = true;
      break;
    }
    dev_old = dev;
  }
  fit.intercept = a;
  fit.slope = fixed_slope ? 1.0 : b;
  if (fixed_slope) {
    fit.intercept_se = 1 / std::sqrt(info_a);
  } else {
    fit.intercept_se = std::sqrt(1 / info_a + xbar * xbar / sxx);
    fit.slope_se = std::sqrt(1 / sxx);
  }
  // R's warning "fitted probabilities numerically 0 or 1 occurred": separated classes, the
  // estimates run off to infinity; not a usable fit.
  constexpr double eps = 10 * DBL_EPSILON;
  for (std::size_t i = 0; i < n && fit.converged; ++i) {
    const double m = sigmoid(eta[i]);
    if (m < eps || m > 1 - eps || !std::isfinite(eta[i]))
      fit.converged = false;
  }
  return fit;
}

double brier_score(const std::vector<double>& probability, const std::vector<int>& y) {
  check_probabilities(probability, y, "Brier score");
  double sum = 0;
  for (std::size_t i = 0; i < y.size(); ++i)
    sum += (probability[i] - y[i]) * (probability[i] - y[i]);
  return sum / double(y.size());
}

std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& probability,
                                             const std::vector<int>& y, int bins) {
  check_probabilities(probability, y, "reliability bins");
  if (bins < 1)
    throw InputError("reliability bins: " + std::to_string(bins) + " bins (at least 1)");
  const std::size_t n = y.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return probability[i] < probability[j]; });
  std::vector<ReliabilityBin> out(std::size_t(bins), ReliabilityBin{});
  std::size_t bin = 0;
  for (std::size_t r = 0; r < n; ++r) {
    // A tie stays in the bin of its first member, so that the bins do not depend on the
    // order of the input.
    if (r == 0 || probability[order[r]] != probability[order[r - 1]])
      bin = r * std::size_t(bins) / n;
    auto& b = out[bin];
    ++b.n;
    b.events += y[order[r]];
    b.mean_predicted += probability[order[r]];
  }
  std::vector<ReliabilityBin> kept;
  for (auto& b : out) {
    if (b.n == 0)
      continue;
    b.mean_predicted /= b.n;
    b.observed = double(b.events) / b.n;
    std::tie(b.lower, b.upper) = wilson_interval(b.events, b.n);
    kept.push_back(b);
  }
  return kept;
}

CalibrationSummary assess_calibration(const std::vector<double>& probability,
                                      const std::vector<int>& y, int bins) {
  const std::string what = "calibration";
  check_probabilities(probability, y, what);
  check_both_classes(y, what);
  check_not_constant(probability, what, "probabilities");
  std::vector<double> x(probability.size());
  std::transform(probability.begin(), probability.end(), x.begin(), logit);
  const auto large = fit_logistic(x, y, true);
  const auto slope = fit_logistic(x, y);
  if (!large.converged || !slope.converged)
    throw InputError(what + ": the calibration " + (large.converged ? "slope" : "intercept") +
                     " has no finite estimate (the probabilities separate the outcomes)");
  CalibrationSummary s;
  s.n = int(y.size());
  s.events = int(std::count(y.begin(), y.end(), 1));
  s.brier = brier_score(probability, y);
  s.intercept = large.intercept;
  s.slope = slope.slope;
  s.mean_predicted =
      std::accumulate(probability.begin(), probability.end(), 0.0) / double(probability.size());
  s.observed_rate = double(s.events) / s.n;
  s.bins = reliability_bins(probability, y, bins);
  return s;
}

double Recalibration::probability(double score) const {
  if (!(score >= 0.0 && score <= 1.0))
    throw InputError("recalibration: score " + num(score) + " is outside [0, 1]");
  return sigmoid(intercept + slope * (logit(score) - prior_shift));
}

Recalibration fit_recalibration(const std::vector<double>& score, const std::vector<int>& y,
                                double prior_shift) {
  const std::string what = "recalibration";
  check_probabilities(score, y, what, "scores");
  check_both_classes(y, what);
  if (!std::isfinite(prior_shift))
    throw InputError(what + ": prior shift " + num(prior_shift) + " is not finite");
  check_not_constant(score, what, "scores");
  std::vector<double> x(score.size());
  for (std::size_t i = 0; i < score.size(); ++i)
    x[i] = logit(score[i]) - prior_shift;
  const auto fit = fit_logistic(x, y);
  if (!fit.converged)
    throw InputError(what + ": the logistic fit on " + std::to_string(y.size()) +
                     " scores has no finite estimate (the scores separate the outcomes)");
  return {prior_shift, fit.intercept, fit.slope};
}

std::vector<double> cross_fitted_probabilities(const std::vector<double>& score,
                                               const std::vector<int>& y,
                                               const std::vector<int>& fold, double prior_shift) {
  const std::string what = "cross-fitted recalibration";
  check_probabilities(score, y, what, "scores");
  if (fold.size() != score.size())
    throw InputError(what + ": " + std::to_string(score.size()) + " scores but " +
                     std::to_string(fold.size()) + " fold ids");
  std::map<int, int> sizes;
  for (int f : fold)
    ++sizes[f];
  if (sizes.size() < 2)
    throw InputError(what + " needs at least 2 folds; all " + std::to_string(fold.size()) +
                     " subjects are in fold " + std::to_string(fold.front()));
  std::vector<double> out(score.size());
  for (const auto& [f, size] : sizes) {
    std::vector<double> s;
    std::vector<int> l;
    for (std::size_t i = 0; i < score.size(); ++i)
      if (fold[i] != f) {
        s.push_back(score[i]);
        l.push_back(y[i]);
      }
    Recalibration r;
    try {
      r = fit_recalibration(s, l, prior_shift);
    } catch (const InputError& e) {
      throw InputError(what + ", fold " + std::to_string(f) + " (fitted on the other folds' " +
                       std::to_string(s.size()) + " subjects): " + e.what());
    }
    for (std::size_t i = 0; i < score.size(); ++i)
      if (fold[i] == f)
        out[i] = r.probability(score[i]);
  }
  return out;
}

} // namespace vfp::metrics
