#include "data/data.h"

#include "core/core.h"
#include "log/log.h"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace vfp::data {
namespace {

/// Bump when preprocessing output changes for the same parameters: old caches then miss.
constexpr int kPreprocessingVersion = 1;

std::uint64_t patch_checksum(const float* data, std::size_t count) {
  return fnv1a64(std::string_view(reinterpret_cast<const char*>(data), count * sizeof(float)));
}

nlohmann::json fingerprint(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return {{"path", path.string()}, {"missing", true}};
  auto mtime = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
  return {{"path", path.string()}, {"size", size}, {"mtime", mtime}};
}

std::string now_iso8601() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_string_attribute(H5::H5Object& obj, const std::string& name, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
}

std::string read_string_attribute(const H5::H5Object& obj, const std::string& name) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  std::string value;
  obj.openAttribute(name).read(type, value);
  return value;
}

/// An exclusive advisory lock on `<file>.lock`, held for the object's lifetime.
class FileLock {
public:
  explicit FileLock(const std::filesystem::path& file) {
    auto lock = file;
    lock += ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw IoError("cannot create lock file " + lock.string());
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR)
        throw IoError("cannot lock " + lock.string());
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  int fd_ = -1;
};

} // namespace

std::string cache_key(const config::ExperimentConfig& c, const std::vector<Subject>& subjects) {
  nlohmann::json sources = nlohmann::json::array();
  for (const auto& s : subjects)
    sources.push_back({{"id", s.id},
                       {"image", fingerprint(config::subject_path(c.cohort.images, s.id))},
                       {"centroids", fingerprint(config::subject_path(c.cohort.centroids, s.id))}});
  nlohmann::json identity = {{"params", config::preprocess_json(c)},
                             {"preprocessing_version", kPreprocessingVersion},
                             {"sources", sources}};
  return stable_id(identity.dump());
}

std::filesystem::path cache_file(const std::filesystem::path& cache_dir, const std::string& key) {
  return cache_dir / ("patches-" + key + ".h5");
}

void write_cache(const std::filesystem::path& file, const PatchSet& patches, const std::string& key,
                 const std::string& provenance_json) {
  VFP_CHECK(patches.size() > 0, "cannot cache an empty patch set");
  auto tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  const hsize_t n = patches.size(), h = patches.height, w = patches.width;
  try {
    H5::Exception::dontPrint();
    H5::H5File out(tmp.string(), H5F_ACC_TRUNC);
    hsize_t dims[3] = {n, h, w};
    hsize_t chunk[3] = {1, h, w}; // one chunk per patch: random access reads one chunk
    H5::DSetCreatPropList props;
    props.setChunk(3, chunk);
    auto ds =
        out.createDataSet("patches", H5::PredType::NATIVE_FLOAT, H5::DataSpace(3, dims), props);
    ds.write(patches.pixels.data(), H5::PredType::NATIVE_FLOAT);

    hsize_t count[1] = {n};
    H5::DataSpace list(1, count);
    std::vector<const char*> ids;
    for (const auto& id : patches.subject_ids)
      ids.push_back(id.c_str());
    H5::StrType vls(H5::PredType::C_S1, H5T_VARIABLE);
    out.createDataSet("subject_id", vls, list).write(ids.data(), vls);
    out.createDataSet("vertebra", H5::PredType::NATIVE_INT32, list)
        .write(patches.vertebrae.data(), H5::PredType::NATIVE_INT32);
    std::vector<std::uint64_t> sums(n);
    for (hsize_t i = 0; i < n; ++i)
      sums[i] = patch_checksum(patches.patch(i), h * w);
    out.createDataSet("checksum_fnv1a64", H5::PredType::NATIVE_UINT64, list)
        .write(sums.data(), H5::PredType::NATIVE_UINT64);

    auto root = out.openGroup("/");
    write_string_attribute(root, "key", key);
    write_string_attribute(root, "vfp_version", std::string(version()));
    write_string_attribute(root, "created", now_iso8601());
    write_string_attribute(root, "provenance", provenance_json);
    out.close();
  } catch (const H5::Exception& e) {
    std::filesystem::remove(tmp);
    throw IoError("cannot write cache " + tmp.string() + ": " + e.getDetailMsg());
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw IoError("cannot move cache into place at " + file.string() + ": " + ec.message());
  }
}

PatchSet read_cache(const std::filesystem::path& file, const std::string& expected_key) {
  PatchSet out;
  try {
    H5::Exception::dontPrint();
    H5::H5File in(file.string(), H5F_ACC_RDONLY);
    const auto key = read_string_attribute(in.openGroup("/"), "key");
    if (key != expected_key)
      throw CacheError("cache " + file.string() + " holds key " + key + ", expected " +
                       expected_key);
    auto ds = in.openDataSet("patches");
    hsize_t dims[3];
    if (ds.getSpace().getSimpleExtentNdims() != 3)
      throw CacheError("cache " + file.string() + ": 'patches' is not 3-dimensional");
    ds.getSpace().getSimpleExtentDims(dims);
    out.height = static_cast<int>(dims[1]);
    out.width = static_cast<int>(dims[2]);
    out.pixels.resize(dims[0] * dims[1] * dims[2]);
    ds.read(out.pixels.data(), H5::PredType::NATIVE_FLOAT);

    auto id_set = in.openDataSet("subject_id");
    hsize_t n_ids = 0;
    id_set.getSpace().getSimpleExtentDims(&n_ids);
    if (n_ids != dims[0])
      throw CacheError("cache " + file.string() + ": subject_id has " + std::to_string(n_ids) +
                       " entries for " + std::to_string(dims[0]) + " patches");
    H5::StrType vls(H5::PredType::C_S1, H5T_VARIABLE);
    std::vector<char*> ids(n_ids);
    id_set.read(ids.data(), vls);
    for (auto* id : ids)
      out.subject_ids.emplace_back(id ? id : "");
    H5::DataSet::vlenReclaim(ids.data(), vls, id_set.getSpace());

    out.vertebrae.resize(n_ids);
    in.openDataSet("vertebra").read(out.vertebrae.data(), H5::PredType::NATIVE_INT32);
    std::vector<std::uint64_t> sums(n_ids);
    in.openDataSet("checksum_fnv1a64").read(sums.data(), H5::PredType::NATIVE_UINT64);
    for (hsize_t i = 0; i < n_ids; ++i)
      if (patch_checksum(out.patch(i), dims[1] * dims[2]) != sums[i])
        throw CacheError("cache " + file.string() + ": checksum mismatch in patch " +
                         std::to_string(i) + " (subject " + out.subject_ids[i] + ")");
  } catch (const H5::Exception& e) {
    throw CacheError("cache " + file.string() + " is unreadable: " + e.getDetailMsg());
  }
  return out;
}

PatchSet load_or_build_cache(const config::ExperimentConfig& c,
                             const std::vector<Subject>& subjects,
                             const std::filesystem::path& cache_dir, int threads) {
  std::filesystem::create_directories(cache_dir);
  const auto key = cache_key(c, subjects);
  const auto file = cache_file(cache_dir, key);
  FileLock lock(file); // one process builds a key; the others wait here, then read it
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
  nlohmann::json provenance = {{"params", config::preprocess_json(c)},
                               {"preprocessing_version", kPreprocessingVersion},
                               {"subjects", subjects.size()},
                               {"patches", patches.size()}};
  write_cache(file, patches, key, provenance.dump());
  spdlog::info("cached {} patches of {}x{} in {:.1f} s", patches.size(), patches.height,
               patches.width,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return patches;
}

} // namespace vfp::data
