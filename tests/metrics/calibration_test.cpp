// Calibration: logistic fits, calibration intercept and slope, Brier score and reliability bins
// against R's glm on a fixed data set, the recalibration of a prior-shifted score, and the
// errors a user sees.
#include "core/core.h"
#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

namespace {

using namespace vfp::metrics;

/// tests/metrics/reference/calibration.csv: 300 subjects written by make_calibration_reference.R
/// (set.seed(20240517)): a covariate x, a predicted probability p, the outcome y, a fold 0–4.
struct Reference {
  std::vector<double> x, p;
  std::vector<int> y, fold;
};
Reference read_reference() {
  const auto t = vfp::read_csv_columns(std::string(VFP_SOURCE_DIR) +
                                           "/tests/metrics/reference/calibration.csv",
                                       {"x", "p", "y", "fold"});
  Reference r;
  r.x = t.at("x");
  r.p = t.at("p");
  r.y.assign(t.at("y").begin(), t.at("y").end());
  r.fold.assign(t.at("fold").begin(), t.at("fold").end());
  return r;
}

/// |actual − expected| ≤ rel · |expected|.
void expect_relative(double actual, double expected, double rel, const char* what) {
  EXPECT_NEAR(actual, expected, rel * std::abs(expected)) << what;
}

template <class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

/// A portable generator (the standard distributions differ between standard libraries).
struct Lcg {
  std::uint64_t x;
  double uniform() {
    x = 6364136223846793005ULL * x + 1442695040888963407ULL;
    return (double(x >> 11) + 0.5) * std::ldexp(1.0, -53);
  }
  double normal() { // Box–Muller
    const double u = uniform(), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
  }
};

double sigmoid(double v) {
  return 1 / (1 + std::exp(-v));
}

} // namespace

TEST(Logit, IsTheLogOdds_ClampedAt1e7) {
  EXPECT_DOUBLE_EQ(logit(0.5), 0.0);
  EXPECT_DOUBLE_EQ(logit(0.8), std::log(4.0));
  EXPECT_DOUBLE_EQ(logit(0.0), std::log(1e-7 / (1 - 1e-7)));
  EXPECT_NEAR(logit(1.0), -logit(0.0), 1e-8); // 1 − 1e-7 is not exact in binary
  EXPECT_DOUBLE_EQ(logit(-3.0), logit(0.0));
}

// R 4.2.2, printed by tests/metrics/reference/make_calibration_reference.R:
//   glm(y ~ x, binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
//   summary(fit)$coefficients[, 1:2]
// (R's default control stops earlier: coefficients agree to 1e-12, SEs to 5e-8.)
TEST(FitLogistic, MatchesRsGlm_OnTheReferenceData) {
  const auto d = read_reference();
  const auto fit = fit_logistic(d.x, d.y);
  EXPECT_TRUE(fit.converged);
  expect_relative(fit.intercept, -0.32968993516676076, 1e-6, "intercept");
  expect_relative(fit.slope, 0.58677860240365143, 1e-6, "slope");
  expect_relative(fit.intercept_se, 0.17442554084411602, 1e-6, "intercept SE");
  expect_relative(fit.slope_se, 0.13011283305685264, 1e-6, "slope SE");
  EXPECT_LE(fit.iterations, 10);
}

// glm(y ~ 1, binomial, offset = x, control = tight): the slope held at 1.
TEST(FitLogistic, WithFixedSlope_MatchesRsOffsetGlm) {
  const auto d = read_reference();
  const auto fit = fit_logistic(d.x, d.y, true);
  EXPECT_TRUE(fit.converged);
  expect_relative(fit.intercept, 0.0045776022107513158, 1e-6, "intercept");
  expect_relative(fit.intercept_se, 0.14073401959449353, 1e-6, "intercept SE");
  EXPECT_EQ(fit.slope, 1.0);
  EXPECT_EQ(fit.slope_se, 0.0);
}

TEST(FitLogistic, IsNotConverged_WhenTheClassesAreSeparated) {
  // R: "fitted probabilities numerically 0 or 1 occurred"; the MLE is at infinity.
  const auto fit = fit_logistic({1, 2, 3, 4, 5, 6}, {0, 0, 0, 1, 1, 1});
  EXPECT_FALSE(fit.converged);
}

