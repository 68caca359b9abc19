// Preprocessing through real ITK I/O on tiny phantoms built here.
#include "data/data.h"

#include "../support/ct_series.h"

#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>

#include <cmath>
#include <fstream>

namespace fs = std::filesystem;
using Image = itk::Image<short, 3>;

namespace {

fs::path temp_dir() {
  auto dir = fs::temp_directory_path() / ("vfp_preprocess_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

/// HU of the phantom at a physical LPS point: a 600 HU box (x < 0 half at 200 HU) around
/// (10, -5, 20) in soft tissue (40 HU) — asymmetric so flips would show.
short phantom_hu(const Image::PointType& p) {
  const double dx = p[0] - 10, dy = p[1] + 5, dz = p[2] - 20;
  if (std::abs(dx) < 8 && std::abs(dy) < 6 && std::abs(dz) < 10)
    return dx < 0 ? 200 : 600;
  return 40;
}

/// Writes the phantom with the given direction (LPS cosines) and returns the image.
Image::Pointer write_phantom(const fs::path& path, const Image::DirectionType& direction) {
  vfp::data::register_image_formats();
  const auto image = vfp::testing_support::box_phantom({{30, 28, 24}}, {1.5, 1.5, 2.0}, direction,
                                                       {-12.0, -26.0, -4.0}, phantom_hu);
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(path.string());
  writer->SetInput(image);
  writer->SetUseCompression(true);
  writer->Update();
  return image;
}

/// Centroid JSON of physical point (10, -5, 20) in the image's voxel frame.
void write_centroid(const fs::path& path, const Image* image, const std::string& codes) {
  Image::PointType p;
  p[0] = 10;
  p[1] = -5;
  p[2] = 20;
  itk::ContinuousIndex<double, 3> idx;
  image->TransformPhysicalPointToContinuousIndex(p, idx);
  std::ofstream(path) << "[{\"direction\": [\"" << codes[0] << "\",\"" << codes[1] << "\",\""
                      << codes[2] << "\"]}, {\"label\": 20, \"X\": " << idx[0]
                      << ", \"Y\": " << idx[1] << ", \"Z\": " << idx[2] << "}]";
}

vfp::config::PreprocessConfig small_params() {
  vfp::config::PreprocessConfig p;
  p.patch_mm = 21;
  p.slab_mm = 5;
  p.vertebrae = {"L1"};
  return p;
}

} // namespace

TEST(Projection, AverageOfCentralSlabMatchesHandValues) {
  // 3³ cube, HU = 100·x along L-R: the sagittal AIP over the central slice is x = 1 → 100 HU.
  std::vector<float> cube(27);
  for (int z = 0; z < 3; ++z)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 3; ++x)
        cube[(z * 3 + y) * 3 + x] = 100.0F * x + (z == 2 ? 1000.0F : 0.0F);
  vfp::config::PreprocessConfig p;
  p.hu_min = 0;
  p.hu_max = 1000;
  p.spacing_mm = 1;
  p.slab_mm = 1;
  vfp::data::window_cube(cube, p);
  auto out = vfp::data::project_cube(cube, 3, p.axis, p);
  ASSERT_EQ(out.size(), 9u);
  EXPECT_FLOAT_EQ(out[2 * 3 + 0], 0.1F); // bottom row = inferior (z = 0)
  EXPECT_FLOAT_EQ(out[0 * 3 + 0], 1.0F); // top row = superior (z = 2), clipped at hu_max
  p.slab_mm = 3;
  out = vfp::data::project_cube(cube, 3, p.axis, p);
  EXPECT_FLOAT_EQ(out[2 * 3 + 1], (0.0F + 0.1F + 0.2F) / 3);
  p.projection = "mip";
  out = vfp::data::project_cube(cube, 3, p.axis, p);
  EXPECT_FLOAT_EQ(out[2 * 3 + 1], 0.2F);
  p.projection = "aip";
  p.axis = "axial"; // along z: mean of 0, 0, 1000+ → (0.1·x·2 + 1)/3 at column x
  out = vfp::data::project_cube(cube, 3, p.axis, p);
  EXPECT_FLOAT_EQ(out[0 * 3 + 1], (0.1F + 0.1F + 1.0F) / 3);
}

TEST(Projection, SlabStartPicksTheStudysSlices10To39) {
  // A 47-voxel cube whose sagittal slice x holds the value x / 100 (HU window 0..1 after
  // scaling): the study's AIP over slices 10–39 is (10 + … + 39) / 30 / 100 = 0.245.
  const int n = 47;
  std::vector<float> cube(size_t(n) * n * n);
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        cube[(size_t(z) * n + y) * n + x] = float(x) / 100.0F;
  vfp::config::PreprocessConfig p;
  p.spacing_mm = 1;
  p.patch_mm = 47;
  p.slab_mm = 30;
  p.slab_start = 10;
  EXPECT_NEAR(vfp::data::project_cube(cube, n, "sagittal", p)[500], 0.245F, 1e-6);
  p.slab_start = -1; // centred: slices 8–37
  EXPECT_NEAR(vfp::data::project_cube(cube, n, "sagittal", p)[500], 0.225F, 1e-6);
  p.slab_start = 20; // 20 + 30 > 47
  try {
    vfp::data::project_cube(cube, n, "sagittal", p);
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("preprocess.slab_start"), std::string::npos) << e.what();
  }
}

