#include "results/results.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  const auto dir = fresh_dir("append");
  fs::create_directories(dir);
  vfp::RunLock lock(dir / "run.lock", "test");
  vfp::results::ResultsStore store(dir, lock);
  store.append(row("t1", "c1", 0, 0.001, 0.8, 0.2));
  store.append(row("t2", "c1", 0, 0.001, 0.7, 0.1, "failed"));
  EXPECT_EQ(store.rows().size(), 2u);
  EXPECT_EQ(store.finished_task_ids(), (std::set<std::string>{"t1"}));
  EXPECT_EQ(vfp::results::read_rows(dir), store.rows());
}

TEST(ResultsStore, TheWriterUnderTheRunLockCutsATornLastRowBeforeItAppends) {
  const auto dir = fresh_dir("torn");
  fs::create_directories(dir);
  vfp::RunLock lock(dir / "run.lock", "test");
  {
    vfp::results::ResultsStore store(dir, lock);
    store.append(row("t1", "c1", 0, 0.001, 0.8, 0.2));
  }
  const auto whole = vfp::read_text_file(dir / "results.jsonl");
  std::ofstream(dir / "results.jsonl", std::ios::app) << "{\"kind\": \"train_e"; // a crash
  vfp::results::ResultsStore store(dir, lock);
  EXPECT_EQ(vfp::read_text_file(dir / "results.jsonl"), whole); // cut on open
  store.append(row("t2", "c1", 0, 0.001, 0.6, 0.3));
  auto rows = store.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["task_id"], "t2");
}

TEST(ReadRows, ATornLastLineIsLeftOutAndTheFileIsNotTouched) {
  const auto dir = fresh_dir("read_torn");
  fs::create_directories(dir);
  const auto file = dir / "results.jsonl";
  const std::string text = row("t1", "c1", 0, 0.001, 0.8, 0.2).dump() + "\n" +
                           row("t2", "c1", 0, 0.001, 0.7, 0.1).dump() + "\n{\"kind\": \"train_e";
  std::ofstream(file, std::ios::binary) << text;
  const auto mtime = fs::last_write_time(file);
  const auto rows = vfp::results::read_rows(dir);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["task_id"], "t2");
  EXPECT_EQ(vfp::read_text_file(file), text);
  EXPECT_EQ(fs::last_write_time(file), mtime);
  // Even a complete JSON row without its newline is torn: the writer would cut it too.
  std::ofstream(file, std::ios::binary) << row("t1", "c1", 0, 0.001, 0.8, 0.2).dump();
  EXPECT_TRUE(vfp::results::read_rows(dir).empty());
}

TEST(ReadRows, ABadLineInTheMiddleIsAnErrorNamingFileAndLine) {
  const auto dir = fresh_dir("read_bad");
  fs::create_directories(dir);
  std::ofstream(dir / "results.jsonl", std::ios::binary)
      << row("t1", "c1", 0, 0.001, 0.8, 0.2).dump() << "\n\n{\"kind\": \"train_e\n"
      << row("t2", "c1", 0, 0.001, 0.7, 0.1).dump() << "\n";
  try {
    vfp::results::read_rows(dir);
    FAIL() << "a damaged row in the middle was accepted";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "results.jsonl").string() + ":3:"),
              std::string::npos)
        << e.what();
  }
  std::ofstream(dir / "results.jsonl", std::ios::binary) << "[1, 2]\n";
  EXPECT_THROW(vfp::results::read_rows(dir), vfp::InputError); // a row is an object
}

