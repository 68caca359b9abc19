// DICOM as hospital archives hold it (issue 25): several series in one folder (scouts,
// reformats, a second reconstruction), compressed transfer syntaxes, uneven slice spacing,
// gantry tilt and multi-frame files. Every series is written by ITK in the test, compressed
// by gdcmconv and edited by dcmodify where a case needs it.
#include "config/yaml.h"
#include "data/data.h"
#include "data/dicom_series.h"
#include "data/image_checks.h"
#include "data/image_io.h" // the module's own test may see its internals

#include "../support/ct_series.h"

#include <gtest/gtest.h>
#include <itkGDCMImageIO.h>
#include <itkImageFileWriter.h>
#include <itkImageRegionIteratorWithIndex.h>
#include <itkMetaDataObject.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>

namespace fs = std::filesystem;
using Series = vfp::testing_support::DicomSeries;
using vfp::data::read_ct;
using vfp::testing_support::named_series;
using vfp::testing_support::Short3;
using vfp::testing_support::write_dicom_series;

namespace {

/// A fresh subfolder of the suite's scratch folder (tests/support/test_main.cpp removes it).
fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vfp_dicom_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// HU at a physical point: linear in z (so that linear interpolation between slices is
/// exact), a 700 HU box, air (-1000) in one corner: signed values for the lossless codecs.
short phantom_hu(const Short3::PointType& p) {
  if (p[0] < -2 && p[1] < -14)
    return -1000;
  const short base = static_cast<short>(std::lround(5 * p[2]));
  return std::abs(p[0] - 10) < 8 && std::abs(p[1] + 5) < 6 ? base + 700 : base;
}

/// A 32×32×`slices` phantom, 1.5 × 1.5 × `dz` mm, with `direction`.
Short3::Pointer make_phantom(unsigned slices = 20, double dz = 2.0,
                             Short3::DirectionType direction = {}) {
  if (direction.GetVnlMatrix().is_zero())
    direction.SetIdentity();
  auto image = Short3::New();
  Short3::SizeType size{{32, 32, slices}};
  image->SetRegions(Short3::RegionType(size));
  const double spacing[3] = {1.5, 1.5, dz};
  image->SetSpacing(spacing);
  image->SetDirection(direction);
  Short3::PointType origin;
  origin[0] = -20;
  origin[1] = -25;
  origin[2] = 4;
  image->SetOrigin(origin);
  vfp::testing_support::fill_by_position(image, phantom_hu);
  return image;
}

/// Writes a `slices`-slice phantom `dz` mm apart as `series`, oriented by `axes`: the axis
/// each column of the direction runs along, 1-based (x, y, z), negative when flipped.
void write_oriented(const fs::path& dir, const Series& series, unsigned slices, double dz,
                    const std::array<int, 3>& axes) {
  Short3::DirectionType direction;
  direction.Fill(0);
  for (std::size_t column = 0; column < 3; ++column)
    direction[std::abs(axes[column]) - 1][column] = axes[column] < 0 ? -1 : 1;
  write_dicom_series(dir, make_phantom(slices, dz, direction), series);
}

/// The scout of a hospital export: two coronal projections flagged LOCALIZER.
void write_scout(const fs::path& dir) {
  write_oriented(dir,
                 named_series("scout", "1.2.826.0.1.3680043.2.1125.9.100", "1", "Topogram 0.6",
                              "ORIGINAL\\PRIMARY\\LOCALIZER"),
                 2, 2.0, {1, -3, 2});
}

/// A sagittal reformat with more slices than the axial CT: `largest` must not take it.
void write_sagittal(const fs::path& dir) {
  write_oriented(dir,
                 named_series("sag", "1.2.826.0.1.3680043.2.1125.9.3", "5", "SAG MPR",
                              "DERIVED\\SECONDARY\\REFORMATTED"),
                 28, 1.0, {2, -3, -1});
}

/// The bone-kernel reconstruction: 10 slices of 4 mm over the same box.
void write_bone(const fs::path& dir) {
  write_oriented(dir,
                 named_series("bone", "1.2.826.0.1.3680043.2.1125.9.4", "4", "Bone 4.0 B70f",
                              "ORIGINAL\\PRIMARY\\AXIAL"),
                 10, 4.0, {1, 2, 3});
}

/// Every voxel of `read` equals the phantom's HU at its physical point.
void expect_phantom(const vfp::data::CtImage::Pointer& read, unsigned slices, double dz) {
  const auto size = read->GetLargestPossibleRegion().GetSize();
  ASSERT_EQ(size[0], 32u);
  ASSERT_EQ(size[2], slices);
  EXPECT_NEAR(read->GetSpacing()[2], dz, 1e-4);
  std::size_t wrong = 0;
  itk::ImageRegionIteratorWithIndex<vfp::data::CtImage> it(read, read->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it) {
    vfp::data::CtImage::PointType p;
    read->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    wrong += std::abs(it.Get() - phantom_hu(p)) > 1e-3;
  }
  EXPECT_EQ(wrong, 0u);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A hospital export: scout, the 20-slice axial CT, a sagittal reformat, a bone kernel.
const fs::path& export_folder() {
  static const fs::path dir = [] {
    auto d = temp_dir("export");
    write_scout(d);
    write_dicom_series(d, make_phantom(), Series{});
    write_sagittal(d);
    write_bone(d);
    std::ofstream(d / "README.txt") << "exported by PACS\n"; // not DICOM: passed over
    return d;
  }();
  return dir;
}

} // namespace

TEST(DicomArchive, LargestTakesTheAxialCtWithMostSlicesAndSaysWhatItSkipped) {
  const auto& dir = export_folder();
  const auto series = vfp::data::scan_dicom_folder(dir);
  ASSERT_EQ(series.size(), 4u);
  std::string why;
  const auto& chosen = vfp::data::choose_dicom_series(series, "", "S1", dir, why);
  EXPECT_EQ(chosen.uid, "1.2.826.0.1.3680043.2.1125.9.1");
  EXPECT_TRUE(has(why, "subject S1: DICOM folder " + dir.string())) << why;
  EXPECT_TRUE(has(why, "'BODY 2.0' (20 slices) (SeriesNumber 2) by rule 'largest'")) << why;
  EXPECT_TRUE(has(why, "'Topogram 0.6' (2 slices): a localiser")) << why;
  EXPECT_TRUE(has(why, "'SAG MPR' (28 slices): not axial")) << why;
  EXPECT_TRUE(has(why, "'Bone 4.0 B70f' (10 slices): fewer slices")) << why;
  expect_phantom(read_ct("S1", dir), 20, 2.0);
}

TEST(DicomArchive, UidAndDescriptionRulesPickTheNamedSeries) {
  const auto& dir = export_folder();
  expect_phantom(read_ct("S1", dir, "uid:1.2.826.0.1.3680043.2.1125.9.4"), 10, 4.0);
  expect_phantom(read_ct("S1", dir, "desc:*b70?"), 10, 4.0); // a glob, any case
  // A reformat named by its rule is taken: only `largest` insists on axial slices.
  const auto sagittal = read_ct("S1", dir, "desc:SAG*");
  EXPECT_EQ(sagittal->GetLargestPossibleRegion().GetSize()[2], 28u);
}

TEST(DicomArchive, ARuleThatFindsNoUsableSeriesNamesSubjectFolderAndEverySeries) {
  const auto& dir = export_folder();
  const auto none = error_of([&] { read_ct("S7", dir, "desc:*LUNG*"); });
  EXPECT_TRUE(has(none, "subject S7: DICOM folder " + dir.string() +
                            " holds no usable series for rule 'desc:*LUNG*' (4 found; "))
      << none;
  EXPECT_TRUE(has(none, "'BODY 2.0' (20 slices): does not match desc:*LUNG*")) << none;
  const auto scout = error_of([&] { read_ct("S7", dir, "desc:Topogram*"); });
  EXPECT_TRUE(has(scout, "'Topogram 0.6' (2 slices): a localiser (ImageType "
                         "ORIGINAL\\PRIMARY\\LOCALIZER)"))
      << scout;
  const auto only_scout = temp_dir("only_scout");
  write_scout(only_scout);
  const auto e = error_of([&] { read_ct("S8", only_scout); });
  EXPECT_TRUE(has(e, "subject S8: DICOM folder " + only_scout.string() +
                         " holds no usable series for rule 'largest' (1 found; "))
      << e;
}

TEST(DicomArchive, TiedSeriesAreBrokenByTheLowestSeriesNumberAndSaid) {
  const auto dir = temp_dir("tie");
  Series soft, sharp;
  soft.prefix = "soft";
  soft.number = "7";
  sharp.prefix = "sharp";
  sharp.uid = "1.2.826.0.1.3680043.2.1125.9.6";
  sharp.description = "BODY 2.0 SHARP";
  sharp.number = "6";
  write_dicom_series(dir, make_phantom(), soft);
  write_dicom_series(dir, make_phantom(), sharp);
  std::string why;
  const auto series = vfp::data::scan_dicom_folder(dir);
  const auto& chosen = vfp::data::choose_dicom_series(series, "largest", "S2", dir, why);
  EXPECT_EQ(chosen.uid, sharp.uid);
  EXPECT_TRUE(has(why, "the lowest SeriesNumber of 2 series tied at the most slices")) << why;
  EXPECT_TRUE(has(why, "'BODY 2.0' (20 slices): tied, higher SeriesNumber")) << why;
}

TEST(DicomArchive, CompressedTransferSyntaxesReadBackTheSameVoxels) {
  if (std::system("which gdcmconv > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "gdcmconv not installed (package libgdcm-tools; scripts/setup.sh)";
  const auto plain = temp_dir("plain");
  write_dicom_series(plain, make_phantom(), Series{});
  const auto expected = read_ct("S3", plain);
  const std::size_t n = expected->GetLargestPossibleRegion().GetNumberOfPixels();
  // Lossless modes only; each transfer syntax UID must be in the files gdcmconv wrote.
  const std::vector<std::pair<std::string, std::string>> codecs{
      {"--jpeg", "1.2.840.10008.1.2.4.70"},
      {"--jpegls", "1.2.840.10008.1.2.4.80"},
      {"--j2k", "1.2.840.10008.1.2.4.90"},
      {"--rle", "1.2.840.10008.1.2.5"}};
  for (const auto& [flag, syntax] : codecs) {
    const auto dir = temp_dir("codec" + flag);
    for (const auto& f : fs::directory_iterator(plain)) {
      const auto out = dir / f.path().filename();
      const auto cmd = "gdcmconv " + flag + " " + f.path().string() + " " + out.string();
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    std::ifstream in(dir / "ct010.dcm", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(has(bytes, syntax)) << flag << " did not write transfer syntax " << syntax;
    const auto back = read_ct("S3", dir);
    ASSERT_EQ(back->GetLargestPossibleRegion().GetNumberOfPixels(), n) << flag;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < n; ++i)
      differ += back->GetBufferPointer()[i] != expected->GetBufferPointer()[i];
    EXPECT_EQ(differ, 0u) << flag;
    EXPECT_EQ(back->GetOrigin(), expected->GetOrigin()) << flag;
  }
}

TEST(DicomArchive, AMissingSliceIsResampledOntoAnEvenGridInPhysicalSpace) {
  const auto dir = temp_dir("missing_slice");
  Series s;
  s.drop = {7, 12, 13}; // one gap of 4 mm, one of 6 mm
  write_dicom_series(dir, make_phantom(), s);
  // 20 slices again, 2 mm apart, each at its true position: HU linear in z, so the slices
  // made between neighbours equal the phantom exactly.
  expect_phantom(read_ct("S4", dir), 20, 2.0);
}

TEST(DicomArchive, GantryTiltIsRefusedWithTheSubjectAndTheMeasuredAngle) {
  const auto dir = temp_dir("tilt");
  Series s;
  // A 15° tilt: each slice 2 mm further along z lies 2·tan(15°) mm further along y.
  s.move = [](unsigned k, Short3::PointType& p) { p[1] += k * 2.0 * std::tan(15 * M_PI / 180); };
  write_dicom_series(dir, make_phantom(), s);
  const auto e = error_of([&] { read_ct("S5", dir); });
  EXPECT_TRUE(has(e, "subject S5: DICOM series 1.2.826.0.1.3680043.2.1125.9.1 'BODY 2.0' (20 "
                     "slices) in " +
                         dir.string() + ": gantry tilt of 15°"))
      << e;
}

TEST(DicomArchive, TwoSlicesAtOnePositionAreRefused) {
  const auto dir = temp_dir("duplicate");
  Series s;
  s.move = [](unsigned k, Short3::PointType& p) { p[2] -= k == 9 ? 2.0 : 0.0; };
  write_dicom_series(dir, make_phantom(), s);
  const auto e = error_of([&] { read_ct("S6", dir); });
  EXPECT_TRUE(has(e, "subject S6: DICOM series ")) << e;
  EXPECT_TRUE(has(e, "slices 9 and 10 lie at the same position (20 mm along the normal)")) << e;
}

/// The phantom as one multi-frame file of SOP class `sop_class`, as ITK's DICOM writer
/// makes a 3D image into one file.
void write_multiframe(const fs::path& file, const std::string& sop_class) {
  auto image = make_phantom();
  auto& dict = image->GetMetaDataDictionary();
  itk::EncapsulateMetaData<std::string>(dict, "0008|0060", "CT");
  itk::EncapsulateMetaData<std::string>(dict, "0008|0016", sop_class);
  itk::EncapsulateMetaData<std::string>(dict, "0020|000e", "1.2.826.0.1.3680043.2.1125.9.8");
  auto io = itk::GDCMImageIO::New();
  io->KeepOriginalUIDOn();
  auto writer = itk::ImageFileWriter<Short3>::New();
  writer->SetInput(image);
  writer->SetImageIO(io);
  writer->SetFileName(file.string());
  writer->Update();
}

TEST(DicomArchive, AMultiFrameFileIsRefusedNamingTheFileAndItsSopClass) {
  const auto dir = temp_dir("multiframe");
  const auto file = dir / "volume.dcm";
  // Multi-frame Grayscale Word Secondary Capture: what a 3D export without the CT modules is.
  // GDCM writes no 3D image of that class, so dcmtk relabels a multi-frame CT file.
  if (std::system("which dcmodify > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "dcmodify not installed (package dcmtk; scripts/setup.sh)";
  write_multiframe(file, vfp::data::kEnhancedCtSopClass);
  const auto cmd = "dcmodify -nb -m '(0008,0016)=1.2.840.10008.5.1.4.1.1.7.2' " + file.string() +
                   " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto e = error_of([&] { read_ct("S9", dir); });
  EXPECT_TRUE(has(e, "subject S9: DICOM folder " + dir.string() + " holds no usable series")) << e;
  EXPECT_TRUE(has(e, "a multi-frame image (file " + file.string() +
                         ", SOP class 1.2.840.10008.5.1.4.1.1.7.2, 20 frames in one file)"))
      << e;
}

TEST(DicomArchive, AnEnhancedCtFileIsRefusedNamingTheFileAndItsSopClass) {
  const auto dir = temp_dir("enhanced");
  const auto file = dir / "enhanced.dcm";
  write_multiframe(file, vfp::data::kEnhancedCtSopClass);
  const auto enhanced = error_of([&] { read_ct("S9", dir); });
  EXPECT_TRUE(has(enhanced, "an Enhanced CT image (file " + file.string() +
                                ", SOP class 1.2.840.10008.5.1.4.1.1.2.1, 20 frames in one "
                                "file): vfp reads a CT as a series of single-frame slices"))
      << enhanced;
}

TEST(DicomArchive, SliceStackMeasuresGapsAndTilt) {
  const std::array<double, 6> axial{1, 0, 0, 0, 1, 0};
  const auto even = vfp::data::slice_stack(axial, {{0, 0, 0}, {0, 0, 2}, {0, 0, 4}});
  EXPECT_FALSE(even.uneven);
  EXPECT_DOUBLE_EQ(even.median_gap, 2);
  EXPECT_EQ(vfp::data::slice_stack_problem(even, 0.5), "");
  const auto gap = vfp::data::slice_stack(axial, {{0, 0, 0}, {0, 0, 2}, {0, 0, 4}, {0, 0, 8}});
  EXPECT_TRUE(gap.uneven);
  EXPECT_EQ(vfp::data::slice_stack_problem(gap, 0.5), ""); // resampled, not refused
  const auto hole = vfp::data::slice_stack(axial, {{0, 0, 0}, {0, 0, 2}, {0, 0, 4}, {0, 0, 12}});
  EXPECT_EQ(vfp::data::slice_stack_problem(hole, 0.5),
            "a gap of 8 mm between slices, more than 3 × the usual 2 mm: slices are missing");
  const auto tilted = vfp::data::slice_stack(axial, {{0, 0, 0}, {0, 1, 1}, {0, 2, 2}});
  EXPECT_NEAR(tilted.tilt_degrees, 45, 1e-9);
  EXPECT_TRUE(has(vfp::data::slice_stack_problem(tilted, 0.5), "gantry tilt of 45°"));
}

TEST(DicomArchive, CohortTableColumnAndConfigKeyChooseTheSeriesRule) {
  const auto dir = temp_dir("table");
  std::ofstream(dir / "c.csv") << "subject_id,age,bmi,event,time_years,dicom_series\n"
                                  "S1,70,25,0,5,uid:1.2.3\nS2,71,26,1,2,\n";
  vfp::config::ExperimentConfig c;
  c.cohort.csv = dir / "c.csv";
  c.cohort.dicom_series = "desc:*BONE*";
  std::vector<vfp::data::Exclusion> excluded;
  const auto subjects = vfp::data::read_cohort(c, &excluded);
  ASSERT_EQ(subjects.size(), 2u);
  EXPECT_EQ(subjects[0].dicom_series, "uid:1.2.3");
  EXPECT_EQ(subjects[1].dicom_series, "desc:*BONE*"); // an empty cell: the key's rule
  std::ofstream(dir / "bad.csv") << "subject_id,age,bmi,event,time_years,dicom_series\n"
                                    "S1,70,25,0,5,biggest\n";
  const auto e = error_of([&] { vfp::data::read_cohort(dir / "bad.csv"); });
  EXPECT_EQ(e, (dir / "bad.csv").string() +
                   ":2: column 'dicom_series' of subject S1: 'biggest' is not a DICOM series "
                   "rule: expected largest, uid:<SeriesInstanceUID> or desc:<pattern> (* and ? "
                   "wildcards)");
  const auto key = error_of([] {
    const auto flat = vfp::config::flatten(
        vfp::config::load_yaml_text("cohort: {dicom_series: newest}", "k.yaml"), "k.yaml");
    vfp::config::parse_experiment(flat, "/tmp");
  });
  EXPECT_TRUE(has(key, "cohort.dicom_series")) << key;
  EXPECT_TRUE(has(key, "expected largest, uid:<SeriesInstanceUID> or desc:<pattern>")) << key;
}

// Needs preprocessing to pass Subject::dicom_series to read_ct and the cache key to hold it
// (lib/data/preprocess*.cpp, cache.cpp): remove DISABLED_ once they do.
TEST(DicomArchive, EachSubjectsRuleReachesTheReaderAndTheCacheKey) {
  const auto dir = temp_dir("rules");
  fs::create_directories(dir / "images");
  fs::create_symlink(export_folder(), dir / "images" / "S1");
  fs::create_symlink(export_folder(), dir / "images" / "S2");
  std::ofstream(dir / "c.csv") << "subject_id,age,bmi,event,time_years,dicom_series\n"
                                  "S1,70,25,0,5,uid:9.9.9\nS2,71,26,1,2,\n";
  std::ofstream(dir / "centroids.csv") << "SubjectID;Vertebra;X;Y;Z\nS1;L1;3;-2;20\n"
                                          "S1;L2;3;-2;28\nS2;L1;3;-2;20\nS2;L2;3;-2;28\n";
  vfp::config::ExperimentConfig c;
  c.cohort.csv = dir / "c.csv";
  c.cohort.images = (dir / "images" / "{id}").string();
  c.cohort.centroids = (dir / "centroids.csv").string();
  c.cohort.centroid_format = "csv";
  c.cohort.on_bad_subject = "exclude";
  c.cohort.dicom_series = "desc:*LUNG*";
  std::vector<vfp::data::Exclusion> rows;
  const auto subjects = vfp::data::read_cohort(c, &rows);
  const auto patches = vfp::data::preprocess_cohort(subjects, c, 1, /*allow_empty=*/true);
  ASSERT_EQ(patches.excluded.size(), 2u);
  EXPECT_TRUE(has(patches.excluded[0].reason, "no usable series for rule 'uid:9.9.9'"))
      << patches.excluded[0].reason;
  EXPECT_TRUE(has(patches.excluded[1].reason, "no usable series for rule 'desc:*LUNG*'"))
      << patches.excluded[1].reason;
  auto other = subjects;
  other[0].dicom_series = "largest";
  EXPECT_NE(vfp::data::cache_key(c, subjects), vfp::data::cache_key(c, other));
}
