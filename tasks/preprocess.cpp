#include "tasks/tasks.h"

#include "data/data.h"

#include <chrono>

namespace vfp::tasks {

nlohmann::json run_preprocess(const config::ExperimentConfig& config, const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<data::Exclusion> excluded;
  const auto subjects = data::read_cohort(config, &excluded);
  const auto key = data::cache_key(config, subjects);
  const auto patches = data::load_or_build_cache(config, subjects, ctx.cache_dir, ctx.threads);
  excluded.insert(excluded.end(), patches.excluded.begin(), patches.excluded.end());
  nlohmann::json exclusions = nlohmann::json::array();
  for (const auto& e : excluded)
    exclusions.push_back({{"subject", e.subject}, {"reason", e.reason}});
  return {
      {"kind", "preprocess"},
      {"cache_key", key},
      {"cache_file", data::cache_file(ctx.cache_dir, key).string()},
      {"patches", patches.size()},
      {"excluded", exclusions},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
}

}  // namespace vfp::tasks
