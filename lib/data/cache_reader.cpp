#include "data/data.h"

#include "core/core.h"
#include "data/cache_internal.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

namespace vfp::data {

struct CacheReader::Impl {
  std::filesystem::path file;
  H5::H5File h5;
  H5::DataSet patches;
  H5::DataSpace space;
  std::vector<hsize_t> dims;
  StoredType type = StoredType::kFloat32;
  std::size_t patch_bytes = 0; ///< stored bytes of one patch
  // Uncompressed, one chunk per patch: a direct chunk read hands over the stored bytes,
  // skipping selections and type conversion.
  bool direct = false;
  PatchSet index;
  std::vector<std::uint64_t> sums;
  // When the chunks lie back to back (as CacheWriter allocates them), patch i is read with
  // pread at `base + i * patch_bytes`: no library call and no lock, and unlike a memory map
  // it does not add the file's pages to this process's resident set (the page cache is
  // still the one copy shared by every process on the node). Every read is still checked
  // against its checksum, and a mismatch retries through HDF5.
  int fd = -1;
  std::size_t base = 0;

  ~Impl() {
    if (fd >= 0)
      ::close(fd);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw CacheError("cache " + file.string() + ": " + what);
  }

  // A dataset's dataspace is data from the file, not a promise: it must hold exactly
  // `expected` elements before a buffer of that size is read into (HDF5 reads the whole
  // file dataspace, so a longer one would write past the buffer).
  H5::DataSet checked_dataset(const std::string& name, hsize_t expected) const {
    if (!h5.nameExists(name))
      fail("has no '" + name + "' dataset");
    auto set = h5.openDataSet(name);
    const auto points = set.getSpace().getSimpleExtentNpoints();
    if (points < 0 || hsize_t(points) != expected)
      fail("'" + name + "' has " + std::to_string(points) + " values, expected " +
           std::to_string(expected) + " for " + std::to_string(dims[0]) + " patches");
    return set;
  }

  // Limits on what the 'patches' dataspace may declare, checked before anything is sized from
  // it: each side and the channel count within what a config can ask for, the patch count
  // within what the file can hold (vfp stores an 8-byte checksum per patch uncompressed), and
  // the pixel bytes within what deflate (at most 1032:1) can have made of the stored bytes.
  void check_declared_sizes(std::uint64_t file_bytes) const {
    constexpr hsize_t kMaxChannels = 64, kMaxSide = 4096;
    for (std::size_t d = 1; d < dims.size(); ++d)
      if (dims[d] == 0 || dims[d] > (d == 1 ? kMaxChannels : kMaxSide))
        fail("'patches' declares " + std::string(d == 1 ? "channels" : "a side") + " of " +
             std::to_string(dims[d]) + " (at most " +
             std::to_string(d == 1 ? kMaxChannels : kMaxSide) + ")");
    if (dims[0] > file_bytes / sizeof(std::uint64_t))
      fail("'patches' declares " + std::to_string(dims[0]) + " patches, more than a file of " +
           std::to_string(file_bytes) + " bytes can hold");
    hsize_t values = 1;
    for (std::size_t d = 1; d < dims.size(); ++d)
      values *= dims[d]; // at most 64 * 4096^3 = 2^42: no overflow
    const auto stored = std::min<std::uint64_t>(patches.getStorageSize(), file_bytes);
    const long double raw = static_cast<long double>(dims[0]) * values * stored_size(type);
    if (raw > 1100.0L * stored + 65536.0L)
      fail("'patches' declares " + std::to_string(dims[0]) + " patches of " +
           std::to_string(values) + " values, more than its " + std::to_string(stored) +
           " stored bytes can hold");
  }

  bool direct_reads_possible(int rank) const {
    const auto props = patches.getCreatePlist();
    if (props.getLayout() != H5D_CHUNKED || props.getNfilters() != 0)
      return false;
    std::vector<hsize_t> chunk(dims.size());
    props.getChunk(rank, chunk.data());
    return chunk[0] == 1 && std::equal(chunk.begin() + 1, chunk.end(), dims.begin() + 1);
  }

  // Opens the file for direct reads when the chunk addresses of a sample of patches (first,
  // last and a spread between) follow base + i * patch_bytes and the last one ends inside it.
  void open_if_back_to_back() {
    const hsize_t n = dims[0];
    auto address_of = [&](hsize_t i, haddr_t& address) {
      std::vector<hsize_t> offset(dims.size(), 0);
      offset[0] = i;
      unsigned mask = 0;
      hsize_t size = 0;
      return H5Dget_chunk_info_by_coord(patches.getId(), offset.data(), &mask, &address, &size) >=
                 0 &&
             mask == 0 && size == patch_bytes && address != HADDR_UNDEF;
    };
    haddr_t first = 0;
    if (!address_of(0, first))
      return;
    for (hsize_t step = 0; step <= 8; ++step) {
      const hsize_t i = (n - 1) * step / 8;
      haddr_t address = 0;
      if (!address_of(i, address) || address != first + i * patch_bytes)
        return;
    }
    const int f = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0)
      return;
    struct stat st {};
    if (::fstat(f, &st) == 0 && first + n * patch_bytes <= std::size_t(st.st_size)) {
      fd = f;
      base = first;
    } else {
      ::close(f);
    }
  }

