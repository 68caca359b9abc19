// The sweep run lock (one `vfp run` of a sweep at a time) and the removal of the temporaries
// that killed writers leave behind.
#include "core/core.h"
#include "scratch_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

using vfp::testing::fresh_dir;

std::set<std::string> names_below(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      names.insert(fs::relative(e.path(), dir).string());
  return names;
}

// No process has a pid this large (Linux caps pid_max at 2^22).
constexpr const char* kDeadPid = "999999999";

} // namespace

TEST(RunLock, ASecondHolderIsRefusedWithTheFirstOnesNoteUntilTheFirstLetsGo) {
  const auto file = fresh_dir("held") / "run.lock";
  std::optional<vfp::RunLock> first;
  first.emplace(file, R"({"pid":1,"host":"n07"})");
  EXPECT_TRUE(first->unsupported().empty()) << first->unsupported();
  try {
    vfp::RunLock second(file, "second");
    FAIL() << "two holders at once";
  } catch (const vfp::LockHeld& e) {
    EXPECT_EQ(e.holder(), R"({"pid":1,"host":"n07"})");
    EXPECT_EQ(e.file(), file);
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  first.reset();
  // The file stays (removing it would let two processes hold two files); the next holder
  // replaces the note.
  ASSERT_TRUE(fs::exists(file));
  vfp::RunLock third(file, "third");
  EXPECT_EQ(vfp::read_text_file(file), "third\n");
}

TEST(RunLock, ALockFileThatIsASymlinkIsRefusedNamingIt) {
  const auto dir = fresh_dir("link");
  std::ofstream(dir / "elsewhere").flush();
  fs::create_symlink(dir / "elsewhere", dir / "run.lock");
  try {
    vfp::RunLock lock(dir / "run.lock", "me");
    FAIL() << "locked through a link";
  } catch (const vfp::IoError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "run.lock").string()), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(vfp::read_text_file(dir / "elsewhere"), "");
}

TEST(StaleTemporaries, OnlyThoseOfWritersThatAreGoneGoUnlessTheCallerHoldsTheWritersLock) {
  const auto dir = fresh_dir("temps");
  const auto live = std::to_string(::getpid());
  for (const std::string& name :
       std::vector<std::string>{"a.h5.tmp." + std::string(kDeadPid), "a.h5.tmp." + live,
                                "a.h5.tmp.notapid", "a.h5", "ab.h5.tmp." + std::string(kDeadPid)})
    std::ofstream(dir / name) << "x";
  EXPECT_TRUE(vfp::is_stale_temporary(dir / ("a.h5.tmp." + std::string(kDeadPid))));
  EXPECT_FALSE(vfp::is_stale_temporary(dir / ("a.h5.tmp." + live)));
  EXPECT_FALSE(vfp::is_stale_temporary(dir / "a.h5.tmp.notapid"));

  // By the live-pid rule: the dead writer's temporary of a.h5 only (not ab.h5's).
  EXPECT_EQ(vfp::remove_stale_temporaries(dir / "a.h5", /*any_writer=*/false), 1);
  EXPECT_EQ(names_below(dir), (std::set<std::string>{"a.h5", "a.h5.tmp." + live, "a.h5.tmp.notapid",
                                                     "ab.h5.tmp." + std::string(kDeadPid)}));
  // Holding the lock every writer of a.h5 takes: any temporary of a.h5 is abandoned.
  EXPECT_EQ(vfp::remove_stale_temporaries(dir / "a.h5", /*any_writer=*/true), 1);
  EXPECT_EQ(names_below(dir), (std::set<std::string>{"a.h5", "a.h5.tmp.notapid",
                                                     "ab.h5.tmp." + std::string(kDeadPid)}));
}

TEST(StaleTemporaries, BelowAFolderTheDeadWritersOnesGoAtEveryDepthAndNothingElse) {
  const auto dir = fresh_dir("below");
  fs::create_directories(dir / "task" / "fold-0");
  const auto live = std::to_string(::getpid());
  std::ofstream(dir / ("status.json.tmp." + std::string(kDeadPid))) << "{";
  std::ofstream(dir / "task" / "fold-0" / ("checkpoint.pt.tmp." + std::string(kDeadPid))) << "x";
  std::ofstream(dir / "task" / ("oof.csv.tmp." + live)) << "being written";
  std::ofstream(dir / "results.jsonl") << "{}\n";
  EXPECT_EQ(vfp::remove_stale_temporaries_below(dir), 2);
  EXPECT_EQ(names_below(dir), (std::set<std::string>{"results.jsonl", "task/oof.csv.tmp." + live}));
}
