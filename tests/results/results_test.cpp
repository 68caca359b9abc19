#include "results/results.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  auto dir =
      fs::temp_directory_path() / ("vfp_results_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

nlohmann::json row(const std::string& task, const std::string& config, int index, double lr,
                   double auroc, double auprc, const std::string& status = "ok") {
  return {{"kind", "train_eval"},
          {"task_id", task},
          {"config_id", config},
          {"config_index", index},
          {"axes", nlohmann::json::array(
                       {nlohmann::json::array({"train.lr", std::to_string(lr).substr(0, 5)})})},
          {"expected_folds", 3},
          {"status", status},
          {"auroc", auroc},
          {"auprc", auprc}};
}
} // namespace

TEST(ResultsStore, AppendsAndReadsRowsAndKnowsFinishedTasks) {
  vfp::results::ResultsStore store(fresh_dir("append"));
  store.append(row("t1", "c1", 0, 0.001, 0.8, 0.2));
  store.append(row("t2", "c1", 0, 0.001, 0.7, 0.1, "failed"));
  EXPECT_EQ(store.rows().size(), 2u);
  EXPECT_EQ(store.finished_task_ids(), (std::set<std::string>{"t1"}));
}

TEST(ResultsStore, RepairsATornLastRowOnOpen) {
  auto dir = fresh_dir("torn");
  {
    vfp::results::ResultsStore store(dir);
    store.append(row("t1", "c1", 0, 0.001, 0.8, 0.2));
  }
  std::ofstream(dir / "results.jsonl", std::ios::app) << "{\"kind\": \"train_e"; // a crash
  vfp::results::ResultsStore store(dir);
  store.append(row("t2", "c1", 0, 0.001, 0.6, 0.3));
  auto rows = store.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["task_id"], "t2");
}

TEST(Aggregate, MeanAndSampleSdPerConfigurationInSweepOrder) {
  std::vector<nlohmann::json> rows = {
      row("b1", "cb", 1, 0.0003, 0.70, 0.10),        row("a1", "ca", 0, 0.003, 0.80, 0.20),
      row("a2", "ca", 0, 0.003, 0.70, 0.30),         row("a3", "ca", 0, 0.003, 0.90, 0.25),
      row("a3", "ca", 0, 0.003, 0.90, 0.25), // a duplicate row counts once
      row("b2", "cb", 1, 0.0003, 0.5, 0.5, "failed")};
  auto t = vfp::results::aggregate(rows);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].config_id, "ca");
  EXPECT_EQ(t.rows[0].auroc.size(), 3u);
  EXPECT_EQ(t.rows[1].failed, 1);
  auto md = vfp::results::to_markdown(t);
  // AUROC 0.8, 0.7, 0.9 → 80.0 ± 10.0 (sample SD); AUPRC 0.2, 0.3, 0.25 → 25.0 ± 5.0.
  EXPECT_NE(md.find("| train.lr | AUROC (%) | AUPRC (AP, %) | folds |"), std::string::npos) << md;
  // The better configuration's values in bold.
  EXPECT_NE(md.find("| 0.003 | **80.0 ± 10.0** | **25.0 ± 5.0** | 3/3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.000 | 70.0 ± 0.0 | 10.0 ± 0.0 | 1/3 (1 failed) |"), std::string::npos)
      << md;
  auto csv = vfp::results::to_csv(t);
  EXPECT_NE(csv.find("ca,0.003,0.8,0.1,0.25,0.05,3,0"), std::string::npos) << csv;
}

TEST(CurrentConfigurations, RoundTripAndFilterRows) {
  const auto dir = fresh_dir("current");
  fs::create_directories(dir);
  EXPECT_TRUE(vfp::results::current_configurations(dir).empty()); // older results: all rows
  vfp::results::save_current_configurations(dir, {"a", "c"});
  const auto ids = vfp::results::current_configurations(dir);
  EXPECT_EQ(ids, (std::set<std::string>{"a", "c"}));
  const std::vector<nlohmann::json> rows{{{"kind", "train_eval"}, {"config_id", "a"}},
                                         {{"kind", "train_eval"}, {"config_id", "b"}},
                                         {{"kind", "cox"}, {"config_id", "b"}},
                                         {{"kind", "train_eval"}, {"config_id", "c"}},
                                         {{"kind", "preprocess"}}};
  int left_out = -1;
  const auto kept = vfp::results::rows_of_configurations(rows, ids, &left_out);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0]["config_id"], "a");
  EXPECT_EQ(kept[1]["config_id"], "c");
  // Only b's train_eval row: a row of no configuration, or a configuration's cox row, is not
  // a table row left out.
  EXPECT_EQ(left_out, 1);
  EXPECT_EQ(vfp::results::rows_of_configurations(rows, {}, &left_out).size(), 5u);
  EXPECT_EQ(left_out, 0);
}

TEST(CurrentConfigurations, DamagedFileIsAnErrorNamingIt) {
  const auto dir = fresh_dir("current_bad");
  fs::create_directories(dir);
  std::ofstream(dir / "configurations.json") << "{\"configurations\": 7}";
  try {
    vfp::results::current_configurations(dir);
    FAIL() << "a damaged file was accepted";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("configurations.json"), std::string::npos) << e.what();
  }
}
