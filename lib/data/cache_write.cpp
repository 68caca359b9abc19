// Writing a cache file, patch by patch: CacheWriter streams each patch's stored bytes to an
// unlinked temporary (memory: one patch and the index), and commit() copies them into an
// HDF5 file beside the target whose chunks, allocated up front, lie back to back (what
// CacheReader's direct reads need), then syncs and renames it, so that a cache is whole or
// absent. write_cache (a whole patch set) goes through the same writer. A full disk is named
// as such, whether a write, HDF5, fsync or the free space tells.
#include "data/data.h"

#include "core/core.h"
#include "data/cache_internal.h"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <set>
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
std::uint64_t bytes_needed(const PatchSet& index, std::uint64_t patch_bytes,
                           const std::string& provenance_json) {
  const std::uint64_t n = index.size();
  std::uint64_t needed =
      n * patch_bytes + (64u << 10) +
      n * (sizeof(std::int32_t) + sizeof(std::uint64_t) + 6 * sizeof(double) + 64) +
      provenance_json.size();
  for (const auto& id : index.subject_ids)
    needed += id.size();
  return needed;
}

} // namespace

struct CacheWriter::Impl {
  std::filesystem::path file, tmp;
  std::string key, provenance;
  std::vector<hsize_t> patch_dims; ///< [C, H, W] or [C, D, H, W]
  StoredType type = StoredType::kFloat32;
  std::size_t values = 0, stored_bytes = 0;
  int compression = 0;
  int raw = -1;   ///< unlinked temporary: the stored bytes of the patches appended so far
  PatchSet index; ///< ids, vertebrae, geometry, exclusions; no pixels
  std::vector<std::uint64_t> sums;
  std::set<std::string> with_patches, excluded;
  std::vector<unsigned char> buffer; ///< one patch, stored form
  bool committed = false;

  ~Impl() {
    if (raw >= 0)
      ::close(raw);
    std::error_code ec;
    if (!committed) // the HDF5 temporary, when commit failed half way
      std::filesystem::remove(tmp, ec);
  }

  [[noreturn]] void fail(const std::string& what, int error, std::uint64_t needed) const {
    if (disk_full(error))
      throw IoError(no_space_message(file, needed, free_bytes(file.parent_path()).value_or(0)));
    throw IoError("cannot write cache " + file.string() + ": " + what + ": " +
                  std::strerror(error));
  }

  std::uint64_t needed() const { return bytes_needed(index, stored_bytes, provenance); }

  void create_patches(H5::H5File& out, H5::DataSet& ds) const;
  void copy_patches(H5::DataSet& ds);
  void write_hdf5();
};

// The patches dataset: [N, C, H, W] for 2D patches, [N, C, D, H, W] for 3D ones, one chunk a
// patch, in the stored type.
void CacheWriter::Impl::create_patches(H5::H5File& out, H5::DataSet& ds) const {
  std::vector<hsize_t> dims{hsize_t(index.size())};
  dims.insert(dims.end(), patch_dims.begin(), patch_dims.end());
  auto chunk = dims;
  chunk[0] = 1; // one chunk per patch: a random read touches one chunk
  H5::DSetCreatPropList props;
  props.setChunk(int(chunk.size()), chunk.data());
  if (compression > 0) {
    props.setShuffle();
    props.setDeflate(compression);
  } else {
    // Allocated up front, the chunks lie back to back in patch order, which lets
    // CacheReader read a patch at base + i * patch bytes. Never filled: all are written.
    props.setAllocTime(H5D_ALLOC_TIME_EARLY);
    props.setFillTime(H5D_FILL_TIME_NEVER);
  }
  auto max_dims = dims;
  if (dims[0] == 0)
    max_dims[0] = H5S_UNLIMITED; // a chunked dataset of an empty shard needs room for a chunk
  ds = out.createDataSet("patches", hdf5_file_type(type),
                         H5::DataSpace(int(dims.size()), dims.data(), max_dims.data()), props);
  write_string_attribute(ds, "dtype", dtype_name(type));
  if (type == StoredType::kUint16)
    write_string_attribute(ds, "scale", "value = stored / 65535 (the HU window mapped to [0, 1])");
}

