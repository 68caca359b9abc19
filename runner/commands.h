// The vfp subcommands: each registers its own command line (add_<command>_command) with what
// runs it; main.cpp calls them. Each returns the process exit code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace vfp::runner {

/// A subcommand on the command line and what runs it once the line is parsed.
struct Command {
  CLI::App* cli = nullptr; ///< converts to true when the line names this subcommand
  std::function<int()> run;
  bool sets_up_logging = false; ///< else main sets up rank 0's logging before `run`
};
using Commands = std::vector<Command>;

/// What main parsed before the subcommand, and its arguments, for `vfp run` (MPI_Init).
struct Invocation {
  std::string log_level = "info";
  int* argc = nullptr;
  char*** argv = nullptr;
};

/// --results-root and --cache, as every command that writes results or caches names them.
void add_results_options(CLI::App& command, std::string& results_root, std::string& cache_dir);

void add_synth_command(CLI::App& app, Commands& commands);
void add_preprocess_command(CLI::App& app, Commands& commands);
void add_sweep_command(CLI::App& app, Commands& commands);
/// `invocation` is read when the command runs: main fills it in after parsing.
void add_run_command(CLI::App& app, Commands& commands, const Invocation& invocation);
void add_slurm_commands(CLI::App& app, Commands& commands);
void add_report_command(CLI::App& app, Commands& commands);
void add_cache_command(CLI::App& app, Commands& commands);
void add_models_command(CLI::App& app, Commands& commands);
void add_cox_command(CLI::App& app, Commands& commands);
void add_metrics_command(CLI::App& app, Commands& commands);
void add_export_command(CLI::App& app, Commands& commands);
void add_predict_command(CLI::App& app, Commands& commands);

/// `vfp run`'s exit code when a signal (SIGTERM, SIGUSR1) stopped the sweep at a resumable
/// point: EX_TEMPFAIL, "try again"; slurm/vfp.sbatch requeues the job on it.
constexpr int kExitInterrupted = 75;

struct SynthArgs {
  int subjects = 400;
  std::string out;
  std::uint64_t seed = 1;
  double event_rate = 0.15;
  int threads = 0;
  bool unlabelled = false;
  std::string vertebrae;
};
int synth_command(const SynthArgs& args);

struct RunArgs {
  std::string sweep_file;
  std::string results_root = "results";
  std::string cache_dir; ///< default <results_root>/cache
  bool resume = true;
  int retries = 1;
  std::string log_level = "info";
  bool smoke = false; ///< the sweep file's smoke: values, results in <name>-smoke
  /// Refuse to add rows to a sweep whose rows come from another code version (else: a warning).
  bool require_same_version = false;
};
int run_command(const RunArgs& args, int* argc, char*** argv);

struct SweepArgs {
  std::string sweep_file;
  std::string results_root = "results";
  bool dry_run = false;
  bool json = false;
  bool smoke = false;
};
int sweep_command(const SweepArgs& args);

/// `vfp slurm submit`: renders the sbatch script from a template and submits it.
struct SlurmSubmitArgs {
  std::string sweep_file;
  std::string results_root = "results";
  std::string cache_dir;
  std::string template_file; ///< default: slurm/vfp.sbatch beside the binary's source tree
  std::string vfp_binary;    ///< default: this executable
  int nodes = 1;
  int gpus_per_node = 0;    ///< 0: CPU workers
  int workers_per_node = 0; ///< default: gpus_per_node, or 1 without GPUs
  int cpus_per_task = 0;    ///< 0: Slurm's default
  std::string time;         ///< e.g. 2-00:00:00; empty: the partition's default
  std::string partition, account, mem, qos;
  std::string launcher = "srun"; ///< srun (--mpi=pmix) or mpirun
  std::string mpi = "pmix";      ///< srun's --mpi plugin
  int signal_seconds = 120;      ///< the time-limit warning (SIGUSR1) before the end
  int retries = 1;
  bool smoke = false;
  bool dry_run = false;
};
int slurm_submit_command(const SlurmSubmitArgs& args);

/// `vfp slurm status results/<sweep>`: the sweep's progress and its Slurm jobs.
struct SlurmStatusArgs {
  std::string sweep_dir;
  bool json = false;
};
int slurm_status_command(const SlurmStatusArgs& args);

struct ReportArgs {
  std::vector<std::string> sweep_dirs;  ///< one: its own report/; several (or --out): one table
  std::string out;                      ///< the study folder of a multi-sweep table
  std::string study;                    ///< a study file: every table it lays out, under --out
  std::string results_root = "results"; ///< where a study file's sweeps are
  std::string format = "md";            ///< md, latex or csv
  bool all = false;                     ///< also configurations no longer in the sweep
  std::string sort;                     ///< "": by sweep, or as a study folder's table was written
  std::string baseline; ///< row position or configuration id prefix; empty: no comparison
  bool figures = true;  ///< report/figures and index.html's images (gnuplot)
  int risk_groups = 3;  ///< Kaplan–Meier groups by out-of-fold score
};
int report_command(const ReportArgs& args);

struct PreprocessArgs {
  std::string config_file;
  std::string results_root = "results";
  std::string cache_dir;
  int threads = 0;
  bool smoke = false;
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

/// `vfp export results/<sweep> (--config ID | --group ID) --out BUNDLE`.
struct ExportArgs {
  std::string sweep_dir;
  std::string config_id; ///< an id or a unique prefix
  std::string group_id;  ///< a nested selection's group id (or prefix), instead of config_id
  std::string out;
  // Retraining the fold tasks whose models the sweep did not save:
  int threads = 0;       ///< 0: as each task trained (its row)
  std::string device;    ///< empty: the configuration's train.device
  double tolerance = -1; ///< < 0: inference::kRetrainTolerance
  std::string cache_dir; ///< empty: <sweep>/../cache, as vfp run's default
};
int export_command(const ExportArgs& args);

/// `vfp predict --bundle DIR (--image CT --centroids JSON | --csv FILE)`.
struct PredictArgs {
  std::string bundle;
  std::string image, centroids, subject_id;
  double age = -1, bmi = -1; ///< < 0: not given
  std::string csv;           ///< subject_id,image,centroids[,age,bmi]: many patients
  std::string svg_dir;       ///< optional pictures of the patches the models saw
  std::string png_dir;       ///< the same as 8-bit PNG
  std::string centroid_format, centroid_space; ///< empty: from the file name; the bundle's
  int threads = 0;                             ///< 0: every core
  bool json = false;
};
int predict_command(const PredictArgs& args);

/// Threads for this process: its CPU affinity, shared among the ranks on this node when the
/// ranks are not bound to distinct CPUs.
int threads_for_rank(int ranks_on_node);

} // namespace vfp::runner
