// Helpers shared by the cache writer (cache_write.cpp) and reader (cache_reader.cpp).
#pragma once

#include <H5Cpp.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace vfp::data {

/// Per-patch checksums: vfp::checksum64 of each patch's float bytes.
inline constexpr const char* kChecksumDataset = "checksum64";

/// checksum64 of a patch's float bytes.
std::uint64_t patch_checksum(const float* data, std::size_t count);

std::string read_string_attribute(const H5::H5Object& obj, const std::string& name);

struct PatchSet;

/// Empty when no subject listed in `patches.excluded` has a patch in it; else names the first
/// such subject, its patch count and the reason it was excluded for.
std::string excluded_subject_with_patches(const PatchSet& patches);

} // namespace vfp::data
