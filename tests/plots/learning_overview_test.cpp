// Learning curves from the tasks' history.csv (one line per task, the best epoch marked; a
// missing or malformed history left out with a note naming the file), the ROC overview's
// choice of rows (the best few and the baseline) and where every figure puts its key (outside
// the plot area). Figures off: the data and scripts are what is checked, no gnuplot needed.
#include "core/core.h"
#include "metrics/metrics.h"
#include "plots/plots.h"
#include "results/results.h"

#include "fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using namespace vfp;
using namespace vfp::plots_test;

/// A data file's index blocks (separated by two blank lines), each as its lines.
std::vector<std::vector<std::string>> blocks_of(const fs::path& file) {
  std::vector<std::vector<std::string>> out(1);
  std::istringstream in(read_text_file(file));
  int blank = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      if (++blank == 2)
        out.emplace_back();
      continue;
    }
    blank = 0;
    out.back().push_back(line);
  }
  return out;
}

/// The epochs whose last column (best) is 1 in a learning-curve block.
std::vector<int> marked_epochs(const std::vector<std::string>& block) {
  std::vector<int> out;
  for (const auto& line : block)
    if (line[0] != '#' && line.back() == '1')
      out.push_back(std::stoi(line));
  return out;
}

nlohmann::json& task_row(std::vector<nlohmann::json>& rows, const std::string& task) {
  for (auto& r : rows)
    if (r.value("task_id", "") == task)
      return r;
  throw std::runtime_error("no row of " + task);
}

TEST(LearningCurves, OneBlockPerFoldWithTheHistoryAndTheRowsBestEpochMarked) {
  const auto dir = scratch("learning", "sens");
  auto rows = make_sweep(dir, kConfigs);
  // A second repeat of aaaa1111's fold 0; fold 1's row keeps epoch 6 (not the top AUROC: the
  // row, not the history, says which epoch was kept); fold 2's row is of a vfp without it.
  auto extra = task_row(rows, "aaaa1111-f0");
  extra["task_id"] = "aaaa1111-r1-f0";
  extra["repeat"] = 1;
  rows.push_back(extra);
  fs::create_directories(dir / "tasks" / "aaaa1111-r1-f0");
  write_file_atomically(dir / "tasks" / "aaaa1111-r1-f0" / "history.csv", history_csv(5, 2, 0.1));
  task_row(rows, "aaaa1111-f1")["best_epoch"] = 6;
  task_row(rows, "aaaa1111-f2").erase("best_epoch");
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  const auto figures = dir / "report" / "figures";
  const auto blocks = blocks_of(figures / "learning-aaaa1111.dat");
  ASSERT_EQ(blocks.size(), 5u); // repeat 0 folds 0–3, then repeat 1 fold 0
  EXPECT_EQ(blocks[0][0],
            "# repeat 0, fold 0 (best epoch 3): epoch train_loss val_loss val_auroc best");
  EXPECT_EQ(blocks[4][0],
            "# repeat 1, fold 0 (best epoch 3): epoch train_loss val_loss val_auroc best");
  EXPECT_EQ(blocks[0].size(), 1u + 7);
  EXPECT_EQ(blocks[4].size(), 1u + 5);
  // history_csv(7, 3, 0): epoch 1's train loss 0.7 e^-0.25, val loss 0.5 + 0.008·4, val AUROC
  // 0.78 − 0.01·4, as the data file's columns.
  EXPECT_EQ(blocks[0][1], "1 0.545161 0.532 0.74 0");
  EXPECT_EQ(marked_epochs(blocks[0]), std::vector<int>{3});
  EXPECT_EQ(marked_epochs(blocks[1]), std::vector<int>{6}); // the row's
  EXPECT_EQ(marked_epochs(blocks[2]), std::vector<int>{5}); // the top val AUROC
  EXPECT_EQ(marked_epochs(blocks[3]), std::vector<int>{3});
  EXPECT_EQ(marked_epochs(blocks[4]), std::vector<int>{3}); // the copied row's best_epoch
  // Colour by fold, dash by repeat; the key names both.
  const auto gp = read_text_file(figures / "learning-aaaa1111.gp");
  EXPECT_NE(gp.find("series = 5\n"), std::string::npos) << gp;
  EXPECT_NE(gp.find("dashes = '1 1 1 1 2'"), std::string::npos) << gp;
  EXPECT_NE(gp.find("colours = '#0072B2 #D55E00 #009E73 #CC79A7 #0072B2'"), std::string::npos);
  for (const auto* entry : {"title 'fold 3'", "title 'repeat 1'", "title 'best epoch (kept)'"})
    EXPECT_NE(gp.find(entry), std::string::npos) << entry;
  // Only one repeat elsewhere: no repeat entries.
  EXPECT_EQ(read_text_file(figures / "learning-bbbb2222.gp").find("'repeat "), std::string::npos);
  // On the page: the wide figure in the configuration's section.
  const auto html = read_text_file(out.index);
  EXPECT_NE(section(html, "config-aaaa1111").find("figures/learning-aaaa1111.gp"),
            std::string::npos);
}

