// vfp::metrics — discrimination metrics on scores and 0/1 labels, and fold summaries.
// Pure C++; definitions match scikit-learn's so that tables are comparable.
#pragma once

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

} // namespace vfp::metrics
