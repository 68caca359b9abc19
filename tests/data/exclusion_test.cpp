// A subject excluded by cohort.on_bad_subject: exclude is absent from every cache whole (issue
// 22, item 2): none of its vertebrae is kept when a later one fails, in a single build, in every
// shard and in the merged file; and a cache written by an older vfp that kept such patches is
// refused as stale and rebuilt. Real ITK images and real HDF5 files, built here.
#include "data/data.h"

#include <H5Cpp.h>
#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkImageRegionIteratorWithIndex.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Image = itk::Image<short, 3>;

namespace {

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vfp_exclusion_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

const std::vector<std::string> kSubjects{"S001", "S002", "S003", "S004", "S005"};
const std::string kBad = "S003"; // the subject whose centroid file lacks L2

/// L1 and L2 centres (LPS mm), both well inside the phantom's volume.
constexpr double kL1[3] = {10, -5, 14};
constexpr double kL2[3] = {12, -3, 28};

/// A 24×22×20 CT (1.5, 1.5, 2 mm, LPS-aligned, origin (-6, -20, 2)): two boxes of bone around
/// the vertebrae in soft tissue, with HU offset by `shift` so that each subject's patches differ.
Image::Pointer write_ct(const fs::path& path, int shift) {
  vfp::data::register_image_formats();
  auto image = Image::New();
  Image::SizeType size;
  size[0] = 24;
  size[1] = 22;
  size[2] = 20;
  image->SetRegions(Image::RegionType(size));
  const double spacing[3] = {1.5, 1.5, 2.0};
  image->SetSpacing(spacing);
  const double origin[3] = {-6.0, -20.0, 2.0};
  image->SetOrigin(origin);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<Image> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it) {
    Image::PointType p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    short hu = 40;
    for (const auto* c : {kL1, kL2})
      if (std::abs(p[0] - c[0]) < 7 && std::abs(p[1] - c[1]) < 5 && std::abs(p[2] - c[2]) < 6)
        hu = static_cast<short>((p[0] < c[0] ? 250 : 650) + shift + (c == kL2 ? 50 : 0));
    it.Set(hu);
  }
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(path.string());
  writer->SetInput(image);
  writer->SetUseCompression(true);
  writer->Update();
  return image;
}

/// A VerSe-style centroid entry (voxel coordinates of the image) for an LPS point.
std::string centroid_entry(const Image* image, int label, const double (&lps)[3]) {
  Image::PointType p;
  for (int a = 0; a < 3; ++a)
    p[a] = lps[a];
  itk::ContinuousIndex<double, 3> idx;
  image->TransformPhysicalPointToContinuousIndex(p, idx);
  return "{\"label\": " + std::to_string(label) + ", \"X\": " + std::to_string(idx[0]) +
         ", \"Y\": " + std::to_string(idx[1]) + ", \"Z\": " + std::to_string(idx[2]) + "}";
}

/// How the bad subject's L2 goes wrong.
enum class L2Problem { kNone, kNoCentroid, kOutsideImage };

/// Five subjects with CTs and centroid files under `dir`; the bad one's L2 as `problem` says.
/// The same call with another problem gives byte-identical images (same pixels, same geometry).
vfp::config::ExperimentConfig write_cohort(const fs::path& dir, L2Problem problem,
                                           bool content_hash = false) {
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "centroids");
  std::ofstream csv(dir / "cohort.csv");
  csv << "subject_id,age,bmi,event,time_years\n";
  for (size_t k = 0; k < kSubjects.size(); ++k) {
    const auto& id = kSubjects[k];
    csv << id << "," << 60 + k << ",25," << k % 2 << "," << 2 + k << "\n";
    const auto image = write_ct(dir / "images" / (id + ".nii.gz"), int(10 * k));
    std::string l2 = centroid_entry(image.GetPointer(), 21, kL2);
    if (id == kBad && problem == L2Problem::kOutsideImage) {
      const double far[3] = {kL2[0], kL2[1], 400.0}; // 360 mm above the scan's top
      l2 = centroid_entry(image.GetPointer(), 21, far);
    }
    std::ofstream json(dir / "centroids" / (id + ".json"));
    json << "[" << centroid_entry(image.GetPointer(), 20, kL1);
    if (!(id == kBad && problem == L2Problem::kNoCentroid))
      json << ", " << l2;
    json << "]";
  }
  csv.close();
  vfp::config::ExperimentConfig c;
  c.cohort.csv = dir / "cohort.csv";
  c.cohort.images = (dir / "images" / "{id}.nii.gz").string();
  c.cohort.centroids = (dir / "centroids" / "{id}.json").string();
  c.cohort.on_bad_subject = "exclude";
  c.preprocess.patch_mm = 21;
  c.preprocess.slab_mm = 5;
  c.preprocess.vertebrae = {"L1", "L2"};
  c.preprocess.content_hash = content_hash;
  return c;
}

