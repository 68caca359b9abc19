// Step 1 of the report page: each table row's label, out-of-fold curves and analysis row.
#include "report.h"

#include "core/core.h"
#include "oof_inputs.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace vfp::plots {

namespace fs = std::filesystem;

std::string safe_stem(const std::string& id) {
  std::string out;
  for (char ch : id.substr(0, 16))
    out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out.empty() ? "config" : out;
}

/// A "<block>_note" of an analysis row (why the block is null), or "".
std::string block_note(const nlohmann::json& r, const std::string& block) {
  const auto key = block + "_note";
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string();
}

namespace {

std::string label_of(const results::Table& t, const results::TableRow& r) {
  std::string label;
  for (std::size_t a = 0; a < t.axes.size() && a < r.axis_values.size(); ++a)
    label += (label.empty() ? "" : ", ") + t.axes[a] + " = " + r.axis_values[a];
  return label.empty() ? "configuration " + r.config_id : label;
}

/// A nested selection's heading and figure label: its id and the swept values its members
/// share (those it chose among read "nested (…): …" in the table).
std::string selection_label(const results::Table& t, const results::TableRow& r) {
  std::string fixed;
  for (std::size_t a = 0; a < t.axes.size() && a < r.axis_values.size(); ++a)
    if (r.axis_values[a].rfind("nested", 0) != 0)
      fixed += (fixed.empty() ? "" : ", ") + t.axes[a] + " = " + r.axis_values[a];
  return "nested selection " + r.config_id + (fixed.empty() ? "" : " (" + fixed + ")");
}

bool both_classes(const std::vector<int>& labels) {
  const auto pos = std::count(labels.begin(), labels.end(), 1);
  return pos > 0 && pos < std::ptrdiff_t(labels.size());
}

/// The outer tasks of a table row: a configuration's finished train_eval tasks, or the tasks a
/// nested selection chose (one per outer split), each once.
std::vector<std::string> row_tasks(const results::TableRow& row,
                                   const std::vector<nlohmann::json>& rows) {
  std::vector<std::string> tasks;
  std::set<std::string> seen;
  if (row.selected) {
    for (const auto& c : row.choices)
      if (seen.insert(c.task_id).second)
        tasks.push_back(c.task_id);
    return tasks;
  }
  for (const auto& r : rows)
    if (r.value("kind", "") == "train_eval" && r.value("status", "") == "ok" &&
        r.value("config_id", "") == row.config_id && seen.insert(r.value("task_id", "")).second)
      tasks.push_back(r.value("task_id", ""));
  return tasks;
}

/// The latest finished row holding a table row's pooled analysis: the configuration's cox row,
/// or the nested selection's own row. Null when there is none yet.
const nlohmann::json* analysis_row(const results::TableRow& row,
                                   const std::vector<nlohmann::json>& rows) {
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    const auto& r = *it;
    if (r.value("status", "") != "ok")
      continue;
    if (row.selected ? r.value("kind", "") == "selection" && r.value("task_id", "") == row.config_id
                     : r.value("kind", "") == "cox" && r.value("config_id", "") == row.config_id)
      return &r;
  }
  return nullptr;
}

/// The pooled predictions' curves and metrics: the cox (selection) job's file, or without it
/// the splits' predictions together.
void pool_curves(ConfigCurves& c, const results::SweepFolder& sweep,
                 const std::vector<std::string>& tasks, const Pooled* pooled) {
  std::vector<double> all_scores;
  std::vector<int> all_labels;
  if (pooled) {
    all_scores = pooled->score;
    all_labels = pooled->event;
  } else { // no cox (selection) job yet: the splits' predictions together
    for (const auto& s : split_predictions(sweep, tasks, nullptr)) {
      all_scores.insert(all_scores.end(), s.first.begin(), s.first.end());
      all_labels.insert(all_labels.end(), s.second.begin(), s.second.end());
    }
  }
  if (!both_classes(all_labels))
    return;
  c.pooled_roc = metrics::roc_curve(all_scores, all_labels);
  c.pooled_pr = metrics::pr_curve(all_scores, all_labels);
  c.pooled_auroc = metrics::auroc(all_scores, all_labels);
  c.pooled_ap = metrics::average_precision(all_scores, all_labels);
  c.prevalence =
      double(std::count(all_labels.begin(), all_labels.end(), 1)) / double(all_labels.size());
}

