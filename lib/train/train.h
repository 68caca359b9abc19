// vfp::train — fits a classifier on 2D patches with early stopping and scores held-out
// patches. The API is torch-free so that tasks and the runner never include torch.
#pragma once

#include "loader/loader.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vfp::train {

/// Everything that shapes one training run (mirrors the config's model/train sections).
struct TrainOptions {
  std::string arch = "fnet";
  int width = 16;
  double dropout = 0.2;
  std::string optimizer = "adamw"; ///< adamw, adam or sgd (momentum 0.9)
  double lr = 1e-4;
  double weight_decay = 1e-4;
  int batch_size = 16;
  int max_epochs = 50;
  int patience = 8;
  double min_delta = 0.0;
  bool augment = true;
  loader::AugmentOptions augmentation; ///< used when `augment` (its `enabled` is ignored)
  std::string sampling = "shuffle";    ///< shuffle, or balanced (each class half the draws)
  int loader_threads = 1;              ///< background batch makers; 0 = in the training thread
  bool balanced_loss = true; ///< BCE pos_weight = negatives / positives (shuffle sampling only)
  std::string aggregation = "max"; ///< patient level: max or mean over a subject's patches
  std::uint64_t seed = 0;          ///< from the task id
  int threads = 1;
};

/// Patches and the split of one outer fold. Indices refer to patches.
struct FoldData {
  const float* pixels = nullptr; ///< [n][channels][height][width], values in [0, 1]
  int channels = 1;
  int height = 0;
  int width = 0;
  std::vector<int> patch_subject; ///< subject index of each patch
  std::vector<int> subject_label; ///< 0/1 per subject index
  std::vector<int> train, validation, test;
};

/// One epoch's figures.
struct EpochLog {
  int epoch = 0;
  double train_loss = 0;
  double val_auroc = 0; ///< patient level
  double seconds = 0;
  double data_wait_seconds = 0;
};

/// Result of a run: the best epoch's model scored on the test patches.
struct Outcome {
  std::vector<float> test_scores; ///< sigmoid probability per FoldData::test patch
  int best_epoch = 0;
  int epochs_run = 0;
  double best_val_auroc = 0;
  std::vector<EpochLog> history;
  double train_seconds = 0;     ///< in training steps, waiting for data included
  double data_wait_seconds = 0; ///< steps waiting for the loader (stall)
};

/// Trains with early stopping on patient-level validation AUROC, restores the best epoch and
/// scores the test patches. Throws vfp::TaskError on NaN loss or degenerate splits.
Outcome fit_and_score(const TrainOptions& options, const FoldData& data,
                      const std::function<void(const EpochLog&)>& on_epoch = {});

/// Patient-level scores: aggregates patch scores per subject (max or mean). Returns subject
/// indices (sorted) and their scores.
void aggregate_by_subject(const std::vector<int>& patch_subject, const std::vector<int>& patches,
                          const std::vector<float>& scores, const std::string& how,
                          std::vector<int>& subjects, std::vector<double>& subject_scores);

} // namespace vfp::train
