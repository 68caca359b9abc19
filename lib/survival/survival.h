// vfp::survival — the study's survival analysis: Cox proportional hazards (Newton–Raphson
// with step halving, Efron or Breslow ties) and Harrell's concordance with R survival's
// rules. Pure C++ with Eigen; tests/survival checks both against R's coxph and concordance.
#pragma once

#include <limits>
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
/// exactly one is an event (the censored one outlived it); tied risks count ½. O(n log n).
struct Concordance {
  double c = 0;
  double concordant = 0, discordant = 0, tied_risk = 0; ///< over comparable pairs
  double comparable = 0;
};
Concordance harrell_c(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<double>& risk);

/// Uno's C: Harrell's pairs weighted by 1/G(t−)² of the earlier event's time t, G the
/// Kaplan–Meier estimate of the censoring distribution (censorings at a death time count after
/// the deaths), so that the estimate does not depend on the censoring pattern; only events at
/// or before `truncation` (τ) count. Agrees with R's concordance(timewt = "n/G2", ymax = τ).
/// The counts are the weighted sums.
Concordance uno_c(const std::vector<double>& time, const std::vector<int>& event,
                  const std::vector<double>& risk,
                  double truncation = std::numeric_limits<double>::infinity());

/// The study's analysis on out-of-fold predictions: a baseline Cox model (e.g. age + BMI)
/// against the image model (the CNN score + the baseline covariates). Harrell's C of each
/// model's linear predictor, the difference with a percentile bootstrap interval (subjects
/// resampled with replacement, both models refitted on each resample), and the image
/// model's fit (its first term's hazard ratio per SD is the study's "standardized HR").
struct ModelComparison {
  CoxFit baseline, image;
  double c_baseline = 0, c_image = 0, c_difference = 0; ///< image − baseline
  double difference_lower = 0, difference_upper = 0;    ///< 95 % percentile interval
  int resamples = 0;                                    ///< bootstrap resamples used
  int failed_resamples = 0; ///< resamples without an event or with a constant covariate
};
ModelComparison compare_models(const std::vector<double>& time, const std::vector<int>& event,
                               const std::vector<std::vector<double>>& baseline,
                               const std::vector<std::string>& baseline_names,
                               const std::vector<std::vector<double>>& image,
                               const std::vector<std::string>& image_names, int resamples = 1000,
                               unsigned long long seed = 1, const CoxOptions& options = {});

/// Kaplan–Meier estimate at every distinct time, with Greenwood's variance and R's default
/// log-scale confidence interval: S·exp(±z·√Σ d/(n(n−d))), capped at 1 (as survfit).
struct KaplanMeier {
  std::vector<double> time;
  std::vector<int> at_risk, events, censored;
  std::vector<double> survival;
  std::vector<double> std_err; ///< of S (Greenwood), as summary.survfit prints it
  std::vector<double> lower, upper;
};
KaplanMeier kaplan_meier(const std::vector<double>& time, const std::vector<int>& event,
                         double confidence = 0.95);

/// The step function at t: the last estimate at or before t (S = 1, SE 0 before the first).
struct SurvivalAt {
  double survival = 1, std_err = 0, lower = 1, upper = 1;
};
SurvivalAt survival_at(const KaplanMeier& km, double t);

/// Risk groups by quantiles of a score (e.g. 3 for tertiles): 0 for the lowest scores.
/// Ties in the score stay in one group.
std::vector<int> risk_groups(const std::vector<double>& score, int groups);

/// The log-rank test of equal survival in k groups (R's survdiff, rho = 0): observed and
/// expected events per group (expected under a common hazard, summed over the distinct event
/// times), chi-square (O − E)ᵀ V⁻¹ (O − E) over the first k − 1 groups with the
/// hypergeometric variance, k − 1 df (k: groups with subjects). `group` holds 0 … k − 1.
struct LogRank {
  std::vector<int> subjects;
  std::vector<double> observed, expected;
  double chi2 = 0, p = 1;
  int df = 0;
};
LogRank log_rank_test(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<int>& group);

/// Upper tail of the chi-square distribution with `df` degrees of freedom at x.
double chi2_upper_tail(double x, int df);

} // namespace vfp::survival
