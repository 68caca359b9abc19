#include "models/densenet.h"

namespace vfp::models {
namespace {

/// BN → ReLU → 1×1 conv → BN → ReLU → 3×3 conv, giving `growth` new channels.
class DenseLayerImpl : public torch::nn::Module {
public:
  DenseLayerImpl(int dims, std::int64_t in, const DenseNetDesign& d) {
    const auto mid = d.bottleneck * d.growth;
    norm1_ = register_module("norm1", BatchNorm(in));
    conv1_ = register_module("conv1", conv(dims, in, mid, 1));
    norm2_ = register_module("norm2", BatchNorm(mid));
    conv2_ = register_module("conv2", conv(dims, mid, d.growth, 3, 1, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv1_->forward(torch::relu(norm1_->forward(x)));
    return conv2_->forward(torch::relu(norm2_->forward(y)));
  }

private:
  BatchNorm norm1_{nullptr}, norm2_{nullptr};
  Conv conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(DenseLayer);

/// Each layer sees the concatenation of the block's input and every earlier layer's output.
class DenseBlockImpl : public torch::nn::Module {
public:
  DenseBlockImpl(int dims, std::int64_t in, int count, const DenseNetDesign& d) {
    for (int i = 0; i < count; ++i)
      layers_.emplace_back(register_module("denselayer" + std::to_string(i + 1),
                                           DenseLayer(dims, in + i * d.growth, d)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> features{x};
    for (auto& layer : layers_)
      features.push_back(layer->forward(torch::cat(features, 1)));
    return torch::cat(features, 1);
  }

private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

/// BN → ReLU → 1×1 conv halving the channels → 2×2 average pool.
class TransitionImpl : public torch::nn::Module {
public:
  TransitionImpl(int dims, std::int64_t in, std::int64_t out) {
    norm_ = register_module("norm", BatchNorm(in));
    conv_ = register_module("conv", conv(dims, in, out, 1));
    pool_ = register_module("pool", Pool(PoolImpl::kAverage, dims, 2, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return pool_->forward(conv_->forward(torch::relu(norm_->forward(x))));
  }

private:
  BatchNorm norm_{nullptr};
  Conv conv_{nullptr};
  Pool pool_{nullptr};
};
TORCH_MODULE(Transition);

} // namespace

DenseNetImpl::DenseNetImpl(const DenseNetDesign& d, const ModelSpec& spec) {
  const int dims = spec.dims;
  features_ = register_module("features", torch::nn::Sequential());
  auto add = [&](const std::string& name, auto module, const std::string& group) {
    features_->push_back(std::string(name), torch::nn::AnyModule(module));
    if (groups_.empty() || groups_.back().name != group)
      groups_.push_back({group, {}});
    groups_.back().modules.push_back(module.ptr());
  };
  add("conv0", conv(dims, spec.in_channels, d.stem, 7, 2, 3), "stem");
  add("norm0", BatchNorm(d.stem), "stem");
  add("relu0", Relu(), "stem");
  add("pool0", Pool(PoolImpl::kMax, dims, 3, 2, 1), "stem");
  std::int64_t channels = d.stem;
  for (std::size_t b = 0; b < d.layers.size(); ++b) {
    const auto n = std::to_string(b + 1);
    add("denseblock" + n, DenseBlock(dims, channels, d.layers[b], d), "denseblock" + n);
    channels += d.layers[b] * d.growth;
    if (b + 1 < d.layers.size()) {
      add("transition" + n, Transition(dims, channels, channels / 2), "denseblock" + n);
      channels /= 2;
    }
  }
  add("norm5", BatchNorm(channels), "denseblock" + std::to_string(d.layers.size()));
  head_ = Head(*this, "classifier", channels, spec);
  groups_.push_back(head_group());
}

torch::Tensor DenseNetImpl::features(torch::Tensor x) {
  return global_average(torch::relu(features_->forward(x)));
}

std::vector<LayerGroup> DenseNetImpl::layer_groups() {
  return groups_;
}

} // namespace vfp::models
