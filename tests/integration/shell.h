// Shared by the integration tests: run shell commands (vfp under mpirun) and read results.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace vfp::integration {

namespace fs = std::filesystem;

struct Output {
  int code = -1;
  std::string text;
};

/// Runs a shell command, capturing stdout and stderr together.
inline Output run(const std::string& command) {
  Output out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
    out.text.append(buf.data(), n);
  const int status = ::pclose(pipe);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

inline std::string mpirun(int ranks) {
  return std::string(VFP_MPIEXEC) + " --allow-run-as-root --oversubscribe --bind-to none -np " +
         std::to_string(ranks) + " " + VFP_BIN;
}

inline std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The JSON rows of a results.jsonl; only those of `kind` (e.g. train_eval) when given.
inline std::vector<nlohmann::json> rows_of(const fs::path& file, const std::string& kind = "") {
  std::vector<nlohmann::json> rows;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    if (kind.empty() || row.value("kind", "") == kind)
      rows.push_back(std::move(row));
  }
  return rows;
}

/// task id → the row without what varies between runs (rank, times, resume point): what a
/// rerun after a kill or a stop must reproduce.
inline std::map<std::string, std::string> numbers_by_task(const fs::path& results,
                                                          const std::string& kind) {
  std::map<std::string, std::string> m;
  for (auto r : rows_of(results, kind)) {
    for (const char* varying : {"rank", "finished", "seconds", "train_seconds", "data_wait_share",
                                "overhead_share", "resumed_from_epoch", "provenance"})
      r.erase(varying);
    m[r["task_id"].get<std::string>()] = r.dump();
  }
  return m;
}

/// Checks that results.jsonl holds each of `tasks` train_eval tasks exactly once, each ok (a
/// stopped or killed sweep finished by reruns); returns how many resumed from a checkpoint.
inline int expect_every_task_once(const fs::path& results, std::size_t tasks) {
  const auto rows = rows_of(results, "train_eval");
  std::set<std::string> ids;
  int resumed = 0;
  for (const auto& r : rows) {
    EXPECT_TRUE(ids.insert(r["task_id"].get<std::string>()).second) << "twice: " << r.dump();
    EXPECT_EQ(r["status"], "ok") << r.dump();
    resumed += r.value("resumed_from_epoch", 0) > 0;
  }
  EXPECT_EQ(rows.size(), tasks);
  return resumed;
}

/// Waits (at most `seconds`) until status.json shows a worker training at `epoch` or later;
/// returns that status, or null when none did.
inline nlohmann::json wait_for_training(const fs::path& sweep_dir, int epoch, int seconds = 60) {
  for (int i = 0; i < seconds * 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    try {
      const auto status = nlohmann::json::parse(read(sweep_dir / "status.json"));
      for (const auto& w : status["workers"])
        if (w["rank"].get<int>() > 0 && w["kind"] == "train_eval" && w["progress"].is_object() &&
            w["progress"].value("epoch", 0) >= epoch)
          return status;
    } catch (const std::exception&) { // not written yet
    }
  }
  return {};
}

/// A fresh folder <tmp>/vfp_<tag>_<pid> holding a small synthetic cohort in cohort/ (40
/// subjects, 30 % events, seed 3): what the sweep tests run on. Empty path on failure, with
/// the reason in `error`.
/// The 40-subject cohort every suite here starts from. vfp synth is deterministic, and each
/// gtest case is its own ctest process, so making it once per vfp binary (~8 s of 2 cores) and
/// copying it (~0.1 s) saves minutes of make test. The master copy lives in the temp folder,
/// keyed by the binary's size and mtime (a rebuilt vfp makes a new one), made under a lock and
/// published by rename so that a concurrent or killed test never sees half of it.
inline fs::path synth_cohort_master(std::string& error) {
  const auto bin_time = fs::last_write_time(VFP_BIN).time_since_epoch().count();
  const auto master = fs::temp_directory_path() /
                      ("vfp-cohort-master-" + std::to_string(fs::file_size(VFP_BIN)) + "-" +
                       std::to_string(bin_time));
  if (fs::exists(master / "done"))
    return master;
  const auto lock = master.string() + ".lock";
  const auto building = master.string() + ".building";
  const auto made = run("flock " + lock + " sh -c 'test -e " + (master / "done").string() +
                        " || { rm -rf " + building + " && " + VFP_BIN +
                        " synth --subjects 40 --event-rate 0.3 --seed 3 --out " + building +
                        " && touch " + building + "/done && mv " + building + " " +
                        master.string() + "; }'");
  if (made.code != 0 || !fs::exists(master / "done")) {
    error = made.text;
    return {};
  }
  return master;
}

inline fs::path folder_with_synth_cohort(const std::string& tag, std::string& error) {
  const auto dir = fs::temp_directory_path() / ("vfp_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto master = synth_cohort_master(error);
  if (master.empty())
    return {};
  fs::copy(master, dir / "cohort", fs::copy_options::recursive);
  fs::remove(dir / "cohort" / "done");
  return dir;
}

/// A sweep file for the cohort of folder_with_synth_cohort small enough that a task trains in
/// about a second: 2D slabs, 2 folds, an fNet of width 4. `train` is the inside of its train:
/// mapping; `rest` (e.g. a sweep: section) follows it.
inline std::string tiny_sweep_text(const std::string& name, const std::string& train,
                                   const std::string& rest = "",
                                   const std::string& cohort = "cohort") {
  return "name: " + name + "\ncohort: {dir: " + cohort +
         "}\npreprocess: {patch_mm: 31, slab_mm: 15, spacing_mm: 1.5}\ncv: {folds: 2, seed: "
         "5}\nmodel: {width: 4}\ntrain: {" +
         train + "}\n" + rest;
}

/// A fixture with a fresh scratch folder per test, for commands that read the files it writes.
class ScratchDirTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vfp_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  /// Writes `text` to <scratch>/<name> and returns its path.
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

} // namespace vfp::integration
