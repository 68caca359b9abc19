// The vfp subcommands; main.cpp wires them to CLI11. Each returns the process exit code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::runner {

struct SynthArgs {
  int subjects = 400;
  std::string out;
  std::uint64_t seed = 1;
  double event_rate = 0.15;
  int threads = 0;
};
int synth_command(const SynthArgs& args);

struct RunArgs {
  std::string sweep_file;
  std::string results_root = "results";
  std::string cache_dir; ///< default <results_root>/cache
  bool resume = true;
  int retries = 1;
  std::string log_level = "info";
};
int run_command(const RunArgs& args, int* argc, char*** argv);

struct SweepArgs {
  std::string sweep_file;
  std::string results_root = "results";
  bool dry_run = false;
  bool json = false;
};
int sweep_command(const SweepArgs& args);

struct ReportArgs {
  std::string sweep_dir;
  std::string format = "md"; ///< md, latex or csv
  bool all = false;          ///< also configurations no longer in the sweep
  std::string sort = "sweep";
  std::string baseline; ///< row position or configuration id prefix; empty: no comparison
};
int report_command(const ReportArgs& args);

struct PreprocessArgs {
  std::string config_file;
  std::string results_root = "results";
  std::string cache_dir;
  int threads = 0;
};
int preprocess_command(const PreprocessArgs& args);

struct CacheArgs {
  std::string action; ///< ls, verify or gc
  std::string results_root = "results";
  std::string cache_dir;         ///< default <results_root>/cache
  std::vector<std::string> keep; ///< gc: sweeps whose caches stay
  bool dry_run = false;
};
int cache_command(const CacheArgs& args);

struct ModelsArgs {
  int dims = 2;
  int in_channels = 1;
  int outputs = 1;
  bool json = false;
};
int models_command(const ModelsArgs& args);

struct CoxArgs {
  std::string csv;
  std::string time;
  std::string event;
  std::vector<std::string> covariates;
  bool standardize = false;   ///< hazard ratios per standard deviation as well
  std::string ties = "efron"; ///< efron or breslow
  bool json = false;
  std::vector<std::string> baseline; ///< compare with this model (e.g. age,bmi): C of both
  int bootstrap = 1000;              ///< resamples for the C difference's interval
  unsigned long long seed = 1;
  double uno_truncation = 0; ///< > 0: also Uno's C, events up to this time
};
int cox_command(const CoxArgs& args);

struct MetricsArgs {
  std::string csv;
  std::string label;
  std::vector<std::string> scores; ///< one, or two to compare
  std::string fold;                ///< optional: per-fold metrics and the corrected t-test
  int bootstrap = 2000;            ///< resamples of the percentile intervals
  unsigned long long seed = 1;
  double confidence = 0.95;
  std::string curves; ///< optional folder for roc_<score>.csv and pr_<score>.csv
  bool json = false;
};
int metrics_command(const MetricsArgs& args);

/// Threads for this process: its CPU affinity, shared among the ranks on this node when the
/// ranks are not bound to distinct CPUs.
int threads_for_rank(int ranks_on_node);

} // namespace vfp::runner
