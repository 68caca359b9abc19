// Intervals and tests on AUROCs: DeLong against pROC, the bootstrap against pROC and its
// coverage, Nadeau–Bengio against R's t.test, the distributions against R.
#include "core/core.h"
#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

using namespace vfp::metrics;

struct TwoScores {
  std::vector<int> label, fold;
  std::vector<double> a, b;
};

/// tests/metrics/reference/<name>.csv, written by make_reference.py.
TwoScores read_two_scores(const std::string& name) {
  const auto t = vfp::read_csv_columns(std::string(VFP_SOURCE_DIR) + "/tests/metrics/reference/" +
                                           name + ".csv",
                                       {"label", "score_a", "score_b", "fold"});
  TwoScores s;
  s.label.assign(t.at("label").begin(), t.at("label").end());
  s.fold.assign(t.at("fold").begin(), t.at("fold").end());
  s.a = t.at("score_a");
  s.b = t.at("score_b");
  return s;
}

// pROC 1.18.0 (Debian r-cran-proc), printed by tests/metrics/reference/make_reference.R:
//   a <- roc(label, score_a, levels = c(0, 1), direction = "<"); b likewise
//   var(a); ci.auc(a, method = "delong"); cov(a, b, method = "delong")
//   roc.test(a, b, method = "delong", paired = TRUE)   # Z, p.value, conf.int
struct PRocReference {
  const char* file;
  double auc_a, var_a, lower_a, upper_a;
  double auc_b, var_b, cov;
  double z, p, diff_lower, diff_upper;
};
const PRocReference kRandom{"two_scores_random",  0.700953830997268,    0.000900599704017411,
                            0.642135324752106,    0.759772337242431,    0.619049751466571,
                            0.00104177576209751,  0.000797208027991824, 4.39077558808967,
                            1.12947063151242e-05, 0.0453435578537255,   0.118464601207669};
const PRocReference kTies{"two_scores_ties",    0.719199110122358,    0.000855044291331861,
                          0.661887528090269,    0.776510692154448,    0.670901001112347,
                          0.000951691481448992, 0.000726433196829887, 2.5674892585935,
                          0.0102437963078353,   0.0114284107769332,   0.0851678072430889};

TEST(Delong, VarianceAndIntervalMatchPRoc) {
  for (const auto& r : {kRandom, kTies}) {
    const auto s = read_two_scores(r.file);
    const auto a = delong_auroc(s.a, s.label);
    EXPECT_NEAR(a.auroc, r.auc_a, 1e-13) << r.file;
    EXPECT_NEAR(a.variance, r.var_a, 1e-15) << r.file;
    EXPECT_NEAR(a.lower, r.lower_a, 1e-12) << r.file;
    EXPECT_NEAR(a.upper, r.upper_a, 1e-12) << r.file;
    EXPECT_NEAR(delong_auroc(s.b, s.label).variance, r.var_b, 1e-15) << r.file;
    // Its AUROC is the Mann–Whitney one.
    EXPECT_NEAR(a.auroc, auroc(s.a, s.label), 1e-13);
  }
}

TEST(Delong, PairedTestMatchesPRocsRocTest) {
  for (const auto& r : {kRandom, kTies}) {
    const auto s = read_two_scores(r.file);
    const auto t = delong_test(s.a, s.b, s.label);
    EXPECT_NEAR(t.auroc_a, r.auc_a, 1e-13) << r.file;
    EXPECT_NEAR(t.auroc_b, r.auc_b, 1e-13) << r.file;
    EXPECT_NEAR(t.z, r.z, 1e-9) << r.file;
    EXPECT_NEAR(t.p / r.p, 1.0, 1e-8) << r.file;
    EXPECT_NEAR(t.lower, r.diff_lower, 1e-12) << r.file;
    EXPECT_NEAR(t.upper, r.diff_upper, 1e-12) << r.file;
    EXPECT_NEAR(t.correlation, r.cov / std::sqrt(r.var_a * r.var_b), 1e-10) << r.file;
    // Swapping the scores flips the sign, not the p-value.
    const auto swapped = delong_test(s.b, s.a, s.label);
    EXPECT_NEAR(swapped.z, -t.z, 1e-12);
    EXPECT_NEAR(swapped.p, t.p, 1e-15);
  }
}

