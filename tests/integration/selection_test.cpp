// Nested selection end to end: a sweep with `selection: {inner_folds: 2}` runs its inner tasks
// once (also across a kill), chooses per outer fold the configuration with the best mean
// inner AUROC, reports that fold's test figures, and chooses the same on 1 and 3 ranks.
#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

namespace fs = std::filesystem;

namespace {

using namespace vfp::integration;

class NestedSelection : public ::testing::Test {
protected:
  static fs::path dir;
  static void SetUpTestSuite() {
    std::string error;
    dir = folder_with_synth_cohort("selection", error);
    ASSERT_FALSE(dir.empty()) << error;
    // threads: 1 so that 1 and 3 ranks give the same numbers to the bit.
    std::ofstream(dir / "nested.yaml")
        << tiny_sweep_text("nested", "max_epochs: 2, patience: 2, batch_size: 8, threads: 1",
                           "cox: {bootstrap: 20}\n"
                           "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3]\n"
                           "selection:\n  over: [train.lr]\n  metric: auroc\n  inner_folds: 2\n");
  }
  static std::string in_dir() { return "cd " + dir.string() + " && "; }
};
fs::path NestedSelection::dir;

/// The selection rows of a results file (the last one per group).
std::map<std::string, nlohmann::json> selections(const fs::path& results) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& r : rows_of(results, "selection"))
    out[r["task_id"].get<std::string>()] = r;
  return out;
}

} // namespace

TEST_F(NestedSelection, InnerTasksRunOnceAcrossAKillAndEachFoldTakesTheBestInnerScore) {
  const auto results = dir / "r3" / "nested" / "results.jsonl";
  // Killed (the whole MPI job, SIGKILL) after the 6th row reached results.jsonl: some outer
  // and inner tasks are done, others not.
  auto killed = run(in_dir() + "VFP_FAULT=results.row.appended:6 setsid " + mpirun(3) +
                    " run nested.yaml --results-root r3");
  ASSERT_NE(killed.code, 0) << killed.text;
  const auto before = rows_of(results).size();
  ASSERT_GE(before, 6u) << killed.text;
  ASSERT_TRUE(rows_of(results, "selection").empty()) << "killed before any selection";
  auto resumed = run(in_dir() + mpirun(3) + " run nested.yaml --results-root r3");
  ASSERT_EQ(resumed.code, 0) << resumed.text;
  EXPECT_NE(resumed.text.find("and 8 inner tasks"), std::string::npos) << resumed.text;

  // Every outer (2 configurations × 2 folds) and inner (× 2 inner folds) task exactly once.
  EXPECT_EQ(expect_every_task_once(results, 4), 0);
  std::set<std::string> inner_ids;
  std::map<std::pair<std::string, int>, std::vector<double>> inner_auroc; // (config, fold)
  for (const auto& r : rows_of(results, "inner")) {
    EXPECT_EQ(r["status"], "ok") << r.dump();
    EXPECT_TRUE(inner_ids.insert(r["task_id"].get<std::string>()).second) << "twice: " << r.dump();
    // An inner task tests on half of its outer fold's training part (40 subjects, 2 folds).
    EXPECT_EQ(r["n_test"], 10) << r.dump();
    inner_auroc[{r["config_id"], r["fold"].get<int>()}].push_back(r["auroc"].get<double>());
  }
  EXPECT_EQ(inner_ids.size(), 8u);
  std::map<std::string, nlohmann::json> outer; // task id → row
  for (const auto& r : rows_of(results, "train_eval"))
    outer[r["task_id"].get<std::string>()] = r;

  // One group (the two learning rates); each outer fold chose the argmax of the mean inner
  // AUROC (ties: the first configuration), and reports that task's test AUROC.
  const auto chosen = selections(results);
  ASSERT_EQ(chosen.size(), 1u);
  const auto& selection = chosen.begin()->second;
  ASSERT_EQ(selection["members"].size(), 2u);
  ASSERT_EQ(selection["folds"].size(), 2u) << selection.dump();
  for (const auto& f : selection["folds"]) {
    const int fold = f["fold"].get<int>();
    std::string best;
    double best_score = -1;
    for (const auto& member : selection["members"]) {
      const auto& scores = inner_auroc.at({member, fold});
      ASSERT_EQ(scores.size(), 2u);
      const double mean = (scores[0] + scores[1]) / 2;
      if (mean > best_score) {
        best_score = mean;
        best = member;
      }
    }
    EXPECT_EQ(f["config_id"], best) << f.dump();
    EXPECT_NEAR(f["inner_score"].get<double>(), best_score, 1e-12);
    const auto& task = outer.at(f["task_id"].get<std::string>());
    EXPECT_EQ(task["config_id"], best);
    EXPECT_EQ(task["fold"], fold);
    EXPECT_EQ(f["auroc"], task["auroc"]);
  }
  // Pooled over the selected tasks: every subject once, with calibration and the corrected C.
  EXPECT_EQ(selection["subjects"], 40);
  ASSERT_TRUE(selection["survival"].is_object()) << selection.dump();
  EXPECT_LE(selection["survival"]["c_image_corrected"].get<double>(),
            selection["survival"]["c_image"].get<double>() + 0.05);
  ASSERT_TRUE(selection["calibration"].is_object()) << selection.dump();

  // The table: the per-configuration rows, then the nested row naming what each fold chose.
  const auto table = read(dir / "r3" / "nested" / "report" / "table.md");
  EXPECT_NE(table.find("| nested (2 inner folds): "), std::string::npos) << table;
  EXPECT_NE(table.find("on k inner folds of the outer training part"), std::string::npos) << table;
  EXPECT_NE(table.find("- nested selection "), std::string::npos) << table;
  auto json = run("{ " + std::string(VFP_BIN) + " report " + (dir / "r3" / "nested").string() +
                  " --format json 2>/dev/null; }");
  ASSERT_EQ(json.code, 0) << json.text;
  const auto report = nlohmann::json::parse(json.text);
  ASSERT_EQ(report["selected"].size(), 1u) << json.text;
  EXPECT_EQ(report["selected"][0]["folds"], selection["folds"]) << json.text;
  EXPECT_EQ(report["rows"].size(), 2u);
  EXPECT_TRUE(report["rows"][0]["chosen_on_test_folds"].get<bool>());

  // One rank alone: the same tasks, the same choices, the same numbers.
  auto alone = run(in_dir() + VFP_BIN + " run nested.yaml --results-root r1");
  ASSERT_EQ(alone.code, 0) << alone.text;
  const auto one = selections(dir / "r1" / "nested" / "results.jsonl");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.begin()->first, chosen.begin()->first);
  EXPECT_EQ(one.begin()->second["folds"], selection["folds"]);
  EXPECT_EQ(numbers_by_task(dir / "r1" / "nested" / "results.jsonl", "inner"),
            numbers_by_task(results, "inner"));
}
