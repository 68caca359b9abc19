// Adjusting p-values for the number of comparisons made.
#include "metrics/metrics.h"

#include <algorithm>
#include <numeric>

namespace vfp::metrics {

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> tested;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] >= 0)
      tested.push_back(i);
  std::stable_sort(tested.begin(), tested.end(),
                   [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p);
  const double m = double(tested.size());
  double running = 0; // step-down: an adjusted p never falls below a smaller p's
  for (std::size_t k = 0; k < tested.size(); ++k) {
    running = std::max(running, std::min(1.0, (m - double(k)) * p[tested[k]]));
    out[tested[k]] = running;
  }
  return out;
}

} // namespace vfp::metrics
