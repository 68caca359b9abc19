#include "data/image_io.h"

#include "core/core.h"

#include "data/dicom_series.h"
#include "data/image_checks.h"
#include "log/log.h"

#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkImageFileReader.h>
#include <itkImageSeriesReader.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>
#include <vector>

namespace vfp::data {

void register_image_formats() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::NiftiImageIOFactory::RegisterOneFactory();
    itk::MetaImageIOFactory::RegisterOneFactory();
    itk::NrrdImageIOFactory::RegisterOneFactory();
    itk::GDCMImageIOFactory::RegisterOneFactory();
  });
}

namespace {

/// Puts slices read at uneven positions along the slice normal (a missing slice, a series
/// acquired in parts) onto an even grid at the median gap, linearly between the two nearest
/// slices: ITK's series reader would space them evenly and misplace every one after a gap.
CtImage::Pointer even_slices(const CtImage::Pointer& in, const SliceStack& stack) {
  const double extent = stack.positions.back() - stack.positions.front();
  const auto n_out = static_cast<std::size_t>(std::lround(extent / stack.median_gap)) + 1;
  const double step = extent / double(n_out - 1);
  auto size = in->GetLargestPossibleRegion().GetSize();
  const std::size_t plane = size[0] * size[1];
  size[2] = n_out;
  auto out = CtImage::New();
  out->SetRegions(CtImage::RegionType(size));
  auto spacing = in->GetSpacing();
  spacing[2] = step;
  out->SetSpacing(spacing);
  out->SetOrigin(in->GetOrigin());
  out->SetDirection(in->GetDirection());
  out->Allocate();
  const float* src = in->GetBufferPointer();
  float* dst = out->GetBufferPointer();
  std::size_t k = 0; // the input slice at or below the output one
  for (std::size_t j = 0; j < n_out; ++j) {
    const double z = stack.positions.front() + double(j) * step;
    while (k + 2 < stack.positions.size() && stack.positions[k + 1] <= z)
      ++k;
    const double w = std::clamp((z - stack.positions[k]) / stack.gaps[k], 0.0, 1.0);
    for (std::size_t i = 0; i < plane; ++i)
      dst[j * plane + i] =
          static_cast<float>((1 - w) * src[k * plane + i] + w * src[(k + 1) * plane + i]);
  }
  return out;
}

/// Reads the CT series of `folder` that `rule` picks (cohort.dicom_series: "" = largest);
/// GDCM applies rescale slope/intercept (→ HU). Slices are ordered along their normal, a
/// tilted or duplicated stack is refused and an uneven one put on an even grid.
CtImage::Pointer read_dicom_series(const std::string& subject, const std::filesystem::path& folder,
                                   const std::string& rule) {
  // GDCM opens every entry of the folder to read its header: a FIFO or a link to /dev/zero
  // among them would block or never end, so each is checked first (subfolders are not read).
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (!entry.is_directory())
      require_regular_file(entry.path(), "subject " + subject + ": DICOM folder entry");
  const auto series = scan_dicom_folder(folder);
  std::string why;
  const auto& chosen = choose_dicom_series(series, rule, subject, folder, why);
  if (series.size() > 1)
    spdlog::info("{}", why);
  const auto stack = slice_stack(chosen.orientation, chosen.positions);
  if (const auto problem = slice_stack_problem(stack, chosen.pixel_mm); !problem.empty())
    throw InputError("subject " + subject + ": DICOM series " + chosen.label() + " in " +
                     folder.string() + ": " + problem);
  auto reader = itk::ImageSeriesReader<CtImage>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());
  reader->SetFileNames(chosen.files);
  reader->Update();
  CtImage::Pointer image = reader->GetOutput();
  if (stack.uneven) {
    const auto [lo, hi] = std::minmax_element(stack.gaps.begin(), stack.gaps.end());
    spdlog::warn("subject {}: DICOM series {}: uneven slice spacing ({} to {} mm); resampled "
                 "to an even grid at the median gap, {} mm",
                 subject, chosen.label(), number_text(*lo), number_text(*hi),
                 number_text(stack.median_gap));
    return even_slices(image, stack);
  }
  auto spacing = image->GetSpacing();
  spacing[2] = (stack.positions.back() - stack.positions.front()) / double(stack.gaps.size());
  image->SetSpacing(spacing);
  return image;
}

/// Refuses an image that ITK read but vfp cannot use: not 3D, spacing or direction unusable
/// (a DICOM series is checked only here), and for a CT, voxels that are NaN or ±Inf (a float
/// NIfTI's are counted on the file before: its reader makes them 0).
template <typename Image>
typename Image::Pointer checked(typename Image::Pointer image, const std::string& subject,
                                const std::filesystem::path& path, const char* what) {
  const std::string where = "subject " + subject + ": " + what + " " + path.string();
  if (const auto problem = geometry_problem(*image); !problem.empty())
    throw InputError(where + ": " + problem);
  if constexpr (std::is_floating_point_v<typename Image::PixelType>) {
    const auto n = image->GetLargestPossibleRegion().GetNumberOfPixels();
    if (const auto bad = count_non_finite(image->GetBufferPointer(), n); bad > 0)
      throw InputError(where + " has " + std::to_string(bad) +
                       " non-finite voxels (NaN or ±Inf) of " + std::to_string(n));
  }
  return image;
}

template <typename Image>
typename Image::Pointer read_file(const std::string& subject, const std::filesystem::path& path,
                                  const char* what) {
  if (!std::filesystem::exists(path))
    throw InputError("subject " + subject + ": " + what + " not found: " + path.string());
  require_regular_file(path, "subject " + subject + ": " + what);
  const auto io = check_image_file(subject, path, what); // before ITK reads a voxel
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(path.string());
  if (io)
    reader->SetImageIO(io);
  reader->Update(); // NIfTI scl_slope/scl_inter and MetaImage/NRRD values are applied
  return checked<Image>(reader->GetOutput(), subject, path, what);
}

} // namespace

CtImage::Pointer read_ct(const std::string& subject, const std::filesystem::path& path,
                         const std::string& dicom_series) {
  try {
    if (std::filesystem::is_directory(path)) {
      register_image_formats();
      return checked<CtImage>(read_dicom_series(subject, path, dicom_series), subject, path,
                              "image");
    }
    return read_file<CtImage>(subject, path, "image");
  } catch (const itk::ExceptionObject& e) {
    throw InputError("subject " + subject + ": cannot read image " + path.string() + ": " +
                     e.GetDescription());
  }
}

LabelImage::Pointer read_label_map(const std::string& subject, const std::filesystem::path& path) {
  try {
    return read_file<LabelImage>(subject, path, "label map");
  } catch (const itk::ExceptionObject& e) {
    throw InputError("subject " + subject + ": cannot read label map " + path.string() + ": " +
                     e.GetDescription());
  }
}

std::array<char, 3> axis_codes(const itk::ImageBase<3>* image) {
  const auto& d = image->GetDirection();
  std::array<char, 3> codes{};
  for (unsigned axis = 0; axis < 3; ++axis) {
    unsigned best = 0;
    for (unsigned j = 1; j < 3; ++j)
      if (std::abs(d[j][axis]) > std::abs(d[best][axis]))
        best = j;
    codes[axis] = d[best][axis] > 0 ? "LPS"[best] : "RAI"[best];
  }
  return codes;
}

} // namespace vfp::data
