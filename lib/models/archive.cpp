#include "models/models.h"

#include "core/core.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace vfp::models {

void save_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw IoError("cannot create " + file.string() + ": " + std::strerror(errno));
  int error = 0;
  archive.save_to([&](const void* data, size_t size) -> size_t {
    const char* p = static_cast<const char*>(data);
    for (size_t left = size; left > 0 && error == 0;) {
      const ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno != EINTR)
        error = errno;
      if (n > 0) {
        p += n;
        left -= size_t(n);
      }
    }
    // Always all of it: torch's writer checks the count in its destructor and aborts the
    // process on a mismatch. The first error is kept and thrown below instead.
    return size;
  });
  const bool closed = ::close(fd) == 0;
  if (error == 0 && !closed)
    error = errno;
  if (error != 0)
    throw IoError("cannot write " + file.string() + ": " + std::strerror(error));
}

} // namespace vfp::models
