// Kaplan–Meier with Greenwood's variance against R's survfit, and risk groups.
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

namespace {

using namespace vfp::survival;

TEST(KaplanMeier, MatchesRsSurvfitOnTheLungData) {
  const auto lung = vfp::read_csv_columns(
      std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/lung.csv", {"time", "status"});
  const auto& time = lung.at("time");
  const std::vector<int> event(lung.at("status").begin(), lung.at("status").end());
  const auto km = kaplan_meier(time, event);
  EXPECT_EQ(km.time.size(), 185u); // distinct times, as length(fit$time)
  // R 4.2.2, survival 3.5-3: summary(survfit(Surv(time, status) ~ 1, lung_cc),
  //   times = c(5, 100, 305, 500, 800)): surv, std.err, lower, upper (conf.type "log").
  struct Row {
    double t, surv, se, lower, upper;
  };
  for (const auto& r :
       {Row{5, 0.9955947136563876, 0.00439557235969935, 0.9870167175829182, 1.0},
        Row{100, 0.8677749983397163, 0.02248908589589974, 0.8247979292290669, 0.912991438336115},
        Row{305, 0.5151762826119285, 0.03503993599719853, 0.4508800532082138, 0.588641258972001},
        Row{500, 0.2945611284856287, 0.03520854697163449, 0.2330409868173673, 0.372321880368303},
        Row{800, 0.0786603295555688, 0.02472418639782550, 0.0424824589173274, 0.145647111854606}}) {
    const auto at = survival_at(km, r.t);
    EXPECT_NEAR(at.survival, r.surv, 1e-12) << r.t;
    EXPECT_NEAR(at.std_err, r.se, 1e-12) << r.t;
    EXPECT_NEAR(at.lower, r.lower, 1e-12) << r.t;
    EXPECT_NEAR(at.upper, r.upper, 1e-12) << r.t;
  }
  EXPECT_DOUBLE_EQ(survival_at(km, 1).survival, 1.0); // before the first time
}

TEST(KaplanMeier, WithoutCensoringItIsTheEmpiricalSurvivalFunction) {
  const auto km = kaplan_meier({3, 1, 2, 2, 5}, {1, 1, 1, 1, 1});
  ASSERT_EQ(km.time, (std::vector<double>{1, 2, 3, 5}));
  EXPECT_DOUBLE_EQ(km.survival[0], 0.8);
  EXPECT_DOUBLE_EQ(km.survival[1], 0.4);
  EXPECT_DOUBLE_EQ(km.survival[2], 0.2);
  EXPECT_DOUBLE_EQ(km.survival[3], 0.0);
  EXPECT_EQ(km.at_risk, (std::vector<int>{5, 4, 2, 1}));
  EXPECT_THROW(kaplan_meier({1, 2}, {1}), vfp::InputError);
}

TEST(RiskGroups, SplitScoresIntoQuantileGroupsKeepingTiesTogether) {
  const auto g = risk_groups({0.9, 0.1, 0.5, 0.3, 0.7, 0.2}, 3);
  EXPECT_EQ(g, (std::vector<int>{2, 0, 1, 1, 2, 0}));
  const auto tied = risk_groups({1, 1, 1, 2}, 2);
  EXPECT_EQ(tied, (std::vector<int>{0, 0, 0, 1}));
  EXPECT_THROW(risk_groups({1, 2}, 3), vfp::InputError);
}

} // namespace