TEST(LearningCurves, MissingOrMalformedHistoryIsLeftOutWithANoteNamingTheFile) {
  const auto dir = scratch("learning_bad", "sens");
  const auto rows = make_sweep(dir, kConfigs);
  const auto history = [&](const std::string& task) {
    return dir / "tasks" / task / "history.csv";
  };
  // aaaa1111: a cell that is no number (line 4: epoch 3), and a history with a header only.
  auto text = read_text_file(history("aaaa1111-f0"));
  const auto line4 = text.find("\n3,") + 1;
  text.replace(text.find(',', line4) + 1, 0, "x");
  write_file_atomically(history("aaaa1111-f0"), text);
  write_file_atomically(history("aaaa1111-f1"), "epoch,train_loss,val_auroc,val_loss\n");
  // bbbb2222: a missing column and a missing file; cccc3333: every history missing.
  write_file_atomically(history("bbbb2222-f0"), "epoch,train_loss\n1,0.5\n");
  fs::remove(history("bbbb2222-f3"));
  for (int fold = 0; fold < 4; ++fold)
    fs::remove(history("cccc3333-f" + std::to_string(fold)));
  // dddd4444: epochs out of order, and "nan" (a validation split with one class) is no error.
  write_file_atomically(history("dddd4444-f0"), "epoch,train_loss,val_auroc,val_loss\n"
                                                "2,0.5,0.7,0.6\n1,0.4,0.7,0.6\n");
  write_file_atomically(history("dddd4444-f1"), "epoch,train_loss,val_auroc,val_loss\n"
                                                "1,0.5,nan,0.6\n2,0.4,-nan,0.6\n");
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  const auto html = read_text_file(out.index);
  const auto figures = dir / "report" / "figures";
  const auto a = unescape(section(html, "config-aaaa1111"));
  EXPECT_NE(a.find(history("aaaa1111-f0").string() + ":4: column 'train_loss' holds 'x0."),
            std::string::npos)
      << a;
  EXPECT_NE(a.find(history("aaaa1111-f1").string() + ": no epoch"), std::string::npos) << a;
  EXPECT_EQ(blocks_of(figures / "learning-aaaa1111.dat").size(), 2u); // folds 2 and 3 drawn
  const auto b = unescape(section(html, "config-bbbb2222"));
  EXPECT_NE(b.find(history("bbbb2222-f0").string() + ":1: missing column 'val_auroc'"),
            std::string::npos)
      << b;
  EXPECT_NE(b.find("Learning curves leave out 1 of 4 folds: no history file (" +
                   history("bbbb2222-f3").string() + ")."),
            std::string::npos)
      << b;
  const auto c = unescape(section(html, "config-cccc3333"));
  EXPECT_NE(c.find("leave out 4 of 4 folds"), std::string::npos) << c;
  EXPECT_NE(c.find("No learning-curve figure: no readable history.csv."), std::string::npos);
  EXPECT_FALSE(fs::exists(figures / "learning-cccc3333.gp"));
  const auto d = unescape(section(html, "config-dddd4444"));
  EXPECT_NE(d.find(history("dddd4444-f0").string() + ":3: epoch '1' is not a whole number above "
                                                     "the one before"),
            std::string::npos)
      << d;
  const auto dddd = blocks_of(figures / "learning-dddd4444.dat");
  ASSERT_EQ(dddd.size(), 3u);
  EXPECT_EQ(dddd[0][1], "1 0.5 0.6 ? 0"); // nan is a missing point
  // The malformed files are warnings (the log names them); missing ones only notes.
  EXPECT_EQ(out.warnings.size(), 4u);
  for (const auto& w : out.warnings)
    EXPECT_NE(w.find("report learning curves of "), std::string::npos) << w;
  // Every other figure is still there.
  EXPECT_TRUE(fs::exists(figures / "roc-cccc3333.gp"));
}

