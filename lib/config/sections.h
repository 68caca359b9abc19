// vfp::config sections — the configuration's sections as plain structs with their defaults:
// the one source of every option. std-only (no yaml-cpp, no JSON), so that lib/train, lib/ssl
// and lib/models take these structs directly, also in the torch-only build.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::config {

/// Where the cohort lives; relative paths in YAML resolve against the YAML file's folder.
struct CohortConfig {
  std::filesystem::path csv;             ///< subject_id,age,bmi,event,time_years[,site]
  std::string images;                    ///< pattern with {id}: a file, or a DICOM series folder
  std::string centroids;                 ///< pattern with {id} (verse, labelmap) or one file (csv)
  std::string centroid_format = "verse"; ///< verse (JSON), csv (world mm) or labelmap
  std::string centroid_space = "lps";    ///< csv coordinates: lps (ITK, DICOM) or ras (NIfTI)
  std::string on_bad_subject = "error";  ///< error, or exclude (warn, leave the subject out)
  /// Which series of a DICOM folder is the CT: largest (the axial series with the most
  /// slices), uid:<SeriesInstanceUID> or desc:<SeriesDescription glob>; a cohort table's
  /// `dicom_series` cell overrides it per subject.
  std::string dicom_series = "largest";
};

/// Patch extraction; the defaults follow the study group's published pipeline.
struct PreprocessConfig {
  double spacing_mm = 1.0; ///< isotropic target spacing
  double patch_mm = 47.0;  ///< cube edge centred on the vertebra centroid
  double hu_min = -100.0;  ///< clipping window, then scaled to [0, 1]
  double hu_max = 1000.0;
  std::string projection = "aip";    ///< aip (average), mip (maximum) or slice (central)
  std::string axis = "sagittal";     ///< projection axis: sagittal, coronal or axial
  double slab_mm = 30.0;             ///< slab width of the projection
  int slab_start = -1;               ///< first slab slice (voxels); -1 = centred in the cube
  int patch_voxels = 0;              ///< cube edge in voxels; 0 = patch_mm / spacing_mm
  std::vector<std::string> channels; ///< several projection axes as channels; empty = {axis}
  std::string output = "2d";         ///< 2d (projections) or 3d (the resampled cube)
  /// Vertebrae to cut, each a patch; [all]: every vertebra T1–L5 a subject's centroids label
  /// (an unlabelled pretraining cohort: more patches per scan).
  std::vector<std::string> vertebrae{"L1", "L2"};
  int compression = 0; ///< gzip level of the cache's chunks (0 = none)
  /// How the cache stores pixel values: float32 (as computed), float16 or uint16 (the [0, 1]
  /// window × 65535), each half the bytes, converted back to float on read.
  std::string dtype = "float32";
  bool content_hash = false; ///< key sources by content hash, not only size and mtime

  /// Voxels per cube edge and their spacing, from patch_mm, spacing_mm and patch_voxels.
  int cube_voxels() const {
    return patch_voxels > 0 ? patch_voxels
                            : std::max(1, static_cast<int>(std::lround(patch_mm / spacing_mm)));
  }
  double cube_spacing() const { return patch_voxels > 0 ? patch_mm / patch_voxels : spacing_mm; }
};

/// Stratified nested cross-validation.
struct CvConfig {
  int folds = 4;
  int repeats = 1;
  std::uint64_t seed = 2024;
  double val_fraction = 0.2; ///< inner validation share of each outer training set
};

/// Architecture from the model registry.
struct ModelConfig {
  std::string arch = "fnet";
  int dims = 2;
  int width = 16; ///< fNet: channels of the first stage
  double dropout = 0.2;
  int head_hidden = 0; ///< 0: a linear head; > 0: an MLP head with this many hidden units
  /// ctclip_vit (CT-CLIP's CTViT encoder), named as CTViT's constructor arguments. The
  /// defaults make a small model (tests, `vfp models`); CT-CLIP's published encoder is
  /// patch_size 20, temporal_patch_size 10, dim 512, spatial_depth 4, temporal_depth 4,
  /// heads 8, dim_head 32 (docs/foundation_encoders.md).
  struct Vit {
    int patch_size = 8;          ///< in-plane patch side (voxels); H, W must be multiples
    int temporal_patch_size = 4; ///< patch extent along depth (slices); D must be a multiple
    int dim = 64;                ///< token width
    int spatial_depth = 2;       ///< transformer layers attending within each slab of slices
    int temporal_depth = 2;      ///< transformer layers attending along depth
    int heads = 4;
    int dim_head = 16;
  } vit;
  /// vista3d_segresnet (VISTA3D's SegResNetDS2 encoder): channels of its first level, doubled
  /// at each of the four downsamplings (MONAI's init_filters; vista3d132 has 48).
  struct SegResNet {
    int init_filters = 48;
  } segresnet;
};

