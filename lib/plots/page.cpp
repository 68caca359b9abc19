// The report page: loads each configuration's out-of-fold predictions, writes the figures'
// data and scripts, runs gnuplot, and writes report/index.html (self-contained: inline CSS,
// no scripts, images from figures/ next to it).
#include "plots/plots.h"

#include "core/core.h"
#include "figures.h"
#include "gnuplot.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

namespace vfp::plots {
namespace {

namespace fs = std::filesystem;
using results::html_escape;

/// A file-name-safe form of a configuration id (letters, digits, '-' and '_'), at most 16.
std::string safe_stem(const std::string& id) {
  std::string out;
  for (char ch : id.substr(0, 16))
    out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '_';
  return out.empty() ? "config" : out;
}

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

/// The swept keys a nested selection chose among: its row's "over", else the table's.
std::vector<std::string> selection_over(const results::Table& t, const nlohmann::json* analysis) {
  if (!analysis || !analysis->contains("over") || !(*analysis)["over"].is_array())
    return t.selection_over;
  std::vector<std::string> over;
  for (const auto& key : (*analysis)["over"])
    if (key.is_string())
      over.push_back(key.get<std::string>());
  return over;
}

/// "%.*f" of a number, "–" when it is not finite.
std::string fixed(double v, int decimals) {
  if (!std::isfinite(v))
    return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// The facts of a nested selection's section: what it chose among and on what.
std::string selection_facts(const results::Table& t, const results::TableRow& r,
                            const nlohmann::json* analysis) {
  std::string over;
  for (const auto& key : selection_over(t, analysis))
    over += (over.empty() ? "" : ", ") + key;
  const auto metric = analysis && analysis->contains("metric") && (*analysis)["metric"].is_string()
                          ? (*analysis)["metric"].get<std::string>()
                          : t.selection_metric;
  const double inner =
      analysis ? json_number(*analysis, "inner_folds") : double(t.selection_inner_folds);
  const int inner_folds = std::isfinite(inner) ? int(inner) : t.selection_inner_folds;
  const auto on = inner_folds >= 2
                      ? "mean inner " + metric + " over " + std::to_string(inner_folds) +
                            " inner folds of the outer training part"
                      : "the outer task's early-stopping validation " + metric;
  std::string html = "<dt>chosen per outer fold</dt><dd>" +
                     html_escape(over.empty() ? std::string("?") : over) + ", by " +
                     html_escape(on) + "</dd>";
  std::string values;
  for (std::size_t a = 0; a < t.axes.size() && a < r.axis_values.size(); ++a)
    values += (values.empty() ? "" : "; ") + t.axes[a] + " = " + r.axis_values[a];
  if (!values.empty())
    html += "<dt>swept values</dt><dd>" + html_escape(values) + "</dd>";
  return html;
}

struct Pooled {
  std::vector<double> score, time;
  std::vector<int> event, fold;
  bool has_time = false;
};

/// configurations/<id>/oof.csv: one row per subject (score averaged over CV repeats).
Pooled read_pooled(const fs::path& file) {
  Pooled p;
  const auto csv = read_csv(file.string());
  const auto score = csv.column("score"), event = csv.column("event"), fold = csv.column("fold");
  const bool has_time =
      std::find(csv.header.begin(), csv.header.end(), "time_years") != csv.header.end();
  const auto time = has_time ? csv.column("time_years") : 0;
  for (const auto& row : csv.rows) {
    // A bad row is named by file and line here, not as "row N" by the survival functions.
    const auto at = csv.file + ":" + std::to_string(row.line) + ": ";
    p.score.push_back(csv.number(row, score));
    const double e = csv.number(row, event);
    if (e != 0 && e != 1)
      throw InputError(at + "event " + csv.text(row, event) + " is not 0 or 1");
    p.event.push_back(int(e));
    p.fold.push_back(int(csv.number(row, fold)));
    if (has_time && csv.number(row, time) < 0)
      throw InputError(at + "time_years " + csv.text(row, time) + " is negative");
    if (has_time)
      p.time.push_back(csv.number(row, time));
  }
  p.has_time = has_time && !p.time.empty();
  return p;
}

bool both_classes(const std::vector<int>& labels) {
  const auto pos = std::count(labels.begin(), labels.end(), 1);
  return pos > 0 && pos < std::ptrdiff_t(labels.size());
}

/// Whether an id from the results can name a folder under the sweep's: no separator, not
/// "." or "..".
bool plain_name(const std::string& id) {
  return !id.empty() && id.find('/') == std::string::npos && id != "." && id != "..";
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

/// The per-split predictions of `tasks`: each task's tasks/<id>/oof.csv, or, when one is
/// missing, the pooled file split by fold.
std::vector<std::pair<std::vector<double>, std::vector<int>>>
split_predictions(const fs::path& sweep_dir, const std::vector<std::string>& tasks,
                  const Pooled* pooled) {
  std::vector<std::pair<std::vector<double>, std::vector<int>>> splits;
  bool complete = true;
  for (const auto& task : tasks) {
    if (!plain_name(task))
      continue;
    const auto file = sweep_dir / "tasks" / task / "oof.csv";
    if (!fs::exists(file)) {
      complete = false;
      break;
    }
    const auto csv = read_csv(file.string());
    const auto score = csv.column("score"), label = csv.column("label");
    std::pair<std::vector<double>, std::vector<int>> s;
    for (const auto& row : csv.rows) {
      s.first.push_back(csv.number(row, score));
      s.second.push_back(int(csv.number(row, label)));
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

/// A "<block>_note" of an analysis row (why the block is null), or "".
std::string block_note(const nlohmann::json& r, const std::string& block) {
  const auto key = block + "_note";
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string();
}

/// A nested selection's choices as a table: per outer split the chosen configuration (its
/// values of the selected keys, linked to its section; its id when it has no row), the inner
/// score it was chosen on and its test figures on the outer fold.
std::string choices_html(const results::Table& t, const results::TableRow& r,
                         const std::vector<ConfigCurves>& curves,
                         const std::map<std::string, std::size_t>& config_row,
                         const std::vector<std::string>& over, const std::string& metric) {
  if (r.choices.empty())
    return "";
  std::ostringstream html;
  html << "<table class=\"results\">\n<caption>What each outer fold chose: the configuration "
          "with the best inner "
       << html_escape(metric) << ", tested on that fold.</caption>\n<thead><tr><th>repeat</th>"
       << "<th>fold</th><th>chosen configuration</th><th>inner " << html_escape(metric)
       << "</th><th>test AUROC</th><th>test AUPRC</th></tr></thead>\n<tbody>\n";
  for (const auto& c : r.choices) {
    const auto at = config_row.find(c.config_id);
    std::string name;
    if (at != config_row.end()) {
      const auto& chosen = t.rows[at->second];
      for (std::size_t a = 0; a < t.axes.size() && a < chosen.axis_values.size(); ++a)
        if (std::find(over.begin(), over.end(), t.axes[a]) != over.end())
          name += (name.empty() ? "" : ", ") + t.axes[a] + " = " + chosen.axis_values[a];
    }
    const auto text =
        name.empty() ? "<code>" + html_escape(c.config_id) + "</code>" : html_escape(name);
    html << "<tr><td class=\"num\">" << c.repeat << "</td><td class=\"num\">" << c.fold
         << "</td><td>"
         << (at != config_row.end()
                 ? "<a href=\"#config-" + html_escape(curves[at->second].name_stem) + "\">" + text +
                       "</a>"
                 : text)
         << "</td><td class=\"num\">" << fixed(c.inner_score, 3) << "</td><td class=\"num\">"
         << fixed(100 * c.auroc, 1) << " %</td><td class=\"num\">" << fixed(100 * c.auprc, 1)
         << " %</td></tr>\n";
  }
  html << "</tbody>\n</table>\n";
  return html.str();
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

/// Tasks by kind: finished (last row ok) and failed, by task id.
std::string task_counts(const std::vector<nlohmann::json>& rows, int* done_out, int* failed_out) {
  std::map<std::string, std::pair<std::string, bool>> last; // task → (kind, ok)
  for (const auto& r : rows) {
    const auto id = r.value("task_id", "");
    if (!id.empty())
      last[id] = {r.value("kind", "task"), r.value("status", "") == "ok"};
  }
  std::map<std::string, std::pair<int, int>> by_kind;
  int done = 0, failed = 0;
  for (const auto& [id, v] : last) {
    (v.second ? by_kind[v.first].first : by_kind[v.first].second) += 1;
    (v.second ? done : failed) += 1;
  }
  *done_out = done;
  *failed_out = failed;
  std::string text;
  for (const auto& [kind, c] : by_kind)
    text += (text.empty() ? "" : "; ") + kind + " " + std::to_string(c.first) + " done" +
            (c.second ? ", " + std::to_string(c.second) + " failed" : "");
  return text;
}

const char* kStyle = R"(body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1400px;padding:0 24px 48px;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin:28px 0 4px}h2{margin-top:40px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{margin:28px 0 6px}code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
.meta{color:#555;margin:0}.note{background:#fff6e0;border-left:4px solid #E69F00;padding:8px 12px}
nav a{margin-right:14px}table.results{border-collapse:collapse;margin:12px 0;font-size:0.95em}
table.results th,table.results td{border-bottom:1px solid #e3e3e3;padding:5px 10px;text-align:left}
table.results th{background:#f6f6f6}table.results td.num{text-align:right;
font-variant-numeric:tabular-nums}table.results tr.baseline{background:#eef5fb}
table.results caption{caption-side:bottom;text-align:left;color:#555;font-size:0.9em;
padding-top:6px;max-width:1000px}
.figures{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0;flex:1 1 400px;max-width:560px}
figure.wide{max-width:900px}figure img{width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:0.88em;color:#555}dl.facts{display:grid;grid-template-columns:max-content auto;
gap:2px 14px;margin:6px 0 12px}dl.facts dt{color:#555}dl.facts dd{margin:0}
footer{margin-top:40px;color:#666;font-size:0.9em})";

struct Drawn {
  FigureText text;
  bool rendered = false;
};

/// Runs gnuplot on every figure, a few at a time (each run is one process, mostly cairo's
/// PNG rendering), and marks those whose SVG and PNG exist afterwards.
void render_all(const fs::path& gnuplot, const fs::path& figures, std::deque<Drawn>& all,
                ReportOutcome& outcome) {
  std::atomic<std::size_t> next{0};
  std::vector<std::string> errors(all.size());
  const auto work = [&] {
    for (std::size_t i; (i = next++) < all.size();)
      errors[i] = run_gnuplot(gnuplot, figures, all[i].text.name + ".gp");
  };
  const auto threads =
      std::min<std::size_t>(all.size(), std::size_t(std::min(8, cpus_in_affinity())));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto& d = all[i];
    const auto svg = figures / (d.text.name + ".svg");
    d.rendered =
        errors[i].empty() && fs::exists(svg) && fs::exists(figures / (d.text.name + ".png"));
    if (!errors[i].empty())
      outcome.warnings.push_back(errors[i]);
    if (d.rendered)
      outcome.figures.push_back(svg);
  }
}

std::string figure_html(const Drawn& d, bool wide = false) {
  const auto svg = "figures/" + d.text.name + ".svg", png = "figures/" + d.text.name + ".png";
  const auto gp = "figures/" + d.text.name + ".gp", dat = "figures/" + d.text.name + ".dat";
  std::string out = std::string("<figure") + (wide ? " class=\"wide\"" : "") + ">";
  if (d.rendered)
    out += "<a href=\"" + html_escape(png) + "\"><img src=\"" + html_escape(svg) + "\" alt=\"" +
           html_escape(d.text.alt) + "\"></a>";
  else
    out += "<p class=\"note\">" + html_escape(d.text.alt) + ": not drawn.</p>";
  out += "<figcaption>" + html_escape(d.text.caption) + " ";
  if (d.rendered)
    out += "<a href=\"" + html_escape(png) + "\">PNG</a> · ";
  out += "<a href=\"" + html_escape(dat) + "\">data</a> · <a href=\"" + html_escape(gp) +
         "\">gnuplot script</a></figcaption></figure>\n";
  return out;
}

} // namespace

ReportOutcome write_report_page(const fs::path& sweep_dir, const results::Table& table,
                                const std::vector<nlohmann::json>& rows,
                                const ReportOptions& options) {
  ReportOutcome outcome;
  const auto report = confined_folder(sweep_dir, {"report"}, true);
  const auto figures = confined_folder(sweep_dir, {"report", "figures"}, true);
  // Figures of an earlier report go, so the page never shows a stale one.
  for (const auto& entry : fs::directory_iterator(figures)) {
    const auto ext = entry.path().extension();
    if (ext == ".svg" || ext == ".png" || ext == ".dat" || ext == ".gp")
      fs::remove(entry.path());
  }
  fs::path gnuplot;
  std::string skipped;
  if (!options.figures) {
    skipped = "Figures were not drawn (--no-figures).";
  } else {
    gnuplot = find_program(options.gnuplot);
    if (gnuplot.empty()) {
      skipped = "Figures were skipped: gnuplot was not found on PATH. Install it (Debian: "
                "apt-get install gnuplot-nox) and rerun vfp report; the figures' data and "
                "scripts are in figures/.";
      outcome.warnings.push_back("gnuplot (" + options.gnuplot +
                                 ") is not on PATH: the report has tables and index.html but no "
                                 "figures (install gnuplot-nox)");
    }
  }
  outcome.figures_skipped = !skipped.empty();
  // Figures are collected first (their data and scripts written), then drawn in parallel.
  std::deque<Drawn> all;
  const auto draw = [&](FigureText text) -> const Drawn* {
    write_file_atomically(figures / (text.name + ".dat"), text.data);
    write_file_atomically(figures / (text.name + ".gp"), text.script);
    all.push_back({std::move(text), false});
    return &all.back();
  };

  // Per table row (configurations, then nested selections): curves, survival, calibration.
  const auto grid = unit_grid(options.grid_points);
  std::vector<ConfigCurves> curves(table.rows.size());
  std::vector<std::vector<std::string>> notes(table.rows.size());
  std::vector<std::vector<const Drawn*>> row_figures(table.rows.size());
  std::vector<const nlohmann::json*> analyses(table.rows.size());
  std::set<std::string> stems;
  std::map<std::string, std::size_t> config_row; // configuration id → its table row
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (!table.rows[i].selected)
      config_row.emplace(table.rows[i].config_id, i);
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    auto& c = curves[i];
    c.label = row.selected ? selection_label(table, row) : label_of(table, row);
    c.name_stem = safe_stem(row.config_id);
    for (int n = 2; !stems.insert(c.name_stem).second; ++n)
      c.name_stem = safe_stem(row.config_id) + "-" + std::to_string(n);
    c.auroc = row.auroc;
    c.auprc = row.auprc;
    analyses[i] = analysis_row(row, rows);
    const auto pooled_file =
        sweep_dir / (row.selected ? "selections" : "configurations") / row.config_id / "oof.csv";
    const auto cox_job = row.selected ? "selection job" : "cox job";
    std::unique_ptr<Pooled> pooled;
    try {
      if (plain_name(row.config_id) && fs::exists(pooled_file))
        pooled = std::make_unique<Pooled>(read_pooled(pooled_file));
      const auto tasks = row_tasks(row, rows);
      std::vector<std::vector<double>> roc_grid, pr_grid;
      for (const auto& [scores, labels] : split_predictions(sweep_dir, tasks, pooled.get())) {
        if (!both_classes(labels))
          continue;
        SplitCurve s{metrics::roc_curve(scores, labels), metrics::pr_curve(scores, labels)};
        roc_grid.push_back(roc_on_grid(s.roc, grid));
        pr_grid.push_back(pr_on_grid(s.pr, grid));
        c.splits.push_back(std::move(s));
      }
      if (c.splits.empty()) {
        notes[i].push_back("No out-of-fold predictions yet: no curves.");
      } else {
        c.roc = fold_band(roc_grid, grid);
        c.pr = fold_band(pr_grid, grid);
        std::vector<double> all_scores;
        std::vector<int> all_labels;
        if (pooled) {
          all_scores = pooled->score;
          all_labels = pooled->event;
        } else { // no cox (selection) job yet: the splits' predictions together
          for (const auto& s : split_predictions(sweep_dir, tasks, nullptr)) {
            all_scores.insert(all_scores.end(), s.first.begin(), s.first.end());
            all_labels.insert(all_labels.end(), s.second.begin(), s.second.end());
          }
        }
        if (both_classes(all_labels)) {
          c.pooled_roc = metrics::roc_curve(all_scores, all_labels);
          c.pooled_pr = metrics::pr_curve(all_scores, all_labels);
          c.prevalence = double(std::count(all_labels.begin(), all_labels.end(), 1)) /
                         double(all_labels.size());
        }
        row_figures[i].push_back(draw(roc_figure(c)));
        row_figures[i].push_back(draw(pr_figure(c)));
        if (pooled && pooled->has_time && both_classes(pooled->event) &&
            int(pooled->score.size()) >= 2 * options.risk_groups) {
          KmInput km{c.name_stem,   c.label,       pooled->time,
                     pooled->score, pooled->event, options.risk_groups};
          try {
            row_figures[i].push_back(draw(km_figure(km)));
          } catch (const Error& e) { // e.g. a log-rank test without information
            notes[i].push_back(std::string("No Kaplan–Meier figure: ") + e.what());
          }
        } else {
          notes[i].push_back(std::string("No Kaplan–Meier figure: the pooled out-of-fold "
                                         "predictions (") +
                             cox_job + ") are missing or have too few subjects or events.");
        }
      }
    } catch (const Error& e) {
      notes[i].push_back(std::string("Figures failed: ") + e.what());
      outcome.warnings.push_back("report figures of " + row.config_id + ": " + e.what());
    }
    // Calibration and predicted vs observed risk come from the pooled analysis itself (the cox
    // or selection row), not from the predictions: drawn whenever it has them.
    if (const auto* analysis = analyses[i]) {
      CalibrationInput cal;
      cal.name_stem = c.name_stem;
      cal.label = c.label;
      if (calibration_input(*analysis, cal))
        row_figures[i].push_back(draw(calibration_figure(cal)));
      else if (const auto note = block_note(*analysis, "calibration"); !note.empty())
        notes[i].push_back("No calibration figure: " + note);
      RiskInput risk;
      risk.name_stem = c.name_stem;
      risk.label = c.label;
      if (risk_input(*analysis, risk))
        row_figures[i].push_back(draw(risk_figure(risk)));
      else if (const auto note = block_note(*analysis, "survival"); !note.empty())
        notes[i].push_back("No predicted-vs-observed risk figure: " + note);
    }
  }
  // The overview and the sensitivity figures compare configurations: nested selections (whose
  // swept values read "nested: …") stay out of them.
  results::Table configurations = table;
  configurations.rows.erase(std::remove_if(configurations.rows.begin(), configurations.rows.end(),
                                           [](const results::TableRow& r) { return r.selected; }),
                            configurations.rows.end());
  std::vector<const ConfigCurves*> with_curves;
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (!table.rows[i].selected && !curves[i].roc.mean.empty())
      with_curves.push_back(&curves[i]);
  std::vector<const Drawn*> overview;
  if (with_curves.size() >= 2)
    overview.push_back(draw(overview_figure(with_curves)));
  std::vector<const Drawn*> sensitivity;
  for (std::size_t a = 0; a < configurations.axes.size(); ++a)
    if (sensitivity_applies(configurations, a))
      sensitivity.push_back(draw(sensitivity_figure(configurations, a,
                                                    "sensitivity-" + std::to_string(a + 1) + "-" +
                                                        safe_stem(configurations.axes[a]))));

  if (!gnuplot.empty())
    render_all(gnuplot, figures, all, outcome);

  // The page.
  int done = 0, failed = 0;
  const auto counts = task_counts(rows, &done, &failed);
  const auto name = sweep_dir.filename().empty() ? sweep_dir.parent_path().filename().string()
                                                 : sweep_dir.filename().string();
  const std::size_t n_selections = table.rows.size() - configurations.rows.size();
  const std::size_t n_configurations = configurations.rows.size();
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>vfp report: " << html_escape(name) << "</title>\n<style>\n"
       << kStyle << "\n</style>\n</head>\n<body>\n<header>\n<h1>Sweep <code>" << html_escape(name)
       << "</code></h1>\n<p class=\"meta\">Report written " << utc_now() << " by vfp "
       << html_escape(std::string(version())) << " · " << n_configurations << " configuration"
       << (n_configurations == 1 ? "" : "s");
  if (n_selections > 0)
    html << " · " << n_selections << " nested selection" << (n_selections == 1 ? "" : "s");
  html << " · tasks: " << done << " done, " << failed << " failed"
       << (counts.empty() ? "" : " (" + html_escape(counts) + ")") << "</p>\n"
       << "<nav><a href=\"#table\">Table</a>"
       << (overview.empty() ? "" : "<a href=\"#overview\">ROC overview</a>")
       << (sensitivity.empty() ? "" : "<a href=\"#sensitivity\">Sensitivity</a>")
       << "<a href=\"#configurations\">Configurations</a>"
       << (n_selections > 0 ? "<a href=\"#selections\">Nested selections</a>" : "")
       << "</nav>\n</header>\n";
  if (!skipped.empty())
    html << "<p class=\"note\">" << html_escape(skipped) << "</p>\n";
  html << "<section id=\"table\">\n<h2>Results</h2>\n" << results::to_html(table);
  std::string downloads;
  for (const auto* f : {"table.md", "table.csv", "table.tex"})
    if (fs::exists(report / f))
      downloads +=
          std::string(downloads.empty() ? "" : ", ") + "<a href=\"" + f + "\">" + f + "</a>";
  if (!downloads.empty())
    html << "<p>The same table as " << downloads << ".</p>\n";
  html << "</section>\n";
  if (!overview.empty())
    html << "<section id=\"overview\">\n<h2>ROC overview</h2>\n<div class=\"figures\">"
         << figure_html(*overview[0], true) << "</div>\n</section>\n";
  if (!sensitivity.empty()) {
    html << "<section id=\"sensitivity\">\n<h2>Hyperparameter sensitivity</h2>\n"
         << "<div class=\"figures\">";
    for (const auto* d : sensitivity)
      html << figure_html(*d, true);
    html << "</div>\n</section>\n";
  }
  // One section per table row: the facts, the notes, the figures.
  const auto row_section = [&](std::size_t i) {
    const auto& row = table.rows[i];
    const auto* analysis = analyses[i];
    html << "<section id=\"" << (row.selected ? "selection-" : "config-")
         << html_escape(curves[i].name_stem) << "\">\n<h3>" << html_escape(curves[i].label)
         << "</h3>\n<dl class=\"facts\"><dt>id</dt><dd><code>" << html_escape(row.config_id)
         << "</code></dd>";
    if (row.selected)
      html << selection_facts(table, row, analysis);
    if (!row.auroc.empty())
      html << "<dt>" << (row.selected ? "test AUROC of the chosen, over folds" : "AUROC over folds")
           << "</dt><dd>" << html_escape(metrics::format_mean_std(metrics::mean_std(row.auroc)))
           << " % (" << row.auroc.size() << " folds)</dd><dt>AUPRC (AP) over folds</dt><dd>"
           << html_escape(metrics::format_mean_std(metrics::mean_std(row.auprc))) << " %</dd>";
    if (analysis && analysis->contains("pooled") && (*analysis)["pooled"].is_object()) {
      const auto& p = (*analysis)["pooled"];
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.1f %% (DeLong 95 %% CI %.1f–%.1f)",
                    100 * json_number(p, "auroc"), 100 * json_number(p, "auroc_delong_lower"),
                    100 * json_number(p, "auroc_delong_upper"));
      html << "<dt>pooled out-of-fold AUROC</dt><dd>" << html_escape(buf) << "</dd>";
    }
    if (row.has_survival) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "%.3f (score + age + BMI) vs %.3f (age + BMI); HR per SD %.2f (%.2f–%.2f)",
                    row.c_index, row.c_baseline, row.hr_per_sd, row.hr_lower, row.hr_upper);
      html << "<dt>Harrell's C</dt><dd>" << html_escape(buf) << "</dd>";
    }
    if (row.failed > 0)
      html << "<dt>failed tasks</dt><dd>" << row.failed << "</dd>";
    html << "</dl>\n";
    if (row.selected)
      html << choices_html(table, row, curves, config_row, selection_over(table, analysis),
                           analysis && analysis->contains("metric") &&
                                   (*analysis)["metric"].is_string()
                               ? (*analysis)["metric"].get<std::string>()
                               : table.selection_metric);
    for (const auto& note : notes[i])
      html << "<p class=\"note\">" << html_escape(note) << "</p>\n";
    if (!row_figures[i].empty()) {
      html << "<div class=\"figures\">";
      for (const auto* d : row_figures[i])
        html << figure_html(*d);
      html << "</div>\n";
    }
    html << "</section>\n";
  };
  html << "<section id=\"configurations\">\n<h2>Configurations</h2>\n";
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (!table.rows[i].selected)
      row_section(i);
  html << "</section>\n";
  if (n_selections > 0) {
    html << "<section id=\"selections\">\n<h2>Nested selections</h2>\n"
         << "<p>Per outer fold, the configuration with the best inner score was chosen and "
            "tested on that fold; the figures pool the chosen models' out-of-fold predictions "
            "(<code>selections/&lt;id&gt;/oof.csv</code>).</p>\n";
    for (std::size_t i = 0; i < table.rows.size(); ++i)
      if (table.rows[i].selected)
        row_section(i);
    html << "</section>\n";
  }
  html << "<footer>Each figure is drawn by gnuplot from figures/&lt;name&gt;.dat "
          "and figures/&lt;name&gt;.gp: edit the script and run <code>gnuplot &lt;name&gt;.gp"
          "</code> in figures/ to restyle it (SVG and PNG).</footer>\n</body>\n</html>\n";
  outcome.index = report / "index.html";
  fault_point("report.page"); // test-only (docs/hardening.md): figures written, no index yet
  write_file_atomically(outcome.index, html.str());
  return outcome;
}

} // namespace vfp::plots
