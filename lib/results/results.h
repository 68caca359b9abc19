// vfp::results — the append-only results store (results.jsonl) of a sweep and the tables
// aggregated from it (mean ± std over folds).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp {
class RunLock; // core/core.h
}

namespace vfp::results {

/// results/<sweep>/results.jsonl: one JSON row per finished task, one line each; only the
/// `vfp run` coordinator writes it, under the sweep's run lock.
///
/// One policy for every reader (read_rows): a last line without its newline is a row that a
/// crash cut mid-append; it is left out with a warning naming file:line, and the file is not
/// touched (a reader may hold no lock and have no write access). Any other line that is not a
/// JSON object is an InputError naming file:line. Empty lines are skipped. Only the writer,
/// holding the run lock, cuts the torn line (ResultsStore's constructor) before it appends.
std::vector<nlohmann::json> read_rows(const std::filesystem::path& sweep_dir);
/// Ids of tasks whose latest row is a success.
std::set<std::string> finished_task_ids(const std::vector<nlohmann::json>& rows);

/// The writer of results.jsonl: the `vfp run` coordinator's, under the sweep's run lock.
class ResultsStore {
public:
  /// Opens (creating the folder) and cuts a torn last line left by a crash, so that the next
  /// row starts on a line of its own. `lock`: the sweep's run lock, held by this process, so
  /// that no other `vfp run` appends meanwhile.
  ResultsStore(std::filesystem::path sweep_dir, const RunLock& lock);
  /// Appends one row and fsyncs it.
  void append(const nlohmann::json& row);
  /// All rows, in file order (read_rows).
  std::vector<nlohmann::json> rows() const;
  /// Ids of tasks whose latest row is a success.
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

/// One outer fold's choice in a nested selection.
struct FoldChoice {
  int repeat = 0, fold = 0;
  std::string config_id, task_id; ///< the selected configuration and its outer task
  double inner_score = 0;         ///< what it was chosen on (never the outer test fold)
  double auroc = 0, auprc = 0;    ///< its outer test fold's figures
};

/// A fold choice as the selection row and `vfp report --format json` hold it, and back.
nlohmann::json to_json(const FoldChoice& choice);
FoldChoice fold_choice_from_json(const nlohmann::json& j);

/// Nested selection among the configurations `member_ids` (in sweep order): per outer split
/// (repeat, fold), the member with the best inner `metric` (auroc, auprc: highest; loss:
/// lowest). With `inner_folds` ≥ 2 the inner score is the mean over the split's `inner` rows;
/// with 0 it is the outer task's early-stopping validation figure (best_val_auroc,
/// best_val_auprc, best_val_loss). Ties go to the member listed first. Throws InputError when
/// a candidate lacks its inner results. Splits in (repeat, fold) order.
std::vector<FoldChoice> select_per_fold(const std::vector<nlohmann::json>& rows,
                                        const std::vector<std::string>& member_ids,
                                        const std::string& metric, int inner_folds);

/// One table row: a configuration's folds summarised, or a nested selection's.
struct TableRow {
  std::string config_id; ///< for a selected row, the selection group's id
  int config_index = 0;
  std::vector<std::string> axis_values;
  std::vector<double> auroc, auprc;        ///< per fold
  std::vector<std::pair<int, int>> splits; ///< (repeat, fold) of each auroc/auprc entry
  int failed = 0;                          ///< tasks whose latest row is a failure
  /// Folds whose test scores were all equal (no ranking information: AUROC 0.5 by ties, AP the
  /// prevalence), and whether the pooled out-of-fold scores were (from the cox row).
  int constant_score_folds = 0;
  bool constant_pooled_scores = false;
  /// A nested selection's row: per outer fold the selected configuration's test figures.
  bool selected = false;
  std::vector<FoldChoice> choices;
  std::string selection_metric;  ///< what a selected row chose on …
  int selection_inner_folds = 0; ///< … and where (0: the early-stopping split)
  /// From the configuration's cox row (pooled out-of-fold predictions), when there is one.
  bool has_survival = false;
  double c_index = 0, c_baseline = 0; ///< Harrell's C (apparent): score + age + BMI, age + BMI
  double c_index_corrected = -1;      ///< optimism-corrected (bootstrap); −1 when not computed
  double hr_per_sd = 0, hr_lower = 0, hr_upper = 0; ///< the score's HR per SD, age/BMI-adjusted
  /// Calibration of the cross-fitted recalibrated probabilities; negative brier when absent.
  double brier = -1, calibration_intercept = 0, calibration_slope = 0;
  std::string aggregation; ///< train.aggregation of the row's tasks ("" when unknown)
  /// Against the table's baseline row (compare_to_baseline); negative when not compared.
  double p_corrected_t = -1; ///< Nadeau–Bengio on the per-split AUROC differences
  double p_delong = -1;      ///< DeLong on the pooled out-of-fold predictions
  double p_corrected_t_holm = -1, p_delong_holm = -1; ///< Holm-adjusted over the rows compared
};

/// A result table: the swept keys as columns, then AUROC and AUPRC (average precision), and
/// the survival columns when any configuration has a cox row. Selected (nested) rows follow
/// the configurations' rows.
struct Table {
  std::vector<std::string> axes;
  std::vector<TableRow> rows;
  int expected_folds = 0;   ///< folds × repeats per configuration, 0 when unknown
  int folds_per_repeat = 0; ///< cv.folds, for n_test/n_train of the corrected t-test
  int baseline = -1;        ///< index into rows of the comparison's baseline, or −1
  bool survival = false;    ///< some row has_survival
  bool calibration = false; ///< some row has a brier score
  /// The selection that made the selected rows ("" when none): metric and inner folds.
  std::string selection_metric;
  int selection_inner_folds = 0;
  std::vector<std::string> selection_over;
  /// Subjects left out of the analysis (cohort.on_bad_subject: exclude), with the reason, from
  /// the train_eval rows; each subject once.
  std::vector<std::pair<std::string, std::string>> excluded;
};

/// The table as JSON (`vfp report --format json`): every row with its figures, and a
/// `selected` list: per group its axes, summary figures and folds [{repeat, fold, config_id,
/// inner_score, auroc, auprc}].
nlohmann::json to_json(const Table& table);

/// Groups train_eval rows by configuration and attaches each configuration's cox row. Each task
/// counts once, by its latest row (a later success supersedes an earlier failure and the other
/// way round), whatever order the rows came in; a configuration's axes come from whichever of
/// its rows carries them.
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
