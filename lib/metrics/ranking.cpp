#include "metrics/metrics.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace vfp::metrics {
namespace {

/// Validates inputs; returns the number of positives.
std::size_t check(const std::vector<double>& scores, const std::vector<int>& labels,
                  const char* metric) {
  if (scores.size() != labels.size())
    throw InputError(std::string(metric) + ": " + std::to_string(scores.size()) + " scores but " +
                     std::to_string(labels.size()) + " labels");
  std::size_t pos = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw InputError(std::string(metric) + ": label " + std::to_string(labels[i]) + " at index " +
                       std::to_string(i) + " is not 0 or 1");
    if (std::isnan(scores[i]))
      throw InputError(std::string(metric) + ": score at index " + std::to_string(i) + " is NaN");
    pos += static_cast<std::size_t>(labels[i]);
  }
  if (pos == 0)
    throw InputError(std::string(metric) + " is undefined: no positive labels among " +
                     std::to_string(labels.size()) + " samples");
  return pos;
}

/// Indices by decreasing score.
std::vector<std::size_t> by_score_desc(const std::vector<double>& scores) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  return order;
}

/// Cumulative (threshold, true positives, false positives) at the end of each tie group.
struct Step {
  double threshold;
  double tp, fp;
};
std::vector<Step> steps(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto order = by_score_desc(scores);
  std::vector<Step> out;
  double tp = 0, fp = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    (labels[order[k]] ? tp : fp) += 1;
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[order[k]])
      out.push_back({scores[order[k]], tp, fp});
  }
  return out;
}

} // namespace

double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check(scores, labels, "AUROC"));
  const double neg = static_cast<double>(labels.size()) - pos;
  if (neg == 0)
    throw InputError("AUROC is undefined: no negative labels among " +
                     std::to_string(labels.size()) + " samples");
  // Area by trapezoids over tie groups = Mann–Whitney U with ties counting 1/2.
  double area = 0, prev_tp = 0, prev_fp = 0;
  for (const auto& s : steps(scores, labels)) {
    area += (s.fp - prev_fp) * (s.tp + prev_tp) / 2.0;
    prev_tp = s.tp;
    prev_fp = s.fp;
  }
  return area / (pos * neg);
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check(scores, labels, "average precision"));
  double ap = 0, prev_recall = 0;
  for (const auto& s : steps(scores, labels)) {
    const double recall = s.tp / pos;
    ap += (recall - prev_recall) * (s.tp / (s.tp + s.fp));
    prev_recall = recall;
  }
  return ap;
}

std::vector<PrPoint> pr_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check(scores, labels, "PR curve"));
  std::vector<PrPoint> out;
  for (const auto& s : steps(scores, labels)) {
    out.push_back({s.threshold, s.tp / pos, s.tp / (s.tp + s.fp)});
    if (s.tp == pos)
      break; // as sklearn: stop once full recall is reached
  }
  std::reverse(out.begin(), out.end());
  out.push_back({std::numeric_limits<double>::infinity(), 0.0, 1.0});
  std::reverse(out.begin(), out.end());
  return out;
}

double auprc_trapezoid(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto curve = pr_curve(scores, labels);
  double area = 0;
  for (std::size_t k = 1; k < curve.size(); ++k)
    area +=
        (curve[k].recall - curve[k - 1].recall) * (curve[k].precision + curve[k - 1].precision) / 2;
  return area;
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check(scores, labels, "ROC curve"));
  const double neg = static_cast<double>(labels.size()) - pos;
  if (neg == 0)
    throw InputError("ROC curve is undefined: no negative labels among " +
                     std::to_string(labels.size()) + " samples");
  std::vector<RocPoint> out{{std::numeric_limits<double>::infinity(), 0.0, 0.0}};
  for (const auto& s : steps(scores, labels))
    out.push_back({s.threshold, s.fp / neg, s.tp / pos});
  return out;
}

MeanStd mean_std(const std::vector<double>& values) {
  if (values.empty())
    throw InputError("mean ± std of no values");
  MeanStd r;
  r.n = static_cast<int>(values.size());
  for (double v : values)
    r.mean += v;
  r.mean /= r.n;
  if (r.n > 1) {
    double ss = 0;
    for (double v : values)
      ss += (v - r.mean) * (v - r.mean);
    r.std = std::sqrt(ss / (r.n - 1));
  }
  return r;
}

std::string format_mean_std(const MeanStd& v, double scale, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f ± %.*f", decimals, v.mean * scale, decimals, v.std * scale);
  return buf;
}

} // namespace vfp::metrics