/// Pretrained weights loaded into the model before training (lib/models: load_pretrained).
struct PretrainedConfig {
  std::filesystem::path file;     ///< safetensors or torch.save state dict; empty: none
  std::filesystem::path key_map;  ///< foreign checkpoint names → ours
  std::string prefix;             ///< keys under it only, stripped ("online.backbone.")
  std::string inflation = "mean"; ///< 2D file into a 3D model: mean (I3D) or centre (Merlin)
  std::string channels = "sum";   ///< first layer RGB → CT: sum or mean
  bool strict = true;             ///< every backbone key must load
  bool keep_head = false;         ///< load the file's head as well
  /// none (random initialisation, `file` ignored: lets a sweep compare with and without),
  /// imagenet (2D torchvision-layout weights; inflated for 3D), ssl (a BYOL checkpoint from
  /// the pretrain task: prefix online.backbone.), checkpoint (any file, with key_map).
  /// Empty: checkpoint when a file is given, else none.
  std::string mode;
  /// The mode in effect.
  std::string effective_mode() const {
    return !mode.empty() ? mode : file.empty() ? "none" : "checkpoint";
  }
};

/// Optimisation and early stopping.
struct TrainConfig {
  std::string optimizer = "adamw"; ///< adamw, adam or sgd
  double momentum = 0.9;           ///< sgd
  bool nesterov = false;           ///< sgd
  double lr = 1e-4;
  double weight_decay = 1e-4;
  std::string schedule = "constant"; ///< constant, step or cosine (after warm-up)
  int warmup_epochs = 0;
  int step_epochs = 10;          ///< step schedule: every this many epochs …
  double step_gamma = 0.1;       ///< … multiply the rate by this
  std::string finetune = "full"; ///< full, linear_probe, layerwise or bn_only
  int unfreeze_every = 1;        ///< layerwise: epochs between unfreezing the next group
  double layer_lr_decay = 1.0;   ///< lr · decay^d for the group d below the head
  double layer_wd_decay = 1.0;   ///< weight decay likewise
  std::string loss = "bce";      ///< bce or focal
  double focal_gamma = 2.0;
  double focal_alpha = 0.25;     ///< < 0: no class weight
  std::string stop_on = "auroc"; ///< early stopping on validation auroc or loss
  int batch_size = 16;
  int max_epochs = 50;
  int patience = 8; ///< epochs without validation-AUROC gain before stopping
  double min_delta = 0.0;
  bool augment = true;              ///< on-the-fly augmentation (see AugmentationConfig)
  std::string sampling = "shuffle"; ///< shuffle, or balanced (each class half the draws)
  int loader_threads = 1;           ///< background batch makers; 0 = in the training thread
  bool balanced_loss = true;        ///< pos_weight = negatives / positives (shuffle only)
  std::string aggregation = "max";  ///< patient-level: max, mean or noisy_or over vertebrae
  // threads, device and amp reach the trainers through RunSettings (run_settings).
  int threads = 0;             ///< 0 = from the rank's CPU affinity
  bool save_model = false;     ///< write tasks/<id>/model.safetensors (best epoch)
  std::string device = "auto"; ///< auto, cpu or cuda
  bool amp = true;             ///< CUDA only: bfloat16 autocast
  /// CUDA: cuDNN's deterministic algorithms without autotuning, torch's deterministic
  /// algorithms (an op without one fails the task): the same numbers on every run of a task.
  bool deterministic = false;

  /// True when training moves the output's prior to ½: a class-weighted BCE (balanced_loss
  /// with shuffle sampling: the trainer's pos_weight = negatives/positives, which it applies
  /// to bce only, never to focal) or class-balanced sampling (with either loss). Recalibration
  /// then undoes log(negatives/positives) first.
  bool shifts_prior() const {
    return sampling == "balanced" || (balanced_loss && sampling == "shuffle" && loss == "bce");
  }
};

