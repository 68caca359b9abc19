#include "core/core.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("vfp_core_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
} // namespace

TEST(StableId, IsSixteenHexDigitsAndDependsOnEveryByte) {
  // FNV-1a 64 of "" is its offset basis; of "a" a published test vector.
  EXPECT_EQ(vfp::hex64(vfp::fnv1a64("")), "cbf29ce484222325");
  EXPECT_EQ(vfp::hex64(vfp::fnv1a64("a")), "af63dc4c8601ec8c");
  EXPECT_NE(vfp::stable_id("{\"lr\":0.001}"), vfp::stable_id("{\"lr\":0.0001}"));
  EXPECT_EQ(vfp::stable_id("x").size(), 16u);
}

TEST(MixSeed, SpreadsNeighbouringValues) {
  EXPECT_NE(vfp::mix_seed(1), vfp::mix_seed(2));
  EXPECT_EQ(vfp::mix_seed(7), vfp::mix_seed(7));
}

TEST(AtomicWrite, ReplacesContentAndLeavesNoTemporary) {
  auto dir = fresh_dir("atomic");
  auto file = dir / "a.txt";
  vfp::write_file_atomically(file, "first");
  vfp::write_file_atomically(file, "second");
  EXPECT_EQ(vfp::read_text_file(file), "second");
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir))
    ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(AtomicWrite, FailsWithPathWhenFolderIsMissing) {
  auto file = fresh_dir("missing") / "nope" / "a.txt";
  try {
    vfp::write_file_atomically(file, "x");
    FAIL() << "expected IoError";
  } catch (const vfp::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("nope/a.txt.tmp"), std::string::npos) << e.what();
  }
}

TEST(AppendLine, AppendsWholeRows) {
  auto file = fresh_dir("append") / "r.jsonl";
  vfp::append_line_durably(file, "{\"a\":1}");
  vfp::append_line_durably(file, "{\"a\":2}");
  EXPECT_EQ(vfp::read_text_file(file), "{\"a\":1}\n{\"a\":2}\n");
}

TEST(ReadTextFile, NamesTheMissingFile) {
  try {
    vfp::read_text_file("/definitely/not/here.yaml");
    FAIL();
  } catch (const vfp::IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cannot open /definitely/not/here.yaml", 0), 0u)
        << e.what();
  }
}

TEST(Affinity, CountsAtLeastOneCpu) {
  EXPECT_GE(vfp::cpus_in_affinity(), 1);
}
