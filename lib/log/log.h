// vfp::log — spdlog set up once per process, every line prefixed with the MPI rank.
#pragma once

#include <spdlog/spdlog.h>

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

} // namespace vfp::log
