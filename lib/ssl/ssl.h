// vfp::ssl — self-supervised pretraining of a registry backbone on unlabelled patches (BYOL,
// 2D and 3D). The API is torch-free so that tasks and the runner never include torch; the
// checkpoint it writes loads into a classifier through the `pretrained` section
// (prefix `online.backbone.`).
#pragma once

#include "config/sections.h"
#include "loader/loader.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vfp::ssl {

/// Everything that shapes one BYOL run: the config's sections as they are (one source of every
/// option and default, validated by the config schema), and how the run runs.
struct ByolOptions {
  /// The backbone: arch from the model registry (its head is not trained) and width (fNet's
  /// first-stage channels); the other keys are not read.
  config::ModelConfig model;
  /// projector/predictor MLPs, optimizer (adamw, or lars: momentum 0.9, trust coefficient
  /// 0.001, so give it lr ~1), cosine (lr to 0 over the run, as BYOL) or constant schedule,
  /// weight decay (not on biases and batch-norm parameters), batch_size (≥ 2 for batch norm;
  /// a last batch of 1 is dropped), the EMA rate tau_k = 1 − (1 − tau_base)·(cos(πk/K) + 1)/2
  /// at step k of K, and the two views per patch (random resized crop of [crop_min_scale, 1]
  /// of the area or volume, flips of each axis with probability ½, intensity shift ±brightness,
  /// contrast 1 ± contrast about the mean, Gaussian blur with σ in [0.1, 1.5] pixels, noise).
  /// `data` is the task's business.
  config::SslConfig ssl;
  /// seed (initialisation, epoch order and views), threads, device, amp (CUDA: bfloat16
  /// autocast of the forward passes) and `checkpoint`: the progress file, written after every
  /// epoch, atomically: a run that finds it (same options and patches) continues after its
  /// last whole epoch and ends with the checkpoint an uninterrupted run writes; removed once
  /// the checkpoint is written. Empty: no resume.
  config::RunSettings run;
};

/// Unlabelled patches: a source of `count` patches [channels][(depth)][height][width] and the
/// ones to train on (`items`, patch numbers; BYOL never sees labels). Each step reads its batch
/// through the source (a cache read patch by patch: memory does not grow with `count`).
struct Patches {
  const loader::PatchSource* source = nullptr; ///< must outlive pretrain_byol
  int count = 0; ///< patches in the source; every item must be below it
  int channels = 1;
  int depth = 0; ///< 0: 2D patches and a 2D backbone; > 0: 3D
  int height = 0;
  int width = 0;
  std::vector<int> items;
  /// Names the patches' pixels for the resume check (a progress file is continued only over
  /// the same pixels), e.g. a hash of a cache's per-patch checksums, which its reads verify.
  /// Empty: pretrain_byol reads every item through the source once, before training, to
  /// checksum it (only when run.checkpoint is set).
  std::string identity;
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
  std::string device; ///< where it trained: "cpu" or "cuda:<index>"
};

/// Trains BYOL on the patches and writes the checkpoint (safetensors) atomically: the tensors
/// `online.backbone.*` (the registry's names, head left out), `online.projector.*`,
/// `online.predictor.*`, `target.backbone.*`, `target.projector.*`, and metadata (format
/// "vfp-byol", arch, dims, in_channels, width, projector_hidden, projection_dim, optimizer,
/// epochs, steps, seed, vfp_version). Throws vfp::InputError naming bad patches,
/// std::logic_error naming an option the config schema refuses, vfp::IoError naming a
/// checkpoint path that cannot be written (checked before training; an existing file is never
/// left half-written) and vfp::TaskError on a NaN/inf loss (naming epoch and step).
ByolOutcome pretrain_byol(const ByolOptions& options, const Patches& patches,
                          const std::string& checkpoint,
                          const std::function<void(const EpochLog&)>& on_epoch = {});

} // namespace vfp::ssl
