#include "data/data.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace vfp::data {
namespace {

/// Deterministic shuffle (Fisher–Yates over raw 64-bit draws; std::shuffle's use of the
/// engine is implementation-defined, this is not).
void shuffle(std::vector<int>& v, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) {
    auto j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

} // namespace

std::vector<int> stratified_folds(const std::vector<int>& labels, int folds, std::uint64_t seed) {
  VFP_CHECK(folds >= 2, "need at least two folds");
  std::vector<int> fold(labels.size(), -1);
  int offset = 0;
  for (int cls : {1, 0}) {
    std::vector<int> members;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == cls)
        members.push_back(static_cast<int>(i));
    shuffle(members, mix_seed(seed ^ static_cast<std::uint64_t>(cls)));
    // Continue dealing where the previous class stopped, so fold sizes stay balanced.
    for (size_t k = 0; k < members.size(); ++k)
      fold[members[k]] = static_cast<int>((offset + k) % folds);
    offset = static_cast<int>((offset + members.size()) % folds);
  }
  return fold;
}

std::vector<bool> stratified_holdout(const std::vector<int>& labels, double fraction,
                                     std::uint64_t seed) {
  std::vector<bool> held(labels.size(), false);
  for (int cls : {1, 0}) {
    std::vector<int> members;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == cls)
        members.push_back(static_cast<int>(i));
    shuffle(members, mix_seed(seed + 7919 * static_cast<std::uint64_t>(cls)));
    auto take = static_cast<size_t>(std::lround(fraction * static_cast<double>(members.size())));
    if (members.size() >= 2)
      take = std::clamp<size_t>(take, 1, members.size() - 1);
    for (size_t k = 0; k < take && k < members.size(); ++k)
      held[members[k]] = true;
  }
  return held;
}

} // namespace vfp::data