// make_calibration_reference.R on the reference p and y:
//   mean((p - y)^2); mean(p); mean(y)
//   glm(y ~ 1, offset = qlogis(p)) (calibration-in-the-large); glm(y ~ qlogis(p)) (slope)
//   bins by hand: sorted by p, the i-th (from 0) in bin floor(i · 10 / n); Wilson intervals
//   from prop.test(events, n, correct = FALSE)$conf.int
TEST(AssessCalibration, MatchesR_OnTheReferenceData) {
  const auto d = read_reference();
  const auto s = assess_calibration(d.p, d.y);
  EXPECT_EQ(s.n, 300);
  EXPECT_EQ(s.events, 86);
  EXPECT_NEAR(s.brier, 0.20258124375280995, 1e-14);
  EXPECT_NEAR(s.mean_predicted, 0.4129838837042597, 1e-14);
  EXPECT_NEAR(s.observed_rate, 0.28666666666666668, 1e-15);
  expect_relative(s.intercept, -0.61609939879801745, 1e-6, "calibration intercept");
  expect_relative(s.slope, 1.0078604734837995, 1e-6, "calibration slope");
  struct Bin {
    int events;
    double mean_predicted, lower, upper;
  };
  const Bin expected[] = {{3, 0.16315608829545911, 0.034599888747334176, 0.25621082579184079},
                          {6, 0.24188338138224322, 0.095051071772898746, 0.37305696413148254},
                          {2, 0.29977707257774761, 0.018477023791270392, 0.21323458362616918},
                          {5, 0.35101628387183675, 0.073365423718485506, 0.3356435050641603},
                          {9, 0.39337947793099387, 0.16664748268243801, 0.47875787458714952},
                          {10, 0.43753640953332124, 0.1923049808367614, 0.51219948355456146},
                          {9, 0.46509138379527837, 0.16664748268243801, 0.47875787458714952},
                          {15, 0.51572690339482763, 0.33154125640533771, 0.66845874359466229},
                          {10, 0.57312471158390954, 0.1923049808367614, 0.51219948355456146},
                          {17, 0.68914712467697969, 0.39197307000813608, 0.7262251442353348}};
  ASSERT_EQ(s.bins.size(), 10u);
  for (std::size_t b = 0; b < 10; ++b) {
    EXPECT_EQ(s.bins[b].n, 30) << "bin " << b;
    EXPECT_EQ(s.bins[b].events, expected[b].events) << "bin " << b;
    EXPECT_NEAR(s.bins[b].mean_predicted, expected[b].mean_predicted, 1e-14) << "bin " << b;
    EXPECT_DOUBLE_EQ(s.bins[b].observed, expected[b].events / 30.0) << "bin " << b;
    EXPECT_NEAR(s.bins[b].lower, expected[b].lower, 1e-12) << "bin " << b;
    EXPECT_NEAR(s.bins[b].upper, expected[b].upper, 1e-12) << "bin " << b;
  }
}

TEST(BrierScore, IsTheMeanSquaredError_ByHand) {
  // (0.1² + 0.2² + 0.7² + 0²) / 4 = 0.54 / 4
  EXPECT_DOUBLE_EQ(brier_score({0.1, 0.8, 0.7, 1.0}, {0, 1, 0, 1}), 0.135);
}

TEST(ReliabilityBins, AreEqualCountGroups_ByHand) {
  // 5 subjects in 2 bins: sorted ranks 0..4 → bins ⌊2i/5⌋ = 0, 0, 0, 1, 1.
  const auto bins = reliability_bins({0.9, 0.1, 0.5, 0.3, 0.7}, {1, 0, 1, 0, 0}, 2);
  ASSERT_EQ(bins.size(), 2u);
  EXPECT_EQ(bins[0].n, 3);
  EXPECT_EQ(bins[0].events, 1);
  EXPECT_DOUBLE_EQ(bins[0].mean_predicted, 0.3);
  EXPECT_DOUBLE_EQ(bins[0].observed, 1.0 / 3);
  EXPECT_EQ(bins[1].n, 2);
  EXPECT_EQ(bins[1].events, 1);
  EXPECT_DOUBLE_EQ(bins[1].mean_predicted, 0.8);
  // Wilson, 1 of 3: R 4.2.2, prop.test(1, 3, correct = FALSE)$conf.int.
  EXPECT_NEAR(bins[0].lower, 0.061491944720396291, 1e-12);
  EXPECT_NEAR(bins[0].upper, 0.79234039919795229, 1e-12);
}

TEST(ReliabilityBins, KeepTiesInOneBin_WhateverTheOrder) {
  // Ranks 0..5 in 3 bins would split the four 0.5s (ranks 1–4) over bins 0, 1, 2; they all
  // go with the first of them, into bin 0, and bin 1 stays empty (left out).
  const std::vector<double> p{0.5, 0.2, 0.5, 0.9, 0.5, 0.5};
  const std::vector<int> y{1, 0, 0, 1, 0, 1};
  const auto bins = reliability_bins(p, y, 3);
  ASSERT_EQ(bins.size(), 2u);
  EXPECT_EQ(bins[0].n, 5);
  EXPECT_EQ(bins[0].events, 2);
  EXPECT_EQ(bins[1].n, 1);
  const auto reversed = reliability_bins({p.rbegin(), p.rend()}, {y.rbegin(), y.rend()}, 3);
  ASSERT_EQ(reversed.size(), 2u);
  EXPECT_EQ(reversed[0].n, 5);
  EXPECT_EQ(reversed[0].events, 2);
}

