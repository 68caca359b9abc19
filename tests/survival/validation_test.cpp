// Harrell's optimism-corrected C against a hand-written bootstrap in R and rms::validate.
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

using namespace vfp::survival;

struct Data {
  std::vector<double> time;
  std::vector<int> event;
  std::vector<std::vector<double>> covariates;
  std::vector<std::string> names;
};

Data veteran() {
  Data d;
  d.names = {"karno", "age", "diagtime", "trt"};
  auto columns = d.names;
  columns.insert(columns.end(), {"time", "status"});
  const auto t = vfp::read_csv_columns(
      std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/veteran.csv", columns);
  d.time = t.at("time");
  d.event.assign(t.at("status").begin(), t.at("status").end());
  for (const auto& name : d.names)
    d.covariates.push_back(t.at(name));
  return d;
}

/// tests/survival/reference/veteran_resamples.csv: R's 50 resamples (0-based rows).
std::vector<std::vector<int>> r_resamples() {
  const auto t = vfp::read_csv_columns(std::string(VFP_SOURCE_DIR) +
                                           "/tests/survival/reference/veteran_resamples.csv",
                                       {"resample", "row"});
  std::vector<std::vector<int>> out;
  for (std::size_t i = 0; i < t.at("row").size(); ++i) {
    const auto b = std::size_t(t.at("resample")[i]);
    out.resize(std::max(out.size(), b + 1));
    out[b].push_back(int(t.at("row")[i]));
  }
  return out;
}

void expect_rel(double ours, double r, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(ours - r), tolerance * std::abs(r))
      << what << ": ours " << ours << ", R " << r;
}

// R 4.2.2, survival 3.5-3, printed by make_reference.R ("veteran optimism-corrected C"): with
// set.seed(22), 50 × sample(137, replace = TRUE) (written to veteran_resamples.csv), each
// coxph(Surv(time, status) ~ karno + age + diagtime + trt) refit scored by
// concordance(Surv(time, status) ~ predict(fit, newdata, type = "lp"), reverse = TRUE) on the
// resample and on all rows: apparent 0.711949114039073, mean optimism 0.0103919303175248,
// corrected 0.701557183721548.
TEST(OptimismCorrectedC, MatchesAHandWrittenBootstrapInR_WhenGivenRsResamples) {
  const auto d = veteran();
  const auto resamples = r_resamples();
  ASSERT_EQ(resamples.size(), 50u);
  ASSERT_EQ(resamples.front().size(), 137u);
  const auto v = optimism_corrected_c(d.time, d.event, d.covariates, d.names, resamples);
  EXPECT_EQ(v.resamples, 50);
  EXPECT_EQ(v.failed_resamples, 0);
  expect_rel(v.apparent, 0.711949114039073, 1e-9, "apparent");
  expect_rel(v.optimism, 0.0103919303175248, 1e-9, "optimism");
  expect_rel(v.corrected, 0.701557183721548, 1e-9, "corrected");
}

// rms 6.5-0, from the same draws (set.seed(22); validate(cph(..., x = TRUE, y = TRUE), B = 50)):
// Dxy = 2 (C − 0.5) apparent 0.423898228078146, optimism 0.0207648480445863, corrected
// 0.40313338003356. The apparent index agrees exactly; rms refits with eps = 1e-4 (not 1e-9),
// which moves its optimism by about 2e-5 in Dxy.
TEST(OptimismCorrectedC, AgreesWithRmsValidatesDxy_WhenGivenTheSameDraws) {
  const auto d = veteran();
  const auto v = optimism_corrected_c(d.time, d.event, d.covariates, d.names, r_resamples());
  expect_rel(2 * (v.apparent - 0.5), 0.423898228078146, 1e-9, "apparent Dxy");
  EXPECT_NEAR(2 * v.optimism, 0.0207648480445863, 1e-4);
  EXPECT_NEAR(2 * (v.corrected - 0.5), 0.40313338003356, 1e-4);
}

