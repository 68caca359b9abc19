#include "train/optimization.h"

#include "core/core.h"

#include <cmath>
#include <stdexcept>

namespace vfp::train::detail {
namespace {

/// Batch, instance, layer and group norms (ours and torch.nn's), by class name: the model
/// zoo's normalisation modules have no common base class.
bool is_normalisation(const torch::nn::Module& m) {
  const auto& name = m.name();
  for (const char* kind : {"BatchNorm", "InstanceNorm", "LayerNorm", "GroupNorm"})
    if (name.find(kind) != std::string::npos)
      return true;
  return false;
}

template <typename Options>
std::unique_ptr<torch::optim::Optimizer> build(const std::vector<models::LayerGroup>& groups,
                                               const std::vector<GroupRates>& rates,
                                               const Options& defaults) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto options = std::make_unique<Options>(defaults);
    options->lr(rates[g].lr);
    options->weight_decay(rates[g].weight_decay);
    param_groups.emplace_back(groups[g].parameters(), std::move(options));
  }
  using Optimizer =
      std::conditional_t<std::is_same_v<Options, torch::optim::AdamWOptions>, torch::optim::AdamW,
                         std::conditional_t<std::is_same_v<Options, torch::optim::AdamOptions>,
                                            torch::optim::Adam, torch::optim::SGD>>;
  return std::make_unique<Optimizer>(std::move(param_groups), defaults);
}

} // namespace

std::vector<GroupRates> layer_rates(const std::vector<models::LayerGroup>& groups,
                                    const config::TrainConfig& o) {
  std::vector<GroupRates> rates;
  const auto n = groups.size();
  for (std::size_t g = 0; g < n; ++g) {
    const double depth = double(n - 1 - g); // the head is the last group
    rates.push_back({groups[g].name, o.lr * std::pow(o.layer_lr_decay, depth),
                     o.weight_decay * std::pow(o.layer_wd_decay, depth)});
  }
  return rates;
}

std::unique_ptr<torch::optim::Optimizer>
make_optimizer(const config::TrainConfig& o, const std::vector<models::LayerGroup>& groups,
               const std::vector<GroupRates>& rates) {
  if (o.optimizer == "adamw")
    return build(groups, rates, torch::optim::AdamWOptions(o.lr));
  if (o.optimizer == "adam")
    return build(groups, rates, torch::optim::AdamOptions(o.lr));
  if (o.optimizer == "sgd") {
    if (o.nesterov && o.momentum <= 0)
      throw std::logic_error("train.nesterov without momentum passed the config schema");
    return build(groups, rates,
                 torch::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov));
  }
  throw std::logic_error("train.optimizer '" + o.optimizer + "' passed the config schema");
}

double schedule_factor(const config::TrainConfig& o, std::int64_t step,
                       std::int64_t steps_per_epoch) {
  const std::int64_t warmup = std::int64_t(o.warmup_epochs) * steps_per_epoch;
  if (step < warmup)
    return double(step + 1) / double(warmup);
  if (o.schedule == "constant")
    return 1.0;
  if (o.schedule == "step") {
    const auto epoch_index = step / std::max<std::int64_t>(steps_per_epoch, 1);
    // Integer division on purpose: the rate drops once per whole step_epochs.
    const std::int64_t decays = epoch_index / std::max(o.step_epochs, 1);
    return std::pow(o.step_gamma, double(decays));
  }
  if (o.schedule == "cosine") {
    const double total = double(std::int64_t(o.max_epochs) * steps_per_epoch - warmup);
    const double t = total > 0 ? double(step - warmup) / total : 0.0;
    return 0.5 * (1.0 + std::cos(M_PI * std::min(t, 1.0)));
  }
  throw std::logic_error("train.schedule '" + o.schedule + "' passed the config schema");
}

void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<GroupRates>& rates,
                        double factor) {
  auto& groups = optimizer.param_groups();
  VFP_CHECK(groups.size() == rates.size(), "one rate per parameter group");
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& options = groups[g].options();
    const double lr = rates[g].lr * factor;
    if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&options))
      adamw->lr(lr);
    else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&options))
      adam->lr(lr);
    else if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&options))
      sgd->lr(lr);
  }
}

std::vector<bool> trainable_groups(const config::TrainConfig& o, std::size_t n, int epoch) {
  std::vector<bool> trainable(n, false);
  if (n == 0)
    return trainable;
  if (o.finetune == "full") {
    trainable.assign(n, true);
  } else if (o.finetune == "linear_probe" || o.finetune == "bn_only") {
    trainable.back() = true;
  } else if (o.finetune == "layerwise") {
    const int every = std::max(o.unfreeze_every, 1);
    const std::size_t open = std::min<std::size_t>(n, 1 + std::size_t((epoch - 1) / every));
    for (std::size_t k = 0; k < open; ++k)
      trainable[n - 1 - k] = true;
  } else {
    throw std::logic_error("train.finetune '" + o.finetune + "' passed the config schema");
  }
  return trainable;
}

std::size_t apply_finetuning(models::Classifier& model,
                             const std::vector<models::LayerGroup>& groups,
                             const config::TrainConfig& o, int epoch) {
  const auto trainable = trainable_groups(o, groups.size(), epoch);
  model.train();
  std::size_t count = 0;
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (const auto& module : groups[g].modules) {
      for (auto& p : module->parameters())
        p.set_requires_grad(trainable[g]);
      if (!trainable[g] && (o.finetune == "linear_probe" || o.finetune == "layerwise"))
        module->eval(); // frozen: batch-norm statistics stay as loaded
      if (!trainable[g] && o.finetune == "bn_only")
        for (const auto& m : module->modules())
          if (is_normalisation(*m))
            for (auto& p : m->parameters(/*recurse=*/false))
              p.set_requires_grad(true);
    }
  for (const auto& p : model.parameters())
    count += p.requires_grad() ? 1 : 0;
  return count;
}

torch::Tensor batch_loss(const config::TrainConfig& o, const torch::Tensor& logits,
                         const torch::Tensor& targets, const torch::Tensor& pos_weight) {
  namespace F = torch::nn::functional;
  if (o.loss == "bce") {
    auto options = F::BinaryCrossEntropyWithLogitsFuncOptions();
    if (pos_weight.defined())
      options.pos_weight(pos_weight);
    return F::binary_cross_entropy_with_logits(logits, targets, options);
  }
  if (o.loss == "focal") {
    const auto p = torch::sigmoid(logits);
    const auto ce = F::binary_cross_entropy_with_logits(
        logits, targets, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
    const auto p_t = p * targets + (1 - p) * (1 - targets);
    auto loss = ce * (1 - p_t).pow(o.focal_gamma);
    if (o.focal_alpha >= 0)
      loss = loss * (o.focal_alpha * targets + (1 - o.focal_alpha) * (1 - targets));
    return loss.mean();
  }
  throw std::logic_error("train.loss '" + o.loss + "' passed the config schema");
}

} // namespace vfp::train::detail
