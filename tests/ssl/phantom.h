// Test fixture for tests/ssl: smooth-noise patches.
#pragma once

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace vfp::ssl::test {

/// n patches [n, 1, (depth,) size, size] of smooth noise in [0, 1] (white noise smoothed
/// twice by a 5-wide box), as a flat buffer.
inline std::vector<float> smooth_noise(int n, int depth, int size, std::uint64_t seed) {
  namespace F = torch::nn::functional;
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<std::int64_t> shape{n, 1};
  if (depth > 0)
    shape.push_back(depth);
  shape.insert(shape.end(), {size, size});
  auto x = torch::randn(shape, gen, torch::kFloat);
  for (int pass = 0; pass < 2; ++pass)
    x = depth > 0 ? F::avg_pool3d(x, F::AvgPool3dFuncOptions(5).stride(1).padding(2))
                  : F::avg_pool2d(x, F::AvgPool2dFuncOptions(5).stride(1).padding(2));
  x = (0.4 + 0.1 * x / x.std()).clamp(0.0, 1.0).contiguous(); // mean 0.4, SD 0.1
  return {x.data_ptr<float>(), x.data_ptr<float>() + x.numel()};
}

} // namespace vfp::ssl::test
