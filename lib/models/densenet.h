// Private to lib/models: DenseNet-121 (Huang et al. 2017) with torchvision's layout and
// names (`features.denseblock1.denselayer1.conv1.weight`, `classifier.weight`), in 2D or 3D.
#pragma once

#include "models/layers.h"

namespace vfp::models {

struct DenseNetDesign {
  std::int64_t growth = 32;
  std::vector<int> layers{6, 12, 24, 16}; ///< DenseNet-121
  std::int64_t stem = 64;                 ///< channels of conv0
  std::int64_t bottleneck = 4;            ///< 1×1 convolution to bottleneck × growth
};

class DenseNetImpl : public HeadedClassifier {
public:
  DenseNetImpl(const DenseNetDesign& design, const ModelSpec& spec);
  torch::Tensor features(torch::Tensor x) override;
  std::vector<LayerGroup> layer_groups() override;

private:
  torch::nn::Sequential features_{nullptr};
  std::vector<LayerGroup> groups_;
};

} // namespace vfp::models
