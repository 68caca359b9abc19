// Harrell's bootstrap validation of a Cox model's concordance (rms::validate's optimism).
#include "survival/survival.h"

#include "core/core.h"

#include <cmath>
#include <limits>
#include <random>

namespace vfp::survival {
namespace {

/// x·β on the given covariates, uncentred: C depends only on the order of the predictor.
std::vector<double> predict(const CoxFit& fit, const std::vector<std::vector<double>>& covariates) {
  std::vector<double> lp(covariates.front().size(), 0.0);
  for (std::size_t c = 0; c < covariates.size(); ++c)
    for (std::size_t i = 0; i < lp.size(); ++i)
      lp[i] += fit.terms[c].coef * covariates[c][i];
  return lp;
}

/// Validation over `count` resamples, `draw(b, rows)` filling resample b's row indices.
template <typename Draw>
ValidatedConcordance validate(const std::vector<double>& time, const std::vector<int>& event,
                              const std::vector<std::vector<double>>& covariates,
                              const std::vector<std::string>& names, std::size_t count,
                              const CoxOptions& options, Draw draw) {
  ValidatedConcordance out;
  const auto fit = fit_cox(time, event, covariates, names, options);
  out.apparent = harrell_c(time, event, fit.linear_predictor).c;
  double optimism = 0;
  std::vector<std::size_t> rows;
  for (std::size_t b = 0; b < count; ++b) {
    draw(b, rows);
    std::vector<double> t;
    std::vector<int> e;
    std::vector<std::vector<double>> x(covariates.size());
    for (auto r : rows) {
      t.push_back(time[r]);
      e.push_back(event[r]);
      for (std::size_t c = 0; c < covariates.size(); ++c)
        x[c].push_back(covariates[c][r]);
    }
    try {
      const auto refit = fit_cox(t, e, x, names, options);
      const double on_resample = harrell_c(t, e, refit.linear_predictor).c;
      const double on_original = harrell_c(time, event, predict(refit, covariates)).c;
      optimism += on_resample - on_original;
      ++out.resamples;
    } catch (const InputError&) {
      ++out.failed_resamples; // no event, a constant or collinear covariate, no comparable pair
    }
  }
  out.optimism =
      out.resamples > 0 ? optimism / out.resamples : std::numeric_limits<double>::quiet_NaN();
  out.corrected = out.apparent - out.optimism;
  return out;
}

} // namespace

ValidatedConcordance optimism_corrected_c(const std::vector<double>& time,
                                          const std::vector<int>& event,
                                          const std::vector<std::vector<double>>& covariates,
                                          const std::vector<std::string>& names, int resamples,
                                          unsigned long long seed, const CoxOptions& options) {
  if (resamples < 0)
    throw InputError("optimism-corrected C: resamples must be 0 or more, not " +
                     std::to_string(resamples));
  std::mt19937_64 rng(mix_seed(seed));
  const std::size_t n = time.size();
  std::uniform_int_distribution<std::size_t> row(0, n > 0 ? n - 1 : 0);
  return validate(time, event, covariates, names, std::size_t(resamples), options,
                  [&](std::size_t, std::vector<std::size_t>& rows) {
                    rows.resize(n);
                    for (auto& r : rows)
                      r = row(rng);
                  });
}

ValidatedConcordance optimism_corrected_c(const std::vector<double>& time,
                                          const std::vector<int>& event,
                                          const std::vector<std::vector<double>>& covariates,
                                          const std::vector<std::string>& names,
                                          const std::vector<std::vector<int>>& resamples,
                                          const CoxOptions& options) {
  for (std::size_t b = 0; b < resamples.size(); ++b) {
    if (resamples[b].empty())
      throw InputError("optimism-corrected C: resample " + std::to_string(b + 1) + " is empty");
    for (int r : resamples[b])
      if (r < 0 || std::size_t(r) >= time.size())
        throw InputError("optimism-corrected C: resample " + std::to_string(b + 1) + " holds row " +
                         std::to_string(r) + " but the rows are 0 to " +
                         std::to_string(int(time.size()) - 1));
  }
  return validate(time, event, covariates, names, resamples.size(), options,
                  [&](std::size_t b, std::vector<std::size_t>& rows) {
                    rows.assign(resamples[b].begin(), resamples[b].end());
                  });
}

} // namespace vfp::survival
