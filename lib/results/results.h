// vfp::results — the append-only results store (results.jsonl) of a sweep and the tables
// aggregated from it (mean ± std over folds).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
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
  std::vector<double> auroc, auprc;        ///< per fold
  std::vector<std::pair<int, int>> splits; ///< (repeat, fold) of each auroc/auprc entry
  int failed = 0;
  /// From the configuration's cox row (pooled out-of-fold predictions), when there is one.
  bool has_survival = false;
  double c_index = 0, c_baseline = 0;               ///< Harrell's C: score + age + BMI, age + BMI
  double hr_per_sd = 0, hr_lower = 0, hr_upper = 0; ///< the score's standardized HR
  /// Against the table's baseline row (compare_to_baseline); negative when not compared.
  double p_corrected_t = -1; ///< Nadeau–Bengio on the per-split AUROC differences
  double p_delong = -1;      ///< DeLong on the pooled out-of-fold predictions
};

/// A result table: the swept keys as columns, then AUROC and AUPRC (average precision), and
/// the survival columns when any configuration has a cox row.
struct Table {
  std::vector<std::string> axes;
  std::vector<TableRow> rows;
  int expected_folds = 0;   ///< folds × repeats per configuration, 0 when unknown
  int folds_per_repeat = 0; ///< cv.folds, for n_test/n_train of the corrected t-test
  int baseline = -1;        ///< index into rows of the comparison's baseline, or −1
  bool survival = false;    ///< some row has_survival
};

/// Groups successful train_eval rows by configuration (duplicates by task id count once) and
/// attaches each configuration's cox row.
Table aggregate(const std::vector<nlohmann::json>& rows);

/// Orders the rows by `by` (auroc, auprc or c_index; mean, best first) or keeps the sweep's
/// order for "sweep". Throws InputError naming an unknown key.
void sort_rows(Table& table, const std::string& by);

/// The row that `which` names: its position in the table (0-based, as printed), or a prefix of
/// its configuration id. Throws InputError saying what the table holds.
int find_row(const Table& table, const std::string& which);

/// Tests every row against row `baseline`: the corrected resampled t-test on the AUROC
/// differences of the splits both have (n_test/n_train = 1/(folds − 1)), and DeLong's test on
/// the pooled out-of-fold predictions in <sweep_dir>/configurations/<id>/oof.csv (paired by
/// subject) where both files exist.
void compare_to_baseline(Table& table, int baseline, const std::filesystem::path& sweep_dir);

/// Markdown: AUROC and AUPRC in % as mean ± sample SD over folds, the best of each column in
/// bold, the survival columns and the comparison's markers when present.
std::string to_markdown(const Table& table);

/// LaTeX (booktabs) of the same table, for a paper.
std::string to_latex(const Table& table);

/// CSV with means, SDs and fold counts (fractions, not %), survival and p-values.
std::string to_csv(const Table& table);

/// An HTML <table> of the same cells as to_markdown (best in <strong>, markers, the footnote
/// as a caption); every text from the results is escaped.
std::string to_html(const Table& table);

/// Text made safe for HTML element content and quoted attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

} // namespace vfp::results
