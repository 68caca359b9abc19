// A real two-host Slurm cluster on this machine: two network namespaces joined by a veth
// pair, each with its own hostname (UTS namespace), /etc/hosts (mount namespace), address and
// slurmd; slurmctld beside the first slurmd, and one munge key. `vfp slurm submit --nodes 2`
// runs one MPI world over both hosts (srun --mpi=pmix, TCP between the namespaces) with the
// numbers of a one-host run; a 2-node job stopped with SIGTERM requeues and resumes; a node
// that dies mid-run ends the MPI job, Slurm requeues it, and it resumes from the checkpoints
// once the node is back. Skipped, saying why, when not root or the tools are missing.
#include "slurm_daemons.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

namespace {

using namespace vfp::integration;
using namespace vfp::slurm_test;

/// The hosts: network namespace vfp-node<i> holds host vfp-node<i> at 10.213.77.<i>.
constexpr int kNodes = 2;
std::string node(int i) {
  return "vfp-node" + std::to_string(i);
}
std::string address(int i) {
  return "10.213.77." + std::to_string(i);
}
/// A command's prefix that runs it in host `i`'s network namespace (nsenter, unlike
/// `ip netns exec`, leaves /sys as it is: slurmd needs the cgroup file system under it).
std::string on_host(int i) {
  return "nsenter --net=/run/netns/" + node(i) + " ";
}
/// Slurm client commands run on the first host, as on a login node of the cluster.
std::string on_first_host() {
  return on_host(1);
}

class TwoHostCluster : public ::testing::Test {
protected:
  static fs::path dir;
  static std::string skip_reason;

  static void SetUpTestSuite() {
    skip_reason = missing_for_cluster({"ip", "unshare", "nsenter"});
    if (!skip_reason.empty())
      return;
    if (run("ip netns add vfp-probe && ip netns del vfp-probe").code != 0) {
      skip_reason = "cannot create network namespaces here (needs CAP_SYS_ADMIN and "
                    "CAP_NET_ADMIN)";
      return;
    }
    std::string error;
    dir = folder_with_synth_cohort("slurm2", error);
    ASSERT_FALSE(dir.empty()) << error;
    remove_network();
    make_network();
    start_cluster();
  }

  static void TearDownTestSuite() {
    if (dir.empty())
      return;
    run(on_first_host() + "scancel --user=root");
    stop_daemons(dir, {"slurmctld.pid"});
    remove_network(); // kills what runs in the namespaces (the slurmds, stray ranks)
    // The folder goes with the others at exit (tests/support/test_main.cpp; VFP_KEEP_TEST_DIRS
    // keeps it, with the daemons' logs).
  }

  void SetUp() override {
    if (!skip_reason.empty())
      GTEST_SKIP() << skip_reason;
  }

  /// Kills every process of host `i` (its slurmd, job steps and ranks): a node that died.
  static void kill_host(int i) {
    run("{ ip netns pids " + node(i) + " 2>/dev/null | xargs -r kill -9; }");
  }

  static void remove_network() {
    for (int i = 1; i <= kNodes; ++i) {
      kill_host(i);
      run("ip netns del " + node(i));
    }
  }

  static void make_network() {
    for (int i = 1; i <= kNodes; ++i)
      ASSERT_EQ(run("ip netns add " + node(i)).code, 0);
    // One veth pair: eth0 of each namespace, both ends up, a /24 between them.
    const auto link = run("ip link add vfp2h0 netns " + node(1) + " type veth peer name vfp2h1 " +
                          "netns " + node(2));
    ASSERT_EQ(link.code, 0) << link.text;
    for (int i = 1; i <= kNodes; ++i) {
      const auto ns = on_host(i);
      const auto up = run(ns + "ip link set lo up && " + ns + "ip link set vfp2h" +
                          std::to_string(i - 1) + " name eth0 && " + ns + "ip addr add " +
                          address(i) + "/24 dev eth0 && " + ns + "ip link set eth0 up");
      ASSERT_EQ(up.code, 0) << up.text;
    }
    std::ofstream(dir / "hosts") << "127.0.0.1 localhost\n"
                                 << address(1) << " " << node(1) << "\n"
                                 << address(2) << " " << node(2) << "\n";
  }

  /// Runs `commands` as host `i`: in its network namespace, with its hostname and its
  /// /etc/hosts (new UTS and mount namespaces); daemons started there stay in them.
  static Output as_host(int i, const std::string& commands) {
    return run(on_host(i) + "unshare --uts --mount sh -c " +
               shell_quoted("mount --bind " + (dir / "hosts").string() +
                            " /etc/hosts && hostname " + node(i) + " && " + commands));
  }

