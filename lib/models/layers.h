// Private to lib/models: building blocks that work in 2D and 3D with one code path, named
// like torch.nn's (weight, bias, running_mean, ...) so that state dicts of PyTorch models
// (torchvision, timm) map onto ours key for key.
#pragma once

#include "models/models.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vfp::models {

/// Per-axis sizes for a convolution or pool: `dims` copies of one value, or explicit ones.
using Sizes = std::vector<std::int64_t>;
Sizes repeat(int dims, std::int64_t value);

struct ConvOptions {
  int dims = 2;
  std::int64_t in = 1, out = 1;
  Sizes kernel, stride, padding; ///< empty stride = 1, empty padding = 0 on every axis
  std::int64_t groups = 1;
  bool bias = false;
};

/// Convolution over 2 or 3 spatial axes; parameters `weight` [out, in/groups, k...] and
/// optional `bias`. Kaiming-normal (fan-out) initialisation, as torchvision's ResNets.
class ConvImpl : public torch::nn::Module {
public:
  explicit ConvImpl(ConvOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  const ConvOptions& options() const { return options_; }
  torch::Tensor weight, bias;

private:
  ConvOptions options_;
};
TORCH_MODULE(Conv);

/// Shorthand: a square (cubic) kernel of size k, stride s, padding p, no bias.
Conv conv(int dims, std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s = 1,
          std::int64_t p = 0, std::int64_t groups = 1, bool bias = false);

/// Batch normalisation over the channel axis of [N, C, ...] for any number of spatial axes;
/// `weight`, `bias`, buffers `running_mean`, `running_var`, `num_batches_tracked`.
class BatchNormImpl : public torch::nn::Module {
public:
  explicit BatchNormImpl(std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(BatchNorm);

/// Max or average pooling with a square (cubic) window; no parameters.
class PoolImpl : public torch::nn::Module {
public:
  enum Kind { kMax, kAverage };
  PoolImpl(Kind kind, int dims, std::int64_t k, std::int64_t s, std::int64_t p = 0);
  torch::Tensor forward(const torch::Tensor& x);

private:
  Kind kind_;
  int dims_;
  std::int64_t k_, s_, p_;
};
TORCH_MODULE(Pool);

/// ReLU as a module, so that it can sit in a Sequential; no parameters.
class ReluImpl : public torch::nn::Module {
public:
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(x); }
};
TORCH_MODULE(Relu);

/// [N, C, spatial...] → [N, C]: the mean over every spatial axis.
torch::Tensor global_average(const torch::Tensor& x);

/// The classification head, registered on `owner` under `name` (`fc` for ResNets,
/// `classifier` for DenseNet, as torchvision): Dropout(spec.dropout) then a linear layer
/// (keys `<name>.weight`, `<name>.bias`), or with spec.head_hidden > 0 an MLP Linear → ReLU
/// → Dropout → Linear (keys `<name>.0.*`, `<name>.3.*`).
class Head {
public:
  Head() = default;
  Head(torch::nn::Module& owner, const std::string& name, std::int64_t in, const ModelSpec& spec);
  torch::Tensor forward(const torch::Tensor& features);
  std::shared_ptr<torch::nn::Module> module() const;
  std::int64_t in_features() const { return in_; }

private:
  std::int64_t in_ = 0;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear linear_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
};

} // namespace vfp::models
