// DeLong's variance of the AUROC and test of two correlated AUROCs.
#include "metrics/checks.h"
#include "metrics/metrics.h"
#include "metrics/ranked.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vfp::metrics {
namespace {

/// Midranks (1-based, ascending, ties share their average rank) of `values`.
std::vector<double> midranks(const std::vector<double>& values) {
  const double n = double(values.size());
  const auto ranked = rank_descending(values, std::vector<int>(values.size(), 0));
  std::vector<double> rank(values.size());
  for_each_tie_group(ranked, [&](std::size_t begin, std::size_t end) {
    // Descending positions [begin, end) are ascending ranks n − end + 1 … n − begin.
    const double mid = (2 * n - double(begin) - double(end) + 1) / 2;
    for (std::size_t k = begin; k < end; ++k)
      rank[ranked[k].index] = mid;
  });
  return rank;
}

/// DeLong's structural components of one score: per positive, the share of negatives it
/// outranks (V10); per negative, the share of positives that outrank it (V01); ties ½. By
/// midranks (Sun & Xu 2014): O(n log n) instead of the pairwise O(m·n).
struct Placements {
  std::vector<double> v10, v01;
  double auroc = 0;
};
Placements placements(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<double> pos, neg;
  for (std::size_t i = 0; i < scores.size(); ++i)
    (labels[i] ? pos : neg).push_back(scores[i]);
  const auto all = midranks(scores), within_pos = midranks(pos), within_neg = midranks(neg);
  const double m = double(pos.size()), n = double(neg.size());
  Placements out;
  std::size_t p = 0, q = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i]) {
      out.v10.push_back((all[i] - within_pos[p++]) / n);
      out.auroc += out.v10.back() / m;
    } else {
      out.v01.push_back(1 - (all[i] - within_neg[q++]) / m);
    }
  }
  return out;
}

/// Sample covariance (n − 1).
double covariance(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  const double mean_a = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mean_b = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    s += (a[i] - mean_a) * (b[i] - mean_b);
  return s / (n - 1);
}

/// Covariance of two AUROC estimates on the same subjects.
double auroc_covariance(const Placements& a, const Placements& b) {
  return covariance(a.v10, b.v10) / double(a.v10.size()) +
         covariance(a.v01, b.v01) / double(a.v01.size());
}

void check_confidence(double confidence, const char* what) {
  if (!(confidence > 0 && confidence < 1))
    throw InputError(std::string(what) + ": confidence must be in (0, 1), got " +
                     std::to_string(confidence));
}

void check_two_per_class(const std::vector<int>& labels, std::size_t positives, const char* what) {
  if (positives < 2 || labels.size() - positives < 2)
    throw InputError(std::string(what) + " needs at least 2 positives and 2 negatives, got " +
                     std::to_string(positives) + " and " +
                     std::to_string(labels.size() - positives));
}

} // namespace

DelongAuroc delong_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                         double confidence) {
  check_two_per_class(labels, check_both_classes(scores, labels, "DeLong AUROC"), "DeLong AUROC");
  check_confidence(confidence, "DeLong AUROC");
  const auto p = placements(scores, labels);
  DelongAuroc out;
  out.auroc = p.auroc;
  out.variance = auroc_covariance(p, p);
  const double half = normal_quantile(0.5 + confidence / 2) * std::sqrt(out.variance);
  out.lower = std::max(0.0, out.auroc - half);
  out.upper = std::min(1.0, out.auroc + half);
  return out;
}

DelongComparison delong_test(const std::vector<double>& scores_a,
                             const std::vector<double>& scores_b, const std::vector<int>& labels,
                             double confidence) {
  const auto positives = check_both_classes(scores_a, labels, "DeLong test (first score)");
  check_both_classes(scores_b, labels, "DeLong test (second score)");
  check_two_per_class(labels, positives, "DeLong test");
  check_confidence(confidence, "DeLong test");
  const auto a = placements(scores_a, labels), b = placements(scores_b, labels);
  const double var_a = auroc_covariance(a, a), var_b = auroc_covariance(b, b);
  const double cov = auroc_covariance(a, b);
  DelongComparison out;
  out.auroc_a = a.auroc;
  out.auroc_b = b.auroc;
  out.difference = a.auroc - b.auroc;
  out.std_error = std::sqrt(std::max(0.0, var_a + var_b - 2 * cov));
  out.correlation = var_a > 0 && var_b > 0 ? cov / std::sqrt(var_a * var_b) : 0;
  if (out.std_error > 0) {
    out.z = out.difference / out.std_error;
    out.p = std::erfc(std::abs(out.z) / std::sqrt(2.0));
  } else { // identical rankings: no evidence of a difference
    out.z = 0;
    out.p = 1;
  }
  const double half = normal_quantile(0.5 + confidence / 2) * out.std_error;
  out.lower = out.difference - half;
  out.upper = out.difference + half;
  return out;
}

} // namespace vfp::metrics
