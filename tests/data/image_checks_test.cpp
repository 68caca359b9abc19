// Image sanity before any use (issue 23): vfp's own reading of NIfTI headers and of where the
// voxels of MetaImage and NRRD files lie, and read_ct / read_label_map refusing what ITK would
// read wrong (a file cut short, a NaN sform, NaN voxels, a 4D image).
#include "data/data.h"
#include "data/image_checks.h" // the module's own test may see its internals
#include "data/image_io.h"

#include <gtest/gtest.h>
#include <itkImageFileWriter.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sys/stat.h>

namespace fs = std::filesystem;
using vfp::data::NiftiHeader;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vfp_image_checks_" + std::to_string(::getpid())) / name;
  fs::create_directories(d);
  return d;
}

template <typename T> void put(std::string& bytes, std::size_t at, T v, bool big_endian = false) {
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof v);
  if (big_endian)
    std::reverse(raw, raw + sizeof raw);
  std::memcpy(bytes.data() + at, raw, sizeof raw);
}

/// A NIfTI-1 header of a 4 × 5 × 6 int16 image, 0.5 × 0.5 × 2 mm, sform set; voxels from 352.
std::string nifti1(bool big_endian = false) {
  std::string h(352, '\0');
  put<std::int32_t>(h, 0, 348, big_endian);
  const std::int16_t dim[8] = {3, 4, 5, 6, 1, 1, 1, 1};
  const float pixdim[8] = {1, 0.5F, 0.5F, 2, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) {
    put(h, 40 + 2 * i, dim[i], big_endian);
    put(h, 76 + 4 * i, pixdim[i], big_endian);
  }
  put<std::int16_t>(h, 70, 4, big_endian); // int16
  put<std::int16_t>(h, 72, 16, big_endian);
  put<float>(h, 108, 352, big_endian);
  put<std::int16_t>(h, 254, 1, big_endian); // sform_code
  const float srow[12] = {-0.5F, 0, 0, 10, 0, -0.5F, 0, 20, 0, 0, 2, 30};
  for (int i = 0; i < 12; ++i)
    put(h, 280 + 4 * i, srow[i], big_endian);
  std::memcpy(h.data() + 344, "n+1\0", 4);
  return h;
}

std::string problem_with(const std::function<void(NiftiHeader&)>& change) {
  auto h = *vfp::data::parse_nifti_header(nifti1());
  change(h);
  return vfp::data::nifti_header_problem(h);
}

std::string message_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

template <unsigned D> typename itk::Image<float, D>::Pointer float_image(unsigned n) {
  using Image = itk::Image<float, D>;
  auto image = Image::New();
  typename Image::SizeType size;
  size.Fill(n);
  image->SetRegions(typename Image::RegionType(size));
  image->Allocate();
  image->FillBuffer(40.0F);
  return image;
}

template <typename Image> void write(const Image* image, const fs::path& path) {
  vfp::data::register_image_formats();
  auto writer = itk::ImageFileWriter<Image>::New();
  writer->SetFileName(path.string());
  writer->SetInput(image);
  writer->Update();
}

} // namespace

TEST(NiftiHeader, ReadsDimsSpacingAndSformInEitherByteOrder) {
  for (const bool big : {false, true}) {
    const auto h = vfp::data::parse_nifti_header(nifti1(big));
    ASSERT_TRUE(h.has_value()) << big;
    EXPECT_EQ(h->version, 1);
    EXPECT_FALSE(h->pair);
    EXPECT_EQ(h->dim[0], 3);
    EXPECT_EQ(h->dim[3], 6);
    EXPECT_DOUBLE_EQ(h->pixdim[3], 2.0);
    EXPECT_EQ(h->sform_code, 1);
    EXPECT_DOUBLE_EQ(h->srow[1][3], 20.0);
    EXPECT_EQ(*vfp::data::nifti_bytes_needed(*h), 352U + 4 * 5 * 6 * 2);
  }
}

