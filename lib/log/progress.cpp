// Progress lines of long commands (bootstrap, cache verify, preprocess) on stderr.
#include "log/log.h"

#include "core/core.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vfp::log {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// "42 s", "3 min 20 s", "1 h 05 min".
std::string duration_text(double seconds) {
  char buf[48];
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%ld s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld h %02ld min", s / 3600, s / 60 % 60);
  return buf;
}

} // namespace

ProgressOptions ProgressOptions::from_environment() {
  ProgressOptions o;
  const char* text = std::getenv("VFP_PROGRESS_INTERVAL");
  if (!text || !*text)
    return o;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= 0) || !std::isfinite(v))
    throw InputError("VFP_PROGRESS_INTERVAL: '" + std::string(text) +
                     "' is not a number of seconds (0 or more)");
  o.interval = v;
  o.first_after = v;
  return o;
}

Progress::Progress(std::string what, std::uint64_t total, ProgressOptions options)
    : what_(std::move(what)), total_(total), options_(std::move(options)) {
  if (!options_.clock)
    options_.clock = steady_seconds;
  if (!options_.sink)
    options_.sink = [](const std::string& line) { spdlog::info("{}", line); };
  start_ = options_.clock();
}

void Progress::update(std::uint64_t done) {
  done_ = done;
  const double now = options_.clock();
  const double elapsed = now - start_;
  if (elapsed < options_.first_after || (printed_ && now - last_ < options_.interval))
    return;
  last_ = now;
  printed_ = true;
  options_.sink(line(elapsed));
}

void Progress::finish() {
  if (!printed_)
    return; // a short run stays silent
  options_.sink(what_ + ": " + std::to_string(total_) + "/" + std::to_string(total_) + " done in " +
                duration_text(options_.clock() - start_));
  printed_ = false;
}

std::string Progress::line(double elapsed) const {
  std::string text = what_ + ": " + std::to_string(done_) + "/" + std::to_string(total_);
  if (total_ > 0) {
    char pct[32];
    std::snprintf(pct, sizeof pct, " (%.0f %%)", 100.0 * double(done_) / double(total_));
    text += pct;
  }
  // The rate so far gives the time left; none before the first unit is done.
  if (done_ > 0 && done_ <= total_ && elapsed > 0)
    text += ", about " + duration_text(elapsed * double(total_ - done_) / double(done_)) + " left";
  return text;
}

} // namespace vfp::log