/// What a cache file holds, read with HDF5 itself (not through vfp's reader).
struct RawCache {
  std::vector<std::string> subject_ids;
  std::vector<vfp::data::Exclusion> excluded; ///< the 'excluded' attribute, parsed
};

RawCache read_raw(const fs::path& file) {
  H5::Exception::dontPrint();
  H5::H5File h5(file.string(), H5F_ACC_RDONLY);
  RawCache out;
  auto ids = h5.openDataSet("subject_id");
  const auto n = ids.getSpace().getSimpleExtentNpoints();
  if (n > 0) {
    H5::StrType vls(H5::PredType::C_S1, H5T_VARIABLE);
    std::vector<char*> raw(static_cast<size_t>(n));
    ids.read(raw.data(), vls);
    for (auto* id : raw)
      out.subject_ids.emplace_back(id ? id : "");
    H5::DataSet::vlenReclaim(raw.data(), vls, ids.getSpace());
  }
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  std::string text;
  h5.openGroup("/").openAttribute("excluded").read(type, text);
  for (const auto& e : nlohmann::json::parse(text))
    out.excluded.push_back({e.at("subject").get<std::string>(), e.at("reason").get<std::string>()});
  return out;
}

/// Replaces the file's 'excluded' attribute, as an older vfp would have written it.
void set_excluded_attribute(const fs::path& file, const nlohmann::json& excluded) {
  H5::Exception::dontPrint();
  H5::H5File h5(file.string(), H5F_ACC_RDWR);
  auto root = h5.openGroup("/");
  if (root.attrExists("excluded"))
    root.removeAttr("excluded");
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  root.createAttribute("excluded", type, H5::DataSpace(H5S_SCALAR)).write(type, excluded.dump());
}

/// `all` without the patches of `subject` (and without its exclusions).
vfp::data::PatchSet without(const vfp::data::PatchSet& all, const std::string& subject) {
  vfp::data::PatchSet out;
  out.channels = all.channels;
  out.depth = all.depth;
  out.height = all.height;
  out.width = all.width;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all.subject_ids[i] == subject)
      continue;
    out.pixels.insert(out.pixels.end(), all.patch(i), all.patch(i) + all.patch_values());
    out.subject_ids.push_back(all.subject_ids[i]);
    out.vertebrae.push_back(all.vertebrae[i]);
    out.origin.insert(out.origin.end(), all.origin.begin() + long(3 * i),
                      all.origin.begin() + long(3 * i + 3));
    out.spacing.insert(out.spacing.end(), all.spacing.begin() + long(3 * i),
                       all.spacing.begin() + long(3 * i + 3));
  }
  return out;
}

/// Same patches, byte for byte: shape, ids, vertebrae, geometry and the pixels' float bytes.
void expect_same_patches(const vfp::data::PatchSet& got, const vfp::data::PatchSet& want,
                         const std::string& what) {
  EXPECT_EQ(got.channels, want.channels) << what;
  EXPECT_EQ(got.depth, want.depth) << what;
  EXPECT_EQ(got.height, want.height) << what;
  EXPECT_EQ(got.width, want.width) << what;
  EXPECT_EQ(got.subject_ids, want.subject_ids) << what;
  EXPECT_EQ(got.vertebrae, want.vertebrae) << what;
  EXPECT_EQ(got.origin, want.origin) << what;
  EXPECT_EQ(got.spacing, want.spacing) << what;
  ASSERT_EQ(got.pixels.size(), want.pixels.size()) << what;
  EXPECT_EQ(std::memcmp(got.pixels.data(), want.pixels.data(), got.pixels.size() * sizeof(float)),
            0)
      << what << ": pixel bytes differ";
}

bool holds(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

/// The reason preprocessing gives for the bad subject's missing L2.
std::string no_l2_reason(const vfp::config::ExperimentConfig& c) {
  return "subject " + kBad + ": no centroid for L2 (label 21) in " +
         vfp::config::subject_path(c.cohort.centroids, kBad).string();
}

/// The patches a cohort without the L2 problem gives, the bad subject's left out: what every
/// other subject's patches must be, byte for byte.
vfp::data::PatchSet reference_patches(const fs::path& dir) {
  const auto good = write_cohort(dir, L2Problem::kNone);
  const auto patches =
      vfp::data::preprocess_cohort(vfp::data::read_cohort(good.cohort.csv), good, 1);
  EXPECT_EQ(patches.size(), 2 * kSubjects.size()); // the reference subject has both, fixed
  EXPECT_TRUE(patches.excluded.empty());
  return without(patches, kBad);
}

} // namespace

