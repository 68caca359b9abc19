// Times of 0 are valid everywhere (issue 22), checked against R on the veteran data in whole
// months; negative or non-finite times are errors naming the row. (The Cox fit on the same
// data is checked in cox_test.cpp.)
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace {

using namespace vfp::survival;

/// make_reference.R's vet0: veteran.csv with time in whole months, floor(time / 30): 40 of the
/// 137 subjects at time 0 (39 events, 1 censored).
struct VeteranMonths {
  std::vector<double> time;
  std::vector<int> event;
  std::vector<std::vector<double>> covariates;
  std::vector<std::string> names{"karno", "age", "diagtime", "trt"};
  std::vector<double> linear_predictor; ///< of the Efron fit
};

VeteranMonths veteran_months() {
  VeteranMonths v;
  auto columns = v.names;
  columns.insert(columns.end(), {"time", "status"});
  const auto t = vfp::read_csv_columns(
      std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/veteran.csv", columns);
  for (double days : t.at("time"))
    v.time.push_back(std::floor(days / 30));
  v.event.assign(t.at("status").begin(), t.at("status").end());
  for (const auto& name : v.names)
    v.covariates.push_back(t.at(name));
  v.linear_predictor = fit_cox(v.time, v.event, v.covariates, v.names).linear_predictor;
  return v;
}

// R 4.2.2, survival 3.5-3, printed by make_reference.R ("veteran months efron"):
//   concordance(Surv(time, status) ~ lp, reverse = TRUE): 0.74025634318598; count: concordant
//   5660, discordant 1986, tied.x 0 (tied.y 1240: pairs tied in time, not comparable).
//   The same with timewt = "n/G2" (Uno), ymax NULL and 12: 0.729313640934001, 0.730080809515022.
TEST(Concordance, MatchesRsConcordance_WhenTimesAreZero) {
  const auto v = veteran_months();
  ASSERT_EQ(std::count(v.time.begin(), v.time.end(), 0.0), 40);
  const auto c = harrell_c(v.time, v.event, v.linear_predictor);
  EXPECT_EQ(c.concordant, 5660);
  EXPECT_EQ(c.discordant, 1986);
  EXPECT_EQ(c.tied_risk, 0);
  EXPECT_NEAR(c.c, 0.74025634318598, 1e-12);
  EXPECT_NEAR(uno_c(v.time, v.event, v.linear_predictor).c, 0.729313640934001, 1e-9);
  EXPECT_NEAR(uno_c(v.time, v.event, v.linear_predictor, 12).c, 0.730080809515022, 1e-9);
}

// R: summary(survfit(Surv(time, status) ~ 1, vet0), times = c(0, 1, 3, 6, 12)).
TEST(KaplanMeier, MatchesRsSurvfit_WhenTimesAreZero) {
  const auto v = veteran_months();
  const auto km = kaplan_meier(v.time, v.event);
  ASSERT_EQ(km.time.front(), 0.0);
  EXPECT_EQ(km.at_risk.front(), 137);
  EXPECT_EQ(km.events.front(), 39);
  EXPECT_EQ(km.censored.front(), 1);
  struct Row {
    double t, surv, se, lower, upper;
  };
  for (const auto& r :
       {Row{0, 0.715328467153285, 0.038553560358316, 0.64361905240256, 0.795027452978228},
        Row{1, 0.538339980434946, 0.0427096132889655, 0.460814260247276, 0.628908346671356},
        Row{3, 0.350170769421229, 0.0411813798013336, 0.278083637356042, 0.440944921905134},
        Row{6, 0.201192507738599, 0.0356520548936698, 0.142159454716465, 0.284739592247874},
        Row{12, 0.0644552656370799, 0.0230735853145334, 0.0319555823019728, 0.130007997635207}}) {
    const auto at = survival_at(km, r.t);
    EXPECT_NEAR(at.survival, r.surv, 1e-12) << r.t;
    EXPECT_NEAR(at.std_err, r.se, 1e-12) << r.t;
    EXPECT_NEAR(at.lower, r.lower, 1e-12) << r.t;
    EXPECT_NEAR(at.upper, r.upper, 1e-12) << r.t;
  }
}

// R: survdiff(Surv(time, status) ~ trt, vet0): observed 64 64, expected 64.4135423344831
// 63.5864576655169, chisq 0.00709406225566519.
TEST(LogRank, MatchesRsSurvdiff_WhenTimesAreZero) {
  const auto v = veteran_months();
  std::vector<int> group;
  for (double trt : v.covariates[3])
    group.push_back(int(trt) - 1);
  const auto lr = log_rank_test(v.time, v.event, group);
  EXPECT_EQ(lr.observed, (std::vector<double>{64, 64}));
  EXPECT_NEAR(lr.expected[0], 64.4135423344831, 1e-9);
  EXPECT_NEAR(lr.expected[1], 63.5864576655169, 1e-9);
  EXPECT_NEAR(lr.chi2, 0.00709406225566519, 1e-12);
}

TEST(ModelComparison, BootstrapsWithoutFailures_WhenTimesAreZero) {
  const auto v = veteran_months();
  const auto cmp =
      compare_models(v.time, v.event, {v.covariates[1]}, {"age"}, v.covariates, v.names, 20, 3);
  EXPECT_EQ(cmp.resamples, 20);
  EXPECT_EQ(cmp.failed_resamples, 0);
  EXPECT_NEAR(cmp.c_image, 0.74025634318598, 1e-12);
  EXPECT_GT(cmp.c_difference, 0.1); // karno carries the signal, age alone does not
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SurvivalInputs, NegativeOrNonFiniteTimeIsAnErrorNamingTheRow_InEveryFunction) {
  const std::vector<double> negative{0, 2, -1, 4}, nan{0, std::nan(""), 3, 4},
      infinite{0, 2, 3, HUGE_VAL}, x{0.3, 0.1, 0.4, 0.2};
  const std::vector<int> event{1, 1, 0, 1};
  const std::string rule = ": times must be finite and 0 or more";
  EXPECT_EQ(error_of([&] { fit_cox(negative, event, {x}, {"x"}); }),
            "Cox model: time of row 3 is -1" + rule);
  EXPECT_EQ(error_of([&] { fit_cox(nan, event, {x}, {"x"}); }),
            "Cox model: time of row 2 is nan" + rule);
  EXPECT_EQ(error_of([&] { harrell_c(infinite, event, x); }),
            "concordance: time of row 4 is inf" + rule);
  EXPECT_EQ(error_of([&] { uno_c(negative, event, x); }), "Uno's C: time of row 3 is -1" + rule);
  EXPECT_EQ(error_of([&] { kaplan_meier(nan, event); }),
            "Kaplan-Meier: time of row 2 is nan" + rule);
  EXPECT_EQ(error_of([&] {
              log_rank_test(negative, event, {0, 1, 0, 1});
            }),
            "log-rank test: time of row 3 is -1" + rule);
  EXPECT_EQ(error_of([&] { compare_models(infinite, event, {x}, {"x"}, {x}, {"x"}, 5); }),
            "Cox model: time of row 4 is inf" + rule);
  EXPECT_EQ(error_of([&] { optimism_corrected_c(negative, event, {x}, {"x"}, 5); }),
            "Cox model: time of row 3 is -1" + rule);
  EXPECT_EQ(error_of([&] { breslow_baseline(nan, event, x); }),
            "Breslow baseline hazard: time of row 2 is nan" + rule);
  EXPECT_EQ(error_of([&] { calibration_by_risk_group(negative, event, x, 2, 2); }),
            "calibration by risk group: time of row 3 is -1" + rule);
  // Zero itself is fine everywhere.
  EXPECT_EQ(error_of([&] {
              const std::vector<double> zeros{0, 0, 1, 2};
              fit_cox(zeros, event, {x}, {"x"});
              harrell_c(zeros, event, x);
              uno_c(zeros, event, x);
              kaplan_meier(zeros, event);
              log_rank_test(zeros, event, {0, 1, 0, 1});
              breslow_baseline(zeros, event, x);
              calibration_by_risk_group(zeros, event, x, 0, 2);
            }),
            "no error");
}

} // namespace
