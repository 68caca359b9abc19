// Writing a cache file: a set of patches checked, written to a temporary HDF5 file beside
// the target, synced and moved into place, so that a cache is whole or absent. A full disk
// is named as such, whether HDF5, fsync or the free space tells.
#include "data/data.h"

#include "core/core.h"
#include "data/cache_internal.h"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <optional>
#include <sys/statvfs.h>
#include <unistd.h>

namespace vfp::data {
namespace {

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

/// Bytes available to this user on the file system holding `dir`; none when statvfs fails.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0)
    return std::nullopt;
  return std::uint64_t(fs.f_bavail) * std::uint64_t(fs.f_frsize);
}

std::string megabytes(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes < 10'000'000 ? "%.1f MB" : "%.0f MB", double(bytes) / 1e6);
  return buf;
}

std::string no_space_message(const std::filesystem::path& file, std::uint64_t needed,
                             std::uint64_t free) {
  return "no space left on device writing cache " + file.string() + " (needs ~" +
         megabytes(needed) + ", " + megabytes(free) + " free); free some space or choose " +
         "another cache folder (--cache); nothing earlier was changed";
}

// Checked before anything is written: a set that disagrees with itself, or that keeps
// patches of a subject it excludes, must not become a cache (no partial subject, ever).
void refuse_inconsistent(const std::filesystem::path& file, const PatchSet& patches) {
  const hsize_t n = patches.size(), values = patches.patch_values();
  auto refuse = [&](const std::string& why) {
    throw IoError("cannot write cache " + file.string() + ": " + why);
  };
  if (patches.vertebrae.size() != n || patches.pixels.size() != n * values)
    refuse(std::to_string(n) + " subject ids but " + std::to_string(patches.vertebrae.size()) +
           " vertebrae and " + std::to_string(patches.pixels.size()) + " pixel values (" +
           std::to_string(values) + " per patch)");
  if (patches.origin.size() != 3 * n || patches.spacing.size() != 3 * n)
    refuse(std::to_string(n) + " patches but geometry for " +
           std::to_string(std::min(patches.origin.size(), patches.spacing.size()) / 3));
  if (const auto problem = excluded_subject_with_patches(patches); !problem.empty())
    refuse(problem);
}

// What the file will take, about (uncompressed: an upper bound when compressed): the patches,
// the per-patch lists and some room for HDF5's own structures and the attributes.
std::uint64_t bytes_needed(const PatchSet& patches, const std::string& provenance_json) {
  const std::uint64_t n = patches.size();
  std::uint64_t needed =
      n * patches.patch_values() * sizeof(float) + (64u << 10) +
      n * (sizeof(std::int32_t) + sizeof(std::uint64_t) + 6 * sizeof(double) + 64) +
      provenance_json.size();
  for (const auto& id : patches.subject_ids)
    needed += id.size();
  return needed;
}

// The patches dataset: [N, C, H, W] for 2D patches, [N, C, D, H, W] for 3D ones, one chunk a
// patch; written when there are patches.
H5::DataSet write_patches(H5::H5File& out, const PatchSet& patches, int compression) {
  const hsize_t n = patches.size();
  std::vector<hsize_t> dims{n, hsize_t(patches.channels)};
  if (patches.depth > 0)
    dims.push_back(hsize_t(patches.depth));
  dims.push_back(hsize_t(patches.height));
  dims.push_back(hsize_t(patches.width));
  auto chunk = dims;
  chunk[0] = 1; // one chunk per patch: a random read touches one chunk
  H5::DSetCreatPropList props;
  props.setChunk(int(chunk.size()), chunk.data());
  if (compression > 0) {
    props.setShuffle();
    props.setDeflate(compression);
  } else {
    // Allocated up front, the chunks lie back to back in patch order, which lets
    // CacheReader map the file and read a patch at base + i * patch bytes.
    props.setAllocTime(H5D_ALLOC_TIME_EARLY);
  }
  auto max_dims = dims;
  if (n == 0)
    max_dims[0] = H5S_UNLIMITED; // a chunked dataset of an empty shard needs room for a chunk
  auto ds = out.createDataSet("patches", H5::PredType::NATIVE_FLOAT,
                              H5::DataSpace(int(dims.size()), dims.data(), max_dims.data()), props);
  if (n > 0)
    ds.write(patches.pixels.data(), H5::PredType::NATIVE_FLOAT);
  return ds;
}

