// bench_out_of_core's synthetic archives: smooth noise with a planted blob, written patch by
// patch through data::CacheWriter (out_of_core.h).
#include "out_of_core.h"

#include "data/data.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace vfp::bench::out_of_core {
namespace {

/// Patch p: smooth noise (a random low-frequency cosine along each axis, plus a little
/// per-voxel noise) and, for positive subjects, a bright Gaussian blob near the centre. Built
/// from separable factors so that 40k patches of 64³ take seconds, not minutes.
void make_patch(std::int64_t p, int edge, std::vector<float>& out) {
  std::mt19937_64 rng(0x9E3779B97F4A7C15ULL ^ std::uint64_t(p));
  std::uniform_real_distribution<float> u(0.F, 1.F);
  std::vector<float> wave[3], blob[3];
  for (int a = 0; a < 3; ++a) {
    const float freq = 1 + 2 * u(rng), phase = 6.2832F * u(rng);
    const float centre = float(edge) * (0.4F + 0.2F * u(rng)), sigma = float(edge) * 0.12F;
    for (int i = 0; i < edge; ++i) {
      wave[a].push_back(0.1F * std::cos(6.2832F * freq * float(i) / float(edge) + phase));
      blob[a].push_back(std::exp(-(float(i) - centre) * (float(i) - centre) / (2 * sigma * sigma)));
    }
  }
  const float amplitude = positive(subject_of(p)) ? 0.4F : 0.F;
  std::uint64_t state = rng() | 1;
  std::size_t k = 0;
  for (int z = 0; z < edge; ++z)
    for (int y = 0; y < edge; ++y) {
      const float base = 0.4F + wave[0][size_t(z)] + wave[1][size_t(y)];
      const float zy = amplitude * blob[0][size_t(z)] * blob[1][size_t(y)];
      for (int x = 0; x < edge; ++x) {
        state ^= state << 13; // xorshift: far cheaper than a distribution per voxel
        state ^= state >> 7;
        state ^= state << 17;
        const float noise = float(state >> 40) * (0.04F / 16777216.F) - 0.02F;
        const float v = base + wave[2][size_t(x)] + zy * blob[2][size_t(x)] + noise;
        out[k++] = std::clamp(v, 0.F, 1.F);
      }
    }
}

} // namespace

Written write_archive(const fs::path& file, int count, int edge, const std::string& dtype,
                      const std::string& key) {
  const auto t0 = Clock::now();
  Written w;
  vfp::data::CacheWriter writer(file, 1, edge, edge, edge, dtype, key,
                                R"j({"source":"bench_out_of_core (synthetic)"})j");
  std::vector<float> patch(std::size_t(edge) * edge * edge);
  for (std::int64_t p = 0; p < count; ++p) {
    const auto g0 = Clock::now();
    make_patch(p, edge, patch);
    w.generate_seconds += seconds_since(g0);
    writer.append("s" + std::to_string(subject_of(p)), 20 + int(p % 2), {0, 0, 0}, {1, 1, 1},
                  patch.data());
  }
  writer.commit();
  w.seconds = seconds_since(t0);
  w.gb = double(fs::file_size(file)) / 1e9;
  return w;
}

} // namespace vfp::bench::out_of_core
