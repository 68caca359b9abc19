// Several sweeps in one table: their rows merged into a study folder (ids qualified by sweep,
// a "sweep" column first, the predictions the report reads copied beside them), so that the
// one-sweep table, comparison and page code draws it unchanged (study.h).
#include "results/study.h"

#include "core/core.h"

#include <algorithm>

namespace vfp::results {

namespace fs = std::filesystem;

std::string qualified_id(const std::string& id, const std::string& sweep_name) {
  return id + "@" + sweep_name;
}

namespace {

/// A sweep's rows as the table reads them, with what the report says about them.
struct SweepRows {
  SweepFolder folder;
  std::vector<nlohmann::json> rows;
};

/// Rows of one sweep apart in the merged table: configuration index offset per sweep.
constexpr int kSweepIndexStride = 1 << 20;

/// `row` with every id qualified by `sweep` and the sweep as its first swept key.
nlohmann::json qualified_row(nlohmann::json row, const std::string& sweep, int index_offset) {
  const auto q = [&](nlohmann::json& value) {
    if (value.is_string())
      value = qualified_id(value.get<std::string>(), sweep);
  };
  for (const char* key : {"task_id", "config_id", "pretrain_id"})
    if (row.contains(key))
      q(row[key]);
  if (row.contains("config_index") && row["config_index"].is_number_integer())
    row["config_index"] = row["config_index"].get<int>() + index_offset;
  const auto kind = row.value("kind", "");
  if (kind == "selection") {
    if (row.contains("members") && row["members"].is_array())
      for (auto& m : row["members"])
        q(m);
    if (row.contains("folds") && row["folds"].is_array())
      for (auto& f : row["folds"])
        if (f.is_object())
          for (const char* key : {"config_id", "task_id"})
            if (f.contains(key))
              q(f[key]);
  }
  if (kind == "train_eval" || kind == "inner" || kind == "selection") {
    auto axes = nlohmann::json::array({nlohmann::json::array({"sweep", sweep})});
    if (row.contains("axes") && row["axes"].is_array())
      for (const auto& a : row["axes"])
        axes.push_back(a);
    row["axes"] = axes;
  }
  return row;
}

/// Copies `from` to `to` when it exists (the report reads what is there, as for one sweep).
void copy_if_there(const fs::path& from, const fs::path& to) {
  if (fs::exists(from))
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

/// The files of `row` the report reads, from its sweep into the study folder.
void copy_files(const nlohmann::json& row, const SweepFolder& from, const SweepFolder& to,
                const std::string& sweep) {
  const auto kind = row.value("kind", "");
  const auto id = kind == "cox" ? row.value("config_id", "") : row.value("task_id", "");
  if (id.empty())
    return;
  try {
    if (kind == "train_eval") { // outer tasks: their folds' curves and learning curves
      const auto source = from.task(id);
      if (!fs::exists(source.predictions) && !fs::exists(source.history))
        return;
      const auto target = to.task(qualified_id(id, sweep), true);
      copy_if_there(source.predictions, target.predictions);
      copy_if_there(source.history, target.history);
    } else if (kind == "cox") {
      const auto source = from.configuration(id).predictions;
      if (fs::exists(source))
        copy_if_there(source, to.configuration(qualified_id(id, sweep), true).predictions);
    } else if (kind == "selection") {
      const auto source = from.selection(id).predictions;
      if (fs::exists(source))
        copy_if_there(source, to.selection(qualified_id(id, sweep), true).predictions);
    }
  } catch (const InputError&) {
    // An id that names no folder (a tampered row): nothing of it is read, as for one sweep.
  }
}

/// Refuses an --out that is one of the sweeps or holds results a multi-sweep report did not
/// write; clears what an earlier multi-sweep report wrote there.
void prepare_out(const SweepFolder& out, const std::vector<SweepRows>& sweeps) {
  std::error_code ec;
  for (const auto& s : sweeps)
    if (fs::exists(out.root()) && fs::equivalent(out.root(), s.folder.root(), ec))
      throw InputError("--out " + out.root().string() + " is the sweep folder " +
                       s.folder.root().string() + ": choose a folder of its own");
  if (fs::exists(out.results()) && !fs::exists(out.sources()))
    throw InputError("--out " + out.root().string() +
                     " holds a sweep's results (results.jsonl) that no multi-sweep report "
                     "wrote: choose another folder");
  if (fs::exists(out.sources()))
    for (const auto& stale :
         {out.tasks_folder(), out.root() / "configurations", out.root() / "selections"})
      fs::remove_all(stale);
  fs::create_directories(out.root());
}

/// "results/x is unfinished: …" when a sweep's current configurations lack outer tasks.
std::string unfinished_note(const SweepFolder& sweep, const std::vector<nlohmann::json>& rows) {
  std::set<std::string> configurations, done;
  int expected = 0;
  for (const auto& r : rows) {
    if (r.value("kind", "") != "train_eval")
      continue;
    configurations.insert(r.value("config_id", ""));
    expected = std::max(expected, r.value("expected_folds", 0));
  }
  for (const auto& t : typed_rows(rows))
    if (const auto* r = std::get_if<TrainEvalRow>(&t); r && r->kind == "train_eval" && r->ok())
      done.insert(r->task_id);
  const auto current = current_configurations(sweep);
  const auto n = (current.empty() ? configurations.size() : current.size()) * std::size_t(expected);
  if (expected == 0 || done.size() >= n)
    return "";
  return sweep.root().string() + " is unfinished: " + std::to_string(done.size()) + " of " +
         std::to_string(n) + " outer tasks have finished (each row's folds column says how many " +
         "of its folds are in)";
}

/// Whether a table cell shows `wanted`: the same text, or the same number ("47", "47.0").
bool cell_is(const std::string& cell, const std::string& wanted) {
  double a = 0, b = 0;
  return cell == wanted || (parse_decimal(cell, a) && parse_decimal(wanted, b) && a == b);
}

std::size_t column_of(const Table& table, const std::string& column, const TableSpec& spec,
                      const char* what) {
  const auto at = std::find(table.axes.begin(), table.axes.end(), column);
  if (at != table.axes.end())
    return std::size_t(at - table.axes.begin());
  std::string columns;
  for (const auto& a : table.axes)
    columns += (columns.empty() ? "" : ", ") + a;
  throw InputError((spec.origin.empty() ? "" : spec.origin + ": ") + what + ": the table has no " +
                   "column '" + column + "' (its columns: " + columns + ")");
}

/// Keeps the rows of `spec` (rows:, where:) and resets the flags of columns no row fills.
void keep_rows(Table& table, const TableSpec& spec) {
  std::vector<std::pair<std::size_t, const std::vector<std::string>*>> where;
  for (const auto& [column, values] : spec.where)
    where.emplace_back(column_of(table, column, spec, "where"), &values);
  const auto kept = [&](const TableRow& r) {
    if ((spec.rows == "nested" && !r.selected) || (spec.rows == "configurations" && r.selected))
      return false;
    return std::all_of(where.begin(), where.end(), [&](const auto& w) {
      const auto& cell = r.axis_values.at(w.first);
      return cell == "–" || std::any_of(w.second->begin(), w.second->end(),
                                        [&](const auto& v) { return cell_is(cell, v); });
    });
  };
  table.rows.erase(std::remove_if(table.rows.begin(), table.rows.end(),
                                  [&](const TableRow& r) { return !kept(r); }),
                   table.rows.end());
  table.survival = std::any_of(table.rows.begin(), table.rows.end(),
                               [](const TableRow& r) { return r.has_survival; });
  table.calibration = std::any_of(table.rows.begin(), table.rows.end(),
                                  [](const TableRow& r) { return r.brier >= 0; });
}

/// The row every value of `spec.baseline_match` names; exactly one, else InputError.
int matching_row(const Table& table, const TableSpec& spec) {
  std::vector<std::pair<std::size_t, std::string>> match;
  std::string wanted;
  for (const auto& [column, value] : spec.baseline_match) {
    match.emplace_back(column_of(table, column, spec, "baseline"), value);
    wanted += (wanted.empty() ? "" : ", ") + column + " = " + value;
  }
  std::vector<int> found;
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (std::all_of(match.begin(), match.end(), [&](const auto& m) {
          return cell_is(table.rows[i].axis_values.at(m.first), m.second);
        }))
      found.push_back(int(i));
  if (found.size() == 1)
    return found[0];
  std::string ids;
  for (const int i : found)
    ids += (ids.empty() ? "" : ", ") + table.rows[std::size_t(i)].config_id;
  throw InputError((spec.origin.empty() ? "" : spec.origin + ": ") + "baseline (" + wanted +
                   ") names " + std::to_string(found.size()) + " of the table's " +
                   std::to_string(table.rows.size()) + " rows" +
                   (found.empty() ? "" : " (" + ids + ")") + "; it must name exactly one");
}

/// The spec of a table in sources.json: what `vfp report DIR` on the study folder reapplies.
nlohmann::json spec_json(const TableSpec& spec) {
  return {{"rows", spec.rows},
          {"where", spec.where},
          {"baseline", spec.baseline_match},
          {"baseline_row", spec.baseline},
          {"sort", spec.sort},
          {"origin", spec.origin}};
}

void read_spec(const nlohmann::json& j, TableSpec& spec) {
  spec.rows = j.at("rows").get<std::string>();
  spec.where = j.at("where").get<decltype(spec.where)>();
  spec.baseline_match = j.at("baseline").get<decltype(spec.baseline_match)>();
  spec.baseline = j.at("baseline_row").get<std::string>();
  spec.sort = j.at("sort").get<std::string>();
  if (spec.rows != "all" && spec.rows != "configurations" && spec.rows != "nested")
    throw InputError("rows: '" + spec.rows + "' is not all, configurations or nested");
}

} // namespace

MultiSweepReport multi_sweep_report(const std::vector<SweepFolder>& sweeps, const SweepFolder& out,
                                    const TableSpec& spec, bool all) {
  MultiSweepReport report;
  std::vector<SweepRows> sources;
  std::set<std::string> names;
  std::string missing; // every sweep not run yet, at once
  for (const auto& folder : sweeps)
    if (!fs::exists(folder.results()))
      missing += (missing.empty() ? "" : ", ") + folder.root().string() + " (expected " +
                 folder.results().string() + ")";
  if (!missing.empty())
    throw InputError((spec.origin.empty() ? "" : spec.origin + ": ") + "no results in " + missing +
                     ": run its sweep first, or leave it out");
  for (const auto& folder : sweeps) {
    if (!names.insert(folder.name()).second)
      throw InputError("two sweep folders are named " + folder.name() +
                       ": rows are told apart by their sweep's folder name");
    const auto current = all ? std::set<std::string>{} : current_configurations(folder);
    int left_out = 0;
    auto rows = rows_of_configurations(read_rows(folder), current, &left_out);
    if (left_out > 0)
      report.notes.push_back(folder.root().string() + ": leaving out " + std::to_string(left_out) +
                             " rows of configurations no longer in the sweep (--all shows them)");
    if (auto note = unfinished_note(folder, rows); !note.empty())
      report.notes.push_back(std::move(note));
    sources.push_back({folder, std::move(rows)});
  }
  std::vector<SplitFingerprint> fingerprints;
  fingerprints.reserve(sources.size());
  for (const auto& s : sources)
    fingerprints.push_back(split_fingerprint(s.folder, s.rows));
  for (auto& note : check_same_split(fingerprints))
    report.notes.push_back(std::move(note));

  prepare_out(out, sources);
  std::string jsonl;
  std::vector<std::string> configurations;
  auto listed = nlohmann::json::array();
  for (std::size_t k = 0; k < sources.size(); ++k) {
    const auto& s = sources[k];
    const auto name = s.folder.name();
    for (const auto& row : s.rows) {
      copy_files(row, s.folder, out, name);
      auto merged = qualified_row(row, name, int(k) * kSweepIndexStride);
      if (merged.value("kind", "") == "train_eval" && merged.contains("config_id") &&
          std::find(configurations.begin(), configurations.end(), merged.value("config_id", "")) ==
              configurations.end())
        configurations.push_back(merged.value("config_id", ""));
      jsonl += merged.dump() + "\n";
      report.rows.push_back(std::move(merged));
    }
    listed.push_back({{"sweep", name},
                      {"folder", fs::absolute(s.folder.root()).lexically_normal().string()},
                      {"rows", s.rows.size()},
                      {"split_fingerprint", fingerprints[k].digest()}});
  }
  write_file_atomically(out.results(), jsonl);
  save_current_configurations(out, configurations);
  write_file_atomically(
      out.sources(),
      nlohmann::json({{"table", spec.name}, {"sweeps", listed}, {"spec", spec_json(spec)}})
              .dump(2) +
          "\n");
  report.table = table_of_spec(report.rows, spec, out);
  return report;
}

Table table_of_spec(const std::vector<nlohmann::json>& rows, const TableSpec& spec,
                    const SweepFolder& out) {
  auto table = aggregate(rows);
  keep_rows(table, spec);
  if (!table.rows.empty()) {
    int baseline = -1;
    if (!spec.baseline_match.empty())
      baseline = matching_row(table, spec);
    else if (!spec.baseline.empty())
      baseline = find_row(table, spec.baseline);
    if (baseline >= 0)
      compare_to_baseline(table, baseline, out);
  }
  sort_rows(table, spec.sort);
  return table;
}

RecordedTable recorded_table(const SweepFolder& out) {
  const auto file = out.sources().string();
  RecordedTable recorded;
  recorded.spec.name = out.name();
  try {
    const auto doc = nlohmann::json::parse(read_text_file(out.sources()));
    for (const auto& s : doc.at("sweeps"))
      recorded.sweeps.push_back(s.at("sweep").get<std::string>());
    if (doc.contains("spec"))
      read_spec(doc.at("spec"), recorded.spec);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file + ": not the sources.json of a multi-sweep table (" + e.what() +
                     "); write the table again with vfp report … --out or --study");
  } catch (const InputError& e) {
    throw InputError(file + ": " + e.what());
  }
  recorded.spec.origin = file;
  return recorded;
}

} // namespace vfp::results
