// Ingest through real ITK I/O: every image format, a DICOM series with rescale tags,
// centroid tables in LPS and RAS, label maps, cohort exclusions, patch shapes.
#include "data/data.h"
#include "data/image_io.h" // the module's own test may see its internals

#include "../support/ct_series.h"

#include <gtest/gtest.h>
#include <itkImageFileWriter.h>
#include <itkImageRegionIteratorWithIndex.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;
using vfp::testing_support::Short3;

namespace {

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vfp_ingest_test_" + std::to_string(::getpid())) / name;
  fs::create_directories(d);
  return d;
}

/// HU at a physical point: a 700 HU box around (10, -5, 20) with a 300 HU left half.
short phantom_hu(const Short3::PointType& p) {
  const double dx = p[0] - 10, dy = p[1] + 5, dz = p[2] - 20;
  if (std::abs(dx) < 8 && std::abs(dy) < 6 && std::abs(dz) < 10)
    return dx < 0 ? 300 : 700;
  return 30;
}

/// A 24×22×20 phantom with the given direction, covering the same physical box.
Short3::Pointer make_phantom(const Short3::DirectionType& direction) {
  return vfp::testing_support::box_phantom({{24, 22, 20}}, {1.5, 1.5, 2.0}, direction,
                                           {-6.0, -20.0, 2.0}, phantom_hu);
}

void write(const Short3* image, const fs::path& path) {
  vfp::data::register_image_formats();
  auto writer = itk::ImageFileWriter<Short3>::New();
  writer->SetFileName(path.string());
  writer->SetInput(image);
  writer->Update();
}

Short3::DirectionType rotated() {
  // Axes permuted and flipped: voxel x runs anterior, y runs right, z runs superior.
  Short3::DirectionType d;
  d.Fill(0);
  d[1][0] = -1;
  d[0][1] = -1;
  d[2][2] = 1;
  return d;
}

vfp::config::PreprocessConfig params() {
  vfp::config::PreprocessConfig p;
  p.patch_mm = 21;
  p.slab_mm = 5;
  p.vertebrae = {"L1"};
  return p;
}

/// A world-coordinate CSV naming L1 at (10, -5, 20) LPS, in the given space and decimal style.
fs::path centroid_csv(const fs::path& dir, bool ras) {
  auto path = dir / (ras ? "ras.csv" : "lps.csv");
  std::ofstream(path) << "SubjectID;Vertebra;X;Y;Z\n"
                      << "S1;L1;" << (ras ? "-10,0;5,0;20,0" : "10,0;-5,0;20,0") << "\n"
                      << "S1;21;1,5;2,5;3,5\n";
  return path;
}

} // namespace

TEST(ImageFormats, EveryFormatRoundTripsValuesAndGeometry) {
  auto dir = temp_dir("formats");
  const auto original = make_phantom(rotated());
  for (const char* ext : {".nii", ".nii.gz", ".mha", ".mhd", ".nrrd"}) {
    const auto path = dir / (std::string("ct") + ext);
    write(original.GetPointer(), path);
    const auto back = vfp::data::read_ct("S1", path);
    for (int a = 0; a < 3; ++a) {
      EXPECT_NEAR(back->GetSpacing()[a], original->GetSpacing()[a], 1e-5) << ext;
      EXPECT_NEAR(back->GetOrigin()[a], original->GetOrigin()[a], 1e-4) << ext;
      for (int b = 0; b < 3; ++b)
        EXPECT_NEAR(back->GetDirection()[a][b], original->GetDirection()[a][b], 1e-5) << ext;
    }
    Short3::IndexType idx;
    idx[0] = 7;
    idx[1] = 11;
    idx[2] = 13;
    EXPECT_FLOAT_EQ(back->GetPixel(idx), original->GetPixel(idx)) << ext;
    EXPECT_EQ(vfp::data::axis_codes(back.GetPointer()), (std::array<char, 3>{'A', 'R', 'S'}))
        << ext;
  }
}

