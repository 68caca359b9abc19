// Input checks shared by the metrics (private to lib/metrics).
#pragma once

#include <cstddef>
#include <vector>

namespace vfp::metrics {

/// Throws vfp::InputError, prefixed with `metric`, on a size mismatch, a label other than 0/1,
/// a NaN score or no positive label; returns the number of positives.
std::size_t check(const std::vector<double>& scores, const std::vector<int>& labels,
                  const char* metric);

/// As check(), and also throws when there is no negative label; returns the positives.
std::size_t check_both_classes(const std::vector<double>& scores, const std::vector<int>& labels,
                               const char* metric);

} // namespace vfp::metrics
