// The progress reporter of long commands (lib/log): silent for short runs, throttled by time,
// with the time left from the rate so far. The clock is injected: no test waits or depends on
// how fast the machine is.
#include "core/core.h"
#include "log/log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Recorder {
  double now = 0;
  std::vector<std::string> lines;
  vfp::log::ProgressOptions options(double interval = 5, double first_after = 2) {
    vfp::log::ProgressOptions o;
    o.interval = interval;
    o.first_after = first_after;
    o.clock = [this] { return now; };
    o.sink = [this](const std::string& line) { lines.push_back(line); };
    return o;
  }
};

} // namespace

TEST(Progress, AShortRunPrintsNothingNotEvenItsEnd) {
  Recorder r;
  vfp::log::Progress p("bootstrap", 100, r.options());
  for (int k = 1; k <= 100; ++k) {
    r.now = 0.01 * k; // all of it in 1 s
    p.update(std::uint64_t(k));
  }
  p.finish();
  EXPECT_TRUE(r.lines.empty());
}

TEST(Progress, PrintsDoneOfTotalAndTheTimeLeftAtMostOncePerInterval) {
  Recorder r;
  vfp::log::Progress p("bootstrap", 1000, r.options(5, 2));
  for (int k = 1; k <= 1000; ++k) {
    r.now = 0.1 * k; // 100 s in all, 10 units a second
    p.update(std::uint64_t(k));
  }
  p.finish();
  // First line at 2 s (unit 20), then every 5 s: 2, 7, …, 97 → 20 lines, and the closing one.
  ASSERT_EQ(r.lines.size(), 21u);
  EXPECT_EQ(r.lines[0], "bootstrap: 20/1000 (2 %), about 1 min 38 s left");
  EXPECT_EQ(r.lines[1], "bootstrap: 70/1000 (7 %), about 1 min 33 s left");
  EXPECT_EQ(r.lines.back(), "bootstrap: 1000/1000 done in 1 min 40 s");
}

TEST(Progress, IntervalZeroPrintsEveryUpdate) {
  Recorder r;
  vfp::log::Progress p("cache verify", 3, r.options(0, 0));
  p.step();
  p.step();
  p.step();
  p.finish();
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(r.lines[0], "cache verify: 1/3 (33 %)"); // no rate yet: no time left
  EXPECT_EQ(r.lines[3], "cache verify: 3/3 done in 0 s");
}

TEST(Progress, TheEnvironmentSetsTheIntervalAndABadValueIsRefusedByName) {
  ::setenv("VFP_PROGRESS_INTERVAL", "0", 1);
  auto o = vfp::log::ProgressOptions::from_environment();
  EXPECT_EQ(o.interval, 0);
  EXPECT_EQ(o.first_after, 0);
  ::setenv("VFP_PROGRESS_INTERVAL", "soon", 1);
  try {
    vfp::log::ProgressOptions::from_environment();
    FAIL() << "a bad interval was accepted";
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "VFP_PROGRESS_INTERVAL: 'soon' is not a number of seconds (0 or more)");
  }
  ::unsetenv("VFP_PROGRESS_INTERVAL");
  o = vfp::log::ProgressOptions::from_environment();
  EXPECT_EQ(o.interval, 5);
  EXPECT_EQ(o.first_after, 2);
}
