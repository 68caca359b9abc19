#include "data/image_io.h"

#include "core/core.h"

#include "data/image_checks.h"

#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImageFileReader.h>
#include <itkImageSeriesReader.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>

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

/// Reads the one DICOM series in `folder`; GDCM applies rescale slope/intercept (→ HU) and
/// sorts slices by position along the slice normal.
CtImage::Pointer read_dicom_series(const std::string& subject,
                                   const std::filesystem::path& folder) {
  // GDCM opens every entry of the folder to read its header: a FIFO or a link to /dev/zero
  // among them would block or never end, so each is checked first (subfolders are not read).
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (!entry.is_directory())
      require_regular_file(entry.path(), "subject " + subject + ": DICOM folder entry");
  auto names = itk::GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(true);
  names->SetDirectory(folder.string());
  const auto& series = names->GetSeriesUIDs();
  if (series.empty())
    throw InputError("subject " + subject + ": no DICOM series in folder " + folder.string());
  if (series.size() > 1)
    throw InputError("subject " + subject + ": folder " + folder.string() + " holds " +
                     std::to_string(series.size()) + " DICOM series; give one series per folder");
  auto reader = itk::ImageSeriesReader<CtImage>::New();
  reader->SetImageIO(itk::GDCMImageIO::New());
  reader->SetFileNames(names->GetFileNames(series.front()));
  reader->Update();
  return reader->GetOutput();
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

CtImage::Pointer read_ct(const std::string& subject, const std::filesystem::path& path) {
  try {
    if (std::filesystem::is_directory(path)) {
      register_image_formats();
      return checked<CtImage>(read_dicom_series(subject, path), subject, path, "image");
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
