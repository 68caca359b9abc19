// Private to lib/models: the safetensors header (an 8-byte length, then JSON) read and
// checked without LibTorch, so that the parser can be fuzzed alone (tests/fuzz).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace vfp::models::safetensors {

/// The key of the header's optional metadata object.
inline constexpr const char* kMetadataKey = "__metadata__";

/// "safetensors file '<file>': ", the start of every error message.
std::string where(const std::filesystem::path& file);

/// A dtype vfp reads and writes: its name in the header and its size.
struct Dtype {
  const char* name;
  std::size_t bytes;
};

/// The supported dtypes: F32, F16, BF16, F64, I64, I32, I8, U8, BOOL.
const std::vector<Dtype>& dtypes();

/// The dtype of that name; null when unsupported.
const Dtype* dtype_named(const std::string& name);

/// "F32, F16, ..." for messages.
std::string supported_dtypes();

/// "[2, 3]" for messages; with `separator` ",", the header's own spelling "[2,3]".
std::string shape_text(const std::vector<std::int64_t>& shape, const char* separator = ", ");

// ---- The header ----

struct Entry {
  std::string name;
  const Dtype* dtype = nullptr;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

struct Header {
  std::uint64_t data_start = 0; ///< 8 + header length
  std::uint64_t data_size = 0;
  std::vector<Entry> entries; ///< in file order
  std::map<std::string, std::string> metadata;
};

/// Reads and checks the header of `in` (the whole file, positioned anywhere): length within
/// the file and below 100 MB, JSON syntax, fields, dtypes, sizes matching shapes, offsets
/// inside the data and not overlapping. Throws InputError naming `file`.
Header read_header(const std::filesystem::path& file, std::istream& in);

} // namespace vfp::models::safetensors
