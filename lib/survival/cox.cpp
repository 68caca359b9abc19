#include "survival/survival.h"

#include "core/core.h"
#include "survival/checks.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace vfp::survival {
namespace {

/// Log partial likelihood with its gradient and information matrix (negative Hessian).
struct Derivatives {
  double loglik = 0;
  Eigen::VectorXd gradient;
  Eigen::MatrixXd information;
};

/// One pass over the subjects from the longest time down, so that each risk set is the
/// previous one plus the subjects at the next (shorter) time: O(n·p²).
Derivatives evaluate(const Eigen::MatrixXd& x, const std::vector<double>& time,
                     const std::vector<int>& event, const std::vector<int>& by_time,
                     const Eigen::VectorXd& beta, Ties ties) {
  const auto p = x.cols();
  const Eigen::VectorXd eta = x * beta;
  Derivatives out;
  out.gradient = Eigen::VectorXd::Zero(p);
  out.information = Eigen::MatrixXd::Zero(p, p);
  double s0 = 0;
  Eigen::VectorXd s1 = Eigen::VectorXd::Zero(p);
  Eigen::MatrixXd s2 = Eigen::MatrixXd::Zero(p, p);
  for (auto k = static_cast<std::ptrdiff_t>(by_time.size()) - 1; k >= 0;) {
    const double t = time[std::size_t(by_time[std::size_t(k)])];
    double d0 = 0;
    Eigen::VectorXd d1 = Eigen::VectorXd::Zero(p);
    Eigen::MatrixXd d2 = Eigen::MatrixXd::Zero(p, p);
    int deaths = 0;
    for (; k >= 0 && time[std::size_t(by_time[std::size_t(k)])] == t; --k) {
      const auto i = by_time[std::size_t(k)];
      const double r = std::exp(eta(i));
      const Eigen::VectorXd xi = x.row(i).transpose();
      s0 += r;
      s1 += r * xi;
      s2 += r * xi * xi.transpose();
      if (event[std::size_t(i)]) {
        ++deaths;
        d0 += r;
        d1 += r * xi;
        d2 += r * xi * xi.transpose();
        out.loglik += eta(i);
        out.gradient += xi;
      }
    }
    // Efron: the l-th of d tied deaths sees the risk set less l/d of the dying weight.
    for (int l = 0; l < deaths; ++l) {
      const double f = ties == Ties::kEfron ? double(l) / deaths : 0.0;
      const double a0 = s0 - f * d0;
      const Eigen::VectorXd a1 = s1 - f * d1;
      const Eigen::MatrixXd a2 = s2 - f * d2;
      const Eigen::VectorXd mean = a1 / a0;
      out.loglik -= std::log(a0);
      out.gradient -= mean;
      out.information += a2 / a0 - mean * mean.transpose();
    }
  }
  return out;
}

double sample_sd(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double ss = 0;
  for (double x : v)
    ss += (x - mean) * (x - mean);
  return v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0.0;
}

void validate(const std::vector<double>& time, const std::vector<int>& event,
              const std::vector<std::vector<double>>& covariates,
              const std::vector<std::string>& names) {
  if (covariates.size() != names.size() || covariates.empty())
    throw InputError("Cox model: " + std::to_string(covariates.size()) + " covariate columns for " +
                     std::to_string(names.size()) + " names (at least one is needed)");
  if (event.size() != time.size())
    throw InputError("Cox model: " + std::to_string(time.size()) + " times but " +
                     std::to_string(event.size()) + " event indicators");
  detail::check_times(time, "Cox model");
  int events = 0;
  for (std::size_t i = 0; i < time.size(); ++i) {
    if (event[i] != 0 && event[i] != 1)
      throw InputError("Cox model: event of row " + std::to_string(i + 1) + " is " +
                       std::to_string(event[i]) + ", not 0 or 1");
    events += event[i];
  }
  if (events == 0)
    throw InputError("Cox model: every subject is censored (no event): nothing to fit");
  for (std::size_t c = 0; c < covariates.size(); ++c) {
    if (covariates[c].size() != time.size())
      throw InputError("Cox model: covariate " + names[c] + " has " +
                       std::to_string(covariates[c].size()) + " values for " +
                       std::to_string(time.size()) + " subjects");
    for (std::size_t i = 0; i < time.size(); ++i)
      if (!std::isfinite(covariates[c][i]))
        throw InputError("Cox model: covariate " + names[c] + " is not finite in row " +
                         std::to_string(i + 1));
    if (sample_sd(covariates[c]) == 0)
      throw InputError("Cox model: covariate " + names[c] +
                       " is constant: its hazard ratio is not identifiable");
  }
}

} // namespace

