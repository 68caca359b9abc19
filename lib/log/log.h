// vfp::log — spdlog set up once per process, every line prefixed with the MPI rank.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <functional>
#include <string>

namespace vfp::log {

/// Configures the default spdlog logger to stderr with "[rank N]" in each line.
/// `level` is one of trace, debug, info, warn, error, off; unknown names throw InputError.
void setup(int rank, const std::string& level = "info");

/// Adds a file sink (e.g. a task's log) while `path` is in scope of the returned guard.
class FileSinkGuard {
public:
  FileSinkGuard(const std::string& path);
  ~FileSinkGuard();
  FileSinkGuard(const FileSinkGuard&) = delete;
  FileSinkGuard& operator=(const FileSinkGuard&) = delete;

private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

/// How a Progress reports: `interval` seconds at least between lines, none before
/// `first_after` seconds (so a short run prints nothing); `clock` (seconds, any origin) and
/// `sink` (one line, no newline) default to the steady clock and spdlog::info on stderr.
struct ProgressOptions {
  double interval = 5, first_after = 2;
  std::function<double()> clock;
  std::function<void(const std::string&)> sink;
  /// The defaults, or VFP_PROGRESS_INTERVAL seconds for both (0: a line per update, for
  /// tests). Throws InputError when the variable is not a number ≥ 0.
  static ProgressOptions from_environment();
};

/// How far a long loop has got, for commands that can run for minutes (a bootstrap, a cache
/// verify): "what: done/total (p %), about T left", time-throttled, and a closing
/// "what: total/total done in T" only when some line was printed.
class Progress {
public:
  Progress(std::string what, std::uint64_t total,
           ProgressOptions options = ProgressOptions::from_environment());
  /// `done` units of `total` finished; cheap to call often (one clock read).
  void update(std::uint64_t done);
  /// One more unit finished.
  void step() { update(done_ + 1); }
  void finish();

private:
  std::string line(double elapsed) const;
  std::string what_;
  std::uint64_t total_ = 0, done_ = 0;
  ProgressOptions options_;
  double start_ = 0, last_ = 0;
  bool printed_ = false;
};

} // namespace vfp::log
