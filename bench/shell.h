// Running the reference implementations a benchmark compares with (PyTorch's Python, R,
// scikit-learn) as child processes, and reading the figures they print.
#pragma once

#include "args.h"
#include "core/core.h"

#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

namespace vfp::bench {

/// GLIBC_TUNABLES that give a child process the allocator thresholds `set` (what
/// keep_freed_memory() set in this one): both sides of a comparison under the same malloc.
inline std::string glibc_tunables(const MallocThresholds& set) {
  return "glibc.malloc.mmap_threshold=" + std::to_string(set.mmap) +
         ":glibc.malloc.trim_threshold=" + std::to_string(set.trim);
}

/// `s` quoted for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s)
    q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

/// What a child printed (stdout and stderr together), its exit status, and the key=value
/// fields of its lines starting with `tag`.
struct Captured {
  int status = -1;
  std::string output;
  std::map<std::string, std::string> fields;
  std::string get(const std::string& key) const {
    const auto it = fields.find(key);
    return it == fields.end() ? "" : it->second;
  }
};

/// Runs `command` through the shell and collects its output; throws IoError naming the
/// command when it cannot start.
inline Captured capture(const std::string& command, const std::string& tag) {
  Captured out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    throw IoError("cannot start '" + command + "': " + std::strerror(errno));
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;)
    out.output.append(buf, n);
  const int status = pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  for (const auto& line : split(out.output, '\n')) {
    if (line.rfind(tag, 0) != 0)
      continue;
    for (const auto& field : split(line.substr(tag.size()), ' ')) {
      const auto eq = field.find('=');
      if (eq != std::string::npos)
        out.fields[field.substr(0, eq)] = field.substr(eq + 1);
    }
  }
  return out;
}

} // namespace vfp::bench
