// Where the raw voxels of an uncompressed MetaImage or NRRD file lie, from its text header:
// what a file cut short is measured against.
#include "data/image_checks.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace vfp::data {
namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

fs::path beside(const fs::path& header, const std::string& name) {
  const fs::path p(name);
  return p.is_absolute() ? p : header.parent_path() / p;
}

/// MetaImage: `Key = Value` lines; ElementDataFile is the last, and LOCAL data follow it.
std::optional<RawLayout> metaimage_layout(const fs::path& path, const std::string& head) {
  long long header_size = 0;
  for (std::size_t at = 0; at < head.size();) {
    const auto end = head.find('\n', at);
    if (end == std::string::npos)
      return std::nullopt; // a header longer than the head: leave it to ITK
    const auto line = head.substr(at, end - at);
    at = end + 1;
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    const auto key = lower(trim(line.substr(0, eq)));
    const auto value = trim(line.substr(eq + 1));
    if ((key == "compresseddata" && lower(value).rfind("true", 0) == 0))
      return std::nullopt;
    if (key == "headersize")
      header_size = std::strtoll(value.c_str(), nullptr, 10);
    if (key != "elementdatafile")
      continue;
    if (value == "LOCAL")
      return RawLayout{path, at + std::uint64_t(std::max(0LL, header_size))};
    if (value == "LIST" || value.find_first_of("% \t") != std::string::npos)
      return std::nullopt; // one file per slice
    // HeaderSize -1: the voxels are the file's last bytes; the file must still hold them all.
    return RawLayout{beside(path, value), std::uint64_t(std::max(0LL, header_size))};
  }
  return std::nullopt;
}

/// NRRD: `field: value` lines up to a blank line; attached raw data follow the blank line.
std::optional<RawLayout> nrrd_layout(const fs::path& path, const std::string& head) {
  if (head.rfind("NRRD000", 0) != 0)
    return std::nullopt;
  std::optional<fs::path> data_file;
  long long byte_skip = 0;
  for (std::size_t at = 0; at < head.size();) {
    const auto end = head.find('\n', at);
    if (end == std::string::npos)
      return std::nullopt;
    const auto line = trim(head.substr(at, end - at));
    at = end + 1;
    if (line.empty()) { // the end of the header
      const auto offset = std::uint64_t(std::max(0LL, byte_skip));
      return data_file ? RawLayout{*data_file, offset} : RawLayout{path, at + offset};
    }
    const auto colon = line.find(':');
    if (line[0] == '#' || colon == std::string::npos)
      continue;
    const auto key = lower(trim(line.substr(0, colon)));
    const auto value = trim(line.substr(colon + 1));
    if (key == "encoding" && value != "raw")
      return std::nullopt;
    if ((key == "line skip" || key == "lineskip") && value != "0")
      return std::nullopt;
    if (key == "byte skip" || key == "byteskip") // -1: the voxels are the file's last bytes
      byte_skip = std::strtoll(value.c_str(), nullptr, 10);
    if (key == "data file" || key == "datafile") {
      if (value.rfind("LIST", 0) == 0 || value.find(' ') != std::string::npos)
        return std::nullopt; // one file per slice
      data_file = beside(path, value);
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<RawLayout> raw_layout(const fs::path& path, const std::string& head) {
  const auto ext = lower(path.extension().string());
  if (ext == ".mha" || ext == ".mhd")
    return metaimage_layout(path, head);
  if (ext == ".nrrd" || ext == ".nhdr")
    return nrrd_layout(path, head);
  return std::nullopt;
}

} // namespace vfp::data
