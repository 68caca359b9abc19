// Private to lib/models: the fNet architecture.
#pragma once

#include "models/models.h"

namespace vfp::models {

class FNetImpl : public Classifier {
public:
  explicit FNetImpl(const ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x) override;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> layer_groups() override;

private:
  std::vector<torch::nn::Sequential> stages_;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

} // namespace vfp::models
