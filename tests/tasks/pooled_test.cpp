// Pooling the out-of-fold predictions (tasks/<id>/oof.csv; results::pool_predictions) for the
// cox and selection tasks:
// ids that need CSV quoting survive the round trip, an event at time 0 is analysed, and a
// refused row names the file, its line and the subject.
#include "tasks/pooled.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

using namespace vfp::tasks::detail;
using vfp::results::pool_predictions;
using vfp::results::pooled_csv;
using vfp::results::PooledSubject;

/// A sweep folder with two tasks' oof.csv (one per fold) of 40 subjects, written as
/// train_eval writes them; subject 0 is `first_id`, an event at time 0. Higher score, earlier
/// event: something for the Cox model to find.
fs::path sweep_with_oof(const std::string& name, const std::string& first_id,
                        const std::string& bad_row = "") {
  const auto dir =
      fs::temp_directory_path() / ("vfp_pooled_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  for (int fold = 0; fold < 2; ++fold) {
    std::ostringstream oof;
    oof.precision(9);
    oof << "subject_id,repeat,fold,score,label,age,bmi,event,time_years\n";
    for (int i = fold; i < 40; i += 2) {
      const std::string id = i == 0 ? first_id : "S" + std::to_string(100 + i);
      const int event = i % 3 == 0 ? 1 : 0;
      const double score = 0.2 + 0.6 * ((i * 37) % 40) / 40.0;
      const double time = i == 0 ? 0.0 : 8.0 * (1.0 - score) + 0.1 * (i % 7);
      oof << vfp::csv_field(id) << ",0," << fold << "," << score << "," << event << ","
          << 60 + (i * 13) % 25 << "," << 20 + (i * 7) % 11 << "," << event << "," << time << "\n";
    }
    if (fold == 1)
      oof << bad_row;
    fs::create_directories(dir / "tasks" / ("t" + std::to_string(fold)));
    vfp::write_file_atomically(dir / "tasks" / ("t" + std::to_string(fold)) / "oof.csv", oof.str());
  }
  return dir;
}

std::string error_of(const fs::path& dir) {
  try {
    pool_predictions(dir, {"t0", "t1"});
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(PooledOutOfFold, IdWithCommaAndQuoteRoundTripsAndTimeZeroIsAnalysed) {
  const std::string id = "S1,\"x\"";
  const auto dir = sweep_with_oof("comma", id);
  const auto pooled = pool_predictions(dir, {"t0", "t1"});
  ASSERT_EQ(pooled.size(), 40u);
  const auto it = std::find_if(pooled.begin(), pooled.end(),
                               [&](const PooledSubject& p) { return p.id == id; });
  ASSERT_NE(it, pooled.end()) << "the quoted id did not come back as it was written";
  EXPECT_EQ(it->time, 0.0);
  EXPECT_EQ(it->event, 1);

  // The pooled file (configurations/<id>/oof.csv) reads back the same, column for column.
  vfp::write_file_atomically(dir / "pooled.csv", pooled_csv(pooled));
  const auto csv = vfp::read_csv((dir / "pooled.csv").string());
  ASSERT_EQ(csv.rows.size(), 40u);
  bool found = false;
  for (const auto& row : csv.rows) {
    ASSERT_EQ(row.cells.size(), csv.header.size()) << "line " << row.line;
    if (csv.text(row, csv.column("subject_id")) == id) {
      found = true;
      EXPECT_EQ(csv.number(row, csv.column("time_years")), 0.0);
    }
  }
  EXPECT_TRUE(found);

  // The survival analysis runs on it: time 0 is a valid time, not a skipped Cox step.
  vfp::config::ExperimentConfig config;
  config.cox.bootstrap = 0;
  const auto analysis = analyse_pooled(pooled, config, 7, "test");
  EXPECT_FALSE(analysis.contains("survival_note")) << analysis.dump(2);
  ASSERT_TRUE(analysis["survival"].is_object()) << analysis.dump(2);
  EXPECT_TRUE(std::isfinite(analysis["survival"]["c_image"].get<double>()));
  fs::remove_all(dir);
}

TEST(PooledOutOfFold, ARefusedRowNamesFileLineAndSubject) {
  const auto dir = sweep_with_oof("bad", "S100", "S999,0,1,0.5,1,70,25,1,-2\n");
  const auto file = (dir / "tasks" / "t1" / "oof.csv").string();
  EXPECT_EQ(error_of(dir), file + ":22: subject S999: time_years -2 is negative");

  const auto event = sweep_with_oof("event", "S100", "S998,0,1,0.5,1,70,25,3,2\n");
  EXPECT_EQ(error_of(event), (event / "tasks" / "t1" / "oof.csv").string() +
                                 ":22: subject S998: event 3 is not 0 or 1");

  const auto text = sweep_with_oof("text", "S100", "S997,0,1,high,1,70,25,1,2\n");
  const auto message = error_of(text);
  EXPECT_EQ(message.rfind((text / "tasks" / "t1" / "oof.csv").string() + ":22: column score:", 0),
            0u)
      << message;
  EXPECT_NE(message.find("(subject S997)"), std::string::npos) << message;
  for (const auto& d : {dir, event, text})
    fs::remove_all(d);
}
