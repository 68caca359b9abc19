// vfp's security contract seen from the command line: sweep names and planted symlinks cannot
// lead its writes outside the results root, and no log holds patient data beyond subject ids
// (covariates, follow-up times, image bytes).
#include "../integration/shell.h"

#include "core/core.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace vfp::integration;

/// `name` as YAML (quote it where it needs quotes).
std::string tiny_sweep(const std::string& name, const std::string& rest = "") {
  return tiny_sweep_text(name, "max_epochs: 2, patience: 2, batch_size: 8, lr: 0.003", rest);
}

class Security : public ::testing::Test {
protected:
  static fs::path dir;
  static std::vector<std::string> sentinels; ///< every age, BMI and time of the cohort
  /// The second subject's id: a comma and quotes, so every CSV vfp writes must quote it.
  inline static const std::string quoted_id = "P,\"Q\"";

  static void SetUpTestSuite() {
    std::string error;
    dir = folder_with_synth_cohort("security", error);
    ASSERT_FALSE(dir.empty()) << error;
    plant_sentinel_values(dir / "cohort" / "cohort.csv");
    fs::create_directories(dir / "outside");
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  static std::string in_dir() { return "cd " + dir.string() + " && "; }

  /// Rewrites the cohort's covariates and times into values no log line has a reason to
  /// print: ages 61.234567 + i, BMIs 27.654321 + i/4, times t rounded to 0.01 + 0.000417
  /// (within the validators' ranges; events untouched, so the planted signal stays).
  static void plant_sentinel_values(const fs::path& csv) {
    std::ifstream in(csv);
    std::string line, out;
    std::getline(in, line);
    out = line + "\n";
    bool time_zero_planted = false;
    for (int i = 0; std::getline(in, line); ++i) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, ',');)
        cells.push_back(c);
      char age[32], bmi[32], time[32];
      std::snprintf(age, sizeof age, "%.6f", 61.234567 + i);
      std::snprintf(bmi, sizeof bmi, "%.6f", 27.654321 + 0.25 * i);
      std::snprintf(time, sizeof time, "%.6f",
                    std::max(0.01, std::round(std::stod(cells[4]) * 100) / 100) + 0.000417);
      cells[1] = age;
      cells[2] = bmi;
      // The first event at time 0 (valid: an event on the day of the scan).
      const bool time_zero = !time_zero_planted && cells[3] == "1";
      time_zero_planted = time_zero_planted || time_zero;
      cells[4] = time_zero ? "0" : time;
      if (i == 1) {
        // An id that needs CSV quoting, its image and centroids renamed to match.
        for (const auto& [folder, extension] :
             {std::pair{"images", ".nii.gz"}, std::pair{"centroids", ".json"}})
          fs::rename(csv.parent_path() / folder / (cells[0] + extension),
                     csv.parent_path() / folder / (quoted_id + extension));
        cells[0] = "\"P,\"\"Q\"\"\""; // RFC 4180 for P,"Q"
      }
      for (const char* v : {age, bmi, time}) {
        sentinels.emplace_back(v);
        // The same value as a log line would round it ({:.4f}, {:.3f}).
        const double x = std::stod(v);
        char rounded[32];
        std::snprintf(rounded, sizeof rounded, "%.4f", x);
        sentinels.emplace_back(rounded);
        std::snprintf(rounded, sizeof rounded, "%.3f", x);
        sentinels.emplace_back(rounded);
      }
      for (std::size_t k = 0; k < cells.size(); ++k)
        out += cells[k] + (k + 1 < cells.size() ? "," : "\n");
    }
    std::ofstream(csv) << out;
  }

  static bool outside_is_empty() { return fs::is_empty(dir / "outside"); }
};
fs::path Security::dir;
std::vector<std::string> Security::sentinels;

} // namespace

TEST_F(Security, SweepNamesThatWouldLeaveTheResultsRootAreRefused) {
  const std::vector<std::string> names{"../outside/escape", (dir / "outside" / "x").string(), "..",
                                       "a/b"};
  for (const auto& name : names) {
    std::ofstream(dir / "named.yaml") << tiny_sweep("'" + name + "'");
    // The dry run for every name; a real run (rank 0 validates before anything is created)
    // for the first.
    std::vector<std::string> commands{std::string(VFP_BIN) + " sweep named.yaml --dry-run"};
    if (name == names.front())
      commands.push_back(mpirun(1) + " run named.yaml");
    for (const auto& command : commands) {
      const auto out = run(in_dir() + command);
      EXPECT_NE(out.code, 0) << command << " with name " << name << ": " << out.text;
      EXPECT_NE(out.text.find("named.yaml:1:7: name: a sweep name is 1-64 letters"),
                std::string::npos)
          << out.text;
      EXPECT_NE(out.text.find("'" + name + "'"), std::string::npos) << out.text;
      // Reported once, where it is: not also as a missing name.
      EXPECT_EQ(out.text.find("missing required key"), std::string::npos) << out.text;
    }
  }
  EXPECT_TRUE(outside_is_empty());
  EXPECT_FALSE(fs::exists(dir / "escape"));
}

