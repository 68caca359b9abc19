#include "tasks/tasks.h"

#include "data/data.h"

#include <chrono>
#include <memory>

namespace vfp::tasks {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The preprocess job of `config`'s cache over `subjects` (`excluded`: those the table left
/// out), the labelled cohort's or an external pretraining cohort's.
nlohmann::json preprocess_job(const config::ExperimentConfig& config,
                              const std::vector<data::Subject>& subjects,
                              std::vector<data::Exclusion> excluded, const TaskContext& ctx,
                              int shards, Clock::time_point t0) {
  const auto key = data::cache_key(config, subjects);
  // Without shards, the cache is built (or verified) and opened, never loaded: the job's
  // memory does not grow with the number of patches.
  std::unique_ptr<data::CacheReader> reader;
  data::PatchSet merged;
  if (shards > 0)
    merged = data::merge_cache_shards(config, subjects, ctx.cache_dir, shards);
  else
    reader = data::open_or_build_cache(config, subjects, ctx.cache_dir, ctx.threads,
                                       /*verify_pixels=*/true); // a corrupt cache is rebuilt
  const data::PatchSet& patches = reader ? reader->index() : merged;
  excluded.insert(excluded.end(), patches.excluded.begin(), patches.excluded.end());
  nlohmann::json exclusions = nlohmann::json::array();
  for (const auto& e : excluded)
    exclusions.push_back({{"subject", e.subject}, {"reason", e.reason}});
  return {{"kind", "preprocess"},
          {"cache_key", key},
          {"cache_file", data::cache_file(ctx.cache_dir, key).string()},
          {"patches", patches.size()},
          {"shards", shards},
          {"excluded", exclusions},
          {"seconds", seconds_since(t0)}};
}

nlohmann::json shard_job(const config::ExperimentConfig& config,
                         const std::vector<data::Subject>& subjects, const TaskContext& ctx,
                         int shard, int shards, Clock::time_point t0) {
  data::build_cache_shard(config, subjects, ctx.cache_dir, shard, shards, ctx.threads);
  return {{"kind", "preprocess_shard"},
          {"cache_key", data::cache_key(config, subjects)},
          {"shard", shard},
          {"shards", shards},
          {"seconds", seconds_since(t0)}};
}

} // namespace

nlohmann::json run_preprocess(const config::ExperimentConfig& config, const TaskContext& ctx,
                              int shards) {
  const auto t0 = Clock::now();
  std::vector<data::Exclusion> excluded;
  const auto subjects = data::read_cohort(config, &excluded);
  return preprocess_job(config, subjects, std::move(excluded), ctx, shards, t0);
}

nlohmann::json run_preprocess_shard(const config::ExperimentConfig& config, const TaskContext& ctx,
                                    int shard, int shards) {
  const auto t0 = Clock::now();
  std::vector<data::Exclusion> excluded;
  return shard_job(config, data::read_cohort(config, &excluded), ctx, shard, shards, t0);
}

nlohmann::json run_preprocess_external(const config::ExperimentConfig& config,
                                       const TaskContext& ctx, int shards) {
  const auto t0 = Clock::now();
  std::vector<data::Exclusion> excluded;
  const auto subjects = data::read_unlabelled_cohort(config.ssl.cohort, &excluded);
  auto row = preprocess_job(config::external_cohort_config(config), subjects, std::move(excluded),
                            ctx, shards, t0);
  row["cohort"] = "ssl"; // BYOL's external pretraining cohort
  return row;
}

nlohmann::json run_preprocess_external_shard(const config::ExperimentConfig& config,
                                             const TaskContext& ctx, int shard, int shards) {
  const auto t0 = Clock::now();
  std::vector<data::Exclusion> excluded;
  auto row =
      shard_job(config::external_cohort_config(config),
                data::read_unlabelled_cohort(config.ssl.cohort, &excluded), ctx, shard, shards, t0);
  row["cohort"] = "ssl";
  return row;
}

} // namespace vfp::tasks
