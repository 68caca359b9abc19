// vfp::train — fits a classifier on 2D patches with early stopping and scores held-out
// patches. The API is torch-free so that tasks and the runner never include torch.
#pragma once

#include "config/sections.h"
#include "loader/loader.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vfp::train {

/// Everything that shapes one training run: the config's sections as they are (one source of
/// every option and default, validated by the config schema), and how the run runs.
struct TrainOptions {
  config::ModelConfig model; ///< arch, width, dropout, head_hidden (dims: from the patches)
  /// The weights to start from, resolved by the task: `file` empty means random
  /// initialisation (whatever the mode), and `mode` itself is not read here.
  config::PretrainedConfig pretrained;
  config::TrainConfig train;               ///< its threads, device and amp: see `run`
  config::AugmentationConfig augmentation; ///< used when train.augment
  config::RunSettings run;                 ///< seed, threads, device, amp, checkpoint
  std::string save_model; ///< when set: the best epoch's weights go here (safetensors)
};

/// Patches and the split of one outer fold. Indices refer to patches.
struct FoldData {
  /// Patch i: [channels][(depth)][height][width], values in [0, 1]. Training, validation and
  /// test scoring read through it, a batch at a time (a cache read patch by patch: memory does
  /// not grow with the number of patches). Must outlive fit_and_score.
  const loader::PatchSource* source = nullptr;
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
  /// An encoder's sizes by config key ("model.vit.dim" → "32"); a key the architecture does
  /// not read is an InputError.
  std::map<std::string, std::string> sizes;
};

/// Writes `w`'s model as safetensors (atomically); returns the number of tensors. Throws
/// vfp::InputError for an unknown architecture or dims.
int write_initial_weights(const InitialWeights& w, const std::string& file);

/// The LibTorch this vfp was built with (TORCH_VERSION, e.g. "2.3.1"), for the rows' provenance.
std::string libtorch_version();

/// What `vfp --version` says of LibTorch: its version and whether CUDA was compiled in, with
/// the CUDA runtime's version ("LibTorch 2.15.0, CUDA 13.2 compiled in" or "LibTorch 1.13.0,
/// CPU only: no CUDA compiled in"). Asks the linked library, not the headers.
std::string libtorch_build();

/// A CUDA device as the rows' provenance names it; every field "" where not known.
struct CudaDevice {
  std::string name;   ///< e.g. "NVIDIA H100 80GB HBM3"
  std::string cuda;   ///< the CUDA runtime LibTorch uses, e.g. "12.1"
  std::string cudnn;  ///< e.g. "8.9.2"; "" without cuDNN
  std::string bus_id; ///< PCI, e.g. "0000:1B:00.0"
  std::string uuid;   ///< e.g. "GPU-6f2b…", as nvidia-smi -L writes it
};

/// `device` ("cuda:<index>", Outcome::device) described; all "" for "cpu", a LibTorch without
/// CUDA, or a device the driver does not name.
CudaDevice describe_cuda_device(const std::string& device);

/// Every CUDA device this process sees, described (none: a LibTorch without CUDA, or no
/// device visible): what each rank logs at start, and what a GPU job's worker must have.
std::vector<CudaDevice> visible_cuda_devices();

} // namespace vfp::train
