// The HDF5 cache of a cohort's patches: its key (what it is a function of), building it
// under a lock (whole or in shards, then merged, streaming). Writing one file:
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
    if (!s.dicom_series.empty() && s.dicom_series != "largest") // keeps every earlier key
      source["dicom_series"] = s.dicom_series;
    sources.push_back(source);
  }
  if (c.cohort.centroid_format == "csv")
    sources.push_back({{"centroid_table", fingerprint(c.cohort.centroids, content)}});
  return {{"params", config::preprocess_json(c)},
          {"preprocessing_version", kPreprocessingVersion},
          {"sources", sources}};
}

/// The provenance attribute: the identity plus what the build found.
std::string provenance_of(nlohmann::json identity, std::size_t subjects, std::size_t patches,
                          std::size_t excluded, int shards) {
  identity["subjects"] = subjects;
  identity["excluded"] = excluded;
  identity["patches"] = patches;
  identity["shards"] = shards;
  return identity.dump();
}

/// A writer for the patches `c` makes, in its storage type and compression.
std::unique_ptr<CacheWriter> writer_for(const std::filesystem::path& file, const std::string& key,
                                        const config::ExperimentConfig& c) {
  const auto shape = empty_patch_set(c.preprocess);
  return std::make_unique<CacheWriter>(file, shape.channels, shape.depth, shape.height, shape.width,
                                       c.preprocess.dtype, key, "{}", c.preprocess.compression);
}

/// True when `file` opens under `key` and every patch matches its checksum (read one at a
/// time: constant memory).
bool cache_is_sound(const std::filesystem::path& file, const std::string& key) {
  if (!std::filesystem::exists(file))
    return false;
  try {
    CacheReader reader(file, key);
    std::vector<float> patch(reader.index().patch_values());
    for (std::size_t i = 0; i < reader.index().size(); ++i)
      reader.read(i, patch.data());
    return true;
  } catch (const CacheError& e) {
    spdlog::warn("{}; rebuilding it", e.what());
    return false;
  }
}

/// Preprocesses `subjects` into `file`, streaming (the caller holds the file's lock).
void build_cache(const std::filesystem::path& file, const nlohmann::json& identity,
                 const config::ExperimentConfig& c, const std::vector<Subject>& subjects,
                 int threads) {
  spdlog::info("preprocessing {} subjects into cache {}", subjects.size(), file.string());
  const auto t0 = std::chrono::steady_clock::now();
  auto writer = writer_for(file, stable_id(identity.dump()), c);
  const auto excluded = preprocess_cohort_into(subjects, c, threads, *writer);
  writer->set_provenance(
      provenance_of(identity, subjects.size(), writer->size(), excluded.size(), 1));
  writer->commit();
  const auto shape = empty_patch_set(c.preprocess);
  spdlog::info("cached {} patches of {}x{} in {:.1f} s", writer->size(), shape.height, shape.width,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
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
  if (cache_is_sound(file, shard_key(key, index, count))) // finished before (a relaunched job)
    return;
  remove_stale_temporaries(file, /*any_writer=*/false); // a killed build's of this shard
  auto writer = writer_for(file, shard_key(key, index, count), c);
  preprocess_cohort_into(part, c, threads, *writer, /*allow_empty=*/true);
  writer->commit();
}

namespace {
/// Appends every patch of a shard to `out`, one at a time, each verified as it is read.
void copy_shard(const CacheReader& shard, const PatchSet& shape, const std::filesystem::path& name,
                CacheWriter& out) {
  const auto& in = shard.index();
  if (in.size() > 0 && (in.channels != shape.channels || in.depth != shape.depth ||
                        in.height != shape.height || in.width != shape.width))
    throw CacheError("cache shard " + name.string() + " holds patches of another shape");
  std::vector<float> patch(in.patch_values());
  for (std::size_t i = 0; i < in.size(); ++i) {
    shard.read(i, patch.data());
    out.append(in.subject_ids[i], in.vertebrae[i],
               {in.origin[3 * i], in.origin[3 * i + 1], in.origin[3 * i + 2]},
               {in.spacing[3 * i], in.spacing[3 * i + 1], in.spacing[3 * i + 2]}, patch.data());
  }
}
} // namespace

PatchSet merge_cache_shards(const config::ExperimentConfig& c, const std::vector<Subject>& subjects,
                            const std::filesystem::path& cache_dir, int count) {
  const auto identity = cache_identity(c, subjects);
  const auto key = stable_id(identity.dump());
  const auto file = cache_file(cache_dir, key);
  FileLock lock(file);
  remove_stale_temporaries(file, /*any_writer=*/true); // a killed merge's; we hold the lock
  if (cache_is_sound(file, key))
    return CacheReader(file, key).index();
  const auto shape = empty_patch_set(c.preprocess);
  auto writer = writer_for(file, key, c);
  std::vector<Exclusion> excluded;
  for (int i = 0; i < count; ++i) {
    const auto name = shard_file(file, i, count);
    const CacheReader shard(name, shard_key(key, i, count));
    excluded.insert(excluded.end(), shard.index().excluded.begin(), shard.index().excluded.end());
    copy_shard(shard, shape, name, *writer);
  }
  if (writer->size() == 0)
    throw InputError("preprocessing left no usable subject (" + std::to_string(excluded.size()) +
                     " excluded)");
  for (const auto& e : excluded)
    writer->exclude(e);
  writer->set_provenance(
      provenance_of(identity, subjects.size(), writer->size(), excluded.size(), count));
  writer->commit();
  for (int i = 0; i < count; ++i) {
    std::filesystem::remove(shard_file(file, i, count));
    remove_stale_temporaries(shard_file(file, i, count), /*any_writer=*/false);
  }
  spdlog::info("merged {} shards into {} ({} patches)", count, file.string(), writer->size());
  return CacheReader(file, key).index();
}

std::unique_ptr<CacheReader> open_or_build_cache(const config::ExperimentConfig& c,
                                                 const std::vector<Subject>& subjects,
                                                 const std::filesystem::path& cache_dir,
                                                 int threads, bool verify_pixels) {
  std::filesystem::create_directories(cache_dir);
  const auto identity = cache_identity(c, subjects);
  const auto key = stable_id(identity.dump());
  const auto file = cache_file(cache_dir, key);
  FileLock lock(file); // one process builds a key; the others wait here, then open it
  remove_stale_temporaries(file, /*any_writer=*/true); // a killed build's
  if (std::filesystem::exists(file)) {
    try {
      // The index is checked now; each patch against its checksum as it is read.
      auto reader = std::make_unique<CacheReader>(file, key);
      if (verify_pixels) {
        std::vector<float> patch(reader->index().patch_values());
        for (std::size_t i = 0; i < reader->index().size(); ++i)
          reader->read(i, patch.data()); // throws CacheError on a checksum mismatch
      }
      return reader;
    } catch (const CacheError& e) {
      spdlog::warn("{}; rebuilding it", e.what());
      std::filesystem::remove(file);
    }
  }
  build_cache(file, identity, c, subjects, threads);
  return std::make_unique<CacheReader>(file, key);
}

PatchSet load_or_build_cache(const config::ExperimentConfig& c,
                             const std::vector<Subject>& subjects,
                             const std::filesystem::path& cache_dir, int threads) {
  try {
    return read_every_patch(*open_or_build_cache(c, subjects, cache_dir, threads));
  } catch (const CacheError&) { // a bad patch: verified again under the lock, rebuilt, read
    return read_every_patch(
        *open_or_build_cache(c, subjects, cache_dir, threads, /*verify_pixels=*/true));
  }
}

} // namespace vfp::data
