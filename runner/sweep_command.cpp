// `vfp sweep`: the expanded sweep, its jobs and which of them are done, without running any.
#include "commands.h"
#include "stored_ids.h"

#include "core/core.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "tasks/tasks.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <memory>
#include <set>

namespace vfp::runner {
namespace {

/// What a listing shows of the sweep's folder.
struct Progress {
  std::set<std::string> finished; ///< ids whose latest row is ok
  int done = 0;                   ///< train_eval tasks finished
  /// The BYOL pretrainings the tasks need (pretrained.mode: ssl without a file), each listed
  /// once with the tasks that load it.
  std::map<std::string, std::vector<std::string>> pretrainings;
  tasks::TaskContext ctx; ///< where the pretrainings' checkpoints are
  /// Done when its checkpoint exists.
  bool pretrained(const std::string& id) const {
    return std::filesystem::exists(tasks::pretrain_checkpoint(ctx, id));
  }
};

Progress progress_of(const sweep::Sweep& sweep, const std::string& results_root) {
  Progress p;
  const auto dir = results::SweepFolder::of_sweep(results_root, sweep.name, false);
  // Read only: a dry run takes no lock and writes nothing (a torn last row stays for `vfp run`).
  p.finished = results::finished_task_ids(results::read_rows(dir));
  for (const auto& t : sweep.tasks)
    p.done += p.finished.count(t.id) ? 1 : 0;
  p.ctx.sweep_dir = dir.root();
  for (const auto& t : sweep.tasks) {
    const auto& c = sweep.configurations[t.configuration].config;
    if (c.runs_pretraining())
      p.pretrainings[tasks::pretrain_id(c, t)].push_back(t.id);
  }
  return p;
}

/// The `selection:` section and its groups.
void add_selection_json(const sweep::Sweep& sweep, const Progress& p, nlohmann::json& out) {
  out["selection"] = {{"over", sweep.selection->over},
                      {"metric", sweep.selection->metric},
                      {"inner_folds", sweep.selection->inner_folds}};
  for (const auto& g : sweep.groups) {
    std::vector<std::string> members;
    for (int m : g.members)
      members.push_back(sweep.configurations[size_t(m)].id);
    out["groups"].push_back(
        {{"id", g.id}, {"members", members}, {"done", p.finished.count(g.id) > 0}});
  }
}

void print_json(const sweep::Sweep& sweep, const Progress& p) {
  nlohmann::json out = {
      {"name", sweep.name}, {"smoke", sweep.smoke}, {"axes", sweep.axes}, {"done", p.done}};
  for (const auto& c : sweep.configurations) {
    nlohmann::json axes = nlohmann::json::array();
    for (const auto& [k, v] : c.axes)
      axes.push_back({k, v});
    out["configurations"].push_back(
        {{"id", c.id}, {"axes", axes}, {"config", config::to_json(c.config)}});
  }
  for (const auto& t : sweep.tasks)
    out["tasks"].push_back({{"id", t.id},
                            {"kind", "train_eval"},
                            {"configuration", sweep.configurations[t.configuration].id},
                            {"fold", t.fold},
                            {"repeat", t.repeat},
                            {"seed", t.seed},
                            {"done", p.finished.count(t.id) > 0}});
  for (const auto& [id, users] : p.pretrainings)
    out["pretrain"].push_back({{"id", id}, {"tasks", users}, {"done", p.pretrained(id)}});
  for (const auto& c : sweep.configurations)
    out["cox"].push_back({{"id", tasks::cox_id(c)},
                          {"configuration", c.id},
                          {"done", p.finished.count(tasks::cox_id(c)) > 0}});
  for (const auto& t : sweep.inner_tasks)
    out["inner"].push_back({{"id", t.id},
                            {"configuration", sweep.configurations[t.configuration].id},
                            {"fold", t.fold},
                            {"repeat", t.repeat},
                            {"inner_fold", t.inner_fold},
                            {"seed", t.seed},
                            {"done", p.finished.count(t.id) > 0}});
  if (sweep.selection)
    add_selection_json(sweep, p, out);
  std::cout << out.dump(2) << "\n";
}

const char* plural(std::size_t n) {
  return n == 1 ? "" : "s";
}

void print_configurations_and_tasks(const sweep::Sweep& sweep, const Progress& p) {
  std::cout << "sweep " << sweep.name << ": " << sweep.configurations.size() << " configuration"
            << plural(sweep.configurations.size()) << ", " << sweep.tasks.size()
            << " train_eval tasks (" << p.done << " done)\n\nconfigurations:\n";
  for (size_t i = 0; i < sweep.configurations.size(); ++i) {
    const auto& c = sweep.configurations[i];
    std::cout << "  [" << i << "] " << c.id;
    for (const auto& [k, v] : c.axes)
      std::cout << "  " << k << "=" << v;
    std::cout << "\n";
  }
  if (!p.pretrainings.empty()) {
    std::cout << "\npretraining (BYOL, shared by the tasks that load it):\n";
    for (const auto& [id, users] : p.pretrainings)
      std::cout << "  " << id << "  for " << users.size() << " task" << plural(users.size())
                << (p.pretrained(id) ? "  done" : "") << "\n";
  }
  std::cout << "\ntasks:\n";
  for (const auto& t : sweep.tasks)
    std::cout << "  " << t.id << "  train_eval  config " << t.configuration << "  repeat "
              << t.repeat << "  fold " << t.fold << (p.finished.count(t.id) ? "  done" : "")
              << "\n";
  for (const auto& t : sweep.inner_tasks)
    std::cout << "  " << t.id << "  inner       config " << t.configuration << "  repeat "
              << t.repeat << "  fold " << t.fold << "  inner fold " << t.inner_fold
              << (p.finished.count(t.id) ? "  done" : "") << "\n";
}

void print_pooled_jobs(const sweep::Sweep& sweep, const Progress& p) {
  std::cout << "\nper configuration once its folds are done (pooled out-of-fold analysis):\n";
  for (size_t i = 0; i < sweep.configurations.size(); ++i) {
    const auto id = tasks::cox_id(sweep.configurations[i]);
    std::cout << "  " << id << "  cox  config " << i << (p.finished.count(id) ? "  done" : "")
              << "\n";
  }
  if (!sweep.selection)
    return;
  std::cout << "\nnested selection over " << sweep.selection->over.size() << " key(s) by inner "
            << sweep.selection->metric << " ("
            << (sweep.selection->inner_folds >= 2
                    ? std::to_string(sweep.selection->inner_folds) + " inner folds"
                    : std::string("early-stopping split"))
            << "), per group once its members are done:\n";
  for (const auto& g : sweep.groups)
    std::cout << "  " << g.id << "  selection  " << g.members.size() << " configuration"
              << plural(g.members.size()) << (p.finished.count(g.id) ? "  done" : "") << "\n";
}

} // namespace

int sweep_command(const SweepArgs& args) {
  auto sweep = sweep::load(args.sweep_file, {args.smoke});
  // The ids `vfp run` would resume under (results of an older vfp keep theirs); reads only.
  keep_stored_ids(sweep, results::SweepFolder::of_sweep(args.results_root, sweep.name, false));
  const auto progress = progress_of(sweep, args.results_root);
  if (args.json) {
    print_json(sweep, progress);
    return 0;
  }
  print_configurations_and_tasks(sweep, progress);
  print_pooled_jobs(sweep, progress);
  return 0;
}

void add_sweep_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<SweepArgs>();
  auto* cmd = app.add_subcommand("sweep", "Expand a sweep and list its configurations and tasks");
  cmd->add_option("sweep", args->sweep_file, "sweep YAML")->required();
  cmd->add_flag("--dry-run", args->dry_run, "only list (the default; nothing is run)");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_flag("--smoke", args->smoke,
                "with the file's smoke: values (the sweep named <name>-smoke)");
  cmd->add_option("--results-root", args->results_root, "results root (to count done tasks)")
      ->capture_default_str();
  commands.push_back({cmd, [args] { return sweep_command(*args); }});
}

} // namespace vfp::runner
