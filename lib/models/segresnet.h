// Private to lib/models: the image encoder of VISTA3D (He et al. 2024), MONAI's SegResEncoder
// as vista3d132() builds it inside SegResNetDS2, named as MONAI's (`conv_init`,
// `layers.<i>.blocks.<j>.norm1`, `layers.<i>.downsample`), so that the published checkpoint's
// `image_encoder.encoder.*` keys load after a prefix strip; global average pooling of the
// deepest level feeds our Head.
#pragma once

#include "models/layers.h"

namespace vfp::models {

struct SegResNetDesign {
  std::int64_t init_filters = 48;              ///< channels of conv_init and the first level
  std::vector<int> blocks_down{1, 2, 2, 4, 4}; ///< residual blocks per level
};

/// One level: pre-activation residual blocks (`blocks`), then, except on the last level, a
/// 3×3(×3) stride-2 convolution doubling the channels (`downsample`).
class SegResLevelImpl : public torch::nn::Module {
public:
  SegResLevelImpl(int dims, std::int64_t channels, int blocks, bool downsample);
  /// The blocks' output (what SegResNetDS's decoder would take as a skip), and the input of
  /// the next level.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

private:
  torch::nn::Sequential blocks_{nullptr};
  Conv downsample_{nullptr};
};
TORCH_MODULE(SegResLevel);

class SegResNetEncoderImpl : public HeadedClassifier {
public:
  SegResNetEncoderImpl(const SegResNetDesign& design, const ModelSpec& spec);
  torch::Tensor features(torch::Tensor x) override;
  std::vector<LayerGroup> layer_groups() override;

private:
  Conv conv_init_{nullptr};
  std::vector<SegResLevel> levels_;
};

} // namespace vfp::models
