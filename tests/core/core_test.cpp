#include "core/core.h"
#include "scratch_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

/// The message of the InputError `f` throws, or "" when it throws none.
template <typename F> std::string input_error_of(F f) {
  try {
    f();
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(RequireRegularFile, RefusesAFifoNamingItAndWhatItIs) {
  const auto fifo = fresh_dir("fifo") / "cohort.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(input_error_of([&] { vfp::require_regular_file(fifo, "cohort table"); }),
            "cohort table " + fifo.string() + " is a FIFO, not a regular file");
}

TEST(RequireRegularFile, FollowsALinkAndNamesWhereItLeads) {
  const auto link = fresh_dir("devzero") / "image.nii.gz";
  std::filesystem::create_symlink("/dev/zero", link);
  EXPECT_EQ(input_error_of([&] { vfp::require_regular_file(link, "image"); }),
            "image " + link.string() + " (a link to /dev/zero) is a character device, not a " +
                "regular file");
}

TEST(RequireRegularFile, RefusesAFolder) {
  const auto dir = fresh_dir("folder");
  EXPECT_EQ(input_error_of([&] { vfp::require_regular_file(dir, "config file"); }),
            "config file " + dir.string() + " is a directory, not a regular file");
}

TEST(RequireRegularFile, LetsRegularFilesAndMissingOnesPass) {
  const auto dir = fresh_dir("regular");
  vfp::write_file_atomically(dir / "a.csv", "x\n");
  std::filesystem::create_symlink(dir / "a.csv", dir / "b.csv");
  EXPECT_NO_THROW(vfp::require_regular_file(dir / "a.csv", "table"));
  EXPECT_NO_THROW(vfp::require_regular_file(dir / "b.csv", "table"));
  EXPECT_NO_THROW(vfp::require_regular_file(dir / "missing.csv", "table"));
}

TEST(ReadTextFile, RefusesAFifoInsteadOfBlocking) {
  const auto fifo = fresh_dir("fifo_read") / "sweep.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(input_error_of([&] { vfp::read_text_file(fifo); }).find("is a FIFO"),
            std::string::npos);
}

TEST(ReadCsv, RefusesACharacterDevice) {
  EXPECT_EQ(input_error_of([] { vfp::read_csv("/dev/zero"); }),
            "CSV file /dev/zero is a character device, not a regular file");
}

TEST(ShortenForMessage, KeepsAShortPrintableValue) {
  EXPECT_EQ(vfp::shorten_for_message("fast"), "fast");
  EXPECT_EQ(vfp::shorten_for_message("Zürich"), "Zürich");
}

TEST(ShortenForMessage, CutsALongValueAndSaysItsSize) {
  EXPECT_EQ(vfp::shorten_for_message(std::string(1048576, 'A')),
            std::string(60, 'A') + "\u2026 (1048576 bytes)");
  // Characters, not bytes: a cut never splits a UTF-8 sequence.
  std::string umlauts;
  for (int i = 0; i < 70; ++i)
    umlauts += "ü";
  std::string first_60;
  for (int i = 0; i < 60; ++i)
    first_60 += "ü";
  EXPECT_EQ(vfp::shorten_for_message(umlauts), first_60 + "\u2026 (140 bytes)");
}

TEST(ShortenForMessage, EscapesControlBytesAndBytesThatAreNotUtf8) {
  EXPECT_EQ(vfp::shorten_for_message("a\nb\tc\x01\xff\x1b[31m"), "a\\nb\\tc\\x01\\xff\\x1b[31m");
}

TEST(ParseDecimal, AcceptsPlainDecimalNumbers) {
  for (const auto& [text, want] : std::vector<std::pair<std::string, double>>{{"64", 64},
                                                                              {"-2.5", -2.5},
                                                                              {"1e-3", 1e-3},
                                                                              {"2.5E+2", 250},
                                                                              {".5", 0.5},
                                                                              {"7.", 7},
                                                                              {"007", 7},
                                                                              {"-0", 0}}) {
    double v = -1;
    EXPECT_TRUE(vfp::parse_decimal(text, v)) << text;
    EXPECT_DOUBLE_EQ(v, want) << text;
  }
}

TEST(ParseDecimal, RefusesHexInfinityPlusSignBlanksAndTrailingCharacters) {
  for (const std::string text :
       {"",    "0x40", "0X40", "inf",  "-inf",  "infinity", "nan",  "1e999", "-1e999",
        "+64", " 64",  "64 ",  "\t64", "64abc", "6 4",      "1,5",  "1e",    "1e+",
        ".",   "-",    "-.",   "e5",   "1..2",  "0x1p3",    "\f64", "64\n"}) {
    double v = 0;
    EXPECT_FALSE(vfp::parse_decimal(text, v)) << "'" << text << "'";
  }
}

TEST(CsvNumber, RefusesAHexCellNamingFileLineAndColumn) {
  const auto file = fresh_dir("csv_hex") / "scores.csv";
  vfp::write_file_atomically(file, "score,event\n0x40,1\n");
  const auto csv = vfp::read_csv(file.string());
  EXPECT_EQ(input_error_of([&] { csv.number(csv.rows.at(0), 0); }),
            file.string() + ":2: column score: '0x40' is not a number");
}

TEST(Affinity, CountsAtLeastOneCpu) {
  EXPECT_GE(vfp::cpus_in_affinity(), 1);
}

// The kernel's own record of the name (Linux), read without gethostname.
TEST(HostName, IsTheKernelsHostName) {
  std::ifstream kernel("/proc/sys/kernel/hostname");
  std::string expected;
  ASSERT_TRUE(std::getline(kernel, expected));
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(vfp::host_name(), expected);
}