TEST(Preprocess, SamePhantomInLpsAndRasGivesTheSamePatch) {
  auto dir = temp_dir();
  Image::DirectionType lps, ras;
  lps.SetIdentity();
  ras.SetIdentity();
  ras[0][0] = -1;
  ras[1][1] = -1;
  auto a = write_phantom(dir / "lps.nii.gz", lps);
  auto b = write_phantom(dir / "ras.nii.gz", ras);
  write_centroid(dir / "lps.json", a.GetPointer(), "LPS");
  write_centroid(dir / "ras.json", b.GetPointer(), "RAS");
  vfp::data::PatchSet pa, pb;
  vfp::data::preprocess_subject("A", dir / "lps.nii.gz", dir / "lps.json", small_params(), pa);
  vfp::data::preprocess_subject("B", dir / "ras.nii.gz", dir / "ras.json", small_params(), pb);
  ASSERT_EQ(pa.size(), 1u);
  ASSERT_EQ(pa.pixels.size(), pb.pixels.size());
  for (size_t i = 0; i < pa.pixels.size(); ++i)
    ASSERT_NEAR(pa.pixels[i], pb.pixels[i], 1e-5) << "pixel " << i;
  // Sagittal AIP over the 5 mm slab at x = 8..12 mm, by hand: scan voxels sit at x = 7.5, 9,
  // 10.5, 12 (200 HU left of x = 10, 600 HU right), so linear interpolation gives 200, 200,
  // 466.67, 600, 600 HU → mean 413.33 HU → (413.33 + 100) / 1100 after the [-100, 1000]
  // window. Soft tissue (40 HU) in the corner → 140 / 1100.
  const int n = pa.height;
  EXPECT_NEAR(pa.pixels[(n / 2) * n + n / 2], (1240.0 / 3 + 100) / 1100.0, 1e-4);
  EXPECT_NEAR(pa.pixels[0], 140.0 / 1100.0, 1e-4);
  // Each patch records its cube's geometry: a 21-voxel cube at 1 mm centred on the centroid
  // (10, -5, 20) LPS starts 10 mm before it on every axis, in either orientation.
  const std::vector<double> origin{0, -15, 10}, spacing{1, 1, 1};
  for (const auto* p : {&pa, &pb}) {
    ASSERT_EQ(p->origin.size(), 3u);
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(p->origin[size_t(k)], origin[size_t(k)], 1e-3) << "axis " << k; // JSON: 6 digits
      EXPECT_EQ(p->spacing[size_t(k)], spacing[size_t(k)]) << "axis " << k;
    }
  }
}

TEST(Preprocess, CentroidInAnotherAxisFrameIsConverted) {
  auto dir = temp_dir();
  Image::DirectionType lps;
  lps.SetIdentity();
  auto a = write_phantom(dir / "frame.nii.gz", lps);
  write_centroid(dir / "frame_lps.json", a.GetPointer(), "LPS");
  // The same point given in an R,A,I voxel frame of the same grid.
  Image::PointType p;
  p[0] = 10;
  p[1] = -5;
  p[2] = 20;
  itk::ContinuousIndex<double, 3> idx;
  a->TransformPhysicalPointToContinuousIndex(p, idx);
  const auto size = a->GetLargestPossibleRegion().GetSize();
  std::ofstream(dir / "frame_rai.json")
      << "[{\"direction\": [\"R\",\"A\",\"I\"]}, {\"label\": 20, \"X\": " << size[0] - 1 - idx[0]
      << ", \"Y\": " << size[1] - 1 - idx[1] << ", \"Z\": " << size[2] - 1 - idx[2] << "}]";
  vfp::data::PatchSet x, y;
  vfp::data::preprocess_subject("A", dir / "frame.nii.gz", dir / "frame_lps.json", small_params(),
                                x);
  vfp::data::preprocess_subject("A", dir / "frame.nii.gz", dir / "frame_rai.json", small_params(),
                                y);
  for (size_t i = 0; i < x.pixels.size(); ++i)
    ASSERT_NEAR(x.pixels[i], y.pixels[i], 1e-5);
}

TEST(Preprocess, MissingImageNamesSubjectAndPath) {
  auto dir = temp_dir();
  std::ofstream(dir / "c.json") << "[{\"label\": 20, \"X\": 1, \"Y\": 1, \"Z\": 1}]";
  vfp::data::PatchSet out;
  try {
    vfp::data::preprocess_subject("S0042", dir / "none.nii.gz", dir / "c.json", small_params(),
                                  out);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "subject S0042: image not found: " + (dir / "none.nii.gz").string());
  }
}

TEST(Preprocess, MissingVertebraNamesSubjectAndLabel) {
  auto dir = temp_dir();
  Image::DirectionType lps;
  lps.SetIdentity();
  write_phantom(dir / "mv.nii.gz", lps);
  std::ofstream(dir / "mv.json") << "[{\"label\": 21, \"X\": 1, \"Y\": 1, \"Z\": 1}]";
  vfp::data::PatchSet out;
  try {
    vfp::data::preprocess_subject("S7", dir / "mv.nii.gz", dir / "mv.json", small_params(), out);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "subject S7: no centroid for L1 (label 20) in " + (dir / "mv.json").string());
  }
}

TEST(Preprocess, UnreadableImageNamesSubject) {
  auto dir = temp_dir();
  std::ofstream(dir / "broken.nii.gz") << "not an image";
  std::ofstream(dir / "b.json") << "[{\"label\": 20, \"X\": 1, \"Y\": 1, \"Z\": 1}]";
  vfp::data::PatchSet out;
  try {
    vfp::data::preprocess_subject("S9", dir / "broken.nii.gz", dir / "b.json", small_params(), out);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(
                  "subject S9: cannot read image " + (dir / "broken.nii.gz").string(), 0),
              0u)
        << e.what();
  }
}
