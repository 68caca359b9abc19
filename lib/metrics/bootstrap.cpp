// Stratified percentile bootstrap of AUROC and average precision.
#include "metrics/checks.h"
#include "metrics/metrics.h"
#include "metrics/ranked.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>

namespace vfp::metrics {
namespace {

/// The metric on a resample given as a multiplicity per rank position (`count[m]` for the
/// subject at position m of the descending order, `label[m]` its label), walking the positions
/// once (`group_end[k]`: one past the end of the tie group starting at k). `pos` and `neg`:
/// the resample's positives and negatives (the class cells' sizes, fixed by the stratification).
/// Position order keeps the walk sequential in memory: on 10⁶ rows a subject-indexed count was a
/// cache miss per row.
template <typename Count>
double weighted_metric(Metric metric, const std::vector<std::uint8_t>& label,
                       const std::vector<std::uint32_t>& group_end, const Count* count, double pos,
                       double neg) {
  double tp = 0, fp = 0, area = 0;
  const std::size_t n = label.size();
  for (std::size_t k = 0; k < n;) {
    const double prev_tp = tp, prev_fp = fp;
    const std::size_t end = group_end[k];
    for (std::size_t m = k; m < end; ++m)
      (label[m] ? tp : fp) += double(count[m]);
    if (metric == Metric::kAuroc)
      area += (fp - prev_fp) * (tp + prev_tp) / 2; // Mann–Whitney, ties ½
    else if (tp > prev_tp)
      area += (tp - prev_tp) / pos * tp / (tp + fp); // ΔR · P at each threshold
    k = end;
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
  return bootstrap_intervals({metric}, scores, labels, options, strata).at(0);
}

std::vector<Interval> bootstrap_intervals(const std::vector<Metric>& metrics,
                                          const std::vector<double>& scores,
                                          const std::vector<int>& labels,
                                          const BootstrapOptions& options,
                                          const std::vector<int>& strata) {
  std::string names;
  for (std::size_t k = 0; k < metrics.size(); ++k)
    names += std::string(k == 0 ? "" : " and ") +
             (metrics[k] == Metric::kAuroc ? "AUROC" : "average precision");
  const std::string what = names + " bootstrap";
  const char* name = what.c_str();
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
  std::vector<std::uint32_t> group_end(n), position(n);
  std::vector<std::uint8_t> label(n);
  for_each_tie_group(ranked, [&](std::size_t begin, std::size_t end) {
    for (std::size_t m = begin; m < end; ++m) {
      group_end[m] = std::uint32_t(end);
      position[ranked[m].index] = std::uint32_t(m);
      label[m] = std::uint8_t(ranked[m].label);
    }
  });

  // Resampling cells: (stratum, class), each redrawn at its own size. Members in row order (the
  // draws, and so the intervals, are those of every earlier vfp), held as rank positions.
  std::map<std::pair<int, int>, std::vector<std::uint32_t>> cells;
  double pos = 0, neg = 0;
  for (std::size_t i = 0; i < n; ++i) {
    cells[{strata.empty() ? 0 : strata[i], labels[i]}].push_back(position[i]);
    (labels[i] ? pos : neg) += 1;
  }

  std::mt19937_64 rng(mix_seed(options.seed));
  std::vector<std::uint32_t> count(n);
  std::vector<std::vector<double>> estimates(metrics.size());
  for (auto& e : estimates)
    e.reserve(std::size_t(options.resamples));
  for (int r = 0; r < options.resamples; ++r) {
    std::fill(count.begin(), count.end(), 0u);
    for (const auto& [key, members] : cells)
      for (std::size_t j = 0; j < members.size(); ++j)
        ++count[members[draw_index(rng, members.size())]];
    // Every metric on the same resample: the draws are most of the time.
    for (std::size_t k = 0; k < metrics.size(); ++k)
      estimates[k].push_back(weighted_metric(metrics[k], label, group_end, count.data(), pos, neg));
    if (options.on_resample)
      options.on_resample(r + 1);
  }
  const std::vector<std::uint32_t> ones(n, 1u);
  const double alpha = 1 - options.confidence;
  std::vector<Interval> out;
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    std::sort(estimates[k].begin(), estimates[k].end());
    out.push_back({weighted_metric(metrics[k], label, group_end, ones.data(), pos, neg),
                   quantile7(estimates[k], alpha / 2), quantile7(estimates[k], 1 - alpha / 2)});
  }
  return out;
}

bool constant_scores(const std::vector<double>& scores) {
  return !scores.empty() && std::all_of(scores.begin(), scores.end(), [&](double v) {
    return v == scores.front(); // −0 and +0 tie, as in the ranking
  });
}

} // namespace vfp::metrics