  static std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s)
      out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }

  static void start_slurmd(int i) {
    const auto started =
        as_host(i, "slurmd -f " + (dir / "slurm.conf").string() + " -N " + node(i));
    ASSERT_EQ(started.code, 0) << node(i) << ": " << started.text;
  }

  static void start_cluster() {
    for (const char* d : {"state", "log"})
      fs::create_directories(dir / d);
    for (int i = 1; i <= kNodes; ++i) {
      fs::create_directories(dir / "spool" / node(i));
      fs::create_directories(dir / "tmp" / node(i));
    }
    std::string error;
    const auto socket = start_munged(dir, error); // a file socket: every namespace reaches it
    ASSERT_FALSE(socket.empty()) << error;
    const auto conf = dir / "slurm.conf";
    // SlurmdTimeout: a dead node is noticed within seconds (300 s by default).
    std::ofstream out(conf);
    out << "ClusterName=vfptwo\nSlurmctldHost=" << node(1) << "(" << address(1) << ")\n"
        << common_conf(socket) << "SlurmctldPort=" << free_port() << "\nSlurmdPort=" << free_port()
        << "\nStateSaveLocation=" << (dir / "state").string()
        << "\nSlurmdSpoolDir=" << (dir / "spool").string() << "/%n"
        << "\nSlurmctldPidFile=" << (dir / "slurmctld.pid").string()
        << "\nSlurmdPidFile=" << (dir / "spool").string() << "/%n/slurmd.pid"
        << "\nSlurmctldLogFile=" << (dir / "log" / "slurmctld.log").string()
        << "\nSlurmdLogFile=" << (dir / "log").string() << "/slurmd-%n.log"
        << "\nSchedulerType=sched/builtin\nSlurmdTimeout=10\nInactiveLimit=0\nKillWait=5\n"
        // Each host its own temporary folder: PMIx makes its per-step folder there, named by
        // job and step only, so two hosts sharing /tmp would collide.
        << "TmpFS=" << (dir / "tmp").string() << "/%n\n";
    for (int i = 1; i <= kNodes; ++i)
      out << "NodeName=" << node(i) << " NodeAddr=" << address(i)
          << " CPUs=4 RealMemory=4000 State=UNKNOWN\n";
    out << "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP "
           "OverSubscribe=FORCE\n";
    out.close();
    ::setenv("SLURM_CONF", conf.c_str(), 1);
    const auto ctld = as_host(1, "slurmctld -f " + conf.string());
    ASSERT_EQ(ctld.code, 0) << "slurmctld: " << ctld.text;
    for (int i = 1; i <= kNodes; ++i)
      start_slurmd(i);
    wait_until_idle();
  }

  static void wait_until_idle() {
    for (int i = 0; i < 600; ++i) {
      if (trimmed(run(on_first_host() + "sinfo -h -o %T").text) == "idle")
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the test cluster's nodes never became idle: " << run(on_first_host() + "sinfo").text
           << read(dir / "log" / "slurmctld.log");
  }

  /// `vfp slurm submit --nodes 2` of `sweep`: a coordinator and one worker per host (3 ranks,
  /// rank 0 and a worker on the first host).
  static std::string submit(const std::string& sweep) {
    return submitted_job(run("cd " + dir.string() + " && " + on_first_host() + VFP_BIN +
                             " slurm submit " + sweep + " --nodes 2 --results-root results"));
  }

  /// Submits a sweep `name` of 150-epoch tasks and waits until a worker trains at epoch 3 or
  /// later; the job id ("" with a test failure when it never got there).
  static std::string submit_and_wait_for_training(const std::string& name) {
    std::ofstream(dir / (name + ".yaml")) << cluster_sweep_text(name, 150);
    const auto id = submit(name + ".yaml");
    if (!id.empty() && wait_for_training(dir / "results" / name, 3, 120).is_null()) {
      ADD_FAILURE() << "no worker trained: " << log_of(dir / "results" / name, id);
      return "";
    }
    return id;
  }

  static std::string log_of(const fs::path& sweep_dir, const std::string& id) {
    return read(sweep_dir / "slurm" / ("slurm-" + id + ".out"));
  }
};
fs::path TwoHostCluster::dir;
std::string TwoHostCluster::skip_reason;

} // namespace

