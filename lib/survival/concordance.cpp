// Harrell's and Uno's concordance, with R survival::concordance's rules for comparable pairs.
#include "survival/survival.h"

#include "core/core.h"
#include "survival/checks.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace vfp::survival {
namespace {

/// Concordance over comparable pairs, each weighted by `weight` of its earlier event's time
/// (1 for Harrell's C). Ranks of the risks (ties share one), and a Fenwick tree counting, per
/// rank, the subjects that an event can be compared with: those with a later time, and those
/// censored at its time (they outlived it). Visiting the times from the longest down keeps
/// that set in the tree: O(n log n).
template <typename WeightOfTime>
Concordance weighted_concordance(const std::vector<double>& time, const std::vector<int>& event,
                                 const std::vector<double>& risk, WeightOfTime weight) {
  if (time.size() != event.size() || time.size() != risk.size())
    throw InputError("concordance: " + std::to_string(time.size()) + " times, " +
                     std::to_string(event.size()) + " events and " + std::to_string(risk.size()) +
                     " scores");
  detail::check_times(time, "concordance");
  const std::size_t n = time.size();
  std::vector<double> levels(risk);
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  std::vector<std::size_t> rank(n);
  for (std::size_t i = 0; i < n; ++i)
    rank[i] =
        std::size_t(std::lower_bound(levels.begin(), levels.end(), risk[i]) - levels.begin()) + 1;
  std::vector<double> tree(levels.size() + 1, 0.0);
  const auto add = [&](std::size_t r) {
    for (; r < tree.size(); r += r & (~r + 1))
      tree[r] += 1;
  };
  const auto below_or_at = [&](std::size_t r) { // subjects in the tree with rank ≤ r
    double total = 0;
    for (; r > 0; r -= r & (~r + 1))
      total += tree[r];
    return total;
  };
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return time[a] > time[b]; });
  Concordance out;
  double in_tree = 0;
  for (std::size_t k = 0; k < n;) {
    std::size_t end = k;
    while (end < n && time[order[end]] == time[order[k]])
      ++end;
    for (std::size_t m = k; m < end; ++m) // censored at this time: comparable with its events
      if (!event[order[m]]) {
        add(rank[order[m]]);
        in_tree += 1;
      }
    const double w = weight(time[order[k]]);
    for (std::size_t m = k; m < end && w > 0; ++m) {
      const auto i = order[m];
      if (!event[i])
        continue;
      const double lower = below_or_at(rank[i] - 1), at = below_or_at(rank[i]) - lower;
      out.concordant += w * lower; // the later one had a lower risk
      out.tied_risk += w * at;
      out.discordant += w * (in_tree - lower - at);
    }
    for (std::size_t m = k; m < end; ++m) // this time's events join the later ones
      if (event[order[m]]) {
        add(rank[order[m]]);
        in_tree += 1;
      }
    k = end;
  }
  out.comparable = out.concordant + out.discordant + out.tied_risk;
  if (out.comparable == 0)
    throw InputError("concordance: no comparable pair (no event before another subject's time)");
  out.c = (out.concordant + 0.5 * out.tied_risk) / out.comparable;
  return out;
}

} // namespace

Concordance harrell_c(const std::vector<double>& time, const std::vector<int>& event,
                      const std::vector<double>& risk) {
  return weighted_concordance(time, event, risk, [](double) { return 1.0; });
}

Concordance uno_c(const std::vector<double>& time, const std::vector<int>& event,
                  const std::vector<double>& risk, double truncation) {
  if (time.size() != event.size())
    throw InputError("Uno's C: " + std::to_string(time.size()) + " times but " +
                     std::to_string(event.size()) + " events");
  detail::check_times(time, "Uno's C");
  // G(t−), the Kaplan–Meier estimate of staying uncensored just before t. Censorings at a
  // death time count after the deaths (their risk set excludes those deaths), as R.
  std::map<double, std::pair<int, int>> at_time; // time → (deaths, censorings)
  for (std::size_t i = 0; i < time.size(); ++i)
    (event[i] ? at_time[time[i]].first : at_time[time[i]].second) += 1;
  std::map<double, double> g_before;
  double g = 1, at_risk = double(time.size());
  for (const auto& [t, counts] : at_time) {
    g_before[t] = g;
    const double deaths = counts.first, censored = counts.second;
    if (at_risk > deaths)
      g *= 1 - censored / (at_risk - deaths);
    at_risk -= deaths + censored;
  }
  return weighted_concordance(time, event, risk, [&](double t) {
    if (t > truncation)
      return 0.0;
    const double before = g_before.at(t);
    return 1 / (before * before);
  });
}

} // namespace vfp::survival
