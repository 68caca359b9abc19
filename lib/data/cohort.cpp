#include "data/data.h"

#include "core/core.h"

#include "data/dicom_series.h"
#include "data/subject_id.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

namespace vfp::data {

void check_subject_id(const std::string& id, const std::string& where) {
  if (id.empty())
    throw InputError(where + ": empty subject_id");
  // A ',' or '"' (quoted) is fine: written back quoted wherever vfp writes a CSV.
  try {
    checked_path_component(id, "subject_id");
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
}

std::vector<Subject> read_cohort(const std::filesystem::path& csv,
                                 std::vector<Exclusion>* exclusions) {
  const auto table = read_csv(csv.string(), {"cohort table",
                                             "subject_id,age,bmi,event,time_years[,site]",
                                             ',',
                                             {"subject_id", "age", "bmi", "event", "time_years"}});
  const auto& file = table.file;
  const auto& header = table.header;
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i)
    column.emplace(header[i], i);
  std::vector<Subject> subjects;
  std::set<std::string> ids;
  for (const auto& row : table.rows) {
    const auto& cells = row.cells;
    const int line_no = row.line;
    const auto where = file + ":" + std::to_string(line_no);
    Subject s;
    s.line = line_no;
    // A duplicate id is never excludable: which of the two rows would be the right one?
    if (cells.size() == header.size() && ids.count(cells[column.at("subject_id")]))
      throw InputError(where + ": duplicate subject_id '" + cells[column.at("subject_id")] + "'");
    try {
      // (A quote left open is read_csv's error: it would swallow the rows after it.)
      if (cells.size() != header.size())
        throw InputError(where + ": expected " + std::to_string(header.size()) + " cells, found " +
                         std::to_string(cells.size()));
      const auto& id = cells[column.at("subject_id")];
      check_subject_id(id, where);
      s.id = id;
      auto number = [&](const char* name, double lo, double hi) {
        double v = 0;
        const auto& text = cells[column.at(name)];
        if (!parse_decimal(text, v))
          throw InputError(where + ": column '" + name + "' of subject " + s.id +
                           ": expected a number, got '" + shorten_for_message(text) + "'");
        if (v < lo || v > hi)
          throw InputError(where + ": column '" + name + "' of subject " + s.id + ": value " +
                           text + " is out of range [" + std::to_string(static_cast<int>(lo)) +
                           ", " + std::to_string(static_cast<int>(hi)) + "]");
        return v;
      };
      s.age = number("age", 0, 130);
      s.bmi = number("bmi", 5, 100);
      s.time_years = number("time_years", 0, 200);
      const auto& event = cells[column.at("event")];
      if (event != "0" && event != "1")
        throw InputError(where + ": column 'event' of subject " + s.id +
                         ": expected 0 or 1, got '" + shorten_for_message(event) + "'");
      s.event = event == "1";
      if (column.count("site"))
        s.site = cells[column.at("site")];
      if (column.count("dicom_series")) {
        s.dicom_series = cells[column.at("dicom_series")];
        if (const auto p = dicom_series_rule_problem(s.dicom_series);
            !s.dicom_series.empty() && !p.empty())
          throw InputError(where + ": column 'dicom_series' of subject " + s.id + ": " + p);
      }
    } catch (const InputError& e) {
      if (!exclusions)
        throw;
      exclusions->push_back({s.id.empty() ? "line " + std::to_string(line_no) : s.id, e.what()});
      if (!s.id.empty())
        ids.insert(s.id);
      continue;
    }
    ids.insert(s.id);
    subjects.push_back(std::move(s));
  }
  if (subjects.empty())
    throw InputError(file + ": the cohort table has no " +
                     (exclusions && !exclusions->empty() ? "usable " : "") + "subjects");
  return subjects;
}

std::vector<Subject> read_cohort(const config::ExperimentConfig& c,
                                 std::vector<Exclusion>* exclusions) {
  auto subjects =
      read_cohort(c.cohort.csv, c.cohort.on_bad_subject == "exclude" ? exclusions : nullptr);
  for (auto& s : subjects)
    if (s.dicom_series.empty())
      s.dicom_series = c.cohort.dicom_series;
  return subjects;
}

} // namespace vfp::data
