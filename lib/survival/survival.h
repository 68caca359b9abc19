// vfp::survival — the study's survival analysis: Cox proportional hazards (Newton–Raphson
// with step halving, Efron or Breslow ties) and Harrell's concordance with R survival's
// rules. Pure C++ with Eigen; tests/survival checks both against R's coxph and concordance.
#pragma once

#include <string>
#include <vector>

namespace vfp::survival {

/// How tied event times enter the partial likelihood: Efron (R's default) or Breslow.
enum class Ties { kEfron, kBreslow };

struct CoxOptions {
  Ties ties = Ties::kEfron;
  int max_iterations = 30; ///< Newton–Raphson steps
  double tolerance = 1e-9; ///< on the relative change of the log partial likelihood (as R)
};

/// One covariate's row of the table.
struct CoxTerm {
  std::string name;
  double coef = 0, se = 0;                   ///< log hazard ratio per unit, its standard error
  double hr = 0, hr_lower = 0, hr_upper = 0; ///< exp(coef), 95 % Wald interval
  double z = 0, p = 0;                       ///< Wald z and two-sided p
  double sd = 0;                             ///< sample SD (n − 1) of the covariate
  /// Per standard deviation: exp(coef·sd), interval exp((coef ± 1.96·se)·sd).
  double hr_per_sd = 0, hr_per_sd_lower = 0, hr_per_sd_upper = 0;
};

struct CoxFit {
  std::vector<CoxTerm> terms;
  int n = 0, events = 0;
  double loglik_null = 0; ///< log partial likelihood at β = 0
  double loglik = 0;      ///< at the estimate
  double lr_chi2 = 0;     ///< likelihood-ratio test against the null model
  int df = 0;
  double lr_p = 0;
  int iterations = 0;
  bool converged = false;
  std::vector<std::string> warnings;    ///< non-convergence, likely infinite coefficients
  std::vector<double> linear_predictor; ///< x·β per subject (covariates centred, as R)
};

/// Fits h(t | x) = h0(t)·exp(x·β). `covariates` holds one column per name, each as long as
/// `time`. Throws vfp::InputError naming the problem: sizes, a non-positive or non-finite
/// time, events other than 0/1, no event, a constant covariate (naming it).
CoxFit fit_cox(const std::vector<double>& time, const std::vector<int>& event,
               const std::vector<std::vector<double>>& covariates,
               const std::vector<std::string>& names, const CoxOptions& options = {});

/// Harrell's C for a risk score (higher = shorter survival), with R survival::concordance's
/// rules: a pair is comparable when the shorter time is an event; at tied times only when
/// exactly one is an event (the censored one outlived it); tied risks count ½.
struct Concordance {
  double c = 0;
  double concordant = 0, discordant = 0, tied_risk = 0; ///< over comparable pairs
  double comparable = 0;
};
Concordance harrell_c(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<double>& risk);

/// Upper tail of the chi-square distribution with `df` degrees of freedom at x.
double chi2_upper_tail(double x, int df);

} // namespace vfp::survival
