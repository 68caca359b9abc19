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
    p.score.push_back(csv.number(row, score));
    p.event.push_back(int(csv.number(row, event)));
    p.fold.push_back(int(csv.number(row, fold)));
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

/// The per-split predictions of a configuration: each finished task's tasks/<id>/oof.csv, or,
/// when one is missing, the pooled file split by fold.
std::vector<std::pair<std::vector<double>, std::vector<int>>>
split_predictions(const fs::path& sweep_dir, const std::string& config_id,
                  const std::vector<nlohmann::json>& rows, const Pooled* pooled) {
  std::vector<std::pair<std::vector<double>, std::vector<int>>> splits;
  std::set<std::string> seen;
  bool complete = true;
  for (const auto& r : rows) {
    if (r.value("kind", "") != "train_eval" || r.value("status", "") != "ok" ||
        r.value("config_id", "") != config_id)
      continue;
    const auto task = r.value("task_id", "");
    if (task.empty() || task.find('/') != std::string::npos || task == "." || task == ".." ||
        !seen.insert(task).second)
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

  // Per configuration: curves and survival.
  const auto grid = unit_grid(options.grid_points);
  std::vector<ConfigCurves> curves(table.rows.size());
  std::vector<std::string> notes(table.rows.size());
  std::vector<std::vector<const Drawn*>> config_figures(table.rows.size());
  std::set<std::string> stems;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    auto& c = curves[i];
    c.label = label_of(table, row);
    c.name_stem = safe_stem(row.config_id);
    for (int n = 2; !stems.insert(c.name_stem).second; ++n)
      c.name_stem = safe_stem(row.config_id) + "-" + std::to_string(n);
    c.auroc = row.auroc;
    c.auprc = row.auprc;
    const auto pooled_file = sweep_dir / "configurations" / row.config_id / "oof.csv";
    std::unique_ptr<Pooled> pooled;
    try {
      if (row.config_id.find('/') == std::string::npos && fs::exists(pooled_file))
        pooled = std::make_unique<Pooled>(read_pooled(pooled_file));
      std::vector<std::vector<double>> roc_grid, pr_grid;
      for (const auto& [scores, labels] :
           split_predictions(sweep_dir, row.config_id, rows, pooled.get())) {
        if (!both_classes(labels))
          continue;
        SplitCurve s{metrics::roc_curve(scores, labels), metrics::pr_curve(scores, labels)};
        roc_grid.push_back(roc_on_grid(s.roc, grid));
        pr_grid.push_back(pr_on_grid(s.pr, grid));
        c.splits.push_back(std::move(s));
      }
      if (c.splits.empty()) {
        notes[i] = "No out-of-fold predictions yet: no curves.";
        continue;
      }
      c.roc = fold_band(roc_grid, grid);
      c.pr = fold_band(pr_grid, grid);
      std::vector<double> all_scores;
      std::vector<int> all_labels;
      if (pooled) {
        all_scores = pooled->score;
        all_labels = pooled->event;
      } else { // no cox job yet: the splits' predictions together
        for (const auto& s : split_predictions(sweep_dir, row.config_id, rows, nullptr)) {
          all_scores.insert(all_scores.end(), s.first.begin(), s.first.end());
          all_labels.insert(all_labels.end(), s.second.begin(), s.second.end());
        }
      }
      if (both_classes(all_labels)) {
        c.pooled_roc = metrics::roc_curve(all_scores, all_labels);
        c.pooled_pr = metrics::pr_curve(all_scores, all_labels);
        c.prevalence =
            double(std::count(all_labels.begin(), all_labels.end(), 1)) / double(all_labels.size());
      }
      config_figures[i].push_back(draw(roc_figure(c)));
      config_figures[i].push_back(draw(pr_figure(c)));
      if (pooled && pooled->has_time && both_classes(pooled->event) &&
          int(pooled->score.size()) >= 2 * options.risk_groups) {
        KmInput km{c.name_stem,   c.label,       pooled->time,
                   pooled->score, pooled->event, options.risk_groups};
        try {
          config_figures[i].push_back(draw(km_figure(km)));
        } catch (const Error& e) { // e.g. a log-rank test without information
          notes[i] = std::string("No Kaplan–Meier figure: ") + e.what();
        }
      } else {
        notes[i] = "No Kaplan–Meier figure: the pooled out-of-fold predictions (cox job) are "
                   "missing or have too few subjects or events.";
      }
    } catch (const Error& e) {
      notes[i] = std::string("Figures failed: ") + e.what();
      outcome.warnings.push_back("report figures of " + row.config_id + ": " + e.what());
    }
  }
  std::vector<const ConfigCurves*> with_curves;
  for (const auto& c : curves)
    if (!c.roc.mean.empty())
      with_curves.push_back(&c);
  std::vector<const Drawn*> overview;
  if (with_curves.size() >= 2)
    overview.push_back(draw(overview_figure(with_curves)));
  std::vector<const Drawn*> sensitivity;
  for (std::size_t a = 0; a < table.axes.size(); ++a)
    if (sensitivity_applies(table, a))
      sensitivity.push_back(draw(sensitivity_figure(
          table, a, "sensitivity-" + std::to_string(a + 1) + "-" + safe_stem(table.axes[a]))));

  if (!gnuplot.empty())
    render_all(gnuplot, figures, all, outcome);

  // The page.
  int done = 0, failed = 0;
  const auto counts = task_counts(rows, &done, &failed);
  const auto name = sweep_dir.filename().empty() ? sweep_dir.parent_path().filename().string()
                                                 : sweep_dir.filename().string();
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>vfp report: " << html_escape(name) << "</title>\n<style>\n"
       << kStyle << "\n</style>\n</head>\n<body>\n<header>\n<h1>Sweep <code>" << html_escape(name)
       << "</code></h1>\n<p class=\"meta\">Report written " << utc_now() << " by vfp "
       << html_escape(std::string(version())) << " · " << table.rows.size() << " configuration"
       << (table.rows.size() == 1 ? "" : "s") << " · tasks: " << done << " done, " << failed
       << " failed" << (counts.empty() ? "" : " (" + html_escape(counts) + ")") << "</p>\n"
       << "<nav><a href=\"#table\">Table</a>"
       << (overview.empty() ? "" : "<a href=\"#overview\">ROC overview</a>")
       << (sensitivity.empty() ? "" : "<a href=\"#sensitivity\">Sensitivity</a>")
       << "<a href=\"#configurations\">Configurations</a></nav>\n</header>\n";
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
  html << "<section id=\"configurations\">\n<h2>Configurations</h2>\n";
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    html << "<section id=\"config-" << html_escape(curves[i].name_stem) << "\">\n<h3>"
         << html_escape(curves[i].label) << "</h3>\n<dl class=\"facts\"><dt>id</dt><dd><code>"
         << html_escape(row.config_id) << "</code></dd>";
    if (!row.auroc.empty())
      html << "<dt>AUROC over folds</dt><dd>"
           << html_escape(metrics::format_mean_std(metrics::mean_std(row.auroc))) << " % ("
           << row.auroc.size() << " folds)</dd><dt>AUPRC (AP) over folds</dt><dd>"
           << html_escape(metrics::format_mean_std(metrics::mean_std(row.auprc))) << " %</dd>";
    for (const auto& r : rows)
      if (r.value("kind", "") == "cox" && r.value("status", "") == "ok" &&
          r.value("config_id", "") == row.config_id && r.contains("pooled") &&
          r["pooled"].is_object()) {
        const auto& p = r["pooled"];
        char buf[160];
        std::snprintf(buf, sizeof buf, "%.1f %% (DeLong 95 %% CI %.1f–%.1f)",
                      100 * p.value("auroc", 0.0), 100 * p.value("auroc_delong_lower", 0.0),
                      100 * p.value("auroc_delong_upper", 0.0));
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
    if (!notes[i].empty())
      html << "<p class=\"note\">" << html_escape(notes[i]) << "</p>\n";
    if (!config_figures[i].empty()) {
      html << "<div class=\"figures\">";
      for (const auto* d : config_figures[i])
        html << figure_html(*d);
      html << "</div>\n";
    }
    html << "</section>\n";
  }
  html << "</section>\n<footer>Each figure is drawn by gnuplot from figures/&lt;name&gt;.dat "
          "and figures/&lt;name&gt;.gp: edit the script and run <code>gnuplot &lt;name&gt;.gp"
          "</code> in figures/ to restyle it (SVG and PNG).</footer>\n</body>\n</html>\n";
  outcome.index = report / "index.html";
  fault_point("report.page"); // test-only (docs/hardening.md): figures written, no index yet
  write_file_atomically(outcome.index, html.str());
  return outcome;
}

} // namespace vfp::plots