TEST(NiftiHeader, ReadsANifti2Header) {
  std::string h(544, '\0');
  put<std::int32_t>(h, 0, 540);
  std::memcpy(h.data() + 4, "n+2\0\r\n\032\n", 8);
  put<std::int16_t>(h, 12, 16); // float32
  const std::int64_t dim[8] = {3, 7, 8, 9, 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) {
    put(h, 16 + 8 * i, dim[i]);
    put(h, 104 + 8 * i, i == 2 ? kNan : 1.0);
  }
  put<std::int64_t>(h, 168, 544);
  const auto parsed = vfp::data::parse_nifti_header(h);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->version, 2);
  EXPECT_EQ(parsed->dim[2], 8);
  EXPECT_EQ(*vfp::data::nifti_bytes_needed(*parsed), 544U + 7 * 8 * 9 * 4);
  EXPECT_EQ(vfp::data::nifti_header_problem(*parsed),
            "pixdim[2] = nan: a voxel spacing must be finite and positive");
}

TEST(NiftiHeader, IsNoneForAnotherFormatOrTooFewBytes) {
  EXPECT_FALSE(vfp::data::parse_nifti_header("ObjectType = Image\nNDims = 3\n").has_value());
  EXPECT_FALSE(vfp::data::parse_nifti_header(nifti1().substr(0, 300)).has_value());
}

TEST(NiftiHeaderProblem, NoneForAGoodHeader) {
  EXPECT_EQ(problem_with([](NiftiHeader&) {}), "");
}

TEST(NiftiHeaderProblem, RefusesANanZeroOrNegativePixdim) {
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.pixdim[1] = kNan; }),
            "pixdim[1] = nan: a voxel spacing must be finite and positive");
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.pixdim[2] = 0; }),
            "pixdim[2] = 0: a voxel spacing must be finite and positive");
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.pixdim[3] = -2; }),
            "pixdim[3] = -2: a voxel spacing must be finite and positive");
}

TEST(NiftiHeaderProblem, RefusesANanOrSingularSformOnlyWhenTheSformIsUsed) {
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.srow[0][3] = kNan; }),
            "the sform (srow_x, srow_y, srow_z) holds a non-finite value");
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.srow[1] = h.srow[0]; }),
            "the sform's 3×3 matrix is singular (two voxel axes point the same way)");
  // sform_code 0: the srows mean nothing, whatever they hold.
  EXPECT_EQ(problem_with([](NiftiHeader& h) {
              h.sform_code = 0;
              h.srow[0][0] = kNan;
            }),
            "");
}

TEST(NiftiHeaderProblem, RefusesANanQformOnlyWhenTheQformIsUsed) {
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.quatern[4] = kNan; }), "");
  EXPECT_EQ(problem_with([](NiftiHeader& h) {
              h.qform_code = 1;
              h.quatern[4] = kNan;
            }),
            "the qform (quatern_b, _c, _d, qoffset_x, _y, _z) holds a non-finite value");
}

TEST(NiftiHeaderProblem, Refuses2DAnd4DImagesButNotATrailingAxisOfOneVoxel) {
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.dim[0] = 2; }),
            "a 2D image (4 × 5 voxels); a CT volume has 3 dimensions");
  EXPECT_EQ(problem_with([](NiftiHeader& h) {
              h.dim[0] = 4;
              h.dim[4] = 3;
            }),
            "a 4D image (4 × 5 × 6 × 3 voxels); give one 3D volume");
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.dim[0] = 4; }), ""); // dim[4] = 1: one volume
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.dim[3] = 1; }),
            "one voxel along axis 3 (4 × 5 × 1 voxels): a 2D image, not a CT volume");
  EXPECT_EQ(problem_with([](NiftiHeader& h) { h.dim[0] = 9; }),
            "dim[0] = 9 is not a number of dimensions (1 to 7)");
}

