// vfp::results, across sweeps: one table from several sweep folders that test the same
// subjects in the same folds, and the study file that lays out a study's tables. Apart from
// results.h, which every reader of one sweep folder includes; `vfp report` includes this one.
#pragma once

#include "results/results.h"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::results {

/// What decides which subjects a sweep tests in which fold: the split settings its tasks
/// declare and the test folds its out-of-fold predictions show. Two sweeps' rows can be
/// compared (a corrected t-test pairs folds, DeLong pairs subjects) only when these agree.
struct SplitFingerprint {
  std::string sweep; ///< the sweep folder, as messages name it
  /// "cv.folds", "cv.repeats", "cv.seed" (from tasks/<id>/config.json) and "cv.folds ×
  /// cv.repeats" (from the rows' expected_folds): every value the sweep's tasks hold.
  std::map<std::string, std::set<std::string>> declared;
  /// (repeat, fold) → subject → its event, from each finished outer task's oof.csv.
  std::map<std::pair<int, int>, std::map<std::string, int>> tested;
  /// 16 hex digits of both (recorded in the study folder's sources.json).
  std::string digest() const;
};

/// The fingerprint of a sweep from its rows (results.jsonl, or those kept of it) and the
/// files of its finished train_eval tasks.
SplitFingerprint split_fingerprint(const SweepFolder& sweep,
                                   const std::vector<nlohmann::json>& rows);

/// Refuses (InputError) a pair of sweeps whose split differs, naming the field (a declared
/// setting, the subjects of a test fold, a subject's event) and both sweeps with their values.
/// Returns notes on what could not be checked (two sweeps without a test fold in common).
std::vector<std::string> check_same_split(const std::vector<SplitFingerprint>& sweeps);

/// A row id made unique across sweeps: "<id>@<sweep name>".
std::string qualified_id(const std::string& id, const std::string& sweep_name);

/// Which rows a multi-sweep table shows and how it compares them: a table of the study file,
/// or what `vfp report DIR1 DIR2 … --out DIR` was given.
struct TableSpec {
  std::string name;                ///< the table's folder under the study's --out
  std::string origin;              ///< "file:line" of the table in the study file, or ""
  std::vector<std::string> sweeps; ///< sweep names (folders under the results root)
  std::string rows = "all";        ///< all, configurations or nested
  /// column → the values a row may show in it ("–", the key not swept in its sweep, passes).
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
  /// column → value: the one row every other row is tested against (study file) …
  std::vector<std::pair<std::string, std::string>> baseline_match;
  std::string baseline; ///< … or its position or id prefix (`--baseline`)
  std::string sort = "sweep";
};

/// A multi-sweep table and the study folder it was drawn from.
struct MultiSweepReport {
  Table table;
  std::vector<nlohmann::json> rows; ///< the study folder's results.jsonl
  std::vector<std::string> notes;   ///< unfinished sweeps, rows left out, checks not possible
};

/// Reads each sweep's rows (its current configurations unless `all`), checks that every pair
/// splits alike (check_same_split), writes `out` as a study folder (results.jsonl with ids
/// qualified and a "sweep" axis first, copies of the predictions and histories the report
/// reads, sources.json), and returns the table of `spec`'s rows, compared and sorted. A sweep
/// folder without results, `out` being one of the sweeps, or `out` holding results that a
/// multi-sweep report did not write: InputError.
MultiSweepReport multi_sweep_report(const std::vector<SweepFolder>& sweeps, const SweepFolder& out,
                                    const TableSpec& spec, bool all);

/// The table a study folder was written as (its sources.json): the spec and the sweeps' names,
/// so that `vfp report DIR` on the folder draws the same table again. A folder written before
/// the spec was recorded gives a spec of all rows sorted by sweep.
struct RecordedTable {
  TableSpec spec;
  std::vector<std::string> sweeps;
};
RecordedTable recorded_table(const SweepFolder& out);

/// A study folder's rows as `spec` lays them out: aggregated, the rows of rows: and where:
/// kept, compared with the baseline and sorted.
Table table_of_spec(const std::vector<nlohmann::json>& rows, const TableSpec& spec,
                    const SweepFolder& out);

/// The study file (sweeps/study/study.yaml): its tables in file order.
struct Study {
  std::string file;
  std::vector<TableSpec> tables;
};

/// Reads a study file. Unknown keys, a value of the wrong kind, a table without sweeps or a
/// name that is no folder name: InputError naming file:line.
Study read_study(const std::filesystem::path& file);

} // namespace vfp::results
