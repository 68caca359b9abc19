#include "stored_ids.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace vfp::runner {

std::map<int, std::string> keep_stored_ids(sweep::Sweep& sweep,
                                           const results::SweepFolder& folder) {
  const auto rows = results::read_rows(folder);
  if (rows.empty())
    return {};
  std::vector<sweep::StoredConfiguration> stored;
  for (auto& r : results::recorded_configurations(folder, rows))
    stored.push_back({r.id, std::move(r.configs), r.finished});
  auto ids = sweep::stored_configuration_ids(sweep, stored);
  for (const auto& [index, id] : ids)
    spdlog::info("configuration {} keeps the id {} of its results on file: they were written by "
                 "a vfp that counted runtime settings (train.threads, train.save_model, ...) in "
                 "configuration ids",
                 sweep.configurations[std::size_t(index)].id, id);
  sweep::use_configuration_ids(sweep, ids);
  return ids;
}

} // namespace vfp::runner
