// Internal to lib/train (includes torch): the per-epoch training checkpoint from which a
// killed task resumes with the same result as an uninterrupted run.
#pragma once

#include "models/models.h"
#include "train/train.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace vfp::train::detail {

/// Where training stands after a completed epoch.
struct Progress {
  int epoch = 0;         ///< last completed epoch (0: none)
  std::int64_t step = 0; ///< optimizer steps so far (drives the schedule)
  double best = 0;       ///< best early-stopping figure so far
  int since_best = 0;
  int best_epoch = 0;
  double best_val_auroc = 0;
  double train_seconds = 0;
  std::vector<EpochLog> history;
};

/// Writes model, optimizer (moments, step counts), the best epoch's weights, torch's CPU
/// and every CUDA device's random state and `progress` to `path` through a temporary file and a
/// rename, so that a kill at any moment leaves either the previous checkpoint or the new one.
void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer,
                     const std::vector<torch::Tensor>& best_state, const Progress& progress);

/// Restores what save_checkpoint wrote; false when there is no file. A file that does not fit
/// the model (another architecture, say) is a vfp::TaskError naming it.
bool load_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer& optimizer, std::vector<torch::Tensor>& best_state,
                     Progress& progress);

} // namespace vfp::train::detail
