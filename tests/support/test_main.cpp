// main() of every test executable: GoogleTest, plus removal of the scratch folders the
// tests made. Tests name them "<temp dir>/vfp_<what>_<pid>"; ctest starts one process per
// test, so without this every run would leave dozens behind. Set VFP_KEEP_TEST_DIRS=1 to
// keep them for a look.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>

namespace {

class RemoveScratchFolders : public ::testing::Environment {
public:
  void TearDown() override {
    if (std::getenv("VFP_KEEP_TEST_DIRS"))
      return;
    const std::string suffix = "_" + std::to_string(::getpid());
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
      const auto name = e.path().filename().string();
      if (name.rfind("vfp_", 0) == 0 && name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        std::filesystem::remove_all(e.path(), ec);
    }
  }
};

} // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new RemoveScratchFolders);
  return RUN_ALL_TESTS();
}
