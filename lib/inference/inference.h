// vfp::inference — a trained configuration as a self-contained bundle (fold models, the exact
// preprocessing, a recalibration, a Cox model, validation figures, a checksum manifest), and
// prediction from a new patient's CT with it: preprocess as in training → each fold model →
// patient-level aggregation → the ensemble's mean (the score) → the calibrated probability, and
// the Cox relative hazard and absolute risk. Torch stays in this module's .cpp files.
#pragma once

#include "config/config.h"
#include "metrics/metrics.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vfp::inference {

/// Writes the bundle of configuration `config_id` (an id or a unique prefix) of the sweep
/// results in `sweep_dir` to the folder `out` (which must not exist or be empty): one
/// model-<k>.safetensors per fold task, bundle.json and manifest.json. On the pooled
/// out-of-fold scores it fits the recalibration (score → probability; prior shift
/// log(negatives/positives) when config.train.shifts_prior()) with its horizon (the cohort's
/// follow-up) and cross-fitted calibration figures, and refits the Cox model score + age + BMI
/// (raw scores) with its Breslow baseline. Either may be null with a reason in bundle.json
/// (`recalibration_problem`, `cox_problem`) when the training data cannot carry it. A fold task
/// without a saved model is trained again (options.retrain) and its out-of-fold scores must
/// equal the stored ones within options.tolerance, else an InputError names the task, the
/// largest difference and the tolerance; nothing is written before every model is there.
/// Throws vfp::InputError naming what is missing. Returns bundle.json's content.
/// A fold task whose model the sweep did not save (train.save_model: false), to train again.
struct RetrainJob {
  std::string task_id;
  int fold = 0, repeat = 0;
  nlohmann::json task;           ///< its tasks/<id>/config.json
  int threads = 0;               ///< the thread count its row records (0: unknown)
  std::filesystem::path scratch; ///< a folder of its own to train in (removed afterwards)
};

/// What training a task again wrote (in RetrainJob::scratch).
struct RetrainedModel {
  std::filesystem::path model;       ///< the best epoch's weights
  std::filesystem::path predictions; ///< its oof.csv
  int threads = 0;                   ///< as it trained
  std::string device;
};

/// The largest |Δ| export accepts by default between a retrained model's out-of-fold scores
/// and the stored ones (docs/inference.md: measured per device and thread count).
constexpr double kRetrainTolerance = 1e-6;

/// How export finds models the sweep did not save.
struct ExportOptions {
  /// Trains a task again (vfp export: tasks::retrain_task); empty: a fold task without its
  /// saved model is refused, naming it.
  std::function<RetrainedModel(const RetrainJob&)> retrain;
  /// The largest |Δ| of out-of-fold scores accepted (unset: kRetrainTolerance).
  std::optional<double> tolerance;
};

nlohmann::json export_bundle(const std::filesystem::path& sweep_dir, const std::string& config_id,
                             const std::filesystem::path& out, const ExportOptions& options = {});

/// The bundle of nested selection group `group_id` (an id or a unique prefix; the table's
/// "nested" row): per outer fold (× CV repeat) the model of the configuration selected for it,
/// retrained as export_bundle does when not saved. bundle.json's `selection` names each fold's
/// configuration and task. The selected configurations must share the preprocessing and the
/// patient-level aggregation (one pass per patient feeds every model); a difference is an
/// InputError naming the key and both configurations.
nlohmann::json export_group_bundle(const std::filesystem::path& sweep_dir,
                                   const std::string& group_id, const std::filesystem::path& out,
                                   const ExportOptions& options = {});

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

/// The bundle's map from the ensemble's score to a calibrated probability, and what that
/// probability is of.
struct Calibration {
  metrics::Recalibration recalibration;
  double median_follow_up = 0, max_follow_up = 0; ///< years (time_years of the training subjects)
  double event_rate = 0;                          ///< of the training subjects
  /// "an incident vertebral fracture within the training cohort's follow-up (median 4.8 y,
  /// longest 9.9 y)"
  std::string probability_of;
};

