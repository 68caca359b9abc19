// Private to lib/data: one CT series out of a DICOM folder as hospital archives export it
// (several series, scouts, reformats, multi-frame files), chosen by cohort.dicom_series.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::data {

/// The SOP class of Enhanced CT Image Storage: one multi-frame file per series.
inline constexpr const char* kEnhancedCtSopClass = "1.2.840.10008.5.1.4.1.1.2.1";

/// One series of a DICOM folder, from its files' headers (no pixel is read).
struct DicomSeries {
  std::string uid;                              ///< SeriesInstanceUID (0020,000E)
  std::string description;                      ///< SeriesDescription (0008,103E)
  std::string number;                           ///< SeriesNumber (0020,0011)
  std::string image_type;                       ///< ImageType (0008,0008) of its first file
  std::string sop_class;                        ///< SOPClassUID (0008,0016)
  int frames = 1;                               ///< NumberOfFrames of its first file
  std::array<double, 6> orientation{};          ///< ImageOrientationPatient
  double pixel_mm = 0;                          ///< the smaller PixelSpacing
  bool has_geometry = false;                    ///< every file has a position and the orientation
  std::vector<std::string> files;               ///< sorted along the slice normal
  std::vector<std::array<double, 3>> positions; ///< ImagePositionPatient per file, same order
  std::size_t slices() const { return files.size(); }
  /// "UID 'description' (n slices)", for messages.
  std::string label() const;
};

/// Every series of `folder` (its regular files; subfolders are not read), in a fixed order
/// (SeriesNumber, then UID). GDCM splits a UID whose files differ in orientation or size.
std::vector<DicomSeries> scan_dicom_folder(const std::filesystem::path& folder);

/// What is wrong with a cohort.dicom_series value or table cell: empty when it is "largest",
/// "uid:<SeriesInstanceUID>" or "desc:<glob>" (* and ?, case-insensitive, whole description).
std::string dicom_series_rule_problem(const std::string& rule);

/// The series `rule` picks ("" = largest); throws InputError naming the subject, the folder
/// and every series found with why it was not taken. `why` receives the log line: which
/// series was chosen, by what rule, and the others skipped and why.
const DicomSeries& choose_dicom_series(const std::vector<DicomSeries>& series,
                                       const std::string& rule, const std::string& subject,
                                       const std::filesystem::path& folder, std::string& why);

} // namespace vfp::data
