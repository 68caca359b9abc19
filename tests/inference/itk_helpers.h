// ITK for the inference tests: an independent PNG decoder (to check vfp's zlib encoder) and
// label maps written beside a CT (to feed predict a third centroid format).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

namespace vfp::inference_test {

/// An 8-bit greyscale PNG read through ITK's PNG ImageIO: row-major pixels.
struct GreyPicture {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};
GreyPicture read_png(const std::filesystem::path& file);

/// Writes a label map on the grid of the CT `ct`: for each label, the 3×3×3 voxel block
/// around the voxel nearest its LPS point `centres[label]`. Returns each label's block centre
/// in LPS (the centroid predict should compute from the map).
std::map<int, std::array<double, 3>>
write_label_map(const std::filesystem::path& ct, const std::filesystem::path& out,
                const std::map<int, std::array<double, 3>>& centres);

} // namespace vfp::inference_test
