// Private to lib/models: the fNet architecture, 2D or 3D.
#pragma once

#include "models/layers.h"

namespace vfp::models {

class FNetImpl : public Classifier {
public:
  explicit FNetImpl(const ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x) override;
  torch::Tensor features(torch::Tensor x) override;
  std::int64_t feature_dim() const override;
  std::vector<LayerGroup> layer_groups() override;

private:
  std::vector<torch::nn::Sequential> stages_;
  Head head_;
};

} // namespace vfp::models
