// The report page's steps seen from the files they write: the pooled figures' metrics are
// lib/metrics' on the pooled predictions, and a row missing predictions says so in its section
// (gathered first, drawn after). No gnuplot needed: figures off, scripts still written.
#include "core/core.h"
#include "metrics/metrics.h"
#include "plots/plots.h"
#include "results/results.h"

#include "fixture.h"

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace {

using namespace vfp;
using namespace vfp::plots_test;

TEST(ReportSteps, PooledLegendsAreLibMetricsAurocAndAveragePrecisionOfThePooledFile) {
  const auto dir = scratch("pooled", "sens");
  const auto rows = make_sweep(dir, kConfigs);
  plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  const auto csv = read_csv((dir / "configurations" / "aaaa1111" / "oof.csv").string());
  std::vector<double> scores;
  std::vector<int> events;
  for (const auto& row : csv.rows) {
    scores.push_back(csv.number(row, csv.column("score")));
    events.push_back(int(csv.number(row, csv.column("event"))));
  }
  const auto figures = dir / "report" / "figures";
  const auto roc = read_text_file(figures / "roc-aaaa1111.gp");
  const auto pr = read_text_file(figures / "pr-aaaa1111.gp");
  EXPECT_NE(roc.find("pooled out-of-fold: AUROC " + percent(metrics::auroc(scores, events)) + " %"),
            std::string::npos)
      << roc;
  EXPECT_NE(pr.find("pooled out-of-fold: AP " +
                    percent(metrics::average_precision(scores, events)) + " %"),
            std::string::npos)
      << pr;
}

TEST(ReportSteps, SectionSaysWhatIsMissing_WhenPredictionsOrThePooledFileAreAbsent) {
  const auto dir = scratch("missing", "sens");
  const auto rows = make_sweep(dir, kConfigs);
  // aaaa1111: no pooled file (its cox job not run yet); bbbb2222: no predictions at all.
  fs::remove(dir / "configurations" / "aaaa1111" / "oof.csv");
  fs::remove_all(dir / "configurations" / "bbbb2222");
  for (int fold = 0; fold < 4; ++fold)
    fs::remove(dir / "tasks" / ("bbbb2222-f" + std::to_string(fold)) / "oof.csv");
  const auto out = plots::write_report_page(dir, results::aggregate(rows), rows, without_drawing());
  EXPECT_TRUE(out.warnings.empty()) << out.warnings.front();
  const auto html = read_text_file(out.index);
  const auto a = section(html, "config-aaaa1111"), b = section(html, "config-bbbb2222");
  EXPECT_NE(a.find("No Kaplan–Meier figure: the pooled out-of-fold predictions (cox job) are "
                   "missing or have too few subjects or events."),
            std::string::npos)
      << a;
  EXPECT_NE(b.find("No out-of-fold predictions yet: no curves."), std::string::npos) << b;
  const auto figures = dir / "report" / "figures";
  // Without the pooled file the splits' predictions are pooled instead.
  EXPECT_TRUE(fs::exists(figures / "roc-aaaa1111.gp"));
  EXPECT_NE(read_text_file(figures / "pr-aaaa1111.gp").find("pooled out-of-fold: AP "),
            std::string::npos);
  EXPECT_FALSE(fs::exists(figures / "km-aaaa1111.gp"));
  EXPECT_FALSE(fs::exists(figures / "roc-bbbb2222.gp"));
  // The overview compares the three configurations with curves.
  const auto overview = read_text_file(figures / "roc-overview.dat");
  int blocks = 0;
  for (auto at = overview.find(": fpr mean_tpr"); at != std::string::npos;
       at = overview.find(": fpr mean_tpr", at + 1))
    ++blocks;
  EXPECT_EQ(blocks, 3);
}

} // namespace
