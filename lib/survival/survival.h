// vfp::survival — the study's survival analysis: Cox proportional hazards (Newton–Raphson
// with step halving, Efron or Breslow ties) and Harrell's concordance with R survival's
// rules. Pure C++ with Eigen; tests/survival checks both against R's coxph and concordance.
// Times are finite and 0 or more everywhere (0 is valid, as in R); a negative or non-finite
// time is a vfp::InputError naming its row.
#pragma once

#include <functional>
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
/// `time`; times of 0 are valid (as in R). Throws vfp::InputError naming the problem: sizes, a
/// negative or non-finite time (naming the row), events other than 0/1, no event, a constant
/// covariate (naming it), exactly collinear covariates (naming each set and its relation, e.g.
/// "covariates 'bmi' and 'bmi2' are exactly collinear (bmi2 = 2·bmi)").
CoxFit fit_cox(const std::vector<double>& time, const std::vector<int>& event,
               const std::vector<std::vector<double>>& covariates,
               const std::vector<std::string>& names, const CoxOptions& options = {});

/// A hazard ratio (or a bound of its interval) for a table: `digits` decimals when finite and
/// within [1e-6, 1e6]; "> 1e6" above (also +inf), "< 1e-6" below, "NaN" for NaN.
std::string format_hazard_ratio(double hr, int digits = 2);

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
  int failed_resamples = 0; ///< resamples without an event, with a constant or collinear covariate
};
ModelComparison compare_models(const std::vector<double>& time, const std::vector<int>& event,
                               const std::vector<std::vector<double>>& baseline,
                               const std::vector<std::string>& baseline_names,
                               const std::vector<std::vector<double>>& image,
                               const std::vector<std::string>& image_names, int resamples = 1000,
                               unsigned long long seed = 1, const CoxOptions& options = {},
                               const std::function<void(int)>& on_resample = {});
///< `on_resample`, when given, is called with the resamples done so far (a long run's progress).

/// Harrell's bootstrap validation of a Cox model's concordance: refit on each resample (rows
/// drawn with replacement); optimism = its C on the resample − its C on the original data;
/// corrected = apparent − mean optimism. Resamples whose fit fails (no event, a constant or
/// collinear covariate) are skipped and counted.
struct ValidatedConcordance {
  double apparent = 0;  ///< C of the model fitted and scored on all rows
  double optimism = 0;  ///< mean over the resamples used (NaN when none could be used)
  double corrected = 0; ///< apparent − optimism
  int resamples = 0;    ///< used
  int failed_resamples = 0;
};
ValidatedConcordance optimism_corrected_c(const std::vector<double>& time,
                                          const std::vector<int>& event,
                                          const std::vector<std::vector<double>>& covariates,
                                          const std::vector<std::string>& names,
                                          int resamples = 200, unsigned long long seed = 1,
                                          const CoxOptions& options = {});
/// The same with given resamples (row indices, 0-based, with replacement), e.g. R's.
ValidatedConcordance optimism_corrected_c(const std::vector<double>& time,
                                          const std::vector<int>& event,
                                          const std::vector<std::vector<double>>& covariates,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::vector<int>>& resamples,
                                          const CoxOptions& options = {});

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

/// Breslow's cumulative baseline hazard of a fitted model, at each distinct event time (for
/// covariates at the values the linear predictor is centred on): H0(t) = Σ_{event times s ≤ t}
/// d(s) / Σ_{at risk at s} exp(lp). Agrees with R's basehaz(fit, centered = TRUE) of a
/// ties = "breslow" fit.
struct BaselineHazard {
  std::vector<double> time, cumulative_hazard;
  /// H0 at t: its value at the last event time at or before t (0 before the first).
  [[nodiscard]] double at(double t) const;
};
BaselineHazard breslow_baseline(const std::vector<double>& time, const std::vector<int>& event,
                                const std::vector<double>& linear_predictor);

/// Per risk group (quantiles of the linear predictor, as risk_groups): mean Cox-predicted risk
/// 1 − exp(−H0(t)·exp(lp)) at `horizon`, and the Kaplan–Meier observed risk 1 − S(horizon) with
/// its 95 % interval. H0 is breslow_baseline of all subjects. Groups left empty by tied
/// linear predictors are omitted; `group` numbers the rest as risk_groups does (0 lowest).
struct RiskGroupCalibration {
  int group = 0, subjects = 0;
  int events = 0; ///< events at or before the horizon
  double predicted = 0, observed = 0, observed_lower = 0, observed_upper = 0;
};
std::vector<RiskGroupCalibration>
calibration_by_risk_group(const std::vector<double>& time, const std::vector<int>& event,
                          const std::vector<double>& linear_predictor, double horizon,
                          int groups = 3);

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
