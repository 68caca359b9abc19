// Private to lib/plots: each figure as the text of its data file and gnuplot script.
#pragma once

#include "plots/plots.h"
#include "survival/survival.h"

#include <string>
#include <vector>

namespace vfp::plots {

/// A figure before it is drawn: <name>.dat and <name>.gp in the figures folder.
struct FigureText {
  std::string name; ///< file stem, safe as a file name
  std::string data, script;
  std::string alt;     ///< one-line description (the image's alt text)
  std::string caption; ///< what the page says under it
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
  std::vector<double> auroc, auprc; ///< per split, as the table has them
};

FigureText roc_figure(const ConfigCurves& c);
FigureText pr_figure(const ConfigCurves& c);
/// Every configuration's mean ROC curve in one figure.
FigureText overview_figure(const std::vector<const ConfigCurves*>& configs);

/// Kaplan–Meier curves by risk group of the pooled out-of-fold score, with the log-rank test.
struct KmInput {
  std::string name_stem, label;
  std::vector<double> time, score;
  std::vector<int> event;
  int groups = 3;
};
FigureText km_figure(const KmInput& in);

/// AUROC mean ± SD over folds against the numeric axis `axis` of the table (one line per
/// combination of the other axes' values). Only call when that axis has ≥ 2 numeric values.
FigureText sensitivity_figure(const results::Table& table, std::size_t axis,
                              const std::string& name);
/// Whether the axis is worth a sensitivity figure: every value parses as a number and, for some
/// combination of the other axes' values, at least two distinct values have results.
bool sensitivity_applies(const results::Table& table, std::size_t axis);

/// "%.6g" of a value, for data files.
std::string num(double v);

} // namespace vfp::plots
