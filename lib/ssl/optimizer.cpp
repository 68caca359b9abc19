#include "ssl/byol_parts.h"

namespace vfp::ssl::detail {

ByolOptimizer::ByolOptimizer(const ByolOptions& o, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> weights, others;
  for (const auto& p : params)
    (decays(p) ? weights : others).push_back(p);
  if (o.ssl.optimizer == "lars") {
    lars_ = std::make_unique<Lars>(weights, others,
                                   LarsOptions{o.ssl.lr, 0.9, o.ssl.weight_decay, 0.001});
    return;
  }
  using torch::optim::AdamWOptions;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(weights, std::make_unique<AdamWOptions>(
                                   AdamWOptions(o.ssl.lr).weight_decay(o.ssl.weight_decay)));
  groups.emplace_back(others,
                      std::make_unique<AdamWOptions>(AdamWOptions(o.ssl.lr).weight_decay(0)));
  adamw_ = std::make_unique<torch::optim::AdamW>(std::move(groups), AdamWOptions(o.ssl.lr));
}

void ByolOptimizer::set_lr(double lr) {
  if (lars_) {
    lars_->set_lr(lr);
    return;
  }
  for (auto& group : adamw_->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

void ByolOptimizer::zero_grad() {
  if (lars_)
    lars_->zero_grad();
  else
    adamw_->zero_grad();
}

void ByolOptimizer::step() {
  if (lars_)
    lars_->step();
  else
    adamw_->step();
}

void ByolOptimizer::save(torch::serialize::OutputArchive& archive) {
  if (adamw_) {
    adamw_->save(archive);
    return;
  }
  const auto velocities = lars_->velocities();
  for (std::size_t k = 0; k < velocities.size(); ++k)
    archive.write("lars." + std::to_string(k), velocities[k], /*is_buffer=*/true);
}

void ByolOptimizer::load(torch::serialize::InputArchive& archive) {
  if (adamw_) {
    adamw_->load(archive);
    return;
  }
  torch::NoGradGuard no_grad;
  auto velocities = lars_->velocities(); // handles to the live buffers
  for (std::size_t k = 0; k < velocities.size(); ++k) {
    torch::Tensor saved;
    archive.read("lars." + std::to_string(k), saved, /*is_buffer=*/true);
    velocities[k].copy_(saved);
  }
}

} // namespace vfp::ssl::detail
