// Which configurations the sweep holds now: the table reports those.
#include "results/results.h"

#include <algorithm>

#include "core/core.h"

namespace vfp::results {

namespace {
std::filesystem::path configurations_file(const std::filesystem::path& sweep_dir) {
  return sweep_dir / "configurations.json";
}
} // namespace

void save_current_configurations(const std::filesystem::path& sweep_dir,
                                 const std::vector<std::string>& config_ids) {
  write_file_atomically(configurations_file(sweep_dir),
                        nlohmann::json({{"configurations", config_ids}}).dump(1) + "\n");
}

std::set<std::string> current_configurations(const std::filesystem::path& sweep_dir) {
  const auto file = configurations_file(sweep_dir);
  if (!std::filesystem::exists(file))
    return {};
  try {
    return nlohmann::json::parse(read_text_file(file))
        .at("configurations")
        .get<std::set<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file.string() + ": not a list of configuration ids (" + e.what() +
                     "); delete it to report every configuration");
  }
}

std::vector<nlohmann::json> rows_of_configurations(const std::vector<nlohmann::json>& rows,
                                                   const std::set<std::string>& config_ids,
                                                   int* left_out) {
  std::vector<nlohmann::json> out;
  int others = 0;
  for (const auto& row : rows) {
    if (row.value("kind", "") == "selection") { // current when every member is
      const auto members = row.value("members", std::vector<std::string>{});
      if (config_ids.empty() || std::all_of(members.begin(), members.end(), [&](const auto& id) {
            return config_ids.count(id) > 0;
          }))
        out.push_back(row);
      continue;
    }
    if (!config_ids.empty() && !row.contains("config_id"))
      continue; // not a configuration's row (a pretraining's provenance): neither kept nor counted
    const bool current =
        config_ids.empty() || (row.contains("config_id") && row["config_id"].is_string() &&
                               config_ids.count(row["config_id"].get<std::string>()));
    if (current)
      out.push_back(row);
    else if (row.value("kind", "") == "train_eval")
      ++others; // the rows the table would have shown (a configuration's cox row is not one)
  }
  if (left_out)
    *left_out = others;
  return out;
}

} // namespace vfp::results
