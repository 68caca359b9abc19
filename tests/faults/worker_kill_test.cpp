// One worker rank SIGKILLed alone (an OOM kill, a node's process dying) at a deterministic
// point: the job ends (Open MPI aborts it), nothing on file is damaged, and a relaunch
// finishes the sweep with every task once and the uninterrupted run's numbers.
// (orchestration_test kills a worker at a random moment; this one pins the worst moment:
// a task finished, its folder written, its checkpoint removed, its row not yet sent.)
#include "fault_harness.h"

#include <gtest/gtest.h>

namespace {
using namespace vfp::faults;
} // namespace

TEST(KillOneWorker, AfterItsTaskFinishedButBeforeItReportedARelaunchRunsTheTaskAgainOnce) {
  const auto& dir = shared_dir();
  const auto args = "tiny.yaml --results-root one_worker --cache " + reference_cache().string();
  const auto sweep_dir = dir / "one_worker" / "tiny";
  fs::remove_all(dir / "one_worker");

  const auto first = launch(dir, args, "worker.result:1:process", 3, "one_worker.log");
  EXPECT_NE(first.note.find("fault point worker.result reached: SIGKILL to this process"),
            std::string::npos)
      << first.log;
  // mpirun sees a rank die of signal 9 and ends the job with a non-zero exit; it ends the
  // other ranks itself, and nothing of the job is left running.
  EXPECT_FALSE(first.exited() && first.code == 0) << first.log;
  EXPECT_NE(first.log.find("signal 9"), std::string::npos) << first.log;
  EXPECT_EQ(first.left, 0);
  const auto results = sweep_dir / "results.jsonl";
  const auto before = fs::exists(results) ? read(results) : std::string();
  if (!before.empty())
    expect_whole_lines(results);

  const auto relaunch = launch(dir, args, "", 3, "one_worker.relaunch.log");
  ASSERT_EQ(relaunch.code, 0) << relaunch.log;
  expect_same_as_reference(sweep_dir);
  EXPECT_EQ(read(results).compare(0, before.size(), before), 0);
}