// The temporary HDF5 file: patches, the per-patch lists, the attributes; closed explicitly.
void write_hdf5(const std::filesystem::path& tmp, const PatchSet& patches, const std::string& key,
                const std::string& provenance_json, int compression) {
  const hsize_t n = patches.size(), values = patches.patch_values();
  // The 1.10 file format indexes the chunks of a fixed-size dataset with a fixed array, so
  // CacheReader finds a patch's address in O(1) (the 1.8 B-tree is far slower to query).
  H5::FileAccPropList access;
  access.setLibverBounds(H5F_LIBVER_V110, H5F_LIBVER_LATEST);
  H5::H5File out(tmp.string(), H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, access);
  auto ds = write_patches(out, patches, compression);
  fault_point("cache.write"); // test-only (docs/hardening.md): the temporary half written

  hsize_t count[1] = {n};
  H5::DataSpace list(1, count);
  std::vector<const char*> ids;
  for (const auto& id : patches.subject_ids)
    ids.push_back(id.c_str());
  H5::StrType vls(H5::PredType::C_S1, H5T_VARIABLE);
  auto id_set = out.createDataSet("subject_id", vls, list);
  auto vertebra_set = out.createDataSet("vertebra", H5::PredType::NATIVE_INT32, list);
  auto checksum_set = out.createDataSet(kChecksumDataset, H5::PredType::NATIVE_UINT64, list);
  hsize_t xyz[2] = {n, 3};
  H5::DataSpace per_axis(2, xyz);
  auto origin_set = out.createDataSet("origin", H5::PredType::NATIVE_DOUBLE, per_axis);
  auto spacing_set = out.createDataSet("spacing", H5::PredType::NATIVE_DOUBLE, per_axis);
  if (n > 0) { // an empty shard keeps empty datasets
    origin_set.write(patches.origin.data(), H5::PredType::NATIVE_DOUBLE);
    spacing_set.write(patches.spacing.data(), H5::PredType::NATIVE_DOUBLE);
    std::vector<std::uint64_t> sums(n);
    for (hsize_t i = 0; i < n; ++i)
      sums[i] = patch_checksum(patches.patch(i), values);
    id_set.write(ids.data(), vls);
    vertebra_set.write(patches.vertebrae.data(), H5::PredType::NATIVE_INT32);
    checksum_set.write(sums.data(), H5::PredType::NATIVE_UINT64);
  }

  for (auto* set : {&origin_set, &spacing_set})
    write_string_attribute(*set, "units", "mm, LPS x y z of the patch's source cube");
  auto root = out.openGroup("/");
  write_string_attribute(root, "key", key);
  write_string_attribute(root, "vfp_version", std::string(version()));
  write_string_attribute(root, "created", now_iso8601());
  write_string_attribute(root, "provenance", provenance_json);
  nlohmann::json excluded = nlohmann::json::array();
  for (const auto& e : patches.excluded)
    excluded.push_back({{"subject", e.subject}, {"reason", e.reason}});
  write_string_attribute(root, "excluded", excluded.dump());
  // Closed here, not by the destructors: HDF5 writes the chunk cache out when a dataset
  // closes, and a destructor only prints that failure ("H5Dclose failed") and leaves a file
  // that looks whole (a full disk gave a truncated cache).
  for (auto* set : {&ds, &id_set, &vertebra_set, &checksum_set, &origin_set, &spacing_set})
    set->close();
  root.close();
  out.close();
}

// The temporary synced to disk and renamed to `file`; removed when either fails.
void move_into_place(const std::filesystem::path& tmp, const std::filesystem::path& file,
                     std::uint64_t needed) {
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const int synced = ::fsync(fd), error = errno;
    ::close(fd);
    if (synced != 0) { // a file system that reports a full disk only now
      std::filesystem::remove(tmp);
      if (error == ENOSPC || error == EDQUOT)
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

} // namespace

void write_cache(const std::filesystem::path& file, const PatchSet& patches, const std::string& key,
                 const std::string& provenance_json, int compression) {
  refuse_inconsistent(file, patches);
  auto tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  const std::uint64_t needed = bytes_needed(patches, provenance_json);
  // Uncompressed, the size is known: refuse before writing a byte rather than fail half way.
  if (const auto free = free_bytes(file.parent_path()); compression == 0 && free && *free < needed)
    throw IoError(no_space_message(file, needed, *free));
  try {
    errno = 0; // so that an ENOSPC below is this write's
    H5::Exception::dontPrint();
    write_hdf5(tmp, patches, key, provenance_json, compression);
  } catch (const H5::Exception& e) {
    // HDF5 says only which call failed ("H5Dcreate2 failed"); a full disk shows in errno (the
    // failed write's) or in the free space left (the temporary removed first: its bytes are
    // not lost space).
    const int error = errno;
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    const auto free = free_bytes(file.parent_path());
    if (error == ENOSPC || error == EDQUOT || (free && *free < needed))
      throw IoError(no_space_message(file, needed, free.value_or(0)));
    throw IoError("cannot write cache " + file.string() + " (temporary " + tmp.string() +
                  "): " + e.getDetailMsg() +
                  (error != 0 ? std::string(" (") + std::strerror(error) + ")" : std::string()));
  } catch (...) { // whatever else fails half way, no temporary stays behind
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
  move_into_place(tmp, file, needed);
}

} // namespace vfp::data