TEST(ReadRows, NoFileIsNoRows_AndAReadOnlyFolderIsReadWithoutWriting) {
  const auto dir = fresh_dir("read_only");
  EXPECT_TRUE(vfp::results::read_rows(dir).empty());
  EXPECT_FALSE(fs::exists(dir)); // not created
  fs::create_directories(dir);
  const auto file = dir / "results.jsonl";
  const std::string text = row("t1", "c1", 0, 0.001, 0.8, 0.2).dump() + "\n{\"kind";
  std::ofstream(file, std::ios::binary) << text;
  fs::permissions(file, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  const auto mtime = fs::last_write_time(file);
  EXPECT_EQ(vfp::results::read_rows(dir).size(), 1u);
  // Root ignores the modes: the bytes and the mtime say nothing was written either way.
  EXPECT_EQ(vfp::read_text_file(file), text);
  EXPECT_EQ(fs::last_write_time(file), mtime);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
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

// Issue 23 row 9: a configuration's failures and successes, in whatever order results.jsonl
// holds them, give one full table row (every cell, the right axis values) and count as failed
// only the tasks whose latest row failed.
namespace {

/// A row of a sweep over cohort.on_bad_subject × train.lr; `with_axes` false: a failure row of
/// an older vfp, which carried no axes and no expected_folds.
nlohmann::json sweep_row(const std::string& config, int index, const std::string& on_bad, int fold,
                         const std::string& status, bool with_axes = true) {
  nlohmann::json r = {{"kind", "train_eval"}, {"task_id", config + "-f" + std::to_string(fold)},
                      {"config_id", config},  {"config_index", index},
                      {"fold", fold},         {"repeat", 0},
                      {"status", status}};
  if (with_axes) {
    r["axes"] = nlohmann::json::array({nlohmann::json::array({"cohort.on_bad_subject", on_bad}),
                                       nlohmann::json::array({"train.lr", "1e-3"})});
    r["expected_folds"] = 2;
  }
  if (status == "ok") {
    r["auroc"] = 0.7 + 0.1 * fold;
    r["auprc"] = 0.3;
  } else {
    r["reason"] = "subject s007: image unreadable";
  }
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::string line;
  for (char ch : text) {
    if (ch != '\n') {
      line += ch;
      continue;
    }
    out.push_back(line);
    line.clear();
  }
  return out;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++n;
  return n;
}

/// Every table line of the markdown, LaTeX and CSV has the header's cell count, and the axes
/// columns hold the axes' values (never an id).
void expect_whole_cells(const vfp::results::Table& t) {
  const auto md = lines_of(vfp::results::to_markdown(t));
  ASSERT_GE(md.size(), 4u);
  for (std::size_t k = 1; k < md.size() && !md[k].empty(); ++k)
    EXPECT_EQ(count_of(md[k], "|"), count_of(md[0], "|")) << md[k] << "\n" << md[0];
  const auto tex = lines_of(vfp::results::to_latex(t));
  std::vector<std::string> tex_rows;
  for (const auto& l : tex)
    if (l.find("\\\\") != std::string::npos)
      tex_rows.push_back(l);
  ASSERT_EQ(tex_rows.size(), t.rows.size() + 1);
  for (const auto& l : tex_rows)
    EXPECT_EQ(count_of(l, " & "), count_of(tex_rows[0], " & ")) << l;
  const auto csv = lines_of(vfp::results::to_csv(t));
  ASSERT_EQ(csv.size(), t.rows.size() + 1);
  for (const auto& l : csv)
    EXPECT_EQ(vfp::split_csv_row(l).size(), vfp::split_csv_row(csv[0]).size()) << l;
  EXPECT_EQ(t.axes, (std::vector<std::string>{"cohort.on_bad_subject", "train.lr"}));
  for (const auto& r : t.rows) {
    ASSERT_EQ(r.axis_values.size(), 2u) << r.config_id;
    EXPECT_EQ(r.axis_values[1], "1e-3") << r.config_id;
  }
}

} // namespace

TEST(Aggregate, AFailureAsAConfigurationsFirstRowKeepsEveryCellAndTheAxes) {
  // The `error` configuration fails on its bad image; the `exclude` one succeeds.
  const std::vector<nlohmann::json> rows{
      sweep_row("cerr", 0, "error", 0, "failed"), sweep_row("cexc", 1, "exclude", 0, "ok"),
      sweep_row("cerr", 0, "error", 1, "failed"), sweep_row("cexc", 1, "exclude", 1, "ok")};
  const auto t = vfp::results::aggregate(rows);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].axis_values[0], "error");
  EXPECT_EQ(t.rows[1].axis_values[0], "exclude");
  EXPECT_EQ(t.rows[0].failed, 2);
  EXPECT_EQ(t.expected_folds, 2);
  expect_whole_cells(t);
  const auto md = vfp::results::to_markdown(t);
  EXPECT_NE(md.find("| error | 1e-3 | – | – | 0/2 (2 failed) |"), std::string::npos) << md;
}

TEST(Aggregate, AnOlderFailureRowWithoutAxesTakesTheAxesOfTheConfigurationsOtherRows) {
  const std::vector<nlohmann::json> rows{
      sweep_row("cerr", 0, "error", 0, "failed", false), sweep_row("cerr", 0, "error", 1, "ok"),
      sweep_row("cexc", 1, "exclude", 0, "ok"), sweep_row("cexc", 1, "exclude", 1, "ok")};
  const auto t = vfp::results::aggregate(rows);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].axis_values[0], "error");
  EXPECT_EQ(t.rows[0].failed, 1);
  expect_whole_cells(t);
}

