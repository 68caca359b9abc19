// `vfp slurm submit` and `vfp slurm status`: a sweep as a Slurm job, and what it is doing.
#include "commands.h"
#include "format.h"

#include "core/core.h"
#include "log/log.h"
#include "results/results.h"
#include "slurm/slurm.h"
#include "sweep/sweep.h"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace vfp::runner {
namespace {

namespace fs = std::filesystem;

fs::path absolute_path(const std::string& path) {
  return fs::absolute(path).lexically_normal();
}

std::string timestamp(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, format, &local);
  return text;
}

/// The `Key=Value` fields of `scontrol show job -o ID` (one line), or empty when Slurm no
/// longer knows the job (finished long ago) or cannot be asked.
std::map<std::string, std::string> slurm_job(const std::string& id) {
  std::map<std::string, std::string> fields;
  try {
    const auto shown = run_program({"scontrol", "show", "job", "-o", id});
    if (shown.exit_code != 0)
      return fields;
    std::istringstream words(shown.out);
    for (std::string word; words >> word;)
      if (const auto eq = word.find('='); eq != std::string::npos)
        fields.emplace(word.substr(0, eq), word.substr(eq + 1));
  } catch (const IoError&) { // no scontrol on this machine
  }
  return fields;
}

} // namespace

int slurm_submit_command(const SlurmSubmitArgs& args) {
  const auto sweep = sweep::load(args.sweep_file, {args.smoke});
  const auto root = absolute_path(args.results_root);
  const results::SweepFolder sweep_folder(root / sweep.name);
  const auto slurm_dir = sweep_folder.slurm_folder();
  slurm::JobSpec spec;
  spec.job_name = "vfp-" + sweep.name;
  spec.sweep_file = absolute_path(args.sweep_file).string();
  spec.results_root = root.string();
  if (!args.cache_dir.empty())
    spec.cache_dir = absolute_path(args.cache_dir).string();
  spec.vfp_binary = args.vfp_binary.empty() ? fs::read_symlink("/proc/self/exe").string()
                                            : absolute_path(args.vfp_binary).string();
  spec.log_file = (slurm_dir / "slurm-%j.out").string();
  spec.nodes = args.nodes;
  spec.gpus_per_node = args.gpus_per_node;
  spec.workers_per_node =
      args.workers_per_node > 0 ? args.workers_per_node : std::max(1, args.gpus_per_node);
  spec.cpus_per_task = args.cpus_per_task;
  spec.time = args.time;
  spec.partition = args.partition;
  spec.account = args.account;
  spec.mem = args.mem;
  spec.qos = args.qos;
  spec.launcher = args.launcher;
  spec.mpi = args.mpi;
  spec.signal_seconds = args.signal_seconds;
  spec.retries = args.retries;
  spec.smoke = args.smoke;
  const std::string template_file =
      args.template_file.empty() ? std::string(VFP_SLURM_TEMPLATE) : args.template_file;
  if (!fs::exists(template_file))
    throw InputError("slurm: no template at " + template_file +
                     " (pass --template with a copy of vfp's slurm/vfp.sbatch)");
  const auto script = slurm::render(read_text_file(template_file), template_file, spec);
  if (args.dry_run) {
    std::cout << script;
    return 0;
  }
  fs::create_directories(slurm_dir);
  const auto script_file = slurm_dir / (sweep.name + "-" + timestamp("%Y%m%d-%H%M%S") + ".sbatch");
  write_file_atomically(script_file, script);
  ProgramResult submitted;
  try {
    submitted = run_program({"sbatch", "--parsable", script_file.string()});
  } catch (const IoError& e) {
    throw IoError(std::string(e.what()) + " (is this a Slurm login node? --dry-run prints the "
                                          "script without submitting)");
  }
  if (submitted.exit_code != 0)
    throw IoError("sbatch refused " + script_file.string() + " (exit " +
                  std::to_string(submitted.exit_code) + "): " + submitted.err);
  // --parsable prints "jobid" or "jobid;cluster".
  const auto job_id = submitted.out.substr(0, submitted.out.find_first_of(";\n"));
  append_line_durably(sweep_folder.slurm_jobs(),
                      nlohmann::json({{"job_id", job_id},
                                      {"script", script_file.string()},
                                      {"submitted", std::time(nullptr)},
                                      {"ranks", spec.ranks()},
                                      {"nodes", spec.nodes},
                                      {"gpus_per_node", spec.gpus_per_node}})
                          .dump());
  std::cout << "submitted job " << job_id << " (" << spec.ranks() << " ranks on " << spec.nodes
            << " node" << (spec.nodes == 1 ? "" : "s") << ")\n  script  " << script_file.string()
            << "\n  log     " << (slurm_dir / ("slurm-" + job_id + ".out")).string()
            << "\n  status  vfp slurm status " << sweep_folder.root().string() << "\n";
  return 0;
}

