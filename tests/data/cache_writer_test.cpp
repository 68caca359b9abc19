// CacheWriter (patch by patch, atomic), the storage types (preprocess.dtype) with their error
// bounds, and CacheReader::read from several threads at once. Real HDF5 files.
#include "../support/patch_sets.h"
#include "data/data.h"

#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using vfp::data::CacheReader;
using vfp::data::CacheWriter;

namespace {

fs::path fresh_dir(const std::string& name) {
  auto d =
      fs::temp_directory_path() / ("vfp_cache_writer_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// `n` 3D patches (2×6×7×8) of values in [0, 1]: a fixed random spread with the edges and
/// float16's subnormal range represented.
vfp::data::PatchSet cube_patches(int n) {
  vfp::data::PatchSet p;
  p.channels = 2;
  p.depth = 6;
  p.height = 7;
  p.width = 8;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  for (int i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < p.patch_values(); ++k)
      p.pixels.push_back(k % 97 == 0   ? 0.0F
                         : k % 89 == 0 ? 1.0F
                         : k % 83 == 0 ? u(rng) * 1e-5F
                                       : u(rng));
    p.subject_ids.push_back("S" + std::to_string(i / 2));
    p.vertebrae.push_back(20 + i % 2);
    p.origin.insert(p.origin.end(), {1.0 * i, -2.0, 3.5});
    p.spacing.insert(p.spacing.end(), {1.0, 1.0, 1.0});
  }
  return p;
}

void write_with(const fs::path& file, const vfp::data::PatchSet& p, const std::string& dtype,
                int compression = 0) {
  CacheWriter w(file, p.channels, p.depth, p.height, p.width, dtype, "k", "{}", compression);
  for (std::size_t i = 0; i < p.size(); ++i)
    w.append(p.subject_ids[i], p.vertebrae[i],
             {p.origin[3 * i], p.origin[3 * i + 1], p.origin[3 * i + 2]},
             {p.spacing[3 * i], p.spacing[3 * i + 1], p.spacing[3 * i + 2]}, p.patch(i));
  w.commit();
}

/// Largest |read - written| over every patch, read through `reader`.
double max_abs_error(const CacheReader& reader, const vfp::data::PatchSet& p,
                     double* max_relative = nullptr) {
  std::vector<float> patch(p.patch_values());
  double worst = 0, worst_relative = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    reader.read(i, patch.data());
    for (std::size_t k = 0; k < patch.size(); ++k) {
      const double want = p.patch(i)[k], err = std::abs(double(patch[k]) - want);
      worst = std::max(worst, err);
      if (want >= std::ldexp(1.0, -14)) // float16's normal range: relative bound
        worst_relative = std::max(worst_relative, err / want);
    }
  }
  if (max_relative)
    *max_relative = worst_relative;
  return worst;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  return out;
}

} // namespace

TEST(CacheWriter, StreamedPatchesReadBackBitIdenticalAsFloat32) {
  const auto dir = fresh_dir("f32");
  const auto p = cube_patches(6);
  write_with(dir / "a.h5", p, "float32");
  vfp::data::write_cache(dir / "b.h5", p, "k", "{}"); // the whole-set wrapper: the same writer
  for (const auto* name : {"a.h5", "b.h5"}) {
    const auto back = vfp::data::read_cache(dir / name, "k");
    EXPECT_EQ(std::memcmp(back.pixels.data(), p.pixels.data(), p.pixels.size() * 4), 0) << name;
    EXPECT_EQ(back.subject_ids, p.subject_ids);
    EXPECT_EQ(back.origin, p.origin);
    CacheReader reader(dir / name, "k");
    EXPECT_TRUE(reader.mapped()) << "uncompressed chunks must lie back to back";
    EXPECT_EQ(reader.dtype(), "float32");
  }
}

