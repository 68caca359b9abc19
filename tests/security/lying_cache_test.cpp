// A patch cache is data, never a promise: datasets whose dataspaces lie (more values than
// patches, 2^32 declared patches in a file of a few KB) are refused with a CacheError naming
// the file and the dataset, before anything is sized from them. Each read runs in a child
// process under an address-space limit, so a regression fails the test instead of the machine.
#include "../support/patch_sets.h"
#include "data/data.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

/// A good 3-patch cache at a fresh path.
fs::path good_cache(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("vfp_lying_cache_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto file = dir / name;
  vfp::data::write_cache(file, vfp::testing_support::small_patch_set(), "key", "{}");
  return file;
}

/// Replaces dataset `name` by an unwritten chunked one of `dims` (of `type`): a dataspace
/// that claims what the file does not hold.
void replace_dataset(const fs::path& file, const char* name, std::vector<hsize_t> dims,
                     hid_t type) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  ASSERT_GE(H5Ldelete(f, name, H5P_DEFAULT), 0);
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t props = H5Pcreate(H5P_DATASET_CREATE);
  auto chunk = dims;
  chunk[0] = 1;
  for (auto& c : chunk)
    c = std::min<hsize_t>(c, 64); // HDF5 chunks stay below 4 GiB

  H5Pset_chunk(props, int(chunk.size()), chunk.data());
  const hid_t set = H5Dcreate2(f, name, type, space, H5P_DEFAULT, props, H5P_DEFAULT);
  ASSERT_GE(set, 0);
  H5Dclose(set);
  H5Pclose(props);
  H5Sclose(space);
  H5Fclose(f);
}

/// What read_cache(file) throws, from a child process limited to 1 GiB more address space
/// than it has: "" when it reads fine, "crash/limit: ..." when it dies or allocates beyond.
std::string read_error_under_memory_limit(const fs::path& file) {
  int fds[2];
  if (::pipe(fds) != 0)
    return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    const rlim_t limit = rlim_t(pages) * rlim_t(::sysconf(_SC_PAGESIZE)) + (rlim_t(1) << 30);
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_AS, &rl);
    std::string message;
    try {
      vfp::data::read_cache(file, "key");
    } catch (const vfp::data::CacheError& e) {
      message = e.what();
    } catch (const std::exception& e) {
      message = std::string("not a CacheError: ") + e.what();
    }
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    message.append(buf, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status))
    return "crash/limit: signal " + std::to_string(WTERMSIG(status));
  return message;
}

} // namespace

TEST(LyingCache, AGoodCacheReadsUnderTheMemoryLimit) {
  EXPECT_EQ(read_error_under_memory_limit(good_cache("good.h5")), "");
}

TEST(LyingCache, MoreVertebraValuesThanPatchesIsRefusedBeforeReading) {
  const auto file = good_cache("vertebra.h5");
  replace_dataset(file, "vertebra", {1000}, H5T_NATIVE_INT32);
  const auto message = read_error_under_memory_limit(file);
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find("'vertebra' has 1000 values, expected 3"), std::string::npos) << message;
}

TEST(LyingCache, ATwoDimensionalSubjectIdListIsRefused) {
  const auto file = good_cache("ids.h5");
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  replace_dataset(file, "subject_id", {3, 4}, str);
  H5Tclose(str);
  const auto message = read_error_under_memory_limit(file);
  EXPECT_NE(message.find("'subject_id' has 12 values, expected 3"), std::string::npos) << message;
}

TEST(LyingCache, BillionsOfDeclaredPatchesAreRefusedBeforeAllocation) {
  const auto file = good_cache("huge.h5");
  const hsize_t n = hsize_t(1) << 32;
  replace_dataset(file, "patches", {n, 1, 5, 4}, H5T_NATIVE_FLOAT);
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  replace_dataset(file, "subject_id", {n}, str); // agrees with the lie
  H5Tclose(str);
  const auto message = read_error_under_memory_limit(file);
  EXPECT_NE(message.find("'patches' declares 4294967296 patches, more than a file of"),
            std::string::npos)
      << message;
}

TEST(LyingCache, AnOversizedPatchSideIsRefused) {
  const auto file = good_cache("side.h5");
  replace_dataset(file, "patches", {3, 1, 5, 1u << 20}, H5T_NATIVE_FLOAT);
  const auto message = read_error_under_memory_limit(file);
  EXPECT_NE(message.find("'patches' declares a side of 1048576 (at most 4096)"), std::string::npos)
      << message;
}

TEST(LyingCache, PixelsBeyondWhatTheStoredBytesCanHoldAreRefused) {
  // Sides within the limits, patch count within the file, but the chunks were never written:
  // 3 x 64 x 4096 x 4096 floats would be 12 GiB from a file of a few KB.
  const auto file = good_cache("unwritten.h5");
  replace_dataset(file, "patches", {3, 64, 4096, 4096}, H5T_NATIVE_FLOAT);
  const auto message = read_error_under_memory_limit(file);
  EXPECT_NE(message.find("stored bytes can hold"), std::string::npos) << message;
}
