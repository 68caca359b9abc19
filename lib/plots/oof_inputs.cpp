// Reading the out-of-fold predictions of the report's figures (oof_inputs.h).
#include "oof_inputs.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

namespace vfp::plots {

namespace fs = std::filesystem;

std::optional<Pooled> pooled_of_row(const results::SweepFolder& sweep,
                                    const results::TableRow& row) {
  fs::path file;
  try {
    file = (row.selected ? sweep.selection(row.config_id) : sweep.configuration(row.config_id))
               .predictions;
  } catch (const InputError&) { // an id that is no path component: no file of this sweep
    return std::nullopt;
  }
  if (!fs::exists(file))
    return std::nullopt;
  Pooled p;
  static_cast<results::PooledColumns&>(p) = results::columns_of(results::read_pooled(file));
  p.has_time = !p.time.empty() &&
               std::all_of(p.time.begin(), p.time.end(), [](double t) { return std::isfinite(t); });
  return p;
}

std::vector<std::pair<std::vector<double>, std::vector<int>>>
split_predictions(const results::SweepFolder& sweep, const std::vector<std::string>& tasks,
                  const Pooled* pooled) {
  std::vector<std::pair<std::vector<double>, std::vector<int>>> splits;
  bool complete = true;
  for (const auto& task : tasks) {
    fs::path file;
    try {
      file = sweep.task(task).predictions;
    } catch (const InputError&) { // an id that is no path component: not a task of this sweep
      continue;
    }
    if (!fs::exists(file)) {
      complete = false;
      break;
    }
    std::pair<std::vector<double>, std::vector<int>> s;
    for (const auto& p : results::read_predictions(file)) {
      s.first.push_back(p.score);
      s.second.push_back(p.event);
    }
    splits.push_back(std::move(s));
  }
  if ((complete && !splits.empty()) || !pooled)
    return complete ? splits : decltype(splits){};
  std::map<int, std::pair<std::vector<double>, std::vector<int>>> by_fold;
  for (std::size_t i = 0; i < pooled->score.size(); ++i) {
    by_fold[pooled->fold[i]].first.push_back(pooled->score[i]);
    by_fold[pooled->fold[i]].second.push_back(pooled->event[i]);
  }
  splits.clear();
  for (auto& [fold, s] : by_fold)
    splits.push_back(std::move(s));
  return splits;
}

} // namespace vfp::plots