TEST(ReliabilityBins, OfNoEvents_HaveAnIntervalFromZero) {
  const auto bins = reliability_bins({0.1, 0.2}, {0, 0}, 1);
  ASSERT_EQ(bins.size(), 1u);
  EXPECT_EQ(bins[0].lower, 0.0);
  // R 4.2.2: prop.test(0, 2, correct = FALSE)$conf.int = 0, 0.6576197724933468 (z²/(2 + z²)).
  EXPECT_NEAR(bins[0].upper, 0.6576197724933468, 1e-12);
}

// make_calibration_reference.R: z = qlogis(p) − log(3); glm(y ~ z) on all subjects, and for
// each fold f, glm(y ~ z) on the other folds, predict(type = "response") on fold f.
TEST(FitRecalibration, MatchesRsGlm_WithAPriorShift) {
  const auto d = read_reference();
  const auto r = fit_recalibration(d.p, d.y, std::log(3.0));
  EXPECT_DOUBLE_EQ(r.prior_shift, std::log(3.0));
  expect_relative(r.intercept, 0.49284734228425092, 1e-6, "intercept");
  expect_relative(r.slope, 1.0078604734838006, 1e-6, "slope");
  EXPECT_NEAR(r.probability(d.p[0]),
              sigmoid(r.intercept + r.slope * (std::log(d.p[0] / (1 - d.p[0])) - std::log(3.0))),
              1e-15);
}

TEST(CrossFittedProbabilities, MatchR_FittedOnTheOtherFolds) {
  const auto d = read_reference();
  const auto p = cross_fitted_probabilities(d.p, d.y, d.fold, std::log(3.0));
  ASSERT_EQ(p.size(), 300u);
  const double first[] = {0.060871045381302856, 0.1306761160455131, 0.10993830530233038,
                          0.19664340783127776, 0.30571513850541016};
  for (std::size_t i = 0; i < 5; ++i)
    expect_relative(p[i], first[i], 1e-6, "cross-fitted probability");
  expect_relative(std::accumulate(p.begin(), p.end(), 0.0) / 300, 0.28648005281003808, 1e-6,
                  "mean");
  expect_relative(brier_score(p, d.y), 0.18709755695636696, 1e-6, "Brier");
}

TEST(Recalibration, UndoesAPlantedPriorShift) {
  // Calibrated probabilities p (log-odds ~ N(−1.5, 1)) and outcomes drawn from them; the score
  // is what a class-weighted loss would give: logit(score) = logit(p) + log(w), w = negatives /
  // positives. Recalibrating with prior_shift = log(w) must find intercept ≈ 0 and slope ≈ 1.
  Lcg g{12345};
  const int n = 20000;
  std::vector<double> p(n), score(n);
  std::vector<int> y(n);
  for (int i = 0; i < n; ++i) {
    p[i] = sigmoid(-1.5 + g.normal());
    y[i] = g.uniform() < p[i] ? 1 : 0;
  }
  const int events = std::accumulate(y.begin(), y.end(), 0);
  const double w = double(n - events) / events, shift = std::log(w);
  for (int i = 0; i < n; ++i)
    score[i] = sigmoid(logit(p[i]) + shift);
  const double mean_score = std::accumulate(score.begin(), score.end(), 0.0) / n;
  const double rate = double(events) / n;
  const auto wilson = reliability_bins(std::vector<double>(n, 0.5), y, 1).at(0);
  ASSERT_GT(mean_score, wilson.upper) << "the shifted score must overstate the rate";

  const auto r = fit_recalibration(score, y, shift);
  std::vector<double> x(n);
  for (int i = 0; i < n; ++i)
    x[i] = logit(score[i]) - shift;
  const auto se = fit_logistic(x, y); // the same fit, for its standard errors
  EXPECT_NEAR(r.intercept, 0.0, 3 * se.intercept_se);
  EXPECT_NEAR(r.slope, 1.0, 3 * se.slope_se);
  double mean_calibrated = 0;
  for (double s : score)
    mean_calibrated += r.probability(s) / n;
  EXPECT_GE(mean_calibrated, wilson.lower);
  EXPECT_LE(mean_calibrated, wilson.upper);
  EXPECT_NEAR(mean_calibrated, rate, 1e-9); // the logistic score equation Σ (y − p) = 0
  // The calibrated probabilities are the true ones up to the estimates' noise.
  double worst = 0;
  for (int i = 0; i < n; ++i)
    worst = std::max(worst, std::abs(r.probability(score[i]) - p[i]));
  EXPECT_LT(worst, 0.05);
}

