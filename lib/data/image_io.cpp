#include "data/image_io.h"

#include "core/core.h"

#include <itkGDCMImageIO.h>
#include <itkGDCMImageIOFactory.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImageFileReader.h>
#include <itkImageSeriesReader.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>

#include <zlib.h>

#include <cmath>
#include <mutex>
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

/// ITK reads a truncated .gz (a copy cut short, a full disk) without a word and fills the
/// missing voxels with whatever it has: decompress the whole stream first, so that a cut
/// stream or a bad checksum is an error naming the file.
void check_gzip_stream(const std::string& subject, const std::filesystem::path& path,
                       const char* what) {
  const auto name = path.string();
  if (name.size() < 3 || name.compare(name.size() - 3, 3, ".gz") != 0)
    return;
  gzFile in = gzopen(name.c_str(), "rb");
  if (!in)
    throw InputError("subject " + subject + ": cannot open " + what + " " + name);
  std::vector<char> buffer(1 << 20);
  int n = 0;
  while ((n = gzread(in, buffer.data(), unsigned(buffer.size()))) > 0) {
  }
  // gzread returns 0 at the end of a complete stream, and also when the input ends early:
  // gzerror then says Z_BUF_ERROR ("unexpected end of file").
  int code = Z_OK;
  const std::string message = gzerror(in, &code);
  gzclose(in);
  if (n < 0 || code != Z_OK)
    throw InputError("subject " + subject + ": " + what + " " + name +
                     " is not a complete gzip stream (truncated or corrupt: " + message + ")");
}

template <typename Image>
typename Image::Pointer read_file(const std::string& subject, const std::filesystem::path& path,
                                  const char* what) {
  if (!std::filesystem::exists(path))
    throw InputError("subject " + subject + ": " + what + " not found: " + path.string());
  check_gzip_stream(subject, path, what);
  register_image_formats();
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(path.string());
  reader->Update(); // NIfTI scl_slope/scl_inter and MetaImage/NRRD values are applied
  return reader->GetOutput();
}

} // namespace

CtImage::Pointer read_ct(const std::string& subject, const std::filesystem::path& path) {
  try {
    if (std::filesystem::is_directory(path)) {
      register_image_formats();
      return read_dicom_series(subject, path);
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
