// Nested selection from result rows (per outer fold the best inner score, never the test
// fold's), its rows in the table and the JSON report, the footnotes that say what a bold row
// is, and Holm's adjustment of the baseline comparison.
#include "core/core.h"
#include "metrics/metrics.h"
#include "results/results.h"

#include <gtest/gtest.h>

namespace {

using namespace vfp::results;

nlohmann::json outer_row(const std::string& config, int index, const std::string& lr, int fold,
                         double auroc, double val_auroc, double val_loss = 0.5) {
  return {{"kind", "train_eval"},
          {"task_id", config + "-" + std::to_string(fold)},
          {"config_id", config},
          {"config_index", index},
          {"axes", nlohmann::json::array({nlohmann::json::array({"train.lr", lr})})},
          {"expected_folds", 2},
          {"repeat", 0},
          {"fold", fold},
          {"status", "ok"},
          {"aggregation", "mean"},
          {"auroc", auroc},
          {"auprc", auroc / 2},
          {"best_val_auroc", val_auroc},
          {"best_val_auprc", val_auroc / 2},
          {"best_val_loss", val_loss}};
}

nlohmann::json inner_row(const std::string& config, int fold, int inner_fold, double auroc) {
  return {{"kind", "inner"},
          {"task_id", config + "-" + std::to_string(fold) + "-inner" + std::to_string(inner_fold)},
          {"config_id", config},
          {"repeat", 0},
          {"fold", fold},
          {"inner_fold", inner_fold},
          {"inner_folds", 2},
          {"status", "ok"},
          {"auroc", auroc},
          {"auprc", auroc / 2},
          {"loss", 1 - auroc}};
}

/// Two learning rates, two folds. On the test folds "b" wins both (0.80, 0.82 against 0.70,
/// 0.72); on the inner data "a" wins fold 0 and "b" fold 1.
std::vector<nlohmann::json> candidates() {
  return {outer_row("a", 0, "1e-3", 0, 0.70, 0.66),
          outer_row("a", 0, "1e-3", 1, 0.72, 0.60),
          outer_row("b", 1, "1e-4", 0, 0.80, 0.61),
          outer_row("b", 1, "1e-4", 1, 0.82, 0.65),
          inner_row("a", 0, 0, 0.70),
          inner_row("a", 0, 1, 0.60),
          inner_row("b", 0, 0, 0.55),
          inner_row("b", 0, 1, 0.64), // a: .65 > b: .595
          inner_row("a", 1, 0, 0.50),
          inner_row("a", 1, 1, 0.58),
          inner_row("b", 1, 0, 0.62),
          inner_row("b", 1, 1, 0.60)}; // b: .61 > a: .54
}

nlohmann::json selection_row(const std::vector<FoldChoice>& choices) {
  nlohmann::json folds = nlohmann::json::array();
  for (const auto& c : choices)
    folds.push_back(to_json(c));
  return {
      {"kind", "selection"},
      {"task_id", "g1"},
      {"status", "ok"},
      {"members", {"a", "b"}},
      {"over", {"train.lr"}},
      {"metric", "auroc"},
      {"inner_folds", 2},
      {"axes", nlohmann::json::array({nlohmann::json::array({"train.lr", "selected"})})},
      {"folds", folds},
      {"survival",
       {{"c_image", 0.74},
        {"c_baseline", 0.70},
        {"c_image_corrected", 0.72},
        {"score_hr_per_sd", 1.8},
        {"score_hr_per_sd_lower", 1.2},
        {"score_hr_per_sd_upper", 2.6}}},
      {"calibration", {{"cross_fitted", {{"brier", 0.121}, {"intercept", 0.1}, {"slope", 0.9}}}}}};
}

} // namespace

