// Which configurations the sweep holds now: the table reports those.
#include "results/results.h"

#include <algorithm>

#include "core/core.h"

namespace vfp::results {

void save_current_configurations(const SweepFolder& sweep,
                                 const std::vector<std::string>& config_ids) {
  write_file_atomically(sweep.current_configurations(),
                        nlohmann::json({{"configurations", config_ids}}).dump(1) + "\n");
}

std::set<std::string> current_configurations(const SweepFolder& sweep) {
  const auto file = sweep.current_configurations();
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

namespace {

/// The configuration a row belongs to; null for a row of none (a pretraining's).
const std::string* config_of(const Row& row) {
  if (const auto* r = std::get_if<TrainEvalRow>(&row))
    return &r->config_id;
  if (const auto* r = std::get_if<FailureRow>(&row))
    return &r->config_id;
  if (const auto* r = std::get_if<CoxRow>(&row))
    return &r->config_id;
  return nullptr;
}

} // namespace

std::vector<nlohmann::json> rows_of_configurations(const std::vector<nlohmann::json>& rows,
                                                   const std::set<std::string>& config_ids,
                                                   int* left_out) {
  std::vector<nlohmann::json> out;
  int others = 0;
  for (const auto& row : rows) {
    const auto typed = row_from_json(row);
    if (const auto* selection = std::get_if<SelectionRow>(&typed)) { // current when every member is
      const auto& members = selection->members;
      if (config_ids.empty() || std::all_of(members.begin(), members.end(), [&](const auto& id) {
            return config_ids.count(id) > 0;
          }))
        out.push_back(row);
      continue;
    }
    const auto* config_id = config_of(typed);
    if (!config_ids.empty() && (!config_id || config_id->empty()))
      continue; // not a configuration's row (a pretraining's provenance): neither kept nor counted
    if (config_ids.empty() || config_ids.count(*config_id))
      out.push_back(row);
    else if (header_of(typed).kind == "train_eval")
      ++others; // the rows the table would have shown (a configuration's cox row is not one)
  }
  // The pretrainings the kept tasks used (their rows' pretrain_id): the report says what data
  // each saw.
  std::set<std::string> pretrainings;
  for (const auto& row : out)
    if (row.contains("pretrain_id") && row["pretrain_id"].is_string())
      pretrainings.insert(row["pretrain_id"].get<std::string>());
  if (!config_ids.empty() && !pretrainings.empty())
    for (const auto& row : rows)
      if (row.value("kind", "") == "pretrain" && pretrainings.count(row.value("task_id", "")))
        out.push_back(row);
  if (left_out)
    *left_out = others;
  return out;
}

} // namespace vfp::results
