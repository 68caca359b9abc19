#include "data/data.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>

namespace vfp::data {

std::vector<float> project_cube(const std::vector<float>& cube, int n,
                                const config::PreprocessConfig& p, int& height, int& width) {
  VFP_CHECK(static_cast<size_t>(n) * n * n == cube.size(), "cube size does not match n");
  const float lo = static_cast<float>(p.hu_min);
  const float scale = 1.0F / static_cast<float>(p.hu_max - p.hu_min);
  auto at = [&](int x, int y, int z) {
    float hu = cube[(static_cast<size_t>(z) * n + y) * n + x];
    return (std::clamp(hu, lo, static_cast<float>(p.hu_max)) - lo) * scale;
  };
  // Slab of m voxels centred in the cube; "slice" is the one central voxel plane.
  int m = p.projection == "slice"
              ? 1
              : std::clamp(static_cast<int>(std::lround(p.slab_mm / p.spacing_mm)), 1, n);
  const int first = (n - m) / 2;
  height = width = n;
  std::vector<float> out(static_cast<size_t>(n) * n);
  const bool take_max = p.projection == "mip";
  // LPS grid: +x = left, +y = posterior, +z = superior. Row 0 is superior (z = n-1) for
  // sagittal and coronal views, anterior (y = 0) for axial.
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      float acc = 0.0F; // values are in [0, 1], so 0 is a valid start for max too
      for (int s = first; s < first + m; ++s) {
        float v;
        if (p.axis == "sagittal")
          v = at(s, c, n - 1 - r);
        else if (p.axis == "coronal")
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
