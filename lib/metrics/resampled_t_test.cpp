// Nadeau & Bengio's corrected resampled t-test for comparing two configurations over CV splits.
#include "metrics/metrics.h"

#include "core/core.h"

#include <cmath>
#include <limits>

namespace vfp::metrics {

CorrectedTTest corrected_resampled_t_test(const std::vector<double>& differences,
                                          double test_train_ratio, double confidence) {
  if (differences.size() < 2)
    throw InputError("corrected resampled t-test: needs at least 2 splits, got " +
                     std::to_string(differences.size()));
  if (!(test_train_ratio >= 0) || std::isinf(test_train_ratio))
    throw InputError("corrected resampled t-test: n_test/n_train must be finite and ≥ 0, got " +
                     std::to_string(test_train_ratio));
  if (!(confidence > 0 && confidence < 1))
    throw InputError("corrected resampled t-test: confidence must be in (0, 1), got " +
                     std::to_string(confidence));
  for (std::size_t j = 0; j < differences.size(); ++j)
    if (!std::isfinite(differences[j]))
      throw InputError("corrected resampled t-test: difference of split " + std::to_string(j) +
                       " is not finite");
  const auto summary = mean_std(differences);
  const double splits = double(differences.size());
  CorrectedTTest out;
  out.df = summary.n - 1;
  out.mean_difference = summary.mean;
  out.std_error = std::sqrt((1 / splits + test_train_ratio) * summary.std * summary.std);
  if (out.std_error > 0) {
    out.t = out.mean_difference / out.std_error;
    out.p = 2 * student_t_cdf(-std::abs(out.t), out.df);
  } else { // every split gave the same difference
    out.t = out.mean_difference == 0
                ? 0
                : std::copysign(std::numeric_limits<double>::infinity(), out.mean_difference);
    out.p = out.mean_difference == 0 ? 1 : 0;
  }
  const double half = student_t_quantile(0.5 + confidence / 2, out.df) * out.std_error;
  out.lower = out.mean_difference - half;
  out.upper = out.mean_difference + half;
  return out;
}

} // namespace vfp::metrics