TEST(ImageFormats, DicomSeriesHonoursRescaleInterceptAndSlope) {
  auto dir = temp_dir("dicom");
  Short3::DirectionType identity;
  identity.SetIdentity();
  const auto hu = make_phantom(identity);
  // ITK's DICOM writer takes real-world values and stores (HU + 1024) / 2 when the slices
  // carry slope 2 and intercept -1024; reading back must undo it.
  vfp::testing_support::DicomSeries series;
  series.prefix = "slice";
  series.first_number = 1;
  series.study_uid = "1.2.826.0.1.3680043.2.1125.1.1";
  series.uid = "1.2.826.0.1.3680043.2.1125.1.2";
  series.more_tags = {{"0028|1052", "-1024"}, {"0028|1053", "2"}};
  vfp::testing_support::write_dicom_series(dir, hu, series);
  const auto size = hu->GetLargestPossibleRegion().GetSize();

  // On disk the pixels really are the stored values (gdcmraw dumps them as they are).
  const auto raw = dir.parent_path() / "slice010.raw";
  ASSERT_EQ(std::system(
                ("gdcmraw -i " + (dir / "slice010.dcm").string() + " -o " + raw.string()).c_str()),
            0);
  std::ifstream raw_in(raw, std::ios::binary);
  std::vector<short> slice(size[0] * size[1]);
  raw_in.read(reinterpret_cast<char*>(slice.data()), std::streamsize(slice.size() * sizeof(short)));
  Short3::IndexType at{{12, 10, 9}}; // slice010.dcm holds z index 9
  EXPECT_EQ(slice[10 * size[0] + 12], (hu->GetPixel(at) + 1024) / 2);

  const auto back = vfp::data::read_ct("S1", dir);
  ASSERT_EQ(back->GetLargestPossibleRegion().GetSize()[2], size[2]);
  EXPECT_NEAR(back->GetSpacing()[2], 2.0, 1e-4);
  Short3::IndexType idx{{12, 10, 9}};
  EXPECT_FLOAT_EQ(back->GetPixel(idx), hu->GetPixel(idx)); // all phantom HU are even
  idx[0] = 2;
  EXPECT_FLOAT_EQ(back->GetPixel(idx), hu->GetPixel(idx));
  for (int a = 0; a < 3; ++a)
    EXPECT_NEAR(back->GetOrigin()[a], hu->GetOrigin()[a], 1e-3);
}

TEST(ImageFormats, FolderWithoutDicomIsNamed) {
  auto dir = temp_dir("empty_dicom");
  try {
    vfp::data::read_ct("S3", dir);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "subject S3: no DICOM series in folder " + dir.string());
  }
}

TEST(CentroidTable, LpsAndRasTablesWithDecimalCommasGiveTheSamePatchAsVerse) {
  auto dir = temp_dir("csv");
  const auto image = make_phantom(rotated());
  write(image.GetPointer(), dir / "ct.nii.gz");
  const auto lps = vfp::data::read_centroid_csv(centroid_csv(dir, false), "lps");
  const auto ras = vfp::data::read_centroid_csv(centroid_csv(dir, true), "ras");
  ASSERT_EQ(lps.at("S1").size(), 2u);
  EXPECT_EQ(lps.at("S1")[0].label, 20);
  EXPECT_EQ(lps.at("S1")[1].label, 21);
  EXPECT_DOUBLE_EQ(lps.at("S1")[1].lps[0], 1.5);
  EXPECT_EQ(lps.at("S1")[0].lps, ras.at("S1")[0].lps);

  vfp::data::CentroidSource table_source;
  table_source.format = "csv";
  table_source.table = &ras;
  vfp::data::PatchSet from_table, from_verse;
  vfp::data::preprocess_subject("S1", dir / "ct.nii.gz", table_source, params(), from_table);
  // The same point as VerSe voxel indices of the stored grid.
  Short3::PointType p;
  p[0] = 10;
  p[1] = -5;
  p[2] = 20;
  itk::ContinuousIndex<double, 3> idx;
  image->TransformPhysicalPointToContinuousIndex(p, idx);
  std::ofstream(dir / "c.json") << "[{\"label\": 20, \"X\": " << idx[0] << ", \"Y\": " << idx[1]
                                << ", \"Z\": " << idx[2] << "}]";
  vfp::data::preprocess_subject("S1", dir / "ct.nii.gz", dir / "c.json", params(), from_verse);
  ASSERT_EQ(from_table.pixels.size(), from_verse.pixels.size());
  for (size_t i = 0; i < from_table.pixels.size(); ++i)
    ASSERT_NEAR(from_table.pixels[i], from_verse.pixels[i], 1e-5);
}

