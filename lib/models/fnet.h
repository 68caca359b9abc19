// Private to lib/models: the fNet architecture, 2D or 3D.
#pragma once

#include "models/layers.h"

namespace vfp::models {

class FNetImpl : public HeadedClassifier {
public:
  explicit FNetImpl(const ModelSpec& spec);
  torch::Tensor features(torch::Tensor x) override;
  std::vector<LayerGroup> layer_groups() override;

private:
  std::vector<torch::nn::Sequential> stages_;
};

} // namespace vfp::models
