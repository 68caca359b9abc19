// vfp: experiment runner for vertebral fracture prognosis from CT.
#include "commands.h"

#include "core/core.h"
#include "log/log.h"
#include "train/train.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

namespace vfp::runner {

void add_results_options(CLI::App& command, std::string& results_root, std::string& cache_dir) {
  command.add_option("--results-root", results_root, "results root")->capture_default_str();
  command.add_option("--cache", cache_dir, "cache folder (default <results-root>/cache)");
}

} // namespace vfp::runner

int main(int argc, char** argv) {
  using namespace vfp::runner;
  // Training steps reallocate the same large buffers: keep them mapped (about 2× CPU step
  // time otherwise on VMs where page faults are expensive; bench/ measures it).
  vfp::keep_freed_memory();
  CLI::App app{"vfp: deep-learning vertebral fracture prognosis from CT — sweeps, training, "
               "statistics"};
  app.set_version_flag("--version", [] {
    return std::string("vfp ") + std::string(vfp::version()) + "\n" + vfp::train::libtorch_build();
  });
  app.require_subcommand(1);
  Invocation invocation{"info", &argc, &argv};
  app.add_option("--log-level", invocation.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();

  // In this order in --help.
  Commands commands;
  add_synth_command(app, commands);
  add_preprocess_command(app, commands);
  add_sweep_command(app, commands);
  add_run_command(app, commands, invocation);
  add_slurm_commands(app, commands);
  add_report_command(app, commands);
  add_cache_command(app, commands);
  add_models_command(app, commands);
  add_cox_command(app, commands);
  add_metrics_command(app, commands);
  add_export_command(app, commands);
  add_predict_command(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    for (const auto& command : commands)
      if (*command.cli) {
        if (!command.sets_up_logging)
          vfp::log::setup(0, invocation.log_level);
        return command.run();
      }
  } catch (const vfp::Error& e) {
    std::cerr << "vfp: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vfp: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