TEST(Delong, AScoreAgainstItselfHasNoDifference) {
  const auto s = read_two_scores("two_scores_random");
  const auto t = delong_test(s.a, s.a, s.label);
  EXPECT_EQ(t.difference, 0.0);
  EXPECT_EQ(t.p, 1.0);
  EXPECT_NEAR(t.correlation, 1.0, 1e-12);
}

TEST(Delong, NeedsTwoOfEachClassAndEqualSizes) {
  EXPECT_THROW(delong_auroc({0.1, 0.2, 0.3}, {0, 1, 1}), vfp::InputError);
  try {
    delong_test({0.1, 0.2, 0.3, 0.4}, {0.1, 0.2, 0.3}, {0, 0, 1, 1});
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "DeLong test (second score): 3 scores but 4 labels");
  }
}

// pROC's stratified bootstrap with set.seed(1), 2000 resamples (make_reference.R):
// two_scores_random 0.640275–0.759172, two_scores_ties 0.663557–0.776112. Different random
// draws, so agreement is to Monte Carlo error (~0.005 for 2000 resamples), not to the digit.
TEST(Bootstrap, AurocIntervalAgreesWithPRocsToMonteCarloError) {
  const struct {
    const char* file;
    double lower, upper;
  } cases[] = {{"two_scores_random", 0.640275, 0.759172}, {"two_scores_ties", 0.663557, 0.776112}};
  for (const auto& c : cases) {
    const auto s = read_two_scores(c.file);
    const auto ci = bootstrap_interval(Metric::kAuroc, s.a, s.label);
    EXPECT_NEAR(ci.estimate, auroc(s.a, s.label), 1e-13) << c.file;
    EXPECT_NEAR(ci.lower, c.lower, 0.01) << c.file;
    EXPECT_NEAR(ci.upper, c.upper, 0.01) << c.file;
  }
}

TEST(Bootstrap, IsDeterministicInItsSeedAndChangesWithIt) {
  const auto s = read_two_scores("two_scores_ties");
  BootstrapOptions options;
  options.resamples = 500;
  const auto first = bootstrap_interval(Metric::kAveragePrecision, s.a, s.label, options);
  const auto again = bootstrap_interval(Metric::kAveragePrecision, s.a, s.label, options);
  EXPECT_EQ(first.lower, again.lower);
  EXPECT_EQ(first.upper, again.upper);
  EXPECT_NEAR(first.estimate, average_precision(s.a, s.label), 1e-13);
  options.seed = 2;
  EXPECT_NE(bootstrap_interval(Metric::kAveragePrecision, s.a, s.label, options).lower,
            first.lower);
  EXPECT_LT(first.lower, first.estimate);
  EXPECT_GT(first.upper, first.estimate);
}

TEST(Bootstrap, PooledOverFoldsKeepsEveryFoldsSizeAndWidensWithFewerSubjects) {
  const auto s = read_two_scores("two_scores_random");
  const auto pooled = bootstrap_interval(Metric::kAuroc, s.a, s.label, {}, s.fold);
  EXPECT_NEAR(pooled.estimate, auroc(s.a, s.label), 1e-13);
  // One fold alone (a fifth of the subjects) gives a wider interval, about √5 times.
  std::vector<double> a0;
  std::vector<int> l0;
  for (std::size_t i = 0; i < s.a.size(); ++i)
    if (s.fold[i] == 0) {
      a0.push_back(s.a[i]);
      l0.push_back(s.label[i]);
    }
  const auto fold0 = bootstrap_interval(Metric::kAuroc, a0, l0);
  const double ratio = (fold0.upper - fold0.lower) / (pooled.upper - pooled.lower);
  EXPECT_GT(ratio, 1.6);
  EXPECT_LT(ratio, 3.2);
}

