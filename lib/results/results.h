// vfp::results — the append-only results store (results.jsonl) of a sweep and the tables
// aggregated from it (mean ± std over folds).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::results {

/// results/<sweep>/results.jsonl: one JSON row per finished task; only the coordinator writes.
class ResultsStore {
public:
  /// Opens (creating the folder) and repairs a torn last line left by a crash.
  explicit ResultsStore(std::filesystem::path sweep_dir);
  /// Appends one row and fsyncs it.
  void append(const nlohmann::json& row);
  /// All rows, in file order.
  std::vector<nlohmann::json> rows() const;
  /// Ids of tasks that finished successfully.
  std::set<std::string> finished_task_ids() const;
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path file() const { return dir_ / "results.jsonl"; }

private:
  std::filesystem::path dir_;
};

/// The configuration ids of the sweep as last run, saved as `configurations.json` in the
/// sweep folder, so that the table shows the current sweep and not configurations that an
/// edit of the sweep file has replaced (their rows stay in results.jsonl).
void save_current_configurations(const std::filesystem::path& sweep_dir,
                                 const std::vector<std::string>& config_ids);
/// The saved ids; empty when the folder has none (results of an older vfp).
std::set<std::string> current_configurations(const std::filesystem::path& sweep_dir);
/// The rows of the given configurations (all rows when `config_ids` is empty); `left_out`
/// counts the train_eval rows of other configurations. Rows of no configuration (a pretraining's)
/// are left out without being counted.
std::vector<nlohmann::json> rows_of_configurations(const std::vector<nlohmann::json>& rows,
                                                   const std::set<std::string>& config_ids,
                                                   int* left_out = nullptr);

/// One table row: a configuration's folds summarised.
struct TableRow {
  std::string config_id;
  int config_index = 0;
  std::vector<std::string> axis_values;
  std::vector<double> auroc, auprc; ///< per fold
  int failed = 0;
};

/// A result table: the swept keys as columns, then AUROC and AUPRC (average precision).
struct Table {
  std::vector<std::string> axes;
  std::vector<TableRow> rows;
  int expected_folds = 0; ///< folds × repeats per configuration, 0 when unknown
};

/// Groups successful train_eval rows by configuration (duplicates by task id count once).
Table aggregate(const std::vector<nlohmann::json>& rows);

/// Markdown: AUROC and AUPRC in % as mean ± sample SD over folds.
std::string to_markdown(const Table& table);

/// CSV with means, SDs and fold counts (fractions, not %).
std::string to_csv(const Table& table);

} // namespace vfp::results
