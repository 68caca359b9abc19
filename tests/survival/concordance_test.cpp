// Harrell's C: R survival::concordance's pair rules, by hand, and its properties.
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

using vfp::survival::harrell_c;

TEST(Concordance, CountsPairsByRsRules) {
  // time, event, risk
  //  a: 1 event  0.9    b: 2 event  0.5    c: 2 censored 0.7
  //  d: 3 censored 0.1  e: 3 event 0.1
  // Pairs (shorter first): a–b conc (0.9 > 0.5), a–c conc, a–d conc, a–e conc;
  // b–c tied time, one event: b first; 0.5 < 0.7 discordant. b–d conc, b–e conc.
  // c–d, c–e: c censored first: not comparable. d–e tied time, e the event: 0.1 = 0.1 tied.
  const std::vector<double> time{1, 2, 2, 3, 3};
  const std::vector<int> event{1, 1, 0, 0, 1};
  const std::vector<double> risk{0.9, 0.5, 0.7, 0.1, 0.1};
  const auto c = harrell_c(time, event, risk);
  EXPECT_EQ(c.comparable, 8);
  EXPECT_EQ(c.concordant, 6);
  EXPECT_EQ(c.discordant, 1);
  EXPECT_EQ(c.tied_risk, 1);
  EXPECT_DOUBLE_EQ(c.c, 6.5 / 8);
  // Two events at the same time are not comparable.
  EXPECT_EQ(harrell_c({1, 1, 2}, {1, 1, 1}, {0.1, 0.2, 0.3}).comparable, 2);
}

TEST(Concordance, IsInvariantUnderMonotoneTransformsAndFlipsWithTheSign) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::vector<double> time, risk, transformed, negated;
  std::vector<int> event;
  for (int i = 0; i < 300; ++i) {
    const double x = normal(rng);
    risk.push_back(x);
    transformed.push_back(std::exp(3 * x) + 7);
    negated.push_back(-x);
    const double t = expo(rng) / std::exp(x), censor = 2 * expo(rng);
    time.push_back(std::min(t, censor));
    event.push_back(t <= censor);
  }
  const double c = harrell_c(time, event, risk).c;
  EXPECT_GT(c, 0.65); // a real signal
  EXPECT_DOUBLE_EQ(harrell_c(time, event, transformed).c, c);
  EXPECT_NEAR(harrell_c(time, event, negated).c, 1 - c, 1e-12); // no tied risks
}

TEST(Concordance, TheTrueRiskOfSimulatedCoxDataReachesItsExpectedValue) {
  // No censoring, risk x ~ N(0, 1), hazard e^x. For two subjects the one with the higher risk
  // fails first with probability 1 / (1 + e^{−d}), d = x1 − x2 > 0, d ~ N(0, 2): the expected
  // C is E[1 / (1 + e^{−d}) | d > 0] = 0.72514 (midpoint rule below; a Monte Carlo check with
  // 2·10⁶ draws in Python gave 0.72514).
  double expected = 0;
  const double step = 1e-4;
  for (double d = step / 2; d < 12; d += step)
    expected += 2 * std::exp(-d * d / 4) / std::sqrt(4 * M_PI) / (1 + std::exp(-d)) * step;
  EXPECT_NEAR(expected, 0.72514, 1e-4);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::vector<double> time, risk;
  std::vector<int> event;
  for (int i = 0; i < 10000; ++i) {
    const double x = normal(rng);
    risk.push_back(x);
    time.push_back(expo(rng) / std::exp(x));
    event.push_back(1);
  }
  // The sampling SD of C at n = 10⁴ is about 0.005: three of them.
  EXPECT_NEAR(harrell_c(time, event, risk).c, expected, 0.015);
}

TEST(Concordance, TheFastCountAgreesWithCountingEveryPair) {
  // Tie-heavy data: times and risks on coarse grids, a third censored.
  std::mt19937_64 rng(13);
  std::uniform_int_distribution<int> t(1, 20), r(0, 6), e(0, 2);
  std::vector<double> time, risk;
  std::vector<int> event;
  for (int i = 0; i < 400; ++i) {
    time.push_back(t(rng));
    risk.push_back(r(rng) / 2.0);
    event.push_back(e(rng) > 0);
  }
  double concordant = 0, discordant = 0, tied = 0;
  for (std::size_t i = 0; i < time.size(); ++i)
    for (std::size_t j = 0; j < time.size(); ++j) {
      // i fails first and j is known to outlive it
      const bool comparable = event[i] && (time[i] < time[j] || (time[i] == time[j] && !event[j]));
      if (!comparable)
        continue;
      concordant += risk[i] > risk[j];
      discordant += risk[i] < risk[j];
      tied += risk[i] == risk[j];
    }
  const auto c = harrell_c(time, event, risk);
  EXPECT_EQ(c.concordant, concordant);
  EXPECT_EQ(c.discordant, discordant);
  EXPECT_EQ(c.tied_risk, tied);
  EXPECT_DOUBLE_EQ(c.c, (concordant + tied / 2) / (concordant + discordant + tied));
}

TEST(Concordance, MismatchedSizesOrNoComparablePairAreErrors) {
  EXPECT_THROW(harrell_c({1, 2}, {1}, {0.1, 0.2}), vfp::InputError);
  EXPECT_THROW(harrell_c({1, 2}, {0, 0}, {0.1, 0.2}), vfp::InputError);
}

} // namespace
