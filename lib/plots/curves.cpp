// Fold curves on a common grid: ROC by FPR, precision–recall by recall, and their band.
#include "plots/plots.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>

namespace vfp::plots {

std::vector<double> unit_grid(int points) {
  if (points < 2)
    throw InputError("a curve grid needs at least 2 points, not " + std::to_string(points));
  std::vector<double> grid(static_cast<std::size_t>(points));
  for (int i = 0; i < points; ++i)
    grid[std::size_t(i)] = double(i) / (points - 1);
  return grid;
}

std::vector<double> roc_on_grid(const std::vector<metrics::RocPoint>& curve,
                                const std::vector<double>& grid) {
  VFP_CHECK(!curve.empty(), "an ROC curve has at least its start point");
  std::vector<double> out;
  out.reserve(grid.size());
  for (const double x : grid) {
    if (x <= 0) {
      out.push_back(0.0);
      continue;
    }
    // The first point at or right of x; the one before it is the top of its vertical run.
    const auto it =
        std::lower_bound(curve.begin(), curve.end(), x,
                         [](const metrics::RocPoint& p, double v) { return p.fpr < v; });
    if (it == curve.end()) {
      out.push_back(curve.back().tpr);
    } else if (it->fpr == x) {
      auto top = it; // several points at this FPR: the highest TPR
      while (std::next(top) != curve.end() && std::next(top)->fpr == x)
        ++top;
      out.push_back(top->tpr);
    } else {
      const auto& a = *std::prev(it);
      const auto& b = *it;
      out.push_back(a.tpr + (b.tpr - a.tpr) * (x - a.fpr) / (b.fpr - a.fpr));
    }
  }
  return out;
}

std::vector<double> pr_on_grid(const std::vector<metrics::PrPoint>& curve,
                               const std::vector<double>& grid) {
  VFP_CHECK(curve.size() >= 2, "a PR curve has its start point and at least one threshold");
  std::vector<double> out;
  out.reserve(grid.size());
  for (const double r : grid) {
    // Points after the start (recall 0, precision 1) in order of rising recall.
    auto it = std::lower_bound(std::next(curve.begin()), curve.end(), r,
                               [](const metrics::PrPoint& p, double v) { return p.recall < v; });
    if (it == curve.end())
      it = std::prev(curve.end());
    out.push_back(it->precision);
  }
  return out;
}

FoldBand fold_band(const std::vector<std::vector<double>>& curves,
                   const std::vector<double>& grid) {
  if (curves.empty())
    throw InputError("a fold band needs at least one curve");
  FoldBand band;
  band.grid = grid;
  band.folds = curves;
  for (const auto& c : curves)
    if (c.size() != grid.size())
      throw InputError("a fold curve has " + std::to_string(c.size()) + " points on a grid of " +
                       std::to_string(grid.size()));
  const double n = double(curves.size());
  for (std::size_t i = 0; i < grid.size(); ++i) {
    double sum = 0, lo = curves[0][i], hi = curves[0][i];
    for (const auto& c : curves) {
      sum += c[i];
      lo = std::min(lo, c[i]);
      hi = std::max(hi, c[i]);
    }
    const double mean = sum / n;
    double ss = 0;
    for (const auto& c : curves)
      ss += (c[i] - mean) * (c[i] - mean);
    band.mean.push_back(mean);
    band.sd.push_back(curves.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0);
    band.min.push_back(lo);
    band.max.push_back(hi);
  }
  return band;
}

} // namespace vfp::plots
