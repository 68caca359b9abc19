// The study's analysis: baseline (age + BMI) vs image model (score + age + BMI).
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

using namespace vfp::survival;

struct Cohort {
  std::vector<double> time, score, age, bmi, noise;
  std::vector<int> event;
};

/// Hazard from a latent weakness (which the score measures with noise), age and BMI, as the
/// synthetic cohort plants it: HR per SD 2.7 for weakness, 1.4 for age, 0.87 for BMI.
Cohort simulate(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  Cohort c;
  for (int i = 0; i < n; ++i) {
    const double weakness = normal(rng), za = normal(rng), zb = normal(rng);
    const double lp = std::log(2.7) * weakness + std::log(1.4) * za - std::log(1.15) * zb;
    const double t = expo(rng) / (0.05 * std::exp(lp)), censor = 10.0;
    c.time.push_back(std::min(t, censor));
    c.event.push_back(t <= censor);
    c.score.push_back(weakness + 0.5 * normal(rng));
    c.age.push_back(73 + 6 * za);
    c.bmi.push_back(27 + 4 * zb);
    c.noise.push_back(normal(rng));
  }
  return c;
}

TEST(ModelComparison, TheScoreAddsDiscriminationBeyondAgeAndBmi) {
  const auto c = simulate(600, 4);
  const auto cmp = compare_models(c.time, c.event, {c.age, c.bmi}, {"age", "bmi"},
                                  {c.score, c.age, c.bmi}, {"score", "age", "bmi"}, 200, 7);
  EXPECT_GT(cmp.c_image, cmp.c_baseline + 0.05);
  EXPECT_DOUBLE_EQ(cmp.c_difference, cmp.c_image - cmp.c_baseline);
  EXPECT_GT(cmp.difference_lower, 0.0) << "the interval excludes no gain";
  EXPECT_LT(cmp.difference_lower, cmp.c_difference);
  EXPECT_GT(cmp.difference_upper, cmp.c_difference);
  EXPECT_EQ(cmp.resamples + cmp.failed_resamples, 200);
  // The score's hazard ratio per SD: weakness's 2.7 seen through noise (SD 0.5) is weaker.
  const auto& score = cmp.image.terms.at(0);
  EXPECT_EQ(score.name, "score");
  EXPECT_GT(score.hr_per_sd, 1.8);
  EXPECT_LT(score.hr_per_sd, 2.7);
  // Same seed, same interval.
  const auto again = compare_models(c.time, c.event, {c.age, c.bmi}, {"age", "bmi"},
                                    {c.score, c.age, c.bmi}, {"score", "age", "bmi"}, 200, 7);
  EXPECT_EQ(again.difference_lower, cmp.difference_lower);
  EXPECT_EQ(again.difference_upper, cmp.difference_upper);
}

TEST(ModelComparison, ANoiseScoreGainsNothingBeyondChance) {
  const auto c = simulate(600, 5);
  const auto cmp = compare_models(c.time, c.event, {c.age, c.bmi}, {"age", "bmi"},
                                  {c.noise, c.age, c.bmi}, {"noise", "age", "bmi"}, 200, 3);
  EXPECT_LT(std::abs(cmp.c_difference), 0.02);
  EXPECT_LT(cmp.difference_lower, 0.0);
  EXPECT_LT(cmp.image.terms.at(0).hr_per_sd, 1.2);
}

} // namespace
