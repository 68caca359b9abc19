// A task whose training loss turns NaN and a configuration whose cohort has an image that
// cannot be read: in a sweep, each failing task gets a failed row with the reason, and the
// rest of the sweep finishes. (tests/train pins the NaN check of the trainer alone and
// tests/bad_input the error message of an unreadable image; here it is the sweep's part.)
#include "fault_harness.h"

#include <gtest/gtest.h>

#include <sstream>

namespace {
using namespace vfp::faults;
} // namespace

TEST(BadTask, ATaskWithNanLossesFailsWithTheReasonAndTheOtherTasksFinish) {
  const auto& dir = shared_dir();
  fs::remove_all(dir / "nan");
  // One worker, no retry: the first train_eval it runs gets a NaN loss (VFP_FAULT
  // train.loss.nan), the three others train normally.
  const auto out =
      launch(dir, "tiny.yaml --retries 0 --results-root nan --cache " + reference_cache().string(),
             "train.loss.nan:1", 2, "nan.log");
  EXPECT_EQ(out.code, 1) << out.log;
  const auto results = dir / "nan" / "tiny" / "results.jsonl";
  expect_whole_lines(results);
  int ok = 0, failed = 0;
  for (const auto& r : rows_of(results, "train_eval")) {
    if (r["status"] == "ok") {
      ++ok;
      continue;
    }
    ++failed;
    EXPECT_NE(r.value("reason", "").find("training loss became NaN at epoch 1"), std::string::npos)
        << r.dump();
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(failed, 1);
  // The configuration with all folds done has its cox row; the table shows both, one with 1/2.
  EXPECT_EQ(rows_of(results, "cox").size(), 1u);
  const auto table = read(dir / "nan" / "tiny" / "report" / "table.md");
  EXPECT_NE(table.find("1/2"), std::string::npos) << table;
  EXPECT_NE(table.find("2/2"), std::string::npos) << table;
}

TEST(BadTask, AnUnreadableImageFailsItsConfigurationsTasksWithTheSubjectAndFileAndTheRestFinish) {
  const auto& dir = shared_dir();
  fs::remove_all(dir / "bad_image");
  fs::remove_all(dir / "cohort_bad_image");
  fs::copy(dir / "cohort", dir / "cohort_bad_image", fs::copy_options::recursive);
  const auto image = dir / "cohort_bad_image" / "images" / "S0001.nii.gz";
  fs::resize_file(image, fs::file_size(image) / 2);
  std::ofstream(dir / "bad_image.yaml")
      << tiny_sweep("bad_image", "cohort_bad_image", 2, "cohort.on_bad_subject: [error, exclude]");
  const auto out =
      launch(dir, "bad_image.yaml --retries 0 --results-root bad_image", "", 3, "bad_image.log");
  EXPECT_EQ(out.code, 1) << out.log;
  const auto results = dir / "bad_image" / "bad_image" / "results.jsonl";
  expect_whole_lines(results);
  int ok = 0, failed = 0;
  for (const auto& r : rows_of(results, "train_eval")) {
    const auto mode = r.contains("axes") ? r["axes"][0][1].get<std::string>() : "";
    if (r["status"] == "ok") {
      ++ok;
      EXPECT_EQ(mode, "exclude") << r.dump();
      continue;
    }
    ++failed;
    const auto reason = r.value("reason", "");
    EXPECT_NE(reason.find("S0001"), std::string::npos) << r.dump();
    EXPECT_NE(reason.find("S0001.nii.gz"), std::string::npos) << r.dump();
    // A failed row carries what the table needs of its configuration (issue 23 row 9).
    EXPECT_EQ(mode, "error") << r.dump();
    EXPECT_EQ(r.value("expected_folds", 0), 2) << r.dump();
  }
  EXPECT_EQ(ok, 2) << out.log;
  EXPECT_EQ(failed, 2) << out.log;
  EXPECT_EQ(rows_of(results, "cox").size(), 1u);
  // Both configurations in the table with every cell, whichever row came first.
  const auto report = dir / "bad_image" / "bad_image" / "report";
  const auto table = read(report / "table.md");
  EXPECT_NE(table.find("| error | – | – | 0/2 (2 failed) |"), std::string::npos) << table;
  const auto fields = [](const std::string& line) { // RFC 4180: commas inside quotes are text
    std::size_t n = 1;
    bool quoted = false;
    for (char ch : line)
      if (ch == '"')
        quoted = !quoted;
      else if (ch == ',' && !quoted)
        ++n;
    return n;
  };
  std::istringstream csv(read(report / "table.csv"));
  std::string header, line;
  std::getline(csv, header);
  while (std::getline(csv, line))
    EXPECT_EQ(fields(line), fields(header)) << line;
}
