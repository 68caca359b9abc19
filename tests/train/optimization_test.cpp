// lib/train's optimisation parts: finetuning strategies, layer-wise rates, schedules, losses.
#include "core/core.h"
#include "models/models.h"
#include "train/optimization.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using vfp::config::TrainConfig;
namespace parts = vfp::train::detail;

std::shared_ptr<vfp::models::Classifier> small_fnet() {
  torch::manual_seed(1);
  vfp::models::ModelSpec spec;
  spec.width = 4;
  return vfp::models::make_model(spec); // groups stage1..stage4, head
}

/// Copies of every parameter and buffer, by name.
std::map<std::string, torch::Tensor> copy_state(torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters())
    out[p.key()] = p.value().detach().clone();
  for (const auto& b : m.named_buffers())
    out[b.key()] = b.value().detach().clone();
  return out;
}

/// Three optimizer steps of `epoch` under `options` on random data.
void train_steps(vfp::models::Classifier& model, const TrainConfig& options, int epoch) {
  const auto groups = model.layer_groups();
  const auto rates = parts::layer_rates(groups, options);
  auto optimizer = parts::make_optimizer(options, groups, rates);
  torch::manual_seed(2);
  for (int step = 0; step < 3; ++step) {
    parts::apply_finetuning(model, groups, options, epoch);
    optimizer->zero_grad();
    auto x = torch::rand({8, 1, 16, 16});
    auto y = (torch::rand({8, 1}) > 0.5).to(torch::kFloat);
    parts::batch_loss(options, model.forward(x), y, torch::Tensor()).backward();
    optimizer->step();
  }
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

/// Which tensors changed after training under `strategy` at `epoch`.
std::map<std::string, bool> changed_under(const std::string& strategy, int epoch = 1,
                                          int unfreeze_every = 1) {
  auto model = small_fnet();
  TrainConfig o;
  o.finetune = strategy;
  o.unfreeze_every = unfreeze_every;
  o.lr = 1e-2;
  o.weight_decay = 0.1; // decay must not touch frozen weights either
  const auto before = copy_state(*model);
  train_steps(*model, o, epoch);
  std::map<std::string, bool> changed;
  for (const auto& [key, value] : copy_state(*model))
    changed[key] = !torch::equal(value, before.at(key));
  return changed;
}

} // namespace

TEST(Finetuning, FullTrainsEveryParameter) {
  for (const auto& [key, changed] : changed_under("full")) {
    if (key.find("num_batches_tracked") == std::string::npos) {
      EXPECT_TRUE(changed) << key;
    }
  }
}

TEST(Finetuning, LinearProbeChangesOnlyTheHeadAndFreezesBatchNormStatistics) {
  for (const auto& [key, changed] : changed_under("linear_probe"))
    EXPECT_EQ(changed, starts_with(key, "head.")) << key; // running stats included
}

TEST(Finetuning, BnOnlyTrainsNormalisationAffineParametersAndTheHead) {
  for (const auto& [key, changed] : changed_under("bn_only")) {
    // stageN.1 is the batch norm: weight, bias and (train mode) its statistics move.
    const bool norm = key.find(".1.") != std::string::npos;
    EXPECT_EQ(changed, starts_with(key, "head.") || norm) << key;
  }
}

TEST(Finetuning, LayerwiseUnfreezesOneGroupFromTheTopEveryFewEpochs) {
  TrainConfig o;
  o.finetune = "layerwise";
  o.unfreeze_every = 2;
  const auto at = [&](int epoch) { return parts::trainable_groups(o, 5, epoch); };
  EXPECT_EQ(at(1), (std::vector<bool>{false, false, false, false, true}));
  EXPECT_EQ(at(2), (std::vector<bool>{false, false, false, false, true}));
  EXPECT_EQ(at(3), (std::vector<bool>{false, false, false, true, true}));
  EXPECT_EQ(at(7), (std::vector<bool>{false, true, true, true, true}));
  EXPECT_EQ(at(9), std::vector<bool>(5, true));
  EXPECT_EQ(at(40), std::vector<bool>(5, true));
  // Epoch 3 trains stage4 and the head; stages 1-3 stay bit-identical.
  for (const auto& [key, changed] : changed_under("layerwise", 3, 2))
    EXPECT_EQ(changed, starts_with(key, "head.") || starts_with(key, "stage4.")) << key;
}

TEST(Finetuning, UnknownStrategyIsAProgrammingError_TheSchemaRefusesItFirst) {
  TrainConfig o;
  o.finetune = "partial";
  try {
    parts::trainable_groups(o, 5, 1);
    FAIL() << "no logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "train.finetune 'partial' passed the config schema");
  }
}

