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
  require_token("--mpi", s.mpi, plugin, "an srun MPI plugin such as pmix or pmi2");
}

std::map<std::string, std::string> placeholders(const JobSpec& s) {
  validate(s);
  std::string options;
  if (s.gpus_per_node > 0)
    options += line("gpus-per-node", std::to_string(s.gpus_per_node));
  if (s.cpus_per_task > 0)
    options += line("cpus-per-task", std::to_string(s.cpus_per_task));
  if (!s.time.empty())
    options += line("time", s.time);
  if (!s.partition.empty())
    options += line("partition", s.partition);
  if (!s.account.empty())
    options += line("account", s.account);
  if (!s.qos.empty())
    options += line("qos", s.qos);
  if (!s.mem.empty())
    options += line("mem", s.mem);
  if (!options.empty())
    options.pop_back(); // the template's line ends it
  std::string run =
      "run " + shell_quote(s.sweep_file) + " --results-root " + shell_quote(s.results_root);
  if (!s.cache_dir.empty())
    run += " --cache " + shell_quote(s.cache_dir);
  run += " --retries " + std::to_string(s.retries);
  if (s.smoke)
    run += " --smoke";
  const std::string launch = s.launcher == "srun" ? "srun --mpi=" + s.mpi + " --kill-on-bad-exit=1"
                                                  : std::string("mpirun -np \"$SLURM_NTASKS\"");
  return {{"job_name", s.job_name},
          {"nodes", std::to_string(s.nodes)},
          {"ntasks", std::to_string(s.ranks())},
          {"sbatch_options", options},
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
