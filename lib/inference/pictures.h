// Private to lib/inference: pictures of the patches the models saw (PNG through zlib, SVG),
// with one 8-bit mapping for both. No torch, no ITK: the PNG encoder is a few lines over zlib.
#pragma once

#include "config/config.h"
#include "data/data.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::inference {

/// One grey picture of a patch: row-major values in [0, 1], and the file name suffix that
/// tells it apart from the patch's other pictures ("" or "_<axis>").
struct PatchPlane {
  std::string suffix;
  int height = 0, width = 0;
  std::vector<float> values;
};

/// The pictures of patch `k` of `set`: each channel of a 2D patch (suffix "_<axis>" when there
/// are several), or the central slice of a 3D cube along params.axis, oriented as the 2D
/// projections are (superior side up; axial: anterior up).
std::vector<PatchPlane> patch_planes(const data::PatchSet& set, std::size_t k,
                                     const config::PreprocessConfig& params);

/// The documented 8-bit mapping: round(255 · clamp(v, 0, 1)).
std::uint8_t grey_level(float v);

/// Writes an 8-bit greyscale PNG (one pixel per patch pixel), atomically.
void write_png(const std::filesystem::path& file, const PatchPlane& plane);

/// Writes a grey-level SVG (one 8×8 square per patch pixel), atomically.
void write_svg(const std::filesystem::path& file, const PatchPlane& plane);

} // namespace vfp::inference
