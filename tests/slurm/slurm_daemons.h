// Shared by the Slurm cluster tests: the pieces of a throwaway cluster (munged with its own
// key, slurm.conf lines, free ports) and of watching its jobs. `prefix` runs a Slurm client
// command where the controller is reachable (empty, or e.g. `ip netns exec <ns> `).
#pragma once

#include "../integration/shell.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

namespace vfp::slurm_test {

using namespace vfp::integration;

/// A TCP port nobody listens on now (the kernel's pick for port 0).
inline int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t length = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &length);
  ::close(s);
  return ntohs(a.sin_port);
}

inline std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  return s;
}

/// Why the daemons cannot run here ("" when they can): not root, or a tool missing.
inline std::string missing_for_cluster(std::initializer_list<const char*> extra_tools = {}) {
  if (::geteuid() != 0)
    return "starting slurmctld, slurmd and munged needs root (CI runs as root)";
  for (const char* tool : {"munged", "slurmctld", "slurmd", "sbatch", "scontrol", "scancel"})
    if (run(std::string("command -v ") + tool).code != 0)
      return std::string(tool) + " is not installed (scripts/setup.sh installs the Debian "
                                 "packages slurm-wlm and munge)";
  for (const char* tool : extra_tools)
    if (run(std::string("command -v ") + tool).code != 0)
      return std::string(tool) + " is not installed";
  return "";
}

/// Starts munged with a fresh key in `dir`/munge; returns its socket ("" on failure, with the
/// reason in `error`).
inline std::string start_munged(const fs::path& dir, std::string& error) {
  const auto munge = dir / "munge";
  fs::create_directories(munge);
  const auto key = (munge / "munge.key").string();
  if (run("head -c 1024 /dev/urandom > " + key + " && chmod 600 " + key).code != 0) {
    error = "cannot write " + key;
    return "";
  }
  const auto socket = (munge / "munge.socket").string();
  const auto started = run("munged --force --socket=" + socket + " --key-file=" + key +
                           " --pid-file=" + (munge / "munged.pid").string() +
                           " --log-file=" + (munge / "munged.log").string() +
                           " --seed-file=" + (munge / "seed").string());
  if (started.code != 0) {
    error = "munged: " + started.text;
    return "";
  }
  return socket;
}

/// slurm.conf lines every test cluster shares: root runs everything, no cgroups
/// (proctrack/linuxproc, task/none: containers), requeue allowed, and credentials that expire
/// after 20 s (a requeued job waits for its first one to expire: 120 s by default).
inline std::string common_conf(const std::string& munge_socket) {
  return "SlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\nAuthInfo=socket=" + munge_socket +
         ",cred_expire=20\nCredType=cred/munge\nProctrackType=proctrack/linuxproc\n"
         "TaskPlugin=task/none\nMpiDefault=none\nReturnToService=2\nJobRequeue=1\n"
         "MailProg=/bin/true\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
         "SlurmdParameters=config_overrides\n"
         // The main scheduling loop every 2 s (60 s by default): a requeued job starts once its
         // begin time (cred_expire) passes, not at the next minute's loop.
         "SchedulerParameters=sched_interval=2\n";
}

/// Kills the daemons whose pid files are in `dir` (munged's too).
inline void stop_daemons(const fs::path& dir, std::initializer_list<const char*> pid_files) {
  for (const char* pid : pid_files)
    if (fs::exists(dir / pid))
      run("kill " + trimmed(read(dir / pid)));
  if (fs::exists(dir / "munge" / "munged.pid"))
    run("kill " + trimmed(read(dir / "munge" / "munged.pid")));
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

inline std::string job_field(const std::string& prefix, const std::string& id,
                             const std::string& key) {
  std::smatch m;
  const auto shown = run(prefix + "scontrol show job -o " + id).text;
  return std::regex_search(shown, m, std::regex(key + "=([^ \n]*)")) ? m[1].str() : "";
}

/// Waits until the job completed (or failed); returns its final state.
inline std::string wait_for_end(const std::string& prefix, const std::string& id, int seconds) {
  for (int i = 0; i < seconds * 2; ++i) {
    const auto state = job_field(prefix, id, "JobState");
    if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
        state == "NODE_FAIL")
      return state;
    // A requeued job waits (Reason=BeginTime) for its first credential to expire.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return "still " + job_field(prefix, id, "JobState") + " after " + std::to_string(seconds) + " s";
}

/// The job id that `vfp slurm submit` printed, or "" (with a test failure naming the output).
inline std::string submitted_job(const Output& out) {
  std::smatch m;
  if (out.code != 0 || !std::regex_search(out.text, m, std::regex("submitted job ([0-9]+)")))
    ADD_FAILURE() << out.text;
  return m.size() > 1 ? m[1].str() : "";
}

/// The tiny sweep of the cluster tests: 2 learning rates × 2 folds, `epochs` epochs, one
/// torch thread per worker (the same numbers on any host).
inline std::string cluster_sweep_text(const std::string& name, int epochs) {
  return tiny_sweep_text(name,
                         "max_epochs: " + std::to_string(epochs) + ", patience: " +
                             std::to_string(epochs) + ", batch_size: 8, threads: 1, stop_on: loss",
                         "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3]\n");
}

/// Every task (2 configurations × 2 folds) exactly once and ok, and both cox rows; returns
/// how many tasks resumed from a checkpoint.
inline int check_every_task_once(const fs::path& sweep_dir) {
  EXPECT_EQ(rows_of(sweep_dir / "results.jsonl", "cox").size(), 2u);
  return expect_every_task_once(sweep_dir / "results.jsonl", 4);
}

} // namespace vfp::slurm_test