// Binormal data: positives N(1, 1), negatives N(0, 1), so the true AUROC is Φ(1/√2).
TEST(Bootstrap, AndDelongIntervalsCoverTheTrueAurocAtTheirLevel) {
  const double truth = 0.5 * std::erfc(-1 / 2.0); // Φ(1/√2) = 0.76025
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal;
  int bootstrap_covers = 0, delong_covers = 0;
  constexpr int kTrials = 300;
  BootstrapOptions options;
  options.resamples = 400;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<double> scores;
    std::vector<int> labels;
    for (int i = 0; i < 200; ++i) {
      labels.push_back(i % 3 == 0);
      scores.push_back(normal(rng) + labels.back());
    }
    options.seed = trial;
    const auto boot = bootstrap_interval(Metric::kAuroc, scores, labels, options);
    const auto dl = delong_auroc(scores, labels);
    bootstrap_covers += boot.lower <= truth && truth <= boot.upper;
    delong_covers += dl.lower <= truth && truth <= dl.upper;
  }
  // 95 % nominal; with 300 trials the binomial SD is 1.3 points.
  EXPECT_GT(bootstrap_covers, 0.90 * kTrials);
  EXPECT_LT(bootstrap_covers, 0.99 * kTrials);
  EXPECT_GT(delong_covers, 0.90 * kTrials);
  EXPECT_LT(delong_covers, 0.99 * kTrials);
}

TEST(Bootstrap, BadOptionsAreErrorsNamingThem) {
  BootstrapOptions options;
  options.resamples = 1;
  try {
    bootstrap_interval(Metric::kAuroc, {0.1, 0.9}, {0, 1}, options);
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "AUROC bootstrap: resamples must be at least 2, got 1");
  }
  EXPECT_THROW(bootstrap_interval(Metric::kAuroc, {0.1, 0.9}, {0, 1}, {}, {0}), vfp::InputError);
  EXPECT_THROW(bootstrap_interval(Metric::kAuroc, {0.1, 0.9}, {1, 1}), vfp::InputError);
}

// Ten split differences (5 folds × 2 repeats), make_reference.R:
//   t.test(d)                      → the uncorrected test (n_test/n_train = 0)
//   se <- sqrt((1/10 + 1/4) * var(d)); 2 * pt(-abs(mean(d) / se), 9); qt(0.975, 9)
const std::vector<double> kSplitDifferences{0.021, -0.004, 0.035, 0.012, 0.018,
                                            0.009, -0.011, 0.027, 0.015, 0.006};

TEST(CorrectedTTest, WithoutCorrectionIsRsPairedTTest) {
  const auto t = corrected_resampled_t_test(kSplitDifferences, 0.0);
  EXPECT_NEAR(t.t, 2.94203211177259, 1e-12);
  EXPECT_NEAR(t.p, 0.0164323619690253, 1e-12);
  EXPECT_NEAR(t.lower, 0.00295795525550159, 1e-12);
  EXPECT_NEAR(t.upper, 0.0226420447444984, 1e-12);
  EXPECT_EQ(t.df, 9);
}

TEST(CorrectedTTest, TheCorrectionWidensTheIntervalAsNadeauAndBengio) {
  // 5-fold CV: n_test/n_train = 1/4.
  const auto t = corrected_resampled_t_test(kSplitDifferences, 0.25);
  EXPECT_NEAR(t.t, 1.57258231187715, 1e-12);
  EXPECT_NEAR(t.p, 0.150265698851956, 1e-12);
  EXPECT_NEAR(t.lower, -0.00561277970960607, 1e-12);
  EXPECT_NEAR(t.upper, 0.0312127797096061, 1e-12);
  EXPECT_NEAR(t.mean_difference, 0.0128, 1e-15);
}

