// vfp::config — YAML experiment config → typed, validated ExperimentConfig.
// Every error names file:line:column and the dotted key; unknown keys get a did-you-mean.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace vfp::config {

/// Where the cohort lives; relative paths in YAML resolve against the YAML file's folder.
struct CohortConfig {
  std::filesystem::path csv;             ///< subject_id,age,bmi,event,time_years[,site]
  std::string images;                    ///< pattern with {id}: a file, or a DICOM series folder
  std::string centroids;                 ///< pattern with {id} (verse, labelmap) or one file (csv)
  std::string centroid_format = "verse"; ///< verse (JSON), csv (world mm) or labelmap
  std::string centroid_space = "lps";    ///< csv coordinates: lps (ITK, DICOM) or ras (NIfTI)
  std::string on_bad_subject = "error";  ///< error, or exclude (warn, leave the subject out)
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
  std::vector<std::string> vertebrae{"L1", "L2"};
  int compression = 0;       ///< gzip level of the cache's chunks (0 = none)
  bool content_hash = false; ///< key sources by content hash, not only size and mtime

  /// Voxels per cube edge and their spacing, from patch_mm, spacing_mm and patch_voxels.
  int cube_voxels() const;
  double cube_spacing() const;
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
  int threads = 0;                  ///< 0 = from the rank's CPU affinity
  bool save_model = false;          ///< write tasks/<id>/model.safetensors (best epoch)
  std::string device = "auto";      ///< auto, cpu or cuda
  bool amp = true;                  ///< CUDA only: bfloat16 autocast

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
  /// outer_train: only each outer fold's training subjects (one pretraining per fold).
  std::string data = "all";
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

/// One fully resolved experiment (a point of a sweep).
struct ExperimentConfig {
  std::string name; ///< sweep name: results/<name>/
  CohortConfig cohort;
  PreprocessConfig preprocess;
  CvConfig cv;
  ModelConfig model;
  PretrainedConfig pretrained;
  TrainConfig train;
  AugmentationConfig augmentation;
  SslConfig ssl;
  CoxConfig cox;
  /// True when the pretrain task makes this configuration's weights (mode ssl, no file).
  bool runs_pretraining() const {
    return pretrained.effective_mode() == "ssl" && pretrained.file.empty();
  }
};

/// A YAML value with the place it came from, for error messages.
struct Located {
  YAML::Node node;
  std::string file;
  int line = 0;              ///< 1-based
  int column = 0;            ///< 1-based
  std::string where() const; ///< "file:line:column"
};

/// Flattened view of a YAML mapping: dotted key → value (sequences are leaves).
using FlatConfig = std::map<std::string, Located>;

/// Loads a YAML file (syntax errors become InputError with file:line:column). The tree is
/// checked: no duplicate or non-scalar keys, UTF-8 scalars, and, aliases expanded, no cycle,
/// at most 64 levels and 100000 values (InputError naming the file otherwise), so that every
/// later walk over it ends.
YAML::Node load_yaml_file(const std::filesystem::path& path);

/// The same for a document already read (`file` names it in errors): what other MPI ranks
/// parse from the text rank 0 read.
YAML::Node load_yaml_text(const std::string& text, const std::string& file);

/// Flattens `node` (a mapping) under `prefix`; `skip` lists top-level keys left out.
FlatConfig flatten(const YAML::Node& node, const std::string& file,
                   const std::vector<std::string>& skip = {});

/// Builds a validated config from flattened keys; collects every error and throws one
/// InputError listing them. `base_dir` resolves relative cohort paths.
ExperimentConfig parse_experiment(const FlatConfig& flat, const std::filesystem::path& base_dir);

/// Names accepted by model.arch: the model registry's (a test keeps the two lists equal;
/// the config library stays torch-free).
const std::vector<std::string>& model_architectures();
/// True for the architectures that only build in 3D (the CT foundation-model encoders).
bool is_3d_only(const std::string& arch);

/// Every key the schema knows, dotted (for validation of sweep axes).
const std::vector<std::string>& known_keys();

/// "did you mean 'train.lr'?" or empty when nothing is close.
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

/// Canonical JSON (sorted keys) of a config: the basis of configuration ids.
nlohmann::json to_json(const ExperimentConfig& config);

/// The subset of `config` that preprocessing reads (cohort + preprocess).
nlohmann::json preprocess_json(const ExperimentConfig& config);

/// What the pretrain task reads: preprocessing, the backbone (arch, dims, width), the ssl
/// section, and for ssl.data outer_train the cross-validation split.
nlohmann::json pretrain_json(const ExperimentConfig& config);

/// Expands a path pattern's {id}.
std::filesystem::path subject_path(const std::string& pattern, const std::string& subject_id);

} // namespace vfp::config