TEST(Recalibration, GivesTheSameProbabilities_WithOrWithoutThePriorShift) {
  // sigmoid(a + b·(logit s − c)) = sigmoid((a − b·c) + b·logit s): the shift only moves the
  // intercept, so that a well-calibrated score after the shift reads intercept 0, slope 1.
  const auto d = read_reference();
  const auto shifted = fit_recalibration(d.p, d.y, std::log(3.0));
  const auto plain = fit_recalibration(d.p, d.y, 0.0);
  EXPECT_NEAR(plain.intercept, shifted.intercept - shifted.slope * std::log(3.0), 1e-9);
  for (double s : {0.01, 0.3, 0.77})
    EXPECT_NEAR(plain.probability(s), shifted.probability(s), 1e-12);
}

TEST(CalibrationErrors, HaveExactMessages) {
  EXPECT_EQ(error_of([] {
              fit_logistic({1, 2, 3}, {1, 1, 1});
            }),
            "logistic fit is undefined: no negative labels among 3 samples");
  EXPECT_EQ(error_of([] {
              fit_logistic({1, 2, 3}, {0, 0, 0}, true);
            }),
            "logistic fit is undefined: no positive labels among 3 samples");
  EXPECT_EQ(error_of([] {
              fit_logistic({1, 2, 3}, {0, 1});
            }),
            "logistic fit: 3 values but 2 labels");
  EXPECT_EQ(error_of([] {
              fit_logistic({1, 2, 3}, {0, 2, 1});
            }),
            "logistic fit: label 2 at index 1 is not 0 or 1");
  EXPECT_EQ(error_of([] {
              fit_logistic({2, 2, 2}, {0, 1, 1});
            }),
            "logistic fit: every one of the 3 values is 2: the slope is undefined");
  EXPECT_EQ(error_of([] {
              brier_score({0.2, 1.5}, {0, 1});
            }),
            "Brier score: probability 1.5 at index 1 is outside [0, 1]");
  EXPECT_EQ(error_of([] {
              brier_score({0.2}, {0, 1});
            }),
            "Brier score: 1 probabilities but 2 labels");
  EXPECT_EQ(error_of([] {
              assess_calibration({std::numeric_limits<double>::quiet_NaN(), 0.5}, {0, 1});
            }),
            "calibration: probability nan at index 0 is outside [0, 1]");
  EXPECT_EQ(error_of([] {
              assess_calibration({-0.1, 0.5}, {0, 1});
            }),
            "calibration: probability -0.1 at index 0 is outside [0, 1]");
  EXPECT_EQ(error_of([] {
              assess_calibration({0.2, 0.5, 0.7, 0.1}, {1, 1, 1, 1});
            }),
            "calibration is undefined: no negative labels among 4 samples");
  EXPECT_EQ(error_of([] { reliability_bins({0.2}, {0}, 0); }),
            "reliability bins: 0 bins (at least 1)");
  EXPECT_EQ(error_of([] { Recalibration{}.probability(1.2); }),
            "recalibration: score 1.2 is outside [0, 1]");
  EXPECT_EQ(error_of([] {
              fit_recalibration({0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1}, 0);
            }),
            "recalibration: every one of the 4 scores is 0.5: the slope is undefined");
  EXPECT_EQ(error_of([] {
              fit_recalibration({0.1, 0.2, 0.3, 0.6, 0.7, 0.8}, {0, 0, 0, 1, 1, 1}, 0);
            }),
            "recalibration: the logistic fit on 6 scores has no finite estimate (the scores "
            "separate the outcomes)");
  EXPECT_EQ(error_of([] {
              cross_fitted_probabilities({0.1, 0.2, 0.3, 0.4}, {0, 1, 0, 1}, {0, 0, 0, 0}, 0);
            }),
            "cross-fitted recalibration needs at least 2 folds; all 4 subjects are in fold 0");
  EXPECT_EQ(error_of([] {
              cross_fitted_probabilities({0.1, 0.2, 0.3, 0.4}, {0, 1, 0, 1}, {0, 0, 0}, 0);
            }),
            "cross-fitted recalibration: 4 scores but 3 fold ids");
  EXPECT_EQ(error_of([] {
              cross_fitted_probabilities({0.1, 0.2, 0.3, 0.4}, {0, 1, 0, 1}, {0, 1, 0, 1}, 0);
            }),
            "cross-fitted recalibration, fold 0 (fitted on the other folds' 2 subjects): "
            "recalibration is undefined: no negative labels among 2 samples");
}
