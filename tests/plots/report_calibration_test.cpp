// The report's calibration and predicted-vs-observed risk figures, drawn from the analysis of
// the cox and selection rows, and the page's section per nested selection.
#include "core/core.h"
#include "metrics/metrics.h"
#include "plots/plots.h"
#include "results/results.h"

#include "fixture.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using namespace vfp;
using namespace vfp::plots_test;

/// The four configurations of kConfigs whose cox rows carry calibration and risk groups; the
/// second's risk horizon is 2.5 years.
std::vector<nlohmann::json> sweep_with_analysis(const fs::path& dir) {
  auto rows = make_sweep(dir, kConfigs);
  for (const auto& c : kConfigs) {
    auto& cox = cox_row(rows, c.id);
    cox["calibration"] = calibration_block();
    cox["survival"] = survival_block(c.id == "bbbb2222" ? 2.5 : 5.0);
  }
  write_rows(dir, rows);
  return rows;
}

/// fnet's nested selection over train.lr: folds 0, 2, 3 chose 1e-4 (aaaa1111), fold 1 1e-2.
const std::string kSelection = "5e1ec7ed";
void add_fnet_selection(const fs::path& dir, std::vector<nlohmann::json>& rows) {
  add_selection(dir, rows, kSelection, {"aaaa1111", "bbbb2222"}, {0, 1, 0, 0});
}

/// A data file's lines that are neither comments nor blank.
std::vector<std::string> data_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::istringstream in(read_text_file(file));
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#')
      out.push_back(line);
  return out;
}

