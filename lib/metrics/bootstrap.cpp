// Stratified percentile bootstrap of AUROC and average precision.
#include "metrics/checks.h"
#include "metrics/metrics.h"
#include "metrics/ranked.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace vfp::metrics {
namespace {

/// The metric on a resample given as a multiplicity per subject, walking the subjects by
/// decreasing score once (`group_end[k]`: one past the end of the tie group starting at k).
double weighted_metric(Metric metric, const RankedScores& ranked,
                       const std::vector<std::size_t>& group_end, const std::vector<int>& labels,
                       const std::vector<double>& count) {
  double pos = 0, neg = 0;
  for (std::size_t i = 0; i < labels.size(); ++i)
    (labels[i] ? pos : neg) += count[i];
  double tp = 0, fp = 0, area = 0;
  for (std::size_t k = 0; k < ranked.size(); k = group_end[k]) {
    const double prev_tp = tp, prev_fp = fp;
    for (std::size_t m = k; m < group_end[k]; ++m)
      (ranked[m].label ? tp : fp) += count[ranked[m].index];
    if (metric == Metric::kAuroc)
      area += (fp - prev_fp) * (tp + prev_tp) / 2; // Mann–Whitney, ties ½
    else if (tp > prev_tp)
      area += (tp - prev_tp) / pos * tp / (tp + fp); // ΔR · P at each threshold
  }
  return metric == Metric::kAuroc ? area / (pos * neg) : area;
}

/// R's quantile(type = 7): linear interpolation between order statistics.
double quantile7(const std::vector<double>& sorted, double p) {
  const double h = (double(sorted.size()) - 1) * p;
  const auto lo = std::size_t(std::floor(h));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - double(lo)) * (sorted[hi] - sorted[lo]);
}

/// Uniform index in [0, n) from a 53-bit fraction: the same on every platform, unlike
/// std::uniform_int_distribution.
std::size_t draw_index(std::mt19937_64& rng, std::size_t n) {
  return std::size_t(std::ldexp(double(rng() >> 11), -53) * double(n));
}

} // namespace

Interval bootstrap_interval(Metric metric, const std::vector<double>& scores,
                            const std::vector<int>& labels, const BootstrapOptions& options,
                            const std::vector<int>& strata) {
  const char* name = metric == Metric::kAuroc ? "AUROC bootstrap" : "average precision bootstrap";
  check_both_classes(scores, labels, name);
  if (!strata.empty() && strata.size() != labels.size())
    throw InputError(std::string(name) + ": " + std::to_string(strata.size()) + " strata but " +
                     std::to_string(labels.size()) + " labels");
  if (options.resamples < 2)
    throw InputError(std::string(name) + ": resamples must be at least 2, got " +
                     std::to_string(options.resamples));
  if (!(options.confidence > 0 && options.confidence < 1))
    throw InputError(std::string(name) + ": confidence must be in (0, 1), got " +
                     std::to_string(options.confidence));

  const std::size_t n = scores.size();
  const auto ranked = rank_descending(scores, labels);
  std::vector<std::size_t> group_end(n);
  for_each_tie_group(ranked, [&](std::size_t begin, std::size_t end) { group_end[begin] = end; });

  // Resampling cells: (stratum, class), each redrawn at its own size.
  std::map<std::pair<int, int>, std::vector<std::size_t>> cells;
  for (std::size_t i = 0; i < n; ++i)
    cells[{strata.empty() ? 0 : strata[i], labels[i]}].push_back(i);

  std::mt19937_64 rng(mix_seed(options.seed));
  std::vector<double> count(n), estimates;
  estimates.reserve(std::size_t(options.resamples));
  for (int r = 0; r < options.resamples; ++r) {
    std::fill(count.begin(), count.end(), 0.0);
    for (const auto& [key, members] : cells)
      for (std::size_t j = 0; j < members.size(); ++j)
        count[members[draw_index(rng, members.size())]] += 1;
    estimates.push_back(weighted_metric(metric, ranked, group_end, labels, count));
  }
  std::sort(estimates.begin(), estimates.end());
  const std::vector<double> ones(n, 1.0);
  const double alpha = 1 - options.confidence;
  return {weighted_metric(metric, ranked, group_end, labels, ones), quantile7(estimates, alpha / 2),
          quantile7(estimates, 1 - alpha / 2)};
}

} // namespace vfp::metrics
