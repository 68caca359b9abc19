// The whole MPI job SIGKILLed at named points of a small sweep (VFP_FAULT, see
// docs/hardening.md) and relaunched each time: every launch but the last dies at the next
// point, each picking up what the kill before left behind; the last one finishes, and the
// results equal an uninterrupted run's (same rows, same numbers, nothing twice, no torn line,
// the same table), and nothing half written is left.
#include "fault_harness.h"

#include <gtest/gtest.h>

namespace {

using namespace vfp::faults;

struct KillPoint {
  const char* fault;       ///< VFP_FAULT: point[:nth], counted per process
  const char* left_behind; ///< what the kill leaves for the next launch to cope with
};

// In the order the sweep reaches them, each launch starting from where the last one died.
// np 3: two workers; the 24 subjects are preprocessed in two shards, then merged.
const KillPoint kPoints[] = {
    {"preprocess.subject:3", "both shards half preprocessed, nothing written"},
    {"cache.write:1", "a shard's temporary cache file half written"},
    {"cache.write:2", "both shards on disk, the merged cache's temporary half written"},
    {"dispatch.assigned:4", "a train_eval assigned (after 2 shards and the merge), no result"},
    {"train.step:5", "two tasks in epoch 2, their epoch-1 checkpoints on disk"},
    {"checkpoint.write:1", "resumed tasks: the epoch-2 checkpoint's temporary, not renamed"},
    {"worker.result:2", "a task's folder complete, its checkpoint removed, its row never sent"},
    {"results.row.torn:1", "half a row at the end of results.jsonl"},
    {"results.row.appended:1", "a row on file that the coordinator never recorded"},
    {"cox.task:1", "a cox task half done (oof.csv, no cox.json)"},
    {"report.table:1", "table.md rewritten, table.csv and table.tex not"},
    {"report.page:1", "the report's figures, no index.html"},
};

} // namespace

TEST(KillTheWholeJob, AtTwelvePointsInTurnAndTheLastRelaunchHasTheUninterruptedResults) {
  const auto& dir = shared_dir();
  fs::remove_all(dir / "killed");
  const auto sweep_dir = dir / "killed" / "tiny";
  const auto results = sweep_dir / "results.jsonl";
  int launches = 0;
  for (const auto& point : kPoints) {
    SCOPED_TRACE(point.fault);
    const auto before = read(results);
    const auto out = launch(dir, "tiny.yaml --results-root killed", point.fault, 3,
                            "killed." + std::to_string(++launches) + ".log");
    // The point fired and its SIGKILL took mpirun and every rank at once: nothing of the job
    // is left and no rank went down the graceful (SIGTERM) path.
    const std::string name(point.fault, std::strchr(point.fault, ':'));
    ASSERT_TRUE(out.killed) << "exit " << out.code << ": the point was not reached\n" << out.log;
    ASSERT_NE(out.note.find("fault point " + name + " reached"), std::string::npos) << out.log;
    EXPECT_EQ(out.left, 0) << "processes of the job survived";
    EXPECT_EQ(out.log.find("stopped by signal"), std::string::npos) << out.log;
    // The rows from before are still there, first, unchanged (a torn last one cut).
    const auto whole = before.substr(0, before.rfind('\n') + 1);
    EXPECT_EQ(read(results).compare(0, whole.size(), whole), 0) << point.left_behind;
  }
  const auto last = launch(dir, "tiny.yaml --results-root killed", "", 3, "killed.last.log");
  ASSERT_EQ(last.code, 0) << last.log;
  expect_same_as_reference(sweep_dir);
  EXPECT_TRUE(fs::exists(sweep_dir / "report" / "index.html"));
  EXPECT_TRUE(fs::exists(sweep_dir / "report" / "table.csv"));
  // What the kills left half written (the cache's and the checkpoint's temporaries, a
  // killed builder's lock file) went when the next launch took the sweep or the cache.
  for (const auto& e : fs::recursive_directory_iterator(dir / "killed")) {
    const auto name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << e.path();
    EXPECT_TRUE(e.path().extension() != ".lock" || name == "run.lock") << e.path();
  }
}