TEST(NiftiBytesNeeded, CountsFromVoxOffsetButNeverInsideTheHeader) {
  auto h = *vfp::data::parse_nifti_header(nifti1());
  h.vox_offset = 0; // a single file's voxels follow its header whatever vox_offset says
  EXPECT_EQ(*vfp::data::nifti_bytes_needed(h), 348U + 240);
  h.dim[3] = 30000; // a claim far beyond any file: the count must not wrap
  h.dim[1] = h.dim[2] = 30000;
  EXPECT_EQ(*vfp::data::nifti_bytes_needed(h), 348U + 30000ULL * 30000 * 30000 * 2);
  h.datatype = 9999;
  EXPECT_FALSE(vfp::data::nifti_bytes_needed(h).has_value());
}

TEST(RawLayout, MetaImageLocalVoxelsFollowTheElementDataFileLine) {
  const std::string head = "ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\n"
                           "ElementType = MET_SHORT\nElementDataFile = LOCAL\nxxxxxxxx";
  const auto layout = vfp::data::raw_layout("/d/ct.mha", head);
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->data_file, fs::path("/d/ct.mha"));
  EXPECT_EQ(layout->offset, head.find("xxxx"));
}

TEST(RawLayout, MetaImageHeaderNamesItsRawFileBesideIt) {
  const auto layout =
      vfp::data::raw_layout("/d/ct.mhd", "NDims = 3\nHeaderSize = 16\nElementDataFile = ct.raw\n");
  ASSERT_TRUE(layout.has_value());
  EXPECT_EQ(layout->data_file, fs::path("/d/ct.raw"));
  EXPECT_EQ(layout->offset, 16U);
}

TEST(RawLayout, NoneForCompressedOrSlicedData) {
  EXPECT_FALSE(
      vfp::data::raw_layout("/d/ct.mha", "CompressedData = True\nElementDataFile = LOCAL\n")
          .has_value());
  EXPECT_FALSE(
      vfp::data::raw_layout("/d/ct.mhd", "ElementDataFile = slice%03d.raw 1 10 1\n").has_value());
  EXPECT_FALSE(vfp::data::raw_layout("/d/ct.nrrd", "NRRD0004\nencoding: gzip\n\n").has_value());
}

TEST(RawLayout, NrrdAttachedVoxelsFollowTheBlankLineDetachedOnesTheirFile) {
  const std::string head = "NRRD0004\n# a comment\ntype: short\nencoding: raw\n\nxxxx";
  const auto attached = vfp::data::raw_layout("/d/ct.nrrd", head);
  ASSERT_TRUE(attached.has_value());
  EXPECT_EQ(attached->offset, head.find("xxxx"));
  const auto detached =
      vfp::data::raw_layout("/d/ct.nhdr", "NRRD0004\nencoding: raw\ndata file: ct.raw\n\n");
  ASSERT_TRUE(detached.has_value());
  EXPECT_EQ(detached->data_file, fs::path("/d/ct.raw"));
  EXPECT_EQ(detached->offset, 0U);
}

TEST(ReadCt, RefusesAnMhdWhoseRawFileIsCutShortNamingTheRawFile) {
  const auto dir = temp_dir("mhd");
  write(float_image<3>(6).GetPointer(), dir / "ct.mhd");
  fs::resize_file(dir / "ct.raw", 100);
  EXPECT_EQ(message_of([&] { vfp::data::read_ct("S1", dir / "ct.mhd"); }),
            "subject S1: image " + (dir / "ct.mhd").string() + ": its data file " +
                (dir / "ct.raw").string() +
                " holds 100 bytes, but the header claims 6 × 6 × 6 voxels of 4 bytes from byte 0: "
                "864 bytes (cut short?)");
}

TEST(ReadCt, RefusesAnUncompressedNiftiCutShort) {
  const auto dir = temp_dir("nii");
  write(float_image<3>(6).GetPointer(), dir / "ct.nii");
  fs::resize_file(dir / "ct.nii", 352 + 400);
  const auto message = message_of([&] { vfp::data::read_ct("S1", dir / "ct.nii"); });
  EXPECT_NE(message.find("subject S1: image " + (dir / "ct.nii").string() +
                         ": the file holds 752 bytes, but the header claims 6 × 6 × 6 voxels of 4 "
                         "bytes from byte 352: 1216 bytes (cut short?)"),
            std::string::npos)
      << message;
}

