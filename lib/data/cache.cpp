// The HDF5 cache of a cohort's patches: its key (what it is a function of), building it
// under a lock (whole or in shards, then merged), listing and lock cleanup. Writing one file:
// cache_write.cpp; reading: cache_reader.cpp.
#include "data/data.h"

#include "core/core.h"
#include "data/cache_internal.h"
#include "log/log.h"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace vfp::data {

namespace {

/// Bump when preprocessing output changes for the same parameters: old caches then miss.
// 2: patches are [N, C, H, W] or [N, C, D, H, W]; 3: checksum64 per patch, slab_start;
// 4: origin and spacing per patch.
constexpr int kPreprocessingVersion = 4;

/// Size and mtime of a file, or of every file in a folder (a DICOM series); with
/// `content`, an FNV-1a hash of the bytes too (slower, but survives touch and copies).
nlohmann::json fingerprint(const std::filesystem::path& path, bool content) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    nlohmann::json files = nlohmann::json::array();
    std::vector<std::filesystem::path> entries;
    for (const auto& e : std::filesystem::directory_iterator(path, ec))
      if (e.is_regular_file())
        entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries)
      files.push_back(fingerprint(e, content));
    return {{"path", path.string()}, {"files", files}};
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return {{"path", path.string()}, {"missing", true}};
  nlohmann::json f = {{"path", path.string()}, {"size", size}};
  if (content)
    f["checksum64"] = [&] {
      const auto bytes = read_text_file(path);
      return hex64(checksum64(bytes.data(), bytes.size()));
    }();
  else
    f["mtime"] = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
  return f;
}

/// An exclusive flock on `<file>.lock`, removed on release. A waiter that wakes up holding a
/// lock file that was meanwhile unlinked retries on the new one, so two holders never overlap.
class FileLock {
public:
  explicit FileLock(std::filesystem::path file) : path_(std::move(file)) {
    path_ += ".lock";
    for (;;) {
      fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0)
        throw IoError("cannot create lock file " + path_.string() + ": " + std::strerror(errno));
      while (::flock(fd_, LOCK_EX) != 0)
        if (errno != EINTR)
          throw IoError("cannot lock " + path_.string() + ": " + std::strerror(errno));
      struct stat held {
      }, named{};
      if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 &&
          held.st_ino == named.st_ino && held.st_dev == named.st_dev)
        return;
      ::close(fd_);
    }
  }
  ~FileLock() {
    ::unlink(path_.c_str());
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  std::filesystem::path path_;
  int fd_ = -1;
};

} // namespace

namespace {
/// What a cache is a function of: parameters, code version and every source's fingerprint.
/// Its hash is the key; it is also stored whole as the file's provenance.
nlohmann::json cache_identity(const config::ExperimentConfig& c,
                              const std::vector<Subject>& subjects) {
  const bool content = c.preprocess.content_hash;
  nlohmann::json sources = nlohmann::json::array();
  for (const auto& s : subjects) {
    nlohmann::json source = {
        {"id", s.id}, {"image", fingerprint(config::subject_path(c.cohort.images, s.id), content)}};
    if (c.cohort.centroid_format != "csv")
      source["centroids"] = fingerprint(config::subject_path(c.cohort.centroids, s.id), content);
    sources.push_back(source);
  }
  if (c.cohort.centroid_format == "csv")
    sources.push_back({{"centroid_table", fingerprint(c.cohort.centroids, content)}});
  return {{"params", config::preprocess_json(c)},
          {"preprocessing_version", kPreprocessingVersion},
          {"sources", sources}};
}

/// The provenance attribute: the identity plus what the build found.
std::string provenance_of(nlohmann::json identity, std::size_t subjects, const PatchSet& patches,
                          int shards) {
  identity["subjects"] = subjects;
  identity["excluded"] = patches.excluded.size();
  identity["patches"] = patches.size();
  identity["shards"] = shards;
  return identity.dump();
}
} // namespace

std::string cache_key(const config::ExperimentConfig& c, const std::vector<Subject>& subjects) {
  return stable_id(cache_identity(c, subjects).dump());
}

std::filesystem::path cache_file(const std::filesystem::path& cache_dir, const std::string& key) {
  return cache_dir / ("patches-" + key + ".h5");
}

