#include "models/resnet.h"

namespace vfp::models {
namespace {

/// Squeeze-and-excitation: channel weights from the global mean, through a bottleneck of
/// channels / 16 (1×1 convolutions with bias, as timm's SEModule).
class SqueezeExciteImpl : public torch::nn::Module {
public:
  SqueezeExciteImpl(int dims, std::int64_t channels) {
    const auto reduced = channels / 16;
    fc1_ = register_module("fc1", conv(dims, channels, reduced, 1, 1, 0, 1, true));
    fc2_ = register_module("fc2", conv(dims, reduced, channels, 1, 1, 0, 1, true));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<std::int64_t> spatial;
    for (std::int64_t d = 2; d < x.dim(); ++d)
      spatial.push_back(d);
    auto s = fc2_->forward(torch::relu(fc1_->forward(x.mean(spatial, /*keepdim=*/true))));
    return x * torch::sigmoid(s);
  }

private:
  Conv fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(SqueezeExcite);

/// torchvision's BasicBlock (two 3×3) or Bottleneck (1×1, 3×3 with the stride and groups,
/// 1×1 to 4× the planes), with a projection shortcut `downsample` when the shape changes.
class ResBlockImpl : public torch::nn::Module {
public:
  ResBlockImpl(const ResNetDesign& d, int dims, std::int64_t in, std::int64_t planes,
               std::int64_t stride) {
    const std::int64_t out = d.bottleneck ? planes * 4 : planes;
    if (d.bottleneck) {
      const std::int64_t width = planes * d.width_per_group / 64 * d.groups;
      const auto reduce_stride = d.stride_on_reduce ? stride : 1;
      conv1_ = register_module("conv1", conv(dims, in, width, 1, reduce_stride));
      bn1_ = register_module("bn1", BatchNorm(width));
      conv2_ = register_module("conv2",
                               conv(dims, width, width, 3, stride / reduce_stride, 1, d.groups));
      bn2_ = register_module("bn2", BatchNorm(width));
      conv3_ = register_module("conv3", conv(dims, width, out, 1));
      bn3_ = register_module("bn3", BatchNorm(out));
    } else {
      conv1_ = register_module("conv1", conv(dims, in, planes, 3, stride, 1));
      bn1_ = register_module("bn1", BatchNorm(planes));
      conv2_ = register_module("conv2", conv(dims, planes, planes, 3, 1, 1));
      bn2_ = register_module("bn2", BatchNorm(planes));
    }
    if (d.squeeze_excite)
      se_ = register_module("se", SqueezeExcite(dims, out));
    if (stride != 1 || in != out)
      downsample_ = register_module(
          "downsample",
          torch::nn::Sequential(conv(dims, in, out, 1, stride, 0, 1, d.downsample_bias),
                                BatchNorm(out)));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    if (conv3_)
      y = bn3_->forward(conv3_->forward(torch::relu(y)));
    if (se_)
      y = se_->forward(y);
    return torch::relu(y + (downsample_ ? downsample_->forward(x) : x));
  }

private:
  Conv conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  BatchNorm bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  SqueezeExcite se_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(ResBlock);

} // namespace

ResNetImpl::ResNetImpl(const ResNetDesign& d, const ModelSpec& spec) {
  const int dims = spec.dims;
  ConvOptions stem;
  stem.dims = dims;
  stem.in = spec.in_channels;
  stem.out = 64;
  stem.kernel = d.stem_kernel.empty() ? repeat(dims, 7) : d.stem_kernel;
  stem.stride = d.stem_stride.empty() ? repeat(dims, 2) : d.stem_stride;
  stem.padding = d.stem_padding.empty() ? repeat(dims, 3) : d.stem_padding;
  conv1_ = register_module("conv1", Conv(stem));
  bn1_ = register_module("bn1", BatchNorm(64));
  maxpool_ = register_module("maxpool", d.stem_pool_ceil ? Pool(PoolImpl::kMax, dims, 3, 2, 0, true)
                                                         : Pool(PoolImpl::kMax, dims, 3, 2, 1));
  std::int64_t in = 64;
  for (std::size_t s = 0; s < d.blocks.size(); ++s) {
    const std::int64_t planes = 64 << s;
    torch::nn::Sequential layer;
    for (int b = 0; b < d.blocks[s]; ++b) {
      layer->push_back(ResBlock(d, dims, in, planes, b == 0 && s > 0 ? 2 : 1));
      in = d.bottleneck ? planes * 4 : planes;
    }
    layers_.emplace_back(register_module("layer" + std::to_string(s + 1), layer));
  }
  head_ = Head(*this, "fc", in, spec);
}

torch::Tensor ResNetImpl::features(torch::Tensor x) {
  x = maxpool_->forward(torch::relu(bn1_->forward(conv1_->forward(x))));
  for (auto& layer : layers_)
    x = layer->forward(x);
  return global_average(x);
}

std::vector<LayerGroup> ResNetImpl::layer_groups() {
  return staged_groups({{"stem", {conv1_.ptr(), bn1_.ptr()}}}, "layer", layers_);
}

} // namespace vfp::models
