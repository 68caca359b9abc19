#include "core/core.h"
#include "scratch_dir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

using vfp::testing::fresh_dir;

TEST(StableId, IsSixteenHexDigitsAndDependsOnEveryByte) {
  // FNV-1a 64 of "" is its offset basis; of "a" a published test vector.
  EXPECT_EQ(vfp::hex64(vfp::fnv1a64("")), "cbf29ce484222325");
  EXPECT_EQ(vfp::hex64(vfp::fnv1a64("a")), "af63dc4c8601ec8c");
  EXPECT_NE(vfp::stable_id("{\"lr\":0.001}"), vfp::stable_id("{\"lr\":0.0001}"));
  EXPECT_EQ(vfp::stable_id("x").size(), 16u);
}

TEST(Checksum64, EveryBitFlipAndEveryWordSwapChangesIt) {
  // 200 bytes: three full 64-byte blocks (the vectorised lanes) and an 8-byte tail.
  std::vector<unsigned char> bytes(200);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(i * 37 + 11);
  const auto original = vfp::checksum64(bytes.data(), bytes.size());
  EXPECT_EQ(vfp::checksum64(bytes.data(), bytes.size()), original);
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    bytes[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
    EXPECT_NE(vfp::checksum64(bytes.data(), bytes.size()), original) << "bit " << bit;
    bytes[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
  }
  // Swapping two 8-byte words, within a lane (64 bytes apart) or across lanes.
  for (size_t a = 0; a < 24; ++a)
    for (size_t b = a + 1; b < 24; ++b) {
      auto swapped = bytes;
      std::swap_ranges(swapped.begin() + a * 8, swapped.begin() + a * 8 + 8,
                       swapped.begin() + b * 8);
      EXPECT_NE(vfp::checksum64(swapped.data(), swapped.size()), original) << a << "<->" << b;
    }
  // Length is part of it: trailing zeros are not invisible.
  bytes.push_back(0);
  EXPECT_NE(vfp::checksum64(bytes.data(), bytes.size()), original);
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
