// Helpers shared by the cache writer (cache_write.cpp), reader
// (cache_reader.cpp) and the storage types (cache_dtype.cpp).
#pragma once

#include <H5Cpp.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace vfp::data {

/// Per-patch checksums: vfp::checksum64 of each patch's stored bytes (for float32 caches the
/// float bytes, as before storage types existed).
inline constexpr const char* kChecksumDataset = "checksum64";

/// How a cache stores its pixel values (preprocess.dtype).
enum class StoredType { kFloat32, kFloat16, kUint16 };

/// The type named by preprocess.dtype ("float32", "float16", "uint16"); IoError otherwise.
StoredType stored_type(const std::string& dtype);
std::string dtype_name(StoredType type);
/// Bytes of one stored value.
std::size_t stored_size(StoredType type);
/// The HDF5 type stored: IEEE float32, float16 (read by h5py as numpy float16) or uint16.
H5::DataType hdf5_file_type(StoredType type);
/// The storage type of a dataset's type, when it is one vfp writes.
std::optional<StoredType> stored_type_of(hid_t dataset_type);

/// Converts `count` values in [0, 1] to their stored form (float16: round to nearest even;
/// uint16: round(v × 65535), clamped to [0, 1] first).
void encode_values(const float* in, std::size_t count, StoredType type, unsigned char* out);
/// Converts stored values back to float (exact for float32).
void decode_values(const unsigned char* in, std::size_t count, StoredType type, float* out);

/// HDF5 is thread-safe only when built so (Debian's is; a cluster's module may not be), and
/// then serialises every call anyway: the cache code holds this lock around its HDF5 calls,
/// whichever the file. Direct reads (pread) take none.
std::mutex& hdf5_mutex();

std::string read_string_attribute(const H5::H5Object& obj, const std::string& name);
void write_string_attribute(H5::H5Object& obj, const std::string& name, const std::string& value);

struct PatchSet;
class CacheReader;

/// The index and every pixel of an open cache, read patch by patch, each verified.
PatchSet read_every_patch(const CacheReader& reader);

/// Bytes available to this user on the file system holding `dir`; none when statvfs fails.
std::optional<std::uint64_t> free_bytes(const std::filesystem::path& dir);
/// What a write that ran out of space says: the file, what it needs and what is free.
std::string no_space_message(const std::filesystem::path& file, std::uint64_t needed,
                             std::uint64_t free);
/// ENOSPC or EDQUOT.
bool disk_full(int error);
/// The temporary synced to disk and renamed to `file`; removed when either fails (a full disk
/// named as such, with `needed`).
void move_into_place(const std::filesystem::path& tmp, const std::filesystem::path& file,
                     std::uint64_t needed);

/// Empty when no subject listed in `patches.excluded` has a patch in it; else names the first
/// such subject, its patch count and the reason it was excluded for.
std::string excluded_subject_with_patches(const PatchSet& patches);

} // namespace vfp::data
