// Output paths stay inside the results root: names from config values or result rows are one
// plain path component, and nothing below the root is written through a symlink.
#include "core/core.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

/// A fresh scratch folder per test with a results root and an "outside" folder beside it.
class Confinement : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vfp_paths_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    root_ = dir_ / "results";
    outside_ = dir_ / "outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  bool outside_is_empty() const { return fs::is_empty(outside_); }

  /// The message of the vfp::Error `f` throws ("" when it throws none).
  template <class F> static std::string error_of(F&& f) {
    try {
      f();
    } catch (const vfp::Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_, root_, outside_;
};

} // namespace

TEST(PathComponent, RefusesTraversalAbsoluteSeparatorsAndControlCharacters) {
  for (const std::string& bad :
       {std::string("../escape"), std::string("/tmp/x"), std::string("a/b"), std::string("."),
        std::string(".."), std::string(""), std::string("a\nb"), std::string("a\0b", 3),
        std::string("a\\b"), std::string(300, 'a')}) {
    std::string message;
    try {
      vfp::checked_path_component(bad, "sweep name");
    } catch (const vfp::InputError& e) {
      message = e.what();
    }
    EXPECT_NE(message.find("sweep name '"), std::string::npos) << "accepted: " << bad;
    // The message stays on one line even when the name holds a newline or NUL.
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.find('\0'), std::string::npos) << message;
  }
}

TEST(PathComponent, AcceptsPlainNames) {
  for (const char* good : {"demo", "table-2.smoke", "0123456789abcdef", "pretrain-ab12"})
    EXPECT_EQ(vfp::checked_path_component(good, "name"), good);
}

TEST_F(Confinement, ATraversingSweepNameWritesNothingOutside) {
  const auto message = error_of([&] { vfp::confined_folder(root_, {"../outside"}, true); });
  EXPECT_NE(message.find("'../outside'"), std::string::npos) << message;
  EXPECT_TRUE(outside_is_empty());
  const auto absolute =
      error_of([&] { vfp::confined_folder(root_, {(outside_ / "x").string()}, true); });
  EXPECT_NE(absolute.find(outside_.string()), std::string::npos) << absolute;
  EXPECT_FALSE(fs::exists(outside_ / "x"));
}

TEST_F(Confinement, RefusesASymlinkedSweepFolderNamingIt) {
  fs::create_directory_symlink(outside_, root_ / "demo");
  const auto message = error_of([&] { vfp::confined_folder(root_, {"demo", "tasks"}, true); });
  EXPECT_NE(message.find("symlink " + (root_ / "demo").string()), std::string::npos) << message;
  EXPECT_TRUE(outside_is_empty()); // tasks/ was not made through the link
  // A dry run (nothing created) refuses it as well.
  EXPECT_NE(error_of([&] { vfp::confined_folder(root_, {"demo"}, false); }), "");
}

TEST_F(Confinement, RefusesASymlinkedTaskFolderNamingIt) {
  fs::create_directories(root_ / "demo" / "tasks");
  fs::create_directory_symlink(outside_, root_ / "demo" / "tasks" / "0123456789abcdef");
  const auto message = error_of([&] {
    vfp::confined_folder(root_ / "demo", {"tasks", "0123456789abcdef"}, true);
  });
  EXPECT_NE(message.find((root_ / "demo" / "tasks" / "0123456789abcdef").string()),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(outside_.string()), std::string::npos) << "names the target: " << message;
  EXPECT_TRUE(outside_is_empty());
}

TEST_F(Confinement, RefusesASymlinkedFileInTheFolder) {
  const auto task = root_ / "demo" / "tasks" / "t1";
  fs::create_directories(task);
  std::ofstream(outside_ / "victim.txt") << "keep";
  fs::create_symlink(outside_ / "victim.txt", task / "log.txt");
  const auto message = error_of([&] {
    vfp::confined_folder(root_, {"demo", "tasks", "t1"}, true);
  });
  EXPECT_NE(message.find((task / "log.txt").string()), std::string::npos) << message;
}

TEST_F(Confinement, TheResultsRootItselfMayBeASymlink) {
  const auto linked_root = dir_ / "linked-results";
  fs::create_directory_symlink(root_, linked_root);
  const auto folder = vfp::confined_folder(linked_root, {"demo", "tasks", "t1"}, true);
  EXPECT_EQ(folder, linked_root / "demo" / "tasks" / "t1");
  EXPECT_TRUE(fs::is_directory(root_ / "demo" / "tasks" / "t1"));
}

TEST_F(Confinement, ADryRunCreatesNothing) {
  const auto folder = vfp::confined_folder(root_, {"demo"}, false);
  EXPECT_EQ(folder, root_ / "demo");
  EXPECT_FALSE(fs::exists(folder));
}

TEST_F(Confinement, AppendingRefusesASymlinkedResultsFile) {
  std::ofstream(outside_ / "victim.jsonl") << "keep\n";
  fs::create_symlink(outside_ / "victim.jsonl", root_ / "results.jsonl");
  const auto message =
      error_of([&] { vfp::append_line_durably(root_ / "results.jsonl", "{\"row\":1}"); });
  EXPECT_NE(message.find("symlink"), std::string::npos) << message;
  std::ifstream in(outside_ / "victim.jsonl");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "keep\n");
}

TEST_F(Confinement, AtomicWritesReplaceALinkInsteadOfWritingThroughIt) {
  std::ofstream(outside_ / "victim.txt") << "keep";
  // A link at the file and at the temporary the write goes through first.
  fs::create_symlink(outside_ / "victim.txt", root_ / "status.json");
  auto tmp = root_ / "status.json";
  tmp += ".tmp." + std::to_string(::getpid());
  fs::create_symlink(outside_ / "victim.txt", tmp);
  vfp::write_file_atomically(root_ / "status.json", "{}");
  EXPECT_FALSE(fs::is_symlink(root_ / "status.json"));
  EXPECT_EQ(vfp::read_text_file(root_ / "status.json"), "{}");
  EXPECT_EQ(vfp::read_text_file(outside_ / "victim.txt"), "keep");
}