  // Patch i's stored bytes by offset; false when the file ends early or a read fails (the
  // caller then goes through HDF5, which names the problem).
  bool read_direct(std::size_t i, unsigned char* out) const {
    const off_t at = off_t(base + i * patch_bytes);
    for (std::size_t got = 0; got < patch_bytes;) {
      const auto r = ::pread(fd, out + got, patch_bytes - got, at + off_t(got));
      if (r == 0 || (r < 0 && errno != EINTR))
        return false;
      got += r > 0 ? std::size_t(r) : 0;
    }
    return true;
  }

  // Patch i's stored bytes through HDF5, under the process-wide HDF5 lock.
  void read_through_hdf5(std::size_t i, unsigned char* out) const {
    const std::lock_guard<std::mutex> lock(hdf5_mutex());
    try {
      if (direct) {
        std::vector<hsize_t> offset(dims.size(), 0);
        offset[0] = i;
        std::uint32_t filters = 0;
        if (H5Dread_chunk(patches.getId(), H5P_DEFAULT, offset.data(), &filters, out) < 0)
          fail("cannot read patch " + std::to_string(i));
      } else {
        std::vector<hsize_t> start(dims.size(), 0), count = dims;
        start[0] = i;
        count[0] = 1;
        H5::DataSpace file_space = space;
        file_space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
        H5::DataSpace memory(int(count.size()), count.data());
        patches.read(out, hdf5_file_type(type), memory, file_space); // stored bytes as they are
      }
    } catch (const H5::Exception& e) {
      fail("patch " + std::to_string(i) + " is unreadable: " + e.getDetailMsg());
    }
  }

  bool intact(std::size_t i, const unsigned char* stored) const {
    return checksum64(stored, patch_bytes) == sums[i];
  }
};

CacheReader::CacheReader(const std::filesystem::path& file, const std::string& expected_key)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.file = file;
  const std::lock_guard<std::mutex> lock(hdf5_mutex());
  try {
    H5::Exception::dontPrint();
    m.h5.openFile(file.string(), H5F_ACC_RDONLY);
    const auto root = m.h5.openGroup("/");
    const auto key = read_string_attribute(root, "key");
    if (key != expected_key)
      m.fail("holds key " + key + ", expected " + expected_key);
    m.patches = m.h5.openDataSet("patches");
    m.space = m.patches.getSpace();
    const int rank = m.space.getSimpleExtentNdims();
    if (rank != 4 && rank != 5)
      m.fail("'patches' has " + std::to_string(rank) +
             " dimensions, expected [N, C, H, W] or [N, C, D, H, W]");
    m.dims.resize(static_cast<size_t>(rank));
    m.space.getSimpleExtentDims(m.dims.data());
    const auto stored = stored_type_of(m.patches.getDataType().getId());
    if (!stored)
      m.fail("'patches' holds values of a type vfp does not write (float32, float16, uint16)");
    m.type = *stored;
    m.check_declared_sizes(std::filesystem::file_size(file));
    auto& out = m.index;
    out.channels = static_cast<int>(m.dims[1]);
    out.depth = rank == 5 ? static_cast<int>(m.dims[2]) : 0;
    out.height = static_cast<int>(m.dims[size_t(rank) - 2]);
    out.width = static_cast<int>(m.dims[size_t(rank) - 1]);
    if (root.attrExists("excluded"))
      for (const auto& e : nlohmann::json::parse(read_string_attribute(root, "excluded")))
        out.excluded.push_back(
            {e.at("subject").get<std::string>(), e.at("reason").get<std::string>()});
    const hsize_t n = m.dims[0];
    if (n == 0) // an empty shard
      return;

    m.direct = m.direct_reads_possible(rank);

    auto id_set = m.checked_dataset("subject_id", n);
    const hsize_t n_ids = n;
    H5::StrType vls(H5::PredType::C_S1, H5T_VARIABLE);
    std::vector<char*> ids(n_ids);
    id_set.read(ids.data(), vls);
    for (auto* id : ids)
      out.subject_ids.emplace_back(id ? id : "");
    H5::DataSet::vlenReclaim(ids.data(), vls, id_set.getSpace());
    // An older vfp kept the patches a subject made before a later vertebra failed, while
    // listing the subject as excluded: such a cache is stale, not something to train on.
    if (const auto problem = excluded_subject_with_patches(out); !problem.empty())
      m.fail(problem + " (a cache written by an older vfp)");
    auto vertebra_set = m.checked_dataset("vertebra", n_ids);
    out.vertebrae.resize(n_ids);
    vertebra_set.read(out.vertebrae.data(), H5::PredType::NATIVE_INT32);
    if (!m.h5.nameExists(kChecksumDataset))
      m.fail(std::string("has no '") + kChecksumDataset +
             "' dataset: written by an older vfp; rebuild it (vfp cache gc removes it)");
    auto checksum_set = m.checked_dataset(kChecksumDataset, n_ids);
    m.sums.resize(n_ids);
    checksum_set.read(m.sums.data(), H5::PredType::NATIVE_UINT64);
    if (!m.h5.nameExists("origin") || !m.h5.nameExists("spacing"))
      m.fail("has no 'origin'/'spacing' datasets: written by an older vfp; rebuild it");
    auto origin_set = m.checked_dataset("origin", 3 * n_ids);
    auto spacing_set = m.checked_dataset("spacing", 3 * n_ids);
    out.origin.resize(3 * n_ids);
    out.spacing.resize(3 * n_ids);
    origin_set.read(out.origin.data(), H5::PredType::NATIVE_DOUBLE);
    spacing_set.read(out.spacing.data(), H5::PredType::NATIVE_DOUBLE);
    m.patch_bytes = out.patch_values() * stored_size(m.type);
    if (m.direct)
      m.open_if_back_to_back();
  } catch (const H5::Exception& e) {
    throw CacheError("cache " + file.string() + " is unreadable: " + e.getDetailMsg());
  } catch (const nlohmann::json::exception& e) { // the 'excluded' attribute
    throw CacheError("cache " + file.string() + ": attribute 'excluded' is not valid: " + e.what());
  }
}

