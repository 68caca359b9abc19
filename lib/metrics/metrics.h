// vfp::metrics — discrimination and calibration metrics on scores and 0/1 labels, and fold
// summaries.
// Pure C++; definitions match scikit-learn's and R's so that tables are comparable.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace vfp::metrics {

/// Area under the ROC curve (Mann–Whitney; tied scores count 1/2). O(n log n).
/// Throws vfp::InputError on size mismatch, labels other than 0/1, NaN scores, or a single class.
double auroc(const std::vector<double>& scores, const std::vector<int>& labels);

/// Average precision as scikit-learn's average_precision_score: Σ (R_n − R_{n−1}) P_n over
/// distinct thresholds, no interpolation. The tables' "AUPRC".
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

/// Trapezoidal area under the precision–recall curve (sklearn: auc(recall, precision)).
double auprc_trapezoid(const std::vector<double>& scores, const std::vector<int>& labels);

/// A point of the ROC curve at a score threshold (predict positive when score >= threshold).
struct RocPoint {
  double threshold, fpr, tpr;
};
/// ROC points at every distinct threshold, starting at (0, 0) with threshold +inf.
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels);

/// A point of the precision–recall curve.
struct PrPoint {
  double threshold, recall, precision;
};
/// PR points at every distinct threshold, highest threshold first, ending at recall 0 /
/// precision 1.
std::vector<PrPoint> pr_curve(const std::vector<double>& scores, const std::vector<int>& labels);

/// An estimate with a two-sided confidence interval.
struct Interval {
  double estimate = 0, lower = 0, upper = 0;
};

/// The metrics a bootstrap can resample.
enum class Metric { kAuroc, kAveragePrecision };

/// Percentile bootstrap settings; the same seed gives the same interval on every machine.
struct BootstrapOptions {
  int resamples = 2000;
  unsigned long long seed = 1;
  double confidence = 0.95;
  /// Called after each resample with the number done (a long run's progress); may be empty.
  std::function<void(int)> on_resample;
};

/// Whether every score is equal: they rank nothing, so the AUROC is 0.5 by ties, the average
/// precision the prevalence, and DeLong's interval undefined (its variance is 0). Empty: false.
bool constant_scores(const std::vector<double>& scores);

/// Stratified percentile bootstrap interval of `metric`: positives and negatives are resampled
/// with replacement separately — within each stratum when `strata` is given (e.g. the fold of
/// each out-of-fold prediction, so that a pooled interval keeps every fold's size) — so every
/// resample has both classes. Percentiles interpolate as R's quantile(type = 7), pROC's
/// choice. One sort, then O(n) per resample.
Interval bootstrap_interval(Metric metric, const std::vector<double>& scores,
                            const std::vector<int>& labels, const BootstrapOptions& options = {},
                            const std::vector<int>& strata = {});

/// bootstrap_interval of several metrics on the same resamples, in one pass of draws: each
/// interval is the one bootstrap_interval gives with these options (same seed, same draws), in
/// about the time of one. `on_resample` counts resamples, not metrics × resamples.
std::vector<Interval> bootstrap_intervals(const std::vector<Metric>& metrics,
                                          const std::vector<double>& scores,
                                          const std::vector<int>& labels,
                                          const BootstrapOptions& options = {},
                                          const std::vector<int>& strata = {});

/// AUROC with DeLong's variance (structural components over midranks, Sun & Xu's O(n log n)
/// algorithm) and the Wald interval clipped to [0, 1], as pROC::ci.auc(method = "delong").
struct DelongAuroc {
  double auroc = 0, variance = 0;
  double lower = 0, upper = 0;
};
DelongAuroc delong_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                         double confidence = 0.95);

/// DeLong's test of two correlated AUROCs: two scores of the same subjects with one set of
/// labels (e.g. two models' out-of-fold predictions). As pROC::roc.test(paired, "delong").
struct DelongComparison {
  double auroc_a = 0, auroc_b = 0;
  double difference = 0, std_error = 0; ///< a − b and its standard error
  double z = 0, p = 0;                  ///< two-sided
  double lower = 0, upper = 0;          ///< interval of the difference
  double correlation = 0;               ///< of the two AUROC estimates
};
DelongComparison delong_test(const std::vector<double>& scores_a,
                             const std::vector<double>& scores_b, const std::vector<int>& labels,
                             double confidence = 0.95);

/// Nadeau & Bengio's corrected resampled t-test: two configurations scored on the same J
/// train/test splits (folds × repeats), `differences` their per-split metric differences.
/// The splits' training sets overlap, so the plain paired t-test's variance s²/J is too small;
/// the correction uses (1/J + n_test/n_train)·s², on J − 1 degrees of freedom.
/// `test_train_ratio` 0 gives the ordinary paired t-test (R's t.test).
struct CorrectedTTest {
  double mean_difference = 0, std_error = 0;
  double t = 0, p = 0; ///< two-sided
  int df = 0;
  double lower = 0, upper = 0; ///< interval of the mean difference
};
CorrectedTTest corrected_resampled_t_test(const std::vector<double>& differences,
                                          double test_train_ratio, double confidence = 0.95);