TEST(LayerRates, DecayGeometricallyFromTheHeadDownAndReachTheOptimizer) {
  auto model = small_fnet();
  TrainConfig o;
  o.lr = 1e-3;
  o.weight_decay = 0.04;
  o.layer_lr_decay = 0.5;
  o.layer_wd_decay = 0.25;
  const auto groups = model->layer_groups();
  const auto rates = parts::layer_rates(groups, o);
  ASSERT_EQ(rates.size(), 5u);
  const std::vector<std::string> names{"stage1", "stage2", "stage3", "stage4", "head"};
  for (std::size_t g = 0; g < 5; ++g) {
    const double depth = double(4 - g);
    EXPECT_EQ(rates[g].name, names[g]);
    EXPECT_DOUBLE_EQ(rates[g].lr, 1e-3 * std::pow(0.5, depth)) << names[g];
    EXPECT_DOUBLE_EQ(rates[g].weight_decay, 0.04 * std::pow(0.25, depth)) << names[g];
  }
  EXPECT_DOUBLE_EQ(rates[0].lr, 6.25e-5); // stage1: 1e-3 / 16
  auto optimizer = parts::make_optimizer(o, groups, rates);
  parts::set_learning_rates(*optimizer, rates, 0.1);
  for (std::size_t g = 0; g < 5; ++g) {
    auto& options =
        static_cast<torch::optim::AdamWOptions&>(optimizer->param_groups()[g].options());
    EXPECT_DOUBLE_EQ(options.lr(), rates[g].lr * 0.1);
    EXPECT_DOUBLE_EQ(options.weight_decay(), rates[g].weight_decay);
    EXPECT_EQ(optimizer->param_groups()[g].params().size(), groups[g].parameters().size());
  }
}

TEST(LayerRates, SgdTakesMomentumAndNesterov) {
  auto model = small_fnet();
  TrainConfig o;
  o.optimizer = "sgd";
  o.momentum = 0.8;
  o.nesterov = true;
  const auto groups = model->layer_groups();
  auto optimizer = parts::make_optimizer(o, groups, parts::layer_rates(groups, o));
  auto& options =
      static_cast<torch::optim::SGDOptions&>(optimizer->param_groups().front().options());
  EXPECT_DOUBLE_EQ(options.momentum(), 0.8);
  EXPECT_TRUE(options.nesterov());
  o.momentum = 0;
  EXPECT_THROW(parts::make_optimizer(o, groups, parts::layer_rates(groups, o)), std::logic_error);
}

TEST(Schedule, WarmUpThenConstantStepOrCosine) {
  TrainConfig o;
  o.max_epochs = 10;
  const std::int64_t per_epoch = 4; // 40 steps in all
  o.warmup_epochs = 2;              // 8 warm-up steps
  for (const char* kind : {"constant", "step", "cosine"}) {
    o.schedule = kind;
    EXPECT_DOUBLE_EQ(parts::schedule_factor(o, 0, per_epoch), 1.0 / 8) << kind;
    EXPECT_DOUBLE_EQ(parts::schedule_factor(o, 7, per_epoch), 1.0) << kind;
  }
  o.schedule = "constant";
  EXPECT_DOUBLE_EQ(parts::schedule_factor(o, 39, per_epoch), 1.0);
  o.schedule = "cosine"; // over the 32 steps after warm-up
  EXPECT_DOUBLE_EQ(parts::schedule_factor(o, 8, per_epoch), 1.0);
  EXPECT_NEAR(parts::schedule_factor(o, 24, per_epoch), 0.5, 1e-12);
  EXPECT_NEAR(parts::schedule_factor(o, 40, per_epoch), 0.0, 1e-12);
  o.schedule = "step";
  o.warmup_epochs = 0;
  o.step_epochs = 3;
  o.step_gamma = 0.1;
  EXPECT_DOUBLE_EQ(parts::schedule_factor(o, 11, per_epoch), 1.0);    // epoch 3
  EXPECT_DOUBLE_EQ(parts::schedule_factor(o, 12, per_epoch), 0.1);    // epoch 4
  EXPECT_NEAR(parts::schedule_factor(o, 39, per_epoch), 1e-3, 1e-15); // epoch 10
}

TEST(Loss, FocalAndWeightedBceMatchTorchvisionAndTorch) {
  // Reference: /usr/bin/python3, torch 1.13 / torchvision 0.14.1 (Debian 12):
  //   x = [[-2.0],[-0.5],[0.0],[0.7],[3.0]]; y = [[0.],[1.],[1.],[0.],[1.]]
  //   torchvision.ops.sigmoid_focal_loss(x, y, alpha, gamma, reduction='mean')
  //   torch.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=tensor([3.0]))
  const auto x = torch::tensor({-2.0F, -0.5F, 0.0F, 0.7F, 3.0F}).reshape({5, 1});
  const auto y = torch::tensor({0.0F, 1.0F, 1.0F, 0.0F, 1.0F}).reshape({5, 1});
  TrainConfig o;
  o.loss = "focal";
  const auto focal = [&](double alpha, double gamma) {
    o.focal_alpha = alpha;
    o.focal_gamma = gamma;
    return parts::batch_loss(o, x, y, torch::Tensor()).item<double>();
  };
  EXPECT_NEAR(focal(0.25, 2.0), 0.10169265419244766, 1e-6);
  EXPECT_NEAR(focal(-1, 2.0), 0.20903122425079346, 1e-6);
  EXPECT_NEAR(focal(0.75, 0.5), 0.23766270279884338, 1e-6);
  o.loss = "bce";
  EXPECT_NEAR(parts::batch_loss(o, x, y, torch::full({1}, 3.0)).item<double>(), 1.2755097150802612,
              1e-6);
  o.loss = "hinge";
  EXPECT_THROW(parts::batch_loss(o, x, y, torch::Tensor()), std::logic_error);
}