TEST(CorrectedTTest, ConstantDifferencesAndTooFewSplits) {
  EXPECT_EQ(corrected_resampled_t_test({0.0, 0.0, 0.0}, 0.25).p, 1.0);
  EXPECT_EQ(corrected_resampled_t_test({0.01, 0.01, 0.01}, 0.25).p, 0.0);
  EXPECT_THROW(corrected_resampled_t_test({0.01}, 0.25), vfp::InputError);
  EXPECT_THROW(corrected_resampled_t_test({0.01, 0.02}, -1), vfp::InputError);
}

TEST(Distributions, MatchR) {
  EXPECT_NEAR(student_t_cdf(-2.5, 3.7), 0.0359110114559134, 1e-14);   // pt(-2.5, 3.7)
  EXPECT_NEAR(student_t_cdf(1.3, 120), 0.901953761120457, 1e-13);     // pt(1.3, 120)
  EXPECT_NEAR(student_t_quantile(0.995, 9), 3.24983554159213, 1e-12); // qt(0.995, 9)
  EXPECT_NEAR(normal_quantile(0.975), 1.95996398454005, 1e-12);       // qnorm(0.975)
  EXPECT_NEAR(student_t_cdf(0, 4), 0.5, 1e-16);
  EXPECT_THROW(normal_quantile(1.0), vfp::InputError);
}

} // namespace

TEST(Bootstrap, SeveralMetricsAtOnceGiveEachTheIntervalItGetsAlone) {
  const auto s = read_two_scores("two_scores_ties");
  BootstrapOptions options;
  options.resamples = 300;
  int resamples_seen = 0;
  options.on_resample = [&](int done) { resamples_seen = done; };
  const auto both =
      bootstrap_intervals({Metric::kAuroc, Metric::kAveragePrecision}, s.a, s.label, options);
  EXPECT_EQ(resamples_seen, 300); // progress counts resamples, not metrics × resamples
  options.on_resample = nullptr;
  ASSERT_EQ(both.size(), 2u);
  const auto auroc_alone = bootstrap_interval(Metric::kAuroc, s.a, s.label, options);
  const auto ap_alone = bootstrap_interval(Metric::kAveragePrecision, s.a, s.label, options);
  EXPECT_EQ(both[0].estimate, auroc_alone.estimate);
  EXPECT_EQ(both[0].lower, auroc_alone.lower);
  EXPECT_EQ(both[0].upper, auroc_alone.upper);
  EXPECT_EQ(both[1].lower, ap_alone.lower);
  EXPECT_EQ(both[1].upper, ap_alone.upper);
}

// Constant scores rank nothing. scikit-learn 1.9.1 (pip, in a venv), labels
// [1,0,1,0,0,0,1,0] and every score 0.3: roc_auc_score 0.5, average_precision_score 0.375 (the
// prevalence), auc(recall, precision) of precision_recall_curve 0.6875 ((1 + prevalence) / 2,
// which reads like skill and is none).
TEST(ConstantScores, AreRecognisedAndGiveHalfThePrevalenceAndAZeroDelongVariance) {
  const std::vector<int> labels{1, 0, 1, 0, 0, 0, 1, 0};
  const std::vector<double> same(8, 0.3);
  EXPECT_TRUE(constant_scores(same));
  EXPECT_TRUE(constant_scores({0.0, -0.0}));
  EXPECT_FALSE(constant_scores({0.3, 0.30000000000000004}));
  EXPECT_FALSE(constant_scores({}));
  EXPECT_DOUBLE_EQ(auroc(same, labels), 0.5);
  EXPECT_DOUBLE_EQ(average_precision(same, labels), 0.375);
  EXPECT_DOUBLE_EQ(auprc_trapezoid(same, labels), 0.6875);
  // DeLong's variance is 0: the "interval" [0.5, 0.5] that vfp metrics prints as n/a.
  const auto d = delong_auroc(same, labels);
  EXPECT_EQ(d.variance, 0);
  EXPECT_EQ(d.lower, d.upper);
}
