// Kaplan–Meier curves by group and the log-rank test against R's survfit and survdiff
// (tests/plots/reference/make_reference.R prints the values recorded here).
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using namespace vfp::survival;

struct Lung {
  std::vector<double> time, age, sex, ecog;
  std::vector<int> status;
};

Lung lung() {
  const auto c =
      vfp::read_csv_columns(std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/lung.csv",
                            {"time", "status", "age", "sex", "ph.ecog"});
  Lung l{c.at("time"), c.at("age"), c.at("sex"), c.at("ph.ecog"), {}};
  for (double s : c.at("status"))
    l.status.push_back(int(s));
  return l;
}

struct Reference {
  std::vector<int> n;
  std::vector<double> observed, expected;
  double chi2, p;
  std::vector<std::vector<double>> surv; ///< per group at 100, 300, 500 days (NaN: none)
};

void check(const std::vector<double>& time, const std::vector<int>& status,
           const std::vector<int>& group, const Reference& r) {
  const auto test = log_rank_test(time, status, group);
  ASSERT_EQ(test.subjects, r.n);
  EXPECT_EQ(test.df, int(r.n.size()) - 1);
  for (std::size_t g = 0; g < r.n.size(); ++g) {
    EXPECT_DOUBLE_EQ(test.observed[g], r.observed[g]) << g;
    EXPECT_NEAR(test.expected[g], r.expected[g], 1e-10) << g;
  }
  EXPECT_NEAR(test.chi2, r.chi2, 1e-10);
  EXPECT_NEAR(test.p, r.p, 1e-10 * std::max(1.0, r.p));
  for (std::size_t g = 0; g < r.n.size(); ++g) {
    std::vector<double> t;
    std::vector<int> e;
    for (std::size_t i = 0; i < time.size(); ++i)
      if (group[i] == int(g)) {
        t.push_back(time[i]);
        e.push_back(status[i]);
      }
    const auto km = kaplan_meier(t, e);
    const double times[] = {100, 300, 500};
    for (std::size_t k = 0; k < r.surv[g].size(); ++k)
      EXPECT_NEAR(survival_at(km, times[k]).survival, r.surv[g][k], 1e-13) << g << " " << k;
  }
}

TEST(LogRank, MatchesRsSurvdiffAndSurvfitForTwoGroups) {
  const auto l = lung();
  std::vector<int> group;
  for (double s : l.sex)
    group.push_back(int(s) - 1);
  check(l.time, l.status, group,
        {{137, 90},
         {111, 53},
         {90.9579028519079, 73.0420971480922},
         10.0081738056988,
         0.00155846981751004,
         {{0.832116788321168, 0.444308520045468, 0.224840971738241},
          {0.922088353413655, 0.674202586048924, 0.411046135106688}}});
}

TEST(LogRank, MatchesRsSurvdiffForFourGroupsOneOfThemASingleSubject) {
  const auto l = lung();
  std::vector<int> group;
  for (double s : l.ecog)
    group.push_back(int(s));
  check(l.time, l.status, group,
        {{63, 113, 50, 1},
         {37, 82, 44, 1},
         {54.1526970189229, 83.5275645750819, 26.1473530653302, 0.172385340664962},
         21.962131682476,
         6.64253535580017e-05,
         {{0.888888888888889, 0.727395154373928, 0.374518349205596},
          {0.902654867256637, 0.526980068453164, 0.305440254538529},
          {0.758974358974359, 0.310153846153846, 0.167005917159763},
          {1.0}}});
}

TEST(LogRank, MatchesRsSurvdiffOnTertilesFromRiskGroups) {
  // The report's use: tertiles of a score (here age) by risk_groups, whose rule the R script
  // reproduces.
  const auto l = lung();
  check(l.time, l.status, risk_groups(l.age, 3),
        {{83, 77, 67},
         {56, 55, 53},
         {64.2034313542291, 56.6013776561501, 43.1951909896208},
         3.35153129604448,
         0.187164822232388,
         {{0.927710843373494, 0.58806165286844, 0.323268051468608},
          {0.844155844155844, 0.507163295082732, 0.360323750488037},
          {0.82089552238806, 0.494326971399315, 0.202008618119912}}});
}

TEST(LogRank, RejectsMismatchedInputAndASingleGroup) {
  EXPECT_THROW(log_rank_test({1, 2}, {1, 0}, {0}), vfp::InputError);
  EXPECT_THROW(log_rank_test({1, 2, 3}, {1, 0, 1}, {0, 0, 0}), vfp::InputError);
  // Identical groups: no evidence against equal survival.
  const auto same = log_rank_test({1, 2, 3, 1, 2, 3}, {1, 1, 0, 1, 1, 0}, {0, 0, 0, 1, 1, 1});
  EXPECT_NEAR(same.chi2, 0.0, 1e-15);
  EXPECT_NEAR(same.p, 1.0, 1e-12);
}

} // namespace
