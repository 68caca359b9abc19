// vfp::tasks — what a worker executes. Each task is a function from a resolved config (and
// fold) to a JSON result row; it throws vfp::Error subtypes with the reason on failure.
#pragma once

#include "results/results.h"
#include "sweep/sweep.h"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

namespace vfp::tasks {

/// Where a task writes and how many threads it may use.
struct TaskContext {
  std::filesystem::path sweep_dir; ///< results/<sweep>
  std::filesystem::path cache_dir; ///< shared HDF5 patch caches
  int threads = 1;
  int rank = 0;
  int local_rank = 0; ///< among the ranks on this node: CUDA device local_rank % devices
  int world_size = 1; ///< the run's MPI ranks (the rows' provenance)
  /// Progress of a long task (e.g. {"epoch": 3, "of": 20}), sent to the coordinator as a
  /// heartbeat; may be empty.
  std::function<void(const nlohmann::json&)> progress;
};

/// This process's part of a row's provenance (tasks/provenance.cpp): vfp and LibTorch
/// versions, host, world size and the Slurm ids of the environment; no device, no times.
results::Provenance process_provenance(const TaskContext& ctx);

/// `row` (a job's result) with its provenance completed: what the job set (its device) kept,
/// process_provenance added, the device's CUDA details when it ran on CUDA, `started` and now
/// as its end. A result that is not a JSON object is returned as it is.
nlohmann::json with_provenance(nlohmann::json row, const TaskContext& ctx,
                               const std::string& started);

/// Now in UTC, ISO 8601 ("2026-12-02T19:52:11Z").
std::string utc_now();

/// Builds (or verifies) the patch cache of a configuration. With `shards` > 0 it merges the
/// blocks that run_preprocess_shard built instead of preprocessing the whole cohort.
nlohmann::json run_preprocess(const config::ExperimentConfig& config, const TaskContext& ctx,
                              int shards = 0);

/// Preprocesses block `shard` of `shards` of the cohort, so that ranks split the subjects.
nlohmann::json run_preprocess_shard(const config::ExperimentConfig& config, const TaskContext& ctx,
                                    int shard, int shards);

/// run_preprocess for the external pretraining cohort of `config` (ssl.cohort, its subjects
/// from data::read_unlabelled_cohort): builds the cache of config::external_cohort_config.
nlohmann::json run_preprocess_external(const config::ExperimentConfig& config,
                                       const TaskContext& ctx, int shards = 0);

/// run_preprocess_shard for the external pretraining cohort of `config`.
nlohmann::json run_preprocess_external_shard(const config::ExperimentConfig& config,
                                             const TaskContext& ctx, int shard, int shards);

/// The id of the BYOL pretraining that `task` needs (its configuration runs_pretraining()):
/// "pretrain-" and a hash of config::pretrain_json, plus the fold and repeat for
/// ssl.data: outer_train. Configurations and folds that ask for the same one share it (an
/// external one, ssl.data: external, is shared by every fold and repeat).
std::string pretrain_id(const config::ExperimentConfig& config, const sweep::TrainTask& task);

/// Where pretraining `id` writes its backbone: results/<sweep>/pretrain/<id>/byol.safetensors.
std::filesystem::path pretrain_checkpoint(const TaskContext& ctx, const std::string& id);

/// BYOL on the cache's patches (all of them, or the outer training subjects of `task`'s fold
/// for ssl.data: outer_train; for ssl.data: external every patch of the external cohort's
/// cache, the labelled cohort's never read) with the seed of its id; writes the checkpoint,
/// history.csv and config.json (with "data": which cohort, scans, patches and cache key) in
/// its folder. Returns at once when the checkpoint is already there.
nlohmann::json run_pretrain(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                            const TaskContext& ctx);

/// Trains one configuration on one outer fold and evaluates it on the held-out fold at
/// patient level; writes out-of-fold predictions to tasks/<id>/oof.csv. An inner task
/// (task.inner()) trains within the outer fold's training part and tests on its inner fold:
/// a row of kind "inner" that nested selection scores configurations with.
nlohmann::json run_train_eval(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                              const TaskContext& ctx);

/// The keys a train_eval or inner task's row carries whether it succeeded or failed: its
/// configuration and split, what the table needs (a failure can be a configuration's first
/// row). `inner_folds` is left unset: a success row adds it.
results::TaskKeys task_keys(const sweep::Sweep& sweep, const sweep::TrainTask& task);

/// The id of a configuration's cox task: a hash of the configuration id.
std::string cox_id(const sweep::Configuration& configuration);

/// The study's analysis of configuration `configuration` once its train_eval tasks are done:
/// pools their out-of-fold predictions (a subject's mean score over CV repeats), then pooled
/// AUROC (DeLong and fold-stratified bootstrap intervals) and average precision, and the Cox
/// comparison of age + BMI against score + age + BMI (Harrell's C of each, the difference with
/// a bootstrap interval, the score's hazard ratio per SD). Writes
/// configurations/<config id>/{oof.csv,cox.json}. Data that cannot carry a Cox model gives a
/// row with "survival": null and the reason, not a failure.
nlohmann::json run_cox(const sweep::Sweep& sweep, int configuration, const TaskContext& ctx);

/// Nested selection of group `group` (Sweep::groups) once its members' outer tasks (and inner
/// tasks) are done: per outer fold the member with the best inner score (results::
/// select_per_fold on `rows`, the sweep's results so far), then the analysis of the selected
/// tasks' pooled out-of-fold predictions, as run_cox does for a configuration. Writes
/// selections/<group id>/{oof.csv,selection.json} and returns a "selection" row.
nlohmann::json run_selection(const sweep::Sweep& sweep, int group,
                             const std::vector<nlohmann::json>& rows, const TaskContext& ctx);

/// A finished outer task to train again (vfp export of a sweep run without train.save_model):
/// its stored config.json, and where and how to train it.
struct RetrainRequest {
  std::filesystem::path sweep_dir; ///< the sweep's folder: its pretraining checkpoints
  std::filesystem::path cache_dir; ///< the patch caches (built when missing)
  /// A folder of this call's own, laid out as a sweep folder: the task trains in
  /// scratch/tasks/<id>/ (the sweep's folder is only read).
  std::filesystem::path scratch;
  nlohmann::json task; ///< tasks/<id>/config.json: task_id, config_id, fold, repeat, seed, config
  int threads = 1;     ///< torch intra-op threads (the same as training's: the same numbers)
  std::string device;  ///< empty: the configuration's train.device
  std::function<void(const nlohmann::json&)> progress; ///< per epoch, as run_train_eval's
};

/// What retraining wrote in the scratch folder.
struct RetrainedTask {
  std::filesystem::path model;       ///< the best epoch's weights (safetensors)
  std::filesystem::path predictions; ///< its oof.csv: the test fold's scores
  nlohmann::json row;                ///< the row run_train_eval returned
};

/// Trains the outer task of `request.task` again exactly as run_train_eval did (the same
/// configuration, split, seed from its id and cache), with its model saved. Throws
/// vfp::InputError naming the task when config.json cannot be read back into the configuration
/// it holds, its seed is not its id's, or a pretraining checkpoint it needs is missing.
RetrainedTask retrain_task(const RetrainRequest& request);

} // namespace vfp::tasks
