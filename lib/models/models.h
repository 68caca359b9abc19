// vfp::models — LibTorch architectures behind one registry, in 2D and 3D, with
// torchvision's parameter names in 2D so that published weights load key for key. Only
// torch targets include this header (lib/train's API is torch-free).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vfp::models {

/// What to build: registry name, spatial dims, channels in, outputs, and head/width knobs.
struct ModelSpec {
  std::string arch = "fnet";
  int dims = 2;
  int in_channels = 1;
  int outputs = 1;
  int width = 16;       ///< fNet: channels of the first stage (others ignore it)
  double dropout = 0.2; ///< before the head (and inside an MLP head)
  int head_hidden = 0; ///< 0: a linear head; > 0: Linear(features, head_hidden) → ReLU → Linear
};

/// Modules that train together: the stem, each stage, the head.
struct LayerGroup {
  std::string name;
  std::vector<std::shared_ptr<torch::nn::Module>> modules;
  std::vector<torch::Tensor> parameters() const;
};

/// A classifier mapping [N, C, spatial...] to logits [N, outputs].
class Classifier : public torch::nn::Module {
public:
  /// Logits for a batch.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// Layer groups in order stem → stages → head, for freezing and per-layer rates; every
  /// parameter belongs to exactly one group.
  virtual std::vector<LayerGroup> layer_groups() = 0;
};

/// Builds a model from the registry; throws vfp::InputError for unknown names, dims or sizes.
std::shared_ptr<Classifier> make_model(const ModelSpec& spec);

/// One registry entry.
struct Architecture {
  std::string name;
  std::string description;
};
/// Every architecture, in listing order.
const std::vector<Architecture>& architectures();

/// Number of trainable parameters.
std::int64_t parameter_count(const torch::nn::Module& module);

} // namespace vfp::models
