// vfp::models — LibTorch architectures behind one registry. Only torch targets include this.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vfp::models {

/// What to build: registry name, spatial dims, channels in, outputs, and width knobs.
struct ModelSpec {
  std::string arch = "fnet";
  int dims = 2;
  int in_channels = 1;
  int outputs = 1;
  int width = 16;       ///< channels of the first stage (fNet)
  double dropout = 0.2; ///< before the head
};

/// A classifier mapping [N, C, spatial...] to logits [N, outputs].
class Classifier : public torch::nn::Module {
public:
  /// Logits for a batch.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// Named layer groups in order stem → stages → head, for freezing and per-layer rates.
  virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>
  layer_groups() = 0;
};

/// Builds a model from the registry; throws vfp::InputError for unknown names or dims.
std::shared_ptr<Classifier> make_model(const ModelSpec& spec);

/// Registry names, e.g. {"fnet"}.
std::vector<std::string> architectures();

/// Number of trainable parameters.
std::int64_t parameter_count(const torch::nn::Module& module);

} // namespace vfp::models