namespace {
std::filesystem::path shard_file(const std::filesystem::path& cache, int index, int count) {
  auto p = cache;
  p += ".shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".h5";
  return p;
}
std::string shard_key(const std::string& key, int index, int count) {
  return key + "/shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}
} // namespace

void build_cache_shard(const config::ExperimentConfig& c, const std::vector<Subject>& subjects,
                       const std::filesystem::path& cache_dir, int index, int count, int threads) {
  VFP_CHECK(count >= 1 && index >= 0 && index < count, "shard index out of range");
  std::filesystem::create_directories(cache_dir);
  const auto key = cache_key(c, subjects);
  const auto begin = subjects.size() * size_t(index) / size_t(count);
  const auto end = subjects.size() * size_t(index + 1) / size_t(count);
  const std::vector<Subject> part(subjects.begin() + long(begin), subjects.begin() + long(end));
  const auto file = shard_file(cache_file(cache_dir, key), index, count);
  try { // a shard finished before (the job was relaunched) is reused
    read_cache(file, shard_key(key, index, count));
    return;
  } catch (const CacheError&) {
  }
  remove_stale_temporaries(file, /*any_writer=*/false); // a killed build's of this shard
  auto patches = preprocess_cohort(part, c, threads, /*allow_empty=*/true);
  write_cache(file, patches, shard_key(key, index, count), "{}", c.preprocess.compression);
}

PatchSet merge_cache_shards(const config::ExperimentConfig& c, const std::vector<Subject>& subjects,
                            const std::filesystem::path& cache_dir, int count) {
  const auto identity = cache_identity(c, subjects);
  const auto key = stable_id(identity.dump());
  const auto file = cache_file(cache_dir, key);
  FileLock lock(file);
  remove_stale_temporaries(file, /*any_writer=*/true); // a killed merge's; we hold the lock
  if (std::filesystem::exists(file)) {
    try {
      return read_cache(file, key);
    } catch (const CacheError& e) {
      spdlog::warn("{}; rebuilding it", e.what());
    }
  }
  PatchSet all;
  for (int i = 0; i < count; ++i) {
    auto part = read_cache(shard_file(file, i, count), shard_key(key, i, count));
    all.excluded.insert(all.excluded.end(), part.excluded.begin(), part.excluded.end());
    if (part.size() == 0)
      continue;
    all.channels = part.channels;
    all.depth = part.depth;
    all.height = part.height;
    all.width = part.width;
    all.pixels.insert(all.pixels.end(), part.pixels.begin(), part.pixels.end());
    all.subject_ids.insert(all.subject_ids.end(), part.subject_ids.begin(), part.subject_ids.end());
    all.vertebrae.insert(all.vertebrae.end(), part.vertebrae.begin(), part.vertebrae.end());
    all.origin.insert(all.origin.end(), part.origin.begin(), part.origin.end());
    all.spacing.insert(all.spacing.end(), part.spacing.begin(), part.spacing.end());
  }
  if (all.size() == 0)
    throw InputError("preprocessing left no usable subject (" +
                     std::to_string(all.excluded.size()) + " excluded)");
  write_cache(file, all, key, provenance_of(identity, subjects.size(), all, count),
              c.preprocess.compression);
  for (int i = 0; i < count; ++i) {
    std::filesystem::remove(shard_file(file, i, count));
    remove_stale_temporaries(shard_file(file, i, count), /*any_writer=*/false);
  }
  spdlog::info("merged {} shards into {} ({} patches)", count, file.string(), all.size());
  return all;
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

PatchSet load_or_build_cache(const config::ExperimentConfig& c,
                             const std::vector<Subject>& subjects,
                             const std::filesystem::path& cache_dir, int threads) {
  std::filesystem::create_directories(cache_dir);
  const auto identity = cache_identity(c, subjects);
  const auto key = stable_id(identity.dump());
  const auto file = cache_file(cache_dir, key);
  FileLock lock(file); // one process builds a key; the others wait here, then read it
  remove_stale_temporaries(file, /*any_writer=*/true); // a killed build's
  if (std::filesystem::exists(file)) {
    try {
      return read_cache(file, key);
    } catch (const CacheError& e) {
      spdlog::warn("{}; rebuilding it", e.what());
      std::filesystem::remove(file);
    }
  }
  spdlog::info("preprocessing {} subjects into cache {}", subjects.size(), file.string());
  auto t0 = std::chrono::steady_clock::now();
  auto patches = preprocess_cohort(subjects, c, threads);
  write_cache(file, patches, key, provenance_of(identity, subjects.size(), patches, 1),
              c.preprocess.compression);
  spdlog::info("cached {} patches of {}x{} in {:.1f} s", patches.size(), patches.height,
               patches.width,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return patches;
}

} // namespace vfp::data