TEST(PreprocessSubject, LeavesTheOutputUntouchedWhenItsL2HasNoCentroidAfterL1Succeeded) {
  const auto dir = temp_dir("subject_no_l2");
  const auto c = write_cohort(dir, L2Problem::kNoCentroid);
  auto source_of = [&](const std::string& id) {
    vfp::data::CentroidSource s;
    s.path = vfp::config::subject_path(c.cohort.centroids, id);
    return s;
  };
  vfp::data::PatchSet out;
  vfp::data::preprocess_subject("S001", vfp::config::subject_path(c.cohort.images, "S001"),
                                source_of("S001"), c.preprocess, out);
  ASSERT_EQ(out.size(), 2u);
  const auto before = out;
  try {
    vfp::data::preprocess_subject(kBad, vfp::config::subject_path(c.cohort.images, kBad),
                                  source_of(kBad), c.preprocess, out);
    FAIL() << "a subject without L2 was preprocessed";
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()), no_l2_reason(c));
  }
  expect_same_patches(out, before, "after the failed subject");
}

TEST(PreprocessSubject, LeavesTheOutputUntouchedWhenItsL2LiesOutsideTheImage) {
  const auto dir = temp_dir("subject_outside");
  const auto c = write_cohort(dir, L2Problem::kOutsideImage);
  vfp::data::CentroidSource source;
  source.path = vfp::config::subject_path(c.cohort.centroids, kBad);
  vfp::data::PatchSet out;
  try {
    vfp::data::preprocess_subject(kBad, vfp::config::subject_path(c.cohort.images, kBad), source,
                                  c.preprocess, out);
    FAIL() << "a subject with L2 outside its image was preprocessed";
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "subject " + kBad + ": L2 centroid lies outside the image " +
                                         vfp::config::subject_path(c.cohort.images, kBad).string());
  }
  EXPECT_EQ(out.size(), 0u);
  EXPECT_TRUE(out.pixels.empty());
  EXPECT_TRUE(out.origin.empty());
}

TEST(ExcludedSubject, SingleBuildCachesNoPatchOfASubjectWhoseL2HasNoCentroid) {
  const auto dir = temp_dir("single");
  const auto want = reference_patches(dir / "good");
  const auto c = write_cohort(dir / "bad", L2Problem::kNoCentroid);
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto built = vfp::data::load_or_build_cache(c, subjects, dir / "cache", 2);
  const auto file = vfp::data::cache_file(dir / "cache", vfp::data::cache_key(c, subjects));

  const auto raw = read_raw(file);
  EXPECT_FALSE(holds(raw.subject_ids, kBad)) << "the excluded subject's L1 patch was cached";
  ASSERT_EQ(raw.excluded.size(), 1u) << raw.excluded.size() << " excluded";
  EXPECT_EQ(raw.excluded[0].subject, kBad);
  EXPECT_EQ(raw.excluded[0].reason, no_l2_reason(c));

  expect_same_patches(built, want, "the build's result");
  const auto back = vfp::data::read_cache(file, vfp::data::cache_key(c, subjects));
  expect_same_patches(back, want, "the cache read back");
  ASSERT_EQ(back.excluded.size(), 1u);
  EXPECT_EQ(back.excluded[0].reason, no_l2_reason(c));
}

TEST(ExcludedSubject, SingleBuildCachesNoPatchOfASubjectWhoseL2LiesOutsideTheImage) {
  const auto dir = temp_dir("single_outside");
  const auto want = reference_patches(dir / "good");
  const auto c = write_cohort(dir / "bad", L2Problem::kOutsideImage);
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto built = vfp::data::load_or_build_cache(c, subjects, dir / "cache", 1);
  const auto raw =
      read_raw(vfp::data::cache_file(dir / "cache", vfp::data::cache_key(c, subjects)));
  EXPECT_FALSE(holds(raw.subject_ids, kBad));
  ASSERT_EQ(raw.excluded.size(), 1u);
  EXPECT_EQ(raw.excluded[0].reason, "subject " + kBad + ": L2 centroid lies outside the image " +
                                        vfp::config::subject_path(c.cohort.images, kBad).string());
  expect_same_patches(built, want, "the build's result");
}

