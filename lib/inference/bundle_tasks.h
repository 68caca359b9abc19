// Internal to lib/inference: which fold tasks a bundle exports (a configuration's, or per outer
// fold a nested selection's choice) and their models: saved by the sweep, or trained again and
// checked against the out-of-fold scores the sweep stored.
#pragma once

#include "inference/inference.h"
#include "results/results.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::inference::detail {

/// A finished outer task of the bundle, with its files.
struct FoldTask {
  std::string id, config_id;
  int fold = 0, repeat = 0;
  std::uint64_t seed = 0;
  nlohmann::json task; ///< config.json
  results::TaskFiles files;
  std::filesystem::path model; ///< the weights the bundle takes (files.model, or retrained)
  nlohmann::json retrained;    ///< null, or how it was trained again and how close it came
};

/// The configuration whose id starts with `config_id`: its resolved configuration and fold
/// tasks (repeat, fold order), each finished. Throws InputError naming the sweep folder and id.
std::vector<FoldTask> configuration_tasks(const results::SweepFolder& sweep,
                                          const std::string& config_id);

/// The nested selection whose group id starts with `group_id` (its latest selection row): per
/// outer fold its chosen task. Checks that the chosen configurations share the preprocessing
/// and aggregation. Sets `row` to the selection row.
std::vector<FoldTask> group_tasks(const results::SweepFolder& sweep, const std::string& group_id,
                                  nlohmann::json& row);

/// Sets each task's model: its saved file, or (options.retrain) one trained again in a scratch
/// folder beside `out`, whose out-of-fold scores must equal the stored ones within the
/// tolerance. Returns the scratch folder to remove once the models are copied (empty: none).
std::filesystem::path provide_models(const results::SweepFolder& sweep,
                                     std::vector<FoldTask>& tasks, const ExportOptions& options,
                                     const std::filesystem::path& out);

} // namespace vfp::inference::detail
