// Internal to lib/inference: the models a bundle ships besides the networks, fitted on the
// pooled out-of-fold predictions of the exported configuration.
#pragma once

#include "config/config.h"
#include "results/results.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace vfp::inference::detail {

/// Cox model score + age + BMI on the pooled out-of-fold scores with its Breslow baseline
/// cumulative hazard (covariates centred at their means, as the linear predictor is). Throws
/// vfp::InputError when the data cannot carry the model.
nlohmann::json fit_cox_model(const std::vector<results::PooledSubject>& pooled);

/// The keys of a configuration's train section that shifts_prior() reads (config::to_json
/// leaves a key at its default out).
config::TrainConfig train_from_json(const nlohmann::json& j);

/// The recalibration of the pooled out-of-fold scores (a subject's mean over CV repeats), with
/// its horizon, and validation["calibration"]: the cross-fitted calibration, or why there is
/// none. Throws vfp::InputError when the scores cannot carry a recalibration (one class,
/// separation).
nlohmann::json fit_recalibration(const std::vector<results::PooledSubject>& pooled,
                                 const config::TrainConfig& train, nlohmann::json& validation);

} // namespace vfp::inference::detail