TEST(CacheWriter, Float16StaysWithinHalfAnUlpAndHalvesTheBytes) {
  const auto dir = fresh_dir("f16");
  const auto p = cube_patches(40);
  write_with(dir / "f32.h5", p, "float32");
  write_with(dir / "f16.h5", p, "float16");
  write_with(dir / "f16gz.h5", p, "float16", 4);
  for (const auto* name : {"f16.h5", "f16gz.h5"}) {
    CacheReader reader(dir / name, "k");
    EXPECT_EQ(reader.mapped(), std::string(name) == "f16.h5");
    EXPECT_EQ(reader.dtype(), "float16");
    EXPECT_EQ(reader.stored_patch_bytes(), p.patch_values() * 2);
    double relative = 0;
    // Round to nearest: |error| <= 2^-12 on [0, 1] (half of 2^-10 × 2^-1 below 1), relative
    // <= 2^-11 in the normal range.
    EXPECT_LE(max_abs_error(reader, p, &relative), std::ldexp(1.0, -12)) << name;
    EXPECT_LE(relative, std::ldexp(1.0, -11)) << name;
    EXPECT_GT(relative, 0.0) << "the values must actually have been converted";
  }
  const double ratio =
      double(fs::file_size(dir / "f16.h5")) / double(fs::file_size(dir / "f32.h5"));
  EXPECT_LT(ratio, 0.55) << ratio;
  // Stored as IEEE half, so that h5py reads it as numpy float16.
  ASSERT_EQ(
      std::system(("h5ls -v " + (dir / "f16.h5").string() + " > " + (dir / "ls").string()).c_str()),
      0);
  std::ifstream in(dir / "ls");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("16-bit little-endian floating-point"), std::string::npos) << text;
  EXPECT_NE(text.find("exponent for 5 bits at bit 10, bias is 0xf"), std::string::npos) << text;
}

TEST(CacheWriter, Uint16StaysWithinHalfAStepOfTheWindowAndHalvesTheBytes) {
  const auto dir = fresh_dir("u16");
  const auto p = cube_patches(40);
  write_with(dir / "u16.h5", p, "uint16");
  write_with(dir / "u16gz.h5", p, "uint16", 4);
  for (const auto* name : {"u16.h5", "u16gz.h5"}) {
    CacheReader reader(dir / name, "k");
    EXPECT_EQ(reader.dtype(), "uint16");
    EXPECT_EQ(reader.stored_patch_bytes(), p.patch_values() * 2);
    // round(v × 65535) / 65535: at most half a step, plus float's rounding of the quotient.
    const double err = max_abs_error(reader, p);
    EXPECT_LE(err, 1.0 / 131070 + 6e-8) << name;
    EXPECT_GT(err, 1e-7) << name;
  }
  // 0 and 1 (the window's ends) are exact.
  std::vector<float> patch(p.patch_values());
  CacheReader(dir / "u16.h5", "k").read(0, patch.data());
  EXPECT_EQ(patch[0], 0.0F);
  EXPECT_EQ(patch[89], 1.0F);
}

TEST(CacheWriter, DroppedWithoutCommitLeavesNothing) {
  const auto dir = fresh_dir("drop");
  const auto p = cube_patches(3);
  {
    CacheWriter w(dir / "c.h5", p.channels, p.depth, p.height, p.width, "float16", "k", "{}");
    w.append("A", 20, {0, 0, 0}, {1, 1, 1}, p.patch(0));
    w.append("A", 21, {0, 0, 0}, {1, 1, 1}, p.patch(1));
    EXPECT_EQ(w.size(), 2u);
  }
  EXPECT_TRUE(entries(dir).empty());
}

