// Streaming preprocessing into the cache: a cache built patch by patch (whole, in shards then
// merged, or through open_or_build_cache) holds the same bytes, under the same key, as the
// in-memory path; a storage type other than float32 gets a key of its own. A small `vfp
// synth` cohort (real NIfTI CTs, real HDF5 files), built once for the suite.
#include "config/config.h"
#include "data/data.h"
#include "synth/synth.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

class StreamingBuild : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("vfp_cache_stream_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    vfp::synth::SynthOptions o;
    o.subjects = 5;
    o.out = root_ / "cohort";
    o.seed = 3;
    vfp::synth::generate_cohort(o);
  }

  /// 3D 12³ patches of L1 and L2: cheap, and 3D is what the pretraining archive holds.
  static vfp::config::ExperimentConfig config() {
    vfp::config::ExperimentConfig c;
    c.cohort.csv = root_ / "cohort" / "cohort.csv";
    c.cohort.images = (root_ / "cohort" / "images" / "{id}.nii.gz").string();
    c.cohort.centroids = (root_ / "cohort" / "centroids" / "{id}.json").string();
    c.preprocess.output = "3d";
    c.preprocess.patch_voxels = 12;
    c.preprocess.patch_mm = 36;
    return c;
  }

  static fs::path fresh(const std::string& name) {
    const auto d = root_ / name;
    fs::remove_all(d);
    return d;
  }

  static std::vector<float> read_all(const vfp::data::CacheReader& reader) {
    const auto& index = reader.index();
    std::vector<float> out(index.size() * index.patch_values());
    for (std::size_t i = 0; i < index.size(); ++i)
      reader.read(i, out.data() + i * index.patch_values());
    return out;
  }

  static void expect_same(const vfp::data::PatchSet& index, const std::vector<float>& pixels,
                          const vfp::data::PatchSet& want, const std::string& what) {
    EXPECT_EQ(index.subject_ids, want.subject_ids) << what;
    EXPECT_EQ(index.vertebrae, want.vertebrae) << what;
    EXPECT_EQ(index.origin, want.origin) << what;
    ASSERT_EQ(pixels.size(), want.pixels.size()) << what;
    EXPECT_EQ(std::memcmp(pixels.data(), want.pixels.data(), pixels.size() * sizeof(float)), 0)
        << what << ": pixel bytes differ";
  }

  static fs::path root_;
};
fs::path StreamingBuild::root_;

} // namespace

TEST_F(StreamingBuild, GivesTheInMemoryPathsBytesInCohortOrderUnderTheSameKey) {
  const auto c = config();
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  // Three threads on five subjects: finishing out of order, handed on in order.
  const auto want = vfp::data::preprocess_cohort(subjects, c, 3);
  ASSERT_EQ(want.size(), 10u);
  const auto dir = fresh("whole");
  const auto reader = vfp::data::open_or_build_cache(c, subjects, dir, 3);
  EXPECT_TRUE(reader->mapped());
  expect_same(reader->index(), read_all(*reader), want, "open_or_build_cache");
  // The file is where the float32 key always put it, and load_or_build_cache reads it.
  EXPECT_TRUE(fs::exists(vfp::data::cache_file(dir, vfp::data::cache_key(c, subjects))));
  const auto loaded = vfp::data::load_or_build_cache(c, subjects, dir, 1);
  expect_same(loaded, loaded.pixels, want, "load_or_build_cache");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1)
      << "one cache file, no temporary, no lock left";
}

TEST_F(StreamingBuild, ShardsMergedPatchByPatchEqualTheSingleBuild) {
  const auto c = config();
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto want = vfp::data::preprocess_cohort(subjects, c, 1);
  const auto dir = fresh("shards");
  for (int i = 0; i < 2; ++i)
    vfp::data::build_cache_shard(c, subjects, dir, i, 2, 2);
  const auto index = vfp::data::merge_cache_shards(c, subjects, dir, 2);
  EXPECT_TRUE(index.pixels.empty()) << "the merge returns the index, not the pixels";
  EXPECT_EQ(index.subject_ids, want.subject_ids);
  const vfp::data::CacheReader reader(vfp::data::cache_file(dir, vfp::data::cache_key(c, subjects)),
                                      vfp::data::cache_key(c, subjects));
  expect_same(reader.index(), read_all(reader), want, "the merged cache");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1)
      << "the shards are removed once merged";
}

TEST_F(StreamingBuild, AStorageTypeOtherThanFloat32HasItsOwnKeyAndHalvesThePatchBytes) {
  auto c = config();
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto key = vfp::data::cache_key(c, subjects);
  EXPECT_EQ(vfp::config::preprocess_json(c).at("preprocess").count("dtype"), 0u)
      << "float32 stays out of the key's JSON: existing caches keep their keys";
  c.preprocess.dtype = "uint16";
  EXPECT_NE(vfp::data::cache_key(c, subjects), key);
  const auto dir = fresh("uint16");
  const auto reader = vfp::data::open_or_build_cache(c, subjects, dir, 2);
  EXPECT_EQ(reader->dtype(), "uint16");
  EXPECT_EQ(reader->stored_patch_bytes(), reader->index().patch_values() * 2);
  const auto want = vfp::data::preprocess_cohort(subjects, config(), 2);
  const auto got = read_all(*reader);
  ASSERT_EQ(got.size(), want.pixels.size());
  double worst = 0;
  for (std::size_t k = 0; k < got.size(); ++k)
    worst = std::max(worst, std::abs(double(got[k]) - double(want.pixels[k])));
  EXPECT_LE(worst, 1.0 / 131070 + 6e-8);
  const auto listed = vfp::data::list_caches(dir); // what `vfp cache ls` shows
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].dtype, "uint16");
  // A bundle's preprocessing written before dtype existed (no such key) still reads back.
  auto j = vfp::config::preprocess_json(config()).at("preprocess");
  EXPECT_EQ(vfp::config::preprocess_from_json(j).dtype, "float32");
}

TEST_F(StreamingBuild, AFlippedPixelFailsItsReadAndIsRebuiltWhenThePreprocessJobVerifies) {
  const auto c = config();
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto want = vfp::data::preprocess_cohort(subjects, c, 1);
  const auto dir = fresh("flipped");
  const auto file = vfp::data::cache_file(dir, vfp::data::cache_key(c, subjects));
  vfp::data::open_or_build_cache(c, subjects, dir, 1).reset();
  { // Flip a byte in the middle of patch 3, found by its stored bytes (float32: as made).
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto values = want.patch_values();
    const std::string patch(reinterpret_cast<const char*>(want.patch(3)), values * sizeof(float));
    const auto at = bytes.find(patch);
    ASSERT_NE(at, std::string::npos) << "patch 3 not found in " << file;
    std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(std::streamoff(at + patch.size() / 2));
    out.put(char(bytes[at + patch.size() / 2] ^ 0x10));
  }
  const auto lazy = vfp::data::open_or_build_cache(c, subjects, dir, 1);
  std::vector<float> patch(want.patch_values());
  try {
    lazy->read(3, patch.data());
    FAIL() << "a corrupted patch was served";
  } catch (const vfp::data::CacheError& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(want.subject_ids[3]), std::string::npos) << e.what();
  }
  const auto verified = vfp::data::open_or_build_cache(c, subjects, dir, 1, /*verify_pixels=*/true);
  expect_same(verified->index(), read_all(*verified), want, "the rebuilt cache");
}