TEST_F(TwoHostCluster, OneMpiWorldOverBothHostsGivesTheNumbersOfAOneHostRun) {
  std::ofstream(dir / "two.yaml") << cluster_sweep_text("two", 3);
  const auto started = std::chrono::steady_clock::now();
  const auto id = submit("two.yaml");
  ASSERT_FALSE(id.empty());
  const auto sweep_dir = dir / "results" / "two";
  ASSERT_EQ(wait_for_end(on_first_host(), id, 300), "COMPLETED") << log_of(sweep_dir, id);
  std::cout << "two-host run: "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                started)
                   .count()
            << " s\n";
  check_every_task_once(sweep_dir);
  const auto status = nlohmann::json::parse(read(sweep_dir / "status.json"));
  EXPECT_EQ(status["ranks"], 3);
  // Every rank's host: the coordinator and one worker on the first host, one on the second.
  std::multiset<std::string> hosts;
  for (const auto& [rank, host] : status["hosts"].items())
    hosts.insert(host.get<std::string>());
  EXPECT_EQ(hosts, (std::multiset<std::string>{node(1), node(1), node(2)})) << status.dump(2);
  std::set<std::string> trained_on;
  for (const auto& r : rows_of(sweep_dir / "results.jsonl", "train_eval"))
    trained_on.insert(r["provenance"].value("host", ""));
  EXPECT_EQ(trained_on, (std::set<std::string>{node(1), node(2)})) << "tasks ran on both hosts";

  // The same sweep on one host (mpirun here, 3 ranks): the same numbers, task for task.
  const auto one_host =
      run("cd " + dir.string() + " && " + mpirun(3) + " run two.yaml --results-root one_host");
  ASSERT_EQ(one_host.code, 0) << one_host.text;
  EXPECT_EQ(numbers_by_task(sweep_dir / "results.jsonl", "train_eval"),
            numbers_by_task(dir / "one_host" / "two" / "results.jsonl", "train_eval"));
  EXPECT_EQ(read(sweep_dir / "report" / "table.md"),
            read(dir / "one_host" / "two" / "report" / "table.md"));
}

TEST_F(TwoHostCluster, ATwoNodeJobStoppedWithTermRequeuesAndResumes) {
  const auto sweep_dir = dir / "results" / "term";
  const auto id = submit_and_wait_for_training("term");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(run(on_first_host() + "scancel --signal=TERM " + id).code, 0);
  ASSERT_EQ(wait_for_end(on_first_host(), id, 400), "COMPLETED") << log_of(sweep_dir, id);
  const auto text = log_of(sweep_dir, id);
  EXPECT_NE(text.find("stopped by signal 15"), std::string::npos) << text;
  EXPECT_NE(text.find("requeueing job " + id), std::string::npos) << text;
  EXPECT_NE(text.find("(start 2)"), std::string::npos) << text;
  EXPECT_EQ(job_field(on_first_host(), id, "Restarts"), "1");
  EXPECT_GE(check_every_task_once(sweep_dir), 1) << "no task resumed from its checkpoint: " << text;
}

TEST_F(TwoHostCluster, ANodeThatDiesEndsTheJobWhichSlurmRequeuesAndResumesFromCheckpoints) {
  const auto sweep_dir = dir / "results" / "fail";
  const auto id = submit_and_wait_for_training("fail");
  ASSERT_FALSE(id.empty());
  kill_host(2); // its slurmd, its job step and the rank training there
  // Slurm notices the silent node (SlurmdTimeout), ends the job and requeues it; it can start
  // again once the node is back.
  for (int i = 0; i < 120 && job_field(on_first_host(), id, "Restarts") != "1"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(job_field(on_first_host(), id, "Restarts"), "1")
      << run(on_first_host() + "scontrol show job " + id).text << log_of(sweep_dir, id);
  // The node comes back as after a reboot, without what the dead job step left: its TmpFS
  // folder and, in slurmd's spool, the PMIx socket and folder of the step. Slurm 22.05 names
  // both by job and step only and a requeued job keeps its id, so they would fail the same
  // step on this node ("Address already in use"; docs/slurm.md).
  fs::remove_all(dir / "tmp" / node(2));
  fs::create_directories(dir / "tmp" / node(2));
  for (const auto& e : fs::directory_iterator(dir / "spool" / node(2)))
    if (e.path().filename().string().find("pmix") != std::string::npos)
      fs::remove_all(e.path());
  start_slurmd(2);
  ASSERT_EQ(wait_for_end(on_first_host(), id, 400), "COMPLETED") << log_of(sweep_dir, id);
  const auto text = log_of(sweep_dir, id);
  EXPECT_NE(text.find("(start 2)"), std::string::npos) << text;
  EXPECT_GE(check_every_task_once(sweep_dir), 1) << "no task resumed from its checkpoint: " << text;
}
