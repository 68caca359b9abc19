#include "data/dicom_series.h"

#include "core/core.h"

#include "data/image_checks.h"

#include <gdcmScanner.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

namespace vfp::data {
namespace {

namespace fs = std::filesystem;

const gdcm::Tag kSeriesUid(0x0020, 0x000e), kDescription(0x0008, 0x103e), kNumber(0x0020, 0x0011),
    kImageType(0x0008, 0x0008), kSopClass(0x0008, 0x0016), kFrames(0x0028, 0x0008),
    kOrientation(0x0020, 0x0037), kPosition(0x0020, 0x0032), kPixelSpacing(0x0028, 0x0030),
    kRows(0x0028, 0x0010), kColumns(0x0028, 0x0011);

std::string trimmed(const char* v) {
  std::string s = v ? v : "";
  const auto keep = [](unsigned char c) { return c != 0 && !std::isspace(c); };
  while (!s.empty() && !keep(static_cast<unsigned char>(s.back())))
    s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && !keep(static_cast<unsigned char>(s[start])))
    ++start;
  return s.substr(start);
}

/// A backslash-separated DICOM multi-value of numbers ("1\0\0\0\1\0"); empty when any part
/// is not a finite number.
std::vector<double> numbers(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, '\\')) {
    char* end = nullptr;
    const double v = std::strtod(part.c_str(), &end);
    if (end == part.c_str() || !std::isfinite(v))
      return {};
    out.push_back(v);
  }
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// Case-insensitive glob over the whole text: * any run, ? one character.
bool glob_match(const std::string& pattern, const std::string& text) {
  const auto p = upper(pattern), t = upper(text);
  std::size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  return pi == p.size();
}

bool matches(const DicomSeries& s, const std::string& rule) {
  if (rule.rfind("uid:", 0) == 0)
    return s.uid == rule.substr(4);
  if (rule.rfind("desc:", 0) == 0)
    return glob_match(rule.substr(5), s.description);
  return true; // largest
}

/// Why `s` cannot be the subject's CT; empty when it can. `largest` also skips reformats.
std::string unusable(const DicomSeries& s, bool largest) {
  if (s.frames > 1 || s.sop_class == kEnhancedCtSopClass)
    return std::string(s.sop_class == kEnhancedCtSopClass ? "an Enhanced CT image"
                                                          : "a multi-frame image") +
           " (file " + s.files.front() + ", SOP class " + s.sop_class + ", " +
           std::to_string(s.frames) +
           " frames in one file): vfp reads a CT as a series of single-frame slices; convert "
           "it first (e.g. dcm2niix to NIfTI)";
  if (upper(s.image_type).find("LOCALIZER") != std::string::npos)
    return "a localiser (ImageType " + s.image_type + ")";
  if (s.slices() < 3)
    return std::to_string(s.slices()) + " slice" + (s.slices() == 1 ? "" : "s") +
           ": a scout or single image, not a CT volume";
  if (!s.has_geometry)
    return "a slice without ImagePositionPatient or ImageOrientationPatient";
  if (largest) {
    const auto n = slice_stack(s.orientation, {}).normal;
    if (std::abs(n[2]) < 0.7)
      return "not axial (slice normal " + number_text(n[0]) + ", " + number_text(n[1]) + ", " +
             number_text(n[2]) + "): a reformat";
  }
  return "";
}

long series_number(const DicomSeries& s) {
  char* end = nullptr;
  const long n = std::strtol(s.number.c_str(), &end, 10);
  return end == s.number.c_str() ? 1L << 30 : n;
}

/// The order of series in listings and among equals: SeriesNumber, then UID.
bool listed_before(const DicomSeries& a, const DicomSeries& b) {
  if (series_number(a) != series_number(b))
    return series_number(a) < series_number(b);
  return a.uid != b.uid ? a.uid < b.uid : a.files.front() < b.files.front();
}

/// Puts a series' files in order along the slice normal (GDCM lists them by name).
void sort_along_normal(DicomSeries& s) {
  if (!s.has_geometry)
    return;
  const auto normal = slice_stack(s.orientation, {}).normal;
  std::vector<std::size_t> order(s.files.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  auto along = [&](std::size_t i) {
    const auto& p = s.positions[i];
    return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return along(a) < along(b); });
  DicomSeries sorted = s;
  for (std::size_t i = 0; i < order.size(); ++i) {
    sorted.files[i] = s.files[order[i]];
    sorted.positions[i] = s.positions[order[i]];
  }
  s = std::move(sorted);
}

} // namespace

std::string DicomSeries::label() const {
  return uid + " '" + description + "' (" + std::to_string(slices()) + " slice" +
         (slices() == 1 ? "" : "s") + ")";
}

