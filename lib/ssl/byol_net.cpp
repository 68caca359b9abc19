#include "ssl/byol_parts.h"

#include <algorithm>
#include <cmath>

namespace vfp::ssl::detail {
namespace {

bool under(const std::string& key, const std::string& prefix,
           const std::vector<std::string>& modules) {
  if (key.rfind(prefix, 0) != 0)
    return false;
  const auto rest = key.substr(prefix.size());
  return std::find(modules.begin(), modules.end(), rest.substr(0, rest.find('.'))) != modules.end();
}

} // namespace

double tau_at(double tau_base, std::int64_t step, std::int64_t total_steps) {
  if (total_steps <= 0)
    return 1.0;
  const double k = double(std::clamp<std::int64_t>(step, 0, total_steps));
  return 1.0 - (1.0 - tau_base) * (std::cos(M_PI * k / double(total_steps)) + 1.0) / 2.0;
}

torch::nn::Sequential make_mlp(std::int64_t in, std::int64_t hidden, std::int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::BatchNorm1d(hidden),
                               torch::nn::ReLU(), torch::nn::Linear(hidden, out));
}

ByolNet::ByolNet(const models::ModelSpec& spec, std::int64_t projector_hidden,
                 std::int64_t projection_dim) {
  auto online = register_module("online", std::make_shared<torch::nn::Module>());
  auto target = register_module("target", std::make_shared<torch::nn::Module>());
  online_backbone_ = online->register_module("backbone", models::make_model(spec));
  const auto features = online_backbone_->feature_dim();
  online_projector_ =
      online->register_module("projector", make_mlp(features, projector_hidden, projection_dim));
  online_predictor_ = online->register_module(
      "predictor", make_mlp(projection_dim, projector_hidden, projection_dim));
  target_backbone_ = target->register_module("backbone", models::make_model(spec));
  target_projector_ =
      target->register_module("projector", make_mlp(features, projector_hidden, projection_dim));

  for (const auto& key : models::head_keys(*online_backbone_)) {
    const auto module = key.substr(0, key.find('.'));
    if (std::find(head_modules_.begin(), head_modules_.end(), module) == head_modules_.end())
      head_modules_.push_back(module);
  }
  // The target starts as the online network's copy (buffers included) and learns only by EMA.
  torch::NoGradGuard no_grad;
  const auto online_state = models::state_of(*online);
  for (auto& item : models::state_of(*target))
    if (const auto* source = online_state.find(item.key()))
      item.value().copy_(*source);
  for (auto& p : target->parameters())
    p.set_requires_grad(false);
  const auto target_params = target->named_parameters();
  for (const auto& item : online->named_parameters())
    if (const auto* twin = target_params.find(item.key());
        twin && !under(item.key(), "backbone.", head_modules_))
      ema_.emplace_back(*twin, item.value());
}

torch::Tensor ByolNet::loss(const torch::Tensor& view1, const torch::Tensor& view2) {
  torch::Tensor z1, z2;
  {
    torch::NoGradGuard no_grad;
    z1 = target_projector_->forward(target_backbone_->features(view1));
    z2 = target_projector_->forward(target_backbone_->features(view2));
  }
  auto q1 =
      online_predictor_->forward(online_projector_->forward(online_backbone_->features(view1)));
  auto q2 =
      online_predictor_->forward(online_projector_->forward(online_backbone_->features(view2)));
  auto term = [](const torch::Tensor& q, const torch::Tensor& z) {
    // In float32 even under bfloat16 autocast: the loss is a small difference near 0.
    return 2.0 - 2.0 * torch::cosine_similarity(q.to(torch::kFloat), z.to(torch::kFloat), 1);
  };
  return (term(q1, z2) + term(q2, z1)).mean();
}

void ByolNet::update_target(double tau) {
  torch::NoGradGuard no_grad;
  for (auto& [target, online] : ema_)
    target.mul_(tau).add_(online, 1.0 - tau);
}

std::vector<torch::Tensor> ByolNet::trainable_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& item : online_backbone_->named_parameters())
    if (!under(item.key(), "", head_modules_))
      out.push_back(item.value());
  for (const auto& p : online_projector_->parameters())
    out.push_back(p);
  for (const auto& p : online_predictor_->parameters())
    out.push_back(p);
  return out;
}

models::StateDict ByolNet::checkpoint_state() {
  models::StateDict out;
  for (const auto& item : models::state_of(*this))
    if (!under(item.key(), "online.backbone.", head_modules_) &&
        !under(item.key(), "target.backbone.", head_modules_))
      out.insert(item.key(), item.value());
  return out;
}

bool decays(const torch::Tensor& parameter) {
  return parameter.dim() > 1;
}

} // namespace vfp::ssl::detail
