// vfp::results — the append-only results store (results.jsonl) of a sweep and the tables
// aggregated from it (mean ± std over folds).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp {
class RunLock; // core/core.h
}

namespace vfp::results {

/// The files of one outer or inner task: tasks/<task id>/.
struct TaskFiles {
  std::filesystem::path folder;
  std::filesystem::path config;      ///< config.json: the task and its resolved configuration
  std::filesystem::path log;         ///< log.txt
  std::filesystem::path model;       ///< model.safetensors (train.save_model)
  std::filesystem::path checkpoint;  ///< checkpoint.pt, while the task runs
  std::filesystem::path predictions; ///< oof.csv: the test fold's predictions (Prediction)
  std::filesystem::path history;     ///< history.csv: one line per epoch
};

/// The files of one BYOL pretraining: pretrain/<pretrain id>/.
struct PretrainFiles {
  std::filesystem::path folder, config, log, history;
  std::filesystem::path weights;  ///< byol.safetensors: the pretrained backbone
  std::filesystem::path progress; ///< progress.pt, while it runs
};

/// A configuration's (configurations/<id>/) or a nested selection's (selections/<id>/) pooled
/// analysis.
struct PooledFiles {
  std::filesystem::path folder;
  std::filesystem::path predictions; ///< oof.csv: one line per subject (PooledSubject)
  std::filesystem::path analysis;    ///< cox.json or selection.json: the row of that job
};

/// The sweep's report: report/.
struct ReportFiles {
  std::filesystem::path folder, figures, index, table_md, table_csv, table_tex;
};

/// results/<sweep>/: the one place that names the folder's files. Every module reads and writes
/// the sweep folder through it. Ids become one path component each (checked: no separator, not
/// "." or ".."), and a folder asked for is confined (core::confined_folder: no symlink on the
/// way), so a tampered id in results.jsonl cannot lead a read or a write elsewhere.
class SweepFolder {
public:
  /// `root`: results/<sweep>. Nothing is made or checked here. Implicit: a sweep folder is a
  /// path with a layout.
  SweepFolder(std::filesystem::path root) : root_(std::move(root)) {} // NOLINT
  SweepFolder(const char* root) : root_(root) {}                      // NOLINT
  /// <results_root>/<sweep_name> (the name one path component, the folder confined); made
  /// when `create`.
  static SweepFolder of_sweep(const std::filesystem::path& results_root,
                              const std::string& sweep_name, bool create);

  const std::filesystem::path& root() const { return root_; }
  /// The sweep's name: the folder's.
  std::string name() const;
  std::filesystem::path results() const { return root_ / "results.jsonl"; }
  std::filesystem::path run_lock() const { return root_ / "run.lock"; }
  std::filesystem::path status() const { return root_ / "status.json"; }
  /// sweep.yaml: the sweep file's text as the last `vfp run` read it.
  std::filesystem::path sweep_file() const { return root_ / "sweep.yaml"; }
  /// tasks/: one folder per outer and inner task (task()).
  std::filesystem::path tasks_folder() const { return root_ / "tasks"; }
  /// configurations.json: the configuration ids of the sweep as last run.
  std::filesystem::path current_configurations() const { return root_ / "configurations.json"; }
  /// slurm/: the sbatch scripts `vfp slurm submit` wrote and their jobs' logs.
  std::filesystem::path slurm_folder() const { return root_ / "slurm"; }
  /// slurm/jobs.jsonl: one line per `vfp slurm submit`.
  std::filesystem::path slurm_jobs() const { return slurm_folder() / "jobs.jsonl"; }
  /// sources.json: in a study folder (several sweeps in one table, results/study.h), the sweep
  /// folders its rows come from.
  std::filesystem::path sources() const { return root_ / "sources.json"; }

