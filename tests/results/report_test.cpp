// The study's tables: survival columns from cox rows, best values in bold, LaTeX, sorting,
// and the comparison with a baseline row (checked against R and pROC values).
#include "core/core.h"
#include "results/results.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using namespace vfp::results;

nlohmann::json train_row(const std::string& config, int index, const std::string& lr, int repeat,
                         int fold, double auroc, double auprc = 0.3) {
  return {{"kind", "train_eval"},
          {"task_id", config + "-" + std::to_string(repeat) + "-" + std::to_string(fold)},
          {"config_id", config},
          {"config_index", index},
          {"axes", nlohmann::json::array({nlohmann::json::array({"train.lr", lr})})},
          {"expected_folds", 10},
          {"repeat", repeat},
          {"fold", fold},
          {"status", "ok"},
          {"auroc", auroc},
          {"auprc", auprc}};
}

nlohmann::json cox_row(const std::string& config, double c, double hr) {
  return {{"kind", "cox"},
          {"task_id", config + "-cox"},
          {"config_id", config},
          {"status", "ok"},
          {"survival",
           {{"c_image", c},
            {"c_baseline", 0.63},
            {"score_hr_per_sd", hr},
            {"score_hr_per_sd_lower", hr - 0.4},
            {"score_hr_per_sd_upper", hr + 0.5}}}};
}

// Ten split differences (5 folds × 2 repeats) whose corrected t-test R gives p 0.150265698851956
// (tests/metrics/reference/make_reference.R; n_test/n_train = 1/4 for 5 folds).
const std::vector<double> kDifferences{0.021, -0.004, 0.035, 0.012, 0.018,
                                       0.009, -0.011, 0.027, 0.015, 0.006};

std::vector<nlohmann::json> two_configurations() {
  std::vector<nlohmann::json> rows;
  for (int split = 0; split < 10; ++split) {
    const double base = 0.70 + 0.01 * split;
    rows.push_back(train_row("aaaa", 0, "1e-3", split / 5, split % 5, base));
    rows.push_back(
        train_row("bbbb", 1, "1e-4", split / 5, split % 5, base + kDifferences[split], 0.4));
  }
  rows.push_back(cox_row("aaaa", 0.71, 1.9));
  rows.push_back(cox_row("bbbb", 0.78, 2.5));
  return rows;
}

} // namespace

TEST(Report, CoxRowsAddTheSurvivalColumnsAndTheBestValuesAreBold) {
  const auto table = aggregate(two_configurations());
  ASSERT_TRUE(table.survival);
  EXPECT_EQ(table.folds_per_repeat, 5);
  const auto md = to_markdown(table);
  EXPECT_NE(md.find("| train.lr | AUROC (%) | AUPRC (AP, %) | folds | C-index, apparent "
                    "(score+age+BMI / age+BMI) | HR per SD, adjusted for age, BMI (95 % CI) |"),
            std::string::npos)
      << md;
  // bbbb is better on all three columns: AUROC 75.8 vs 74.5, AP 40 vs 30, C 0.78 vs 0.71.
  EXPECT_NE(md.find("| 1e-4 | **75.8 ± 3.1** | **40.0 ± 0.0** | 10/10 | **0.780 / 0.630** | "
                    "2.50 (2.10–3.00) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 1e-3 | 74.5 ± 3.0 | 30.0 ± 0.0 | 10/10 | 0.710 / 0.630 |"),
            std::string::npos)
      << md;
}

TEST(Report, EveryFormatShowsTheSameCellsAndFootnote) {
  const auto table = aggregate(two_configurations());
  const auto md = to_markdown(table), html = to_html(table), tex = to_latex(table);
  const std::string note = "mean ± sample SD over folds; patient-level scores";
  for (const auto* text : {&md, &html, &tex})
    EXPECT_NE(text->find(note), std::string::npos) << *text;
  EXPECT_NE(md.find("**75.8 ± 3.1**"), std::string::npos) << md;
  EXPECT_NE(html.find("<strong>75.8 ± 3.1</strong>"), std::string::npos) << html;
  EXPECT_NE(tex.find("\\textbf{75.8 $\\pm$ 3.1}"), std::string::npos) << tex;
  for (const auto* text : {&md, &html, &tex})
    EXPECT_NE(text->find("2.50 (2.10"), std::string::npos) << *text;
}

TEST(Report, LatexIsBooktabsWithEscapedNames) {
  auto rows = two_configurations();
  for (auto& r : rows)
    if (r["kind"] == "train_eval")
      r["axes"] = nlohmann::json::array({nlohmann::json::array({"model.head_hidden_%", "a_b"})});
  const auto tex = to_latex(aggregate(rows));
  EXPECT_NE(tex.find("\\begin{tabular}{lrrrrr}\n\\toprule\n"), std::string::npos) << tex;
  EXPECT_NE(tex.find("model.head\\_hidden\\_\\% & AUROC (\\%)"), std::string::npos) << tex;
  EXPECT_NE(tex.find("a\\_b & \\textbf{75.8 $\\pm$ 3.1}"), std::string::npos) << tex;
  EXPECT_NE(tex.find("\\bottomrule\n\\end{tabular}\n"), std::string::npos) << tex;
}

