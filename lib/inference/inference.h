// vfp::inference — a trained configuration as a self-contained bundle (fold models, the exact
// preprocessing, a Cox model, validation figures, a checksum manifest), and prediction from a
// new patient's CT with it: preprocess as in training → each fold model → patient-level
// aggregation → the ensemble's mean → Cox relative hazard and absolute risk. Torch stays in
// this module's .cpp files.
#pragma once

#include "config/config.h"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vfp::inference {

/// Writes the bundle of configuration `config_id` (an id or a unique prefix) of the sweep
/// results in `sweep_dir` to the folder `out` (which must not exist or be empty): one
/// model-<k>.safetensors per fold task, bundle.json and manifest.json. Refits the Cox model
/// score + age + BMI on the pooled out-of-fold predictions with its Breslow baseline. Throws
/// vfp::InputError naming what is missing (e.g. a task without a saved model). Returns
/// bundle.json's content.
nlohmann::json export_bundle(const std::filesystem::path& sweep_dir, const std::string& config_id,
                             const std::filesystem::path& out);

/// The Cox model of a bundle: h(t | x) = h0(t)·exp(Σ β_i (x_i − mean_i)).
struct CoxModel {
  std::vector<std::string> covariates; ///< "score", "age", "bmi"
  std::vector<double> coef, mean, sd;
  std::vector<double> times, cumulative_hazard; ///< Breslow H0 at each distinct event time
  double max_follow_up = 0;                     ///< the longest observed time (years)
  std::vector<double> risk_cuts;                ///< linear-predictor tertile cuts (training)
  /// H0(t): the last step at or before t (0 before the first event).
  double baseline_at(double t) const;
};

/// A bundle read back and verified.
struct Bundle {
  std::filesystem::path dir;
  nlohmann::json meta; ///< bundle.json
  config::PreprocessConfig preprocess;
  std::string aggregation;
  std::vector<std::filesystem::path> models;
  std::optional<CoxModel> cox; ///< absent when the training data could not carry one
};

/// Reads `dir`, first checking every file of manifest.json (size, then checksum) and that no
/// file is missing; throws vfp::InputError naming the file that fails.
Bundle load_bundle(const std::filesystem::path& dir);

/// One patient to predict.
struct Patient {
  std::string id;
  std::filesystem::path image;     ///< any ITK-readable CT
  std::filesystem::path centroids; ///< VerSe-style JSON
  std::optional<double> age, bmi;
};

/// Reads `subject_id,image,centroids[,age,bmi]` (relative paths against the CSV's folder;
/// empty age/bmi cells are missing covariates). Errors name file:line.
std::vector<Patient> read_patient_csv(const std::filesystem::path& csv);

/// The ensemble of a bundle, loaded once, for many patients.
class Predictor {
public:
  /// Loads every fold model on the CPU; `threads` patients are processed at once.
  explicit Predictor(Bundle bundle, int threads = 1);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  /// One JSON report per patient, in order: probability, per-model and per-vertebra scores,
  /// the Cox relative hazard, absolute 5- and 10-year risks and risk group (or a note saying
  /// why only the image-only probability is given), and the bundle's validation figures.
  /// `threads` workers take whole patients (preprocessing, then each model on the patient's
  /// patches in one forward pass of their own, one intra-op thread), so a patient's result
  /// depends neither on the batch it came in nor on the thread count. Throws vfp::InputError naming
  /// the patient on bad input. With `svg_dir` set, writes <id>_<vertebra>.svg of each patch the
  /// models saw (2D bundles).
  std::vector<nlohmann::json> predict(const std::vector<Patient>& patients,
                                      const std::filesystem::path& svg_dir = {});

  const Bundle& bundle() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A report as text for people.
std::string format_report(const nlohmann::json& report);

} // namespace vfp::inference
