// Shared by the fault tests: a tiny sweep, its uninterrupted reference run (once per test
// binary), launches of `vfp run` under mpirun in a session of their own (so that a fault
// point's SIGKILL of the session reaches mpirun and every rank and nothing else), and the
// comparison of a finished results folder with the reference.
#pragma once

#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <string>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace vfp::faults {

using namespace vfp::integration;

/// 24 subjects, 2 configurations × 2 folds, fNet of width 4, 2 epochs of 3 batches: a launch
/// takes a few seconds, most of it starting LibTorch.
inline std::string tiny_sweep(const std::string& name, const std::string& cohort = "cohort",
                              int epochs = 2,
                              const std::string& grid = "train.lr: [3.0e-3, 1.0e-3]") {
  return tiny_sweep_text(name,
                         "max_epochs: " + std::to_string(epochs) + ", patience: " +
                             std::to_string(epochs) + ", batch_size: 8, threads: 1",
                         "sweep:\n  grid:\n    " + grid + "\n", cohort);
}

/// The folder shared by every test of the binary: cohort/, tiny.yaml and reference/ (the
/// sweep run once, uninterrupted, with its patch cache in reference/cache).
inline const fs::path& shared_dir() {
  static const fs::path dir = [] {
    const auto d = fs::temp_directory_path() / ("vfp_faults_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    const auto synth =
        run(std::string(VFP_BIN) + " synth --subjects 24 --event-rate 0.35 --seed 3 --out " +
            (d / "cohort").string());
    EXPECT_EQ(synth.code, 0) << synth.text;
    std::ofstream(d / "tiny.yaml") << tiny_sweep("tiny");
    const auto reference =
        run("cd " + d.string() + " && " + mpirun(3) + " run tiny.yaml --results-root reference");
    EXPECT_EQ(reference.code, 0) << reference.text;
    return d;
  }();
  return dir;
}

inline fs::path reference_sweep() {
  return shared_dir() / "reference" / "tiny";
}
inline fs::path reference_cache() {
  return shared_dir() / "reference" / "cache";
}

/// How a launch ended.
struct Launch {
  bool killed = false; ///< mpirun died of SIGKILL
  int code = -1;       ///< its exit code when it exited
  std::string log;     ///< stdout and stderr of every rank
  std::string note;    ///< what the fault point wrote to VFP_FAULT_NOTE (it fired)
  int left = 0;        ///< live processes of its session after it ended (must be 0)
  bool exited() const { return !killed && code >= 0; }
};

/// The live (not zombie) processes whose session is `session`.
inline int live_processes_of_session(pid_t session) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
      continue;
    const auto stat = read(e.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
      continue;
    char state = 0;
    int ppid = 0, pgrp = 0, sid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) == 4 &&
        sid == session && state != 'Z' && state != 'X')
      ++n;
  }
  return n;
}

/// Kills what is left of a session (a launch that overran its time).
inline void kill_session(pid_t session) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
      const auto stat = read(e.path() / "stat");
      const auto close = stat.rfind(')');
      char state = 0;
      int ppid = 0, pgrp = 0, sid = 0;
      if (close != std::string::npos &&
          std::sscanf(stat.c_str() + close + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) == 4 &&
          sid == session)
        ::kill(std::stoi(name), SIGKILL);
    }
  }
}

/// A launch started in the background in a new session: `vfp run ARGS` under mpirun with
/// `ranks` ranks, in `dir`, with VFP_FAULT=`fault` when given; its output goes to `log`.
class Background {
public:
  Background(const fs::path& dir, const std::string& args, const std::string& fault, int ranks,
             const fs::path& log)
      : log_(log), note_(log.string() + ".fault") {
    fs::remove(note_);
    const auto command = "exec " + mpirun(ranks) + " run " + args;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setsid(); // its own session: what the fault point kills, and all it kills
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      if (::chdir(dir.c_str()) != 0)
        ::_exit(127);
      if (!fault.empty())
        ::setenv("VFP_FAULT", fault.c_str(), 1);
      else
        ::unsetenv("VFP_FAULT");
      ::setenv("VFP_FAULT_NOTE", note_.c_str(), 1);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  /// Waits (at most `seconds`, then kills it) for the launch to end.
  Launch wait(int seconds = 120) {
    Launch out;
    int status = 0;
    for (int i = 0; i < seconds * 50; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        done_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!done_) {
      kill_session(pid_);
      ::waitpid(pid_, &status, 0);
      done_ = true;
      ADD_FAILURE() << "the launch did not end within " << seconds << " s";
    }
    out.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    // Orphaned ranks would be reparented, not waited for: give the kernel a moment.
    for (int i = 0; i < 100 && (out.left = live_processes_of_session(pid_)) > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kill_session(pid_);
    out.log = read(log_);
    out.note = read(note_);
    return out;
  }
  ~Background() {
    if (!done_) {
      kill_session(pid_);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

private:
  fs::path log_, note_;
  pid_t pid_ = -1;
  bool done_ = false;
};

/// Runs a launch to its end.
inline Launch launch(const fs::path& dir, const std::string& args, const std::string& fault = "",
                     int ranks = 3, const std::string& log_name = "launch.log") {
  return Background(dir, args, fault, ranks, dir / log_name).wait();
}

/// Every line of a results.jsonl is a whole JSON row and the file ends with a newline.
inline void expect_whole_lines(const fs::path& results) {
  const auto text = read(results);
  ASSERT_FALSE(text.empty()) << results;
  EXPECT_EQ(text.back(), '\n') << "torn last line in " << results;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    EXPECT_TRUE(nlohmann::json::accept(line)) << results << ":" << n << ": " << line;
}

/// A finished sweep folder holds what the reference holds: every task once, the same
/// numbers, whole lines, the same table.
inline void expect_same_as_reference(const fs::path& sweep_dir) {
  const auto results = sweep_dir / "results.jsonl";
  expect_whole_lines(results);
  expect_every_task_once(results, 4);
  std::set<std::string> cox;
  for (const auto& r : rows_of(results, "cox"))
    EXPECT_TRUE(cox.insert(r["task_id"].get<std::string>()).second) << "twice: " << r.dump();
  EXPECT_EQ(rows_of(results).size(), rows_of(reference_sweep() / "results.jsonl").size());
  EXPECT_EQ(numbers_by_task(results, "train_eval"),
            numbers_by_task(reference_sweep() / "results.jsonl", "train_eval"));
  EXPECT_EQ(numbers_by_task(results, "cox"),
            numbers_by_task(reference_sweep() / "results.jsonl", "cox"));
  EXPECT_EQ(read(sweep_dir / "report" / "table.md"),
            read(reference_sweep() / "report" / "table.md"));
}

/// A tmpfs mounted (as root) for the duration of a test; unmounted by the destructor.
class Tmpfs {
public:
  /// Mounts a tmpfs of `bytes` at `at` (created); `error` says why not when it fails.
  Tmpfs(const fs::path& at, long bytes, std::string& error) : at_(at) {
    fs::create_directories(at);
    if (::geteuid() != 0) {
      error = "needs root to mount a tmpfs";
      return;
    }
    const auto options = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error = "cannot mount a tmpfs at " + at.string() + ": " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  /// Remounts it read-only; false (with the reason) when that fails.
  bool make_read_only(std::string& error) {
    if (::mount("tmpfs", at_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
      error = "cannot remount " + at_.string() + " read-only: " + std::strerror(errno);
      return false;
    }
    return true;
  }
  ~Tmpfs() {
    if (mounted_)
      ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

private:
  fs::path at_;
  bool mounted_ = false;
};

} // namespace vfp::faults
