#include "loader/loader.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace vfp::loader {
namespace {

constexpr double kPi = 3.14159265358979323846;

/// Linear interpolation along one axis with clamped (edge) indices.
struct Tap {
  int lo, hi;
  float w; // weight of hi
};
Tap tap(double coordinate, int size) {
  const double c = std::clamp(coordinate, 0.0, double(size - 1));
  const int lo = std::min(int(c), size - 1);
  return {lo, std::min(lo + 1, size - 1), float(c - lo)};
}

void warp_2d(const float* src, float* dst, const Shape& s, double angle, double zoom) {
  const double cy = (s.height - 1) / 2.0, cx = (s.width - 1) / 2.0;
  const double cs = std::cos(angle) / zoom, sn = std::sin(angle) / zoom;
  for (int ch = 0; ch < s.channels; ++ch) {
    const float* in = src + ch * s.plane();
    float* out = dst + ch * s.plane();
    for (int r = 0; r < s.height; ++r)
      for (int c = 0; c < s.width; ++c) {
        // Inverse map: the source point that lands on (r, c).
        const double u = c - cx, v = r - cy;
        const Tap x = tap(cx + cs * u + sn * v, s.width), y = tap(cy - sn * u + cs * v, s.height);
        const float top = in[y.lo * s.width + x.lo] * (1 - x.w) + in[y.lo * s.width + x.hi] * x.w;
        const float bottom =
            in[y.hi * s.width + x.lo] * (1 - x.w) + in[y.hi * s.width + x.hi] * x.w;
        out[r * s.width + c] = top * (1 - y.w) + bottom * y.w;
      }
  }
}

using Matrix = double[3][3];

void rotation(const double angles[3], Matrix out) {
  // R = Rd · Rh · Rw, each a rotation in the plane of the two other axes (axes: d, h, w).
  Matrix m = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  for (int axis = 0; axis < 3; ++axis) {
    const int a = (axis + 1) % 3, b = (axis + 2) % 3;
    const double c = std::cos(angles[axis]), s = std::sin(angles[axis]);
    Matrix r = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    r[axis][axis] = 1;
    r[a][a] = c;
    r[a][b] = -s;
    r[b][a] = s;
    r[b][b] = c;
    Matrix next;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        next[i][j] = m[i][0] * r[0][j] + m[i][1] * r[1][j] + m[i][2] * r[2][j];
    std::memcpy(m, next, sizeof(m));
  }
  std::memcpy(out, m, sizeof(m));
}

void warp_3d(const float* src, float* dst, const Shape& s, const double angles[3], double zoom) {
  Matrix r;
  rotation(angles, r);
  // Inverse map: source = centre + R · (target − centre) / zoom (as the 2D map, per plane).
  const int size[3] = {s.depth, s.height, s.width};
  const double centre[3] = {(s.depth - 1) / 2.0, (s.height - 1) / 2.0, (s.width - 1) / 2.0};
  for (int ch = 0; ch < s.channels; ++ch) {
    const float* in = src + ch * s.channel_values();
    float* out = dst + ch * s.channel_values();
    auto at = [&](int d, int h, int w) {
      return in[(std::int64_t(d) * s.height + h) * s.width + w];
    };
    for (int d = 0; d < s.depth; ++d)
      for (int h = 0; h < s.height; ++h)
        for (int w = 0; w < s.width; ++w) {
          const double t[3] = {d - centre[0], h - centre[1], w - centre[2]};
          Tap k[3];
          for (int i = 0; i < 3; ++i)
            k[i] =
                tap(centre[i] + (r[i][0] * t[0] + r[i][1] * t[1] + r[i][2] * t[2]) / zoom, size[i]);
          float v = 0;
          for (int corner = 0; corner < 8; ++corner) {
            const bool bd = corner & 4, bh = corner & 2, bw = corner & 1;
            const float weight = (bd ? k[0].w : 1 - k[0].w) * (bh ? k[1].w : 1 - k[1].w) *
                                 (bw ? k[2].w : 1 - k[2].w);
            if (weight != 0)
              v += weight *
                   at(bd ? k[0].hi : k[0].lo, bh ? k[1].hi : k[1].lo, bw ? k[2].hi : k[2].lo);
          }
          out[(std::int64_t(d) * s.height + h) * s.width + w] = v;
        }
  }
}

void mirror_width(float* data, const Shape& s) {
  const std::int64_t rows = s.values() / s.width;
  for (std::int64_t r = 0; r < rows; ++r)
    std::reverse(data + r * s.width, data + (r + 1) * s.width);
}

} // namespace

void warp_patch(const float* src, float* dst, const Shape& shape, const double angles[3],
                double zoom) {
  VFP_CHECK(zoom > 0, "zoom must be positive");
  if (shape.is_3d())
    warp_3d(src, dst, shape, angles, zoom);
  else
    warp_2d(src, dst, shape, angles[0], zoom);
}

void augment_patch(const float* src, float* dst, const Shape& shape, const AugmentOptions& o,
                   std::uint64_t seed) {
  const auto n = shape.values();
  if (!o.enabled) {
    std::copy_n(src, n, dst);
    return;
  }
  // A fixed sequence of draws, so that a seed always means the same augmentation.
  std::mt19937_64 rng(mix_seed(seed));
  std::uniform_real_distribution<double> sym(-1.0, 1.0), unit(0.0, 1.0);
  const bool flip = unit(rng) < o.flip;
  double angles[3] = {0, 0, 0};
  for (auto& a : angles)
    a = sym(rng) * o.rotate_deg * kPi / 180.0;
  if (!shape.is_3d())
    angles[1] = angles[2] = 0;
  const double zoom = 1.0 + sym(rng) * o.scale;
  const float gain = float(1.0 + sym(rng) * o.intensity_scale);
  const float shift = float(sym(rng) * o.intensity_shift);

  if (o.rotate_deg > 0 || o.scale > 0)
    warp_patch(src, dst, shape, angles, zoom);
  else
    std::copy_n(src, n, dst);
  if (flip)
    mirror_width(dst, shape);
  if (o.noise_std > 0) {
    std::normal_distribution<float> noise(0.0F, float(o.noise_std));
    for (std::int64_t i = 0; i < n; ++i)
      dst[i] = dst[i] * gain + shift + noise(rng);
  } else {
    for (std::int64_t i = 0; i < n; ++i)
      dst[i] = dst[i] * gain + shift;
  }
}

} // namespace vfp::loader
