// Private to lib/inference: a patient's centroid file as the data layer's CentroidSource, in
// any format training accepts (VerSe JSON, the study group's table, a label map).
#pragma once

#include "data/data.h"
#include "inference/inference.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vfp::inference {

/// The centroid sources of a batch. Each centroid table is read once, however many patients
/// it serves; a table that cannot be read fails only the patients that name it.
class CentroidSources {
public:
  /// `default_space`: the coordinates (lps, ras) of tables whose patients name none.
  CentroidSources(const std::vector<Patient>& patients, std::string default_space);
  /// Patient `p`'s source; throws vfp::InputError naming the subject and the file when its
  /// format is unknown, its table unreadable or the table does not list the subject.
  data::CentroidSource source_for(const Patient& p) const;

private:
  /// verse, csv or labelmap: the patient's own, or told by the file name.
  static std::string format_of(const Patient& p);
  std::string space_of(const Patient& p) const;

  struct Table {
    data::CentroidTable rows;
    std::string error;
  };
  std::string default_space_;
  std::map<std::pair<std::string, std::string>, Table> tables_; ///< (path, space) → table
};

} // namespace vfp::inference
