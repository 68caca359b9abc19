#include "slurm/slurm.h"

#include "core/core.h"

#include <regex>

namespace vfp::slurm {
namespace {

/// Values on #SBATCH lines are read by sbatch, not by a shell, and cannot be quoted there:
/// they must be plain tokens (a newline would start a new script line).
void require_token(const std::string& option, const std::string& value, const std::regex& ok,
                   const std::string& expected) {
  if (!std::regex_match(value, ok))
    throw InputError("slurm: " + option + " '" + value + "' is not valid: expected " + expected);
}

void require_absolute(const std::string& option, const std::string& path) {
  if (path.empty() || path.front() != '/')
    throw InputError("slurm: " + option + " must be an absolute path, got '" + path + "'");
  if (path.find('\0') != std::string::npos)
    throw InputError("slurm: " + option + " holds a NUL byte");
}

void require_range(const std::string& option, int value, int low, int high) {
  if (value < low || value > high)
    throw InputError("slurm: " + option + " must be between " + std::to_string(low) + " and " +
                     std::to_string(high) + ", got " + std::to_string(value));
}

std::string line(const std::string& option, const std::string& value) {
  return "#SBATCH --" + option + "=" + value + "\n";
}

} // namespace

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void validate(const JobSpec& s) {
  static const std::regex name("[A-Za-z0-9_.-]{1,128}");
  static const std::regex names("[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*");
  // minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s (sbatch --time), or no limit.
  static const std::regex time(
      "[0-9]+|[0-9]+:[0-9]{1,2}|[0-9]+:[0-9]{1,2}:[0-9]{1,2}|[0-9]+-[0-9]{1,2}(:[0-9]{1,2}){0,2}|"
      "UNLIMITED|INFINITE");
  static const std::regex mem("[0-9]+[KMGT]?");
  static const std::regex log_path("/[A-Za-z0-9_./%+-]*");
  static const std::regex plugin("[A-Za-z0-9_]+");
  require_token("job name", s.job_name, name, "letters, digits, '_', '.' or '-'");
  require_absolute("sweep file", s.sweep_file);
  require_absolute("results root", s.results_root);
  if (!s.cache_dir.empty())
    require_absolute("cache folder", s.cache_dir);
  require_absolute("vfp binary", s.vfp_binary);
  require_absolute("log file", s.log_file);
  require_token("log file", s.log_file, log_path,
                "a path of letters, digits and _ . / % + - only, since #SBATCH --output cannot "
                "quote (choose a --results-root without spaces or quotes)");
  require_range("--nodes", s.nodes, 1, 100000);
  require_range("--gpus-per-node", s.gpus_per_node, 0, 1024);
  require_range("--workers-per-node", s.workers_per_node, 1, 1024);
  require_range("--cpus-per-task", s.cpus_per_task, 0, 4096);
  require_range("--signal-seconds", s.signal_seconds, 0, 65535);
  require_range("--retries", s.retries, 0, 100);
  if (!s.time.empty())
    require_token("--time", s.time, time,
                  "minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S (as sbatch --time)");
  if (!s.partition.empty())
    require_token("--partition", s.partition, names, "a partition name (or a comma list)");
  if (!s.account.empty())
    require_token("--account", s.account, name, "an account name");
  if (!s.qos.empty())
    require_token("--qos", s.qos, name, "a QOS name");
  if (!s.mem.empty())
    require_token("--mem", s.mem, mem, "a size such as 64G (per node)");
  if (s.launcher != "srun" && s.launcher != "mpirun")
    throw InputError("slurm: --launcher '" + s.launcher + "' is not srun or mpirun");
  if (s.gpus_per_node > 0 && s.workers_per_node != s.gpus_per_node)
    throw InputError("slurm: --workers-per-node " + std::to_string(s.workers_per_node) +
                     " with --gpus-per-node " + std::to_string(s.gpus_per_node) +
                     ": a GPU job runs one worker per GPU (leave --workers-per-node out)");
  if (s.gpus_per_node > 0 && s.launcher != "srun")
    throw InputError("slurm: --launcher mpirun with --gpus-per-node: a GPU job binds one GPU "
                     "to each worker rank through srun (a heterogeneous job whose coordinator "
                     "takes no GPU); use --launcher srun");
  require_token("--mpi", s.mpi, plugin, "an srun MPI plugin such as pmix or pmi2");
}

namespace {

/// The #SBATCH lines every component of the job shares: where and how long it runs.
std::string placement_lines(const JobSpec& s) {
  std::string lines;
  if (!s.time.empty())
    lines += line("time", s.time);
  if (!s.partition.empty())
    lines += line("partition", s.partition);
  if (!s.account.empty())
    lines += line("account", s.account);
  if (!s.qos.empty())
    lines += line("qos", s.qos);
  if (!s.mem.empty())
    lines += line("mem", s.mem);
  return lines;
}

/// What the job asks for. CPU workers: one allocation of nodes × workers + 1 ranks. GPU
/// workers: a heterogeneous job, so that the coordinator (component 0: one task, one CPU, no
/// GPU) takes no GPU slot and every worker (component 1: per node one task per GPU) is bound
/// to a GPU of its own and its own CPUs, whatever the node's GPU count or rank order.
std::string resource_lines(const JobSpec& s) {
  if (s.gpus_per_node == 0) {
    std::string lines =
        line("nodes", std::to_string(s.nodes)) + line("ntasks", std::to_string(s.ranks()));
    if (s.cpus_per_task > 0)
      lines += line("cpus-per-task", std::to_string(s.cpus_per_task));
    return lines + placement_lines(s);
  }
  std::string lines = "# Component 0: the coordinator, rank 0 (one CPU, no GPU).\n" +
                      line("nodes", "1") + line("ntasks", "1") + line("cpus-per-task", "1") +
                      placement_lines(s) + "#SBATCH hetjob\n" +
                      "# Component 1: the workers, ranks 1.., one per GPU, each bound to its GPU "
                      "and CPUs.\n" +
                      line("nodes", std::to_string(s.nodes)) +
                      line("ntasks-per-node", std::to_string(s.gpus_per_node)) +
                      line("gpus-per-task", "1") + line("gpu-bind", "per_task:1");
  if (s.cpus_per_task > 0)
    lines += line("cpus-per-task", std::to_string(s.cpus_per_task));
  return lines + placement_lines(s);
}

} // namespace

std::map<std::string, std::string> placeholders(const JobSpec& s) {
  validate(s);
  // sbatch_options: for templates copied before {{resources}} (CPU layout only).
  std::string options;
  if (s.gpus_per_node > 0)
    options += line("gpus-per-node", std::to_string(s.gpus_per_node));
  if (s.cpus_per_task > 0)
    options += line("cpus-per-task", std::to_string(s.cpus_per_task));
  options += placement_lines(s);
  if (!options.empty())
    options.pop_back(); // the template's line ends it
  auto resources = resource_lines(s);
  resources.pop_back();
  std::string run =
      "run " + shell_quote(s.sweep_file) + " --results-root " + shell_quote(s.results_root);
  if (!s.cache_dir.empty())
    run += " --cache " + shell_quote(s.cache_dir);
  run += " --retries " + std::to_string(s.retries);
  if (s.smoke)
    run += " --smoke";
  std::string launch = s.launcher == "srun" ? "srun --mpi=" + s.mpi + " --kill-on-bad-exit=1"
                                            : std::string("mpirun -np \"$SLURM_NTASKS\"");
  if (s.gpus_per_node > 0) // one MPI world over both components; each worker on its cores
    launch = "srun --het-group=0,1 --mpi=" + s.mpi + " --kill-on-bad-exit=1 --cpu-bind=cores";
  return {{"job_name", s.job_name},
          {"nodes", std::to_string(s.nodes)},
          {"ntasks", std::to_string(s.ranks())},
          {"sbatch_options", options},
          {"resources", resources},
          {"gpu_job", s.gpus_per_node > 0 ? "1" : "0"},
          {"log_file", s.log_file},
          {"signal_seconds", std::to_string(s.signal_seconds)},
          {"launch", launch},
          {"vfp", shell_quote(s.vfp_binary)},
          {"run_args", run}};
}

std::string render(std::string_view text, const std::string& template_name, const JobSpec& spec) {
  const auto values = placeholders(spec);
  std::string out;
  int line_number = 1;
  std::size_t at = 0;
  for (;;) {
    const auto open = text.find("{{", at);
    for (auto i = at; i < std::min(open, text.size()); ++i)
      line_number += text[i] == '\n';
    if (open == std::string_view::npos) {
      out.append(text.substr(at));
      return out;
    }
    out.append(text.substr(at, open - at));
    const auto close = text.find("}}", open);
    const auto end_of_line = text.find('\n', open);
    const auto where = template_name + ":" + std::to_string(line_number);
    if (close == std::string_view::npos || close > end_of_line)
      throw InputError(where + ": '{{' without '}}' on the same line");
    std::string name(text.substr(open + 2, close - open - 2));
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    const auto value = values.find(name);
    if (value == values.end()) {
      std::string known;
      for (const auto& [k, v] : values)
        known += (known.empty() ? "" : ", ") + k;
      throw InputError(where + ": unknown placeholder {{" + name + "}} (known: " + known + ")");
    }
    out += value->second;
    at = close + 2;
  }
}

} // namespace vfp::slurm
