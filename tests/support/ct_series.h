// Synthetic CT volumes and their DICOM series for the data tests (tests/data) and the DICOM
// cohort test (tests/integration): one writer, so that every test's series carry the same tags.
#pragma once

#include <itkGDCMImageIO.h>
#include <itkImage.h>
#include <itkImageRegionIteratorWithIndex.h>
#include <itkImageSeriesWriter.h>
#include <itkMetaDataObject.h>
#include <itkNumericSeriesFileNames.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace vfp::testing_support {

using Short3 = itk::Image<short, 3>;

/// Allocates `image` (its region, spacing, origin and direction set) and sets each voxel to
/// `value_at` its physical point.
inline void fill_by_position(const Short3::Pointer& image,
                             const std::function<short(const Short3::PointType&)>& value_at) {
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<Short3> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it) {
    Short3::PointType p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    it.Set(value_at(p));
  }
}

/// A phantom of `size` voxels of `spacing` mm with `direction`, placed so that it covers the
/// box whose lowest LPS corner is `corner` whatever the direction (every orientation of a test
/// then images the same anatomy), each voxel `value_at` its physical point.
inline Short3::Pointer box_phantom(const Short3::SizeType& size,
                                   const std::array<double, 3>& spacing,
                                   const Short3::DirectionType& direction,
                                   const std::array<double, 3>& corner,
                                   const std::function<short(const Short3::PointType&)>& value_at) {
  auto image = Short3::New();
  image->SetRegions(Short3::RegionType(size));
  image->SetSpacing(spacing.data());
  image->SetDirection(direction);
  Short3::PointType origin;
  for (unsigned a = 0; a < 3; ++a) {
    double lo = 0;
    for (unsigned i = 0; i < 3; ++i)
      lo += std::min(0.0, direction[a][i] * double(size[i] - 1) * spacing[i]);
    origin[a] = corner[a] - lo;
  }
  image->SetOrigin(origin);
  fill_by_position(image, value_at);
  return image;
}

/// What a written series is called and how it departs from a plain axial CT series. An empty
/// tag value is not written.
struct DicomSeries {
  std::string prefix = "ct"; ///< files <prefix>NNN.dcm
  unsigned first_number = 0; ///< NNN of the first slice's file
  std::string study_uid = "1.2.826.0.1.3680043.2.1125.9";
  std::string uid = "1.2.826.0.1.3680043.2.1125.9.1"; ///< SeriesInstanceUID
  std::string description = "BODY 2.0";
  std::string number = "2"; ///< SeriesNumber
  std::string image_type = "ORIGINAL\\PRIMARY\\AXIAL";
  std::map<std::string, std::string> more_tags; ///< e.g. the rescale slope and intercept
  std::vector<unsigned> drop;                   ///< slices not written (a missing slice)
  /// Edits slice k's ImagePositionPatient (a gantry tilt, a duplicate).
  std::function<void(unsigned k, Short3::PointType& p)> move;
};

/// A series in files <prefix>NNN.dcm with the SeriesInstanceUID, SeriesNumber,
/// SeriesDescription and ImageType a scanner gave it.
inline DicomSeries named_series(const std::string& prefix, const std::string& uid,
                                const std::string& number, const std::string& description,
                                const std::string& image_type) {
  DicomSeries s;
  s.prefix = prefix;
  s.uid = uid;
  s.number = number;
  s.description = description;
  s.image_type = image_type;
  return s;
}

/// "a\b\c", as DICOM writes a multi-valued decimal string (12 digits: a DS holds 16 chars).
inline std::string dicom_triple(double a, double b, double c) {
  std::ostringstream s;
  s.precision(12);
  s << a << "\\" << b << "\\" << c;
  return s.str();
}

/// Writes `image` as one DICOM file per slice in `dir`, each with its position, the image's
/// orientation and spacing, and `series`' identity.
inline void write_dicom_series(const std::filesystem::path& dir, const Short3::Pointer& image,
                               const DicomSeries& series) {
  using Short2 = itk::Image<short, 2>;
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const auto& d = image->GetDirection();
  const auto& sp = image->GetSpacing();
  std::vector<std::unique_ptr<itk::MetaDataDictionary>> owned;
  std::vector<itk::MetaDataDictionary*> dictionaries;
  for (unsigned k = 0; k < size[2]; ++k) {
    owned.push_back(std::make_unique<itk::MetaDataDictionary>());
    auto& dict = *owned.back();
    Short3::PointType p;
    image->TransformIndexToPhysicalPoint(Short3::IndexType{{0, 0, long(k)}}, p);
    if (series.move)
      series.move(k, p);
    auto set = [&dict](const std::string& tag, const std::string& v) {
      if (!v.empty())
        itk::EncapsulateMetaData<std::string>(dict, tag, v);
    };
    set("0008|0060", "CT");
    set("0008|0008", series.image_type);
    set("0008|103e", series.description);
    set("0020|0011", series.number);
    set("0020|000d", series.study_uid);
    set("0020|000e", series.uid);
    set("0020|0013", std::to_string(k + 1));
    set("0020|0032", dicom_triple(p[0], p[1], p[2]));
    set("0020|0037",
        dicom_triple(d[0][0], d[1][0], d[2][0]) + "\\" + dicom_triple(d[0][1], d[1][1], d[2][1]));
    set("0028|0030", std::to_string(sp[1]) + "\\" + std::to_string(sp[0])); // rows, columns
    set("0018|0050", std::to_string(sp[2]));
    for (const auto& [tag, value] : series.more_tags)
      set(tag, value);
    dictionaries.push_back(&dict);
  }
  auto io = itk::GDCMImageIO::New();
  io->KeepOriginalUIDOn();
  auto names = itk::NumericSeriesFileNames::New();
  names->SetSeriesFormat((dir / (series.prefix + "%03d.dcm")).string());
  names->SetStartIndex(series.first_number);
  names->SetEndIndex(series.first_number + size[2] - 1);
  auto writer = itk::ImageSeriesWriter<Short3, Short2>::New();
  writer->SetInput(image);
  writer->SetImageIO(io);
  writer->SetFileNames(names->GetFileNames());
  writer->SetMetaDataDictionaryArray(&dictionaries);
  writer->Update();
  for (const auto k : series.drop)
    std::filesystem::remove(names->GetFileNames()[k]);
}

} // namespace vfp::testing_support
