// vfp::train — fits a classifier on 2D patches with early stopping and scores held-out
// patches. The API is torch-free so that tasks and the runner never include torch.
#pragma once

#include "loader/loader.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vfp::train {

/// Pretrained weights for the model (the config's `pretrained` section); see
/// models::PretrainedOptions, which this mirrors without torch types.
struct PretrainedWeights {
  std::string file;    ///< empty: random initialisation
  std::string key_map; ///< a foreign checkpoint's names onto ours (lib/models/key_maps/)
  std::string prefix;  ///< only keys under this prefix, stripped (e.g. "online.backbone.")
  std::string inflation = "mean"; ///< 2D file, 3D model: mean (I3D) or centre (Merlin)
  std::string channels = "sum";   ///< first layer, RGB → CT: sum or mean
  bool strict = true;             ///< every backbone key must load
  bool keep_head = false;         ///< load the file's head too (same outputs)
};

/// Everything that shapes one training run (mirrors the config's model/train sections).
struct TrainOptions {
  std::string arch = "fnet";
  int width = 16;
  double dropout = 0.2;
  int head_hidden = 0; ///< 0: linear head; > 0: MLP with this many hidden units
  PretrainedWeights pretrained;
  std::string save_model; ///< when set: the best epoch's weights go here (safetensors)
  /// When set: the training state is saved here after every epoch, and a run that finds the
  /// file resumes after its last epoch, ending as an uninterrupted run would.
  std::string checkpoint;
  std::string optimizer = "adamw"; ///< adamw, adam or sgd
  double momentum = 0.9;           ///< sgd
  bool nesterov = false;           ///< sgd
  double lr = 1e-4;
  double weight_decay = 1e-4;
  std::string schedule = "constant"; ///< constant, step or cosine (per step, to 0 at the end)
  int warmup_epochs = 0;             ///< linear warm-up from lr / steps to lr first
  int step_epochs = 10;              ///< step: multiply by step_gamma every step_epochs
  double step_gamma = 0.1;
  /// full, linear_probe (frozen backbone, batch-norm statistics too), layerwise (gradual
  /// unfreezing from the head down, one group every unfreeze_every epochs), bn_only
  /// (normalisation affine parameters and the head).
  std::string finetune = "full";
  int unfreeze_every = 1;
  double layer_lr_decay = 1.0; ///< lr of the group at depth d below the head: lr · decay^d
  double layer_wd_decay = 1.0; ///< weight decay likewise
  std::string loss = "bce";    ///< bce (pos_weight with balanced_loss) or focal
  double focal_gamma = 2.0;
  double focal_alpha = 0.25; ///< weight of positives in the focal loss; < 0: none
  int batch_size = 16;
  int max_epochs = 50;
  int patience = 8;
  double min_delta = 0.0;
  std::string stop_on = "auroc"; ///< early stopping on validation auroc (patient) or loss
  bool augment = true;
  loader::AugmentOptions augmentation; ///< used when `augment` (its `enabled` is ignored)
  std::string sampling = "shuffle";    ///< shuffle, or balanced (each class half the draws)
  int loader_threads = 1;              ///< background batch makers; 0 = in the training thread
  bool balanced_loss = true; ///< BCE pos_weight = negatives / positives (shuffle sampling only)
  std::string aggregation = "max"; ///< patient level: max, mean or noisy_or over patches
  std::uint64_t seed = 0;          ///< from the task id
  int threads = 1;
  std::string device = "auto"; ///< auto (CUDA when LibTorch has it, else CPU), cpu or cuda
  int local_rank = 0;          ///< CUDA device: local_rank % number of devices
  bool amp = true;             ///< on CUDA: bfloat16 autocast for forward and loss
};

