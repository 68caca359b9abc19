#include "log/log.h"

#include "core/core.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace vfp::log {
namespace {
std::string pattern_for(int rank) {
  return "%H:%M:%S [rank " + std::to_string(rank) + "] %l: %v";
}
int current_rank = 0;
} // namespace

void setup(int rank, const std::string& level) {
  current_rank = rank;
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw InputError("unknown log level '" + level +
                     "' (expected trace, debug, info, warn, error or off)");
  const std::string name = "vfp-" + std::to_string(rank);
  spdlog::drop(name);
  auto logger = spdlog::stderr_color_mt(name);
  logger->set_pattern(pattern_for(rank));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

FileSinkGuard::FileSinkGuard(const std::string& path) {
  sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  sink_->set_pattern(pattern_for(current_rank));
  spdlog::default_logger()->sinks().push_back(sink_);
}

FileSinkGuard::~FileSinkGuard() {
  auto& sinks = spdlog::default_logger()->sinks();
  for (auto it = sinks.begin(); it != sinks.end(); ++it)
    if (*it == sink_) {
      sinks.erase(it);
      break;
    }
}

} // namespace vfp::log
