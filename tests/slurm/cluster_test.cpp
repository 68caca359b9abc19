// A real single-node Slurm cluster (munged, slurmctld and slurmd from Debian's slurm-wlm and
// munge, started here as root with their own key, ports and folders) runs sweeps submitted
// with `vfp slurm submit`: one to the end, one cancelled part-way with SIGTERM that requeues
// itself and finishes with nothing lost or done twice. Skipped, saying why, where the
// daemons cannot run (not root, packages missing).
#include "../integration/shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <set>
#include <thread>

namespace {

using namespace vfp::integration;

/// A TCP port nobody listens on now (the kernel's pick for port 0).
int free_port() {
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

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  return s;
}

class SlurmCluster : public ::testing::Test {
protected:
  static fs::path dir;
  static std::string skip_reason;

  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_reason = "starting slurmctld, slurmd and munged needs root (CI runs as root)";
      return;
    }
    for (const char* tool : {"munged", "slurmctld", "slurmd", "sbatch", "scontrol", "scancel"})
      if (run(std::string("command -v ") + tool).code != 0) {
        skip_reason = std::string(tool) + " is not installed (scripts/setup.sh installs the "
                                          "Debian packages slurm-wlm and munge)";
        return;
      }
    std::string error;
    dir = folder_with_synth_cohort("slurm", error);
    ASSERT_FALSE(dir.empty()) << error;
    start_cluster();
  }

  static void TearDownTestSuite() {
    if (dir.empty())
      return;
    run("scancel --user=root");
    for (const char* pid : {"slurmd.pid", "slurmctld.pid", "munge/munged.pid"})
      if (fs::exists(dir / pid))
        run("kill " + trimmed(read(dir / pid)));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    fs::remove_all(dir);
  }

  void SetUp() override {
    if (!skip_reason.empty())
      GTEST_SKIP() << skip_reason;
  }

  static void start_cluster() {
    const auto munge = dir / "munge";
    fs::create_directories(munge);
    for (const char* d : {"state", "spool", "log"})
      fs::create_directories(dir / d);
    ASSERT_EQ(run("head -c 1024 /dev/urandom > " + (munge / "munge.key").string() +
                  " && chmod 600 " + (munge / "munge.key").string())
                  .code,
              0);
    const auto socket = (munge / "munge.socket").string();
    const auto munged =
        run("munged --force --socket=" + socket + " --key-file=" + (munge / "munge.key").string() +
            " --pid-file=" + (munge / "munged.pid").string() + " --log-file=" +
            (munge / "munged.log").string() + " --seed-file=" + (munge / "seed").string());
    ASSERT_EQ(munged.code, 0) << munged.text;
    const auto host = trimmed(run("hostname -s").text);
    const auto conf = dir / "slurm.conf";
    // Containers: no cgroups (proctrack/linuxproc, task/none); config_overrides lets the
    // node offer more CPUs than the machine has, as -np 3 on 2 cores does with mpirun.
    std::ofstream(conf) << "ClusterName=vfptest\nSlurmctldHost=" << host
                        << "\nSlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\n"
                        << "AuthInfo=socket=" << socket << ",cred_expire=20\nCredType=cred/munge\n"
                        << "SlurmctldPort=" << free_port() << "\nSlurmdPort=" << free_port()
                        << "\nStateSaveLocation=" << (dir / "state").string()
                        << "\nSlurmdSpoolDir=" << (dir / "spool").string()
                        << "\nSlurmctldPidFile=" << (dir / "slurmctld.pid").string()
                        << "\nSlurmdPidFile=" << (dir / "slurmd.pid").string()
                        << "\nSlurmctldLogFile=" << (dir / "log" / "slurmctld.log").string()
                        << "\nSlurmdLogFile=" << (dir / "log" / "slurmd.log").string() << R"(
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
MailProg=/bin/true
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
NodeName=)" << host << R"( CPUs=8 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
)";
    ::setenv("SLURM_CONF", conf.c_str(), 1);
    for (const char* daemon : {"slurmctld", "slurmd"}) {
      const auto started = run(std::string(daemon) + " -f " + conf.string());
      ASSERT_EQ(started.code, 0) << daemon << ": " << started.text;
    }
    for (int i = 0; i < 300; ++i) {
      if (trimmed(run("sinfo -h -o %T").text) == "idle")
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the test cluster's node never became idle: " << run("sinfo").text
           << read(dir / "log" / "slurmctld.log");
  }

  /// `vfp slurm submit` of `sweep` (3 ranks: a coordinator and 2 workers); the job id.
  static std::string submit(const std::string& sweep) {
    const auto out = run("cd " + dir.string() + " && " + VFP_BIN + " slurm submit " + sweep +
                         " --results-root results --workers-per-node 2");
    std::smatch m;
    if (out.code != 0 || !std::regex_search(out.text, m, std::regex("submitted job ([0-9]+)")))
      ADD_FAILURE() << out.text;
    return m.size() > 1 ? m[1].str() : "";
  }

  static std::string job_field(const std::string& id, const std::string& key) {
    std::smatch m;
    const auto shown = run("scontrol show job -o " + id).text;
    return std::regex_search(shown, m, std::regex(key + "=([^ \n]*)")) ? m[1].str() : "";
  }

  /// Waits until the job completed (or failed); returns its final state.
  static std::string wait_for_end(const std::string& id, int seconds) {
    for (int i = 0; i < seconds * 2; ++i) {
      const auto state = job_field(id, "JobState");
      if (state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
          state == "NODE_FAIL")
        return state;
      // A requeued job waits (Reason=BeginTime) for its first credential to expire: AuthInfo's
      // cred_expire, 120 s by default, 20 s on this test cluster.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return "still " + job_field(id, "JobState") + " after " + std::to_string(seconds) + " s";
  }

  static std::string sweep_text(const std::string& name, int epochs) {
    return tiny_sweep_text(name,
                           "max_epochs: " + std::to_string(epochs) +
                               ", patience: " + std::to_string(epochs) +
                               ", batch_size: 8, threads: 1, stop_on: loss",
                           "sweep:\n  grid:\n    train.lr: [3.0e-3, 1.0e-3]\n");
  }

  /// Every task (2 configurations × 2 folds) exactly once and ok, and both cox rows; returns
  /// how many tasks resumed from a checkpoint.
  static int check_every_task_once(const fs::path& sweep_dir) {
    EXPECT_EQ(rows_of(sweep_dir / "results.jsonl", "cox").size(), 2u);
    return expect_every_task_once(sweep_dir / "results.jsonl", 4);
  }
};
fs::path SlurmCluster::dir;
std::string SlurmCluster::skip_reason;

} // namespace

