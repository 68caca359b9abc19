// Helpers shared by the cache's writer and reader: HDF5 attributes and lock, the exclusion
// check, and the disk side of a commit (free space, full-disk messages, sync and rename);
// and what `vfp cache ls|gc` use: listing cache files, freeing dead builders' locks.
#include "data/data.h"

#include "core/core.h"
#include "data/cache_internal.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace vfp::data {

std::string read_string_attribute(const H5::H5Object& obj, const std::string& name) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  std::string value;
  obj.openAttribute(name).read(type, value);
  return value;
}

std::string excluded_subject_with_patches(const PatchSet& patches) {
  if (patches.excluded.empty() || patches.subject_ids.empty())
    return "";
  std::map<std::string, const Exclusion*> excluded;
  for (const auto& e : patches.excluded)
    excluded.emplace(e.subject, &e);
  std::map<std::string, std::size_t> count;
  const Exclusion* first = nullptr;
  for (const auto& id : patches.subject_ids) {
    const auto it = excluded.find(id);
    if (it == excluded.end())
      continue;
    ++count[id];
    if (!first)
      first = it->second;
  }
  if (!first)
    return "";
  const auto n = count[first->subject];
  return "subject " + first->subject + " is listed as excluded (" + first->reason + ") yet has " +
         std::to_string(n) + " patch" + (n == 1 ? "" : "es");
}

std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

void write_string_attribute(H5::H5Object& obj, const std::string& name, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
}

std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0)
    return std::nullopt;
  return std::uint64_t(fs.f_bavail) * std::uint64_t(fs.f_frsize);
}

namespace {
std::string megabytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes < 10'000'000 ? "%.1f MB" : "%.0f MB", double(bytes) / 1e6);
  return buf;
}
} // namespace

std::string no_space_message(const std::filesystem::path& file, std::uint64_t needed,
                             std::uint64_t free) {
  return "no space left on device writing cache " + file.string() + " (needs ~" +
         megabytes(needed) + ", " + megabytes(free) + " free); free some space or choose " +
         "another cache folder (--cache); nothing earlier was changed";
}

bool disk_full(int error) {
  return error == ENOSPC || error == EDQUOT;
}

void move_into_place(const std::filesystem::path& tmp, const std::filesystem::path& file,
                     std::uint64_t needed) {
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const int synced = ::fsync(fd), error = errno;
    ::close(fd);
    if (synced != 0) { // a file system that reports a full disk only now
      std::filesystem::remove(tmp);
      if (disk_full(error))
        throw IoError(no_space_message(file, needed, free_bytes(file.parent_path()).value_or(0)));
      throw IoError("cannot write cache " + file.string() + ": fsync: " + std::strerror(error));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw IoError("cannot move cache into place at " + file.string() + ": " + ec.message());
  }
}

bool remove_lock_if_free(const std::filesystem::path& file, bool dry_run) {
  const auto name = file.filename().string();
  if (name.rfind("patches-", 0) != 0 || file.extension() != ".lock")
    return false;
  const int fd = ::open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  // A FileLock that wakes up holding a file unlinked meanwhile retries on a new one, so
  // removing it while we hold it cannot give two builders the lock at once.
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (free && !dry_run)
    ::unlink(file.c_str());
  ::close(fd);
  return free;
}

std::vector<CacheEntry> list_caches(const std::filesystem::path& cache_dir) {
  std::vector<CacheEntry> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(cache_dir, ec))
    throw InputError("cache folder not found: " + cache_dir.string());
  for (const auto& e : std::filesystem::directory_iterator(cache_dir)) {
    const auto name = e.path().filename().string();
    if (name.rfind("patches-", 0) != 0 || e.path().extension() != ".h5")
      continue;
    CacheEntry entry;
    entry.file = e.path();
    entry.bytes = e.file_size(ec);
    try {
      const std::lock_guard<std::mutex> lock(hdf5_mutex());
      H5::Exception::dontPrint();
      H5::H5File in(entry.file.string(), H5F_ACC_RDONLY);
      const auto root = in.openGroup("/");
      entry.key = read_string_attribute(root, "key");
      entry.created = read_string_attribute(root, "created");
      entry.vfp_version = read_string_attribute(root, "vfp_version");
      const auto space = in.openDataSet("patches").getSpace();
      std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
      space.getSimpleExtentDims(dims.data());
      entry.shape.assign(dims.begin(), dims.end());
      const auto type = stored_type_of(in.openDataSet("patches").getDataType().getId());
      entry.dtype = type ? dtype_name(*type) : "unknown";
    } catch (const H5::Exception& err) {
      // Named here: `vfp cache verify` prints the problem alone.
      entry.problem = "cache " + entry.file.string() +
                      ": unreadable (truncated, or not an HDF5 file): " + err.getDetailMsg();
    }
    out.push_back(entry);
  }
  std::sort(out.begin(), out.end(),
            [](const CacheEntry& a, const CacheEntry& b) { return a.file < b.file; });
  return out;
}

} // namespace vfp::data