TEST(ExcludedSubject, EveryShardAndTheMergedCacheHoldNoPatchOfASubjectWhoseL2HasNoCentroid) {
  const auto dir = temp_dir("shards");
  const auto want = reference_patches(dir / "good");
  const auto c = write_cohort(dir / "bad", L2Problem::kNoCentroid);
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto key = vfp::data::cache_key(c, subjects);
  const auto merged = vfp::data::cache_file(dir / "cache", key);
  // Three shards, as three worker ranks build them: {S001}, {S002, S003}, {S004, S005}.
  constexpr int kShards = 3;
  for (int i = 0; i < kShards; ++i)
    vfp::data::build_cache_shard(c, subjects, dir / "cache", i, kShards, 1);
  size_t excluded_in_shards = 0;
  for (int i = 0; i < kShards; ++i) {
    auto shard = merged;
    shard += ".shard-" + std::to_string(i) + "-of-" + std::to_string(kShards) + ".h5";
    ASSERT_TRUE(fs::exists(shard)) << shard;
    const auto raw = read_raw(shard);
    EXPECT_FALSE(holds(raw.subject_ids, kBad)) << "shard " << i << " kept its L1 patch";
    for (const auto& e : raw.excluded) {
      EXPECT_EQ(i, 1) << "excluded in the wrong shard: " << e.subject;
      EXPECT_EQ(e.subject, kBad);
      EXPECT_EQ(e.reason, no_l2_reason(c));
      ++excluded_in_shards;
    }
  }
  EXPECT_EQ(excluded_in_shards, 1u);

  const auto result = vfp::data::merge_cache_shards(c, subjects, dir / "cache", kShards);
  const auto raw = read_raw(merged);
  EXPECT_FALSE(holds(raw.subject_ids, kBad)) << "the merged cache kept its L1 patch";
  ASSERT_EQ(raw.excluded.size(), 1u) << raw.excluded.size() << " excluded";
  EXPECT_EQ(raw.excluded[0].subject, kBad);
  EXPECT_EQ(raw.excluded[0].reason, no_l2_reason(c));
  EXPECT_EQ(result.subject_ids, want.subject_ids); // the merge returns the index, not pixels
  EXPECT_TRUE(result.pixels.empty());
  expect_same_patches(vfp::data::read_cache(merged, key), want, "the merged cache read back");
}

namespace {
/// Writes, under `c`'s key, the cache an older vfp built for the bad cohort: the bad subject's
/// L1 patch kept, the subject listed as excluded all the same.
fs::path write_old_cache(const fs::path& good_dir, const vfp::config::ExperimentConfig& c,
                         const fs::path& cache_dir) {
  const auto good = write_cohort(good_dir, L2Problem::kNone);
  const auto all = vfp::data::preprocess_cohort(vfp::data::read_cohort(good.cohort.csv), good, 1);
  // The bad subject's L2 patch goes (it failed); its L1 patch stays, as the old code left it.
  vfp::data::PatchSet old = all;
  const auto first = std::find(all.subject_ids.begin(), all.subject_ids.end(), kBad);
  const auto l2 = size_t(first - all.subject_ids.begin()) + 1; // its L1 patch, then its L2 patch
  if (!(l2 < all.size() && all.subject_ids[l2] == kBad && all.vertebrae[l2] == 21))
    throw std::logic_error("fixture: the bad subject's L2 patch does not follow its L1 patch");
  const auto values = long(all.patch_values());
  old.pixels.erase(old.pixels.begin() + long(l2) * values,
                   old.pixels.begin() + long(l2 + 1) * values);
  old.subject_ids.erase(old.subject_ids.begin() + long(l2));
  old.vertebrae.erase(old.vertebrae.begin() + long(l2));
  old.origin.erase(old.origin.begin() + long(3 * l2), old.origin.begin() + long(3 * l2 + 3));
  old.spacing.erase(old.spacing.begin() + long(3 * l2), old.spacing.begin() + long(3 * l2 + 3));
  EXPECT_EQ(old.size(), 2 * kSubjects.size() - 1);
  EXPECT_TRUE(holds(old.subject_ids, kBad));
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto key = vfp::data::cache_key(c, subjects);
  auto file = vfp::data::cache_file(cache_dir, key);
  fs::create_directories(cache_dir);
  vfp::data::write_cache(file, old, key, "{}");
  set_excluded_attribute(file,
                         nlohmann::json::array({{{"subject", kBad}, {"reason", no_l2_reason(c)}}}));
  return file;
}
} // namespace

