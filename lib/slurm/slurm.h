// vfp::slurm — the sbatch script of a sweep: a template in slurm/ filled with values that are
// validated (what goes on #SBATCH lines) or shell-quoted (what the script's shell reads), so
// that no sweep name, path or option can inject shell code.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace vfp::slurm {

/// What the job runs and asks Slurm for.
struct JobSpec {
  std::string job_name;     ///< e.g. vfp-demo
  std::string sweep_file;   ///< absolute
  std::string results_root; ///< absolute
  std::string cache_dir;    ///< absolute, or empty for <results_root>/cache
  std::string vfp_binary;   ///< absolute
  std::string log_file;     ///< Slurm's --output (absolute; %j is the job id)
  int nodes = 1;
  int gpus_per_node = 0;    ///< 0: CPU workers
  int workers_per_node = 1; ///< ranks that train, per node (with GPUs: gpus_per_node)
  int cpus_per_task = 0;    ///< 0: Slurm's default
  std::string time, partition, account, mem, qos; ///< empty: the cluster's defaults
  std::string launcher = "srun";                  ///< srun or mpirun
  std::string mpi = "pmix";                       ///< srun's --mpi plugin
  int signal_seconds = 120;                       ///< SIGUSR1 this long before the time limit
  int retries = 1;
  bool smoke = false;

  /// MPI ranks: one coordinator and the workers of every node.
  int ranks() const { return nodes * workers_per_node + 1; }
};

/// 'text' for a POSIX shell: single quotes, with each ' written as '\''. Safe for any bytes.
std::string shell_quote(std::string_view text);

/// Checks every value; throws InputError naming the option and the value (e.g. a partition
/// name with a space or a newline, a time that is not Slurm's format, a relative path).
void validate(const JobSpec& spec);

/// The placeholders of a template and their text for `spec` (validated first):
/// job_name, resources (the #SBATCH lines of what the job asks for; with GPUs a heterogeneous
/// job: the coordinator without a GPU, then one worker per GPU, bound to it; last of the
/// #SBATCH lines, since lines after `hetjob` belong to the workers), log_file,
/// signal_seconds, launch (the launcher's command), gpu_job (1 or 0), vfp, run_args; and for
/// templates copied from older versions nodes, ntasks and sbatch_options.
std::map<std::string, std::string> placeholders(const JobSpec& spec);

/// Fills `{{name}}` placeholders in a template's text. Throws InputError naming
/// `template_name`:line for an unknown or unclosed placeholder.
std::string render(std::string_view template_text, const std::string& template_name,
                   const JobSpec& spec);

} // namespace vfp::slurm
