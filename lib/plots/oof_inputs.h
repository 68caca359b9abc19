// Private to lib/plots: the out-of-fold predictions the report's figures are drawn from, read
// through lib/results (results::read_pooled, results::read_predictions) from the sweep folder.
#pragma once

#include "results/results.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vfp::plots {

/// A pooled out-of-fold file as columns (results::columns_of): one entry per subject.
struct Pooled : results::PooledColumns {
  bool has_time = false; ///< every subject has a follow-up time (files of older vfp had none)
};

/// A table row's pooled predictions: configurations/<id>/oof.csv, or selections/<id>/oof.csv
/// for a nested selection. None when the file is not there yet, or when the id cannot name a
/// folder (a tampered row: nothing is read outside the sweep folder).
std::optional<Pooled> pooled_of_row(const results::SweepFolder& sweep,
                                    const results::TableRow& row);

/// The per-split predictions (scores, 0/1 labels) of `tasks`: each task's tasks/<id>/oof.csv,
/// or, when one is missing, the pooled file split by fold (none without it).
std::vector<std::pair<std::vector<double>, std::vector<int>>>
split_predictions(const results::SweepFolder& sweep, const std::vector<std::string>& tasks,
                  const Pooled* pooled);

} // namespace vfp::plots
