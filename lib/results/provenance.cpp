// Which code versions a sweep's rows come from: the table's footnote names them when there are
// several, and `vfp run` warns (or refuses) before it adds rows of another version.
#include "results/results.h"

namespace vfp::results {

std::map<std::string, int> code_versions(const std::vector<Row>& rows) {
  std::map<std::string, int> out;
  for (const auto& r : rows) {
    const auto& p = header_of(r).provenance;
    ++out[p && !p->version.empty() ? p->version : std::string(kUnknownVersion)];
  }
  return out;
}

std::map<std::string, int> code_versions(const std::vector<nlohmann::json>& rows) {
  return code_versions(typed_rows(rows));
}

std::string versions_text(const std::map<std::string, int>& versions) {
  std::string text;
  for (const auto& [version, n] : versions)
    text += (text.empty() ? "" : ", ") + version + " (" + std::to_string(n) +
            (n == 1 ? " row)" : " rows)");
  return text;
}

std::string other_versions_message(const std::map<std::string, int>& versions,
                                   const std::string& current) {
  std::map<std::string, int> others = versions;
  others.erase(current);
  if (others.empty())
    return "";
  return "its results come from another code version than this vfp, " + current +
         ": " + versions_text(others) +
         "; rows of two versions in one table mix results that may not be comparable";
}

} // namespace vfp::results
