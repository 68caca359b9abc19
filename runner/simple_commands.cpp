// The subcommands that need no MPI: synth, preprocess, sweep, report.
#include "commands.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "plots/plots.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "synth/synth.h"
#include "tasks/tasks.h"
#include "train/train.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

namespace vfp::runner {

int synth_command(const SynthArgs& args) {
  synth::SynthOptions o;
  o.subjects = args.subjects;
  o.out = args.out;
  o.seed = args.seed;
  o.event_rate = args.event_rate;
  o.threads = args.threads > 0 ? args.threads : cpus_in_affinity();
  // Thousands of subjects take minutes: a progress line now and then (none on short runs).
  log::Progress progress("vfp synth: subjects written", std::uint64_t(std::max(0, o.subjects)));
  std::mutex progress_lock;
  o.on_subject_written = [&] {
    const std::lock_guard<std::mutex> hold(progress_lock);
    progress.step();
  };
  const auto t0 = std::chrono::steady_clock::now();
  const auto summary = synth::generate_cohort(o);
  progress.finish();
  spdlog::info("wrote {} subjects ({} events, {:.1f} %) to {} in {:.1f} s", summary.subjects,
               summary.events, 100.0 * summary.event_rate, summary.out.string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

int preprocess_command(const PreprocessArgs& args) {
  const auto sweep = sweep::load(args.config_file, {args.smoke});
  tasks::TaskContext ctx;
  ctx.sweep_dir = confined_folder(args.results_root, {sweep.name}, false);
  ctx.cache_dir = args.cache_dir.empty() ? std::filesystem::path(args.results_root) / "cache"
                                         : std::filesystem::path(args.cache_dir);
  ctx.threads = args.threads > 0 ? args.threads : cpus_in_affinity();
  std::set<std::string> done;
  for (const auto& cfg : sweep.configurations) {
    std::vector<data::Exclusion> excluded; // configurations sharing a cache key share one build
    if (!done.insert(data::cache_key(cfg.config, data::read_cohort(cfg.config, &excluded))).second)
      continue;
    auto row = tasks::run_preprocess(cfg.config, ctx);
    std::cout << row["cache_file"].get<std::string>() << "  " << row["patches"] << " patches\n";
  }
  return 0;
}

int sweep_command(const SweepArgs& args) {
  const auto sweep = sweep::load(args.sweep_file, {args.smoke});
  std::set<std::string> finished;
  const auto dir = confined_folder(args.results_root, {sweep.name}, false);
  // Read only: a dry run takes no lock and writes nothing (a torn last row stays for `vfp run`).
  finished = results::finished_task_ids(results::read_rows(dir));
  int done = 0;
  for (const auto& t : sweep.tasks)
    done += finished.count(t.id) ? 1 : 0;
  // The BYOL pretrainings the tasks need (pretrained.mode: ssl without a file), each listed
  // once with the tasks that load it; done when its checkpoint exists.
  tasks::TaskContext ctx;
  ctx.sweep_dir = dir;
  std::map<std::string, std::vector<std::string>> pretrainings;
  for (const auto& t : sweep.tasks) {
    const auto& c = sweep.configurations[t.configuration].config;
    if (c.runs_pretraining())
      pretrainings[tasks::pretrain_id(c, t)].push_back(t.id);
  }
  const auto pretrained = [&](const std::string& id) {
    return std::filesystem::exists(tasks::pretrain_checkpoint(ctx, id));
  };
  if (args.json) {
    nlohmann::json out = {
        {"name", sweep.name}, {"smoke", sweep.smoke}, {"axes", sweep.axes}, {"done", done}};
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
                              {"done", finished.count(t.id) > 0}});
    for (const auto& [id, users] : pretrainings)
      out["pretrain"].push_back({{"id", id}, {"tasks", users}, {"done", pretrained(id)}});
    for (const auto& c : sweep.configurations)
      out["cox"].push_back({{"id", tasks::cox_id(c)},
                            {"configuration", c.id},
                            {"done", finished.count(tasks::cox_id(c)) > 0}});
    for (const auto& t : sweep.inner_tasks)
      out["inner"].push_back({{"id", t.id},
                              {"configuration", sweep.configurations[t.configuration].id},
                              {"fold", t.fold},
                              {"repeat", t.repeat},
                              {"inner_fold", t.inner_fold},
                              {"seed", t.seed},
                              {"done", finished.count(t.id) > 0}});
    if (sweep.selection) {
      out["selection"] = {{"over", sweep.selection->over},
                          {"metric", sweep.selection->metric},
                          {"inner_folds", sweep.selection->inner_folds}};
      for (const auto& g : sweep.groups) {
        std::vector<std::string> members;
        for (int m : g.members)
          members.push_back(sweep.configurations[size_t(m)].id);
        out["groups"].push_back(
            {{"id", g.id}, {"members", members}, {"done", finished.count(g.id) > 0}});
      }
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "sweep " << sweep.name << ": " << sweep.configurations.size() << " configuration"
            << (sweep.configurations.size() == 1 ? "" : "s") << ", " << sweep.tasks.size()
            << " train_eval tasks (" << done << " done)\n\nconfigurations:\n";
  for (size_t i = 0; i < sweep.configurations.size(); ++i) {
    const auto& c = sweep.configurations[i];
    std::cout << "  [" << i << "] " << c.id;
    for (const auto& [k, v] : c.axes)
      std::cout << "  " << k << "=" << v;
    std::cout << "\n";
  }
  if (!pretrainings.empty()) {
    std::cout << "\npretraining (BYOL, shared by the tasks that load it):\n";
    for (const auto& [id, users] : pretrainings)
      std::cout << "  " << id << "  for " << users.size() << " task"
                << (users.size() == 1 ? "" : "s") << (pretrained(id) ? "  done" : "") << "\n";
  }
  std::cout << "\ntasks:\n";
  for (const auto& t : sweep.tasks)
    std::cout << "  " << t.id << "  train_eval  config " << t.configuration << "  repeat "
              << t.repeat << "  fold " << t.fold << (finished.count(t.id) ? "  done" : "") << "\n";
  for (const auto& t : sweep.inner_tasks)
    std::cout << "  " << t.id << "  inner       config " << t.configuration << "  repeat "
              << t.repeat << "  fold " << t.fold << "  inner fold " << t.inner_fold
              << (finished.count(t.id) ? "  done" : "") << "\n";
  std::cout << "\nper configuration once its folds are done (pooled out-of-fold analysis):\n";
  for (size_t i = 0; i < sweep.configurations.size(); ++i) {
    const auto id = tasks::cox_id(sweep.configurations[i]);
    std::cout << "  " << id << "  cox  config " << i << (finished.count(id) ? "  done" : "")
              << "\n";
  }
  if (sweep.selection) {
    std::cout << "\nnested selection over " << sweep.selection->over.size() << " key(s) by inner "
              << sweep.selection->metric << " ("
              << (sweep.selection->inner_folds >= 2
                      ? std::to_string(sweep.selection->inner_folds) + " inner folds"
                      : std::string("early-stopping split"))
              << "), per group once its members are done:\n";
    for (const auto& g : sweep.groups)
      std::cout << "  " << g.id << "  selection  " << g.members.size() << " configuration"
                << (g.members.size() == 1 ? "" : "s") << (finished.count(g.id) ? "  done" : "")
                << "\n";
  }
  return 0;
}

int report_command(const ReportArgs& args) {
  const std::filesystem::path dir(args.sweep_dir);
  if (!std::filesystem::exists(dir / "results.jsonl"))
    throw InputError("no results in " + dir.string() + " (expected " +
                     (dir / "results.jsonl").string() + ")");
  // The configurations of the sweep as last run, unless --all.
  const auto current = args.all ? std::set<std::string>{} : results::current_configurations(dir);
  int left_out = 0;
  const auto rows = results::rows_of_configurations(results::read_rows(dir), current, &left_out);
  auto table = results::aggregate(rows);
  if (left_out > 0)
    std::cerr << "vfp: leaving out " << left_out
              << " rows of configurations no longer in the sweep (--all shows them)\n";
  if (!args.baseline.empty())
    results::compare_to_baseline(table, results::find_row(table, args.baseline), dir);
  results::sort_rows(table, args.sort);
  std::cout << (args.format == "csv"     ? results::to_csv(table)
                : args.format == "latex" ? results::to_latex(table)
                : args.format == "json"  ? results::to_json(table).dump(2) + "\n"
                                         : results::to_markdown(table));
  // The report folder: the tables in every format, the figures and index.html.
  const auto report = confined_folder(dir, {"report"}, true);
  write_file_atomically(report / "table.md", results::to_markdown(table));
  write_file_atomically(report / "table.csv", results::to_csv(table));
  write_file_atomically(report / "table.tex", results::to_latex(table));
  plots::ReportOptions options;
  options.figures = args.figures;
  options.risk_groups = args.risk_groups;
  const auto page = plots::write_report_page(dir, table, rows, options);
  for (const auto& w : page.warnings)
    spdlog::warn("{}", w);
  std::cerr << "vfp: report written to " << page.index.string() << " (" << page.figures.size()
            << " figures)\n";
  return 0;
}

int models_command(const ModelsArgs& args) {
  if (!args.save.empty()) {
    if (args.arch.empty())
      throw InputError("vfp models --save needs --arch (one of vfp models' names)");
    train::InitialWeights w;
    w.arch = args.arch;
    w.dims = args.dims;
    w.in_channels = args.in_channels;
    w.outputs = args.outputs;
    w.seed = args.seed;
    w.prefix = args.prefix;
    const int tensors = train::write_initial_weights(w, args.save);
    std::cout << "wrote " << args.save << ": " << tensors << " tensors of " << args.arch << " ("
              << args.dims << "D, " << args.in_channels << " channel(s), " << args.outputs
              << " output(s), seed " << args.seed << ")\n";
    return 0;
  }
  const auto list = train::list_architectures(args.dims, args.in_channels, args.outputs);
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : list) {
      nlohmann::json entry = {{"name", a.name},          {"description", a.description},
                              {"dims", args.dims},       {"in_channels", args.in_channels},
                              {"outputs", args.outputs}, {"available", a.available},
                              {"supported_dims", a.dims}};
      if (a.available) {
        entry["parameters"] = a.parameters;
        entry["buffer_values"] = a.buffers;
      }
      out.push_back(entry);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "Architectures for " << args.dims << "D input, " << args.in_channels
            << " channel(s), " << args.outputs << " output(s) (config key model.arch):\n\n";
  std::cout << "| model.arch | parameters | description |\n|---|---:|---|\n";
  for (const auto& a : list) {
    std::string count = "—";
    if (a.available) {
      char text[32];
      std::snprintf(text, sizeof text, "%.2f M", double(a.parameters) / 1e6);
      count = std::to_string(a.parameters) + " (" + text + ")";
    }
    std::cout << "| " << a.name << " | "
              << (a.available ? count : "not in " + std::to_string(args.dims) + "D") << " | "
              << a.description << " |\n";
  }
  return 0;
}

} // namespace vfp::runner
