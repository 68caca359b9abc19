// One run of a sweep at a time, and the temporaries a killed run leaves behind.
//
// The run lock is an flock on a file that is never removed: removing it would let a process
// that opened the old file and one that creates a new one hold "the" lock together. flock
// works across the nodes of NFS (the client maps it onto byte-range locks) and of Lustre
// mounted with -o flock; where a file system refuses it, the caller is told and runs unlocked.
#include "core/core.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace vfp {
namespace fs = std::filesystem;
namespace {

std::string contents_of(int fd) {
  std::string text;
  char buf[1024];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0)
      return text;
    text.append(buf, std::size_t(n));
    at += n;
    if (text.size() > 64 * std::size_t{1024}) // a holder's note is one short line
      return text;
  }
}

/// True when `name` is "<something>.tmp.<digits>": a temporary of write_file_atomically or of
/// the cache writer, the digits its writer's pid.
bool temporary_pid(const std::string& name, long& pid) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at == 0)
    return false;
  const auto digits = name.substr(at + 5);
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  pid = std::stol(digits);
  return true;
}

bool process_alive(long pid) {
  return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

bool remove_file(const fs::path& p) {
  std::error_code ec;
  return fs::remove(p, ec);
}

} // namespace

RunLock::RunLock(const fs::path& file, const std::string& holder) : file_(file) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw IoError("cannot open lock file " + file.string() + ": " + std::strerror(errno));
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EINTR)
      continue;
    if (error == EWOULDBLOCK) {
      auto note = contents_of(fd_);
      ::close(fd_);
      fd_ = -1;
      while (!note.empty() && (note.back() == '\n' || note.back() == '\0'))
        note.pop_back();
      throw LockHeld(file, note);
    }
    // ENOLCK, EOPNOTSUPP, ENOSYS...: this file system does not lock; the caller warns.
    unsupported_ = std::strerror(error);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  // Ours now: the note of the previous holder (gone) gives way to ours. A failure to write it
  // only costs the next refused run its description of us.
  if (::ftruncate(fd_, 0) == 0) {
    const auto line = holder + "\n";
    [[maybe_unused]] const auto n = ::pwrite(fd_, line.data(), line.size(), 0);
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the flock; the file stays (see the top of this file)
}

LockHeld::LockHeld(const fs::path& file, std::string holder)
    : Error("another process holds " + file.string() +
            (holder.empty() ? std::string() : " (" + holder + ")")),
      file_(file), holder_(std::move(holder)) {}

bool is_stale_temporary(const fs::path& path) {
  long pid = 0;
  return temporary_pid(path.filename().string(), pid) && !process_alive(pid);
}

int remove_stale_temporaries(const fs::path& file, bool any_writer) {
  const auto prefix = file.filename().string() + ".tmp.";
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(file.parent_path().empty() ? "." : file.parent_path(), ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    long pid = 0;
    if (name.compare(0, prefix.size(), prefix) == 0 && temporary_pid(name, pid) &&
        it->is_regular_file(ec) && (any_writer || !process_alive(pid)) && remove_file(it->path()))
      ++removed;
  }
  return removed;
}

int remove_stale_temporaries_below(const fs::path& folder) {
  std::error_code ec;
  int removed = 0;
  // Links are not followed (the confinement rules forbid them below a sweep folder anyway).
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && is_stale_temporary(it->path()) &&
        remove_file(it->path()))
      ++removed;
  return removed;
}

} // namespace vfp
