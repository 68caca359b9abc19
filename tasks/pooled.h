// Internal to tasks/: out-of-fold predictions pooled over a set of outer tasks, and the
// analysis every pooled set gets (discrimination, calibration, survival). Shared by the cox
// task (one configuration's tasks) and the selection task (each fold's selected task).
#pragma once

#include "config/config.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::tasks::detail {

/// One subject's pooled prediction: the mean score over the CV repeats that tested it.
struct PooledSubject {
  std::string id;
  double score = 0;
  int repeats = 0;
  int fold = 0; ///< its outer fold in repeat 0
  double age = 0, bmi = 0, time = 0;
  int event = 0;
};

/// Reads tasks/<id>/oof.csv of every task and pools by subject (subject order).
std::vector<PooledSubject> pool_out_of_fold(const std::filesystem::path& sweep_dir,
                                            const std::vector<std::string>& task_ids);

/// The pooled predictions as configurations/<id>/oof.csv writes them (RFC 4180 quoting).
std::string pooled_csv(const std::vector<PooledSubject>& pooled);

/// Discrimination ("pooled": AUROC with DeLong and fold-stratified bootstrap intervals, AP),
/// calibration ("calibration": the score with the training prior undone as a probability,
/// the recalibration that `vfp export` ships, cross-fitted calibrated probabilities with
/// their reliability bins) and the survival analysis ("survival": Harrell's C of age + BMI
/// and of score + age + BMI, apparent and optimism-corrected, the score's HR per SD adjusted
/// for age and BMI, predicted vs Kaplan–Meier observed risk by risk group). Data that cannot
/// carry a model gives null and a note instead of a failure. `seed` seeds every resampling.
nlohmann::json analyse_pooled(const std::vector<PooledSubject>& pooled,
                              const config::ExperimentConfig& config, std::uint64_t seed,
                              const std::string& what);

} // namespace vfp::tasks::detail