CacheReader::~CacheReader() {
  const std::lock_guard<std::mutex> lock(hdf5_mutex()); // closing calls HDF5 too
  impl_.reset();
}

const PatchSet& CacheReader::index() const {
  return impl_->index;
}

void CacheReader::read(std::size_t i, float* out) const {
  const auto& m = *impl_;
  if (i >= m.index.size())
    m.fail("patch " + std::to_string(i) + " requested of " + std::to_string(m.index.size()));
  // float32 lands in `out` as stored; other types go through a per-thread buffer (no
  // allocation per read once it has grown).
  thread_local std::vector<unsigned char> scratch;
  unsigned char* stored = reinterpret_cast<unsigned char*>(out);
  if (m.type != StoredType::kFloat32) {
    scratch.resize(m.patch_bytes);
    stored = scratch.data();
  }
  if (m.fd < 0 || !m.read_direct(i, stored) || !m.intact(i, stored)) {
    m.read_through_hdf5(i, stored);
    if (!m.intact(i, stored))
      m.fail("checksum mismatch in patch " + std::to_string(i) + " (subject " +
             m.index.subject_ids[i] + ")");
  }
  if (m.type != StoredType::kFloat32)
    decode_values(stored, m.index.patch_values(), m.type, out);
}

bool CacheReader::mapped() const {
  return impl_->fd >= 0;
}

std::string CacheReader::dtype() const {
  return dtype_name(impl_->type);
}

std::size_t CacheReader::stored_patch_bytes() const {
  return impl_->patch_bytes;
}

PatchSet read_cache(const std::filesystem::path& file, const std::string& expected_key) {
  return read_every_patch(CacheReader(file, expected_key));
}

PatchSet read_every_patch(const CacheReader& reader) {
  PatchSet out = reader.index();
  out.pixels.resize(out.size() * out.patch_values());
  // Patch by patch: HDF5 1.10 reads a whole chunked dataset several times slower than
  // it reads its chunks one at a time, and each patch is verified as it lands.
  for (size_t i = 0; i < out.size(); ++i)
    reader.read(i, out.pixels.data() + i * out.patch_values());
  return out;
}

std::uint64_t CacheReader::checksum(std::size_t i) const {
  return impl_->sums.at(i);
}

std::string verify_cache(const CacheEntry& entry,
                         const std::function<void(std::size_t)>& on_patch) {
  if (!entry.problem.empty())
    return entry.problem;
  try {
    CacheReader reader(entry.file, entry.key);
    std::vector<float> patch(reader.index().patch_values());
    for (std::size_t i = 0; i < reader.index().size(); ++i) {
      reader.read(i, patch.data());
      if (on_patch)
        on_patch(i + 1);
    }
  } catch (const CacheError& e) {
    return e.what();
  }
  return "";
}

} // namespace vfp::data
