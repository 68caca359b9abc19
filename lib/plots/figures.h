// Private to lib/plots: each figure as the text of its data file and gnuplot script.
#pragma once

#include "plots/plots.h"
#include "survival/survival.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace vfp::plots {

/// A figure before it is drawn: <name>.dat and <name>.gp in the figures folder.
struct FigureText {
  std::string name; ///< file stem, safe as a file name
  std::string data, script;
  std::string alt;     ///< one-line description (the image's alt text)
  std::string caption; ///< what the page says under it
  bool wide = false;   ///< shown at the page's wide figure width (several panels)
};

/// One configuration's out-of-fold predictions, as the figures need them.
struct SplitCurve {
  std::vector<metrics::RocPoint> roc;
  std::vector<metrics::PrPoint> pr;
};
struct ConfigCurves {
  std::string name_stem; ///< e.g. "3-a1b2c3d4", unique in the report
  std::string label;     ///< "train.lr = 1e-3, model.arch = fnet"
  std::vector<SplitCurve> splits;
  FoldBand roc, pr;
  std::vector<metrics::RocPoint> pooled_roc;
  std::vector<metrics::PrPoint> pooled_pr;
  double prevalence = 0;
  /// lib/metrics' AUROC and average precision of the pooled predictions; NaN without them.
  double pooled_auroc = std::nan(""), pooled_ap = std::nan("");
  std::vector<double> auroc, auprc; ///< per split, as the table has them
};

FigureText roc_figure(const ConfigCurves& c);
FigureText pr_figure(const ConfigCurves& c);

/// What the ROC overview draws: a few configurations' mean curves, best first, and the
/// baseline's; how many configurations had curves and the rule that chose them (a caption).
struct OverviewInput {
  std::vector<const ConfigCurves*> shown;
  const ConfigCurves* baseline = nullptr; ///< drawn last, in black and dashed; may be null
  std::size_t total = 0;                  ///< configurations with curves, shown or not
  std::string rule;                       ///< "by mean AUROC over folds", …
};
/// The mean ROC curves of `in` in one figure, with the chance line; its caption says how many
/// configurations were left out and by what rule the shown ones were chosen.
FigureText overview_figure(const OverviewInput& in);
/// The axes of a ROC figure (false-positive rate on x, true-positive rate on y, [0, 1]).
std::string roc_axes();
/// "69.6 ± 3.2 %": fractions' mean ± sample SD in %; "–" when there is none.
std::string mean_sd_percent(const std::vector<double>& v);

/// One outer task's epochs from its history.csv, as a learning-curve figure draws them.
struct FoldHistory {
  int repeat = 0, fold = 0;
  int best_epoch = 0; ///< the epoch early stopping kept (its row's; else the top val AUROC)
  std::vector<int> epoch;
  std::vector<double> train_loss, val_loss, val_auroc; ///< NaN where the epoch has none
};
/// Reads a history.csv (columns epoch, train_loss, val_auroc, val_loss; others ignored). "nan"
/// reads as NaN (no point). Throws InputError naming the file (and line and column) when it
/// is missing, has no epoch, a missing column, a cell that is not a number or epochs that do
/// not increase.
FoldHistory read_history(const std::filesystem::path& file);

/// A configuration's learning curves: its outer tasks' histories in (repeat, fold) order.
struct LearningInput {
  std::string name_stem, label;
  std::vector<FoldHistory> folds;
};
/// Training loss, validation loss and validation AUROC per epoch in three panels, one line per
/// task (colour: fold, dash: repeat), each task's best epoch marked.
FigureText learning_figure(const LearningInput& in);

/// Kaplan–Meier curves by risk group of the pooled out-of-fold score, with the log-rank test.
struct KmInput {
  std::string name_stem, label;
  std::vector<double> time, score;
  std::vector<int> event;
  int groups = 3;
};
FigureText km_figure(const KmInput& in);

/// One point of a calibration figure: predicted against observed with the observed value's
/// 95 % interval, and the subjects and events behind it.
struct CalibrationPoint {
  int n = 0, events = 0;
  double predicted = 0, observed = 0, lower = 0, upper = 0;
};

/// A reliability diagram: the cross-fitted calibrated probabilities' decile bins of a cox or
/// selection row's "calibration" block, with its summary.
struct CalibrationInput {
  std::string name_stem, label;
  std::vector<CalibrationPoint> bins;
  int n = 0, events = 0;
  double brier = 0, intercept = 0, slope = 1;
  double prior_shift = 0; ///< the training prior undone before recalibrating (0: none)
};
/// The input of `calibration_figure` from a row's "calibration" block; false (nothing to draw)
/// when the block is missing, null or has no bin with finite numbers.
bool calibration_input(const nlohmann::json& row, CalibrationInput& out);
FigureText calibration_figure(const CalibrationInput& in);

/// Mean Cox-predicted against Kaplan–Meier observed risk at a horizon, per risk group of the
/// Cox linear predictor (score + age + BMI).
struct RiskInput {
  std::string name_stem, label;
  double horizon_years = 0;
  std::vector<int> group;               ///< each point's group number (0 lowest risk), as `points`
  std::vector<CalibrationPoint> points; ///< n = subjects, events by the horizon
};
/// The input of `risk_figure` from a row's "survival" block; false when the block is missing,
/// null, has no positive horizon or no group with finite numbers.
bool risk_input(const nlohmann::json& row, RiskInput& out);
FigureText risk_figure(const RiskInput& in);

/// AUROC mean ± SD over folds against the numeric axis `axis` of the table (one line per
/// combination of the other axes' values). Only call when that axis has ≥ 2 numeric values.
FigureText sensitivity_figure(const results::Table& table, std::size_t axis,
                              const std::string& name);
/// Whether the axis is worth a sensitivity figure: every value parses as a number and, for some
/// combination of the other axes' values, at least two distinct values have results.
bool sensitivity_applies(const results::Table& table, std::size_t axis);

/// A number of a JSON object; NaN when absent, null (how JSON writes NaN) or not a number.
double json_number(const nlohmann::json& j, const char* key);

/// "%.6g" of a value, for data files.
std::string num(double v);

/// "%.*f" of a value, "–" when it is not finite.
std::string decimal(double v, int decimals);

} // namespace vfp::plots