TEST(StaleCache, ExcludedSubjectWithPatchesIsACacheErrorNamingFileAndSubject) {
  const auto dir = temp_dir("old_refused");
  const auto c = write_cohort(dir / "bad", L2Problem::kNoCentroid);
  const auto file = write_old_cache(dir / "good", c, dir / "cache");
  const auto key = vfp::data::cache_key(c, vfp::data::read_cohort(c.cohort.csv));
  const std::string expected = "cache " + file.string() + ": subject " + kBad +
                               " is listed as excluded (" + no_l2_reason(c) +
                               ") yet has 1 patch (a cache written by an older vfp)";
  try {
    vfp::data::read_cache(file, key);
    FAIL() << "an old cache's excluded subject reached the caller";
  } catch (const vfp::data::CacheError& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  try {
    vfp::data::CacheReader reader(file, key);
    FAIL() << "CacheReader served an old cache's excluded subject";
  } catch (const vfp::data::CacheError& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  // `vfp cache verify` reports it too.
  const auto entries = vfp::data::list_caches(dir / "cache");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(vfp::data::verify_cache(entries[0]), expected);
}

namespace {
void expect_old_cache_rebuilt(bool content_hash) {
  const auto dir = temp_dir(content_hash ? "old_rebuilt_content" : "old_rebuilt");
  const auto want = reference_patches(dir / "reference");
  const auto c = write_cohort(dir / "bad", L2Problem::kNoCentroid, content_hash);
  const auto file = write_old_cache(dir / "good", c, dir / "cache");
  const auto subjects = vfp::data::read_cohort(c.cohort.csv);
  const auto patches = vfp::data::load_or_build_cache(c, subjects, dir / "cache", 1);
  expect_same_patches(patches, want, "the rebuilt cache");
  ASSERT_EQ(patches.excluded.size(), 1u);
  EXPECT_EQ(patches.excluded[0].reason, no_l2_reason(c));
  const auto raw = read_raw(file);
  EXPECT_FALSE(holds(raw.subject_ids, kBad)) << "the old file was not replaced";
  EXPECT_EQ(raw.excluded.size(), 1u);
}
} // namespace

TEST(StaleCache, LoadOrBuildRebuildsAnOldCacheThatKeptAnExcludedSubjectsPatch) {
  expect_old_cache_rebuilt(false);
}

// Keyed by content, the old cache's key survives any touch of the sources: only the check on
// reading keeps its stale patch out.
TEST(StaleCache, LoadOrBuildRebuildsSuchAnOldCacheWhenSourcesAreKeyedByContent) {
  expect_old_cache_rebuilt(true);
}

TEST(WriteCache, RefusesPatchesOfASubjectItListsAsExcludedAndLeavesNoFile) {
  const auto dir = temp_dir("write_refused");
  vfp::data::PatchSet p;
  p.height = p.width = 2;
  for (const char* id : {"A", "B"}) {
    p.pixels.insert(p.pixels.end(), {0.1F, 0.2F, 0.3F, 0.4F});
    p.subject_ids.emplace_back(id);
    p.vertebrae.push_back(20);
    p.origin.insert(p.origin.end(), {0.0, 0.0, 0.0});
    p.spacing.insert(p.spacing.end(), {1.0, 1.0, 1.0});
  }
  p.excluded.push_back({"B", "subject B: no centroid for L2 (label 21) in b.json"});
  const auto file = dir / "patches-k.h5";
  try {
    vfp::data::write_cache(file, p, "k", "{}");
    FAIL() << "a cache with an excluded subject's patch was written";
  } catch (const vfp::IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot write cache " + file.string() +
                  ": subject B is listed as excluded (subject B: no centroid for L2 (label 21) "
                  "in b.json) yet has 1 patch");
  }
  EXPECT_TRUE(fs::is_empty(dir)) << "a file or temporary was left behind";
}

TEST(WriteCache, RefusesListsOfDifferentLengthsAndLeavesNoFile) {
  const auto dir = temp_dir("write_lengths");
  vfp::data::PatchSet p;
  p.height = p.width = 2;
  p.pixels = {0.1F, 0.2F, 0.3F, 0.4F};
  p.subject_ids = {"A"};
  p.vertebrae = {20, 21}; // one vertebra more than patches
  p.origin = {0, 0, 0};
  p.spacing = {1, 1, 1};
  EXPECT_THROW(vfp::data::write_cache(dir / "patches-k.h5", p, "k", "{}"), vfp::IoError);
  EXPECT_TRUE(fs::is_empty(dir));
}