/// Hazard exp(x0) with six noise covariates beside it, 120 subjects, uniform censoring.
Data planted(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::uniform_real_distribution<double> unit(0.0, 3.0);
  Data d;
  d.covariates.resize(7);
  for (int k = 0; k < 7; ++k)
    d.names.push_back("x" + std::to_string(k));
  for (int i = 0; i < 120; ++i) {
    for (auto& column : d.covariates)
      column.push_back(normal(rng));
    const double t = expo(rng) / std::exp(d.covariates[0].back()), censor = unit(rng);
    d.time.push_back(std::min(t, censor));
    d.event.push_back(t <= censor);
  }
  return d;
}

TEST(OptimismCorrectedC, CorrectedIsBelowApparent_WhenAStrongEffectSitsAmongNoise) {
  const auto d = planted(11);
  const auto v = optimism_corrected_c(d.time, d.event, d.covariates, d.names, 200, 5);
  EXPECT_GT(v.apparent, 0.7);
  EXPECT_GT(v.optimism, 0.0);
  EXPECT_LT(v.corrected, v.apparent);
  EXPECT_GT(v.corrected, 0.6); // the real effect survives the correction
  EXPECT_DOUBLE_EQ(v.corrected, v.apparent - v.optimism);
  EXPECT_EQ(v.resamples + v.failed_resamples, 200);
}

TEST(OptimismCorrectedC, IsDeterministic_WhenSeeded) {
  const auto d = planted(12);
  const auto a = optimism_corrected_c(d.time, d.event, d.covariates, d.names, 40, 9);
  const auto b = optimism_corrected_c(d.time, d.event, d.covariates, d.names, 40, 9);
  EXPECT_EQ(a.optimism, b.optimism);
  EXPECT_EQ(a.corrected, b.corrected);
  EXPECT_EQ(a.resamples, b.resamples);
  const auto other = optimism_corrected_c(d.time, d.event, d.covariates, d.names, 40, 10);
  EXPECT_EQ(other.apparent, a.apparent);
  EXPECT_NE(other.optimism, a.optimism);
}

TEST(OptimismCorrectedC, SkipsAndCountsResamples_WhenTheirFitFails) {
  const std::vector<double> time{1, 2, 3, 4, 5, 6}, x{0.1, 0.5, 0.2, 0.9, 0.4, 0.7},
      y{0.2, 1.0, 0.4, 0.3, 0.1, 0.8}; // y = 2x on rows 0–2 only
  const std::vector<int> event{1, 1, 1, 0, 1, 0};
  const std::vector<std::vector<int>> resamples{
      {3, 5, 3, 5, 5, 3}, // censored rows only: no event
      {0, 0, 0, 0, 0, 0}, // x and y constant
      {0, 1, 2, 0, 1, 2}, // y = 2x exactly
      {0, 1, 2, 3, 4, 5}, // the data itself: optimism 0
  };
  const auto v = optimism_corrected_c(time, event, {x, y}, {"x", "y"}, resamples);
  EXPECT_EQ(v.resamples, 1);
  EXPECT_EQ(v.failed_resamples, 3);
  EXPECT_DOUBLE_EQ(v.optimism, 0.0);
  EXPECT_DOUBLE_EQ(v.corrected, v.apparent);
  // Nothing usable: nothing estimated.
  const auto none = optimism_corrected_c(time, event, {x, y}, {"x", "y"},
                                         {resamples.begin(), resamples.begin() + 3});
  EXPECT_EQ(none.resamples, 0);
  EXPECT_TRUE(std::isnan(none.optimism));
  EXPECT_TRUE(std::isnan(none.corrected));
}

TEST(OptimismCorrectedC, ARowOutsideTheDataIsAnError_WhenResamplesAreGiven) {
  const std::vector<double> time{1, 2, 3, 4}, x{0.1, 0.5, 0.2, 0.9};
  const std::vector<int> event{1, 1, 0, 1};
  try {
    optimism_corrected_c(time, event, {x}, {"x"},
                         std::vector<std::vector<int>>{{0, 1, 2, 3}, {0, 4, 1, 2}});
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "optimism-corrected C: resample 2 holds row 4 but the rows are 0 to 3");
  }
  EXPECT_THROW(optimism_corrected_c(time, event, {x}, {"x"}, -1), vfp::InputError);
}

} // namespace