TEST_F(SlurmCluster, ASubmittedSweepRunsAsOneMpiJobAcrossItsRanksAndFinishes) {
  std::ofstream(dir / "tiny.yaml") << sweep_text("tiny", 3);
  const auto id = submit("tiny.yaml");
  ASSERT_FALSE(id.empty());
  const auto sweep_dir = dir / "results" / "tiny";
  const auto log = [&] { return read(sweep_dir / "slurm" / ("slurm-" + id + ".out")); };
  ASSERT_EQ(wait_for_end(id, 300), "COMPLETED") << log();
  check_every_task_once(sweep_dir);
  // srun --mpi=pmix made one MPI world of 3 ranks, not 3 lone rank-0 coordinators.
  const auto status = nlohmann::json::parse(read(sweep_dir / "status.json"));
  EXPECT_EQ(status["ranks"], 3) << log();
  EXPECT_EQ(status["state"], "finished");
  EXPECT_NE(log().find("the sweep ended with exit code 0"), std::string::npos) << log();
  const auto summary =
      run(std::string(VFP_BIN) + " slurm status " + sweep_dir.string() + " --json");
  ASSERT_EQ(summary.code, 0) << summary.text;
  const auto j = nlohmann::json::parse(summary.text);
  EXPECT_EQ(j["tasks_ok"], 4);
  EXPECT_EQ(j["jobs"][0]["job_id"], id);
  EXPECT_EQ(j["jobs"][0]["state"], "COMPLETED");
}

TEST_F(SlurmCluster, AJobCancelledWithTermRequeuesItselfAndFinishesWithNothingLostOrDuplicated) {
  std::ofstream(dir / "long.yaml") << sweep_text("long", 150);
  const auto id = submit("long.yaml");
  ASSERT_FALSE(id.empty());
  const auto sweep_dir = dir / "results" / "long";
  const auto log = [&] { return read(sweep_dir / "slurm" / ("slurm-" + id + ".out")); };
  // Wait until a worker trains (an epoch heartbeat in status.json), then preempt.
  ASSERT_FALSE(wait_for_training(sweep_dir, 3, 120).is_null()) << log();
  const auto cancelled = run("scancel --signal=TERM " + id);
  ASSERT_EQ(cancelled.code, 0) << cancelled.text;
  ASSERT_EQ(wait_for_end(id, 400), "COMPLETED") << log();
  const auto text = log();
  EXPECT_NE(text.find("stopped by signal 15"), std::string::npos) << text;
  EXPECT_NE(text.find("requeueing job " + id), std::string::npos) << text;
  EXPECT_NE(text.find("(start 2)"), std::string::npos) << text;
  EXPECT_EQ(job_field(id, "Restarts"), "1");
  EXPECT_GE(check_every_task_once(sweep_dir), 1) << "no task resumed from its checkpoint: " << text;
}
