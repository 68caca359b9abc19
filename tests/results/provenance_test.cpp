// Provenance in every row: the nested "provenance" object reads and writes back as it is, a
// row of an older vfp (none) counts as "unknown version", and a table made from rows of two
// code versions names both, with their counts, in its footnote.
#include "core/core.h"
#include "results/results.h"

#include <gtest/gtest.h>

#include "read_error.h"

#include <string>
#include <vector>

namespace {

using namespace vfp::results;
using vfp::results_test::read_error;

/// A train_eval row as run_job stamps it on a CUDA worker under Slurm.
nlohmann::json row_with_provenance(const std::string& task, const std::string& config,
                                   double auroc, const std::string& version) {
  return {{"kind", "train_eval"},
          {"task_id", task},
          {"config_id", config},
          {"config_index", config == "c1" ? 0 : 1},
          {"axes", nlohmann::json::array({nlohmann::json::array({"train.lr", config})})},
          {"expected_folds", 2},
          {"status", "ok"},
          {"auroc", auroc},
          {"auprc", auroc / 2},
          {"provenance",
           {{"version", version},
            {"libtorch", "2.3.1"},
            {"device", "cuda:1"},
            {"device_name", "NVIDIA H100 80GB HBM3"},
            {"cuda", "12.1"},
            {"cudnn", "8.9.2"},
            {"host", "gpu07"},
            {"world_size", 5},
            {"slurm_job_id", "4242"},
            {"slurm_array_job_id", "4240"},
            {"slurm_array_task_id", "2"},
            {"slurm_restart_count", 1},
            {"started", "2026-12-02T19:00:00Z"},
            {"ended", "2026-12-02T19:04:10Z"}}}};
}

nlohmann::json without_provenance(nlohmann::json row) {
  row.erase("provenance");
  return row;
}

TEST(Provenance, RoundTripsAsANestedObject_WithEveryField) {
  const auto original = row_with_provenance("t1", "c1", 0.8, "0.1.0 (git v1.0-2-gabc1234)");
  const auto typed = std::get<TrainEvalRow>(row_from_json(original));
  ASSERT_TRUE(typed.provenance.has_value());
  const auto& p = *typed.provenance;
  EXPECT_EQ(p.version, "0.1.0 (git v1.0-2-gabc1234)");
  EXPECT_EQ(p.device_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(p.cudnn, "8.9.2");
  EXPECT_EQ(p.world_size, 5);
  EXPECT_EQ(p.slurm_array_task_id, "2");
  EXPECT_EQ(p.slurm_restart_count, 1);
  EXPECT_EQ(p.ended, "2026-12-02T19:04:10Z");
  EXPECT_TRUE(p.extra.empty());
  EXPECT_EQ(to_json(Row(typed))["provenance"].dump(), original["provenance"].dump());
}

TEST(Provenance, OnACpuOutsideSlurmOnlyTheKnownFieldsAreWritten) {
  Provenance p;
  p.version = "0.1.0 (tarball, no git)";
  p.libtorch = "1.13.0";
  p.device = "cpu";
  p.host = "laptop";
  p.world_size = 1;
  const std::string expected = R"j({"device":"cpu","host":"laptop","libtorch":"1.13.0",)j"
                               R"j("version":"0.1.0 (tarball, no git)","world_size":1})j";
  EXPECT_EQ(to_json(p).dump(), expected);
}

TEST(Provenance, KeysOfANewerVfpAreKept) {
  auto row = row_with_provenance("t1", "c1", 0.8, "9.0.0 (git v9.0)");
  row["provenance"]["tpu"] = "v5e";
  const auto typed = std::get<TrainEvalRow>(row_from_json(row));
  EXPECT_EQ(typed.provenance->extra, nlohmann::json({{"tpu", "v5e"}}));
  EXPECT_EQ(to_json(Row(typed))["provenance"], row["provenance"]);
}

TEST(Provenance, AFieldOfTheWrongTypeNamesItsKeyInsideProvenanceAndTheRow) {
  auto row = row_with_provenance("t1", "c1", 0.8, "0.1.0 (git abc1234)");
  row["provenance"]["world_size"] = "two";
  EXPECT_EQ(read_error(row), "results row of task t1 (kind train_eval): 'provenance.world_size' "
                             "is string, expected an integer");
  row["provenance"] = "0.1.0";
  EXPECT_EQ(read_error(row),
            "results row of task t1 (kind train_eval): 'provenance' is string, expected an object");
}

TEST(Provenance, RowsOfAnOlderVfpHaveNoneAndCountAsUnknownVersion) {
  const auto old_row = without_provenance(row_with_provenance("t1", "c1", 0.8, ""));
  EXPECT_FALSE(std::get<TrainEvalRow>(row_from_json(old_row)).provenance.has_value());
  EXPECT_FALSE(to_json(row_from_json(old_row)).contains("provenance")); // and stays without
  EXPECT_EQ(code_versions(std::vector<nlohmann::json>{old_row, old_row}),
            (std::map<std::string, int>{{"unknown version", 2}}));
}

TEST(Provenance, ATableOfTwoCodeVersionsNamesBothWithTheirRowsInItsFootnote) {
  const std::string v1 = "0.1.0 (git abc1234)";
  std::vector<nlohmann::json> rows = {
      without_provenance(row_with_provenance("t1", "c1", 0.80, "")),
      without_provenance(row_with_provenance("t2", "c1", 0.70, "")),
      row_with_provenance("t3", "c2", 0.75, v1),
      row_with_provenance("t4", "c2", 0.65, v1),
      row_with_provenance("t5", "c2", 0.60, v1)}; // a rerun of t4's configuration's fold
  const auto table = aggregate(rows);
  EXPECT_EQ(table.versions, (std::map<std::string, int>{{v1, 3}, {"unknown version", 2}}));
  const std::string note =
      "Rows from 2 code versions: 0.1.0 (git abc1234) (3 rows), unknown version (2 rows).";
  EXPECT_NE(to_markdown(table).find(note), std::string::npos) << to_markdown(table);
  EXPECT_NE(to_html(table).find(note), std::string::npos);
  EXPECT_NE(to_latex(table).find(note), std::string::npos);
  EXPECT_EQ(to_json(table)["versions"], nlohmann::json({{v1, 3}, {"unknown version", 2}}));

  rows.erase(rows.begin(), rows.begin() + 2); // one version: nothing to say
  EXPECT_EQ(to_markdown(aggregate(rows)).find("code version"), std::string::npos);
}

TEST(Provenance, ResumingRowsOfAnotherVersionIsSaidWithVersionsAndCounts) {
  const std::map<std::string, int> versions = {{"0.1.0 (git abc1234)", 3},
                                               {"unknown version", 1}};
  EXPECT_EQ(other_versions_message(versions, "0.1.0 (git abc1234)"),
            "its results come from another code version than this vfp, 0.1.0 (git abc1234): "
            "unknown version (1 row); rows of two versions in one table mix results that may not "
            "be comparable");
  EXPECT_EQ(other_versions_message({{"0.1.0 (git abc1234)", 3}}, "0.1.0 (git abc1234)"), "");
  EXPECT_EQ(other_versions_message({}, "0.1.0 (git abc1234)"), "");
}

} // namespace