TEST(CacheWriter, AProcessKilledMidWriteLeavesNothing) {
  const auto dir = fresh_dir("killed");
  const auto p = cube_patches(3);
  const pid_t pid = ::fork();
  if (pid == 0) {
    CacheWriter w(dir / "c.h5", p.channels, p.depth, p.height, p.width, "float32", "k", "{}");
    w.append("A", 20, {0, 0, 0}, {1, 1, 1}, p.patch(0));
    ::_exit(0); // no destructor runs: the unlinked temporary goes with the process
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_TRUE(entries(dir).empty()) << entries(dir).front();
}

TEST(CacheWriter, RefusesAPatchOfAnExcludedSubjectAndAnExclusionOfOneWithPatches) {
  const auto dir = fresh_dir("excluded");
  const auto p = cube_patches(2);
  CacheWriter w(dir / "c.h5", p.channels, p.depth, p.height, p.width, "float32", "k", "{}");
  w.append("A", 20, {0, 0, 0}, {1, 1, 1}, p.patch(0));
  w.exclude({"B", "no L2"});
  try {
    w.append("B", 20, {0, 0, 0}, {1, 1, 1}, p.patch(1));
    FAIL() << "a patch of an excluded subject was taken";
  } catch (const vfp::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("subject B is listed as excluded"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(w.exclude({"A", "late"}), vfp::IoError);
  w.commit();
  const auto back = vfp::data::read_cache(dir / "c.h5", "k");
  EXPECT_EQ(back.subject_ids, std::vector<std::string>{"A"});
  ASSERT_EQ(back.excluded.size(), 1u);
  EXPECT_EQ(back.excluded[0].subject, "B");
}

TEST(CacheReader, ServesSeveralThreadsAtOnceMappedOrThroughHdf5) {
  const auto dir = fresh_dir("threads");
  const auto p = cube_patches(24);
  write_with(dir / "plain.h5", p, "float32");
  write_with(dir / "gz.h5", p, "float32", 4);
  write_with(dir / "half.h5", p, "float16", 4);
  for (const auto* name : {"plain.h5", "gz.h5", "half.h5"}) {
    const CacheReader reader(dir / name, "k");
    // What a single thread reads is the reference (float16 differs from the input).
    std::vector<float> want(p.pixels.size());
    for (std::size_t i = 0; i < p.size(); ++i)
      reader.read(i, want.data() + i * p.patch_values());
    std::atomic<int> wrong{0}, reads{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t)
      pool.emplace_back([&, t] {
        std::vector<float> patch(p.patch_values());
        std::mt19937 rng{static_cast<unsigned>(t)};
        for (int r = 0; r < 300; ++r) {
          const std::size_t i = rng() % p.size();
          reader.read(i, patch.data());
          wrong += std::memcmp(patch.data(), want.data() + i * p.patch_values(),
                               patch.size() * sizeof(float)) != 0;
          ++reads;
        }
      });
    for (auto& t : pool)
      t.join();
    EXPECT_EQ(reads.load(), 1200) << name;
    EXPECT_EQ(wrong.load(), 0) << name;
  }
}

TEST(CacheReader, RefusesAPatchesDatasetOfATypeVfpDoesNotWrite) {
  const auto dir = fresh_dir("type");
  auto p = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(dir / "c.h5", p, "k", "{}");
  // 'patches' replaced by a float64 dataset of the same shape.
  const auto file = dir / "c.h5";
  {
    H5::H5File f(file.string(), H5F_ACC_RDWR);
    f.unlink("patches");
    hsize_t dims[4] = {3, 1, 5, 4};
    f.createDataSet("patches", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(4, dims));
  }
  try {
    CacheReader reader(file, "k");
    FAIL() << "a float64 'patches' was accepted";
  } catch (const vfp::data::CacheError& e) {
    EXPECT_NE(std::string(e.what()).find("'patches' holds values of a type vfp does not write"),
              std::string::npos)
        << e.what();
  }
}

TEST(CacheWriter, AnEmptyShardCommitsWithItsShapeAndExclusions) {
  const auto dir = fresh_dir("empty");
  for (int compression : {0, 4}) {
    const auto file = dir / ("c" + std::to_string(compression) + ".h5");
    CacheWriter w(file, 1, 12, 12, 12, "float16", "k", "{}", compression);
    w.exclude({"A", "unreadable"});
    w.commit();
    const CacheReader reader(file, "k");
    EXPECT_EQ(reader.index().size(), 0u);
    EXPECT_EQ(reader.index().depth, 12);
    ASSERT_EQ(reader.index().excluded.size(), 1u);
    EXPECT_EQ(reader.index().excluded[0].reason, "unreadable");
  }
}
