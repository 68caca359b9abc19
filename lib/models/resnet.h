// Private to lib/models: ResNets (He et al. 2016) with torchvision's layout and names, the
// ResNeXt grouped variant and squeeze-and-excitation blocks named as timm's (`se.fc1`,
// `se.fc2`), in 2D or 3D (every kernel k×k becomes k×k×k), and Merlin's I3D-inflated
// ResNet-152 image encoder (the same 3D network but for a (3, 7, 7) stem). Three switches
// give MONAI's variants (monai.networks.nets.senet and .resnet), whose checkpoints the
// study's 3D networks are: see lib/models/key_maps/monai_*.keymap.
#pragma once

#include "models/layers.h"

namespace vfp::models {

struct ResNetDesign {
  bool bottleneck = false; ///< 1×1 → 3×3 → 1×1 blocks with 4× expansion
  std::vector<int> blocks; ///< blocks per stage, e.g. {2, 2, 2, 2} for ResNet18
  std::int64_t groups = 1; ///< ResNeXt cardinality
  std::int64_t width_per_group = 64;
  bool squeeze_excite = false; ///< SE after the last batch norm of each block (ratio 1/16)
  /// Stem convolution per axis (depth first in 3D); empty: 7, stride 2, padding 3 on every
  /// axis. Merlin: kernel (3, 7, 7), stride (1, 2, 2), padding (1, 3, 3).
  Sizes stem_kernel, stem_stride, stem_padding;
  /// The stem's 3/2 max-pool without padding, rounding up (SENet's, MONAI's SENet); else
  /// padding 1, rounding down (torchvision's).
  bool stem_pool_ceil = false;
  /// A bottleneck's stride on its first 1×1 convolution (the original SE-ResNet's, MONAI's
  /// SEResNetBottleneck); else on the 3×3 (torchvision's, SE-ResNeXt's).
  bool stride_on_reduce = false;
  bool downsample_bias = false; ///< the shortcut's 1×1 convolution has a bias (MONAI's ResNet)
};

class ResNetImpl : public HeadedClassifier {
public:
  ResNetImpl(const ResNetDesign& design, const ModelSpec& spec);
  torch::Tensor features(torch::Tensor x) override;
  std::vector<LayerGroup> layer_groups() override;

private:
  Conv conv1_{nullptr};
  BatchNorm bn1_{nullptr};
  Pool maxpool_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
};

} // namespace vfp::models
