// Internal to lib/train (includes torch): optimizers with one parameter group per layer
// group, learning-rate schedules and the finetuning strategies.
#pragma once

#include "models/models.h"
#include "train/train.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace vfp::train::detail {

/// Learning rate and weight decay of one layer group after layer-wise decay: the head has
/// depth 0 and keeps the base values; depth d gets lr · lr_decay^d and wd · wd_decay^d.
struct GroupRates {
  std::string name;
  double lr = 0;
  double weight_decay = 0;
};
std::vector<GroupRates> layer_rates(const std::vector<models::LayerGroup>& groups,
                                    const config::TrainConfig& options);

/// The optimizer, one parameter group per layer group (in layer-group order), every
/// parameter registered from the start: frozen ones simply have no gradient.
std::unique_ptr<torch::optim::Optimizer>
make_optimizer(const config::TrainConfig& options, const std::vector<models::LayerGroup>& groups,
               const std::vector<GroupRates>& rates);

/// Multiplier of the base rates at `step` (0-based, counted over the whole run) of
/// `steps_per_epoch` × options.max_epochs: linear warm-up, then constant, step or cosine.
double schedule_factor(const config::TrainConfig& options, std::int64_t step,
                       std::int64_t steps_per_epoch);

/// Sets each parameter group's learning rate to rates[g].lr × factor.
void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<GroupRates>& rates,
                        double factor);

/// Which layer groups train in `epoch` (1-based) under options.finetune: full (all),
/// linear_probe (head), layerwise (the head, then one more group from the top every
/// options.unfreeze_every epochs), bn_only (the head; plus normalisation parameters, see
/// apply_finetuning).
std::vector<bool> trainable_groups(const config::TrainConfig& options, std::size_t groups,
                                   int epoch);

/// Sets requires_grad for `epoch` and puts the model in training mode, except frozen
/// groups under linear_probe and layerwise, which stay in eval mode so that their
/// batch-norm statistics do not move. bn_only trains normalisation affine parameters
/// everywhere (statistics update as usual). Returns the number of trainable tensors.
std::size_t apply_finetuning(models::Classifier& model,
                             const std::vector<models::LayerGroup>& groups,
                             const config::TrainConfig& options, int epoch);

/// Mean training loss of a batch: BCE with logits (pos_weight when given) or sigmoid focal
/// loss (as torchvision.ops.sigmoid_focal_loss: alpha < 0 disables the class weight).
torch::Tensor batch_loss(const config::TrainConfig& options, const torch::Tensor& logits,
                         const torch::Tensor& targets, const torch::Tensor& pos_weight);

} // namespace vfp::train::detail
