#include "inference/centroid_sources.h"

#include "core/core.h"

#include <algorithm>
#include <cctype>

namespace vfp::inference {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

} // namespace

std::string CentroidSources::format_of(const Patient& p) {
  if (!p.centroid_format.empty()) {
    if (p.centroid_format != "verse" && p.centroid_format != "csv" &&
        p.centroid_format != "labelmap")
      throw InputError("subject " + p.id + ": unknown centroid format '" + p.centroid_format +
                       "' (verse, csv or labelmap)");
    return p.centroid_format;
  }
  std::string name = p.centroids.filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (ends_with(name, ".json"))
    return "verse";
  for (const char* tail : {".csv", ".txt"})
    if (ends_with(name, tail))
      return "csv";
  for (const char* tail : {".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr"})
    if (ends_with(name, tail))
      return "labelmap";
  throw InputError("subject " + p.id + ": cannot tell the format of the centroid file " +
                   p.centroids.string() +
                   " from its name (.json: verse, .csv/.txt: a table, .nii/.nii.gz/.mha/.nrrd: a "
                   "label map); give --centroid-format verse|csv|labelmap");
}

std::string CentroidSources::space_of(const Patient& p) const {
  return p.centroid_space.empty() ? default_space_ : p.centroid_space;
}

CentroidSources::CentroidSources(const std::vector<Patient>& patients, std::string default_space)
    : default_space_(std::move(default_space)) {
  for (const auto& p : patients) {
    std::string format;
    try {
      format = format_of(p);
    } catch (const InputError&) {
      continue; // source_for says so, for this patient only
    }
    if (format != "csv" || !p.problem.empty())
      continue;
    const auto key = std::make_pair(p.centroids.string(), space_of(p));
    if (tables_.count(key))
      continue;
    auto& table = tables_[key];
    try {
      table.rows = data::read_centroid_csv(p.centroids, key.second);
    } catch (const InputError& e) {
      table.error = e.what();
    }
  }
}

data::CentroidSource CentroidSources::source_for(const Patient& p) const {
  data::CentroidSource source;
  source.format = format_of(p);
  source.path = p.centroids;
  if (source.format != "csv") {
    if (!std::filesystem::exists(p.centroids))
      throw InputError("subject " + p.id + ": centroid file not found: " + p.centroids.string());
    return source;
  }
  const auto it = tables_.find({p.centroids.string(), space_of(p)});
  VFP_CHECK(it != tables_.end(), "every csv table is read up front");
  if (!it->second.error.empty())
    throw InputError("subject " + p.id + ": " + it->second.error);
  if (!it->second.rows.count(p.id))
    throw InputError("subject " + p.id + ": not listed in the centroid table " +
                     p.centroids.string());
  source.table = &it->second.rows;
  return source;
}

} // namespace vfp::inference
