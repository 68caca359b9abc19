// Fold curves on a common grid, worked by hand.
#include "core/core.h"
#include "metrics/metrics.h"
#include "plots/plots.h"

#include <gtest/gtest.h>

namespace {

using namespace vfp::plots;

TEST(RocOnGrid, InterpolatesTheThresholdPathAndTakesTheTopOfAVerticalRun) {
  // Two positives, two negatives, one of each tied at 0.5: points (0,0), (0,½), (½,1), (1,1);
  // the tie is the diagonal from (0,½) to (½,1).
  const auto roc = vfp::metrics::roc_curve({0.9, 0.5, 0.5, 0.1}, {1, 1, 0, 0});
  const auto tpr = roc_on_grid(roc, {0, 0.25, 0.5, 0.75, 1});
  ASSERT_EQ(tpr.size(), 5u);
  EXPECT_DOUBLE_EQ(tpr[0], 0.0); // the start, not the top of the vertical run at FPR 0
  EXPECT_DOUBLE_EQ(tpr[1], 0.75);
  EXPECT_DOUBLE_EQ(tpr[2], 1.0);
  EXPECT_DOUBLE_EQ(tpr[3], 1.0);
  EXPECT_DOUBLE_EQ(tpr[4], 1.0);
  // Points (0,0) (0,½) (⅓,½) (⅓,1) (⅔,1) (1,1): at FPR ⅓ the top of the vertical run.
  const auto steps = vfp::metrics::roc_curve({0.9, 0.8, 0.7, 0.6, 0.5}, {1, 0, 1, 0, 0});
  const auto at = roc_on_grid(steps, {0.2, 1.0 / 3, 0.5});
  EXPECT_DOUBLE_EQ(at[0], 0.5);
  EXPECT_DOUBLE_EQ(at[1], 1.0);
  EXPECT_DOUBLE_EQ(at[2], 1.0);
}

TEST(PrOnGrid, IsTheStepFunctionWhoseAreaIsTheAveragePrecision) {
  // Thresholds 0.9: recall ½ precision 1; 0.8: ½, ½; 0.7: 1, ⅔. AP = ½·1 + ½·⅔ = ⅚.
  const std::vector<double> scores{0.9, 0.8, 0.7, 0.6};
  const std::vector<int> labels{1, 0, 1, 0};
  const auto pr = vfp::metrics::pr_curve(scores, labels);
  const auto p = pr_on_grid(pr, {0, 0.25, 0.5, 0.75, 1});
  EXPECT_DOUBLE_EQ(p[0], 1.0);
  EXPECT_DOUBLE_EQ(p[1], 1.0);
  EXPECT_DOUBLE_EQ(p[2], 1.0); // recall ½ is first reached at precision 1, not at ½
  EXPECT_DOUBLE_EQ(p[3], 2.0 / 3);
  EXPECT_DOUBLE_EQ(p[4], 2.0 / 3);
  // Right Riemann sum on a fine grid → the average precision.
  const auto grid = unit_grid(1001);
  const auto fine = pr_on_grid(pr, grid);
  double area = 0;
  for (std::size_t i = 1; i < grid.size(); ++i)
    area += (grid[i] - grid[i - 1]) * fine[i];
  EXPECT_NEAR(area, vfp::metrics::average_precision(scores, labels), 1e-3);
  EXPECT_NEAR(area, 5.0 / 6, 1e-3);
}

TEST(FoldBand, GivesMeanSampleSdMinAndMaxPerGridPoint) {
  const auto band = fold_band({{0, 0.2, 1}, {0, 0.4, 1}, {0, 0.9, 1}}, {0, 0.5, 1});
  EXPECT_DOUBLE_EQ(band.mean[1], 0.5);
  EXPECT_NEAR(band.sd[1], std::sqrt(0.13), 1e-15); // (0.09 + 0.01 + 0.16) / 2
  EXPECT_DOUBLE_EQ(band.min[1], 0.2);
  EXPECT_DOUBLE_EQ(band.max[1], 0.9);
  EXPECT_DOUBLE_EQ(band.sd[0], 0.0);
  EXPECT_DOUBLE_EQ(fold_band({{0, 0.3, 1}}, {0, 0.5, 1}).sd[1], 0.0); // one fold: no spread
  EXPECT_THROW(fold_band({{0, 1}}, {0, 0.5, 1}), vfp::InputError);
  EXPECT_THROW(fold_band({}, {0, 1}), vfp::InputError);
  EXPECT_EQ(unit_grid(5), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
}

} // namespace