int slurm_status_command(const SlurmStatusArgs& args) {
  const results::SweepFolder sweep(args.sweep_dir);
  const auto& dir = sweep.root();
  if (!fs::is_directory(dir))
    throw InputError("no sweep results folder at " + dir.string());
  nlohmann::json out = {{"sweep_dir", dir.string()}};
  if (fs::exists(sweep.status()))
    out["status"] = nlohmann::json::parse(read_text_file(sweep.status()));
  // Rows: every task once (a rerun of a failed task may add a later ok row).
  std::map<std::string, std::string> task_status;
  int cox = 0;
  // Read only (results::read_rows): a torn last line is left out with a warning, a damaged
  // row elsewhere is an error naming file:line.
  for (const auto& row : results::typed_rows(results::read_rows(sweep))) {
    const auto& header = results::header_of(row);
    if (header.kind == "train_eval") {
      auto& s = task_status[header.task_id];
      if (s != "ok")
        s = header.status;
    }
    cox += std::holds_alternative<results::CoxRow>(row) ? 1 : 0;
  }
  int ok = 0;
  for (const auto& [id, s] : task_status)
    ok += s == "ok";
  out["tasks_ok"] = ok;
  out["tasks_failed"] = int(task_status.size()) - ok;
  out["cox_rows"] = cox;
  nlohmann::json jobs = nlohmann::json::array();
  if (fs::exists(sweep.slurm_jobs())) {
    std::ifstream in(sweep.slurm_jobs());
    for (std::string line; std::getline(in, line);) {
      auto job = nlohmann::json::parse(line, nullptr, false);
      if (job.is_discarded())
        continue;
      const auto fields = slurm_job(job.value("job_id", ""));
      job["state"] = fields.count("JobState") ? fields.at("JobState") : "unknown to Slurm";
      for (const char* key : {"RunTime", "TimeLimit", "Restarts", "NodeList", "Reason"})
        if (fields.count(key))
          job[key] = fields.at(key);
      jobs.push_back(job);
    }
  }
  out["jobs"] = jobs;
  if (args.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "sweep " << dir.string() << "\n";
  if (out.contains("status")) {
    const auto& s = out["status"];
    const long age = long(std::time(nullptr)) - s.value("updated", 0L);
    std::cout << "  " << s.value("state", "unknown") << ": " << s.value("done", 0) << "/"
              << s.value("total", 0) << " jobs done, " << s.value("running", 0) << " running, "
              << s.value("failed", 0) << " failed";
    if (s["eta_seconds"].is_number() && s.value("state", "") == "running")
      std::cout << ", about " << fixed(s["eta_seconds"].get<double>() / 60, 0) << " min left";
    std::cout << " (status.json " << age << " s old)\n";
    for (const auto& w : s.value("workers", nlohmann::json::array()))
      std::cout << "    rank " << w.value("rank", -1) << " on " << w.value("host", "?") << ": "
                << w.value("kind", "") << " " << w.value("task", "") << "\n";
  } else {
    std::cout << "  not started yet (no status.json)\n";
  }
  std::cout << "  results: " << ok << " tasks ok, " << out["tasks_failed"].get<int>() << " failed, "
            << cox << " configurations with survival analysis\n";
  for (const auto& j : jobs) {
    std::cout << "  job " << j.value("job_id", "") << ": " << j.value("state", "");
    for (const char* key : {"RunTime", "TimeLimit", "Restarts", "NodeList", "Reason"})
      if (j.contains(key) && j[key] != "None" && j[key] != "(null)")
        std::cout << ", " << key << " " << j[key].get<std::string>();
    std::cout << "\n";
  }
  if (jobs.empty())
    std::cout << "  no Slurm jobs submitted with vfp slurm submit\n";
  return 0;
}

void add_slurm_commands(CLI::App& app, Commands& commands) {
  auto* slurm = app.add_subcommand("slurm", "Run a sweep as a Slurm job (submit) and follow it "
                                            "(status)");
  slurm->require_subcommand(1);
  auto submit = std::make_shared<SlurmSubmitArgs>();
  auto* cmd = slurm->add_subcommand(
      "submit", "Render the sbatch script of a sweep from a template and submit it (it requeues "
                "itself when preempted or near its time limit)");
  cmd->add_option("sweep", submit->sweep_file, "sweep YAML")->required();
  cmd->add_option("--nodes", submit->nodes, "nodes")->capture_default_str();
  cmd->add_option("--gpus-per-node", submit->gpus_per_node,
                  "GPUs per node, one worker rank each (0: CPU workers)")
      ->capture_default_str();
  cmd->add_option("--workers-per-node", submit->workers_per_node,
                  "worker ranks per node (default: the GPUs, or 1 without)");
  cmd->add_option("--cpus-per-task", submit->cpus_per_task, "CPUs per rank");
  cmd->add_option("--time", submit->time, "time limit, e.g. 2-00:00:00");
  cmd->add_option("--partition", submit->partition, "partition");
  cmd->add_option("--account", submit->account, "account to charge");
  cmd->add_option("--qos", submit->qos, "quality of service");
  cmd->add_option("--mem", submit->mem, "memory per node, e.g. 64G");
  cmd->add_option("--launcher", submit->launcher, "srun or mpirun")
      ->check(CLI::IsMember({"srun", "mpirun"}))
      ->capture_default_str();
  cmd->add_option("--mpi", submit->mpi, "srun's MPI plugin")->capture_default_str();
  cmd->add_option("--signal-seconds", submit->signal_seconds,
                  "seconds before the time limit at which the job stops and requeues")
      ->capture_default_str();
  cmd->add_option("--template", submit->template_file,
                  "sbatch template (default: vfp's slurm/vfp.sbatch)");
  cmd->add_option("--vfp", submit->vfp_binary, "vfp binary the job runs (default: this one)");
  add_results_options(*cmd, submit->results_root, submit->cache_dir);
  cmd->add_option("--retries", submit->retries, "retries of a failed task")->capture_default_str();
  cmd->add_flag("--smoke", submit->smoke, "the sweep file's smoke run");
  cmd->add_flag("--dry-run", submit->dry_run, "print the script; submit nothing");
  commands.push_back({cmd, [submit] { return slurm_submit_command(*submit); }});

  auto status = std::make_shared<SlurmStatusArgs>();
  auto* status_cmd = slurm->add_subcommand("status", "A sweep's progress, results and Slurm jobs");
  status_cmd->add_option("sweep_dir", status->sweep_dir, "results/<sweep>")->required();
  status_cmd->add_flag("--json", status->json, "print JSON");
  commands.push_back({status_cmd, [status] { return slurm_status_command(*status); }});
}

} // namespace vfp::runner
