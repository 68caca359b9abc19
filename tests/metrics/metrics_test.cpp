#include "metrics/metrics.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace {

/// The LCG of tests/metrics/reference/make_reference.py, so inputs match scikit-learn's.
struct ScoreSet {
  std::vector<double> scores;
  std::vector<int> labels;
};
ScoreSet lcg_set(int n, std::uint64_t x, int decimals = -1) {
  ScoreSet s;
  auto next = [&x] {
    x = 6364136223846793005ULL * x + 1442695040888963407ULL;
    return static_cast<double>(x >> 11) * std::ldexp(1.0, -53);
  };
  for (int i = 0; i < n; ++i) {
    double score = next();
    const double u = next();
    if (decimals >= 0)
      score = std::round(score * std::pow(10, decimals)) / std::pow(10, decimals);
    s.scores.push_back(score);
    s.labels.push_back(u < 0.2 + 0.5 * score ? 1 : 0);
  }
  return s;
}

std::string error_of(const std::vector<double>& s, const std::vector<int>& l) {
  try {
    vfp::metrics::auroc(s, l);
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

// Reference values: scikit-learn 1.2.1 (Debian python3-sklearn), printed by
// tests/metrics/reference/make_reference.py (roc_auc_score, average_precision_score,
// auc(recall, precision) of precision_recall_curve).
TEST(Auroc, MatchesScikitLearnOnRandomScores) {
  auto s = lcg_set(200, 42);
  EXPECT_NEAR(vfp::metrics::auroc(s.scores, s.labels), 0.6650771103896104, 1e-12);
  EXPECT_NEAR(vfp::metrics::average_precision(s.scores, s.labels), 0.6116986933354565, 1e-12);
  EXPECT_NEAR(vfp::metrics::auprc_trapezoid(s.scores, s.labels), 0.6065047323643187, 1e-12);
}

TEST(Auroc, TiedScoresCountHalfAsScikitLearn) {
  auto s = lcg_set(300, 7, 1);
  EXPECT_NEAR(vfp::metrics::auroc(s.scores, s.labels), 0.6723800631363657, 1e-12);
  EXPECT_NEAR(vfp::metrics::average_precision(s.scores, s.labels), 0.6487444461477652, 1e-12);
  EXPECT_NEAR(vfp::metrics::auprc_trapezoid(s.scores, s.labels), 0.6690227075105503, 1e-12);
}

TEST(Auroc, LargeSignedTiedScoresMatchScikitLearn) {
  // 20 000 rows (the radix-sorted path), 1001 distinct scores in [−1, 1], exact zeros.
  auto s = lcg_set(20000, 99, 3);
  for (auto& v : s.scores)
    v = 2 * v - 1;
  EXPECT_NEAR(vfp::metrics::auroc(s.scores, s.labels), 0.6660298886749582, 1e-12);
  EXPECT_NEAR(vfp::metrics::average_precision(s.scores, s.labels), 0.5923033268814204, 1e-12);
  EXPECT_NEAR(vfp::metrics::auprc_trapezoid(s.scores, s.labels), 0.5924985754776337, 1e-12);
  // −0 ties with +0, and infinities sort at the ends.
  for (auto& v : s.scores)
    if (v == 0)
      v = -0.0;
  EXPECT_NEAR(vfp::metrics::auroc(s.scores, s.labels), 0.6660298886749582, 1e-12);
  s.scores[0] = std::numeric_limits<double>::infinity();
  s.scores[1] = -std::numeric_limits<double>::infinity();
  const auto roc = vfp::metrics::roc_curve(s.scores, s.labels);
  EXPECT_EQ(roc.size(), 1001u + 2 + 1); // distinct scores, both infinities, the origin
  EXPECT_EQ(roc[1].threshold, std::numeric_limits<double>::infinity());
  EXPECT_EQ(roc.back().threshold, -std::numeric_limits<double>::infinity());
}

TEST(Auroc, AllTiedIsHalfAndApIsPrevalence) {
  std::vector<double> s(10, 0.3);
  std::vector<int> l{1, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  EXPECT_DOUBLE_EQ(vfp::metrics::auroc(s, l), 0.5);
  EXPECT_DOUBLE_EQ(vfp::metrics::average_precision(s, l), 0.3);
}

TEST(Auroc, PerfectAndInvertedRankings) {
  std::vector<double> s{0.1, 0.2, 0.3, 0.4};
  EXPECT_DOUBLE_EQ(vfp::metrics::auroc(s, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(vfp::metrics::auroc(s, {1, 1, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(vfp::metrics::average_precision(s, {0, 0, 1, 1}), 1.0);
  // Inverted: positives at ranks 3 and 4 → AP = (1/2)(1/3) + (1/2)(2/4) = 5/12.
  EXPECT_DOUBLE_EQ(vfp::metrics::average_precision(s, {1, 1, 0, 0}), 5.0 / 12.0);
}

TEST(Auroc, InvariantUnderMonotoneTransforms) {
  auto s = lcg_set(150, 3);
  std::vector<double> transformed;
  for (double v : s.scores)
    transformed.push_back(std::exp(5 * v) - 3);
  EXPECT_DOUBLE_EQ(vfp::metrics::auroc(s.scores, s.labels),
                   vfp::metrics::auroc(transformed, s.labels));
  EXPECT_DOUBLE_EQ(vfp::metrics::average_precision(s.scores, s.labels),
                   vfp::metrics::average_precision(transformed, s.labels));
}

TEST(RocCurve, StartsAtOriginAndEndsAtOne) {
  auto roc = vfp::metrics::roc_curve({0.9, 0.4, 0.4, 0.1}, {1, 0, 1, 0});
  ASSERT_EQ(roc.size(), 4u);
  EXPECT_TRUE(std::isinf(roc[0].threshold));
  EXPECT_DOUBLE_EQ(roc[1].tpr, 0.5);
  EXPECT_DOUBLE_EQ(roc[2].fpr, 0.5);
  EXPECT_DOUBLE_EQ(roc[3].tpr, 1.0);
  EXPECT_DOUBLE_EQ(roc[3].fpr, 1.0);
}

TEST(MetricErrors, NameWhatIsWrong) {
  EXPECT_EQ(error_of({0.1, 0.2}, {0, 0}), "AUROC is undefined: no positive labels among 2 samples");
  EXPECT_EQ(error_of({0.1, 0.2}, {1, 1}), "AUROC is undefined: no negative labels among 2 samples");
  EXPECT_EQ(error_of({0.1}, {0, 1}), "AUROC: 1 scores but 2 labels");
  EXPECT_EQ(error_of({0.1, 0.2}, {0, 2}), "AUROC: label 2 at index 1 is not 0 or 1");
  EXPECT_EQ(error_of({std::numeric_limits<double>::quiet_NaN(), 0.2}, {0, 1}),
            "AUROC: score at index 0 is NaN");
}

TEST(MeanStd, UsesSampleStandardDeviation) {
  auto v = vfp::metrics::mean_std({0.8, 0.7, 0.9});
  EXPECT_NEAR(v.mean, 0.8, 1e-15);
  EXPECT_NEAR(v.std, 0.1, 1e-15);
  EXPECT_EQ(v.n, 3);
  EXPECT_EQ(vfp::metrics::mean_std({0.5}).std, 0.0);
  EXPECT_THROW(vfp::metrics::mean_std({}), vfp::InputError);
  EXPECT_EQ(vfp::metrics::format_mean_std(v), "80.0 ± 10.0");
  EXPECT_EQ(vfp::metrics::format_mean_std({0.8053, 0.0571, 4}, 100, 1), "80.5 ± 5.7");
}