// From the unlinked temporary into the dataset, one patch at a time (memory: one patch). The
// temporary's copied blocks are released as the copy goes, so the disk holds the patches about
// once, not twice.
void CacheWriter::Impl::copy_patches(H5::DataSet& ds) {
  const hsize_t n = index.size();
  std::vector<hsize_t> offset(patch_dims.size() + 1, 0), count(offset.size());
  count[0] = 1;
  std::copy(patch_dims.begin(), patch_dims.end(), count.begin() + 1);
  const H5::DataSpace memory(int(count.size()), count.data());
  const auto memory_type = hdf5_file_type(type); // stored bytes as they are: no conversion
  off_t released = 0;
  for (hsize_t i = 0; i < n; ++i) {
    const off_t at = off_t(i * stored_bytes);
    for (std::size_t got = 0; got < stored_bytes;) {
      const auto r = ::pread(raw, buffer.data() + got, stored_bytes - got, at + off_t(got));
      if (r == 0 || (r < 0 && errno != EINTR))
        fail("reading back patch " + std::to_string(i), r == 0 ? EIO : errno, needed());
      got += r > 0 ? std::size_t(r) : 0;
    }
    offset[0] = i;
    if (compression == 0) {
      if (H5Dwrite_chunk(ds.getId(), H5P_DEFAULT, 0, offset.data(), stored_bytes, buffer.data()) <
          0)
        throw H5::DataSetIException("H5Dwrite_chunk", "cannot write patch " + std::to_string(i));
    } else {
      H5::DataSpace file_space = ds.getSpace();
      file_space.selectHyperslab(H5S_SELECT_SET, count.data(), offset.data());
      ds.write(buffer.data(), memory_type, memory, file_space);
    }
    if (at + off_t(stored_bytes) - released >= (64 << 20)) {
      (void)::fallocate(raw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, released,
                        at + off_t(stored_bytes) - released); // best effort
      released = at + off_t(stored_bytes);
    }
  }
}

// The temporary HDF5 file: patches, the per-patch lists, the attributes; closed explicitly.
void CacheWriter::Impl::write_hdf5() {
  const hsize_t n = index.size();
  // The 1.10 file format indexes the chunks of a fixed-size dataset with a fixed array, so
  // CacheReader finds a patch's address in O(1) (the 1.8 B-tree is far slower to query).
  H5::FileAccPropList access;
  access.setLibverBounds(H5F_LIBVER_V110, H5F_LIBVER_LATEST);
  H5::H5File out(tmp.string(), H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, access);
  H5::DataSet ds;
  create_patches(out, ds);
  copy_patches(ds);
  fault_point("cache.write"); // test-only (docs/hardening.md): the temporary half written

  hsize_t length[1] = {n};
  H5::DataSpace list(1, length);
  std::vector<const char*> ids;
  for (const auto& id : index.subject_ids)
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
    origin_set.write(index.origin.data(), H5::PredType::NATIVE_DOUBLE);
    spacing_set.write(index.spacing.data(), H5::PredType::NATIVE_DOUBLE);
    id_set.write(ids.data(), vls);
    vertebra_set.write(index.vertebrae.data(), H5::PredType::NATIVE_INT32);
    checksum_set.write(sums.data(), H5::PredType::NATIVE_UINT64);
  }
  for (auto* set : {&origin_set, &spacing_set})
    write_string_attribute(*set, "units", "mm, LPS x y z of the patch's source cube");
  auto root = out.openGroup("/");
  write_string_attribute(root, "key", key);
  write_string_attribute(root, "vfp_version", std::string(version()));
  write_string_attribute(root, "created", now_iso8601());
  write_string_attribute(root, "provenance", provenance);
  nlohmann::json excluded_json = nlohmann::json::array();
  for (const auto& e : index.excluded)
    excluded_json.push_back({{"subject", e.subject}, {"reason", e.reason}});
  write_string_attribute(root, "excluded", excluded_json.dump());
  // Closed here, not by the destructors: HDF5 writes the chunk cache out when a dataset
  // closes, and a destructor only prints that failure ("H5Dclose failed") and leaves a file
  // that looks whole (a full disk gave a truncated cache).
  for (auto* set : {&ds, &id_set, &vertebra_set, &checksum_set, &origin_set, &spacing_set})
    set->close();
  root.close();
  out.close();
}

CacheWriter::CacheWriter(const std::filesystem::path& file, int channels, int depth, int height,
                         int width, const std::string& dtype, const std::string& key,
                         const std::string& provenance_json, int compression)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.file = file;
  m.tmp = file;
  m.tmp += ".tmp." + std::to_string(::getpid());
  m.key = key;
  m.provenance = provenance_json;
  m.type = stored_type(dtype);
  m.compression = compression;
  if (channels < 1 || depth < 0 || height < 1 || width < 1)
    throw IoError("cannot write cache " + file.string() + ": bad patch shape " +
                  std::to_string(channels) + "x" + std::to_string(depth) + "x" +
                  std::to_string(height) + "x" + std::to_string(width));
  m.patch_dims = {hsize_t(channels)};
  if (depth > 0)
    m.patch_dims.push_back(hsize_t(depth));
  m.patch_dims.insert(m.patch_dims.end(), {hsize_t(height), hsize_t(width)});
  m.index.channels = channels;
  m.index.depth = depth;
  m.index.height = height;
  m.index.width = width;
  m.values = m.index.patch_values();
  m.stored_bytes = m.values * stored_size(m.type);
  m.buffer.resize(m.stored_bytes);
  // Named like every temporary of `file` for the instant before it is unlinked: a process
  // killed in between leaves what remove_stale_temporaries cleans.
  m.raw = ::open(m.tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (m.raw < 0)
    m.fail("cannot create temporary " + m.tmp.string(), errno, 0);
  ::unlink(m.tmp.c_str());
}

