#include "inference/pictures.h"

#include "core/core.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace vfp::inference {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += char((v >> shift) & 0xFFU);
}

/// A PNG chunk: length, type, data, CRC-32 of type and data (zlib's crc32 is PNG's).
void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, std::uint32_t(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out,
          std::uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

} // namespace

std::uint8_t grey_level(float v) {
  return std::uint8_t(std::lround(255.0 * std::clamp(v, 0.0F, 1.0F)));
}

std::vector<PatchPlane> patch_planes(const data::PatchSet& set, std::size_t k,
                                     const config::PreprocessConfig& params) {
  std::vector<PatchPlane> out;
  const float* patch = set.patch(k);
  if (set.depth > 0) {
    // A 3D cube: its central slice, through project_cube so that the orientation is the one
    // documented for the 2D projections.
    auto slice = params;
    slice.projection = "slice";
    slice.slab_start = -1;
    const int n = set.depth;
    VFP_CHECK(set.height == n && set.width == n && set.channels == 1,
              "3D patches are single-channel cubes");
    std::vector<float> cube(patch, patch + std::size_t(n) * n * n);
    out.push_back({"", n, n, data::project_cube(cube, n, params.axis, slice)});
    return out;
  }
  const auto plane = std::size_t(set.height) * set.width;
  for (int c = 0; c < set.channels; ++c) {
    PatchPlane p;
    if (set.channels > 1)
      p.suffix = "_" + (std::size_t(c) < params.channels.size() ? params.channels[std::size_t(c)]
                                                                : "c" + std::to_string(c));
    p.height = set.height;
    p.width = set.width;
    p.values.assign(patch + c * plane, patch + (c + 1) * plane);
    out.push_back(std::move(p));
  }
  return out;
}

void write_png(const std::filesystem::path& file, const PatchPlane& plane) {
  // Each scanline: filter type 0 (none), then one byte per pixel.
  std::string raw;
  raw.reserve(std::size_t(plane.height) * (plane.width + 1));
  for (int y = 0; y < plane.height; ++y) {
    raw += '\0';
    for (int x = 0; x < plane.width; ++x)
      raw += char(grey_level(plane.values[std::size_t(y) * plane.width + x]));
  }
  uLongf packed_size = compressBound(uLong(raw.size()));
  std::string packed(packed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()),
                Z_BEST_COMPRESSION) != Z_OK)
    throw IoError("cannot compress the picture " + file.string());
  packed.resize(packed_size);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string header;
  put_u32(header, std::uint32_t(plane.width));
  put_u32(header, std::uint32_t(plane.height));
  header += std::string("\x08\x00\x00\x00\x00", 5); // 8 bits, greyscale, deflate, no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", packed);
  put_chunk(png, "IEND", "");
  write_file_atomically(file, png);
}

void write_svg(const std::filesystem::path& file, const PatchPlane& plane) {
  std::ostringstream s;
  const int px = 8;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << plane.width * px << "\" height=\""
    << plane.height * px << "\" shape-rendering=\"crispEdges\">\n";
  for (int y = 0; y < plane.height; ++y)
    for (int x = 0; x < plane.width; ++x) {
      const int g = grey_level(plane.values[std::size_t(y) * plane.width + x]);
      s << "<rect x=\"" << x * px << "\" y=\"" << y * px << "\" width=\"" << px << "\" height=\""
        << px << "\" fill=\"rgb(" << g << "," << g << "," << g << ")\"/>\n";
    }
  s << "</svg>\n";
  write_file_atomically(file, s.str());
}

} // namespace vfp::inference
