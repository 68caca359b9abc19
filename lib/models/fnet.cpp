#include "models/fnet.h"

#include "core/core.h"

namespace vfp::models {

// fNet (2D): four stages of 3×3 conv → batch norm → ReLU → 2×2 max-pool with widths
// w, 2w, 4w, 8w, then global average pooling, dropout and a linear head. With w = 16 and one
// input channel it has 97,521 trainable parameters (for a 47×47 AIP: 47 → 23 → 11 → 5 → 2).
FNetImpl::FNetImpl(const ModelSpec& spec) {
  if (spec.dims != 2)
    throw InputError("fnet: dims " + std::to_string(spec.dims) + " is not built yet (2D only)");
  int in = spec.in_channels;
  for (int s = 0; s < 4; ++s) {
    int out = spec.width << s;
    torch::nn::Sequential stage(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
        torch::nn::BatchNorm2d(out), torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)),
        torch::nn::MaxPool2d(2));
    stages_.push_back(register_module("stage" + std::to_string(s + 1), stage));
    in = out;
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(spec.dropout));
  head_ = register_module("head", torch::nn::Linear(in, spec.outputs));
}

torch::Tensor FNetImpl::forward(torch::Tensor x) {
  for (auto& stage : stages_)
    x = stage->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return head_->forward(dropout_->forward(x));
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> FNetImpl::layer_groups() {
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> groups;
  for (size_t s = 0; s < stages_.size(); ++s)
    groups.emplace_back("stage" + std::to_string(s + 1), stages_[s].ptr());
  groups.emplace_back("head", head_.ptr());
  return groups;
}

} // namespace vfp::models
