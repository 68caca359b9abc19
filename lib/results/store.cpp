#include "results/results.h"

#include "core/core.h"

#include <fstream>
#include <map>
#include <unistd.h>

namespace vfp::results {

ResultsStore::ResultsStore(std::filesystem::path sweep_dir) : dir_(std::move(sweep_dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    throw IoError("cannot create results folder " + dir_.string() + ": " + ec.message());
  const auto path = file();
  if (!std::filesystem::exists(path))
    return;
  // A crash mid-append can leave a partial last row: cut it so the next row starts clean.
  const auto text = read_text_file(path);
  if (!text.empty() && text.back() != '\n') {
    const auto keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0)
      throw IoError("cannot repair torn last row of " + path.string());
  }
}

void ResultsStore::append(const nlohmann::json& row) {
  append_line_durably(file(), row.dump());
}

std::vector<nlohmann::json> ResultsStore::rows() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(file());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty())
      continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(file().string() + ":" + std::to_string(n) + ": not a JSON row: " + e.what());
    }
  }
  return out;
}

std::set<std::string> ResultsStore::finished_task_ids() const {
  // A task's latest row says how it ended (a rerun's failure after a success reruns it), as
  // the table reads it.
  std::map<std::string, bool> ok;
  for (const auto& r : rows())
    ok[r.value("task_id", "")] = r.value("status", "") == "ok";
  std::set<std::string> ids;
  for (const auto& [id, finished] : ok)
    if (finished)
      ids.insert(id);
  return ids;
}

} // namespace vfp::results
