// The dispatch policy of lib/dispatch's Graph, without MPI: order, dependencies, retries,
// failure propagation, estimates.
#include "core/core.h"
#include "dispatch/dispatch.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using vfp::dispatch::Graph;
using vfp::dispatch::Job;
using vfp::dispatch::State;

Job job(const std::string& id, std::vector<int> depends_on = {}, double estimate = 0) {
  Job j;
  j.kind = "k";
  j.id = id;
  j.depends_on = std::move(depends_on);
  j.estimate_seconds = estimate;
  return j;
}

/// Starts and finishes `j` successfully.
void run(Graph& g, int j) {
  g.start(j, 1);
  EXPECT_TRUE(g.finish(j, true, "", 0).empty());
}

TEST(DispatchGraph, TheLargestEstimateStartsFirstThenFileOrder) {
  Graph g;
  g.add(job("a", {}, 1));
  g.add(job("b", {}, 5));
  g.add(job("c", {}, 5));
  g.add(job("d"));
  EXPECT_EQ(g.next_ready(), 1); // 5 s, added before c
  g.start(1, 1);
  EXPECT_EQ(g.next_ready(), 2);
  g.start(2, 2);
  EXPECT_EQ(g.next_ready(), 0);
  g.start(0, 3);
  EXPECT_EQ(g.next_ready(), 3);
  // A changed estimate reorders what waits.
  Graph h;
  h.add(job("x"));
  h.add(job("y"));
  h.set_estimate(1, 3);
  EXPECT_EQ(h.next_ready(), 1);
}

TEST(DispatchGraph, AJobIsReadyOnlyOnceItsDependenciesAreDone) {
  Graph g;
  const int prep = g.add(job("prep"));
  const int a = g.add(job("a", {prep}, 10));
  const int b = g.add(job("b", {prep, a}));
  EXPECT_EQ(g.next_ready(), prep);
  run(g, prep);
  EXPECT_EQ(g.next_ready(), a);
  g.start(a, 1);
  EXPECT_EQ(g.next_ready(), -1) << "b waits for a";
  g.finish(a, true, "", 0);
  EXPECT_EQ(g.next_ready(), b);
  run(g, b);
  EXPECT_FALSE(g.unfinished());
  EXPECT_THROW(g.add(job("bad", {7})), vfp::Error);
}

TEST(DispatchGraph, JobsMarkedDoneBeforeTheRunAreSkippedAndUnblock) {
  Graph g;
  const int a = g.add(job("a"));
  const int b = g.add(job("b", {a}));
  g.mark_done(a);
  EXPECT_EQ(g.next_ready(), b);
  const auto c = g.counts();
  EXPECT_EQ(c.done, 1);
  EXPECT_EQ(c.waiting, 1);
}

TEST(DispatchGraph, MarkingDoneAJobNotInTheGraphThrowsAndChangesNothing) {
  Graph g;
  const int a = g.add(job("a"));
  EXPECT_THROW(g.mark_done(a + 1), std::out_of_range);
  EXPECT_THROW(g.mark_done(-1), std::out_of_range);
  EXPECT_EQ(g.counts().done, 0);
  EXPECT_EQ(g.next_ready(), a);
}

TEST(DispatchGraph, AFailedJobIsRetriedThenFailsWithEverythingThatNeedsIt) {
  Graph g;
  const int a = g.add(job("a"));
  const int b = g.add(job("b", {a}));
  const int c = g.add(job("c", {b}));
  const int other = g.add(job("other"));
  g.start(a, 1);
  EXPECT_TRUE(g.finish(a, false, "disk full", 1).empty()) << "one retry left";
  EXPECT_EQ(g.state(a), State::kWaiting);
  EXPECT_EQ(g.next_ready(), a);
  g.start(a, 2);
  const auto failed = g.finish(a, false, "disk full", 1);
  EXPECT_EQ(failed, (std::vector<int>{a, b, c}));
  EXPECT_EQ(g.reason(a), "disk full");
  EXPECT_EQ(g.reason(c), "its k job a failed: disk full"); // the root cause, however deep
  EXPECT_EQ(g.attempts(a), 2);
  EXPECT_EQ(g.next_ready(), other) << "the sweep goes on";
  run(g, other);
  EXPECT_FALSE(g.unfinished());
  EXPECT_EQ(g.counts().failed, 3);
}

TEST(DispatchGraph, CoordinatorJobsAreKeptApartFromWorkerJobs) {
  Graph g;
  const int a = g.add(job("a"));
  auto table = job("table", {a});
  table.on_coordinator = true;
  const int t = g.add(table);
  EXPECT_EQ(g.next_ready_on_coordinator(), -1);
  run(g, a);
  EXPECT_EQ(g.next_ready(), -1) << "a coordinator job never goes to a worker";
  EXPECT_EQ(g.next_ready_on_coordinator(), t);
}

TEST(DispatchGraph, TheEtaSumsWhatIsLeftOverTheWorkers) {
  Graph g;
  g.add(job("a", {}, 30));
  g.add(job("b", {}, 10));
  g.add(job("c")); // unknown: the mean of its kind's known estimates, 20
  EXPECT_NEAR(g.eta_seconds(2), (30 + 10 + 20) / 2.0, 1e-9);
  Graph unknown;
  unknown.add(job("x"));
  EXPECT_LT(unknown.eta_seconds(1), 0) << "nothing known: no ETA";
  EXPECT_EQ(vfp::dispatch::format_duration(3725), "1 h 02 min");
  EXPECT_EQ(vfp::dispatch::format_duration(200), "3 min 20 s");
  EXPECT_EQ(vfp::dispatch::format_duration(45), "45 s");
}

} // namespace
