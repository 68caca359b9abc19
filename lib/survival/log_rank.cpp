#include "survival/survival.h"

#include "core/core.h"
#include "survival/checks.h"

#include <Eigen/Dense>

#include <algorithm>
#include <numeric>

namespace vfp::survival {

LogRank log_rank_test(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<int>& group) {
  if (time.size() != event.size() || time.size() != group.size() || time.empty())
    throw InputError("log-rank test: " + std::to_string(time.size()) + " times, " +
                     std::to_string(event.size()) + " event indicators and " +
                     std::to_string(group.size()) + " groups");
  detail::check_times(time, "log-rank test");
  const int k = *std::max_element(group.begin(), group.end()) + 1;
  if (*std::min_element(group.begin(), group.end()) < 0)
    throw InputError("log-rank test: a negative group number");
  LogRank out;
  out.subjects.assign(std::size_t(k), 0);
  out.observed.assign(std::size_t(k), 0.0);
  out.expected.assign(std::size_t(k), 0.0);
  for (int g : group)
    ++out.subjects[std::size_t(g)];
  std::vector<std::size_t> order(time.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return time[a] < time[b]; });
  // Walk the distinct times from the shortest: everyone not yet gone is at risk.
  std::vector<double> at_risk(out.subjects.begin(), out.subjects.end());
  std::vector<double> deaths(static_cast<std::size_t>(k), 0.0);
  Eigen::MatrixXd variance = Eigen::MatrixXd::Zero(k, k);
  double total = double(time.size());
  for (std::size_t i = 0; i < order.size();) {
    const double t = time[order[i]];
    std::fill(deaths.begin(), deaths.end(), 0.0);
    std::size_t end = i;
    for (; end < order.size() && time[order[end]] == t; ++end)
      deaths[std::size_t(group[order[end]])] += event[order[end]] ? 1 : 0;
    const double d = std::accumulate(deaths.begin(), deaths.end(), 0.0);
    if (d > 0) {
      for (int g = 0; g < k; ++g) {
        out.observed[std::size_t(g)] += deaths[std::size_t(g)];
        out.expected[std::size_t(g)] += d * at_risk[std::size_t(g)] / total;
      }
      if (total > 1) {
        const double scale = d * (total - d) / (total - 1);
        for (int g = 0; g < k; ++g)
          for (int h = 0; h < k; ++h) {
            const double pg = at_risk[std::size_t(g)] / total, ph = at_risk[std::size_t(h)] / total;
            variance(g, h) += scale * pg * ((g == h ? 1.0 : 0.0) - ph);
          }
      }
    }
    for (; i < end; ++i)
      at_risk[std::size_t(group[order[i]])] -= 1;
    total = std::accumulate(at_risk.begin(), at_risk.end(), 0.0);
  }
  // Groups without subjects carry no information: drop them, then one more (the rest sums
  // to zero), as survdiff's generalized inverse does.
  std::vector<int> kept;
  for (int g = 0; g < k; ++g)
    if (out.subjects[std::size_t(g)] > 0)
      kept.push_back(g);
  out.df = int(kept.size()) - 1;
  if (out.df < 1)
    throw InputError("log-rank test: fewer than two groups with subjects");
  const int m = out.df;
  Eigen::MatrixXd v(m, m);
  Eigen::VectorXd diff(m);
  for (int a = 0; a < m; ++a) {
    diff(a) = out.observed[std::size_t(kept[a])] - out.expected[std::size_t(kept[a])];
    for (int b = 0; b < m; ++b)
      v(a, b) = variance(kept[a], kept[b]);
  }
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(v);
  if (lu.rank() < m)
    throw InputError("log-rank test: the groups' variance matrix is singular (no events?)");
  out.chi2 = diff.dot(lu.solve(diff));
  out.p = chi2_upper_tail(out.chi2, out.df);
  return out;
}

} // namespace vfp::survival