TEST_F(Security, ASymlinkedSweepFolderIsRefusedNotFollowed) {
  std::ofstream(dir / "linked.yaml") << tiny_sweep("linked");
  fs::create_directories(dir / "results");
  fs::create_directory_symlink(dir / "outside", dir / "results" / "linked");
  const auto out = run(in_dir() + mpirun(1) + " run linked.yaml");
  EXPECT_NE(out.code, 0) << out.text;
  EXPECT_NE(
      out.text.find("refusing to follow the symlink " + (fs::path("results") / "linked").string()),
      std::string::npos)
      << out.text;
  EXPECT_TRUE(outside_is_empty()) << "sweep.yaml or results.jsonl written through the link";
  fs::remove(dir / "results" / "linked");
}

TEST_F(Security, ASymlinkedTaskFolderFailsThatTaskAndWritesNothingOutside) {
  std::ofstream(dir / "planted.yaml") << tiny_sweep("planted");
  const auto listing = run(in_dir() + VFP_BIN + " sweep planted.yaml --dry-run --json");
  ASSERT_EQ(listing.code, 0) << listing.text;
  const auto tasks = nlohmann::json::parse(listing.text)["tasks"];
  ASSERT_EQ(tasks.size(), 2u);
  const std::string victim = tasks[0]["id"];
  const auto task_dir = dir / "results" / "planted" / "tasks" / victim;
  fs::create_directories(task_dir.parent_path());
  fs::create_directory_symlink(dir / "outside", task_dir);

  const auto out = run(in_dir() + mpirun(2) + " run planted.yaml --retries 0");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_TRUE(outside_is_empty()) << "the task wrote through the planted link";
  int ok = 0, refused = 0;
  for (const auto& r : rows_of(dir / "results" / "planted" / "results.jsonl", "train_eval")) {
    if (r["status"] == "ok") {
      ++ok;
      EXPECT_NE(r["task_id"], victim);
    } else {
      ++refused;
      EXPECT_EQ(r["task_id"], victim);
      EXPECT_NE(r["reason"].get<std::string>().find(
                    "refusing to follow the symlink " +
                    (fs::path("results") / "planted" / "tasks" / victim).string()),
                std::string::npos)
          << r.dump();
    }
  }
  EXPECT_EQ(ok, 1) << out.text;
  EXPECT_EQ(refused, 1) << out.text;
}

TEST_F(Security, LogsNameSubjectsButHoldNoCovariatesTimesOrImageBytes) {
  // Two configurations (saving models), so logs of preprocessing, training, pooling, the Cox
  // model and the report are all written. (train.save_model is a runtime setting: no axis.)
  std::ofstream(dir / "private.yaml") << tiny_sweep_text(
      "private", "max_epochs: 2, patience: 2, batch_size: 8, lr: 0.003, save_model: true",
      "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3]\n");
  const auto out = run(in_dir() + mpirun(2) + " --log-level debug run private.yaml");
  ASSERT_EQ(out.code, 0) << out.text;
  std::vector<std::pair<std::string, std::string>> logs{{"vfp run output", out.text}};
  for (const auto& entry : fs::recursive_directory_iterator(dir / "results" / "private")) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && (name.find("log") != std::string::npos || name == "status.json"))
      logs.emplace_back(entry.path().string(), read(entry.path()));
  }
  ASSERT_GE(logs.size(), 3u) << "the task logs were not found";
  // The first bytes of a CT (its gzip stream) stand for image contents.
  std::string ct;
  for (const auto& entry : fs::directory_iterator(dir / "cohort" / "images")) {
    ct = read(entry.path()).substr(16, 24);
    break;
  }
  ASSERT_EQ(ct.size(), 24u);
  for (const auto& [where, text] : logs) {
    for (const auto& value : sentinels)
      EXPECT_EQ(text.find(value), std::string::npos) << where << " holds patient value " << value;
    EXPECT_EQ(text.find(ct), std::string::npos) << where << " holds image bytes";
    EXPECT_EQ(text.find('\0'), std::string::npos) << where << " holds a NUL byte";
  }
  // The check means something only if the values were there to leak: the results themselves
  // (a task's out-of-fold predictions) carry them, and the logs may name subjects.
  std::string oof; // every task's: a subject is in one fold's test part
  for (const auto& task : fs::directory_iterator(dir / "results" / "private" / "tasks"))
    oof += read(task.path() / "oof.csv");
  EXPECT_NE(oof.find("61.234567"), std::string::npos) << oof.substr(0, 300);

  // An id that needs quoting (P,"Q") and an event at time 0 go through training, pooling and
  // the Cox step: every oof.csv reads back column for column, with the id as it was.
  int quoted_rows = 0, zero_times = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir / "results" / "private"))
    if (entry.path().filename() == "oof.csv") {
      const auto csv = vfp::read_csv(entry.path().string());
      for (const auto& row : csv.rows) {
        ASSERT_EQ(row.cells.size(), csv.header.size()) << entry.path() << ":" << row.line;
        quoted_rows += csv.text(row, csv.column("subject_id")) == quoted_id;
        zero_times += csv.number(row, csv.column("time_years")) == 0.0;
      }
    }
  EXPECT_EQ(quoted_rows, 2 * 2) << "2 configurations: a fold's oof.csv and the pooled one each";
  EXPECT_EQ(zero_times, 2 * 2);
  const auto cox = rows_of(dir / "results" / "private" / "results.jsonl", "cox");
  ASSERT_EQ(cox.size(), 2u) << out.text;
  for (const auto& r : cox) {
    EXPECT_EQ(r.value("status", ""), "ok") << r.dump(2);
    EXPECT_EQ(r.value("subjects", 0), 40) << r.dump(2);
    EXPECT_EQ(r.value("survival_note", "").find("time"), std::string::npos) << r.dump(2);
  }
}