/// A sweep of nine configurations whose signal grows with their number (c1 weakest).
std::vector<Config> nine_configs() {
  std::vector<Config> configs;
  for (int k = 1; k <= 9; ++k)
    configs.push_back(
        {"c" + std::to_string(k) + "000000", "1e-" + std::to_string(k), "fnet", 0.2 * k});
  return configs;
}

/// The table's configuration labels by mean AUROC, best first, leaving out `skip`.
std::vector<std::string> by_mean_auroc(const results::Table& table,
                                       const std::set<std::string>& skip) {
  std::vector<std::pair<double, std::string>> order;
  for (const auto& row : table.rows)
    if (!row.selected && !skip.count(row.config_id))
      order.emplace_back(-metrics::mean_std(row.auroc).mean,
                         "train.lr = " + row.axis_values[0] + ", model.arch = fnet");
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& o : order)
    out.push_back(o.second);
  return out;
}

/// The configuration labels in the overview's data file, in order ("baseline: " kept).
std::vector<std::string> overview_labels(const fs::path& figures) {
  std::vector<std::string> out;
  for (const auto& block : blocks_of(figures / "roc-overview.dat"))
    out.push_back(block.at(0).substr(2, block.at(0).find(':', 12) - 2));
  return out;
}

TEST(RocOverview, DrawsTheBestSixByMeanAurocAndTheBaselineAndSaysHowManyAreLeftOut) {
  const auto dir = scratch("overview", "sens");
  const auto rows = make_sweep(dir, nine_configs());
  auto table = results::aggregate(rows);
  table.baseline = 0; // the weakest, c1
  const auto out = plots::write_report_page(dir, table, rows, without_drawing());
  const auto figures = dir / "report" / "figures";
  // The six best by mean AUROC, then the baseline.
  auto expected = by_mean_auroc(table, {"c1000000"});
  expected.resize(6);
  expected.push_back("baseline: train.lr = 1e-1, model.arch = fnet");
  EXPECT_EQ(overview_labels(figures), expected);
  const auto gp = read_text_file(figures / "roc-overview.gp");
  EXPECT_NE(gp.find("set title 'Mean ROC curve over folds: 7 of 9 configurations'"),
            std::string::npos)
      << gp;
  EXPECT_NE(gp.find("lw 3 dt 2 lc rgb \"#000000\" title 'baseline: train.lr = 1e-1"),
            std::string::npos);
  const auto html = read_text_file(out.index);
  EXPECT_NE(html.find("the 6 best configurations (by mean AUROC over folds) and the baseline; 2 "
                      "of 9 configurations are left out (the table lists them all)"),
            std::string::npos);
}

TEST(RocOverview, ConfigurationsTheNestedSelectionChoseLead) {
  const auto dir = scratch("overview_selection", "sens");
  auto rows = make_sweep(dir, nine_configs());
  // The selection chose the two weakest: c2 for three folds, c1 for one.
  add_selection(dir, rows, "5e1ec7ed", {"c1000000", "c2000000"}, {1, 1, 0, 1});
  const auto table = results::aggregate(rows);
  const auto out = plots::write_report_page(dir, table, rows, without_drawing());
  // No baseline: the chosen two, most often chosen first, then the best four of the others.
  auto expected = by_mean_auroc(table, {"c1000000", "c2000000"});
  expected.resize(4);
  expected.insert(expected.begin(),
                  {"train.lr = 1e-2, model.arch = fnet", "train.lr = 1e-1, model.arch = fnet"});
  EXPECT_EQ(overview_labels(dir / "report" / "figures"), expected);
  EXPECT_NE(read_text_file(out.index).find(
                "those the nested selection chose (most often first), then by mean AUROC "
                "over folds); 3 of 9 configurations are left out"),
            std::string::npos);
}