std::vector<DicomSeries> scan_dicom_folder(const fs::path& folder) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file())
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  gdcm::Scanner scanner;
  for (const auto& tag : {kSeriesUid, kDescription, kNumber, kImageType, kSopClass, kFrames,
                          kOrientation, kPosition, kPixelSpacing, kRows, kColumns})
    scanner.AddTag(tag);
  scanner.Scan(files);
  // A UID whose files differ in orientation or matrix size is several stacks (a scout saved
  // under the CT's UID happens): they are told apart as GDCM's series details do.
  std::map<std::string, DicomSeries> groups;
  for (const auto& file : files) {
    if (!scanner.IsKey(file.c_str()))
      continue; // not DICOM
    auto value = [&](const gdcm::Tag& t) { return trimmed(scanner.GetValue(file.c_str(), t)); };
    const auto uid = value(kSeriesUid);
    if (uid.empty())
      continue; // a DICOMDIR or another non-image object
    const auto orientation = numbers(value(kOrientation));
    const auto position = numbers(value(kPosition));
    const auto key = uid + "|" + value(kOrientation) + "|" + value(kRows) + "x" + value(kColumns);
    auto [it, fresh] = groups.try_emplace(key);
    auto& s = it->second;
    if (fresh) {
      s.uid = uid;
      s.description = value(kDescription);
      s.number = value(kNumber);
      s.image_type = value(kImageType);
      s.sop_class = value(kSopClass);
      const auto frames = numbers(value(kFrames));
      s.frames = frames.empty() ? 1 : static_cast<int>(frames.front());
      s.has_geometry = orientation.size() == 6;
      if (s.has_geometry)
        std::copy(orientation.begin(), orientation.end(), s.orientation.begin());
      const auto pixel = numbers(value(kPixelSpacing));
      s.pixel_mm = pixel.size() == 2 ? std::min(pixel[0], pixel[1]) : 1.0;
    }
    s.has_geometry = s.has_geometry && position.size() == 3;
    s.files.push_back(file);
    s.positions.push_back(position.size() == 3
                              ? std::array<double, 3>{position[0], position[1], position[2]}
                              : std::array<double, 3>{});
  }
  std::vector<DicomSeries> out;
  for (auto& [key, s] : groups) {
    sort_along_normal(s);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), listed_before);
  return out;
}

std::string dicom_series_rule_problem(const std::string& rule) {
  if (rule == "largest")
    return "";
  if ((rule.rfind("uid:", 0) == 0 && rule.size() > 4) ||
      (rule.rfind("desc:", 0) == 0 && rule.size() > 5))
    return "";
  return "'" + rule +
         "' is not a DICOM series rule: expected largest, uid:<SeriesInstanceUID> or "
         "desc:<pattern> (* and ? wildcards)";
}

const DicomSeries& choose_dicom_series(const std::vector<DicomSeries>& series,
                                       const std::string& rule_in, const std::string& subject,
                                       const fs::path& folder, std::string& why) {
  const std::string rule = rule_in.empty() ? "largest" : rule_in;
  const bool largest = rule == "largest";
  const std::string where = "subject " + subject + ": DICOM folder " + folder.string();
  if (series.empty())
    throw InputError("subject " + subject + ": no DICOM series in folder " + folder.string());
  const DicomSeries* best = nullptr;
  std::size_t tied = 0;
  std::string skipped;
  for (const auto& s : series) {
    std::string reason = matches(s, rule) ? unusable(s, largest) : "does not match " + rule;
    if (reason.empty() && best && s.slices() == best->slices())
      ++tied; // listed_before order: the earlier one stays
    if (reason.empty() && (!best || s.slices() > best->slices())) {
      best = &s;
      tied = 1;
    }
    if (!reason.empty())
      skipped += "; " + s.label() + ": " + reason;
  }
  if (!best)
    throw InputError(where + " holds no usable series for rule '" + rule + "' (" +
                     std::to_string(series.size()) + " found" + skipped + ")");
  for (const auto& s : series)
    if (&s != best && matches(s, rule) && unusable(s, largest).empty())
      skipped += "; " + s.label() + ": " +
                 (s.slices() < best->slices() ? "fewer slices" : "tied, higher SeriesNumber");
  why = where + ": series " + best->label() + " (SeriesNumber " + best->number + ") by rule '" +
        rule + "'" +
        (tied > 1 ? ", the lowest SeriesNumber of " + std::to_string(tied) +
                        " series tied at the most slices"
                  : "") +
        (skipped.empty() ? "" : "; skipped" + skipped.substr(1));
  return *best;
}

} // namespace vfp::data
