// Private to lib/data: ITK image reading (files and DICOM series) and label maps.
#pragma once

#include "data/data.h"

#include <itkImage.h>

namespace vfp::data {

using CtImage = itk::Image<float, 3>;
using LabelImage = itk::Image<short, 3>;

/// Reads a CT in HU: a file in any registered format, or a DICOM folder, of which the series
/// `dicom_series` picks (a cohort.dicom_series rule; "" = largest). Errors name the subject
/// and path.
CtImage::Pointer read_ct(const std::string& subject, const std::filesystem::path& path,
                         const std::string& dicom_series = "");

/// Reads a label map (nearest-neighbour data, integer labels).
LabelImage::Pointer read_label_map(const std::string& subject, const std::filesystem::path& path);

/// nibabel-style axis codes of an image's voxel axes in ITK's LPS physical space.
std::array<char, 3> axis_codes(const itk::ImageBase<3>* image);

} // namespace vfp::data
