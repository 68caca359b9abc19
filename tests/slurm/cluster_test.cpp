// A real single-node Slurm cluster (munged, slurmctld and slurmd from Debian's slurm-wlm and
// munge, started here as root with their own key, ports and folders) runs sweeps submitted
// with `vfp slurm submit` to the end, as one MPI world. (SIGTERM, requeue and resume:
// two_host_test.cpp.) Skipped, saying why, where the
// daemons cannot run (not root, packages missing).
#include "slurm_daemons.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace {

using namespace vfp::integration;
using namespace vfp::slurm_test;

class SlurmCluster : public ::testing::Test {
protected:
  static fs::path dir;
  static std::string skip_reason;

  static void SetUpTestSuite() {
    skip_reason = missing_for_cluster();
    if (!skip_reason.empty())
      return;
    std::string error;
    dir = folder_with_synth_cohort("slurm", error);
    ASSERT_FALSE(dir.empty()) << error;
    start_cluster();
  }

  static void TearDownTestSuite() {
    if (dir.empty())
      return;
    run("scancel --user=root");
    stop_daemons(dir, {"slurmd.pid", "slurmctld.pid"});
    fs::remove_all(dir);
  }

  void SetUp() override {
    if (!skip_reason.empty())
      GTEST_SKIP() << skip_reason;
  }

  static void start_cluster() {
    // tmp: the TmpFS where PMIx makes a folder per job step, named by job and step only (one
    // left behind by a killed run would fail the next cluster's first job).
    for (const char* d : {"state", "spool", "log", "tmp"})
      fs::create_directories(dir / d);
    std::string error;
    const auto socket = start_munged(dir, error);
    ASSERT_FALSE(socket.empty()) << error;
    const auto host = trimmed(run("hostname -s").text);
    const auto conf = dir / "slurm.conf";
    // Containers: no cgroups (proctrack/linuxproc, task/none); config_overrides lets the
    // node offer more CPUs than the machine has, as -np 3 on 2 cores does with mpirun.
    std::ofstream(conf) << "ClusterName=vfptest\nSlurmctldHost=" << host << "\n"
                        << common_conf(socket) << "SlurmctldPort=" << free_port()
                        << "\nSlurmdPort=" << free_port()
                        << "\nStateSaveLocation=" << (dir / "state").string()
                        << "\nSlurmdSpoolDir=" << (dir / "spool").string()
                        << "\nSlurmctldPidFile=" << (dir / "slurmctld.pid").string()
                        << "\nSlurmdPidFile=" << (dir / "slurmd.pid").string()
                        << "\nSlurmctldLogFile=" << (dir / "log" / "slurmctld.log").string()
                        << "\nSlurmdLogFile=" << (dir / "log" / "slurmd.log").string() << R"(
SchedulerType=sched/builtin
TmpFS=)" << (dir / "tmp").string()
                        << R"(
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
    return submitted_job(run("cd " + dir.string() + " && " + VFP_BIN + " slurm submit " + sweep +
                             " --results-root results --workers-per-node 2"));
  }
};
fs::path SlurmCluster::dir;
std::string SlurmCluster::skip_reason;

} // namespace

TEST_F(SlurmCluster, ASubmittedSweepRunsAsOneMpiJobAcrossItsRanksAndFinishes) {
  std::ofstream(dir / "tiny.yaml") << cluster_sweep_text("tiny", 3);
  const auto id = submit("tiny.yaml");
  ASSERT_FALSE(id.empty());
  const auto sweep_dir = dir / "results" / "tiny";
  const auto log = [&] { return read(sweep_dir / "slurm" / ("slurm-" + id + ".out")); };
  ASSERT_EQ(wait_for_end("", id, 300), "COMPLETED") << log();
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

// A job cancelled with SIGTERM requeues itself and resumes: tests/slurm/two_host_test.cpp
// checks it on a 2-node job (the same script and checks; one cluster start instead of two).
