// results.jsonl as the read-only commands see it (`vfp report`, `vfp slurm status`): a torn last
// line is left out with a warning and the file is never touched; a damaged row in the middle is
// an error naming file:line. Only `vfp run`, under the run lock, cuts a torn line (results_test).
#include "core/core.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <unistd.h>

#include "../plots/fixture.h"

namespace {

using namespace vfp;
using namespace vfp::plots_test;

ProgramResult vfp(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VFP_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

constexpr const char* kTorn = "{\"kind\": \"train_eval\", \"task_id\": \"aaaa1111-f"; // a crash

TEST(ResultsFileCommands, ReportOnATornLastLineLeavesTheBytesAndPrintsTheCompleteRows) {
  const auto dir = scratch("torn", "lr");
  make_sweep(dir, {kConfigs[0], kConfigs[1]});
  const auto file = dir / "results.jsonl";
  std::ofstream(file, std::ios::app | std::ios::binary) << kTorn;
  const auto before = read_text_file(file);
  const auto lines = std::count(before.begin(), before.end(), '\n');
  const auto mtime = fs::last_write_time(file);

  const auto out = vfp({"report", dir.string(), "--no-figures"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out.rfind("| train.lr | model.arch | AUROC (%) |", 0), 0u) << out.out;
  EXPECT_NE(out.out.find("1e-4"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("1e-2"), std::string::npos) << out.out;
  EXPECT_NE(out.err.find(file.string() + ":" + std::to_string(lines + 1) + ": ignoring a torn"),
            std::string::npos)
      << out.err;
  EXPECT_EQ(read_text_file(file), before);
  EXPECT_EQ(fs::last_write_time(file), mtime);

  const auto status = vfp({"slurm", "status", dir.string(), "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out).at("tasks_ok"), 8) << status.out;
  EXPECT_EQ(read_text_file(file), before);
}

TEST(ResultsFileCommands, ReportOnABadLineInTheMiddleIsAnErrorNamingFileAndLine) {
  const auto dir = scratch("bad_middle", "lr");
  const auto rows = make_sweep(dir, {kConfigs[0], kConfigs[1]});
  std::string text;
  for (std::size_t i = 0; i < rows.size(); ++i)
    text += (i == 2 ? std::string(kTorn) : rows[i].dump()) + "\n"; // line 3 damaged
  write_file_atomically(dir / "results.jsonl", text);
  for (const auto& args : {std::vector<std::string>{"report", dir.string(), "--no-figures"},
                           std::vector<std::string>{"slurm", "status", dir.string()}}) {
    const auto out = vfp(args);
    EXPECT_NE(out.exit_code, 0) << args[0] << ": " << out.out;
    EXPECT_NE(out.err.find((dir / "results.jsonl").string() + ":3:"), std::string::npos)
        << args[0] << ": " << out.err;
  }
  EXPECT_EQ(read_text_file(dir / "results.jsonl"), text);
}

TEST(ResultsFileCommands, ReportWorksOnAReadOnlySweepFolder) {
  const auto dir = scratch("read_only", "lr");
  make_sweep(dir, {kConfigs[0], kConfigs[1]});
  const auto file = dir / "results.jsonl";
  std::ofstream(file, std::ios::app | std::ios::binary) << kTorn;
  // report/ is the one place `vfp report` writes; the rest of the folder is read only.
  fs::create_directories(dir / "report");
  const auto read_only = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
  const auto exec = fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
  fs::permissions(file, read_only);
  fs::permissions(dir, read_only | exec);
  const auto before = read_text_file(file);
  const auto mtime = fs::last_write_time(file);
  const auto out = vfp({"report", dir.string(), "--no-figures"});
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out.rfind("| train.lr | model.arch | AUROC (%) |", 0), 0u) << out.out;
  // As root the modes stop nothing: the bytes and mtime show that nothing was written.
  EXPECT_EQ(read_text_file(file), before);
  EXPECT_EQ(fs::last_write_time(file), mtime);
}

} // namespace