TEST(SelectPerFold, EachFoldTakesTheBestMeanInnerScoreNotTheBestTestScore) {
  const auto choices = select_per_fold(candidates(), {"a", "b"}, "auroc", 2);
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices[0].config_id, "a");
  EXPECT_NEAR(choices[0].inner_score, 0.65, 1e-12);
  EXPECT_DOUBLE_EQ(choices[0].auroc, 0.70) << "the chosen task's own test figure";
  EXPECT_EQ(choices[0].task_id, "a-0");
  EXPECT_EQ(choices[1].config_id, "b");
  EXPECT_NEAR(choices[1].inner_score, 0.61, 1e-12);
  EXPECT_DOUBLE_EQ(choices[1].auroc, 0.82);
}

TEST(SelectPerFold, LossIsMinimisedAndTheEarlyStoppingSplitServesWithoutInnerFolds) {
  // inner_folds 0: best_val_auroc of the outer rows: fold 0 a (.66), fold 1 b (.65).
  auto choices = select_per_fold(candidates(), {"a", "b"}, "auroc", 0);
  EXPECT_EQ(choices[0].config_id, "a");
  EXPECT_EQ(choices[1].config_id, "b");
  // Inner loss = 1 − inner AUROC here: the lowest loss is the highest AUROC.
  choices = select_per_fold(candidates(), {"a", "b"}, "loss", 2);
  EXPECT_EQ(choices[0].config_id, "a");
  EXPECT_NEAR(choices[0].inner_score, 0.35, 1e-12);
  EXPECT_EQ(choices[1].config_id, "b");
}

TEST(SelectPerFold, TiesGoToTheConfigurationListedFirst) {
  auto rows = candidates();
  for (auto& r : rows)
    if (r["kind"] == "train_eval")
      r["best_val_auprc"] = 0.3;
  for (const auto& order : {std::vector<std::string>{"a", "b"}, {"b", "a"}}) {
    const auto choices = select_per_fold(rows, order, "auprc", 0);
    EXPECT_EQ(choices[0].config_id, order[0]);
    EXPECT_EQ(choices[1].config_id, order[0]);
  }
}

TEST(SelectPerFold, AMissingInnerResultIsAnErrorNamingConfigurationAndFold) {
  auto rows = candidates();
  rows.pop_back(); // b, fold 1, inner fold 1
  try {
    select_per_fold(rows, {"a", "b"}, "auroc", 2);
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "configuration b, repeat 0 fold 1: 1 of 2 inner folds have a result");
  }
  rows = candidates();
  rows[0].erase("best_val_loss"); // a row of an older vfp
  EXPECT_THROW(select_per_fold(rows, {"a", "b"}, "loss", 0), vfp::InputError);
}

