// Private to lib/ssl (and its tests): BYOL's networks and schedule, the two-view
// augmentation and the LARS optimizer.
#pragma once

#include "models/models.h"
#include "ssl/ssl.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace vfp::ssl::detail {

/// BYOL's EMA rate at step k of K: tau_base at k = 0, rising along a cosine to 1 at k = K.
double tau_at(double tau_base, std::int64_t step, std::int64_t total_steps);

/// Linear → BatchNorm1d → ReLU → Linear: BYOL's projector and predictor.
torch::nn::Sequential make_mlp(std::int64_t in, std::int64_t hidden, std::int64_t out);

/// The online network (backbone, projector, predictor) and the target (backbone, projector),
/// registered as `online.*` and `target.*`. The target starts as a copy of the online
/// network, never receives gradients and moves only through update_target().
class ByolNet : public torch::nn::Module {
public:
  ByolNet(const models::ModelSpec& spec, std::int64_t projector_hidden,
          std::int64_t projection_dim);

  /// Symmetric loss 2 − 2·cos(q(v1), z'(v2)) + 2 − 2·cos(q(v2), z'(v1)), mean over the batch;
  /// the target's outputs are constants.
  torch::Tensor loss(const torch::Tensor& view1, const torch::Tensor& view2);
  /// target ← tau·target + (1 − tau)·online, for every parameter (head excluded).
  void update_target(double tau);
  /// The parameters the optimizer trains: the online network without the backbone's head.
  std::vector<torch::Tensor> trainable_parameters();
  /// The checkpoint's tensors: online and target, the backbones' unused heads left out.
  models::StateDict checkpoint_state();

  models::Classifier& online_backbone() { return *online_backbone_; }
  models::Classifier& target_backbone() { return *target_backbone_; }
  /// (target, online) parameter pairs that update_target() blends, in registration order.
  const std::vector<std::pair<torch::Tensor, torch::Tensor>>& ema_pairs() const { return ema_; }

private:
  std::shared_ptr<models::Classifier> online_backbone_, target_backbone_;
  torch::nn::Sequential online_projector_{nullptr}, online_predictor_{nullptr},
      target_projector_{nullptr};
  std::vector<std::pair<torch::Tensor, torch::Tensor>> ema_;
  std::vector<std::string> head_modules_; ///< the backbone's head submodules ("head", "fc")
};

/// A random view of every patch of a batch [N, C, H, W] or [N, C, D, H, W], drawn from `gen`:
/// random resized crop (area from [crop_min_scale, 1], aspect within 3:4 … 4:3) with flips,
/// brightness/contrast jitter (clamped to [0, 1]), Gaussian blur with probability
/// blur_probability, then Gaussian noise. Same generator state, same view.
torch::Tensor random_view(const torch::Tensor& batch, const ByolOptions& options,
                          at::Generator& gen);

/// LARS (You et al. 2017, as in BYOL): SGD with momentum whose step for an adapted tensor w
/// with gradient g is scaled by the trust ratio eta·‖w‖/‖g + wd·w‖ (weight decay included);
/// excluded tensors (biases, batch-norm parameters) get neither decay nor scaling:
///   u = adapted ? trust·(g + wd·w) : g;  v ← momentum·v + u;  w ← w − lr·v.
struct LarsOptions {
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 0;
  double eta = 0.001;
};
class Lars {
public:
  Lars(const std::vector<torch::Tensor>& adapted, const std::vector<torch::Tensor>& excluded,
       LarsOptions options);
  void zero_grad();
  void step();
  void set_lr(double lr) { options_.lr = lr; }
  /// The momentum buffers, in the order of construction (adapted, then excluded): for
  /// checkpoints. They start at zero, which steps exactly like an absent buffer.
  std::vector<torch::Tensor> velocities() const;

private:
  struct Slot {
    torch::Tensor param, velocity;
    bool adapted = true;
  };
  std::vector<Slot> slots_;
  LarsOptions options_;
};

/// AdamW, or LARS, over the online parameters; decay (and LARS adaptation) only on weights.
class ByolOptimizer {
public:
  ByolOptimizer(const ByolOptions& options, const std::vector<torch::Tensor>& params);
  void set_lr(double lr);
  void zero_grad();
  void step();
  void save(torch::serialize::OutputArchive& archive);
  void load(torch::serialize::InputArchive& archive);

private:
  std::unique_ptr<Lars> lars_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

/// Where a run stands after its last whole epoch.
struct ByolProgress {
  int epoch = 0;
  std::int64_t steps = 0;
  std::vector<EpochLog> history;
  std::vector<int> order; ///< the items in the last epoch's order (each epoch reshuffles it)
};

/// Writes everything a run needs to continue after `progress.epoch` (networks, optimizer,
/// the views' generator, the epoch-order engine, progress) to `file`, atomically.
/// `fingerprint` names the run (options, data); a different run refuses the file.
void save_progress(const std::string& file, const std::string& fingerprint, ByolNet& net,
                   ByolOptimizer& optimizer, const at::Generator& views,
                   const std::mt19937_64& order, const ByolProgress& progress);
/// Restores what save_progress() wrote; false when `file` does not exist. Throws
/// vfp::TaskError naming the file when it belongs to another run or cannot be read.
bool load_progress(const std::string& file, const std::string& fingerprint, ByolNet& net,
                   ByolOptimizer& optimizer, at::Generator& views, std::mt19937_64& order,
                   ByolProgress& progress);

/// BYOL's weight-decay rule: biases and batch-norm parameters (the 1-D tensors) are excluded.
bool decays(const torch::Tensor& parameter);

} // namespace vfp::ssl::detail
