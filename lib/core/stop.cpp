#include "core/core.h"

#include <atomic>
#include <csignal>

namespace vfp {
namespace {

// Written by a signal handler: a lock-free atomic is async-signal-safe, a mutex is not.
std::atomic<int> requested{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signal) {
  int none = 0;
  requested.compare_exchange_strong(none, signal); // the first signal names the stop
}

} // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART; // interrupted reads and sleeps carry on; loops poll the flag
  for (int signal : {SIGTERM, SIGUSR1})
    sigaction(signal, &action, nullptr);
}

int stop_signal() {
  return requested.load(std::memory_order_relaxed);
}

void request_stop(int signal) {
  int none = 0;
  requested.compare_exchange_strong(none, signal);
}

void throw_if_stop_requested(const std::string& where) {
  if (const int signal = stop_signal())
    throw Interrupted("stopped by signal " + std::to_string(signal) + " " + where);
}

} // namespace vfp