/// Patches and the split of one outer fold. Indices refer to patches.
struct FoldData {
  const float* pixels = nullptr; ///< [n][channels][(depth)][height][width], values in [0, 1]
  int channels = 1;
  int depth = 0; ///< 0: 2D patches and a 2D model; > 0: 3D patches and a 3D model
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
  double val_auprc = 0; ///< patient level (average precision)
  double val_loss = 0;  ///< patch-level binary cross-entropy of the validation scores
  double lr = 0;        ///< the head's learning rate at the epoch's last step
  int trainable_tensors = 0;
  double seconds = 0;           ///< the whole epoch: training, validation, checkpoint
  double data_wait_seconds = 0; ///< training steps waiting for the loader
  double step_seconds = 0;      ///< in forward, backward and optimizer steps (the compute)
};

/// Result of a run: the best epoch's model scored on the test patches.
struct Outcome {
  std::vector<float> test_scores; ///< sigmoid probability per FoldData::test patch
  int best_epoch = 0;
  int epochs_run = 0;
  double best_val_auroc = 0;
  double best_val_auprc = 0; ///< at the best epoch (what nested selection may choose on)
  double best_val_loss = 0;  ///< at the best epoch
  std::vector<EpochLog> history;
  double train_seconds = 0;     ///< in training steps, waiting for data included
  double data_wait_seconds = 0; ///< steps waiting for the loader (stall)
  double step_seconds = 0;      ///< of train_seconds, in forward, backward and optimizer steps
  std::string pretrained;       ///< what the pretrained load did ("" without one)
  int resumed_from_epoch = 0;   ///< > 0: continued from a checkpoint written after this epoch
  std::string device;           ///< where it trained: "cpu" or "cuda:<index>"
};

/// Trains with early stopping on patient-level validation AUROC, restores the best epoch and
/// scores the test patches. Throws vfp::TaskError on NaN loss or degenerate splits.
Outcome fit_and_score(const TrainOptions& options, const FoldData& data,
                      const std::function<void(const EpochLog&)>& on_epoch = {});

/// Mean binary cross-entropy of the probabilities `scores` (one per entry of `patches`)
/// against their subjects' labels, clamped to [1e-7, 1 − 1e-7]: the validation loss early
/// stopping reads, and the inner tasks' test loss that nested selection may choose on.
double patch_log_loss(const FoldData& d, const std::vector<int>& patches,
                      const std::vector<float>& scores);

/// Patient-level scores: aggregates patch scores per subject (max, mean or noisy_or =
/// 1 - Π(1 - p)). Returns subject
/// indices (sorted) and their scores.
void aggregate_by_subject(const std::vector<int>& patch_subject, const std::vector<int>& patches,
                          const std::vector<float>& scores, const std::string& how,
                          std::vector<int>& subjects, std::vector<double>& subject_scores);

/// One architecture of the model registry, as `vfp models` lists it.
struct ArchitectureInfo {
  std::string name;
  std::string description;
  std::vector<int> dims;       ///< spatial dims it supports (2, 3 or both)
  std::int64_t parameters = 0; ///< trainable, for the requested dims/channels/outputs
  std::int64_t buffers = 0;    ///< batch-norm statistics etc. (values, not tensors)
  bool available = true;       ///< false: the requested dims are not supported
};

/// Every registry architecture, built for `dims`, `in_channels` and `outputs` to count its
/// parameters (torch-free, for the runner).
std::vector<ArchitectureInfo> list_architectures(int dims, int in_channels, int outputs);

/// A freshly initialised registry model to write as a weight file: in 2D with 3 channels and
/// 1000 outputs it has the layout (names, shapes) of torchvision's ImageNet weights, so smoke
/// runs and tests load "ImageNet" or foreign checkpoints without downloading any.
struct InitialWeights {
  std::string arch;
  int dims = 2;
  int in_channels = 3;
  int outputs = 1000;
  int width = 16;         ///< fNet
  std::uint64_t seed = 0; ///< torch's generator: same seed, same bytes
  std::string prefix;     ///< put before every key, e.g. "encode_image.i3_resnet." (Merlin)
};

/// Writes `w`'s model as safetensors (atomically); returns the number of tensors. Throws
/// vfp::InputError for an unknown architecture or dims.
int write_initial_weights(const InitialWeights& w, const std::string& file);

} // namespace vfp::train
