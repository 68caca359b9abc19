// An unlabelled cohort (ssl.cohort: BYOL's external pretraining data): ids from a table with a
// subject_id column, or from the file names of one images folder.
#include "data/data.h"

#include "core/core.h"

#include "data/subject_id.h"

#include <algorithm>
#include <set>

namespace vfp::data {
namespace {

/// Ids from a table: the subject_id column; any other column is ignored.
std::vector<std::string> ids_from_table(const std::filesystem::path& csv,
                                        std::vector<Exclusion>* exclusions) {
  const auto table = read_csv(csv.string(), {"pretraining cohort table",
                                             "a subject_id column (other columns are ignored)",
                                             ',',
                                             {"subject_id"}});
  const auto column = table.column("subject_id");
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const auto& row : table.rows) {
    const auto where = table.file + ":" + std::to_string(row.line);
    // A duplicate is never excludable, as in the labelled table: which row would be right?
    if (row.cells.size() > column && seen.count(row.cells[column]))
      throw InputError(where + ": duplicate subject_id '" + row.cells[column] + "'");
    try {
      const auto& id = table.text(row, column);
      check_subject_id(id, where);
      seen.insert(id);
      ids.push_back(id);
    } catch (const InputError& e) {
      if (!exclusions)
        throw;
      exclusions->push_back({"line " + std::to_string(row.line), e.what()});
    }
  }
  return ids;
}

/// Ids from a folder listing: the entries of the pattern's folder whose names match it around
/// {id} (e.g. images/{id}.nii.gz), sorted. Entries that do not match are not subjects.
std::vector<std::string> ids_from_folder(const std::string& pattern) {
  const std::filesystem::path images(pattern);
  const auto folder = images.parent_path();
  const auto name = images.filename().string();
  const auto at = name.find("{id}");
  if (at == std::string::npos || folder.string().find("{id}") != std::string::npos)
    throw InputError("ssl.cohort.images: without ssl.cohort.csv, {id} must be in the last part "
                     "of the pattern only, got '" +
                     pattern + "'");
  const auto prefix = name.substr(0, at), suffix = name.substr(at + 4);
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    throw InputError("ssl.cohort.images: no such folder: " + folder.string() +
                     " (the external cohort's images)");
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const auto file = entry.path().filename().string();
    if (file.size() <= prefix.size() + suffix.size() || file.rfind(prefix, 0) != 0 ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const auto id = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    // "S1.nii" under a pattern "{id}.nii.gz" does not match; "S1.tmp.nii.gz" gives "S1.tmp".
    if (id.front() != '.')
      ids.push_back(id);
  }
  if (ec)
    throw IoError("ssl.cohort.images: cannot list " + folder.string() + ": " + ec.message());
  std::sort(ids.begin(), ids.end());
  return ids;
}

} // namespace

std::vector<Subject> read_unlabelled_cohort(const config::CohortConfig& cohort,
                                            std::vector<Exclusion>* exclusions) {
  auto* excluded = cohort.on_bad_subject == "exclude" ? exclusions : nullptr;
  const auto ids =
      cohort.csv.empty() ? ids_from_folder(cohort.images) : ids_from_table(cohort.csv, excluded);
  const auto source =
      cohort.csv.empty()
          ? "the folder " + std::filesystem::path(cohort.images).parent_path().string()
          : cohort.csv.string();
  if (ids.empty())
    throw InputError("ssl.cohort: no subjects in " + source +
                     (cohort.csv.empty() ? " (no entry matches " + cohort.images + ")" : ""));
  std::vector<Subject> subjects;
  for (const auto& id : ids) {
    Subject s;
    s.id = id;
    s.dicom_series = cohort.dicom_series; // the cohort's rule for a DICOM folder with several series
    subjects.push_back(std::move(s));
  }
  return subjects;
}

} // namespace vfp::data
