// Weight files the bad-input corpus makes instead of committing them (corpus.h: bad_bytes):
// torch.save zip archives written byte by byte, without LibTorch, so that parsers_test.cpp
// (the asan build) compiles with them too.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vfp::bad_input {

inline std::uint32_t crc32(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const unsigned char b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline std::string little_endian(std::uint64_t n, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i, n >>= 8)
    out += char(n & 0xFF);
  return out;
}

/// A zip archive of stored (uncompressed) records, as torch.save writes them: every name
/// under one folder ("archive/data.pkl", "archive/version").
inline std::string zip_archive(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string out, directory;
  for (const auto& [name, data] : records) {
    const auto sizes = little_endian(crc32(data), 4) + little_endian(data.size(), 4) +
                       little_endian(data.size(), 4) + little_endian(name.size(), 2) +
                       little_endian(0, 2); // extra field length
    const auto offset = out.size();
    // local header: signature, version needed 2.0, flags, method 0 (stored), time, date
    out += little_endian(0x04034b50, 4) + little_endian(20, 2) + little_endian(0, 6) +
           little_endian(0x21, 2) + sizes + name + data;
    // central directory entry: made by and needed 2.0, the same fields, then comment length,
    // disk, internal and external attributes (all 0) and the local header's offset
    directory += little_endian(0x02014b50, 4) + little_endian(20, 2) + little_endian(20, 2) +
                 little_endian(0, 6) + little_endian(0x21, 2) + sizes + little_endian(0, 10) +
                 little_endian(offset, 4) + name;
  }
  const auto at = out.size();
  out += directory;
  out += little_endian(0x06054b50, 4) + little_endian(0, 4) + little_endian(records.size(), 2) +
         little_endian(records.size(), 2) + little_endian(directory.size(), 4) +
         little_endian(at, 4) + little_endian(0, 2);
  return out;
}

/// A torch.save archive whose pickle is N EMPTY_LISTs then N - 1 APPENDs: N lists each in
/// the next (what once crashed vfp when the parsed tree was freed, at N = 10⁶).
inline std::string nested_pickle_archive(std::size_t levels) {
  const std::string pickle =
      std::string("\x80\x02") + std::string(levels, ']') + std::string(levels - 1, 'a') + ".";
  return zip_archive({{"archive/data.pkl", pickle}, {"archive/version", "3\n"}});
}

/// The weight files made from nothing: nested-pickle:N. False for any other `make`.
inline bool make_weight_file(const std::string& make, std::string& bytes) {
  if (make.rfind("nested-pickle:", 0) != 0)
    return false;
  bytes = nested_pickle_archive(std::stoul(make.substr(14)));
  return true;
}

} // namespace vfp::bad_input