/// A bundle read back and verified.
struct Bundle {
  std::filesystem::path dir;
  nlohmann::json meta; ///< bundle.json
  config::PreprocessConfig preprocess;
  std::string aggregation;
  std::vector<std::filesystem::path> models;
  std::optional<CoxModel> cox; ///< absent when the training data could not carry one
  /// Absent in a bundle written before vfp stored one (format 1) or when it could not be
  /// fitted (calibration_problem says which): predict then gives the score only.
  std::optional<Calibration> calibration;
  std::string calibration_problem;
};

/// Reads `dir`, first checking every file of manifest.json (size, then checksum) and that no
/// file is missing; throws vfp::InputError naming the file that fails. Reads bundles of format
/// 2 and, without a recalibration, of format 1.
Bundle load_bundle(const std::filesystem::path& dir);

/// One patient to predict.
struct Patient {
  std::string id;
  std::filesystem::path image; ///< any ITK-readable CT
  /// The patient's vertebra centres, in any form training accepts (cohort.centroid_format):
  /// a VerSe-style JSON, the study group's table `SubjectID;Vertebra;X;Y;Z` (looked up by
  /// `id`; one table may serve many patients) or a label-map segmentation.
  std::filesystem::path centroids;
  /// verse, csv or labelmap; empty: told by the file name (.json: verse; .nii, .nii.gz, .mha,
  /// .mhd, .nrrd, .nhdr: labelmap; .csv, .txt: csv).
  std::string centroid_format;
  /// A csv table's coordinates: lps or ras; empty: as the bundle's training cohort.
  std::string centroid_space;
  std::optional<double> age, bmi;
  /// Set when the patient's CSV row could not be read (a bad age cell, a repeated id): predict
  /// reports it as the patient's error instead of predicting.
  std::string problem;
};

/// Reads `subject_id,image,centroids[,age,bmi]` (relative paths against the CSV's folder;
/// empty age/bmi cells are missing covariates). A missing column or an unreadable file throws
/// vfp::InputError naming it; a bad row only marks its patient (Patient::problem, naming
/// file:line), so that one bad patient does not stop the batch.
std::vector<Patient> read_patient_csv(const std::filesystem::path& csv);

/// Where predict writes the pictures of the patches the models saw (empty: none).
struct PictureOptions {
  std::filesystem::path svg_dir; ///< <id>_<vertebra>.svg (8×8 squares per pixel)
  std::filesystem::path png_dir; ///< <id>_<vertebra>.png (8-bit grey, one pixel per pixel)
};

/// True when a report of Predictor::predict is a patient's error, not a prediction.
bool is_error(const nlohmann::json& report);

/// The ensemble of a bundle, loaded once, for many patients.
class Predictor {
public:
  /// Loads every fold model on the CPU; `threads` patients are processed at once. Throws
  /// vfp::InputError naming the model file when it does not take the bundle's patches (2D or
  /// 3D, channels).
  explicit Predictor(Bundle bundle, int threads = 1);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  /// One JSON report per patient, in order: the calibrated probability and what it is of (null,
  /// with probability_note saying why, when the bundle has no recalibration), the score (the
  /// fold models' mean output, not a probability), per-model and per-vertebra scores, the Cox
  /// relative hazard, absolute 5- and 10-year risks and risk group from the score, age and BMI
  /// (or a note saying why only the image model's result is given), and the bundle's
  /// validation figures.
  /// `threads` workers take whole patients (preprocessing, then each model on the patient's
  /// patches in one forward pass of their own, one intra-op thread), so a patient's result
  /// depends neither on the batch it came in nor on the thread count. A patient that cannot be
  /// predicted (missing or unreadable image, missing vertebra, centroid outside the image, bad
  /// CSV row) does not stop the others: its report is {"subject_id", "error"} with the reason
  /// naming the subject (is_error). Pictures of each patch the models saw go where `pictures`
  /// says: each channel of a 2D patch, the central slice (along preprocess.axis) of a 3D one.
  /// `on_patient_done`, when given, is called once per patient as it finishes, from the worker
  /// thread that did it (a batch of thousands runs for minutes: the command's progress line).
  std::vector<nlohmann::json> predict(const std::vector<Patient>& patients,
                                      const PictureOptions& pictures = {},
                                      const std::function<void()>& on_patient_done = {});

  const Bundle& bundle() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A report (or a patient's error) as text for people.
std::string format_report(const nlohmann::json& report);

} // namespace vfp::inference
