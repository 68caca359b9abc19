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

/// Max or average pooling with a square (cubic) window; no parameters. `ceil`: the output
/// size rounds up, a last window hanging over the border (Caffe's, and SENet's stem).
class PoolImpl : public torch::nn::Module {
public:
  enum Kind { kMax, kAverage };
  PoolImpl(Kind kind, int dims, std::int64_t k, std::int64_t s, std::int64_t p = 0,
           bool ceil = false);
  torch::Tensor forward(const torch::Tensor& x);

private:
  Kind kind_;
  int dims_;
  std::int64_t k_, s_, p_;
  bool ceil_;
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

/// A Classifier whose logits are its Head over its features: the architectures set head_
/// and define features() and layer_groups().
class HeadedClassifier : public Classifier {
public:
  torch::Tensor forward(torch::Tensor x) override { return head_.forward(features(x)); }
  std::int64_t feature_dim() const override { return head_.in_features(); }

protected:
  /// The head's layer group, always the last.
  LayerGroup head_group() const { return {"head", {head_.module()}}; }
  /// layer_groups() of a stem and stages: `stem`'s groups, one group per stage named
  /// `prefix`1, `prefix`2, ... (torchvision's layer1, layer2, ...), then the head's.
  template <typename Stage>
  std::vector<LayerGroup> staged_groups(std::vector<LayerGroup> stem, const std::string& prefix,
                                        const std::vector<Stage>& stages) const {
    for (std::size_t i = 0; i < stages.size(); ++i)
      stem.push_back({prefix + std::to_string(i + 1), {stages[i].ptr()}});
    stem.push_back(head_group());
    return stem;
  }

  Head head_;
};

} // namespace vfp::models
