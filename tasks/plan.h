// vfp::tasks job planning: an expanded sweep and what is already on disk → the job graph that
// `vfp run` dispatches (docs/architecture.md, "A run"), and the worker's side of a job: its
// assignment → the task that runs it. A pure function of its inputs, so that resume, shared
// pretraining, shards and the order of cox after folds are tested without mpirun.
#pragma once

#include "dispatch/dispatch.h"
#include "sweep/sweep.h"
#include "tasks/tasks.h"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace vfp::tasks {

/// A configuration's patch cache as planning sees it.
struct CacheUse {
  std::string key;          ///< data::cache_key: configurations with equal keys share a build
  std::size_t subjects = 0; ///< the cohort's subjects (after exclusions)
  /// The cache of the external cohort BYOL pretrains on (ssl.data: external, when the
  /// configuration runs pretraining; config::external_cohort_config), and its subjects;
  /// empty when none.
  std::string external_key;
  std::size_t external_subjects = 0;
};

/// The cache key and cohort size of every configuration, in sweep order (reads the cohorts).
std::vector<CacheUse> cache_uses(const sweep::Sweep& sweep);

/// What a run finds already done.
struct OnDisk {
  std::vector<nlohmann::json> rows; ///< results.jsonl: a task's latest row says how it ended
  /// Whether the cache file of a key exists (asked only where it would be split in shards).
  std::function<bool(const std::string& cache_key)> cache_present;
  /// Whether the checkpoint of a pretraining exists (written atomically, so complete).
  std::function<bool(const std::string& pretrain_id)> pretrained;
};

/// How the run is asked to go.
struct PlanOptions {
  int workers = 0;    ///< ranks besides the coordinator
  bool resume = true; ///< skip the jobs with an `ok` row
};

/// The job graph, with the jobs already done marked done, and what the log says of it.
struct Plan {
  dispatch::Graph graph;
  int skipped = 0;              ///< train_eval and inner tasks already done
  std::size_t cache_keys = 0;   ///< distinct caches (preprocess jobs)
  std::size_t pretrainings = 0; ///< distinct BYOL pretrainings (pretrain jobs)
};

/// The sweep's jobs: one `preprocess` per distinct cache key (split in one `preprocess_shard`
/// per worker and a merge when the cache is missing, there are ≥ 2 workers and ≥ 2 subjects a
/// worker), external pretraining cohorts' caches alike (assignment "cohort": "ssl"); one
/// `pretrain` per distinct BYOL setting (after the cache it reads: an external pretraining's
/// is the external cohort's, so it is shared by every fold and waits for no labelled cache); `train_eval` and `inner` jobs depending
/// on them (estimates from the configuration's earlier rows); per selection group a
/// `selection` job on the coordinator after its members' outer and inner jobs; per
/// configuration `cox` and `aggregate` (on the coordinator) after its `train_eval` jobs.
/// `caches`: cache_uses(sweep).
Plan plan_jobs(const sweep::Sweep& sweep, const std::vector<CacheUse>& caches,
               const OnDisk& on_disk, const PlanOptions& options);

/// Runs a worker job of a plan (any kind but the coordinator's `selection` and `aggregate`)
/// on this rank and returns its row; throws as the task does.
nlohmann::json run_job(const sweep::Sweep& sweep, const nlohmann::json& assignment,
                       const TaskContext& ctx);

} // namespace vfp::tasks