/// A data file's block whose header starts with `header` (up to the next blank line).
std::string block(const fs::path& file, const std::string& header) {
  const auto text = read_text_file(file);
  const auto at = text.find("\n" + header);
  if (at == std::string::npos)
    return "";
  return text.substr(at + 1, text.find("\n\n", at + 1) - at - 1);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

TEST(ReportCalibration, DataFileHoldsTheCrossFittedBinsAndTheScriptTheirSummary) {
  const auto dir = scratch("calibration_data", "sens");
  const auto rows = sweep_with_analysis(dir);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  const auto figures = dir / "report" / "figures";
  // bin n events mean_predicted observed lower upper, as the row has them.
  EXPECT_EQ(
      data_lines(figures / "calibration-aaaa1111.dat"),
      (std::vector<std::string>{"1 60 3 0.05 0.05 0.0171 0.1369", "2 60 12 0.21 0.2 0.118 0.318",
                                "3 60 27 0.41 0.45 0.33 0.575"}));
  EXPECT_NE(read_text_file(figures / "calibration-aaaa1111.dat")
                .find("# cross-fitted calibrated probabilities: n 180 events 42 brier 0.1234 "
                      "intercept 0.104 slope 0.896 prior_shift 1.1\n"),
            std::string::npos);
  const auto gp = read_text_file(figures / "calibration-aaaa1111.gp");
  EXPECT_NE(gp.find("Calibration · Brier 0.123 · intercept 0.10 · slope 0.90"), std::string::npos)
      << gp;
  EXPECT_NE(gp.find("'observed, 95 % CI (180 subjects, 42 events)'"), std::string::npos);
  // Both axes from 0 to a round value above the highest interval (0.575).
  EXPECT_NE(gp.find("set xrange [0:0.8]\nset yrange [0:0.8]\n"), std::string::npos);
  EXPECT_NE(gp.find("using 4:5:6:7 with yerrorlines"), std::string::npos);
  EXPECT_NE(gp.find("x with lines"), std::string::npos); // the ideal diagonal
}

TEST(ReportCalibration, RiskDataHoldsPredictedAndObservedRiskPerTertileAtTheRowsHorizon) {
  const auto dir = scratch("risk_data", "sens");
  const auto rows = sweep_with_analysis(dir);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  const auto figures = dir / "report" / "figures";
  // group subjects events predicted observed observed_lower observed_upper name
  EXPECT_EQ(data_lines(figures / "risk-aaaa1111.dat"),
            (std::vector<std::string>{"0 80 5 0.06 0.0625 0.02 0.13 low",
                                      "1 80 14 0.17 0.18 0.1 0.27 middle",
                                      "2 80 30 0.4 0.39 0.29 0.5 high"}));
  EXPECT_NE(read_text_file(figures / "risk-aaaa1111.dat").find("# horizon_years 5\n"),
            std::string::npos);
  const auto gp = read_text_file(figures / "risk-aaaa1111.gp");
  EXPECT_NE(gp.find("'Risk at 5 years by tertile of score + age + BMI'"), std::string::npos) << gp;
  EXPECT_NE(gp.find("set xrange [0:0.6]\nset yrange [0:0.6]\n"), std::string::npos);
  EXPECT_NE(read_text_file(figures / "risk-bbbb2222.gp").find("'Risk at 2.5 years by tertile"),
            std::string::npos);
  const auto html = read_text_file(out.index);
  EXPECT_NE(section(html, "config-aaaa1111")
                .find("Cox-predicted vs observed (Kaplan–Meier) risk at 5 years by tertile of "
                      "score + age + BMI"),
            std::string::npos);
  EXPECT_NE(section(html, "config-bbbb2222").find("risk at 2.5 years by tertile"),
            std::string::npos);
}

TEST(ReportCalibration, NullOrEmptyBlocksGiveNoFigureAndNoError) {
  const auto dir = scratch("calibration_null", "sens");
  auto rows = sweep_with_analysis(dir);
  cox_row(rows, "aaaa1111")["calibration"] = nullptr;
  cox_row(rows, "aaaa1111")["calibration_note"] = "the outcomes have one class";
  cox_row(rows, "bbbb2222")["survival"] = nullptr;
  cox_row(rows, "bbbb2222")["survival_note"] = "no event";
  cox_row(rows, "cccc3333").erase("calibration"); // a row of an older vfp: no block, no note
  cox_row(rows, "dddd4444")["survival"]["risk_groups"] = nlohmann::json::array();
  cox_row(rows, "dddd4444")["calibration"]["cross_fitted"]["bins"] = nlohmann::json::array();
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  const auto figures = dir / "report" / "figures";
  EXPECT_FALSE(fs::exists(figures / "calibration-aaaa1111.dat"));
  EXPECT_TRUE(fs::exists(figures / "risk-aaaa1111.dat"));
  EXPECT_TRUE(fs::exists(figures / "calibration-bbbb2222.dat"));
  EXPECT_FALSE(fs::exists(figures / "risk-bbbb2222.dat"));
  EXPECT_FALSE(fs::exists(figures / "calibration-cccc3333.dat"));
  EXPECT_FALSE(fs::exists(figures / "calibration-dddd4444.dat"));
  EXPECT_FALSE(fs::exists(figures / "risk-dddd4444.dat"));
  // The other figures stand; the page says why a figure is missing where the row says why.
  EXPECT_TRUE(fs::exists(figures / "roc-aaaa1111.dat"));
  EXPECT_TRUE(fs::exists(figures / "km-bbbb2222.dat"));
  const auto html = read_text_file(out.index);
  EXPECT_NE(section(html, "config-aaaa1111")
                .find("<p class=\"note\">No calibration figure: the outcomes have one class</p>"),
            std::string::npos);
  EXPECT_NE(section(html, "config-bbbb2222")
                .find("<p class=\"note\">No predicted-vs-observed risk figure: no event</p>"),
            std::string::npos);
  EXPECT_EQ(count(html, "No calibration figure"), 1);
  EXPECT_EQ(count(html, "No predicted-vs-observed risk figure"), 1);
}

TEST(ReportCalibration, PageShowsCalibrationAndRiskBesideRocPrAndKaplanMeier) {
  if (plots::find_program("gnuplot").empty())
    GTEST_SKIP() << "gnuplot is not installed (Debian: gnuplot-nox)";
  const auto dir = scratch("calibration_page", "sens");
  auto rows = sweep_with_analysis(dir);
  add_fnet_selection(dir, rows);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows);
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  // Five per configuration and per selection, the learning curves per configuration, the
  // overview and the sensitivity to train.lr.
  EXPECT_EQ(out.figures.size(), 5u * 5 + 4 + 1 + 1);
  const auto figures = dir / "report" / "figures";
  // gnuplot's plot elements: the bins with their intervals and the diagonal; the groups, their
  // names and the diagonal.
  EXPECT_EQ(plots_in(figures / "calibration-aaaa1111.svg"), 2u);
  EXPECT_EQ(plots_in(figures / "risk-aaaa1111.svg"), 3u);
  EXPECT_NE(read_text_file(figures / "calibration-aaaa1111.svg").find("Brier 0.123"),
            std::string::npos);
  EXPECT_NE(read_text_file(figures / "risk-aaaa1111.svg").find(">middle<"), std::string::npos);
  const auto html = read_text_file(out.index);
  for (const auto& id : {std::string("config-aaaa1111"), "selection-" + kSelection}) {
    const auto s = section(html, id);
    const auto stem = id.substr(id.find('-') + 1);
    // In order: ROC, PR, Kaplan–Meier, calibration, risk.
    std::size_t last = 0;
    for (const auto* kind : {"roc-", "pr-", "km-", "calibration-", "risk-"}) {
      const auto at = s.find("<img src=\"figures/" + std::string(kind) + stem + ".svg\"");
      ASSERT_NE(at, std::string::npos) << id << " " << kind;
      EXPECT_GT(at, last) << id << " " << kind;
      last = at;
    }
    EXPECT_NE(s.find("Calibration of probabilities recalibrated on the other folds (logistic on "
                     "the logit, training prior undone)"),
              std::string::npos);
  }
  for (const auto& t : links(html))
    EXPECT_TRUE(fs::exists(dir / "report" / unescape(t))) << t;
}

