// Breslow's baseline hazard against R's basehaz, and predicted vs observed risk per risk group.
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

using namespace vfp::survival;

constexpr double kZ975 = 1.959963984540054;

/// The Breslow-ties fit's linear predictor on tests/survival/reference/<file>, with times
/// floor(time / days_per_unit) when that is given (make_reference.R's vet0).
struct Fitted {
  std::vector<double> time, linear_predictor;
  std::vector<int> event;
};
Fitted fit_breslow(const std::string& file, const std::vector<std::string>& names,
                   double days_per_unit = 0) {
  auto columns = names;
  columns.insert(columns.end(), {"time", "status"});
  const auto t = vfp::read_csv_columns(
      std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/" + file, columns);
  Fitted f;
  f.time = t.at("time");
  if (days_per_unit > 0)
    for (auto& time : f.time)
      time = std::floor(time / days_per_unit);
  f.event.assign(t.at("status").begin(), t.at("status").end());
  std::vector<std::vector<double>> x;
  for (const auto& name : names)
    x.push_back(t.at(name));
  CoxOptions options;
  options.ties = Ties::kBreslow;
  f.linear_predictor = fit_cox(f.time, f.event, x, names, options).linear_predictor;
  return f;
}

// R 4.2.2, survival 3.5-3, printed by make_reference.R ("basehaz"):
//   fit <- coxph(Surv(time, status) ~ age + sex + ph.ecog, lung_cc, ties = "breslow")
//   bh <- basehaz(fit, centered = TRUE); bh$hazard[findInterval(times, bh$time)]
// at 5, 100, 305, 500, 800 days; 138 distinct event times.
TEST(BreslowBaseline, MatchesRsBasehaz_OnTheLungData) {
  const auto f = fit_breslow("lung.csv", {"age", "sex", "ph.ecog"});
  const auto h = breslow_baseline(f.time, f.event, f.linear_predictor);
  EXPECT_EQ(h.time.size(), 138u);
  const double times[] = {5, 100, 305, 500, 800};
  const double r[] = {0.00396435383544906, 0.130051295712519, 0.648085484552729, 1.21341684921582,
                      2.56867858723274};
  for (int k = 0; k < 5; ++k)
    EXPECT_NEAR(h.at(times[k]), r[k], 1e-9 * r[k]) << times[k];
  EXPECT_EQ(h.at(4.9), 0.0); // before the first event
}

// The same on vet0 (karno + age + diagtime + trt, time in whole months, 39 events at 0), at
// 0, 1, 3, 6, 12 months; 18 distinct event times.
TEST(BreslowBaseline, MatchesRsBasehaz_WhenTimesAreZero) {
  const auto f = fit_breslow("veteran.csv", {"karno", "age", "diagtime", "trt"}, 30);
  const auto h = breslow_baseline(f.time, f.event, f.linear_predictor);
  EXPECT_EQ(h.time.size(), 18u);
  EXPECT_EQ(h.time.front(), 0.0);
  const double times[] = {0, 1, 3, 6, 12};
  const double r[] = {0.241662043195296, 0.5090186608434, 0.994241483611407, 1.62678442076,
                      2.9459467854537};
  for (int k = 0; k < 5; ++k)
    EXPECT_NEAR(h.at(times[k]), r[k], 1e-9 * r[k]) << times[k];
}

// Six subjects, two risk groups by hand. exp(lp) is 2 for the high group (rows 0, 2, 4), 1
// for the low one (rows 1, 3, 5).
//   time   1e  2e  3c  4e  5c  6e     (e event, c censored)
//   at risk: t1 all, Σ = 3·2 + 3·1 = 9; t2 rows 1–5, Σ = 7; t4 rows 3–5, Σ = 4; t6 row 5, Σ = 1
//   H0: 1/9, 1/9 + 1/7 = 16/63, 16/63 + 1/4 = 127/252, 127/252 + 1 = 379/252
// At the horizon 4: predicted 1 − exp(−2·127/252) (high), 1 − exp(−127/252) (low).
// Kaplan–Meier at 4: high (1e 3c 5c) S = 2/3, Greenwood Σ 1/(3·2); low (2e 4e 6e)
// S = 2/3 · 1/2 = 1/3, Σ 1/(3·2) + 1/(2·1); log-scale interval S·exp(±1.96·√Σ), capped at 1.
TEST(BreslowBaseline, SumsEventsOverRiskSets_OnASmallCaseByHand) {
  const std::vector<double> time{1, 2, 3, 4, 5, 6},
      lp{std::log(2.0), 0, std::log(2.0), 0, std::log(2.0), 0};
  const std::vector<int> event{1, 1, 0, 1, 0, 1};
  const auto h = breslow_baseline(time, event, lp);
  EXPECT_EQ(h.time, (std::vector<double>{1, 2, 4, 6}));
  EXPECT_NEAR(h.cumulative_hazard[0], 1.0 / 9, 1e-15);
  EXPECT_NEAR(h.cumulative_hazard[1], 16.0 / 63, 1e-15);
  EXPECT_NEAR(h.cumulative_hazard[2], 127.0 / 252, 1e-15);
  EXPECT_NEAR(h.cumulative_hazard[3], 379.0 / 252, 1e-15);
  EXPECT_NEAR(h.at(3.5), 16.0 / 63, 1e-15);
  EXPECT_NEAR(h.at(100), 379.0 / 252, 1e-15);
}

TEST(CalibrationByRiskGroup, MatchesAHandComputation_OnASmallCase) {
  const std::vector<double> time{1, 2, 3, 4, 5, 6},
      lp{std::log(2.0), 0, std::log(2.0), 0, std::log(2.0), 0};
  const std::vector<int> event{1, 1, 0, 1, 0, 1};
  const auto rows = calibration_by_risk_group(time, event, lp, 4, 2);
  ASSERT_EQ(rows.size(), 2u);
  const double h0 = 127.0 / 252;
  const auto& low = rows[0];
  EXPECT_EQ(low.group, 0);
  EXPECT_EQ(low.subjects, 3);
  EXPECT_EQ(low.events, 2); // rows 1 and 3; row 5's event is after the horizon
  EXPECT_NEAR(low.predicted, 1 - std::exp(-h0), 1e-15);
  EXPECT_NEAR(low.observed, 2.0 / 3, 1e-15);
  const double low_se = std::sqrt(1.0 / 6 + 1.0 / 2);
  EXPECT_NEAR(low.observed_lower, 1 - std::min(1.0, std::exp(kZ975 * low_se) / 3), 1e-12);
  EXPECT_NEAR(low.observed_upper, 1 - std::exp(-kZ975 * low_se) / 3, 1e-12);
  const auto& high = rows[1];
  EXPECT_EQ(high.group, 1);
  EXPECT_EQ(high.subjects, 3);
  EXPECT_EQ(high.events, 1);
  EXPECT_NEAR(high.predicted, 1 - std::exp(-2 * h0), 1e-15);
  EXPECT_NEAR(high.observed, 1.0 / 3, 1e-15);
  const double high_se = std::sqrt(1.0 / 6);
  EXPECT_NEAR(high.observed_lower, 1 - std::min(1.0, 2.0 / 3 * std::exp(kZ975 * high_se)), 1e-12);
  EXPECT_NEAR(high.observed_upper, 1 - 2.0 / 3 * std::exp(-kZ975 * high_se), 1e-12);
}

TEST(CalibrationByRiskGroup, OmitsGroups_WhenTiedPredictorsLeaveThemEmpty) {
  // risk_groups keeps ties together: all four in group 0, groups 1 and 2 empty.
  const auto rows =
      calibration_by_risk_group({1, 2, 3, 4}, {1, 0, 1, 1}, {0.5, 0.5, 0.5, 0.5}, 2.5, 3);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].group, 0);
  EXPECT_EQ(rows[0].subjects, 4);
  EXPECT_EQ(rows[0].events, 1);
  // One group: the mean predicted risk is the Breslow estimate 1 − exp(−H0·e^lp) for everyone.
  EXPECT_NEAR(rows[0].predicted, 1 - std::exp(-1.0 / 4), 1e-15);
  EXPECT_NEAR(rows[0].observed, 1.0 / 4, 1e-15);
}