  /// With `create`, the folder is made; without, nothing is made (a read or a dry run).
  TaskFiles task(const std::string& task_id, bool create = false) const;
  PretrainFiles pretrain(const std::string& pretrain_id, bool create = false) const;
  PooledFiles configuration(const std::string& config_id, bool create = false) const;
  PooledFiles selection(const std::string& group_id, bool create = false) const;
  ReportFiles report(bool create = false) const;
  /// The task folders on disk (tasks/*/), in name order; a symlink among them is an IoError.
  std::vector<TaskFiles> task_folders() const;

private:
  std::filesystem::path root_;
};

/// One subject's prediction in a task's test fold, as tasks/<id>/oof.csv holds it.
struct Prediction {
  std::string subject_id;
  int repeat = 0, fold = 0;
  double score = 0; ///< the model's patient-level output (train.aggregation over its patches)
  int event = 0;    ///< the label: a fracture within the follow-up
  double age = 0, bmi = 0, time_years = 0;
};

/// A task's predictions as oof.csv (RFC 4180 quoting), and back. The reader refuses an event
/// other than 0/1, a negative time or an empty subject id, naming file:line and the subject.
std::string predictions_csv(const std::vector<Prediction>& predictions);
std::vector<Prediction> read_predictions(const std::filesystem::path& file);

/// One subject's pooled out-of-fold prediction: the mean score over the CV repeats that tested it.
struct PooledSubject {
  std::string id;
  double score = 0;
  int repeats = 0;
  int fold = 0; ///< its outer fold in repeat 0
  double age = 0, bmi = 0, time = 0;
  int event = 0;
};

/// Reads tasks/<id>/oof.csv of every task and pools by subject (in subject id order).
std::vector<PooledSubject> pool_predictions(const SweepFolder& sweep,
                                            const std::vector<std::string>& task_ids);
/// The pooled predictions as configurations/<id>/oof.csv holds them (RFC 4180 quoting), and
/// back (same checks as read_predictions; `repeats` is not kept in the file and reads as 0).
std::string pooled_csv(const std::vector<PooledSubject>& pooled);
/// The pooled subjects as columns, in the same order: what the statistics take.
struct PooledColumns {
  std::vector<double> score, time, age, bmi;
  std::vector<int> event, fold;
};
PooledColumns columns_of(const std::vector<PooledSubject>& pooled);
std::vector<PooledSubject> read_pooled(const std::filesystem::path& file);

/// results/<sweep>/results.jsonl: one JSON row per finished task, one line each; only the
/// `vfp run` coordinator writes it, under the sweep's run lock.
///
/// One policy for every reader (read_rows): a last line without its newline is a row that a
/// crash cut mid-append; it is left out with a warning naming file:line, and the file is not
/// touched (a reader may hold no lock and have no write access). Any other line that is not a
/// JSON object is an InputError naming file:line. Empty lines are skipped. Only the writer,
/// holding the run lock, cuts the torn line (ResultsStore's constructor) before it appends.
std::vector<nlohmann::json> read_rows(const SweepFolder& sweep);
/// Ids of tasks whose latest row is a success.
std::set<std::string> finished_task_ids(const std::vector<nlohmann::json>& rows);

/// A configuration that the sweep's rows hold: what a resumed sweep matches its
/// configurations against (sweep::stored_configuration_ids) to find results that an older vfp
/// filed under ids that hashed runtime settings.
struct RecordedConfiguration {
  std::string id;
  /// The distinct "config"s its finished tasks' config.json files hold (tasks run with other
  /// runtime settings record other values); empty, with a warning naming the configuration,
  /// when none reads.
  std::vector<nlohmann::json> configs;
  int finished = 0; ///< its train_eval and inner tasks whose latest row is a success
};
/// Every configuration with a finished task in `rows`, in id order.
std::vector<RecordedConfiguration> recorded_configurations(const SweepFolder& sweep,
                                                           const std::vector<nlohmann::json>& rows);

/// The writer of results.jsonl: the `vfp run` coordinator's, under the sweep's run lock.
class ResultsStore {
public:
  /// Opens (creating the folder) and cuts a torn last line left by a crash, so that the next
  /// row starts on a line of its own. `lock`: the sweep's run lock, held by this process, so
  /// that no other `vfp run` appends meanwhile.
  ResultsStore(SweepFolder sweep, const RunLock& lock);
  /// Appends one row and fsyncs it.
  void append(const nlohmann::json& row);
  /// All rows, in file order (read_rows).
  std::vector<nlohmann::json> rows() const;
  /// Ids of tasks whose latest row is a success.
  std::set<std::string> finished_task_ids() const;
  const SweepFolder& sweep() const { return sweep_; }

private:
  SweepFolder sweep_;
};

/// The configuration ids of the sweep as last run, saved as `configurations.json` in the
/// sweep folder, so that the table shows the current sweep and not configurations that an
/// edit of the sweep file has replaced (their rows stay in results.jsonl).
void save_current_configurations(const SweepFolder& sweep,
                                 const std::vector<std::string>& config_ids);
/// The saved ids; empty when the folder has none (results of an older vfp).
std::set<std::string> current_configurations(const SweepFolder& sweep);
/// The rows of the given configurations (all rows when `config_ids` is empty); `left_out`
/// counts the train_eval rows of other configurations. Rows of no configuration (a pretraining's)
/// are left out without being counted, but for those of the pretrainings a kept row names
/// (pretrain_id), which come last.
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

// Typed rows of results.jsonl

/// Where and with what a row was made: every row of this vfp has one ("provenance"); rows of an
/// older vfp have none and count as kUnknownVersion. Text fields are "" when not known, and are
/// then not written.
struct Provenance {
  std::string version;  ///< vfp::version() of the build: "0.1.0 (git v1.2-3-gabc1234-dirty)"
  std::string libtorch; ///< the LibTorch the build links (jobs without torch record it too)
  std::string device;   ///< where a torch job ran: "cpu" or "cuda:<index>"
  std::string device_name, cuda, cudnn; ///< on CUDA only: the GPU's name, CUDA runtime, cuDNN
  std::string host;
  std::optional<int> world_size; ///< MPI ranks of the run
  /// SLURM_JOB_ID, SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID and SLURM_RESTART_COUNT as set.
  std::string slurm_job_id, slurm_array_job_id, slurm_array_task_id;
  std::optional<int> slurm_restart_count;
  std::string started, ended; ///< the job's start and end, UTC ISO 8601 ("…T…Z")
  nlohmann::json extra = nlohmann::json::object(); ///< keys this vfp does not know: kept
};

/// What a row without provenance counts as: a row of a vfp older than provenance.
inline constexpr const char* kUnknownVersion = "unknown version";

/// The keys of every row: which job wrote it and how the coordinator recorded it.
struct RowHeader {
  std::string kind;    ///< train_eval, inner, pretrain, cox, selection (or a kind of a newer vfp)
  std::string task_id; ///< the job's id (a selection's: its group id)
  /// "ok" or "failed"; "" in a row no coordinator recorded (a task's return value, cox.json).
  std::string status;
  std::optional<int> rank;                         ///< the MPI rank that ran it
  std::optional<std::int64_t> finished;            ///< when it was recorded (Unix time)
  std::optional<double> seconds;                   ///< the job's wall time
  std::optional<Provenance> provenance;            ///< unset in rows of an older vfp
  nlohmann::json extra = nlohmann::json::object(); ///< keys this vfp does not know: kept
  bool ok() const { return status == "ok"; }
};

/// The keys a train_eval or inner task's row carries whether it succeeded or failed: what the
/// table needs of its configuration and split.
struct TaskKeys {
  std::string config_id;
  int config_index = 0; ///< the configuration's position in the sweep
  std::vector<std::pair<std::string, std::string>> axes; ///< swept key → value, in sweep order
  int fold = 0, repeat = 0;
  int expected_folds = 0;         ///< cv.folds × cv.repeats; 0 in rows of an older vfp
  std::optional<int> inner_fold;  ///< inner rows only
  std::optional<int> inner_folds; ///< successful inner rows only
};

/// A subject that took no part in a task, and why (cohort.on_bad_subject: exclude).
struct ExcludedSubject {
  std::string subject, reason;
};

/// A train_eval (outer fold) or inner (inner fold) task's success row: tasks/train_eval.cpp.
/// Keys that rows of an older vfp lack read as their defaults; the optional ones stay unset.
struct TrainEvalRow : RowHeader, TaskKeys {
  std::uint64_t seed = 0;
  double auroc = 0, auprc = 0; ///< of the test fold; a non-finite value (null) reads as NaN
  std::optional<double> loss;  ///< the test fold's patch-level log loss
  std::size_t n_test = 0, n_test_positive = 0;
  int best_epoch = 0, epochs = 0, resumed_from_epoch = 0;
  /// The early-stopping validation split's best figures (nested selection without inner folds).
  std::optional<double> best_val_auroc, best_val_auprc, best_val_loss;
  std::string aggregation; ///< train.aggregation
  int threads = 0;
  double train_seconds = 0, data_wait_share = 0, overhead_share = 0;
  bool constant_scores = false; ///< every test score equal (written only when true)
  std::vector<ExcludedSubject> excluded;
};

/// A train_eval or inner task that failed for good: the coordinator's row for it.
struct FailureRow : RowHeader, TaskKeys {
  std::string reason;
};

/// A BYOL pretraining's row: tasks/pretrain.cpp (provenance; no table reads it).
struct PretrainRow : RowHeader {
  std::string checkpoint;
  bool reused = false; ///< the weights were already there (written only when true)
  std::uint64_t seed = 0;
  std::size_t patches = 0, epochs = 0, steps = 0;
  int resumed_from_epoch = 0;
  double final_loss = 0;
  int threads = 0;
};

/// The pooled out-of-fold analysis a cox or selection row carries (tasks' analyse_pooled): its
/// figures stay JSON, as the analysis wrote them.
struct PooledAnalysis {
  std::size_t subjects = 0;
  nlohmann::json pooled;                       ///< discrimination; null when absent
  nlohmann::json calibration, survival;        ///< null when not computed …
  std::string calibration_note, survival_note; ///< … and why
};

/// A configuration's pooled analysis: tasks/cox.cpp (also configurations/<id>/cox.json).
struct CoxRow : RowHeader, PooledAnalysis {
  std::string config_id;
  int config_index = 0;
};

/// A nested selection's row: tasks/selection.cpp (also selections/<id>/selection.json).
struct SelectionRow : RowHeader, PooledAnalysis {
  std::vector<std::string> members, over; ///< configuration ids chosen among; the keys chosen
  std::string metric;
  int inner_folds = 0;
  std::vector<std::pair<std::string, std::string>> axes;
  std::vector<FoldChoice> folds;
  std::map<std::string, int> wins; ///< per configuration id, the folds it was chosen for
};

/// A row of a kind this vfp does not know: its header, everything else in `extra`.
struct OtherRow : RowHeader {};

/// One row of results.jsonl, typed. A train_eval or inner row whose status is set and not "ok"
/// is a FailureRow.
using Row = std::variant<TrainEvalRow, FailureRow, PretrainRow, CoxRow, SelectionRow, OtherRow>;

/// Reads a row, tolerantly: a missing key reads as its default, an unknown key goes to
/// `extra`. A key of the wrong type is an InputError naming the key, the task and its kind.
Row row_from_json(const nlohmann::json& row);
/// The row as JSON: to_json(row_from_json(j)) == j for rows this vfp writes.
nlohmann::json to_json(const Row& row);
/// The header every kind of row has.
const RowHeader& header_of(const Row& row);
/// Each kind on its own (row_from_json picks one of these).
void from_json(const nlohmann::json& j, TrainEvalRow& row);
void from_json(const nlohmann::json& j, FailureRow& row);
void from_json(const nlohmann::json& j, PretrainRow& row);
void from_json(const nlohmann::json& j, CoxRow& row);
void from_json(const nlohmann::json& j, SelectionRow& row);
void from_json(const nlohmann::json& j, OtherRow& row);
nlohmann::json to_json(const TrainEvalRow& row);
nlohmann::json to_json(const FailureRow& row);
nlohmann::json to_json(const PretrainRow& row);
nlohmann::json to_json(const CoxRow& row);
nlohmann::json to_json(const SelectionRow& row);
nlohmann::json to_json(const OtherRow& row);
/// Every row typed, in order.
std::vector<Row> typed_rows(const std::vector<nlohmann::json>& rows);

/// A row's "provenance" object, as rows carry it.
nlohmann::json to_json(const Provenance& provenance);

/// Rows per code version (provenance.version; kUnknownVersion for a row without one).
std::map<std::string, int> code_versions(const std::vector<Row>& rows);
std::map<std::string, int> code_versions(const std::vector<nlohmann::json>& rows);
/// "0.1.0 (git abc1234) (12 rows), unknown version (4 rows)": the versions and their counts.
std::string versions_text(const std::map<std::string, int>& versions);
/// "" when every row of `versions` is of `current`; else what `vfp run` says before it adds
/// rows of `current` to them.
std::string other_versions_message(const std::map<std::string, int>& versions,
                                   const std::string& current);

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
  /// The rows it was made from per code version (code_versions): more than one, and the
  /// footnote names them.
  std::map<std::string, int> versions;
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
void compare_to_baseline(Table& table, int baseline, const SweepFolder& sweep);

/// Writes report/table.md, table.csv and table.tex of the sweep (each atomically); returns the
/// Markdown.
std::string write_tables(const SweepFolder& sweep, const Table& table);

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
