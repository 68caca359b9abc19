#include "core/core.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace vfp {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw IoError("cannot write " + path.string() + ": " + errno_text());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void fsync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// What a non-regular file is, in words; empty for a regular file.
std::string kind_of(mode_t mode) {
  if (S_ISREG(mode))
    return "";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISDIR(mode))
    return "a directory";
  return "a special file";
}

} // namespace

void require_regular_file(const std::filesystem::path& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return; // missing or unreadable: the reader's open reports it
  const auto kind = kind_of(st.st_mode);
  if (kind.empty())
    return;
  std::string name = path.string();
  std::error_code ec;
  if (std::filesystem::is_symlink(path, ec)) {
    const auto target = std::filesystem::canonical(path, ec);
    if (!ec)
      name += " (a link to " + target.string() + ")";
  }
  throw InputError(std::string(what) + (what.empty() ? "" : " ") + name + " is " + kind +
                   ", not a regular file");
}

std::string read_text_file(const std::filesystem::path& path, std::string_view what) {
  require_regular_file(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError("cannot open " + path.string() + ": " + errno_text());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path&)>& write) {
  auto tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  // A leftover of a crashed run with the same pid (or a link planted there) goes first, so
  // that the temporary is a fresh file and never written through a link.
  ::unlink(tmp.c_str());
  try {
    write(tmp);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
      throw IoError("cannot open " + tmp.string() + " to fsync it: " + errno_text());
    const bool synced = ::fsync(fd) == 0;
    const auto why = errno_text();
    ::close(fd);
    if (!synced)
      throw IoError("cannot fsync " + tmp.string() + ": " + why);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto why = errno_text();
    ::unlink(tmp.c_str());
    throw IoError("cannot rename " + tmp.string() + " to " + path.string() + ": " + why);
  }
  fsync_directory(path.parent_path());
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  write_file_atomically(path, [&](const std::filesystem::path& tmp) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
      throw IoError("cannot create " + tmp.string() + ": " + errno_text());
    try {
      write_all(fd, content, tmp);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  });
}

void append_line_durably(const std::filesystem::path& path, std::string_view line) {
  // O_NOFOLLOW: rows are appended to the file itself, never through a link to elsewhere.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw IoError("cannot open " + path.string() + " for appending: " +
                  (errno == ELOOP ? std::string("it is a symlink (refused)") : errno_text()));
  std::string row(line);
  row += '\n';
  // Only one process appends to a file (the coordinator), so its end stays where it is here.
  const off_t old_end = ::lseek(fd, 0, SEEK_END);
  try {
    if (fault_point_reached("results.row.torn")) { // a crash halfway through the row
      write_all(fd, std::string_view(row).substr(0, row.size() / 2), path);
      ::fsync(fd);
      kill_job_now("results.row.torn");
    }
    // One write() of the whole row: O_APPEND makes it land contiguously.
    write_all(fd, row, path);
    if (::fsync(fd) != 0)
      throw IoError("cannot fsync " + path.string() + ": " + errno_text());
  } catch (...) {
    // A disk that filled up mid-row leaves part of it: cut it, or the next row appended (by
    // this run, once there is room) would be glued to it and the file unreadable at that line.
    if (old_end >= 0 && ::ftruncate(fd, old_end) == 0)
      ::fsync(fd);
    ::close(fd);
    throw;
  }
  ::close(fd);
}

int cpus_in_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

} // namespace vfp
