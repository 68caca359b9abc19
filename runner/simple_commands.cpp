// The subcommands that need no MPI and little code: synth, preprocess, models.
#include "commands.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "results/results.h"
#include "sweep/sweep.h"
#include "synth/synth.h"
#include "tasks/tasks.h"
#include "train/train.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>

namespace vfp::runner {
namespace {

struct ModelsArgs {
  /// The model of --save; its dims, in_channels and outputs are also the listing's.
  train::InitialWeights model;
  bool json = false;
  std::string save; ///< write `model`'s freshly initialised weights here (safetensors)
  std::vector<std::string> sizes; ///< --size KEY=VALUE: an encoder's sizes for --save
  ModelsArgs() {
    model.in_channels = 1;
    model.outputs = 1;
  }
};

int models_command(const ModelsArgs& args) {
  auto m = args.model;
  for (const auto& size : args.sizes) {
    const auto eq = size.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("vfp models --size '" + shorten_for_message(size) +
                       "': expected KEY=VALUE, e.g. model.vit.dim=32");
    m.sizes[size.substr(0, eq)] = size.substr(eq + 1);
  }
  if (!args.save.empty()) {
    if (m.arch.empty())
      throw InputError("vfp models --save needs --arch (one of vfp models' names)");
    const int tensors = train::write_initial_weights(m, args.save);
    std::cout << "wrote " << args.save << ": " << tensors << " tensors of " << m.arch << " ("
              << m.dims << "D, " << m.in_channels << " channel(s), " << m.outputs
              << " output(s), seed " << m.seed << ")\n";
    return 0;
  }
  const auto list = train::list_architectures(m.dims, m.in_channels, m.outputs);
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : list) {
      nlohmann::json entry = {{"name", a.name},          {"description", a.description},
                              {"dims", m.dims},          {"in_channels", m.in_channels},
                              {"outputs", m.outputs},    {"available", a.available},
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
  std::cout << "Architectures for " << m.dims << "D input, " << m.in_channels << " channel(s), "
            << m.outputs << " output(s) (config key model.arch):\n\n";
  std::cout << "| model.arch | parameters | description |\n|---|---:|---|\n";
  for (const auto& a : list) {
    std::string count = "—";
    if (a.available) {
      char text[32];
      std::snprintf(text, sizeof text, "%.2f M", double(a.parameters) / 1e6);
      count = std::to_string(a.parameters) + " (" + text + ")";
    }
    std::cout << "| " << a.name << " | "
              << (a.available ? count : "not in " + std::to_string(m.dims) + "D") << " | "
              << a.description << " |\n";
  }
  return 0;
}

} // namespace

int synth_command(const SynthArgs& args) {
  synth::SynthOptions o;
  o.subjects = args.subjects;
  o.out = args.out;
  o.seed = args.seed;
  o.event_rate = args.event_rate;
  o.unlabelled = args.unlabelled;
  o.vertebrae = args.vertebrae;
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
  ctx.sweep_dir = results::SweepFolder::of_sweep(args.results_root, sweep.name, false).root();
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
  for (const auto& cfg : sweep.configurations) { // BYOL's external cohorts (ssl.cohort)
    if (!cfg.config.runs_pretraining() || cfg.config.ssl.data != "external")
      continue;
    std::vector<data::Exclusion> excluded;
    const auto subjects = data::read_unlabelled_cohort(cfg.config.ssl.cohort, &excluded);
    if (!done.insert(data::cache_key(config::external_cohort_config(cfg.config), subjects)).second)
      continue;
    auto row = tasks::run_preprocess_external(cfg.config, ctx);
    std::cout << row["cache_file"].get<std::string>() << "  " << row["patches"]
              << " patches (ssl.cohort)\n";
  }
  return 0;
}

void add_synth_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<SynthArgs>();
  auto* cmd = app.add_subcommand("synth", "Write a synthetic CT cohort with planted effects");
  cmd->add_option("--subjects", args->subjects, "number of subjects")->capture_default_str();
  cmd->add_option("--out", args->out, "output folder")->required();
  cmd->add_option("--seed", args->seed, "random seed (same seed, same bytes)")
      ->capture_default_str();
  cmd->add_option("--event-rate", args->event_rate, "target share of fracture events")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "writer threads (0 = CPU affinity)")
      ->capture_default_str();
  cmd->add_flag("--unlabelled", args->unlabelled,
                "no outcomes: a table of ids only and a centroid for every vertebra of each "
                "scan (an external pretraining cohort, ssl.cohort)");
  cmd->add_option("--vertebrae", args->vertebrae,
                  "vertebrae in each scan, e.g. T12-L3 (the default; T10-L4 with --unlabelled)");
  commands.push_back({cmd, [args] { return synth_command(*args); }});
}

void add_preprocess_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<PreprocessArgs>();
  auto* cmd = app.add_subcommand("preprocess", "Fill the HDF5 patch cache for a config or sweep");
  cmd->add_option("config", args->config_file, "experiment or sweep YAML")->required();
  add_results_options(*cmd, args->results_root, args->cache_dir);
  cmd->add_option("--threads", args->threads, "threads (0 = CPU affinity)")->capture_default_str();
  cmd->add_flag("--smoke", args->smoke, "with the file's smoke: values");
  commands.push_back({cmd, [args] { return preprocess_command(*args); }});
}

void add_models_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<ModelsArgs>();
  auto& m = args->model;
  auto* cmd = app.add_subcommand(
      "models", "List the model registry's architectures with their parameter counts");
  cmd->add_option("--dims", m.dims, "spatial dims: 2 or 3")
      ->check(CLI::IsMember({2, 3}))
      ->capture_default_str();
  cmd->add_option("--in-channels", m.in_channels, "input channels")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--outputs", m.outputs, "outputs (logits)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_option("--save", args->save,
                  "write a seeded, freshly initialised --arch as safetensors (with "
                  "--in-channels 3 --outputs 1000 in 2D: torchvision's ImageNet layout), a "
                  "stand-in for published weights in smoke runs");
  cmd->add_option("--arch", m.arch, "with --save: the registry name");
  cmd->add_option("--seed", m.seed, "with --save: torch's seed")->capture_default_str();
  cmd->add_option("--prefix", m.prefix,
                  "with --save: put before every key (encode_image.i3_resnet. gives "
                  "Merlin's checkpoint layout)");
  cmd->add_option("--size", args->sizes,
                  "with --save: an encoder size as KEY=VALUE, repeatable (model.vit.dim=32, "
                  "model.segresnet.init_filters=8)");
  commands.push_back({cmd, [args] { return models_command(*args); }});
}

} // namespace vfp::runner
