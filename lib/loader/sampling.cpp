#include "loader/loader.h"

#include "core/core.h"

#include <random>

namespace vfp::loader {

std::vector<int> epoch_order(const std::vector<int>& items, const std::vector<float>& labels,
                             Sampling sampling, std::uint64_t seed, int epoch) {
  std::vector<int> order = items;
  if (sampling == Sampling::kSequential || items.empty())
    return order;
  std::mt19937_64 rng(mix_seed(seed ^ (std::uint64_t(epoch) * 0x9e3779b97f4a7c15ULL)));
  if (sampling == Sampling::kShuffle) {
    for (size_t i = order.size(); i > 1; --i) // Fisher–Yates; std::shuffle is not portable
      std::swap(order[i - 1], order[rng() % i]);
    return order;
  }
  std::vector<int> by_class[2];
  for (int item : items)
    by_class[labels.at(size_t(item)) > 0.5F ? 1 : 0].push_back(item);
  if (by_class[0].empty() || by_class[1].empty())
    throw TaskError("class-balanced sampling needs both classes among the training items (" +
                    std::to_string(by_class[1].size()) + " positive, " +
                    std::to_string(by_class[0].size()) + " negative)");
  for (auto& item : order) {
    const auto& pool = by_class[rng() & 1U];
    item = pool[rng() % pool.size()];
  }
  return order;
}

} // namespace vfp::loader