/// Lower tail of Student's t distribution with `df` degrees of freedom (df may be fractional).
double student_t_cdf(double t, double df);
/// Quantile of Student's t; p in (0, 1).
double student_t_quantile(double p, double df);
/// Quantile of the standard normal; p in (0, 1).
double normal_quantile(double p);

/// Mean and sample standard deviation (n − 1; 0 when n == 1).
struct MeanStd {
  double mean = 0;
  double std = 0;
  int n = 0;
};
/// Summarises fold values; throws vfp::InputError when empty.
MeanStd mean_std(const std::vector<double>& values);

/// "80.5 ± 5.7": mean and SD scaled (100 for %), fixed decimals.
std::string format_mean_std(const MeanStd& v, double scale = 100.0, int decimals = 1);

/// log(p / (1 − p)) with p clamped to [1e-7, 1 − 1e-7].
double logit(double p);

/// Logistic regression y ~ a + b·x by maximum likelihood (IRLS, as R's glm(y ~ x, binomial));
/// with fixed_slope set, the slope is fixed at 1 and only a is fitted (glm(y ~ 1, offset = x)).
/// Standard errors from the inverse information at the estimate (0 for a fixed slope).
/// `converged`: the deviance settled (R's criterion, ε = 1e-10, at most 50 iterations) and no
/// fitted probability is numerically 0 or 1 (where R warns: separated classes, no finite
/// estimate). Throws vfp::InputError when y has one class or sizes differ (also on a label
/// other than 0/1, a non-finite x, or, for the slope, a constant x).
struct LogisticFit {
  double intercept = 0, slope = 1, intercept_se = 0, slope_se = 0;
  int iterations = 0;
  bool converged = false;
};
LogisticFit fit_logistic(const std::vector<double>& x, const std::vector<int>& y,
                         bool fixed_slope = false);

/// Mean squared difference between probability and outcome.
/// Throws vfp::InputError on a size mismatch, no subjects, a label other than 0/1 or a
/// probability outside [0, 1].
double brier_score(const std::vector<double>& probability, const std::vector<int>& y);

/// One bin of a reliability diagram: subjects grouped by quantiles of the predicted
/// probability.
struct ReliabilityBin {
  int n = 0, events = 0;
  double mean_predicted = 0, observed = 0;
  double lower = 0, upper = 0; ///< Wilson 95 % interval of observed
};
/// Subjects sorted by probability, the i-th of n (from 0) in bin ⌊i·bins/n⌋ (equal counts, as
/// quantile groups), except that tied probabilities share the bin of the first of them; empty
/// bins are left out. The interval is Wilson's score interval (R: prop.test(events, n,
/// correct = FALSE)). Throws as brier_score, and when bins < 1.
std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& probability,
                                             const std::vector<int>& y, int bins = 10);

/// How well probabilities agree with outcomes: Brier score, calibration intercept
/// (calibration-in-the-large: glm(y ~ 1, offset = logit p)), calibration slope
/// (glm(y ~ logit p)), mean predicted vs observed rate, and the reliability bins (deciles).
/// Throws as brier_score, when y has one class, and when a fit has no finite estimate.
struct CalibrationSummary {
  int n = 0, events = 0;
  double brier = 0, intercept = 0, slope = 1, mean_predicted = 0, observed_rate = 0;
  std::vector<ReliabilityBin> bins;
};
CalibrationSummary assess_calibration(const std::vector<double>& probability,
                                      const std::vector<int>& y, int bins = 10);

/// Maps a model score to a probability: p = sigmoid(intercept + slope·(logit(score) −
/// prior_shift)). prior_shift = log(negatives/positives) undoes the prior that a class-weighted
/// loss or balanced sampling moved to ½.
struct Recalibration {
  double prior_shift = 0, intercept = 0, slope = 1;
  /// The calibrated probability of a score in [0, 1]; throws vfp::InputError otherwise.
  double probability(double score) const;
};

/// Logistic recalibration fitted on (out-of-fold) scores and outcomes: glm(y ~ x) with
/// x = logit(score) − prior_shift. Throws vfp::InputError as fit_logistic, on a score outside
/// [0, 1], and when the fit has no finite estimate (scores that separate the outcomes).
Recalibration fit_recalibration(const std::vector<double>& score, const std::vector<int>& y,
                                double prior_shift);

/// Honest calibrated probabilities: for each fold, the recalibration fitted on the other folds'
/// scores, applied to this fold's (fold: one id per subject, ≥ 2 distinct). Throws
/// vfp::InputError on a size mismatch, fewer than 2 folds, or a fold whose complement cannot
/// be fitted (named).
std::vector<double> cross_fitted_probabilities(const std::vector<double>& score,
                                               const std::vector<int>& y,
                                               const std::vector<int>& fold, double prior_shift);

/// Holm's step-down adjustment of p-values for multiple comparisons (as R's p.adjust(p,
/// "holm")): sorted ascending, p(k) · (m − k + 1), made monotone, capped at 1. Entries < 0
/// (not tested) stay < 0 and do not count in m.
std::vector<double> holm_adjust(const std::vector<double>& p);

} // namespace vfp::metrics