TEST(ReadCt, CountsNonFiniteVoxels) {
  const auto dir = temp_dir("nan");
  auto image = float_image<3>(4);
  image->GetBufferPointer()[0] = std::numeric_limits<float>::quiet_NaN();
  image->GetBufferPointer()[5] = std::numeric_limits<float>::infinity();
  image->GetBufferPointer()[9] = -std::numeric_limits<float>::infinity();
  write(image.GetPointer(), dir / "ct.nrrd");
  EXPECT_EQ(message_of([&] { vfp::data::read_ct("S1", dir / "ct.nrrd"); }),
            "subject S1: image " + (dir / "ct.nrrd").string() +
                " has 3 non-finite voxels (NaN or ±Inf) of 64");
}

TEST(ReadCt, CountsNonFiniteVoxelsOfAFloatNiftiThatItsReaderWouldMakeZero) {
  const auto dir = temp_dir("nan_nifti");
  auto image = float_image<3>(4);
  image->GetBufferPointer()[3] = std::numeric_limits<float>::quiet_NaN();
  image->GetBufferPointer()[63] = -std::numeric_limits<float>::infinity();
  for (const char* name : {"ct.nii", "ct.nii.gz"}) {
    write(image.GetPointer(), dir / name);
    EXPECT_EQ(message_of([&] { vfp::data::read_ct("S1", dir / name); }),
              "subject S1: image " + (dir / name).string() +
                  " has 2 non-finite voxels (NaN or ±Inf) of 64");
  }
}

TEST(ReadCt, RefusesA4DMetaImageInsteadOfReadingItsFirstVolume) {
  const auto dir = temp_dir("4d");
  write(float_image<4>(3).GetPointer(), dir / "ct.mha");
  EXPECT_EQ(message_of([&] { vfp::data::read_ct("S1", dir / "ct.mha"); }),
            "subject S1: image " + (dir / "ct.mha").string() +
                ": a 4D image (3 × 3 × 3 × 3 voxels); give one 3D volume");
}

TEST(ReadCt, RefusesA2DImage) {
  const auto dir = temp_dir("2d");
  write(float_image<2>(5).GetPointer(), dir / "ct.nrrd");
  EXPECT_EQ(message_of([&] { vfp::data::read_ct("S1", dir / "ct.nrrd"); }),
            "subject S1: image " + (dir / "ct.nrrd").string() +
                ": a 2D image (5 × 5 voxels); a CT volume has 3 dimensions");
}

TEST(ReadLabelMap, RefusesANanSformBeforeItsReaderCanAbort) {
  const auto dir = temp_dir("labels");
  write(float_image<3>(4).GetPointer(), dir / "seg.nii");
  std::fstream f(dir / "seg.nii", std::ios::in | std::ios::out | std::ios::binary);
  std::string header(348, '\0');
  f.read(header.data(), 348);
  ASSERT_EQ(vfp::data::parse_nifti_header(header)->sform_code > 0, true);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  f.seekp(280);
  f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  f.close();
  EXPECT_EQ(message_of([&] { vfp::data::read_label_map("S1", dir / "seg.nii"); }),
            "subject S1: label map " + (dir / "seg.nii").string() +
                ": the sform (srow_x, srow_y, srow_z) holds a non-finite value");
}

TEST(ReadCt, RefusesAFifoInADicomFolderInsteadOfBlockingOnIt) {
  const auto dir = temp_dir("dicom_fifo") / "S1";
  fs::create_directories(dir);
  write(float_image<3>(4).GetPointer(), dir / "not_dicom.nii"); // a regular file: scanned
  ASSERT_EQ(::mkfifo((dir / "slice_0002.dcm").c_str(), 0600), 0);
  EXPECT_EQ(message_of([&] { vfp::data::read_ct("S1", dir); }),
            "subject S1: DICOM folder entry " + (dir / "slice_0002.dcm").string() +
                " is a FIFO, not a regular file");
}
