// The report page in three steps: gather each table row's out-of-fold predictions
// (report_rows.cpp), write the figures' data and scripts and run gnuplot on them (here), and
// write report/index.html (page_html.cpp).
#include "plots/plots.h"

#include "core/core.h"
#include "gnuplot.h"
#include "report.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

namespace vfp::plots {
namespace {

namespace fs = std::filesystem;

/// The report's figures in the order they are added: each one's data and script are written
/// when it is added; gnuplot draws them all at the end, a few at a time.
class FigureSet {
public:
  explicit FigureSet(fs::path folder) : folder_(std::move(folder)) {}

  const Drawn* add(FigureText text) {
    write_file_atomically(folder_ / (text.name + ".dat"), text.data);
    write_file_atomically(folder_ / (text.name + ".gp"), text.script);
    all_.push_back({std::move(text), false});
    return &all_.back();
  }

  /// Runs gnuplot on every figure (each run is one process, mostly cairo's PNG rendering),
  /// and marks those whose SVG and PNG exist afterwards.
  void render(const fs::path& gnuplot, ReportOutcome& outcome) {
    std::atomic<std::size_t> next{0};
    std::vector<std::string> errors(all_.size());
    const auto work = [&] {
      for (std::size_t i; (i = next++) < all_.size();)
        errors[i] = run_gnuplot(gnuplot, folder_, all_[i].text.name + ".gp");
    };
    const auto threads =
        std::min<std::size_t>(all_.size(), std::size_t(std::min(8, cpus_in_affinity())));
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t)
      pool.emplace_back(work);
    work();
    for (auto& t : pool)
      t.join();
    for (std::size_t i = 0; i < all_.size(); ++i) {
      auto& d = all_[i];
      const auto svg = folder_ / (d.text.name + ".svg");
      d.rendered =
          errors[i].empty() && fs::exists(svg) && fs::exists(folder_ / (d.text.name + ".png"));
      if (!errors[i].empty())
        outcome.warnings.push_back(errors[i]);
      if (d.rendered)
        outcome.figures.push_back(svg);
    }
  }

private:
  fs::path folder_;
  std::deque<Drawn> all_; // a deque: the pointers add() returns stay valid
};

/// Removes the figures of an earlier report, so the page never shows a stale one.
void remove_old_figures(const fs::path& figures) {
  for (const auto& entry : fs::directory_iterator(figures)) {
    const auto ext = entry.path().extension();
    if (ext == ".svg" || ext == ".png" || ext == ".dat" || ext == ".gp")
      fs::remove(entry.path());
  }
}

/// gnuplot's path, or empty with the page's note (in `skipped`) on why there are no figures.
fs::path find_gnuplot(const ReportOptions& options, std::string& skipped, ReportOutcome& outcome) {
  if (!options.figures) {
    skipped = "Figures were not drawn (--no-figures).";
    return {};
  }
  auto gnuplot = find_program(options.gnuplot);
  if (gnuplot.empty()) {
    skipped = "Figures were skipped: gnuplot was not found on PATH. Install it (Debian: "
              "apt-get install gnuplot-nox) and rerun vfp report; the figures' data and "
              "scripts are in figures/.";
    outcome.warnings.push_back("gnuplot (" + options.gnuplot +
                               ") is not on PATH: the report has tables and index.html but no "
                               "figures (install gnuplot-nox)");
  }
  return gnuplot;
}

/// A figure drawn from a block of the row's pooled analysis (calibration, survival): added
/// when `read` finds something to draw, else the block's note, if it has one.
template <typename Input>
void add_analysis_figure(RowReport& r, FigureSet& set, bool (*read)(const nlohmann::json&, Input&),
                         FigureText (*figure)(const Input&), const std::string& block,
                         const std::string& missing) {
  Input in;
  in.name_stem = r.curves.name_stem;
  in.label = r.curves.label;
  if (read(*r.analysis, in))
    r.figures.push_back(set.add(figure(in)));
  else if (const auto note = block_note(*r.analysis, block); !note.empty())
    r.notes.push_back(missing + note);
}

/// A table row's figures: the learning curves from its tasks' histories, ROC, PR and
/// Kaplan–Meier from its predictions, then calibration and
/// predicted vs observed risk from its pooled analysis (the cox or selection row) itself,
/// drawn whenever it has them.
void add_row_figures(RowReport& r, const results::TableRow& row, FigureSet& set,
                     ReportOutcome& outcome) {
  try {
    if (r.learning) // first: what a researcher checks first after a sweep
      r.figures.push_back(set.add(learning_figure(*r.learning)));
    if (r.has_curves) {
      r.figures.push_back(set.add(roc_figure(r.curves)));
      r.figures.push_back(set.add(pr_figure(r.curves)));
      if (r.km) {
        try {
          r.figures.push_back(set.add(km_figure(*r.km)));
        } catch (const Error& e) { // e.g. a log-rank test without information
          r.notes.push_back(std::string("No Kaplan–Meier figure: ") + e.what());
        }
      } else {
        r.notes.push_back(std::string("No Kaplan–Meier figure: the pooled out-of-fold "
                                      "predictions (") +
                          (row.selected ? "selection job" : "cox job") +
                          ") are missing or have too few subjects or events.");
      }
    }
  } catch (const Error& e) {
    r.notes.push_back(std::string("Figures failed: ") + e.what());
    outcome.warnings.push_back("report figures of " + row.config_id + ": " + e.what());
  }
  if (!r.analysis)
    return;
  add_analysis_figure(r, set, calibration_input, calibration_figure, "calibration",
                      "No calibration figure: ");
  add_analysis_figure(r, set, risk_input, risk_figure, "survival",
                      "No predicted-vs-observed risk figure: ");
}

} // namespace

