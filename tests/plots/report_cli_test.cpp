// `vfp report` end to end on a finished sweep's folder (made without training): it still prints
// the table, and writes report/ with the tables, the figures and index.html.
#include "core/core.h"
#include "plots/plots.h"

#include <gtest/gtest.h>

#include "fixture.h"
#include "report_cli.h"

namespace {

using namespace vfp;
using namespace vfp::plots_test;

TEST(ReportCommand, PrintsTheTableAndWritesTablesFiguresAndThePage) {
  const auto dir = scratch("cli", "lr");
  make_sweep(dir, {kConfigs[0], kConfigs[1]}); // fnet at 1e-4 and 1e-2
  const auto out = vfp_report({dir.string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out.rfind("| train.lr | model.arch | AUROC (%) |", 0), 0u) << out.out;
  const auto report = dir / "report";
  EXPECT_EQ(read_text_file(report / "table.md"), out.out); // the printed table, as a file
  EXPECT_NE(read_text_file(report / "table.csv").find("config_id,train.lr,model.arch"),
            std::string::npos);
  EXPECT_NE(read_text_file(report / "table.tex").find("\\toprule"), std::string::npos);
  const auto html = read_text_file(report / "index.html");
  EXPECT_NE(html.find("<a href=\"table.tex\">"), std::string::npos);
  EXPECT_NE(out.err.find("report written to " + (report / "index.html").string()),
            std::string::npos)
      << out.err;
  if (plots::find_program("gnuplot").empty())
    GTEST_SKIP() << "gnuplot is not installed: figures not checked";
  // Learning curves, ROC, PR and Kaplan–Meier of both, the overview, AUROC against train.lr.
  EXPECT_NE(out.err.find("(10 figures)"), std::string::npos) << out.err;
  EXPECT_TRUE(fs::exists(report / "figures" / "learning-aaaa1111.png"));
  EXPECT_TRUE(fs::exists(report / "figures" / "sensitivity-1-train_lr.png"));
  EXPECT_NE(html.find("<img src=\"figures/km-aaaa1111.svg\""), std::string::npos);
}

TEST(ReportCommand, NoFiguresAndRiskGroupsOptions) {
  const auto dir = scratch("cli_options", "lr");
  make_sweep(dir, {kConfigs[0], kConfigs[1]});
  const auto out = vfp_report({dir.string(), "--no-figures", "--risk-groups", "4"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto figures = dir / "report" / "figures";
  EXPECT_FALSE(fs::exists(figures / "roc-aaaa1111.svg"));
  EXPECT_NE(read_text_file(figures / "km-aaaa1111.gp").find("group 1 of 4"), std::string::npos);
  EXPECT_NE(read_text_file(dir / "report" / "index.html").find("Figures were not drawn"),
            std::string::npos);
  EXPECT_NE(vfp_report({dir.string(), "--risk-groups", "1"}).exit_code, 0); // at least 2
}

} // namespace
