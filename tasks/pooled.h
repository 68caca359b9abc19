// Internal to tasks/: the analysis that every set of pooled out-of-fold predictions
// (results::pool_predictions) gets (discrimination, calibration, survival). Shared by the cox
// task (one configuration's tasks) and the selection task (each fold's selected task).
#pragma once

#include "config/config.h"
#include "results/results.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::tasks::detail {

/// Discrimination ("pooled": AUROC with DeLong and fold-stratified bootstrap intervals, AP),
/// calibration ("calibration": the score with the training prior undone as a probability,
/// the recalibration that `vfp export` ships, cross-fitted calibrated probabilities with
/// their reliability bins) and the survival analysis ("survival": Harrell's C of age + BMI
/// and of score + age + BMI, apparent and optimism-corrected, the score's HR per SD adjusted
/// for age and BMI, predicted vs Kaplan–Meier observed risk by risk group). Data that cannot
/// carry a model gives null and a note instead of a failure. `seed` seeds every resampling.
nlohmann::json analyse_pooled(const std::vector<results::PooledSubject>& pooled,
                              const config::ExperimentConfig& config, std::uint64_t seed,
                              const std::string& what);

} // namespace vfp::tasks::detail
