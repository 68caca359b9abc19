// The ROC and PR figures with the fold spread. Data files hold plain columns in gnuplot's index
// blocks (separated by two blank lines), so they are readable by any tool. The other figures:
// overview.cpp, km_figure.cpp, calibration_figures.cpp, sensitivity_figure.cpp,
// learning_curves.cpp.
#include "figures.h"

#include "core/core.h"
#include "gnuplot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace vfp::plots {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

double json_number(const nlohmann::json& j, const char* key) {
  if (!j.is_object())
    return std::nan("");
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : std::nan("");
}

/// `v` with `decimals` decimals, "–" when it is not finite.
std::string decimal(double v, int decimals) {
  if (!std::isfinite(v))
    return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

namespace {

std::string percent(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, 100 * v);
  return buf;
}

} // namespace

std::string mean_sd_percent(const std::vector<double>& v) {
  if (v.empty())
    return "–";
  const auto m = metrics::mean_std(v);
  return percent(m.mean) + " ± " + percent(m.std) + " %";
}

namespace {

/// The first block of a fold-band data file: grid, mean, mean − SD, mean + SD (clipped to
/// [0, 1]), min, max.
std::string band_block(const FoldBand& b, const std::string& x_name) {
  std::string out = "# " + x_name + " mean mean-sd mean+sd min max (over " +
                    std::to_string(b.folds.size()) + " folds)\n";
  for (std::size_t i = 0; i < b.grid.size(); ++i)
    out += num(b.grid[i]) + " " + num(b.mean[i]) + " " + num(std::max(0.0, b.mean[i] - b.sd[i])) +
           " " + num(std::min(1.0, b.mean[i] + b.sd[i])) + " " + num(b.min[i]) + " " +
           num(b.max[i]) + "\n";
  return out;
}

/// A colour with transparency for gnuplot: "#AARRGGBB", AA = 00 opaque.
std::string faded(const std::string& rgb, int alpha_hex) {
  char a[3];
  std::snprintf(a, sizeof a, "%02X", alpha_hex);
  return "#" + std::string(a) + rgb.substr(1);
}

std::string fold_curves_clause(const std::string& file, std::size_t first, std::size_t count,
                               const std::string& style, const std::string& colour) {
  if (count == 0)
    return "";
  return "for [i=" + std::to_string(first) + ":" + std::to_string(first + count - 1) + "] " +
         gp_quote(file) + " index i using 1:2 with " + style + " lw 0.8 lc rgb \"" +
         faded(colour, 0x70) + "\" title (i == " + std::to_string(first) + " ? " +
         gp_quote("single folds (" + std::to_string(count) + ")") + " : \"\"), \\\n     ";
}

/// The data file of a fold figure: index 0 the band, index 1 the pooled curve, then one index
/// per fold; curves as "x y threshold" lines.
template <typename Point>
std::string fold_figure_data(const FoldBand& band, const std::vector<Point>& pooled,
                             const std::vector<SplitCurve>& splits,
                             std::vector<Point> SplitCurve::*curve, double Point::*x,
                             double Point::*y, const std::string& what,
                             const std::string& columns) {
  std::vector<std::string> blocks{band_block(band, columns.substr(0, columns.find(' ')))};
  const auto block = [&](const std::string& title, const std::vector<Point>& points) {
    std::string b = "# " + title + ": " + columns + " threshold\n";
    for (const auto& p : points)
      b += num(p.*x) + " " + num(p.*y) + " " + num(p.threshold) + "\n";
    return b;
  };
  blocks.push_back(block("pooled out-of-fold " + what, pooled));
  for (std::size_t s = 0; s < splits.size(); ++s)
    blocks.push_back(block("fold " + std::to_string(s + 1), splits[s].*curve));
  return join_blocks(blocks);
}

/// The axes' labels of a unit-square figure.
struct AxisLabels {
  const char* x;
  const char* y;
};
constexpr AxisLabels kRocAxes{"False-positive rate (1 − specificity)",
                              "True-positive rate (sensitivity)"};
constexpr AxisLabels kPrAxes{"Recall (sensitivity)", "Precision (positive predictive value)"};

/// ROC and PR figures: [0, 1] on x, `yrange` on y, ticks every 0.2 (the layout makes the plot
/// area square).
std::string unit_square_axes(const char* yrange, const AxisLabels& labels) {
  return std::string("set xrange [0:1]\nset yrange ") + yrange +
         "\nset xtics 0.2\nset ytics 0.2\nset format '%.1f'\nset xlabel '" + labels.x +
         "'\nset ylabel '" + labels.y + "'\n";
}

/// The plot clauses of a fold figure's data file: the ± 1 SD band and the mean of the folds
/// (index 0, in the first colour), then the pooled out-of-fold curve (index 1, the second,
/// drawn `pooled_style`). No separator after the last clause.
std::string band_mean_and_pooled(const std::string& file, const char* pooled_style,
                                 const std::string& mean_title, const std::string& pooled_title) {
  const auto& col = palette();
  std::ostringstream gp;
  gp << gp_quote(file)
     << " index 0 using 1:3:4 with filledcurves fs transparent solid 0.2 noborder lc rgb \""
     << col[0] << "\" title '± 1 SD over folds', \\\n     " << gp_quote(file)
     << " index 0 using 1:2 with lines lw 3 lc rgb \"" << col[0] << "\" title "
     << gp_quote(mean_title) << ", \\\n     " << gp_quote(file) << " index 1 using 1:2 with "
     << pooled_style << " lw 2 dt 2 lc rgb \"" << col[1] << "\" title " << gp_quote(pooled_title);
  return gp.str();
}

/// A pooled out-of-fold metric in the legend: "81.2 %", or "–" without pooled predictions.
std::string pooled_percent(double v) {
  return std::isfinite(v) ? percent(v) + " %" : "–";
}

/// What tells a fold figure (ROC or PR) apart from the other.
struct FoldFigure {
  const char* kind;              ///< "ROC", "PR": the data file's heading of the pooled curve
  std::string name, title, what; ///< file stem, plot title, what it shows (its alt text)
  const char* yrange;
  AxisLabels axes;
  const char* style; ///< of the fold curves and the pooled one: lines or fsteps
  std::string mean_title, pooled_title;
  std::string before_plot; ///< script lines between the key and the plot command
  std::string reference;   ///< the last plot clause: the chance line
  std::string caption;
};

/// A fold figure: the single folds, the band and mean of the folds, the pooled curve and the
/// chance line, in a square plot with the key below. The data as fold_figure_data writes it.
template <typename Point>
FigureText fold_figure(const FoldFigure& f, const ConfigCurves& c, const FoldBand& band,
                       const std::vector<Point>& pooled, std::vector<Point> SplitCurve::*curve,
                       double Point::*x, double Point::*y, const std::string& columns) {
  const auto file = f.name + ".dat";
  // Five key entries: single folds, band, mean, pooled, the reference line.
  const auto l =
      layout({460, 460, 5, std::max({f.mean_title.size(), f.pooled_title.size(), std::size_t(28)}),
              f.title.size()});
  std::ostringstream gp;
  gp << script_header(f.name, f.what, l.width, l.height) << unit_square_axes(f.yrange, f.axes)
     << "set title " << gp_quote(f.title) << "\n"
     << l.script << f.before_plot << "plot "
     << fold_curves_clause(file, 2, c.splits.size(), f.style, palette()[0])
     << band_mean_and_pooled(file, f.style, f.mean_title, f.pooled_title) << ", \\\n     "
     << f.reference << "\n"
     << script_footer();
  auto alt = f.what;
  alt[0] = char(std::toupper(static_cast<unsigned char>(alt[0])));
  return {f.name, fold_figure_data(band, pooled, c.splits, curve, x, y, f.kind, columns), gp.str(),
          alt, f.caption};
}

} // namespace

