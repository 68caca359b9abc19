#include "tasks/tasks.h"

#include "data/data.h"

#include <chrono>

namespace vfp::tasks {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
} // namespace

nlohmann::json run_preprocess(const config::ExperimentConfig& config, const TaskContext& ctx,
                              int shards) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<data::Exclusion> excluded;
  const auto subjects = data::read_cohort(config, &excluded);
  const auto key = data::cache_key(config, subjects);
  const auto patches =
      shards > 0 ? data::merge_cache_shards(config, subjects, ctx.cache_dir, shards)
                 : data::load_or_build_cache(config, subjects, ctx.cache_dir, ctx.threads);
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

nlohmann::json run_preprocess_shard(const config::ExperimentConfig& config, const TaskContext& ctx,
                                    int shard, int shards) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<data::Exclusion> excluded;
  const auto subjects = data::read_cohort(config, &excluded);
  data::build_cache_shard(config, subjects, ctx.cache_dir, shard, shards, ctx.threads);
  return {{"kind", "preprocess_shard"},
          {"cache_key", data::cache_key(config, subjects)},
          {"shard", shard},
          {"shards", shards},
          {"seconds", seconds_since(t0)}};
}

} // namespace vfp::tasks
