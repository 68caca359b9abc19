#include "data/data.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>

namespace vfp::data {

void window_cube(std::vector<float>& cube, const config::PreprocessConfig& p) {
  const float lo = static_cast<float>(p.hu_min), hi = static_cast<float>(p.hu_max);
  const float scale = 1.0F / (hi - lo);
  for (auto& v : cube)
    v = (std::clamp(v, lo, hi) - lo) * scale;
}

std::vector<float> project_cube(const std::vector<float>& cube, int n, const std::string& axis,
                                const config::PreprocessConfig& p) {
  VFP_CHECK(static_cast<size_t>(n) * n * n == cube.size(), "cube size does not match n");
  auto at = [&](int x, int y, int z) { return cube[(static_cast<size_t>(z) * n + y) * n + x]; };
  // Slab of m voxels, centred in the cube unless slab_start says where it begins; "slice"
  // is one voxel plane.
  const int m = p.projection == "slice"
                    ? 1
                    : std::clamp(static_cast<int>(std::lround(p.slab_mm / p.cube_spacing())), 1, n);
  const int first = p.slab_start >= 0 ? p.slab_start : (n - m) / 2;
  if (first + m > n)
    throw InputError("preprocess.slab_start: a slab of " + std::to_string(m) +
                     " slices starting at slice " + std::to_string(first) +
                     " does not fit a cube of " + std::to_string(n) + " slices");
  std::vector<float> out(static_cast<size_t>(n) * n);
  const bool take_max = p.projection == "mip";
  // LPS grid: +x = left, +y = posterior, +z = superior. Row 0 is superior (z = n-1) for
  // sagittal and coronal views, anterior (y = 0) for axial.
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      float acc = 0.0F; // values are in [0, 1], so 0 is a valid start for max too
      for (int s = first; s < first + m; ++s) {
        float v;
        if (axis == "sagittal")
          v = at(s, c, n - 1 - r);
        else if (axis == "coronal")
          v = at(c, s, n - 1 - r);
        else
          v = at(c, r, s);
        acc = take_max ? std::max(acc, v) : acc + v;
      }
      out[static_cast<size_t>(r) * n + c] = take_max ? acc : acc / static_cast<float>(m);
    }
  return out;
}

} // namespace vfp::data