std::string roc_axes() {
  return unit_square_axes("[0:1]", kRocAxes);
}

FigureText roc_figure(const ConfigCurves& c) {
  return fold_figure(
      {"ROC", "roc-" + c.name_stem, "ROC · " + c.label, "ROC curves of " + c.label, "[0:1]",
       kRocAxes, "lines", "mean of folds: AUROC " + mean_sd_percent(c.auroc),
       "pooled out-of-fold: AUROC " + pooled_percent(c.pooled_auroc), "",
       "x with lines lw 1.5 dt 3 lc rgb \"#777777\" title 'chance'",
       "ROC: mean of the folds' curves (interpolated at every 1 % of false-positive rate) with "
       "± 1 SD, single folds, and the pooled out-of-fold curve."},
      c, c.roc, c.pooled_roc, &SplitCurve::roc, &metrics::RocPoint::fpr, &metrics::RocPoint::tpr,
      "fpr tpr");
}

FigureText pr_figure(const ConfigCurves& c) {
  const auto steps = "\n# Curves are steps: at recall r the precision of the first threshold "
                     "reaching r (their\n# area is the average precision).\n";
  return fold_figure({"PR", "pr-" + c.name_stem, "Precision–recall · " + c.label,
                      "precision-recall curves of " + c.label, "[0:1.02]", kPrAxes, "fsteps",
                      "mean of folds: AP " + mean_sd_percent(c.auprc),
                      "pooled out-of-fold: AP " + pooled_percent(c.pooled_ap),
                      "prevalence = " + num(c.prevalence) + steps,
                      "prevalence with lines lw 1.5 dt 3 lc rgb \"#777777\" title " +
                          gp_quote("prevalence " + percent(c.prevalence) + " % (chance)"),
                      "Precision–recall: mean of the folds' step curves (every 1 % of recall) "
                      "with ± 1 SD, single folds, the pooled out-of-fold curve and the "
                      "prevalence."},
                     c, c.pr, c.pooled_pr, &SplitCurve::pr, &metrics::PrPoint::recall,
                     &metrics::PrPoint::precision, "recall precision");
}

} // namespace vfp::plots