/// A row's fold curves (each split with both classes), their band and the pooled curves; the
/// Kaplan–Meier input when the pooled file has times and enough subjects and events.
void read_curves(RowReport& out, const results::SweepFolder& sweep, const results::TableRow& row,
                 const std::vector<nlohmann::json>& rows, const ReportOptions& options) {
  auto& c = out.curves;
  const auto pooled = pooled_of_row(sweep, row);
  const auto tasks = row_tasks(row, rows);
  const auto grid = unit_grid(options.grid_points);
  std::vector<std::vector<double>> roc_grid, pr_grid;
  const Pooled* pooled_or_none = pooled ? &*pooled : nullptr;
  for (const auto& [scores, labels] : split_predictions(sweep, tasks, pooled_or_none)) {
    if (!both_classes(labels))
      continue;
    SplitCurve s{metrics::roc_curve(scores, labels), metrics::pr_curve(scores, labels)};
    roc_grid.push_back(roc_on_grid(s.roc, grid));
    pr_grid.push_back(pr_on_grid(s.pr, grid));
    c.splits.push_back(std::move(s));
  }
  if (c.splits.empty()) {
    out.notes.emplace_back("No out-of-fold predictions yet: no curves.");
    return;
  }
  c.roc = fold_band(roc_grid, grid);
  c.pr = fold_band(pr_grid, grid);
  pool_curves(c, sweep, tasks, pooled_or_none);
  if (pooled && pooled->has_time && both_classes(pooled->event) &&
      int(pooled->score.size()) >= 2 * options.risk_groups)
    out.km = KmInput{c.name_stem,   c.label,       pooled->time,
                     pooled->score, pooled->event, options.risk_groups};
  out.has_curves = true;
}

/// What the BYOL pretraining of a configuration's tasks saw (its row's "data"), as a note; ""
/// when its tasks used none or the pretraining's row is not there.
std::string pretraining_note(const results::TableRow& row,
                             const std::vector<nlohmann::json>& rows) {
  std::set<std::string> ids; // one pretraining, or one per outer fold (ssl.data outer_train)
  for (const auto& r : rows)
    if (r.value("kind", "") == "train_eval" && r.value("config_id", "") == row.config_id &&
        r.contains("pretrain_id"))
      ids.insert(r.value("pretrain_id", ""));
  for (const auto& r : rows) {
    if (r.value("kind", "") != "pretrain" || !ids.count(r.value("task_id", "")) ||
        !r.contains("data") || !r["data"].is_object())
      continue;
    const auto& d = r["data"];
    const auto data = d.value("ssl_data", "");
    std::string note = ids.size() > 1 ? std::to_string(ids.size()) +
                                            " pretrainings, one per outer fold; e.g. " +
                                            r.value("task_id", "")
                                      : "Pretraining " + r.value("task_id", "");
    note += " (BYOL, ssl.data " + data + "): " + std::to_string(d.value("patches", 0)) +
            " patches of " + std::to_string(d.value("scans", 0)) + " scans, " +
            d.value("images", "") + " (cache " + d.value("cache_key", "") + ").";
    if (data == "all") // transductive: say so, it is a choice a reviewer must see
      note += " Its images include every outer test fold's (no labels): the test scans were "
              "seen, unlabelled, before training.";
    return note;
  }
  return "";
}

} // namespace

std::vector<RowReport> gather_rows(const results::SweepFolder& sweep, const results::Table& table,
                                   const std::vector<nlohmann::json>& rows,
                                   const ReportOptions& options,
                                   std::vector<std::string>& warnings) {
  std::vector<RowReport> out(table.rows.size());
  std::set<std::string> stems;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    auto& c = out[i].curves;
    c.label = row.selected ? selection_label(table, row) : label_of(table, row);
    c.name_stem = safe_stem(row.config_id);
    for (int n = 2; !stems.insert(c.name_stem).second; ++n)
      c.name_stem = safe_stem(row.config_id) + "-" + std::to_string(n);
    c.auroc = row.auroc;
    c.auprc = row.auprc;
    out[i].analysis = analysis_row(row, rows);
    try {
      read_curves(out[i], sweep, row, rows, options);
    } catch (const Error& e) {
      out[i].notes.push_back(std::string("Figures failed: ") + e.what());
      warnings.push_back("report figures of " + row.config_id + ": " + e.what());
    }
    if (!row.selected) { // a selection's tasks are its members': drawn in their sections
      read_learning(out[i], sweep, row, rows, warnings);
      if (auto note = pretraining_note(row, rows); !note.empty())
        out[i].notes.push_back(std::move(note));
    }
  }
  return out;
}

} // namespace vfp::plots