TEST(NestedRow, FollowsTheConfigurationsWithItsChoicesCountedAndIsNeverBold) {
  auto rows = candidates();
  rows.push_back(selection_row(select_per_fold(rows, {"a", "b"}, "auroc", 2)));
  const auto table = aggregate(rows);
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_TRUE(table.rows[2].selected);
  EXPECT_EQ(table.selection_metric, "auroc");
  const auto md = to_markdown(table);
  // Nested: fold 0 a (70 %), fold 1 b (82 %): 76.0 ± 8.5; b's 81.0 is bold (best on the test
  // folds), the nested row never is.
  EXPECT_NE(md.find("| nested (2 inner folds): 1e-3 ×1, 1e-4 ×1 | 76.0 ± 8.5 | 38.0 ± 4.2 | 2/2 | "
                    "0.740 / 0.700 | "
                    "0.720 | 1.80 (1.20–2.60) | 0.121 | 0.10 / 0.90 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 1e-4 | **81.0 ± 1.4** |"), std::string::npos) << md;
  EXPECT_NE(md.find("the best configuration on the test folds themselves, an optimistic choice"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- nested selection g1: repeat 0 fold 0 → train.lr=1e-3 (inner auroc 0.650, "
                    "test AUROC 70.0); repeat 0 fold 1 → train.lr=1e-4 (inner auroc 0.610, test "
                    "AUROC 82.0)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("patient-level scores (mean over vertebrae)"), std::string::npos)
      << "the footnote follows train.aggregation: " << md;
  const auto json = to_json(table);
  ASSERT_EQ(json["selected"].size(), 1u);
  EXPECT_EQ(json["selected"][0]["folds"][1]["config_id"], "b");
  EXPECT_EQ(json["selected"][0]["wins"]["a"], 1);
  EXPECT_EQ(json["selected"][0]["survival"]["c_index_optimism_corrected"], 0.72);
  EXPECT_EQ(json["rows"].size(), 2u);
  EXPECT_EQ(json["selection"]["inner_folds"], 2);
  const auto csv = to_csv(table);
  EXPECT_NE(csv.find(",nested,0.72,0.121,0.1,0.9,,\n"), std::string::npos) << csv;
}

TEST(Footnote, WithoutASelectionTheBestRowIsSaidToBePickedOnTheTestFolds) {
  auto rows = candidates();
  const auto md = to_markdown(aggregate(rows));
  EXPECT_NE(md.find("Bold: the best row, picked on the test folds themselves, so its mean is "
                    "optimistic; a selection: section adds a nested estimate"),
            std::string::npos)
      << md;
}

TEST(Holm, MatchesRsPAdjust) {
  // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") → 0.03 0.06 0.06 0.02;
  //    p.adjust(c(0.2, 0.001, 0.6, 0.03, 0.049), "holm") → 0.400 0.005 0.600 0.120 0.147.
  const auto a = vfp::metrics::holm_adjust({0.01, 0.04, 0.03, 0.005});
  const std::vector<double> ra{0.03, 0.06, 0.06, 0.02};
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], ra[i], 1e-15);
  // Untested entries (< 0) stay untested and do not count.
  const auto b = vfp::metrics::holm_adjust({0.2, -1, 0.001, 0.6, 0.03, 0.049});
  const std::vector<double> rb{0.4, -1, 0.005, 0.6, 0.12, 0.147};
  for (size_t i = 0; i < b.size(); ++i)
    EXPECT_NEAR(b[i], rb[i], 1e-15);
}

TEST(Holm, TheBaselineComparisonGetsAnAdjustedColumn) {
  std::vector<nlohmann::json> rows;
  const double differences[3][4] = {
      {0.02, 0.03, 0.01, 0.04}, {0.05, 0.06, 0.04, 0.07}, {-0.01, 0.02, 0.00, 0.01}};
  for (int f = 0; f < 4; ++f)
    rows.push_back(outer_row("base", 0, "1", f, 0.7, 0.6));
  for (int c = 0; c < 3; ++c)
    for (int f = 0; f < 4; ++f)
      rows.push_back(outer_row(std::string(1, char('x' + c)), c + 1, std::to_string(c + 2), f,
                               0.7 + differences[c][f], 0.6));
  auto table = aggregate(rows);
  compare_to_baseline(table, 0, std::filesystem::temp_directory_path() / "vfp_no_such_sweep");
  std::vector<double> p;
  for (size_t i = 1; i < 4; ++i)
    p.push_back(table.rows[i].p_corrected_t);
  const auto adjusted = vfp::metrics::holm_adjust(p);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_GE(table.rows[i].p_corrected_t_holm, table.rows[i].p_corrected_t);
    EXPECT_DOUBLE_EQ(table.rows[i].p_corrected_t_holm, adjusted[i - 1]);
  }
  EXPECT_LT(table.rows[0].p_corrected_t_holm, 0) << "the baseline is not compared with itself";
  const auto md = to_markdown(table);
  EXPECT_NE(md.find("| p (t / DeLong) | Holm p (t / DeLong) |"), std::string::npos) << md;
  EXPECT_NE(md.find("Holm: adjusted over the rows compared"), std::string::npos) << md;
}
