#include "models/fnet.h"

namespace vfp::models {

// fNet: four stages of 3×3 (3×3×3) convolution without bias → batch norm → ReLU → 2×2
// (2×2×2) max-pool, widths w, 2w, 4w, 8w (`model.width`), then global average pooling,
// dropout and the head. One input channel, one output: 2D w = 16 has 97,521 parameters
// (47×47 AIP: 47 → 23 → 11 → 5 → 2); 3D w = 32 has 1,163,297 (the study's "1.17 M").
FNetImpl::FNetImpl(const ModelSpec& spec) {
  std::int64_t in = spec.in_channels;
  for (int s = 0; s < 4; ++s) {
    const std::int64_t out = std::int64_t(spec.width) << s;
    torch::nn::Sequential stage(conv(spec.dims, in, out, 3, 1, 1), BatchNorm(out), Relu(),
                                Pool(PoolImpl::kMax, spec.dims, 2, 2));
    stages_.emplace_back(register_module("stage" + std::to_string(s + 1), stage));
    in = out;
  }
  head_ = Head(*this, "head", in, spec);
}

torch::Tensor FNetImpl::features(torch::Tensor x) {
  for (auto& stage : stages_)
    x = stage->forward(x);
  return global_average(x);
}

std::vector<LayerGroup> FNetImpl::layer_groups() {
  return staged_groups({}, "stage", stages_);
}

} // namespace vfp::models