TEST(CentroidTable, BadNumberNamesFileLineAndSubject) {
  auto dir = temp_dir("badcsv");
  std::ofstream(dir / "bad.csv") << "SubjectID;Vertebra;X;Y;Z\nS9;L1;1,0;abc;3\n";
  try {
    vfp::data::read_centroid_csv(dir / "bad.csv", "lps");
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "bad.csv").string() +
                  ":2: column 'Y' of subject S9: expected a number, got 'abc'");
  }
}

TEST(LabelMap, CentroidsAreLabelCentresInPhysicalSpace) {
  auto dir = temp_dir("labels");
  auto labels = make_phantom(rotated());
  itk::ImageRegionIteratorWithIndex<Short3> it(labels, labels->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
    it.Set(it.Get() == 30 ? 0 : 20); // the box becomes label 20 (L1)
  write(labels.GetPointer(), dir / "seg.nii.gz");
  const auto c = vfp::data::label_map_centroids("S1", dir / "seg.nii.gz");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].label, 20);
  // The box spans voxel centres symmetric about (10, -5, 20) to within half a voxel.
  EXPECT_NEAR(c[0].lps[0], 10.0, 0.75);
  EXPECT_NEAR(c[0].lps[1], -5.0, 0.75);
  EXPECT_NEAR(c[0].lps[2], 20.0, 1.0);
}

TEST(PatchShapes, ChannelsThreeDAndVoxelCountFollowTheParameters) {
  auto dir = temp_dir("shapes");
  write(make_phantom(rotated()).GetPointer(), dir / "ct.nii.gz");
  const auto table = vfp::data::read_centroid_csv(centroid_csv(dir, false), "lps");
  vfp::data::CentroidSource source;
  source.format = "csv";
  source.table = &table;
  auto p = params();
  p.channels = {"sagittal", "coronal", "axial"};
  p.patch_voxels = 14; // 21 mm in 14 voxels: 1.5 mm spacing
  vfp::data::PatchSet multi;
  vfp::data::preprocess_subject("S1", dir / "ct.nii.gz", source, p, multi);
  EXPECT_EQ(multi.channels, 3);
  EXPECT_EQ(multi.height, 14);
  EXPECT_EQ(multi.pixels.size(), 3u * 14 * 14);
  p.output = "3d";
  vfp::data::PatchSet cube;
  vfp::data::preprocess_subject("S1", dir / "ct.nii.gz", source, p, cube);
  EXPECT_EQ(cube.depth, 14);
  EXPECT_EQ(cube.channels, 1);
  EXPECT_EQ(cube.pixels.size(), 14u * 14 * 14);
  // The cube's centre voxel sits in the 700 HU half: (700 + 100) / 1100.
  EXPECT_NEAR(cube.pixels[(7 * 14 + 7) * 14 + 7], 800.0 / 1100.0, 1e-4);
}

TEST(CohortExclusion, BadRowsAreExcludedWithReasonsWhenAsked) {
  auto dir = temp_dir("exclude");
  std::ofstream(dir / "c.csv") << "subject_id,age,bmi,event,time_years\nS1,70,25,0,10\n"
                                  "S2,old,25,0,10\nS3,70,25,7,10\nS4,71,26,1,2\n";
  std::vector<vfp::data::Exclusion> excluded;
  const auto subjects = vfp::data::read_cohort(dir / "c.csv", &excluded);
  ASSERT_EQ(subjects.size(), 2u);
  EXPECT_EQ(subjects[1].id, "S4");
  ASSERT_EQ(excluded.size(), 2u);
  EXPECT_EQ(excluded[0].subject, "S2");
  EXPECT_NE(excluded[0].reason.find("column 'age' of subject S2"), std::string::npos);
  EXPECT_EQ(excluded[1].subject, "S3");
  EXPECT_THROW(vfp::data::read_cohort(dir / "c.csv"), vfp::InputError); // strict by default
}