ReportOutcome write_report_page(const results::SweepFolder& sweep, const results::Table& table,
                                const std::vector<nlohmann::json>& rows,
                                const ReportOptions& options) {
  ReportOutcome outcome;
  const auto report = sweep.report(true);
  remove_old_figures(report.figures);
  std::string skipped;
  const auto gnuplot = find_gnuplot(options, skipped, outcome);
  outcome.figures_skipped = !skipped.empty();

  auto sections = gather_rows(sweep, table, rows, options, outcome.warnings);
  FigureSet set(report.figures);
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    add_row_figures(sections[i], table.rows[i], set, outcome);
  // The overview and the sensitivity figures compare configurations: nested selections (whose
  // swept values read "nested: …") stay out of them.
  results::Table configurations = table;
  configurations.rows.erase(std::remove_if(configurations.rows.begin(), configurations.rows.end(),
                                           [](const results::TableRow& r) { return r.selected; }),
                            configurations.rows.end());
  std::vector<const Drawn*> overview, sensitivity;
  if (const auto chosen = choose_overview(table, sections); chosen.total >= 2)
    overview.push_back(set.add(overview_figure(chosen)));
  for (std::size_t a = 0; a < configurations.axes.size(); ++a)
    if (sensitivity_applies(configurations, a))
      sensitivity.push_back(set.add(sensitivity_figure(
          configurations, a,
          "sensitivity-" + std::to_string(a + 1) + "-" + safe_stem(configurations.axes[a]))));
  if (!gnuplot.empty())
    set.render(gnuplot, outcome);

  std::vector<std::string> downloads;
  for (const auto& f : {report.table_md, report.table_csv, report.table_tex})
    if (fs::exists(f))
      downloads.push_back(f.filename().string());
  const auto name = sweep.name();
  const auto html = page_html(
      {name, options.sweeps, table, rows, sections, overview, sensitivity, skipped, downloads});
  outcome.index = report.index;
  fault_point("report.page"); // test-only (docs/hardening.md): figures written, no index yet
  write_file_atomically(outcome.index, html);
  return outcome;
}

} // namespace vfp::plots