CoxFit fit_cox(const std::vector<double>& time, const std::vector<int>& event,
               const std::vector<std::vector<double>>& covariates,
               const std::vector<std::string>& names, const CoxOptions& options) {
  validate(time, event, covariates, names);
  const auto n = static_cast<Eigen::Index>(time.size());
  const auto p = static_cast<Eigen::Index>(covariates.size());
  // Centred covariates, as R: the same coefficients, an exp() that does not overflow.
  Eigen::MatrixXd x(n, p);
  std::vector<double> means;
  for (Eigen::Index c = 0; c < p; ++c) {
    const auto& v = covariates[std::size_t(c)];
    means.push_back(std::accumulate(v.begin(), v.end(), 0.0) / double(n));
    for (Eigen::Index i = 0; i < n; ++i)
      x(i, c) = v[std::size_t(i)] - means.back();
  }
  // Before Newton–Raphson: a singular information matrix would only show as NaN errors.
  detail::check_not_collinear(x, means, names);
  std::vector<int> by_time(static_cast<std::size_t>(n));
  std::iota(by_time.begin(), by_time.end(), 0);
  std::stable_sort(by_time.begin(), by_time.end(),
                   [&](int a, int b) { return time[std::size_t(a)] < time[std::size_t(b)]; });

  CoxFit fit;
  fit.n = int(n);
  fit.events = std::accumulate(event.begin(), event.end(), 0);
  fit.df = int(p);
  Eigen::VectorXd beta = Eigen::VectorXd::Zero(p);
  auto current = evaluate(x, time, event, by_time, beta, options.ties);
  fit.loglik_null = current.loglik;
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    const Eigen::LDLT<Eigen::MatrixXd> solver(current.information);
    if (solver.info() != Eigen::Success || !solver.isPositive()) {
      fit.warnings.push_back("the information matrix is singular at iteration " +
                             std::to_string(iteration) + " (collinear covariates?)");
      break;
    }
    Eigen::VectorXd next_beta = beta + solver.solve(current.gradient);
    auto next = evaluate(x, time, event, by_time, next_beta, options.ties);
    // Step halving while the likelihood gets worse (or overflows).
    for (int halving = 0; halving < 40 && !(next.loglik >= current.loglik); ++halving) {
      next_beta = (beta + next_beta) / 2;
      next = evaluate(x, time, event, by_time, next_beta, options.ties);
    }
    const bool done = std::abs(1 - current.loglik / next.loglik) <= options.tolerance;
    beta = next_beta;
    current = std::move(next);
    fit.iterations = iteration;
    if (done) {
      fit.converged = true;
      break;
    }
  }
  if (!fit.converged)
    fit.warnings.push_back("did not converge in " + std::to_string(fit.iterations) +
                           " iterations; the estimates are the last ones reached");
  fit.loglik = current.loglik;
  fit.lr_chi2 = 2 * (fit.loglik - fit.loglik_null);
  fit.lr_p = chi2_upper_tail(fit.lr_chi2, fit.df);
  const Eigen::MatrixXd variance =
      current.information.ldlt().solve(Eigen::MatrixXd::Identity(p, p));
  const Eigen::VectorXd lp = x * beta;
  fit.linear_predictor.assign(lp.data(), lp.data() + n);
  constexpr double kZ975 = 1.959963984540054; // the normal's 97.5 % quantile
  for (Eigen::Index c = 0; c < p; ++c) {
    CoxTerm t;
    t.name = names[std::size_t(c)];
    t.coef = beta(c);
    t.se = std::sqrt(variance(c, c));
    t.hr = std::exp(t.coef);
    t.hr_lower = std::exp(t.coef - kZ975 * t.se);
    t.hr_upper = std::exp(t.coef + kZ975 * t.se);
    t.z = t.coef / t.se;
    t.p = std::erfc(std::abs(t.z) / std::sqrt(2.0));
    t.sd = sample_sd(covariates[std::size_t(c)]);
    t.hr_per_sd = std::exp(t.coef * t.sd);
    t.hr_per_sd_lower = std::exp((t.coef - kZ975 * t.se) * t.sd);
    t.hr_per_sd_upper = std::exp((t.coef + kZ975 * t.se) * t.sd);
    // A coefficient that runs away while the likelihood converges: (quasi-)separation.
    if (std::abs(t.coef * t.sd) > 10 || !std::isfinite(t.se))
      fit.warnings.push_back("the coefficient of " + t.name +
                             " may be infinite (the events separate on it): hazard ratio " +
                             format_hazard_ratio(t.hr_per_sd) + " per SD");
    fit.terms.push_back(t);
  }
  return fit;
}

std::string format_hazard_ratio(double hr, int digits) {
  if (std::isnan(hr))
    return "NaN";
  if (hr > 1e6)
    return "> 1e6";
  if (hr < 1e-6)
    return "< 1e-6";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(digits, 0, 17), hr);
  return buf;
}

double chi2_upper_tail(double x, int df) {
  if (df <= 0)
    throw InputError("chi-square tail: df must be positive");
  if (!(x > 0))
    return 1.0;
  // Regularised upper incomplete gamma Q(a, z) with a = df/2, z = x/2: the power series of
  // P for z < a + 1, the continued fraction of Q (modified Lentz) beyond.
  const double a = df / 2.0, z = x / 2.0;
  const double log_prefix = -z + a * std::log(z) - std::lgamma(a);
  if (z < a + 1) {
    double term = 1 / a, sum = term;
    for (int k = 1; k < 1000 && std::abs(term) > std::abs(sum) * 1e-16; ++k) {
      term *= z / (a + k);
      sum += term;
    }
    return std::max(0.0, 1 - sum * std::exp(log_prefix));
  }
  constexpr double kTiny = 1e-300;
  double b = z + 1 - a, c = 1 / kTiny, d = 1 / b, h = d;
  for (int k = 1; k < 1000; ++k) {
    const double an = -k * (k - a);
    b += 2;
    d = an * d + b;
    d = std::abs(d) < kTiny ? kTiny : d;
    c = b + an / c;
    c = std::abs(c) < kTiny ? kTiny : c;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < 1e-16)
      break;
  }
  return std::exp(log_prefix) * h;
}

} // namespace vfp::survival
