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

/// Canonical JSON (sorted keys) of a config with the values it runs with: what a task's
/// config.json records. Runtime settings included; identical to identity_json (the
/// configuration id of vfp 0.1) otherwise.
nlohmann::json to_json(const ExperimentConfig& config);

/// The basis of configuration ids: to_json with every runtime setting at its default, so that
/// settings that change how a task runs but not its result (train.threads, train.device, ...;
/// runtime_keys()) never change an id, and ids of configurations at those defaults are those
/// of vfp 0.1.
nlohmann::json identity_json(const ExperimentConfig& config);

/// The dotted keys of the runtime settings, in key-table order.
const std::vector<std::string>& runtime_keys();
bool is_runtime_key(const std::string& key);

/// `config` with the runtime settings that `recorded` (a to_json, e.g. an older task's
/// config.json "config") holds, and defaults for those it lacks: how configuration ids were
/// computed before runtime settings left them. A mistyped value is an InputError naming it.
ExperimentConfig with_recorded_runtime_settings(const ExperimentConfig& config,
                                                const nlohmann::json& recorded);

/// The subset of `config` that preprocessing reads (cohort + preprocess).
nlohmann::json preprocess_json(const ExperimentConfig& config);

/// The preprocess section back from preprocess_json(...)["preprocess"] (what a bundle
/// carries), through the same key table that wrote it. A missing or mistyped key is an
/// InputError naming it.
PreprocessConfig preprocess_from_json(const nlohmann::json& preprocess);

/// A whole configuration back from to_json(...) (what tasks/<id>/config.json stores), through
/// the same key table: a key absent from the JSON keeps its default (keys written only when not
/// at their default; sections to_json leaves out). A mistyped value is an InputError naming
/// the key. vfp export retrains a task from it.
ExperimentConfig experiment_from_json(const nlohmann::json& config);

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
