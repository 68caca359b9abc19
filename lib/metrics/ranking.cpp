#include "metrics/metrics.h"

#include "core/core.h"
#include "metrics/checks.h"
#include "metrics/ranked.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace vfp::metrics {
namespace {

/// Calls step(threshold, tp, fp) with the cumulative true and false positives at the end of
/// each tie group, from the highest score down.
template <typename Step>
void for_each_step(const std::vector<double>& scores, const std::vector<int>& labels, Step step) {
  const auto ranked = rank_descending(scores, labels);
  double tp = 0, fp = 0;
  for_each_tie_group(ranked, [&](std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k)
      (ranked[k].label ? tp : fp) += 1;
    step(ranked[begin].score(), tp, fp);
  });
}

} // namespace

double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check_both_classes(scores, labels, "AUROC"));
  const double neg = static_cast<double>(labels.size()) - pos;
  // Area by trapezoids over tie groups = Mann–Whitney U with ties counting 1/2.
  double area = 0, prev_tp = 0, prev_fp = 0;
  for_each_step(scores, labels, [&](double, double tp, double fp) {
    area += (fp - prev_fp) * (tp + prev_tp) / 2.0;
    prev_tp = tp;
    prev_fp = fp;
  });
  return area / (pos * neg);
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check(scores, labels, "average precision"));
  double ap = 0, prev_recall = 0;
  for_each_step(scores, labels, [&](double, double tp, double fp) {
    const double recall = tp / pos;
    ap += (recall - prev_recall) * (tp / (tp + fp));
    prev_recall = recall;
  });
  return ap;
}

std::vector<PrPoint> pr_curve(const std::vector<double>& scores, const std::vector<int>& labels) {
  const auto pos = static_cast<double>(check(scores, labels, "PR curve"));
  std::vector<PrPoint> out;
  bool full_recall = false;
  for_each_step(scores, labels, [&](double threshold, double tp, double fp) {
    if (!full_recall) // as sklearn: stop once full recall is reached
      out.push_back({threshold, tp / pos, tp / (tp + fp)});
    full_recall = tp == pos;
  });
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
  const auto pos = static_cast<double>(check_both_classes(scores, labels, "ROC curve"));
  const double neg = static_cast<double>(labels.size()) - pos;
  std::vector<RocPoint> out{{std::numeric_limits<double>::infinity(), 0.0, 0.0}};
  for_each_step(scores, labels, [&](double threshold, double tp, double fp) {
    out.push_back({threshold, fp / neg, tp / pos});
  });
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
