// Several sweeps in one table (results/study.h): a sweep column and qualified ids, the same
// baseline tests as within one sweep, refusal of sweeps that split the cohort differently,
// the study file's tables, and the page drawn from the union.
#include "core/core.h"
#include "plots/plots.h"
#include "results/results.h"
#include "results/study.h"

#include "fixture.h"

#include <gtest/gtest.h>

namespace {

using namespace vfp;
using namespace vfp::plots_test;

/// Two finished sweeps (fixture.h: the same 240 subjects in the same 4 folds): lr_sweep with
/// fnet at two learning rates, arch_sweep with resnet18; and the study folder's path.
struct TwoSweeps {
  fs::path lr, arch, out;
};

TwoSweeps two_sweeps(const std::string& what) {
  TwoSweeps s;
  s.lr = scratch(what + "_lr", "lr_sweep");
  s.arch = scratch(what + "_arch", "arch_sweep");
  make_sweep(s.lr, {kConfigs[0], kConfigs[1]});
  make_sweep(s.arch, {kConfigs[2]});
  s.out = s.arch.parent_path() / "study";
  return s;
}

/// Each finished task's config.json with the split settings `vfp run` records.
void write_task_configs(const fs::path& sweep, int folds) {
  for (const auto& e : fs::directory_iterator(sweep / "tasks"))
    write_file_atomically(e.path() / "config.json",
                          nlohmann::json{{"config", {{"cv", {{"folds", folds}, {"repeats", 1},
                                                             {"seed", 2024}}}}}}
                              .dump());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

std::vector<std::string> column(const results::Table& t, std::size_t k) {
  std::vector<std::string> out;
  for (const auto& r : t.rows)
    out.push_back(r.axis_values.at(k));
  return out;
}

TEST(MultiSweepReport, OneTableWithASweepColumnAndIdsQualifiedBySweep) {
  const auto s = two_sweeps("merge");
  const auto report = results::multi_sweep_report({s.lr, s.arch}, s.out, {}, false);
  const auto& t = report.table;
  ASSERT_EQ(t.axes, (std::vector<std::string>{"sweep", "train.lr", "model.arch"}));
  EXPECT_EQ(column(t, 0), (std::vector<std::string>{"lr_sweep", "lr_sweep", "arch_sweep"}));
  EXPECT_EQ(t.rows[2].config_id, "cccc3333@arch_sweep");
  EXPECT_EQ(t.rows[0].auroc.size(), 4u);
  // Both sweeps have a failed task "lost" (fixture.h): qualified, each counts in its own sweep.
  EXPECT_EQ(t.rows[0].failed, 1);
  EXPECT_EQ(t.rows[1].failed, 0);
  EXPECT_EQ(t.rows[2].failed, 1);
  EXPECT_EQ(results::to_markdown(t).rfind("| sweep | train.lr | model.arch | AUROC (%) |", 0), 0u);
  // The study folder says where its rows came from.
  const auto sources = nlohmann::json::parse(read_text_file(s.out / "sources.json"));
  EXPECT_EQ(sources["sweeps"][1]["sweep"], "arch_sweep");
  EXPECT_EQ(sources["sweeps"][0]["split_fingerprint"], sources["sweeps"][1]["split_fingerprint"]);
}

TEST(MultiSweepReport, CrossSweepTestsEqualThoseOfOneSweepWithTheSamePredictions) {
  const auto s = two_sweeps("tests");
  // The same two configurations' predictions in one sweep: its comparison is the reference.
  const auto single_dir = scratch("tests_single", "single");
  const auto single_rows = make_sweep(single_dir, {kConfigs[0], kConfigs[2]});
  auto single = results::aggregate(single_rows);
  results::compare_to_baseline(single, results::find_row(single, "aaaa1111"), single_dir);
  const auto& expected = single.rows[std::size_t(results::find_row(single, "cccc3333"))];
  ASSERT_GT(expected.p_delong, 0);
  ASSERT_LT(expected.p_delong, 0.05); // signal 1.6 against 1.0 on 240 subjects
  ASSERT_GT(expected.p_corrected_t, 0);

  results::TableSpec spec;
  spec.baseline = "aaaa1111";
  const auto report = results::multi_sweep_report({s.lr, s.arch}, s.out, spec, false);
  const auto& t = report.table;
  const auto& row = t.rows[std::size_t(results::find_row(t, "cccc3333"))];
  EXPECT_EQ(t.rows[std::size_t(t.baseline)].config_id, "aaaa1111@lr_sweep");
  EXPECT_DOUBLE_EQ(row.p_delong, expected.p_delong);
  EXPECT_DOUBLE_EQ(row.p_corrected_t, expected.p_corrected_t);

  // The page and its figures come from the union of the sweeps' predictions and histories.
  const auto page = plots::write_report_page(s.out, t, report.rows, without_drawing());
  const auto html = read_text_file(page.index);
  const auto figures = s.out / "report" / "figures";
  for (const auto* stem : {"aaaa1111_lr_swee", "cccc3333_arch_sw"}) {
    EXPECT_TRUE(fs::exists(figures / ("roc-" + std::string(stem) + ".dat"))) << stem;
    EXPECT_TRUE(fs::exists(figures / ("learning-" + std::string(stem) + ".dat"))) << stem;
    EXPECT_NE(html.find("<section id=\"config-" + std::string(stem) + "\">"), std::string::npos);
  }
  const auto overview = read_text_file(figures / "roc-overview.dat");
  EXPECT_NE(overview.find("sweep = arch_sweep"), std::string::npos) << overview;
}

TEST(MultiSweepReport, RefusesSweepsWithOtherFoldsNamingTheFieldAndBothSweeps) {
  const auto s = two_sweeps("folds");
  write_task_configs(s.lr, 4);
  write_task_configs(s.arch, 5);
  const auto message =
      error_of([&] { results::multi_sweep_report({s.lr, s.arch}, s.out, {}, false); });
  EXPECT_NE(message.find("cv.folds: 4 in " + s.lr.string() + ", 5 in " + s.arch.string()),
            std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(s.out / "results.jsonl")); // refused before anything is written
}

TEST(MultiSweepReport, RefusesSweepsThatTestOtherSubjectsInAFold) {
  const auto s = two_sweeps("subjects");
  // arch_sweep's fold 1 tests S999 instead of S60: another cohort or assignment.
  const auto oof = s.arch / "tasks" / "cccc3333-f1" / "oof.csv";
  auto text = read_text_file(oof);
  text.replace(text.find("\nS60,"), 5, "\nS999,");
  write_file_atomically(oof, text);
  const auto message =
      error_of([&] { results::multi_sweep_report({s.lr, s.arch}, s.out, {}, false); });
  EXPECT_NE(message.find("test subjects of repeat 0 fold 1: 60 in " + s.lr.string() + ", 60 in " +
                         s.arch.string() + "; only in " + s.lr.string() + ": S60; only in " +
                         s.arch.string() + ": S999"),
            std::string::npos)
      << message;
}

TEST(MultiSweepReport, RefusesAnOutFolderThatIsASweep) {
  const auto s = two_sweeps("out");
  EXPECT_NE(error_of([&] { results::multi_sweep_report({s.lr, s.arch}, s.lr, {}, false); })
                .find("is the sweep folder " + s.lr.string()),
            std::string::npos);
  const auto other = scratch("out_other", "other");
  make_sweep(other, {kConfigs[3]});
  EXPECT_NE(error_of([&] { results::multi_sweep_report({s.lr, s.arch}, other, {}, false); })
                .find("holds a sweep's results (results.jsonl) that no multi-sweep report wrote"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              results::multi_sweep_report({s.lr, s.out / "missing"}, s.out, {}, false);
            }).find("no results in " + (s.out / "missing").string()),
            std::string::npos);
}

/// A study file in a scratch folder; returns its path.
fs::path study_file(const std::string& what, const std::string& text) {
  const auto dir = scratch(what, "study_file");
  write_file_atomically(dir / "study.yaml", text);
  return dir / "study.yaml";
}

TEST(StudyFile, ReadsTablesWithTheirSweepsRowsWhereAndBaseline) {
  const auto file = study_file("study_ok", "tables:\n"
                                           "  fnet_vs_resnet:\n"
                                           "    sweeps: [lr_sweep, arch_sweep]\n"
                                           "    where: {train.lr: 1e-4}\n"
                                           "    baseline: {sweep: lr_sweep, train.lr: 1e-4}\n"
                                           "  lr_only:\n"
                                           "    sweeps: lr_sweep\n"
                                           "    rows: configurations\n"
                                           "    sort: auroc\n");
  const auto study = results::read_study(file);
  ASSERT_EQ(study.tables.size(), 2u);
  const auto& t = study.tables[0];
  EXPECT_EQ(t.name, "fnet_vs_resnet");
  EXPECT_EQ(t.origin, file.string() + ":2");
  EXPECT_EQ(t.sweeps, (std::vector<std::string>{"lr_sweep", "arch_sweep"}));
  ASSERT_EQ(t.where.size(), 1u);
  EXPECT_EQ(t.where[0].second, std::vector<std::string>{"1e-4"});
  EXPECT_EQ(t.baseline_match[1], (std::pair<std::string, std::string>{"train.lr", "1e-4"}));
  EXPECT_EQ(study.tables[1].rows, "configurations");
  EXPECT_EQ(study.tables[1].sort, "auroc");

  // where: keeps fnet at 1e-4 and resnet18 (also 1e-4); the baseline names fnet's row.
  const auto s = two_sweeps("study_rows");
  const auto report = results::multi_sweep_report({s.lr, s.arch}, s.out, t, false);
  EXPECT_EQ(column(report.table, 2), (std::vector<std::string>{"fnet", "resnet18"}));
  EXPECT_EQ(report.table.baseline, 0);
  EXPECT_GT(report.table.rows[1].p_delong, 0);
}

TEST(StudyFile, ErrorsNameFileAndLine) {
  const auto unknown = study_file("study_unknown", "tables:\n  a:\n    sweeps: [x]\n"
                                                   "    baselin: {sweep: x}\n");
  EXPECT_EQ(error_of([&] { results::read_study(unknown); }),
            unknown.string() + ":4: unknown key 'baselin' in table a (a table has sweeps, rows, "
                               "where, baseline and sort)");
  const auto rows = study_file("study_rows_bad", "tables:\n  a:\n    sweeps: [x]\n    rows: best\n");
  EXPECT_EQ(error_of([&] { results::read_study(rows); }),
            rows.string() + ":4: rows: 'best' is not all, configurations or nested");
  const auto no_sweeps = study_file("study_no_sweeps", "tables:\n  a:\n    rows: nested\n");
  EXPECT_NE(error_of([&] { results::read_study(no_sweeps); })
                .find(no_sweeps.string() + ":2: table a names no sweeps"),
            std::string::npos);
  // A baseline that names no row of the table: the table's place in the file.
  const auto s = two_sweeps("study_baseline");
  results::TableSpec spec;
  spec.origin = "study.yaml:7";
  spec.baseline_match = {{"model.arch", "densenet121"}};
  EXPECT_EQ(error_of([&] { results::multi_sweep_report({s.lr, s.arch}, s.out, spec, false); }),
            "study.yaml:7: baseline (model.arch = densenet121) names 0 of the table's 3 rows; it "
            "must name exactly one");
}

} // namespace