TEST(Aggregate, SuccessFirstOrFailureFirstGivesTheSameTable) {
  std::vector<nlohmann::json> rows{
      sweep_row("cerr", 0, "error", 0, "ok"), sweep_row("cerr", 0, "error", 1, "failed"),
      sweep_row("cexc", 1, "exclude", 0, "ok"), sweep_row("cexc", 1, "exclude", 1, "ok")};
  const auto forward = vfp::results::aggregate(rows);
  std::reverse(rows.begin(), rows.end());
  const auto backward = vfp::results::aggregate(rows);
  expect_whole_cells(forward);
  expect_whole_cells(backward);
  EXPECT_EQ(vfp::results::to_markdown(forward), vfp::results::to_markdown(backward));
  EXPECT_EQ(vfp::results::to_csv(forward), vfp::results::to_csv(backward));
  EXPECT_EQ(forward.rows[0].failed, 1);
  EXPECT_EQ(forward.rows[0].auroc.size(), 1u);
}

TEST(Aggregate, ALaterSuccessOfTheSameTaskSupersedesItsFailure) {
  // A disk-full run failed both folds; the rerun succeeded.
  const std::vector<nlohmann::json> rows{
      sweep_row("cerr", 0, "error", 0, "failed"), sweep_row("cerr", 0, "error", 1, "failed"),
      sweep_row("cerr", 0, "error", 0, "ok"), sweep_row("cerr", 0, "error", 1, "ok")};
  const auto t = vfp::results::aggregate(rows);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].failed, 0);
  EXPECT_EQ(t.rows[0].auroc.size(), 2u);
  expect_whole_cells(t);
  const auto md = vfp::results::to_markdown(t);
  EXPECT_NE(md.find("| error | 1e-3 | 75.0 ± 7.1 | 30.0 ± 0.0 | 2/2 |"), std::string::npos) << md;
}

TEST(Aggregate, ALaterFailureOfTheSameTaskCountsAsFailedAndIsRerunOnResume) {
  const auto dir = fresh_dir("later_failure");
  fs::create_directories(dir);
  vfp::RunLock lock(dir / "run.lock", "test");
  vfp::results::ResultsStore store(dir, lock);
  for (const auto& r :
       {sweep_row("cerr", 0, "error", 0, "ok"), sweep_row("cerr", 0, "error", 1, "ok"),
        sweep_row("cerr", 0, "error", 1, "failed")})
    store.append(r);
  const auto t = vfp::results::aggregate(store.rows());
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].failed, 1);
  EXPECT_EQ(t.rows[0].auroc.size(), 1u);
  expect_whole_cells(t);
  EXPECT_EQ(store.finished_task_ids(), (std::set<std::string>{"cerr-f0"}));
}

TEST(Aggregate, ConstantScoresAreNamedInTheFootnote) {
  auto rows = std::vector<nlohmann::json>{sweep_row("cerr", 0, "error", 0, "ok"),
                                          sweep_row("cerr", 0, "error", 1, "ok")};
  rows[1]["constant_scores"] = true;
  rows.push_back({{"kind", "cox"},
                  {"task_id", "cerr-cox"},
                  {"config_id", "cerr"},
                  {"status", "ok"},
                  {"pooled", {{"auroc", 0.5}, {"constant_scores", true}}}});
  const auto t = vfp::results::aggregate(rows);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0].constant_score_folds, 1);
  EXPECT_TRUE(t.rows[0].constant_pooled_scores);
  const auto md = vfp::results::to_markdown(t);
  EXPECT_NE(md.find("Constant scores: cohort.on_bad_subject=error train.lr=1e-3 (pooled, 1 of 2 "
                    "folds): every score equal, so no ranking information: AUROC 0.5 by ties, AP "
                    "equals the prevalence, DeLong's interval undefined."),
            std::string::npos)
      << md;
  EXPECT_EQ(vfp::results::to_json(t)["rows"][0]["constant_score_folds"], 1);
}

TEST(Aggregate, ARowWithAKeyOfTheWrongTypeIsAnInputErrorNamingKeyAndTask) {
  auto bad = row("t2", "c1", 0, 0.001, 0.7, 0.1);
  bad["fold"] = "1"; // a hand-edited results.jsonl
  const std::vector<nlohmann::json> rows{row("t1", "c1", 0, 0.001, 0.8, 0.2), bad};
  try {
    vfp::results::aggregate(rows);
    FAIL() << "a string fold was read";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "results row of task t2 (kind train_eval): 'fold' is string, expected "
                           "an integer");
  }
  EXPECT_THROW(vfp::results::finished_task_ids(rows), vfp::InputError);
}
