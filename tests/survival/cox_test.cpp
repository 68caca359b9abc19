// The Cox model against R's coxph on two clinical datasets shipped with R's survival package,
// against planted hazard ratios, and its errors.
#include "core/core.h"
#include "survival/survival.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>

namespace {

using namespace vfp::survival;

using Table = std::map<std::string, std::vector<double>>;

/// Columns of tests/survival/reference/<name>, as written by R's write.csv.
Table read_csv(const std::string& name, const std::vector<std::string>& columns) {
  return vfp::read_csv_columns(std::string(VFP_SOURCE_DIR) + "/tests/survival/reference/" + name,
                               columns);
}

std::vector<int> as_events(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

/// Relative agreement, as the issue asks of coefficients, HRs, CIs and log-likelihoods.
void expect_rel(double ours, double r, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(ours - r), tolerance * std::abs(r))
      << what << ": ours " << ours << ", R " << r;
}

struct RTerm {
  double coef, se, lower, upper, p;
};
struct RFit {
  std::vector<RTerm> terms;
  double loglik_null, loglik, lr_chi2, concordance;
};

void expect_matches_r(const CoxFit& fit, const RFit& r, const std::vector<double>& time,
                      const std::vector<int>& event, const std::string& label) {
  ASSERT_TRUE(fit.converged) << label;
  ASSERT_EQ(fit.terms.size(), r.terms.size());
  for (std::size_t k = 0; k < r.terms.size(); ++k) {
    const auto& t = fit.terms[k];
    const auto& e = r.terms[k];
    const auto what = label + " " + t.name;
    expect_rel(t.coef, e.coef, 1e-6, what + " coef");
    expect_rel(t.hr, std::exp(e.coef), 1e-6, what + " HR");
    expect_rel(t.se, e.se, 1e-6, what + " se");
    expect_rel(t.hr_lower, e.lower, 1e-6, what + " lower 95 %");
    expect_rel(t.hr_upper, e.upper, 1e-6, what + " upper 95 %");
    expect_rel(t.p, e.p, 1e-5, what + " p");
  }
  expect_rel(fit.loglik_null, r.loglik_null, 1e-9, label + " null log-likelihood");
  expect_rel(fit.loglik, r.loglik, 1e-9, label + " log-likelihood");
  expect_rel(fit.lr_chi2, r.lr_chi2, 1e-6, label + " likelihood-ratio chi2");
  EXPECT_NEAR(harrell_c(time, event, fit.linear_predictor).c, r.concordance, 1e-9) << label;
}

// Reference values: R 4.2.2, survival 3.5-3 (Debian 12), printed by
// tests/survival/reference/make_reference.R with options(digits = 15):
//   coxph(Surv(time, status) ~ age + sex + ph.ecog, lung_cc, ties = "efron" | "breslow")
//   coxph(Surv(time, status) ~ karno + age + diagtime + trt, veteran, ties = ...)
//   concordance(Surv(time, status) ~ predict(fit, type = "lp"), reverse = TRUE)
// per term: coef, se(coef), lower .95, upper .95 of exp(coef), Pr(>|z|); then the null and
// fitted log partial likelihoods, the likelihood-ratio chi2 and the concordance.
const RFit kLungEfron{{{0.0110667645600735, 0.00926741101370053, 0.992928097169850,
                        1.029661962242155, 2.32415680999612e-01},
                       {-0.5526123957036310, 0.16773905378726350, 0.414213018549172,
                        0.799435127387147, 9.86051372138453e-04},
                       {0.4637284753704277, 0.11357726616199662, 1.272675177774297,
                        1.986423581287590, 4.44706665185681e-05}},
                      -744.48045576144,
                      -729.230121374862,
                      30.5006687731566,
                      0.637135493000455};
const RFit kLungBreslow{{{0.0110411363494885, 0.00926677011353555, 0.992903897752308,
                          1.029634280819800, 2.33466681401134e-01},
                         {-0.5518895697875973, 0.16774244802101848, 0.414509773121360,
                          0.800018510875267, 1.00151482786563e-03},
                         {0.4629470405901639, 0.11357405206130104, 1.271689064606103,
                          1.984859423445843, 4.57837314670287e-05}},
                        -744.692819266161,
                        -729.488705176774,
                        30.4082281787737,
                        0.637135493000455};
const RFit kVeteranEfron{{{-0.034410750121003378, 0.00527210901860570, 0.956242349955393,
                           0.976209946754668, 6.71259959369908e-11},
                          {-0.003815682415339265, 0.00923792869062498, 0.978316844101604,
                           1.014392919927811, 6.79573473168445e-01},
                          {0.000435068362228141, 0.00832600482807026, 0.984241877926128,
                           1.016894868883400, 9.58326180912296e-01},
                          {0.189051863980700591, 0.18577862936490583, 0.839400310083581,
                           1.738758384929297, 3.08859051950486e-01}},
                         -505.449054918058,
                         -483.876623825701,
                         43.1448621847147,
                         0.711949114039073};
const RFit kVeteranBreslow{{{-0.034212856026198453, 0.00526984941789123, 0.956435839187575,
                             0.97639882783265, 8.45982873114931e-11},
                            {-0.003736993240412627, 0.00924221266821822, 0.978385615083468,
                             1.01448126280748, 6.85962956051452e-01},
                            {0.000224755918821061, 0.00832071053691732, 0.984045112386713,
                             1.01667047606865, 9.78450461424834e-01},
                            {0.185200117537346054, 0.18571211278992672, 0.836282390693744,
                             1.73184821409896, 3.18646539586478e-01}},
                           -505.883956283116,
                           -484.538831158975,
                           42.6902502482814,
                           0.712176283507497};

/// Fits `covariates` of tests/survival/reference/<file> with both tie rules and compares each
/// with R's fit; returns the number of subjects. `days_per_unit` rescales the times to
/// floor(time / days_per_unit), as make_reference.R's vet0.
int expect_both_tie_rules_match_r(const std::string& file,
                                  const std::vector<std::string>& covariates, const RFit& efron,
                                  const RFit& breslow, double days_per_unit = 0) {
  auto columns = covariates;
  columns.insert(columns.end(), {"time", "status"});
  auto t = read_csv(file, columns);
  if (days_per_unit > 0)
    for (auto& time : t.at("time"))
      time = std::floor(time / days_per_unit);
  const auto event = as_events(t.at("status"));
  std::vector<std::vector<double>> x;
  for (const auto& name : covariates)
    x.push_back(t.at(name));
  const auto fit = fit_cox(t.at("time"), event, x, covariates);
  expect_matches_r(fit, efron, t.at("time"), event, file + " efron");
  CoxOptions options;
  options.ties = Ties::kBreslow;
  expect_matches_r(fit_cox(t.at("time"), event, x, covariates, options), breslow, t.at("time"),
                   event, file + " breslow");
  return fit.n;
}

TEST(CoxModel, MatchesRsCoxphOnTheLungData) {
  EXPECT_EQ(expect_both_tie_rules_match_r("lung.csv", {"age", "sex", "ph.ecog"}, kLungEfron,
                                          kLungBreslow),
            227);
}

TEST(CoxModel, MatchesRsCoxphOnTheVeteranData) {
  EXPECT_EQ(expect_both_tie_rules_match_r("veteran.csv", {"karno", "age", "diagtime", "trt"},
                                          kVeteranEfron, kVeteranBreslow),
            137);
}

// Times of 0 (issue 22): the veteran data in whole months, floor(time / 30), 40 subjects at
// time 0 (39 events). R 4.2.2, survival 3.5-3, printed by make_reference.R ("veteran months"):
//   coxph(Surv(time, status) ~ karno + age + diagtime + trt, vet0, ties = "efron" | "breslow")
const RFit kVeteranMonthsEfron{{{-0.033498422474308898, 0.00523748715354813, 0.957180104118621,
                                 0.97703467498573, 1.59608747569800e-10},
                                {-0.002149153040255265, 0.00913435901997211, 0.980147539889753,
                                 1.01587860795709, 8.13989628629228e-01},
                                {0.000403486235533416, 0.00845832284555990, 0.983955583260704,
                                 1.01712649959707, 9.61953050509550e-01},
                                {0.198500104622030799, 0.18500858417629915, 0.848648616854668,
                                 1.75261729263673, 2.83305327309855e-01}},
                               -506.381311132007,
                               -485.697642337701,
                               41.3673375886127,
                               0.74025634318598};
const RFit kVeteranMonthsBreslow{{{-2.77415575851989e-02, 0.00515884062440710, 0.962854759519140,
                                   0.982524090683798, 7.55359825043971e-08},
                                  {-1.83430341885905e-04, 0.00909008358652201, 0.982161359626268,
                                   1.017789181791636, 9.83900444445418e-01},
                                  {6.97767447304399e-05, 0.00855691377231879, 0.983437230199448,
                                   1.016983628964979, 9.93493779204870e-01},
                                  {1.29865483709315e-01, 0.18410363305276670, 0.793762479656386,
                                   1.633462465634201, 4.80565463552987e-01}},
                                 -521.354782827788,
                                 -506.544619670547,
                                 29.620326314483,
                                 0.73907925712791};

TEST(CoxModel, MatchesRsCoxph_WhenTimesAreZero) {
  EXPECT_EQ(expect_both_tie_rules_match_r("veteran.csv", {"karno", "age", "diagtime", "trt"},
                                          kVeteranMonthsEfron, kVeteranMonthsBreslow, 30),
            137);
}

// Uno's C of the Efron fit's linear predictor, untruncated and truncated at 365 days:
// R 4.2.2, survival 3.5-3, printed by make_reference.R:
//   concordance(Surv(time, status) ~ lp, reverse = TRUE, timewt = "n/G2", ymax = tau)
TEST(UnoConcordance, MatchesRsCensoringWeightedConcordance) {
  struct Case {
    std::string file;
    std::vector<std::string> covariates;
    double untruncated, at_365;
  };
  for (const auto& c :
       {Case{"lung.csv", {"age", "sex", "ph.ecog"}, 0.62614829521427, 0.633096748424652},
        Case{"veteran.csv",
             {"karno", "age", "diagtime", "trt"},
             0.701326238425431,
             0.702907183840329}}) {
    auto columns = c.covariates;
    columns.insert(columns.end(), {"time", "status"});
    const auto t = read_csv(c.file, columns);
    const auto event = as_events(t.at("status"));
    std::vector<std::vector<double>> x;
    for (const auto& name : c.covariates)
      x.push_back(t.at(name));
    const auto lp = fit_cox(t.at("time"), event, x, c.covariates).linear_predictor;
    EXPECT_NEAR(uno_c(t.at("time"), event, lp).c, c.untruncated, 1e-9) << c.file;
    EXPECT_NEAR(uno_c(t.at("time"), event, lp, 365).c, c.at_365, 1e-9) << c.file;
    // Without censoring G is 1 everywhere: Uno's C is Harrell's.
    const std::vector<int> all_events(event.size(), 1);
    EXPECT_NEAR(uno_c(t.at("time"), all_events, lp).c, harrell_c(t.at("time"), all_events, lp).c,
                1e-15);
  }
}

TEST(CoxModel, RecoversPlantedHazardRatiosWithinTheirIntervals) {
  // Exponential baseline, two covariates with log-HR 0.7 and −0.4, uniform censoring.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> time, x1, x2;
  std::vector<int> event;
  for (int i = 0; i < 2000; ++i) {
    const double a = normal(rng), b = unit(rng) < 0.4 ? 1.0 : 0.0;
    const double t = expo(rng) / (0.1 * std::exp(0.7 * a - 0.4 * b));
    const double censor = 30 * unit(rng);
    x1.push_back(a);
    x2.push_back(b);
    time.push_back(std::min(t, censor));
    event.push_back(t <= censor);
  }
  const auto fit = fit_cox(time, event, {x1, x2}, {"a", "b"});
  ASSERT_TRUE(fit.converged);
  EXPECT_LT(fit.terms[0].hr_lower, std::exp(0.7));
  EXPECT_GT(fit.terms[0].hr_upper, std::exp(0.7));
  EXPECT_LT(fit.terms[1].hr_lower, std::exp(-0.4));
  EXPECT_GT(fit.terms[1].hr_upper, std::exp(-0.4));
  EXPECT_LT(fit.lr_p, 1e-10);
  // Per SD: exp(coef · SD) with the sample SD, the interval scaled the same way.
  const auto& a = fit.terms[0];
  EXPECT_NEAR(a.hr_per_sd, std::exp(a.coef * a.sd), 1e-12);
  EXPECT_NEAR(std::log(a.hr_per_sd_upper) / std::log(a.hr_upper), a.sd, 1e-9);
  EXPECT_TRUE(fit.warnings.empty());
}

TEST(CoxModel, EfronAndBreslowAgreeWithoutTiedTimes) {
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::vector<double> time, x;
  std::vector<int> event;
  for (int i = 0; i < 200; ++i) {
    x.push_back(normal(rng));
    time.push_back(expo(rng) / std::exp(0.5 * x.back()));
    event.push_back(i % 4 != 0);
  }
  CoxOptions breslow;
  breslow.ties = Ties::kBreslow;
  const auto e = fit_cox(time, event, {x}, {"x"});
  const auto b = fit_cox(time, event, {x}, {"x"}, breslow);
  EXPECT_NEAR(e.terms[0].coef, b.terms[0].coef, 1e-12);
  EXPECT_NEAR(e.loglik, b.loglik, 1e-9);
}

TEST(CoxModel, SeparationWarnsAndStaysFinite) {
  // Every subject with x = 1 fails before every subject with x = 0: the MLE is infinite.
  std::vector<double> time, x;
  std::vector<int> event;
  for (int i = 0; i < 20; ++i) {
    x.push_back(i < 10 ? 1 : 0);
    time.push_back(i + 1);
    event.push_back(1);
  }
  const auto fit = fit_cox(time, event, {x}, {"x"});
  EXPECT_TRUE(std::isfinite(fit.terms[0].coef));
  EXPECT_TRUE(std::isfinite(fit.loglik));
  ASSERT_FALSE(fit.warnings.empty());
  bool named = false;
  for (const auto& w : fit.warnings)
    named = named || w.find("coefficient of x may be infinite") != std::string::npos;
  EXPECT_TRUE(named) << fit.warnings.front();
}

TEST(CoxModel, BadInputIsAnErrorNamingIt) {
  auto message = [](auto&& call) {
    try {
      call();
    } catch (const vfp::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::vector<double> t{1, 2, 3, 4}, x{0.1, 0.5, 0.2, 0.9}, constant{2, 2, 2, 2};
  EXPECT_NE(message([&] {
              fit_cox(t, {1, 0, 1, 0}, {x, constant}, {"x", "sex"});
            }).find("covariate sex is constant"),
            std::string::npos);
  EXPECT_NE(message([&] {
              fit_cox(t, {0, 0, 0, 0}, {x}, {"x"});
            }).find("every subject is censored"),
            std::string::npos);
  EXPECT_NE(message([&] {
              fit_cox(t, {1, 2, 0, 0}, {x}, {"x"});
            }).find("event of row 2 is 2"),
            std::string::npos);
  EXPECT_EQ(message([&] {
              fit_cox({1, -2, 3, 4}, {1, 0, 1, 0}, {x}, {"x"});
            }),
            "Cox model: time of row 2 is -2: times must be finite and 0 or more");
  EXPECT_EQ(message([&] {
              fit_cox({1, 2, 3, INFINITY}, {1, 0, 1, 0}, {x}, {"x"});
            }),
            "Cox model: time of row 4 is inf: times must be finite and 0 or more");
}

std::string error_of(const std::vector<std::vector<double>>& covariates,
                     const std::vector<std::string>& names) {
  const std::vector<double> time{5, 1, 4, 2, 8, 3, 7, 6};
  const std::vector<int> event{1, 1, 0, 1, 1, 0, 1, 1};
  try {
    fit_cox(time, event, covariates, names);
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CoxModel, CollinearCovariatesAreAnErrorNamingThem_WhenOneIsAMultipleOfAnother) {
  const std::vector<double> bmi{22.5, 31.2, 27.8, 24.1, 29.9, 35.0, 26.3, 23.7};
  std::vector<double> bmi2, age{71, 80, 66, 75, 69, 83, 77, 72};
  for (double b : bmi)
    bmi2.push_back(2 * b);
  EXPECT_EQ(error_of({bmi, age, bmi2}, {"bmi", "age", "bmi2"}),
            "Cox model: covariates 'bmi' and 'bmi2' are exactly collinear (bmi2 = 2·bmi): their "
            "hazard ratios are not identifiable; drop one of each set");
  // A unit change with an offset: °F = 1.8·°C + 32.
  const std::vector<double> celsius{36.6, 37.2, 38.1, 36.9, 37.5, 39.0, 36.8, 37.0};
  std::vector<double> fahrenheit;
  for (double c : celsius)
    fahrenheit.push_back(1.8 * c + 32);
  EXPECT_EQ(error_of({celsius, fahrenheit}, {"temp_c", "temp_f"}),
            "Cox model: covariates 'temp_c' and 'temp_f' are exactly collinear (temp_f = "
            "1.8·temp_c + 32): their hazard ratios are not identifiable; drop one of each set");
}

TEST(CoxModel, CollinearCovariatesAreAnErrorNamingEveryOneInvolved_WhenSeveralAreDependent) {
  // total = a + b − c: one dependency among four columns; age is not part of it.
  const std::vector<double> a{1, 0, 3, 2, 5, 1, 4, 2}, b{2, 2, 1, 0, 3, 5, 1, 4},
      c{0, 1, 1, 3, 2, 2, 0, 1}, age{71, 80, 66, 75, 69, 83, 77, 72};
  std::vector<double> total;
  for (std::size_t i = 0; i < a.size(); ++i)
    total.push_back(a[i] + b[i] - c[i]);
  EXPECT_EQ(error_of({a, age, b, c, total}, {"a", "age", "b", "c", "total"}),
            "Cox model: covariates 'a', 'b', 'c' and 'total' are exactly collinear (total = a + b "
            "- c): their hazard ratios are not identifiable; drop one of each set");
  // Two separate dependencies are both named.
  std::vector<double> twice_a, half_b;
  for (std::size_t i = 0; i < a.size(); ++i) {
    twice_a.push_back(2 * a[i]);
    half_b.push_back(b[i] / 2);
  }
  EXPECT_EQ(error_of({a, b, twice_a, half_b}, {"a", "b", "a2", "b_half"}),
            "Cox model: covariates 'a' and 'a2' are exactly collinear (a2 = 2·a); covariates 'b' "
            "and 'b_half' are exactly collinear (b_half = 0.5·b): their hazard ratios are not "
            "identifiable; drop one of each set");
}

TEST(CoxModel, NearlyCollinearCovariatesStillFit_WhenTheyDifferBeyondRounding) {
  // bmi and a copy rounded to one decimal: strongly correlated, not exactly collinear.
  const std::vector<double> bmi{22.53, 31.21, 27.84, 24.18, 29.96, 35.02, 26.37, 23.75};
  std::vector<double> rounded;
  for (double v : bmi)
    rounded.push_back(std::round(v * 10) / 10);
  EXPECT_EQ(error_of({bmi, rounded}, {"bmi", "bmi_rounded"}), "no error");
}

TEST(HazardRatioFormat, PrintsFixedDecimals_WhenWithinRange) {
  EXPECT_EQ(format_hazard_ratio(1.23456), "1.23");
  EXPECT_EQ(format_hazard_ratio(1.23456, 3), "1.235");
  EXPECT_EQ(format_hazard_ratio(0.5, 0), "0");
  EXPECT_EQ(format_hazard_ratio(1e6), "1000000.00");
  EXPECT_EQ(format_hazard_ratio(1e-6, 7), "0.0000010");
}

TEST(HazardRatioFormat, PrintsABound_WhenOverflowingOrUnderflowing) {
  EXPECT_EQ(format_hazard_ratio(std::exp(345.0)), "> 1e6"); // not 150 digits
  EXPECT_EQ(format_hazard_ratio(1.0000001e6), "> 1e6");
  EXPECT_EQ(format_hazard_ratio(INFINITY), "> 1e6");
  EXPECT_EQ(format_hazard_ratio(9.9e-7), "< 1e-6");
  EXPECT_EQ(format_hazard_ratio(std::exp(-800.0)), "< 1e-6"); // underflows to 0
  EXPECT_EQ(format_hazard_ratio(NAN, 3), "NaN");
}

TEST(ChiSquare, UpperTailMatchesClosedForms) {
  // df 1: erfc(√(x/2)); df 2: e^{−x/2}; df 3: erfc(√(x/2)) + √(2x/π)·e^{−x/2}.
  for (double x : {0.01, 0.5, 1.0, 3.841458820694124, 10.0, 40.0}) {
    EXPECT_NEAR(chi2_upper_tail(x, 1), std::erfc(std::sqrt(x / 2)), 1e-13) << x;
    EXPECT_NEAR(chi2_upper_tail(x, 2), std::exp(-x / 2), 1e-13) << x;
    EXPECT_NEAR(chi2_upper_tail(x, 3),
                std::erfc(std::sqrt(x / 2)) + std::sqrt(2 * x / M_PI) * std::exp(-x / 2), 1e-13)
        << x;
  }
  EXPECT_NEAR(chi2_upper_tail(3.841458820694124, 1), 0.05, 1e-12);
  EXPECT_DOUBLE_EQ(chi2_upper_tail(0, 4), 1.0);
}

} // namespace
