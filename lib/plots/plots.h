// vfp::plots — the figures and the static HTML page of a sweep's report: ROC and PR curves
// per configuration with their spread over folds, Kaplan–Meier curves by predicted-risk group
// with the log-rank test, calibration and predicted vs observed risk, hyperparameter
// sensitivity. Each figure is a data file and a gnuplot script next to its SVG and PNG, so a
// user can restyle it and redraw it with `gnuplot`.
#pragma once

#include "metrics/metrics.h"
#include "results/results.h"

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfp::plots {

/// `points` evenly spaced values from 0 to 1 (both included): the common grid of fold curves.
std::vector<double> unit_grid(int points = 101);

/// The ROC curve's true-positive rate at each false-positive rate of `grid`. The curve is the
/// path through the threshold points, straight between them (tied scores give a diagonal
/// segment, as the AUROC with ties ½ counts them); on a vertical segment the top is taken. At
/// FPR 0 the value is 0, the curve's start, so every fold's curve starts at (0, 0).
std::vector<double> roc_on_grid(const std::vector<metrics::RocPoint>& curve,
                                const std::vector<double>& grid);

/// Precision at each recall of `grid` as the step function whose area is the average
/// precision (what the tables call AUPRC): at recall r > 0 the precision of the first threshold
/// (highest score first) that reaches recall ≥ r; at recall 0 the precision of the first
/// threshold. No interpolation envelope (max precision to the right), which would lie above
/// the average precision.
std::vector<double> pr_on_grid(const std::vector<metrics::PrPoint>& curve,
                               const std::vector<double>& grid);

/// Curves of several folds on one grid, and per grid point their mean, sample SD (n − 1; 0 for
/// one fold), min and max. The band drawn is mean ± SD clipped to [0, 1].
struct FoldBand {
  std::vector<double> grid;
  std::vector<std::vector<double>> folds;
  std::vector<double> mean, sd, min, max;
};
/// Throws InputError when there is no curve or a curve's length is not the grid's.
FoldBand fold_band(const std::vector<std::vector<double>>& curves, const std::vector<double>& grid);

/// Where `program` is: a path containing '/' as given when it is executable, else the first
/// executable PATH entry of that name. Empty when there is none.
std::filesystem::path find_program(const std::string& program);

/// What `write_report_page` draws and where.
struct ReportOptions {
  bool figures = true;             ///< false: tables and index.html only
  int risk_groups = 3;             ///< Kaplan–Meier groups by pooled out-of-fold score
  int grid_points = 101;           ///< of the fold curves' common grid
  std::string gnuplot = "gnuplot"; ///< program name (looked up on PATH) or path
  /// The sweeps a multi-sweep table reads (`vfp report A B --out`, --study): the page is headed
  /// as that table, naming them. Empty: the folder is one sweep's.
  std::vector<std::string> sweeps;
};

/// What was written: index.html, the figures (SVG paths), and warnings for the caller to log
/// (gnuplot missing or failing, a configuration without out-of-fold predictions).
struct ReportOutcome {
  std::filesystem::path index;
  std::vector<std::filesystem::path> figures;
  bool figures_skipped = false; ///< gnuplot not found (or figures off): no figure drawn
  std::vector<std::string> warnings;
};

/// Writes the sweep's report/figures/ (per figure: .dat, .gp, .svg, .png) and
/// report/index.html: the sweep's name, the date, task counts from `rows`
/// (results.jsonl), the table as `table` holds it, the overview ROC and sensitivity figures,
/// and one section per configuration (ROC and PR with the fold spread from the tasks'
/// out-of-fold predictions, Kaplan–Meier by risk group from configurations/<id>/oof.csv, and
/// from its cox row the calibration diagram and the predicted vs observed risk by tertile) and
/// per nested selection (what each outer fold chose; the same figures from the chosen tasks,
/// selections/<id>/oof.csv and the selection row). A figure whose row block is null or empty is
/// left out. Without gnuplot the page is still written and says the figures were skipped.
ReportOutcome write_report_page(const results::SweepFolder& sweep, const results::Table& table,
                                const std::vector<nlohmann::json>& rows,
                                const ReportOptions& options = {});

} // namespace vfp::plots
