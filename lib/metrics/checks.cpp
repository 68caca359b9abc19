#include "metrics/checks.h"

#include "core/core.h"

#include <cmath>
#include <string>

namespace vfp::metrics {

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

std::size_t check_both_classes(const std::vector<double>& scores, const std::vector<int>& labels,
                               const char* metric) {
  const std::size_t pos = check(scores, labels, metric);
  if (pos == labels.size())
    throw InputError(std::string(metric) + " is undefined: no negative labels among " +
                     std::to_string(labels.size()) + " samples");
  return pos;
}

} // namespace vfp::metrics
