// The coordinator under failure: a task that always throws, and a worker killed mid-sweep
// whose job a relaunch finishes with nothing lost and nothing done twice.
#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <map>
#include <set>
#include <thread>

namespace {

using namespace vfp::integration;

class Orchestration : public ::testing::Test {
protected:
  static fs::path dir;
  static void SetUpTestSuite() {
    std::string error;
    dir = folder_with_synth_cohort("orchestration", error);
    ASSERT_FALSE(dir.empty()) << error;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  static std::string in_dir() { return "cd " + dir.string() + " && "; }
};
fs::path Orchestration::dir;

} // namespace

TEST_F(Orchestration, ATaskThatAlwaysFailsIsRecordedAndRetriedWhileTheOthersFinish) {
  // Weights that cannot be read fail every task of the configuration that loads them, on
  // every attempt; the configuration without pretraining ignores the file and trains.
  std::ofstream(dir / "corrupt.safetensors") << "not a safetensors file";
  std::ofstream(dir / "failing.yaml")
      << tiny_sweep_text("failing", "max_epochs: 2, patience: 2, batch_size: 8",
                         R"(pretrained: {file: corrupt.safetensors}
sweep:
  grid:
    pretrained.mode: [none, checkpoint]
)");
  auto out = run(in_dir() + mpirun(3) + " run failing.yaml --retries 1");
  EXPECT_EQ(out.code, 1) << out.text;
  const auto results = dir / "results" / "failing" / "results.jsonl";
  int ok = 0, failed = 0;
  for (const auto& r : rows_of(results, "train_eval")) {
    const auto mode = r.contains("axes") ? r["axes"][0][1].get<std::string>() : "";
    if (r["status"] == "ok") {
      ++ok;
      EXPECT_EQ(mode, "none") << r.dump();
    } else {
      ++failed;
      EXPECT_NE(r["reason"].get<std::string>().find("corrupt.safetensors"), std::string::npos)
          << r.dump();
    }
  }
  EXPECT_EQ(ok, 2) << out.text;
  EXPECT_EQ(failed, 2) << out.text;
  // Each failing task ran twice (--retries 1) before it was recorded.
  int retried = 0;
  for (std::size_t p = out.text.find("will retry"); p != std::string::npos;
       p = out.text.find("will retry", p + 1))
    ++retried;
  EXPECT_EQ(retried, 2) << out.text;
  // The healthy configuration got its cox row; the failed one none, and the table says so.
  EXPECT_EQ(rows_of(results, "cox").size(), 1u);
  const auto table = read(dir / "results" / "failing" / "report" / "table.md");
  EXPECT_NE(table.find("| none |"), std::string::npos) << table;
  const auto status = nlohmann::json::parse(read(dir / "results" / "failing" / "status.json"));
  // 2 train_eval, and the cox job and table refresh that needed them.
  EXPECT_EQ(status["failed"], 4) << status.dump();
  EXPECT_EQ(status["running"], 0);
}

TEST_F(Orchestration, AWorkerKilledMidSweepLosesNothingAndARelaunchFinishesTheSweep) {
  std::ofstream(dir / "kill.yaml") << tiny_sweep_text(
      "kill", "max_epochs: 30, patience: 30, batch_size: 8, threads: 1, stop_on: loss",
      "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3, 5.0e-4, 2.0e-4]\n");
  // The reference: the same sweep uninterrupted, by one process.
  auto whole = run(in_dir() + VFP_BIN + " run kill.yaml --results-root whole");
  ASSERT_EQ(whole.code, 0) << whole.text;

  // Three ranks in the background; as soon as a task's row is on file, SIGKILL a worker
  // (a node failure, an OOM kill) that is busy with another task.
  const auto sweep_dir = dir / "killed" / "kill";
  ASSERT_EQ(std::system((in_dir() + mpirun(3) + " run kill.yaml --results-root killed > " +
                         (dir / "killed.log").string() + " 2>&1 & echo $! > " +
                         (dir / "mpirun.pid").string())
                            .c_str()),
            0);
  int killed_pid = 0;
  for (int i = 0; i < 6000 && !killed_pid; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (rows_of(sweep_dir / "results.jsonl", "train_eval").empty() ||
        !fs::exists(sweep_dir / "status.json"))
      continue;
    nlohmann::json status;
    try {
      status = nlohmann::json::parse(read(sweep_dir / "status.json"));
    } catch (const std::exception&) {
      continue;
    }
    for (const auto& w : status["workers"])
      if (w["rank"].get<int>() > 0 && w["kind"] == "train_eval" && w.value("pid", 0) > 0) {
        killed_pid = w["pid"].get<int>();
        ::kill(killed_pid, SIGKILL);
        break;
      }
  }
  ASSERT_GT(killed_pid, 0) << read(dir / "killed.log");
  const int mpirun_pid = std::stoi(read(dir / "mpirun.pid"));
  for (int i = 0; i < 3000 && ::kill(mpirun_pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto log = read(dir / "killed.log");
  // Open MPI ends the whole job when a rank dies; the rows written so far stay.
  EXPECT_NE(log.find("signal 9"), std::string::npos) << log;
  const auto before = rows_of(sweep_dir / "results.jsonl", "train_eval");
  ASSERT_GE(before.size(), 1u);
  ASSERT_LT(before.size(), 8u) << "the kill came after the sweep was done";

  auto relaunch = run(in_dir() + mpirun(3) + " run kill.yaml --results-root killed");
  ASSERT_EQ(relaunch.code, 0) << relaunch.text;
  EXPECT_NE(relaunch.text.find(std::to_string(before.size()) + " skipped (already done)"),
            std::string::npos)
      << relaunch.text;
  // Every task once, with the numbers of the uninterrupted run; the rows from before the
  // kill are still there, first, unchanged.
  const auto after = rows_of(sweep_dir / "results.jsonl", "train_eval");
  std::set<std::string> ids;
  for (const auto& r : after)
    EXPECT_TRUE(ids.insert(r["task_id"].get<std::string>()).second) << "twice: " << r.dump();
  EXPECT_EQ(ids.size(), 8u);
  for (std::size_t k = 0; k < before.size(); ++k)
    EXPECT_EQ(after[k], before[k]);
  EXPECT_EQ(numbers_by_task(sweep_dir / "results.jsonl", "train_eval"),
            numbers_by_task(dir / "whole" / "kill" / "results.jsonl", "train_eval"));
  EXPECT_EQ(numbers_by_task(sweep_dir / "results.jsonl", "cox"),
            numbers_by_task(dir / "whole" / "kill" / "results.jsonl", "cox"));
  EXPECT_EQ(read(sweep_dir / "report" / "table.md"),
            read(dir / "whole" / "kill" / "report" / "table.md"));
}

namespace {

/// Starts `command` in the background (its exit code goes to <dir>/<name>.rc) and returns
/// the launcher's pid.
int start_in_background(const fs::path& dir, const std::string& command, const std::string& name) {
  const auto pid_file = dir / (name + ".pid");
  const auto script = "cd " + dir.string() + " && { " + command + " > " + name +
                      ".log 2>&1; echo $? > " + name + ".rc; } & echo $! > " + pid_file.string();
  if (std::system(script.c_str()) != 0)
    return 0;
  // The subshell's pid: its only child is the launcher (mpirun).
  const int shell = std::stoi(read(pid_file));
  for (int i = 0; i < 500; ++i) {
    const auto child = run("pgrep -P " + std::to_string(shell));
    if (child.code == 0)
      return std::stoi(child.text);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

int exit_code_when_done(const fs::path& dir, const std::string& name) {
  // The shell creates the file before it writes the code: wait for the whole line.
  std::string text;
  for (int i = 0; i < 6000; ++i) {
    text = read(dir / (name + ".rc"));
    if (!text.empty() && text.back() == '\n')
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return text.empty() ? -1 : std::stoi(text);
}

} // namespace

TEST_F(Orchestration, ASignalStopsTheSweepAtAResumablePointAndRerunsFinishItWithTheSameNumbers) {
  std::ofstream(dir / "stop.yaml") << tiny_sweep_text(
      "stop", "max_epochs: 150, patience: 150, batch_size: 8, threads: 1, stop_on: loss",
      "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3]\n");
  auto whole = run(in_dir() + VFP_BIN + " run stop.yaml --results-root whole");
  ASSERT_EQ(whole.code, 0) << whole.text;
  const auto sweep_dir = dir / "stopped" / "stop";
  const auto command = mpirun(3) + " run stop.yaml --results-root stopped";

  // 1. SIGTERM to rank 0 only (a `kill` of the coordinator): it stops dispatching and tells
  //    the workers, which stop at their next heartbeat, keeping their epoch checkpoints.
  ASSERT_GT(start_in_background(dir, command, "first"), 0);
  const auto status = wait_for_training(sweep_dir, 2);
  ASSERT_FALSE(status.is_null()) << read(dir / "first.log");
  ::kill(status["coordinator_pid"].get<int>(), SIGTERM);
  ASSERT_EQ(exit_code_when_done(dir, "first"), 75) << read(dir / "first.log");
  EXPECT_NE(read(dir / "first.log").find("stopped by signal 15"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(read(sweep_dir / "status.json"))["state"], "interrupted");
  const auto after_first = rows_of(sweep_dir / "results.jsonl", "train_eval");
  ASSERT_LT(after_first.size(), 4u)
      << "the stop came after the sweep was done: " << read(dir / "first.log");

  // 2. SIGUSR1 to mpirun (what slurm/vfp.sbatch forwards at the time-limit warning): mpirun
  //    passes it to every rank.
  const int launcher = start_in_background(dir, command, "second");
  ASSERT_GT(launcher, 0);
  ASSERT_FALSE(wait_for_training(sweep_dir, 2).is_null()) << read(dir / "second.log");
  // Meanwhile, the same sweep launched again (a second sbatch, a second terminal) is refused
  // before it writes anything, naming the run that holds the sweep.
  const auto sweep_yaml = read(sweep_dir / "sweep.yaml");
  std::ofstream(dir / "stop.yaml", std::ios::app) << "# edited while it runs\n";
  const auto twice = run(in_dir() + VFP_BIN + " run stop.yaml --results-root stopped");
  EXPECT_EQ(twice.code, 1) << twice.text;
  const auto holder = nlohmann::json::parse(read(sweep_dir / "run.lock"));
  EXPECT_NE(twice.text.find("sweep 'stop' is already being run by pid " +
                            std::to_string(holder["pid"].get<long>()) + " on host " +
                            holder["host"].get<std::string>()),
            std::string::npos)
      << twice.text;
  EXPECT_NE(twice.text.find("(lock: stopped/stop/run.lock)"), std::string::npos) << twice.text;
  EXPECT_EQ(read(sweep_dir / "sweep.yaml"), sweep_yaml);
  ::kill(launcher, SIGUSR1);
  const int second = exit_code_when_done(dir, "second");
  const auto after_second = rows_of(sweep_dir / "results.jsonl", "train_eval");
  if (after_second.size() < 4u) { // else the sweep finished before the signal arrived
    EXPECT_EQ(second, 75) << read(dir / "second.log");
  }

  // 3. A rerun finishes: every task once, with the uninterrupted run's numbers, and some task
  //    resumed from its checkpoint rather than starting again.
  auto last = run(in_dir() + command);
  ASSERT_EQ(last.code, 0) << last.text;
  EXPECT_GE(expect_every_task_once(sweep_dir / "results.jsonl", 4), 1)
      << read(dir / "first.log") << read(dir / "second.log");
  EXPECT_EQ(numbers_by_task(sweep_dir / "results.jsonl", "train_eval"),
            numbers_by_task(dir / "whole" / "stop" / "results.jsonl", "train_eval"));
  EXPECT_EQ(rows_of(sweep_dir / "results.jsonl", "cox").size(), 2u);
}
