// The HDF5 patch cache: round trip, verification, corruption detection.
#include "../support/patch_sets.h"
#include "data/data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {
fs::path temp_file(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("vfp_cache_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}
} // namespace

TEST(Cache, RoundTripKeepsEveryPatchAndLabel) {
  auto file = temp_file("rt.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k1", "{\"x\":1}");
  auto out = vfp::data::read_cache(file, "k1");
  EXPECT_EQ(out.height, 5);
  EXPECT_EQ(out.width, 4);
  EXPECT_EQ(out.pixels, in.pixels);
  EXPECT_EQ(out.subject_ids, in.subject_ids);
  EXPECT_EQ(out.vertebrae, in.vertebrae);
  EXPECT_EQ(out.origin, in.origin);
  EXPECT_EQ(out.spacing, in.spacing);
  // No temporary file is left beside it.
  int entries = 0;
  for (auto& e : fs::directory_iterator(file.parent_path()))
    entries += e.path().filename().string().rfind("rt.h5", 0) == 0;
  EXPECT_EQ(entries, 1);
}

TEST(Cache, IsReadableWithH5ls) {
  auto file = temp_file("ls.h5");
  vfp::data::write_cache(file, vfp::testing_support::small_patch_set(), "k", "{}");
  const auto listing = temp_file("ls.txt");
  ASSERT_EQ(std::system(("h5ls " + file.string() + " > " + listing.string()).c_str()), 0);
  std::ifstream in(listing);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("patches"), std::string::npos) << text;
  EXPECT_NE(text.find("{3, 1, 5, 4}"), std::string::npos) << text; // [N, C, H, W]
  EXPECT_NE(text.find("subject_id"), std::string::npos) << text;
  EXPECT_NE(text.find("origin                   Dataset {3, 3}"), std::string::npos) << text;
  EXPECT_NE(text.find("spacing                  Dataset {3, 3}"), std::string::npos) << text;
}

TEST(Cache, WrongKeyIsRejected) {
  auto file = temp_file("key.h5");
  vfp::data::write_cache(file, vfp::testing_support::small_patch_set(), "k1", "{}");
  EXPECT_THROW(vfp::data::read_cache(file, "k2"), vfp::data::CacheError);
}

TEST(Cache, FlippedByteInAPatchIsDetected) {
  auto file = temp_file("flip.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k", "{}");
  // Find the bytes of patch 1 (contiguous float32 in its own chunk) and flip one.
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  std::string needle(reinterpret_cast<const char*>(in.patch(1)), 20 * sizeof(float));
  auto pos = bytes.find(needle);
  ASSERT_NE(pos, std::string::npos);
  f.seekp(static_cast<std::streamoff>(pos + 7));
  f.put(static_cast<char>(bytes[pos + 7] ^ 0x40));
  f.close();
  try {
    vfp::data::read_cache(file, "k");
    FAIL();
  } catch (const vfp::data::CacheError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch in patch 1 (subject S1)"),
              std::string::npos)
        << e.what();
  }
}

TEST(Cache, TruncatedFileIsDetected) {
  auto file = temp_file("trunc.h5");
  vfp::data::write_cache(file, vfp::testing_support::small_patch_set(), "k", "{}");
  fs::resize_file(file, fs::file_size(file) / 2);
  EXPECT_THROW(vfp::data::read_cache(file, "k"), vfp::data::CacheError);
}

namespace {
/// Flips one bit inside patch `index`'s bytes in the file; returns false if not found.
bool flip_a_bit_of_patch(const fs::path& file, const vfp::data::PatchSet& in, size_t index) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  std::string needle(reinterpret_cast<const char*>(in.patch(index)),
                     in.patch_values() * sizeof(float));
  const auto pos = bytes.find(needle);
  if (pos == std::string::npos)
    return false;
  f.seekp(static_cast<std::streamoff>(pos + 5));
  f.put(static_cast<char>(bytes[pos + 5] ^ 0x10));
  return true;
}

void expect_reader_matches(const fs::path& file, const vfp::data::PatchSet& in, bool mapped) {
  vfp::data::CacheReader reader(file, "k");
  EXPECT_EQ(reader.mapped(), mapped);
  EXPECT_EQ(reader.index().subject_ids, in.subject_ids);
  EXPECT_EQ(reader.index().vertebrae, in.vertebrae);
  EXPECT_EQ(reader.index().origin, in.origin);
  EXPECT_TRUE(reader.index().pixels.empty()); // the index carries no pixels
  std::vector<float> patch(in.patch_values());
  for (size_t i : {size_t(2), size_t(0), size_t(1), size_t(2)}) { // any order, repeats
    reader.read(i, patch.data());
    EXPECT_TRUE(std::equal(patch.begin(), patch.end(), in.patch(i))) << "patch " << i;
  }
  EXPECT_THROW(reader.read(in.size(), patch.data()), vfp::data::CacheError);
}
} // namespace

TEST(CacheReader, ReadsSinglePatchesFromAMapOfAnUncompressedCache) {
  auto file = temp_file("reader.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k", "{}");
  expect_reader_matches(file, in, true);
}

TEST(CacheReader, ReadsSinglePatchesThroughHdf5FromACompressedCache) {
  auto file = temp_file("reader_gz.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k", "{}", 4);
  expect_reader_matches(file, in, false);
}

