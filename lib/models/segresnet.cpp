#include "models/segresnet.h"

#include "core/core.h"

namespace vfp::models {
namespace {

/// Instance normalisation with a learnt per-channel scale and shift (`weight`, `bias`) and no
/// running statistics: MONAI's get_norm_layer(("instance", {"affine": True})), which
/// SegResNetDS asks for. Any number of spatial axes.
class InstanceNormImpl : public torch::nn::Module {
public:
  explicit InstanceNormImpl(std::int64_t channels) {
    weight = register_parameter("weight", torch::ones({channels}));
    bias = register_parameter("bias", torch::zeros({channels}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::instance_norm(x, weight, bias, /*running_mean=*/{}, /*running_var=*/{},
                                /*use_input_stats=*/true, /*momentum=*/0.1, /*eps=*/1e-5,
                                /*cudnn_enabled=*/true);
  }
  torch::Tensor weight, bias;
};
TORCH_MODULE(InstanceNorm);

/// MONAI's SegResBlock: norm → ReLU → 3×3 conv, twice, plus the input (channels unchanged).
class SegResBlockImpl : public torch::nn::Module {
public:
  SegResBlockImpl(int dims, std::int64_t channels) {
    norm1_ = register_module("norm1", InstanceNorm(channels));
    conv1_ = register_module("conv1", conv(dims, channels, channels, 3, 1, 1));
    norm2_ = register_module("norm2", InstanceNorm(channels));
    conv2_ = register_module("conv2", conv(dims, channels, channels, 3, 1, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv1_->forward(torch::relu(norm1_->forward(x)));
    y = conv2_->forward(torch::relu(norm2_->forward(y)));
    return y + x;
  }

private:
  InstanceNorm norm1_{nullptr}, norm2_{nullptr};
  Conv conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(SegResBlock);

} // namespace

SegResLevelImpl::SegResLevelImpl(int dims, std::int64_t channels, int blocks, bool downsample) {
  blocks_ = register_module("blocks", torch::nn::Sequential());
  for (int b = 0; b < blocks; ++b)
    blocks_->push_back(SegResBlock(dims, channels));
  if (downsample)
    downsample_ = register_module("downsample", conv(dims, channels, 2 * channels, 3, 2, 1));
}

std::pair<torch::Tensor, torch::Tensor> SegResLevelImpl::forward(const torch::Tensor& x) {
  auto skip = blocks_->forward(x);
  return {skip, downsample_ ? downsample_->forward(skip) : skip};
}

SegResNetEncoderImpl::SegResNetEncoderImpl(const SegResNetDesign& d, const ModelSpec& spec) {
  VFP_CHECK(!d.blocks_down.empty(), "at least one level");
  std::int64_t channels = d.init_filters;
  conv_init_ = register_module("conv_init", conv(spec.dims, spec.in_channels, channels, 3, 1, 1));
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (std::size_t i = 0; i < d.blocks_down.size(); ++i) {
    const bool last = i + 1 == d.blocks_down.size();
    levels_.emplace_back(spec.dims, channels, d.blocks_down[i], !last);
    layers->push_back(levels_.back());
    if (!last)
      channels *= 2;
  }
  head_ = Head(*this, "fc", channels, spec);
}

torch::Tensor SegResNetEncoderImpl::features(torch::Tensor x) {
  x = conv_init_->forward(x);
  for (auto& level : levels_)
    x = level->forward(x).second;
  return global_average(x);
}

std::vector<LayerGroup> SegResNetEncoderImpl::layer_groups() {
  return staged_groups({{"stem", {conv_init_.ptr()}}}, "level", levels_);
}

} // namespace vfp::models