/// On-the-fly augmentation when train.augment is on; ranges are uniform and symmetric.
struct AugmentationConfig {
  double flip = 0.5;             ///< probability of mirroring the patch's width axis
  double rotate_deg = 10.0;      ///< 2D: in-plane angle; 3D: about each axis
  double scale = 0.1;            ///< zoom in [1 - scale, 1 + scale]
  double intensity_shift = 0.02; ///< added to the [0, 1] values
  double intensity_scale = 0.05; ///< gain in [1 - s, 1 + s]
  double noise_std = 0.01;       ///< Gaussian noise per voxel
};

/// BYOL pretraining by the pretrain task, for pretrained.mode: ssl without pretrained.file.
/// One pretraining serves every configuration and fold that asks for the same one.
struct SslConfig {
  /// all: every patch of the cache (BYOL uses no labels, so test subjects may take part);
  /// outer_train: only each outer fold's training subjects (one pretraining per fold);
  /// external: the patches of `cohort`, a separate unlabelled cohort (the default when it is
  /// set), one pretraining shared by every fold.
  std::string data = "all";
  /// The external pretraining cohort (ssl.cohort.*, the keys of `cohort:`): its table needs
  /// only a subject_id column, or none (csv empty: every image the `images` pattern's folder
  /// holds). Unset (images empty) when BYOL pretrains on the labelled cohort.
  CohortConfig cohort;
  /// The external cohort's vertebrae, each a patch (preprocess.vertebrae of its cache);
  /// [all]: every vertebra T1–L5 a subject's centroids label.
  std::vector<std::string> vertebrae{"all"};
  /// True when BYOL pretrains on an external cohort (ssl.cohort is set).
  bool external() const { return !cohort.images.empty(); }
  int epochs = 20;
  int batch_size = 32;
  std::string optimizer = "adamw"; ///< adamw or lars
  double lr = 1e-3;                ///< peak; LARS wants ~0.2 · batch_size / 256 · 1000
  std::string schedule = "cosine"; ///< cosine or constant
  double weight_decay = 1e-6;
  double tau_base = 0.996; ///< EMA rate of the target, annealed to 1
  int projector_hidden = 512;
  int projection_dim = 128;
  double crop_min_scale = 0.5; ///< the two views: random resized crop, flips, jitter, blur, noise
  bool flips = true;
  double brightness = 0.2;
  double contrast = 0.2;
  double blur_probability = 0.5;
  double noise_std = 0.02;
};

/// The survival analysis of the pooled out-of-fold predictions (the cox task). Not part of
/// the configuration id: it changes no training, only the analysis (the cox task's id
/// carries it instead).
struct CoxConfig {
  int bootstrap = 200; ///< resamples of Harrell's optimism correction of the C-index; 0: none
};

/// How one training or pretraining runs, beside what it learns: what a task resolves from the
/// config (train.threads, train.device, train.amp) and its context (seed, rank, files).
struct RunSettings {
  std::uint64_t seed = 0;      ///< from the task id: one seed, one result
  int threads = 1;             ///< torch intra-op threads (train.threads, or the rank's CPUs)
  std::string device = "auto"; ///< auto (CUDA when LibTorch has it, else CPU), cpu or cuda
  int local_rank = 0;          ///< CUDA device: local_rank % number of visible devices
  bool amp = true;             ///< on CUDA: bfloat16 autocast of the forward passes
  bool deterministic = false;  ///< train.deterministic (models::use_deterministic_algorithms)
  /// When set: the state is saved here after every epoch, and a run that finds the file
  /// resumes after its last epoch, ending as an uninterrupted run would.
  std::string checkpoint;
};

/// The run settings of a task: `train`'s threads (0: `default_threads`), device and amp.
inline RunSettings run_settings(const TrainConfig& train, std::uint64_t seed, int default_threads,
                                int local_rank) {
  RunSettings r;
  r.seed = seed;
  r.threads = train.threads > 0 ? train.threads : default_threads;
  r.device = train.device;
  r.local_rank = local_rank;
  r.amp = train.amp;
  r.deterministic = train.deterministic;
  return r;
}

} // namespace vfp::config