TEST(ReportSelection, NestedSelectionGetsASectionWithEachFoldsChoiceAndItsFigures) {
  const auto dir = scratch("selection", "sens");
  auto rows = sweep_with_analysis(dir);
  add_fnet_selection(dir, rows);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  const auto html = read_text_file(out.index);
  EXPECT_NE(html.find("4 configurations · 1 nested selection · tasks:"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"#selections\">Nested selections</a>"), std::string::npos);
  const auto selections = html.find("<section id=\"selections\">");
  ASSERT_NE(selections, std::string::npos);
  EXPECT_GT(html.find("<section id=\"selection-" + kSelection + "\">"), selections);
  const auto s = section(html, "selection-" + kSelection);
  EXPECT_NE(s.find("<h3>nested selection " + kSelection + " (model.arch = fnet)</h3>"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("<dt>chosen per outer fold</dt><dd>train.lr, by mean inner auroc over 3 "
                   "inner folds of the outer training part</dd>"),
            std::string::npos);
  EXPECT_NE(s.find("71.0 % (DeLong 95 % CI 63.0–79.0)"), std::string::npos);
  // One line per outer fold: repeat, fold, the chosen learning rate (linked to its section),
  // the inner score, the test AUROC and AUPRC of the chosen task.
  const std::vector<std::pair<std::string, std::string>> chosen{
      {"aaaa1111", "1e-4"}, {"bbbb2222", "1e-2"}, {"aaaa1111", "1e-4"}, {"aaaa1111", "1e-4"}};
  for (std::size_t fold = 0; fold < chosen.size(); ++fold) {
    const auto task = chosen[fold].first + "-f" + std::to_string(fold);
    double auroc = 0, auprc = 0;
    for (const auto& r : rows)
      if (r.value("task_id", "") == task) {
        auroc = r.at("auroc").get<double>();
        auprc = r.at("auprc").get<double>();
      }
    char inner[16];
    std::snprintf(inner, sizeof inner, "%.3f", 0.7 + 0.01 * double(fold));
    const auto line = R"(<tr><td class="num">0</td><td class="num">)" + std::to_string(fold) +
                      "</td><td><a href=\"#config-" + chosen[fold].first +
                      "\">train.lr = " + chosen[fold].second + "</a></td><td class=\"num\">" +
                      inner + "</td><td class=\"num\">" + percent(auroc) +
                      " %</td><td class=\"num\">" + percent(auprc) + " %</td></tr>";
    EXPECT_NE(s.find(line), std::string::npos) << line << "\n" << s;
  }
  // The fold curves are the chosen tasks': fold 2 (fold index 1) is 1e-2's own second fold.
  const auto figures = dir / "report" / "figures";
  const auto roc = figures / ("roc-" + kSelection + ".dat");
  EXPECT_EQ(count(read_text_file(roc), "\n# fold "), 4);
  EXPECT_EQ(block(roc, "# fold 2:"), block(figures / "roc-bbbb2222.dat", "# fold 2:"));
  EXPECT_NE(block(roc, "# fold 2:"), block(figures / "roc-aaaa1111.dat", "# fold 2:"));
  EXPECT_EQ(block(roc, "# fold 1:"), block(figures / "roc-aaaa1111.dat", "# fold 1:"));
  for (const auto* kind : {"pr-", "km-", "calibration-", "risk-"})
    EXPECT_TRUE(fs::exists(figures / (kind + kSelection + ".dat"))) << kind;
  EXPECT_EQ(data_lines(figures / ("calibration-" + kSelection + ".dat")).size(), 3u);
  EXPECT_NE(read_text_file(figures / ("roc-" + kSelection + ".gp"))
                .find("set title 'ROC · nested selection " + kSelection + " (model.arch = fnet)'"),
            std::string::npos);
}

TEST(ReportSelection, OverviewAndSensitivityLeaveNestedSelectionsOut) {
  const auto dir = scratch("selection_overview", "sens");
  auto rows = sweep_with_analysis(dir);
  add_fnet_selection(dir, rows);
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  const auto figures = dir / "report" / "figures";
  const auto overview = read_text_file(figures / "roc-overview.dat");
  EXPECT_EQ(count(overview, "# "), 4);
  EXPECT_EQ(overview.find("nested"), std::string::npos);
  // The selection's train.lr reads "nested (…): 1e-4 ×3, 1e-2 ×1", not a number: the
  // configurations' learning rates still get their figure, with a line per architecture.
  const auto sensitivity = figures / "sensitivity-1-train_lr.dat";
  ASSERT_TRUE(fs::exists(sensitivity));
  EXPECT_EQ(count(read_text_file(sensitivity), "# "), 2);
}

} // namespace
