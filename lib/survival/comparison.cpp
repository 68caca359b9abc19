#include "survival/survival.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace vfp::survival {
namespace {

std::vector<std::vector<double>> pick(const std::vector<std::vector<double>>& columns,
                                      const std::vector<std::size_t>& rows) {
  std::vector<std::vector<double>> out(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c)
    for (auto r : rows)
      out[c].push_back(columns[c][r]);
  return out;
}

double c_of(const CoxFit& fit, const std::vector<double>& time, const std::vector<int>& event) {
  return harrell_c(time, event, fit.linear_predictor).c;
}

/// The q-quantile of sorted values, linear between order statistics (R's type 7).
double quantile(const std::vector<double>& sorted, double q) {
  const double h = (double(sorted.size()) - 1) * q;
  const auto lo = std::size_t(std::floor(h));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - double(lo)) * (sorted[hi] - sorted[lo]);
}

} // namespace

ModelComparison compare_models(const std::vector<double>& time, const std::vector<int>& event,
                               const std::vector<std::vector<double>>& baseline,
                               const std::vector<std::string>& baseline_names,
                               const std::vector<std::vector<double>>& image,
                               const std::vector<std::string>& image_names, int resamples,
                               unsigned long long seed, const CoxOptions& options,
                               const std::function<void(int)>& on_resample) {
  if (resamples < 0)
    throw InputError("model comparison: resamples must be 0 or more");
  ModelComparison out;
  out.baseline = fit_cox(time, event, baseline, baseline_names, options);
  out.image = fit_cox(time, event, image, image_names, options);
  out.c_baseline = c_of(out.baseline, time, event);
  out.c_image = c_of(out.image, time, event);
  out.c_difference = out.c_image - out.c_baseline;
  std::mt19937_64 rng(mix_seed(seed));
  std::uniform_int_distribution<std::size_t> draw(0, time.size() - 1);
  std::vector<double> differences;
  std::vector<std::size_t> rows(time.size());
  for (int b = 0; b < resamples; ++b) {
    for (auto& r : rows)
      r = draw(rng);
    std::vector<double> t;
    std::vector<int> e;
    for (auto r : rows) {
      t.push_back(time[r]);
      e.push_back(event[r]);
    }
    try {
      const auto base = fit_cox(t, e, pick(baseline, rows), baseline_names, options);
      const auto img = fit_cox(t, e, pick(image, rows), image_names, options);
      differences.push_back(c_of(img, t, e) - c_of(base, t, e));
    } catch (const InputError&) {
      ++out.failed_resamples; // e.g. no event drawn: this resample says nothing
    }
    if (on_resample)
      on_resample(b + 1);
  }
  out.resamples = int(differences.size());
  if (!differences.empty()) {
    std::sort(differences.begin(), differences.end());
    out.difference_lower = quantile(differences, 0.025);
    out.difference_upper = quantile(differences, 0.975);
  }
  return out;
}

} // namespace vfp::survival
