#include "results/results.h"

#include "core/core.h"

#include <fstream>
#include <map>
#include <set>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace vfp::results {

std::vector<nlohmann::json> read_rows(const SweepFolder& sweep) {
  const auto path = sweep.results();
  std::vector<nlohmann::json> out;
  if (!std::filesystem::exists(path))
    return out;
  const auto text = read_text_file(path);
  std::size_t at = 0;
  for (int n = 1; at < text.size(); ++n) {
    const auto end = text.find('\n', at);
    if (end == std::string::npos) { // no newline: a crash cut the last append
      spdlog::warn("{}:{}: ignoring a torn last line (no newline; a crash mid-append?); the next "
                   "`vfp run` of the sweep cuts it",
                   path.string(), n);
      break;
    }
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.empty())
      continue;
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(path.string() + ":" + std::to_string(n) + ": not a JSON row: " + e.what());
    }
    if (!row.is_object())
      throw InputError(path.string() + ":" + std::to_string(n) + ": not a JSON object");
    out.push_back(std::move(row));
  }
  return out;
}

std::set<std::string> finished_task_ids(const std::vector<nlohmann::json>& rows) {
  // A task's latest row says how it ended (a rerun's failure after a success reruns it), as
  // the table reads it.
  std::map<std::string, bool> ok;
  for (const auto& r : rows) {
    const auto row = row_from_json(r);
    ok[header_of(row).task_id] = header_of(row).ok();
  }
  std::set<std::string> ids;
  for (const auto& [id, finished] : ok)
    if (finished)
      ids.insert(id);
  return ids;
}

std::vector<RecordedConfiguration>
recorded_configurations(const SweepFolder& sweep, const std::vector<nlohmann::json>& rows) {
  const auto finished = finished_task_ids(rows);
  std::map<std::string, std::set<std::string>> tasks_of; // configuration → finished tasks
  for (const auto& r : rows) {
    const auto row = row_from_json(r);
    if (const auto* t = std::get_if<TrainEvalRow>(&row); t && finished.count(t->task_id) > 0)
      tasks_of[t->config_id].insert(t->task_id);
  }
  std::vector<RecordedConfiguration> out;
  for (const auto& [id, tasks] : tasks_of) {
    RecordedConfiguration c{id, {}, static_cast<int>(tasks.size())};
    std::set<std::string> seen;
    std::string problem;
    for (const auto& task : tasks) {
      try {
        auto config = nlohmann::json::parse(read_text_file(sweep.task(task).config)).at("config");
        if (seen.insert(config.dump()).second)
          c.configs.push_back(std::move(config));
      } catch (const std::exception& e) {
        problem = e.what();
      }
    }
    if (c.configs.empty())
      spdlog::warn("configuration {}: no config.json of its tasks reads ({}); its results are "
                   "found by their id only",
                   id, problem);
    out.push_back(std::move(c));
  }
  return out;
}

ResultsStore::ResultsStore(SweepFolder sweep, const RunLock& /*lock*/) : sweep_(std::move(sweep)) {
  std::error_code ec;
  std::filesystem::create_directories(sweep_.root(), ec);
  if (ec)
    throw IoError("cannot create results folder " + sweep_.root().string() + ": " + ec.message());
  const auto path = sweep_.results();
  if (!std::filesystem::exists(path))
    return;
  // A crash mid-append can leave a partial last row: cut it so the next row starts clean.
  // Only here, under the run lock; readers leave it (read_rows).
  const auto text = read_text_file(path);
  if (!text.empty() && text.back() != '\n') {
    const auto newline = text.rfind('\n');
    const auto keep = newline == std::string::npos ? 0 : newline + 1;
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0)
      throw IoError("cannot repair torn last row of " + path.string());
    spdlog::warn("{}: cut a torn last line (a crash mid-append)", path.string());
  }
}

void ResultsStore::append(const nlohmann::json& row) {
  append_line_durably(sweep_.results(), row.dump());
}

std::vector<nlohmann::json> ResultsStore::rows() const {
  return read_rows(sweep_);
}

std::set<std::string> ResultsStore::finished_task_ids() const {
  return results::finished_task_ids(rows());
}

} // namespace vfp::results
