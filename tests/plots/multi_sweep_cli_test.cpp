// `vfp report A B --out DIR` and `vfp report --study FILE` end to end on finished sweep
// folders made without training: one table of both sweeps, and every table of a study, the
// tables of missing sweeps named.
#include "core/core.h"

#include <gtest/gtest.h>

#include "fixture.h"
#include "report_cli.h"

namespace {

using namespace vfp;
using namespace vfp::plots_test;

/// Two finished sweeps under one results root, which it returns: lr_sweep (fnet at 1e-4 and
/// 1e-2) and arch_sweep (resnet18).
fs::path two_sweeps(const std::string& test) {
  const auto lr = scratch(test, "lr_sweep");
  const auto root = lr.parent_path();
  fs::create_directories(root / "arch_sweep");
  make_sweep(lr, {kConfigs[0], kConfigs[1]});
  make_sweep(root / "arch_sweep", {kConfigs[2]});
  return root;
}

TEST(MultiSweepReportCommand, WritesOneTableOfTwoSweepsAndEveryTableOfAStudy) {
  const auto root = two_sweeps("multi_cli");
  const auto lr = root / "lr_sweep";
  const auto arch = root / "arch_sweep";

  const auto out = vfp_report({lr.string(), arch.string(), "--out", (root / "both").string(),
                               "--baseline", "0", "--no-figures"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out.rfind("| sweep | train.lr | model.arch | AUROC (%) |", 0), 0u) << out.out;
  EXPECT_NE(out.out.find("| arch_sweep | 1e-4 | resnet18 |"), std::string::npos) << out.out;
  EXPECT_EQ(read_text_file(root / "both" / "report" / "table.md"), out.out);
  // The page is headed as the table of both sweeps, not as a sweep of its own.
  const auto page = read_text_file(root / "both" / "report" / "index.html");
  EXPECT_NE(page.find("<h1>Table <code>both</code></h1>\n<p class=\"meta\">One table of 2 sweeps: "
                      "<code>lr_sweep</code>, <code>arch_sweep</code></p>"),
            std::string::npos)
      << page.substr(0, 2000);
  // Several sweeps without --out: refused, saying what is missing.
  const auto no_out = vfp_report({lr.string(), arch.string()});
  EXPECT_EQ(no_out.exit_code, 1);
  EXPECT_NE(no_out.err.find("needs --out DIR"), std::string::npos) << no_out.err;

  // A study of two tables, one naming a sweep not run yet: the other is written, the exit
  // status and stderr say which one is missing.
  write_file_atomically(root / "study.yaml", "tables:\n"
                                             "  models:\n"
                                             "    sweeps: [lr_sweep, arch_sweep]\n"
                                             "    where: {train.lr: 1e-4}\n"
                                             "    baseline: {model.arch: resnet18}\n"
                                             "    sort: auroc\n"
                                             "  later:\n"
                                             "    sweeps: [lr_sweep, not_run]\n");
  const auto study =
      vfp_report({"--study", (root / "study.yaml").string(), "--results-root", root.string(),
                  "--out", (root / "tables").string(), "--no-figures"});
  EXPECT_EQ(study.exit_code, 1) << study.err;
  const auto models = read_text_file(root / "tables" / "models" / "report" / "table.md");
  EXPECT_NE(models.find("| arch_sweep | 1e-4 | resnet18 |"), std::string::npos) << models;
  EXPECT_NE(models.find("p (t / DeLong)"), std::string::npos) << models;
  EXPECT_NE(study.out.find("## models\n\n" + models), std::string::npos) << study.out;
  EXPECT_NE(study.err.find("table later not written: " + (root / "study.yaml").string() +
                           ":7: no results in " + (root / "not_run").string()),
            std::string::npos)
      << study.err;
  EXPECT_NE(study.err.find("1 of 2 tables of"), std::string::npos) << study.err;
  EXPECT_EQ(models.find("| 1e-2 |"), std::string::npos) << "where: keeps lr 1e-4 only\n" << models;

  // The study folder reported on its own shows the same table (its where:, baseline and sort
  // as recorded in sources.json), not every row it holds.
  const auto again = vfp_report({(root / "tables" / "models").string(), "--no-figures"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, models);
  // --sort given there wins over the recorded order.
  const auto by_sweep =
      vfp_report({(root / "tables" / "models").string(), "--no-figures", "--sort", "sweep"});
  ASSERT_EQ(by_sweep.exit_code, 0) << by_sweep.err;
  EXPECT_EQ(by_sweep.out.find("| 1e-2 |"), std::string::npos) << by_sweep.out;
  EXPECT_LT(by_sweep.out.find("| lr_sweep |"), by_sweep.out.find("| arch_sweep |")) << by_sweep.out;
}

// A study folder whose sources.json was cut short or edited into another shape: `vfp report`
// on it names the file and what to do, exits 1, and leaves the table it had written alone.
TEST(MultiSweepReportCommand, RefusesAStudyFolderWhoseSourcesFileIsNotOneNamingIt) {
  const auto root = two_sweeps("multi_cli_sources");
  const auto folder = root / "both";
  const auto written = vfp_report({(root / "lr_sweep").string(), (root / "arch_sweep").string(),
                                   "--out", folder.string(), "--no-figures"});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const auto table = read_text_file(folder / "report" / "table.md");
  const auto sources = (folder / "sources.json").string();
  for (const char* text :
       {"{\"sweeps\": [{\"sweep\": \"lr_s", "{\"tables\": []}", "{\"sweeps\": [{\"sweep\": 7}]}"}) {
    SCOPED_TRACE(text);
    write_file_atomically(sources, text);
    const auto again = vfp_report({folder.string(), "--no-figures"});
    EXPECT_EQ(again.exit_code, 1) << again.out;
    EXPECT_NE(again.err.find(sources + ": not the sources.json of a multi-sweep table ("),
              std::string::npos)
        << again.err;
    EXPECT_NE(again.err.find("write the table again with vfp report"), std::string::npos)
        << again.err;
    EXPECT_EQ(read_text_file(folder / "report" / "table.md"), table);
  }
}

} // namespace