/// A plot area or key position in screen fractions, as a script sets it.
struct Rect {
  double left = 0, right = 1, top = 1, bottom = 0;
};

TEST(FigureKeys, EveryKeyIsOutsideEveryPlotAreaAndUnderTheXAxis) {
  const auto dir = scratch("keys", "sens");
  auto rows = make_sweep(dir, kConfigs);
  add_selection(dir, rows, "5e1ec7ed", {"aaaa1111", "bbbb2222"}, {0, 1, 0, 0});
  auto& cox = cox_row(rows, "aaaa1111");
  cox["calibration"] = calibration_block();
  cox["survival"] = survival_block();
  write_rows(dir, rows);
  plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  const std::regex margin(R"(set ([lrtb])margin at screen ([0-9.e-]+))");
  const std::regex key(R"(set key at screen ([0-9.e-]+), screen ([0-9.e-]+) (center|left) top)");
  int scripts = 0, keys = 0;
  for (const auto& entry : fs::directory_iterator(dir / "report" / "figures")) {
    if (entry.path().extension() != ".gp")
      continue;
    ++scripts;
    const auto gp = read_text_file(entry.path());
    EXPECT_EQ(gp.find("set key inside"), std::string::npos) << entry.path();
    EXPECT_EQ(gp.find("set key below"), std::string::npos) << entry.path();
    // The plot areas: the margins in force at each plot command.
    std::vector<Rect> areas;
    Rect current;
    std::vector<std::pair<double, double>> anchors;
    std::vector<bool> centred;
    std::istringstream lines(gp);
    for (std::string line; std::getline(lines, line);) {
      std::smatch m;
      if (std::regex_search(line, m, margin)) {
        const double v = std::stod(m[2]);
        (m[1] == "l"   ? current.left
         : m[1] == "r" ? current.right
         : m[1] == "t" ? current.top
                       : current.bottom) = v;
      } else if (std::regex_search(line, m, key)) {
        anchors.emplace_back(std::stod(m[1]), std::stod(m[2]));
        centred.push_back(m[3] == "center");
      } else if (line.rfind("plot ", 0) == 0) {
        areas.push_back(current);
      }
    }
    ASSERT_FALSE(areas.empty()) << entry.path();
    for (const auto& a : areas) // every plot area placed, not left to gnuplot
      EXPECT_TRUE(a.left > 0 && a.right < 1 && a.top < 1 && a.bottom > 0) << entry.path();
    EXPECT_EQ(anchors.size(), gp.find("set key off") == std::string::npos ? 1u : 0u)
        << entry.path();
    for (std::size_t k = 0; k < anchors.size(); ++k) {
      ++keys;
      const auto [x, y] = anchors[k];
      for (const auto& a : areas) {
        // A centred key hangs from under every plot area and the x label under it (≥ 90 px of
        // the ≤ 1200 px canvas); a left-aligned one (learning curves) starts right of the plot
        // areas beside it.
        if (centred[k]) {
          EXPECT_LT(y, a.bottom - 0.07) << entry.path();
        } else if (y > a.bottom) {
          EXPECT_GT(x, a.right + 0.05) << entry.path();
        }
      }
    }
  }
  // Learning, ROC, PR, Kaplan–Meier per configuration (selection: no learning curves), the
  // calibration and risk figures, the overview, the sensitivity figure.
  EXPECT_EQ(scripts, 4 * 4 + 3 + 2 * 2 + 1 + 1);
  EXPECT_EQ(keys, scripts);
}

} // namespace
