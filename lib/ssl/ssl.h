// vfp::ssl — self-supervised pretraining of a registry backbone on unlabelled patches (BYOL,
// 2D and 3D). The API is torch-free so that tasks and the runner never include torch; the
// checkpoint it writes loads into a classifier through the `pretrained` section
// (prefix `online.backbone.`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vfp::ssl {

/// Everything that shapes one BYOL run.
struct ByolOptions {
  std::string arch = "fnet";       ///< backbone from the model registry (its head is not trained)
  int width = 16;                  ///< fNet's first-stage channels (other architectures ignore it)
  int projector_hidden = 512;      ///< hidden units of the projector and predictor MLPs
  int projection_dim = 128;        ///< output of the projector and predictor
  std::string optimizer = "adamw"; ///< adamw, or lars (momentum 0.9, trust coefficient 0.001)
  double lr = 1e-3;                ///< peak rate; LARS steps lr · 0.001 · ‖w‖, so give it ~1
  std::string schedule = "cosine"; ///< cosine (from lr to 0 over the run, as BYOL) or constant
  double weight_decay = 1e-6;      ///< not on biases and batch-norm parameters
  int batch_size = 32;             ///< at least 2 (batch norm); a last batch of 1 is dropped
  int epochs = 10;
  /// EMA rate of the target: tau_k = 1 − (1 − tau_base)·(cos(πk/K) + 1)/2 at step k of K.
  double tau_base = 0.996;
  // Two views per patch: random resized crop, flips, intensity jitter, blur, noise.
  double crop_min_scale = 0.5;   ///< crop area (volume in 3D) drawn from [this, 1] of the patch
  bool flips = true;             ///< mirror each spatial axis with probability ½
  double brightness = 0.2;       ///< intensity shift drawn from ±this
  double contrast = 0.2;         ///< contrast factor drawn from 1 ± this (about the mean)
  double blur_probability = 0.5; ///< Gaussian blur, σ drawn from [0.1, 1.5] pixels
  double noise_std = 0.02;       ///< additive Gaussian noise
  std::uint64_t seed = 0;        ///< initialisation, epoch order and views: one seed, one result
  int threads = 1;               ///< torch intra-op threads
  std::string device = "auto";   ///< auto, cpu or cuda (models::pick_device)
  int local_rank = 0;            ///< CUDA device local_rank % visible devices
  bool amp = true;               ///< CUDA only: bfloat16 autocast of the forward passes
  /// Written after every epoch, atomically: a run that finds it (same options and patches)
  /// continues after its last whole epoch and ends with the checkpoint an uninterrupted run
  /// writes; removed once the checkpoint is written. Empty: no resume.
  std::string progress_file;
};

/// Unlabelled patches: a buffer of `count` patches [count][channels][(depth)][height][width]
/// and the ones to train on (`items`, indices into the buffer; BYOL never sees labels).
struct Patches {
  const float* pixels = nullptr;
  int count = 0; ///< patches in the buffer; every item must be below it
  int channels = 1;
  int depth = 0; ///< 0: 2D patches and a 2D backbone; > 0: 3D
  int height = 0;
  int width = 0;
  std::vector<int> items;
};

/// One epoch's figures.
struct EpochLog {
  int epoch = 0;   ///< from 1
  double loss = 0; ///< mean symmetric BYOL loss over the epoch's steps (0 … 4)
  double tau = 0;  ///< EMA rate of the epoch's last step
  double seconds = 0;
};

/// What a run did.
struct ByolOutcome {
  std::vector<EpochLog> history; ///< every epoch, those before a resume included
  int resumed_from_epoch = 0;    ///< > 0: continued from progress_file after this epoch
  std::int64_t steps = 0;
  double seconds = 0;
};

/// Trains BYOL on the patches and writes the checkpoint (safetensors) atomically: the tensors
/// `online.backbone.*` (the registry's names, head left out), `online.projector.*`,
/// `online.predictor.*`, `target.backbone.*`, `target.projector.*`, and metadata (format
/// "vfp-byol", arch, dims, in_channels, width, projector_hidden, projection_dim, optimizer,
/// epochs, steps, seed, vfp_version). Throws vfp::InputError naming a bad option, vfp::IoError
/// naming a checkpoint path that cannot be written (checked before training; an existing file
/// is never left half-written) and vfp::TaskError on a NaN/inf loss (naming epoch and step).
ByolOutcome pretrain_byol(const ByolOptions& options, const Patches& patches,
                          const std::string& checkpoint,
                          const std::function<void(const EpochLog&)>& on_epoch = {});

} // namespace vfp::ssl