TEST(Report, SortingPutsTheBestFirstAndKeepsTheBaseline) {
  auto table = aggregate(two_configurations());
  compare_to_baseline(table, 0, fs::temp_directory_path() / "vfp_no_such_sweep");
  sort_rows(table, "auroc");
  EXPECT_EQ(table.rows[0].config_id, "bbbb");
  EXPECT_EQ(table.baseline, 1) << "the baseline follows its row";
  sort_rows(table, "sweep");
  EXPECT_EQ(table.rows[0].config_id, "aaaa");
  EXPECT_THROW(sort_rows(table, "speed"), vfp::InputError);
}

TEST(Report, TheBaselineIsNamedByPositionOrIdPrefix) {
  const auto table = aggregate(two_configurations());
  EXPECT_EQ(find_row(table, "1"), 1);
  EXPECT_EQ(find_row(table, "bb"), 1);
  try {
    find_row(table, "5");
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "--baseline 5: the table has 2 rows (0 to 1)");
  }
  EXPECT_THROW(find_row(table, "zz"), vfp::InputError);
}

TEST(Report, TheComparisonUsesTheCorrectedTTestAndDeLongOnPooledPredictions) {
  // Pooled out-of-fold predictions of both configurations: tests/metrics' two-score set, on
  // which pROC's roc.test(paired, "delong") gives p 1.12947063151242e-05.
  const auto sweep = fs::temp_directory_path() / ("vfp_report_test_" + std::to_string(::getpid()));
  fs::remove_all(sweep);
  const auto scores = vfp::read_csv_columns(std::string(VFP_SOURCE_DIR) +
                                                "/tests/metrics/reference/two_scores_random.csv",
                                            {"label", "score_a", "score_b"});
  for (const auto& [config, column] : {std::pair{"aaaa", "score_b"}, {"bbbb", "score_a"}}) {
    fs::create_directories(sweep / "configurations" / config);
    std::ofstream oof(sweep / "configurations" / config / "oof.csv");
    oof.precision(17);
    oof << "subject_id,fold,score,event,time_years,age,bmi\n";
    for (std::size_t i = 0; i < scores.at("label").size(); ++i)
      oof << "S" << i << "," << i % 5 << "," << scores.at(column)[i] << "," << scores.at("label")[i]
          << ",5,70,25\n";
  }
  auto table = aggregate(two_configurations());
  compare_to_baseline(table, 0, sweep);
  EXPECT_LT(table.rows[0].p_corrected_t, 0) << "the baseline is not compared with itself";
  EXPECT_NEAR(table.rows[1].p_corrected_t, 0.150265698851956, 1e-12);    // R, see kDifferences
  EXPECT_NEAR(table.rows[1].p_delong / 1.12947063151242e-05, 1.0, 1e-8); // pROC
  const auto md = to_markdown(table);
  // DeLong's p < 0.05 marks the row with †, the corrected t-test's 0.150 does not with *.
  EXPECT_NE(md.find("**75.8 ± 3.1**† |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.150 / 1.1e-05 | 0.150 / 1.1e-05 |"), std::string::npos)
      << "one row compared: Holm changes nothing\n"
      << md;
  EXPECT_NE(md.find("| baseline |"), std::string::npos) << md;
  const auto csv = to_csv(table);
  EXPECT_NE(csv.find(",0.1502656989,1.129470"), std::string::npos) << csv;
  fs::remove_all(sweep);
}

TEST(Report, NonFiniteFiguresWrittenAsNullShowAsBoundsOrDashesNotAnError) {
  // JSON holds an overflowing hazard ratio (a separated fit) or a C-index that no bootstrap
  // resample could correct as null; the table must still render.
  auto rows = two_configurations();
  for (auto& r : rows)
    if (r["kind"] == "cox" && r["config_id"] == "bbbb") {
      r["survival"]["score_hr_per_sd"] = nullptr;
      r["survival"]["score_hr_per_sd_upper"] = nullptr;
      r["survival"]["c_image_corrected"] = nullptr;
    }
  const auto md = to_markdown(aggregate(rows));
  EXPECT_NE(md.find("| > 1e6 (2.10–> 1e6) |"), std::string::npos) << md;
}

TEST(ReportCsv, TextCellsAreQuotedAndSpreadsheetSafe_NumbersAreNot) {
  // table.csv is opened in spreadsheets: a text cell starting like a formula gets a "'", a
  // cell with a comma is quoted, a negative number stays a number.
  Table t;
  t.axes = {"=cmd", "train.lr"};
  TableRow r;
  r.config_id = "@id";
  r.axis_values = {"-1+cmd|' /C calc'!A0", "-0.5"};
  r.auroc = {0.8, 0.7};
  r.auprc = {0.2, 0.3};
  t.rows.push_back(r);
  r.config_id = "sel";
  r.axis_values = {"nested (3 inner folds): 0.1 ×2, 0.01 ×1", "1e-3"};
  t.rows.push_back(r);
  const auto csv = to_csv(t);
  std::vector<std::string> lines;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << csv;
  EXPECT_EQ(lines[0].rfind("config_id,'=cmd,train.lr,auroc_mean,", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("'@id,'-1+cmd|' /C calc'!A0,-0.5,0.75,", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("sel,\"nested (3 inner folds): 0.1 ×2, 0.01 ×1\",1e-3,0.75,", 0), 0u)
      << lines[2];
  const auto header = vfp::split_csv_row(lines[0]);
  for (std::size_t k = 1; k < lines.size(); ++k)
    EXPECT_EQ(vfp::split_csv_row(lines[k]).size(), header.size()) << lines[k];
}