CacheWriter::~CacheWriter() = default;

void CacheWriter::append(const std::string& subject_id, int vertebra,
                         const std::array<double, 3>& origin, const std::array<double, 3>& spacing,
                         const float* pixels) {
  auto& m = *impl_;
  VFP_CHECK(!m.committed, "CacheWriter::append after commit");
  if (m.excluded.count(subject_id) > 0)
    throw IoError("cannot write cache " + m.file.string() + ": subject " + subject_id +
                  " is listed as excluded yet has a patch");
  encode_values(pixels, m.values, m.type, m.buffer.data());
  const off_t at = off_t(m.index.size() * m.stored_bytes);
  for (std::size_t put = 0; put < m.stored_bytes;) {
    const auto w = ::pwrite(m.raw, m.buffer.data() + put, m.stored_bytes - put, at + off_t(put));
    if (w < 0 && errno != EINTR)
      m.fail("writing patch " + std::to_string(m.index.size()) + " (subject " + subject_id + ")",
             errno, m.needed() + m.stored_bytes);
    put += w > 0 ? std::size_t(w) : 0;
  }
  m.sums.push_back(checksum64(m.buffer.data(), m.stored_bytes));
  m.index.subject_ids.push_back(subject_id);
  m.index.vertebrae.push_back(vertebra);
  m.index.origin.insert(m.index.origin.end(), origin.begin(), origin.end());
  m.index.spacing.insert(m.index.spacing.end(), spacing.begin(), spacing.end());
  m.with_patches.insert(subject_id);
}

void CacheWriter::exclude(const Exclusion& excluded) {
  auto& m = *impl_;
  if (m.with_patches.count(excluded.subject) > 0)
    throw IoError("cannot write cache " + m.file.string() + ": subject " + excluded.subject +
                  " is listed as excluded (" + excluded.reason + ") yet has patches");
  m.excluded.insert(excluded.subject);
  m.index.excluded.push_back(excluded);
}

void CacheWriter::set_provenance(const std::string& provenance_json) {
  impl_->provenance = provenance_json;
}

std::size_t CacheWriter::size() const {
  return impl_->index.size();
}

void CacheWriter::commit() {
  auto& m = *impl_;
  VFP_CHECK(!m.committed, "CacheWriter::commit called twice");
  const auto needed = m.needed();
  // The temporary's blocks are released as they are copied: what must be free is the rest.
  const std::uint64_t held = m.index.size() * m.stored_bytes;
  if (const auto free = free_bytes(m.file.parent_path());
      m.compression == 0 && free && *free + held < needed)
    throw IoError(no_space_message(m.file, needed, *free));
  try {
    errno = 0; // so that an ENOSPC below is this write's
    const std::lock_guard<std::mutex> lock(hdf5_mutex());
    H5::Exception::dontPrint();
    m.write_hdf5();
  } catch (const H5::Exception& e) {
    // HDF5 says only which call failed ("H5Dcreate2 failed"); a full disk shows in errno (the
    // failed write's) or in the free space left (the temporary removed first: its bytes are
    // not lost space).
    const int error = errno;
    std::error_code ec;
    std::filesystem::remove(m.tmp, ec);
    const auto free = free_bytes(m.file.parent_path());
    if (disk_full(error) || (free && *free < needed))
      throw IoError(no_space_message(m.file, needed, free.value_or(0)));
    throw IoError("cannot write cache " + m.file.string() + " (temporary " + m.tmp.string() +
                  "): " + e.getDetailMsg() +
                  (error != 0 ? std::string(" (") + std::strerror(error) + ")" : std::string()));
  }
  ::close(m.raw);
  m.raw = -1;
  move_into_place(m.tmp, m.file, needed);
  m.committed = true;
}

void write_cache(const std::filesystem::path& file, const PatchSet& patches, const std::string& key,
                 const std::string& provenance_json, int compression) {
  refuse_inconsistent(file, patches);
  const std::uint64_t needed =
      bytes_needed(patches, patches.patch_values() * sizeof(float), provenance_json);
  // Uncompressed, the size is known: refuse before writing a byte rather than fail half way.
  if (const auto free = free_bytes(file.parent_path()); compression == 0 && free && *free < needed)
    throw IoError(no_space_message(file, needed, *free));
  CacheWriter writer(file, patches.channels, patches.depth, patches.height, patches.width,
                     "float32", key, provenance_json, compression);
  for (std::size_t i = 0; i < patches.size(); ++i)
    writer.append(patches.subject_ids[i], patches.vertebrae[i],
                  {patches.origin[3 * i], patches.origin[3 * i + 1], patches.origin[3 * i + 2]},
                  {patches.spacing[3 * i], patches.spacing[3 * i + 1], patches.spacing[3 * i + 2]},
                  patches.patch(i));
  for (const auto& e : patches.excluded)
    writer.exclude(e);
  writer.commit();
}

} // namespace vfp::data
