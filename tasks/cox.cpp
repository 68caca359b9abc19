// The cox task: the study's survival analysis on a configuration's pooled out-of-fold
// predictions, once its folds are done.
#include "tasks/tasks.h"

#include "core/core.h"
#include "results/results.h"
#include "tasks/pooled.h"

#include <chrono>

namespace vfp::tasks {

std::string cox_id(const sweep::Configuration& configuration) {
  // v2: calibration and optimism-corrected C joined the analysis, so rows of older runs are
  // redone (cheaply) on resume; the resample count changes the analysis, not the training.
  return stable_id(configuration.id + "/cox/v2/bootstrap" +
                   std::to_string(configuration.config.cox.bootstrap));
}

nlohmann::json run_cox(const sweep::Sweep& sweep, int configuration, const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& cfg = sweep.configurations.at(std::size_t(configuration));
  const auto id = cox_id(cfg);
  std::vector<std::string> task_ids;
  for (const auto& task : sweep.tasks)
    if (task.configuration == configuration)
      task_ids.push_back(task.id);
  const results::SweepFolder sweep_folder(ctx.sweep_dir);
  const auto pooled = results::pool_predictions(sweep_folder, task_ids);
  const auto files = sweep_folder.configuration(cfg.id, true);
  write_file_atomically(files.predictions, results::pooled_csv(pooled));
  fault_point("cox.task"); // test-only (docs/hardening.md): mid-task

  nlohmann::json row = {
      {"kind", "cox"}, {"task_id", id}, {"config_id", cfg.id}, {"config_index", configuration}};
  row.update(detail::analyse_pooled(pooled, cfg.config, sweep::seed_from_id(id),
                                    "cox " + id + " for configuration " + cfg.id));
  write_file_atomically(files.analysis, row.dump(2));
  row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return row;
}

} // namespace vfp::tasks
