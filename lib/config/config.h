// vfp::config — YAML experiment config → typed, validated ExperimentConfig.
// Every error names file:line:column and the dotted key; unknown keys get a did-you-mean.
// The typed side (what nearly every module reads) is here, free of yaml-cpp; loading and
// parsing YAML is in config/yaml.h, which only lib/sweep needs.
#pragma once

#include "config/sections.h"

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::config {

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

/// The preprocess section back from preprocess_json(...)["preprocess"] (what a bundle
/// carries), through the same key table that wrote it. A missing or mistyped key is an
/// InputError naming it.
PreprocessConfig preprocess_from_json(const nlohmann::json& preprocess);

/// For ssl.data external: the configuration whose cache holds the external cohort's patches,
/// `config` with cohort = ssl.cohort and preprocess.vertebrae = ssl.vertebrae (the same
/// preprocessing otherwise), so that its cache is keyed like every cache.
ExperimentConfig external_cohort_config(const ExperimentConfig& config);

/// What the pretrain task reads: preprocessing (of the external cohort for ssl.data external),
/// the backbone (arch, dims, width), the ssl section, and for ssl.data outer_train the
/// cross-validation split.
nlohmann::json pretrain_json(const ExperimentConfig& config);

/// Expands a path pattern's {id}.
std::filesystem::path subject_path(const std::string& pattern, const std::string& subject_id);

} // namespace vfp::config