TEST(CacheReader, Reads3DPatches) {
  vfp::data::PatchSet in;
  in.channels = 2;
  in.depth = 3;
  in.height = 4;
  in.width = 5;
  for (int i = 0; i < 4; ++i) {
    for (size_t k = 0; k < in.patch_values(); ++k)
      in.pixels.push_back(float(i) + 0.001F * float(k));
    in.subject_ids.push_back("P" + std::to_string(i));
    in.vertebrae.push_back(21);
    in.origin.insert(in.origin.end(), {1.0 * i, 2.0, 3.0});
    in.spacing.insert(in.spacing.end(), {0.5, 0.5, 0.5});
  }
  auto file = temp_file("reader3d.h5");
  vfp::data::write_cache(file, in, "k", "{}");
  expect_reader_matches(file, in, true);
  EXPECT_EQ(vfp::data::read_cache(file, "k").pixels, in.pixels);
}

TEST(CacheReader, FlippedBitFailsOnlyThatPatchNamingItsSubject) {
  auto file = temp_file("reader_flip.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k", "{}");
  ASSERT_TRUE(flip_a_bit_of_patch(file, in, 2));
  vfp::data::CacheReader reader(file, "k");
  std::vector<float> patch(in.patch_values());
  reader.read(0, patch.data()); // the others stay readable
  reader.read(1, patch.data());
  try {
    reader.read(2, patch.data());
    FAIL() << "a corrupted patch was served";
  } catch (const vfp::data::CacheError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch in patch 2 (subject S2)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
}

TEST(CacheReader, TruncatedFileIsAnErrorNotACrash) {
  auto file = temp_file("reader_trunc.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k", "{}");
  fs::resize_file(file, fs::file_size(file) - 200);
  EXPECT_THROW(
      {
        vfp::data::CacheReader reader(file, "k");
        std::vector<float> patch(in.patch_values());
        for (size_t i = 0; i < in.size(); ++i)
          reader.read(i, patch.data());
      },
      vfp::data::CacheError);
}

namespace {
/// A two-subject cohort on disk (tiny phantom CTs written through ITK by the ingest helpers
/// would be heavier than needed: here the files only need to exist for fingerprints).
vfp::config::ExperimentConfig config_in(const fs::path& dir) {
  fs::create_directories(dir / "images");
  std::ofstream(dir / "cohort.csv")
      << "subject_id,age,bmi,event,time_years\nA,70,25,0,10\nB,71,26,1,3\n";
  std::ofstream(dir / "images" / "A.nii.gz") << "image A";
  std::ofstream(dir / "images" / "B.nii.gz") << "image B";
  fs::create_directories(dir / "centroids");
  std::ofstream(dir / "centroids" / "A.json") << "[]";
  std::ofstream(dir / "centroids" / "B.json") << "[]";
  vfp::config::ExperimentConfig c;
  c.cohort.csv = dir / "cohort.csv";
  c.cohort.images = (dir / "images" / "{id}.nii.gz").string();
  c.cohort.centroids = (dir / "centroids" / "{id}.json").string();
  return c;
}
} // namespace

TEST(CacheKey, IsSharedByTrainingChangesAndChangesWithPreprocessingOrSources) {
  const auto dir = temp_file("keys");
  auto c = config_in(dir);
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto key = vfp::data::cache_key(c, subjects);
  auto train_only = c;
  train_only.train.lr = 0.5;
  train_only.model.width = 4;
  EXPECT_EQ(vfp::data::cache_key(train_only, subjects), key);
  auto other_slab = c;
  other_slab.preprocess.slab_mm = 1;
  EXPECT_NE(vfp::data::cache_key(other_slab, subjects), key);
  // Touching a source file (new mtime) makes a new key ...
  fs::last_write_time(dir / "images" / "B.nii.gz",
                      fs::last_write_time(dir / "images" / "B.nii.gz") + std::chrono::hours(1));
  const auto touched = vfp::data::cache_key(c, subjects);
  EXPECT_NE(touched, key);
  // ... unless sources are keyed by content, which a touch does not change.
  auto by_content = c;
  by_content.preprocess.content_hash = true;
  const auto content_key = vfp::data::cache_key(by_content, subjects);
  fs::last_write_time(dir / "images" / "B.nii.gz",
                      fs::last_write_time(dir / "images" / "B.nii.gz") + std::chrono::hours(1));
  EXPECT_EQ(vfp::data::cache_key(by_content, subjects), content_key);
  std::ofstream(dir / "images" / "B.nii.gz") << "image B, rescanned";
  EXPECT_NE(vfp::data::cache_key(by_content, subjects), content_key);
}

TEST(Cache, CompressedCacheRoundTrips) {
  auto file = temp_file("gz.h5");
  auto in = vfp::testing_support::small_patch_set();
  vfp::data::write_cache(file, in, "k", "{}", 6);
  EXPECT_EQ(vfp::data::read_cache(file, "k").pixels, in.pixels);
}

TEST(Cache, CorruptFileIsRebuiltNotUsed) {
  const auto dir = temp_file("rebuild");
  auto c = config_in(dir);
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto key = vfp::data::cache_key(c, subjects);
  const auto file = vfp::data::cache_file(dir / "cache", key);
  fs::create_directories(dir / "cache");
  std::ofstream(file) << "not HDF5 at all";
  // The cohort's "images" are not real CTs, so the rebuild reaches ITK and fails naming the
  // subject: the corrupt file was detected, removed and not returned.
  try {
    vfp::data::load_or_build_cache(c, subjects, dir / "cache", 1);
    FAIL() << "a corrupt cache must not be used";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("subject A: cannot read image"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(file));
}