TEST(CalibrationByRiskGroup, PredictedAgreesWithObserved_WhenTheModelIsTrue) {
  // Exponential hazard 0.1·exp(x), x ~ N(0, 1), uniform censoring over 0–20; horizon 5.
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::uniform_real_distribution<double> unit(0.0, 20.0);
  std::vector<double> time, x;
  std::vector<int> event;
  for (int i = 0; i < 3000; ++i) {
    x.push_back(normal(rng));
    const double t = expo(rng) / (0.1 * std::exp(x.back())), censor = unit(rng);
    time.push_back(std::min(t, censor));
    event.push_back(t <= censor);
  }
  const auto lp = fit_cox(time, event, {x}, {"x"}).linear_predictor;
  const auto rows = calibration_by_risk_group(time, event, lp, 5, 4);
  ASSERT_EQ(rows.size(), 4u);
  for (std::size_t g = 0; g < rows.size(); ++g) {
    EXPECT_EQ(rows[g].subjects, 750);
    // The observed risk's SE is about 0.02 here: three of them.
    EXPECT_NEAR(rows[g].predicted, rows[g].observed, 0.06) << g;
    EXPECT_LT(rows[g].observed_lower, rows[g].observed);
    EXPECT_GT(rows[g].observed_upper, rows[g].observed);
    if (g > 0) {
      EXPECT_GT(rows[g].observed, rows[g - 1].observed) << "risk rises with the group";
    }
  }
}

TEST(CalibrationByRiskGroup, BadInputIsAnErrorNamingIt) {
  EXPECT_THROW(calibration_by_risk_group({1, 2}, {1, 0}, {0.1}, 1), vfp::InputError);
  EXPECT_THROW(calibration_by_risk_group({1, 2}, {1, 0}, {0.1, 0.2}, NAN, 2), vfp::InputError);
  EXPECT_THROW(calibration_by_risk_group({1, 2}, {1, 0}, {0.1, 0.2}, 1, 3), vfp::InputError);
  EXPECT_THROW(breslow_baseline({1, 2}, {1, 2}, {0.1, 0.2}), vfp::InputError);
}

} // namespace
