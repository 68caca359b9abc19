// vfp::tasks — what a worker executes. Each task is a function from a resolved config (and
// fold) to a JSON result row; it throws vfp::Error subtypes with the reason on failure.
#pragma once

#include "sweep/sweep.h"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace vfp::tasks {

/// Where a task writes and how many threads it may use.
struct TaskContext {
  std::filesystem::path sweep_dir; ///< results/<sweep>
  std::filesystem::path cache_dir; ///< shared HDF5 patch caches
  int threads = 1;
  int rank = 0;
};

/// Builds (or verifies) the patch cache of a configuration. With `shards` > 0 it merges the
/// blocks that run_preprocess_shard built instead of preprocessing the whole cohort.
nlohmann::json run_preprocess(const config::ExperimentConfig& config, const TaskContext& ctx,
                              int shards = 0);

/// Preprocesses block `shard` of `shards` of the cohort, so that ranks split the subjects.
nlohmann::json run_preprocess_shard(const config::ExperimentConfig& config,
                                    const TaskContext& ctx, int shard, int shards);

/// Trains one configuration on one outer fold and evaluates it on the held-out fold at
/// patient level; writes out-of-fold predictions to tasks/<id>/oof.csv.
nlohmann::json run_train_eval(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                              const TaskContext& ctx);

} // namespace vfp::tasks
