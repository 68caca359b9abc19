// Test-only fault injection (VFP_FAULT): lets tests/faults kill a job at a named point of
// the production code, deterministically, instead of racing a timer against the run.
#include "core/core.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace vfp {
namespace {

struct FaultSpec {
  bool armed = false;
  std::string name;
  long nth = 1;
  bool process_only = false; ///< ":process": SIGKILL this process alone (one dead rank)
};

/// VFP_FAULT=<name>[:<nth>][:process], read once.
FaultSpec parse_fault_spec() {
  FaultSpec spec;
  const char* text = std::getenv("VFP_FAULT");
  if (!text || !*text)
    return spec;
  std::string rest = text;
  const auto colon = rest.find(':');
  spec.name = rest.substr(0, colon);
  rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
  if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) {
    spec.nth = std::max(1L, std::atol(rest.c_str()));
    const auto next = rest.find(':');
    rest = next == std::string::npos ? "" : rest.substr(next + 1);
  }
  spec.process_only = rest == "process";
  spec.armed = !spec.name.empty();
  return spec;
}

const FaultSpec& fault_spec() {
  static const FaultSpec spec = parse_fault_spec();
  return spec;
}

std::atomic<long> arrivals{0};

/// The session id in /proc/<pid>/stat ("pid (comm) state ppid pgrp session ..."), or -1.
pid_t session_of(const char* pid) {
  char path[300];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  char buffer[1024];
  const ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (n <= 0)
    return -1;
  buffer[n] = '\0';
  const char* p = std::strrchr(buffer, ')'); // comm may hold spaces and parentheses
  if (!p)
    return -1;
  char state = 0;
  int ppid = 0, pgrp = 0, session = -1;
  if (std::sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4)
    return -1;
  return session;
}

} // namespace

bool fault_point_reached(const char* name) {
  const auto& spec = fault_spec();
  if (!spec.armed || spec.name != name)
    return false;
  return arrivals.fetch_add(1) + 1 == spec.nth;
}

void kill_job_now(const char* name) {
  const auto& spec = fault_spec();
  const std::string note = "vfp: fault point " + std::string(name) + " reached: SIGKILL to " +
                           (spec.process_only ? "this process" : "every process of the session") +
                           "\n";
  [[maybe_unused]] auto written = ::write(2, note.data(), note.size());
  // Under mpirun a rank's stderr reaches the log through the launcher, which dies first: the
  // test reads the note from the file VFP_FAULT_NOTE names instead.
  if (const char* file = std::getenv("VFP_FAULT_NOTE"); file && *file) {
    const int fd = ::open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      written = ::write(fd, note.data(), note.size());
      ::close(fd);
    }
  }
  const pid_t self = ::getpid();
  const pid_t session = ::getsid(0);
  // The launcher and the other ranks first, so that none of them sees this one die and
  // starts a graceful stop (mpirun's SIGTERM to the ranks); a few passes catch anything
  // started meanwhile. Session 1 (init's) is never swept.
  for (int pass = 0; !spec.process_only && session > 1 && pass < 3; ++pass) {
    DIR* proc = ::opendir("/proc");
    if (!proc)
      break;
    while (const dirent* e = ::readdir(proc)) {
      if (!std::isdigit(static_cast<unsigned char>(e->d_name[0])))
        continue;
      const pid_t pid = std::atoi(e->d_name);
      if (pid != self && session_of(e->d_name) == session)
        ::kill(pid, SIGKILL);
    }
    ::closedir(proc);
  }
  ::kill(self, SIGKILL);
  ::_exit(128 + SIGKILL); // not reached
}

} // namespace vfp
