// The selection task: a group's nested selection (per outer fold, the configuration with the
// best inner score) and the analysis of the selected models' pooled predictions.
#include "tasks/tasks.h"

#include "core/core.h"
#include "results/results.h"
#include "tasks/pooled.h"

#include <chrono>
#include <map>

namespace vfp::tasks {

nlohmann::json run_selection(const sweep::Sweep& sweep, int group,
                             const std::vector<nlohmann::json>& rows, const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto started = utc_now();
  const auto& g = sweep.groups.at(std::size_t(group));
  const auto& s = *sweep.selection;
  std::vector<std::string> members;
  for (int m : g.members)
    members.push_back(sweep.configurations[std::size_t(m)].id);
  const auto choices = results::select_per_fold(rows, members, s.metric, s.inner_folds);
  std::vector<std::string> task_ids;
  nlohmann::json folds = nlohmann::json::array();
  std::map<std::string, int> wins;
  for (const auto& c : choices) {
    task_ids.push_back(c.task_id);
    ++wins[c.config_id];
    folds.push_back(results::to_json(c));
  }
  const results::SweepFolder sweep_folder(ctx.sweep_dir);
  const auto pooled = results::pool_predictions(sweep_folder, task_ids);
  const auto files = sweep_folder.selection(g.id, true);
  write_file_atomically(files.predictions, results::pooled_csv(pooled));

  nlohmann::json axes = nlohmann::json::array();
  for (const auto& [k, v] : g.axes)
    axes.push_back({k, v});
  nlohmann::json row = {{"kind", "selection"}, {"task_id", g.id},    {"members", members},
                        {"over", s.over},      {"metric", s.metric}, {"inner_folds", s.inner_folds},
                        {"axes", axes},        {"folds", folds},     {"wins", wins}};
  // The analysis settings (cox.bootstrap, train.shifts_prior) are the group's: its members
  // differ only in the selected keys.
  const auto& first = sweep.configurations[std::size_t(g.members.front())].config;
  row.update(detail::analyse_pooled(pooled, first, sweep::seed_from_id(g.id), "selection " + g.id));
  write_file_atomically(files.analysis, row.dump(2));
  row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return with_provenance(std::move(row), ctx, started); // the coordinator runs it, not run_job
}

} // namespace vfp::tasks
