#include "loader/loader.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

using vfp::loader::epoch_order;
using vfp::loader::Sampling;

namespace {
std::vector<int> iota(int n) {
  std::vector<int> v(size_t(n), 0);
  std::iota(v.begin(), v.end(), 0);
  return v;
}
} // namespace

TEST(EpochOrder, ShuffleIsAPermutationFixedBySeedAndEpoch) {
  const auto items = iota(100);
  const std::vector<float> labels(100, 0.0F);
  const auto a = epoch_order(items, labels, Sampling::kShuffle, 7, 1);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, items);
  EXPECT_NE(a, items);
  EXPECT_EQ(a, epoch_order(items, labels, Sampling::kShuffle, 7, 1));
  EXPECT_NE(a, epoch_order(items, labels, Sampling::kShuffle, 7, 2));
  EXPECT_NE(a, epoch_order(items, labels, Sampling::kShuffle, 8, 1));
}

TEST(EpochOrder, SequentialKeepsTheGivenOrder) {
  const std::vector<int> items{5, 3, 9};
  EXPECT_EQ(epoch_order(items, std::vector<float>(10, 0.0F), Sampling::kSequential, 1, 1), items);
}

TEST(EpochOrder, BalancedDrawsEachClassHalfTheTime) {
  // 10 % positives, as in a fracture cohort; balanced draws give ~50 % (binomial sd 1.1 %).
  const auto items = iota(2000);
  std::vector<float> labels(2000, 0.0F);
  for (int i = 0; i < 2000; i += 10)
    labels[size_t(i)] = 1.0F;
  const auto order = epoch_order(items, labels, Sampling::kBalanced, 3, 1);
  ASSERT_EQ(order.size(), items.size());
  double positives = 0;
  for (int item : order)
    positives += labels[size_t(item)];
  EXPECT_NEAR(positives / double(order.size()), 0.5, 0.04);
  // Draws come from the given items only, and most positives are drawn more than once.
  std::vector<int> seen(2000, 0);
  for (int item : order)
    ++seen[size_t(item)];
  int repeated_positives = 0;
  for (int i = 0; i < 2000; i += 10)
    repeated_positives += seen[size_t(i)] > 1 ? 1 : 0;
  EXPECT_GT(repeated_positives, 150);
}

TEST(EpochOrder, BalancedWithOneClassIsAnErrorSayingSo) {
  try {
    epoch_order(iota(4), std::vector<float>(4, 0.0F), Sampling::kBalanced, 1, 1);
    FAIL() << "no error";
  } catch (const vfp::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("0 positive, 4 negative"), std::string::npos) << e.what();
  }
}
