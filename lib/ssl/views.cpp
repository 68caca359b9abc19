#include "ssl/byol_parts.h"

#include <cmath>

namespace vfp::ssl::detail {
namespace {

namespace F = torch::nn::functional;

constexpr double kMaxLogAspect = 0.28768207245178085; // log(4/3)
constexpr double kSigmaMin = 0.1, kSigmaMax = 1.5;    // blur, in pixels
constexpr std::int64_t kBlurRadius = 3;               // 2σ_max: the kernel has 7 taps

/// Crop extents and centres (normalised coordinates, axes in affine_grid's order x, y, z) and
/// flips as affine_grid's theta [N, d, d + 1], from uniforms u [N, 1 + 3d].
torch::Tensor crop_theta(const torch::Tensor& u, std::int64_t d, const ByolOptions& o) {
  using torch::indexing::Slice;
  const auto area = o.ssl.crop_min_scale + (1.0 - o.ssl.crop_min_scale) * u.select(1, 0);
  // Aspect: log-extents drawn per axis and centred, so that their product is the area.
  auto log_aspect = (u.index({Slice(), Slice(1, 1 + d)}) * 2 - 1) * (kMaxLogAspect / 2);
  log_aspect = log_aspect - log_aspect.mean(1, /*keepdim=*/true);
  // No extent may pass the patch's: shrink the aspect (not the area) where it would, so that
  // a crop of area 1 is the whole patch.
  const auto headroom = -area.log() / double(d);
  const auto peak = std::get<0>(log_aspect.max(1)).clamp_min(1e-12);
  log_aspect = log_aspect * (headroom / peak).clamp_max(1.0).unsqueeze(1);
  auto extent = (area.pow(1.0 / double(d)).unsqueeze(1) * log_aspect.exp()).clamp_max(1.0);
  auto centre = (u.index({Slice(), Slice(1 + d, 1 + 2 * d)}) * 2 - 1) * (1 - extent);
  auto sign = torch::ones_like(extent);
  if (o.ssl.flips)
    sign = torch::where(u.index({Slice(), Slice(1 + 2 * d, 1 + 3 * d)}) < 0.5, -sign, sign);
  auto theta = torch::zeros({u.size(0), d, d + 1}, u.options());
  theta.index_put_({Slice(), Slice(), d}, centre);
  theta.diagonal(0, 1, 2).copy_(extent * sign);
  return theta;
}

/// Separable Gaussian blur with one kernel per sample (a delta where `apply` is false).
torch::Tensor blur(const torch::Tensor& x, const torch::Tensor& apply, const torch::Tensor& sigma) {
  const auto n = x.size(0), c = x.size(1);
  const auto spatial = x.dim() - 2;
  auto taps = torch::arange(-kBlurRadius, kBlurRadius + 1, x.options()).unsqueeze(0);
  auto kernel = torch::exp(-taps.square() / (2 * sigma.square().unsqueeze(1)));
  kernel = kernel / kernel.sum(1, /*keepdim=*/true);
  auto delta = (taps == 0).to(x.scalar_type()).expand_as(kernel);
  kernel = torch::where(apply.unsqueeze(1), kernel, delta);
  // One group per (sample, channel): the batch becomes the channels of a single image.
  kernel = kernel.repeat_interleave(c, 0).unsqueeze(1); // [N·C, 1, taps]
  std::vector<std::int64_t> pad(std::size_t(2 * spatial), kBlurRadius);
  auto grouped = x.sizes().vec();
  grouped[0] = 1;
  grouped[1] = n * c;
  auto y = F::pad(x.reshape(grouped), F::PadFuncOptions(pad).mode(torch::kReplicate));
  for (std::int64_t axis = 0; axis < spatial; ++axis) {
    std::vector<std::int64_t> shape{n * c, 1};
    for (std::int64_t a = 0; a < spatial; ++a)
      shape.push_back(a == axis ? 2 * kBlurRadius + 1 : 1);
    auto w = kernel.view(shape);
    y = spatial == 2 ? F::conv2d(y, w, F::Conv2dFuncOptions().groups(n * c))
                     : F::conv3d(y, w, F::Conv3dFuncOptions().groups(n * c));
  }
  return y.view(x.sizes());
}

} // namespace

torch::Tensor random_view(const torch::Tensor& batch, const ByolOptions& o, at::Generator& gen) {
  const auto n = batch.size(0);
  const auto d = batch.dim() - 2;
  auto opts = batch.options();
  // Every random number of the view in one draw: crop (1 + 3d), brightness, contrast, blur (2).
  auto u = torch::rand({n, 1 + 3 * d + 4}, gen, opts);
  const auto at = [&](std::int64_t k) { return u.select(1, 1 + 3 * d + k); };
  auto grid = F::affine_grid(crop_theta(u, d, o), batch.sizes(), /*align_corners=*/false);
  auto x = F::grid_sample(batch, grid,
                          F::GridSampleFuncOptions()
                              .mode(torch::kBilinear)
                              .padding_mode(torch::kBorder)
                              .align_corners(false));

  std::vector<std::int64_t> per_sample(std::size_t(batch.dim()), 1);
  per_sample[0] = n;
  const auto shift = ((at(0) * 2 - 1) * o.ssl.brightness).view(per_sample);
  const auto gain = (1 + (at(1) * 2 - 1) * o.ssl.contrast).view(per_sample);
  std::vector<std::int64_t> all_but_batch;
  for (std::int64_t a = 1; a < batch.dim(); ++a)
    all_but_batch.push_back(a);
  const auto mean = x.mean(all_but_batch, /*keepdim=*/true);
  x = ((x - mean) * gain + mean + shift).clamp(0.0, 1.0);

  if (o.ssl.blur_probability > 0)
    x = blur(x, at(2) < o.ssl.blur_probability, kSigmaMin + (kSigmaMax - kSigmaMin) * at(3));
  if (o.ssl.noise_std > 0)
    x = x + o.ssl.noise_std * torch::randn(x.sizes(), gen, opts);
  return x;
}

} // namespace vfp::ssl::detail
