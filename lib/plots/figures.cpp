// The figure scripts: ROC and PR with the fold spread, the ROC overview, Kaplan–Meier by risk
// group and hyperparameter sensitivity. Data files hold plain columns in gnuplot's index
// blocks (separated by two blank lines), so they are readable by any tool.
#include "figures.h"

#include "core/core.h"
#include "gnuplot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
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

namespace {

std::string percent(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, 100 * v);
  return buf;
}

std::string mean_sd_percent(const std::vector<double>& v) {
  if (v.empty())
    return "–";
  const auto m = metrics::mean_std(v);
  return percent(m.mean) + " ± " + percent(m.std) + " %";
}

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

/// The trapezoid area under ROC points (the AUROC with ties ½).
double roc_area(const std::vector<metrics::RocPoint>& roc) {
  double area = 0;
  for (std::size_t k = 1; k < roc.size(); ++k)
    area += (roc[k].fpr - roc[k - 1].fpr) * (roc[k].tpr + roc[k - 1].tpr) / 2;
  return area;
}

/// The legend under the plot, one entry per line, so that it never hides a curve: placed
/// at the bottom of the canvas with the plot's bottom margin made room for it (gnuplot's own
/// `key below` can overlap the x label).
std::string key_below(int entries, int height) {
  // An entry is 1.1 lines of the 15 px font (about 25 px in the SVG, more in the PNG, whose
  // font gnuplot measures wider); below the plot come the tick labels and the x label (about
  // 70 px), above the key's 9 px from the canvas' edge.
  const double bottom = (28.0 * entries + 90) / height;
  return "set key at screen 0.5, screen 0.012 center bottom Left reverse vertical maxcols 1\n"
         "set bmargin at screen " +
         num(bottom) + "\n";
}

/// A canvas width (SVG pixels) that fits key entries of `longest` characters under the plot.
int width_for_key(std::size_t longest, int at_least) {
  // gnuplot sizes the key from its estimate of the text's width, about 9 px a character in the
  // SVG and more in the PNG; a key wider than the canvas loses its entries in the PNG.
  return std::max(at_least, int(10 * double(longest)) + 170);
}

/// A canvas width (SVG pixels) that fits a title of `longest` characters over a square plot.
int width_for_title(std::size_t longest) {
  return std::max(640, int(8.5 * double(longest)) + 100);
}

/// A data file's blocks joined as gnuplot's `index` expects.
std::string join_blocks(const std::vector<std::string>& blocks) {
  std::string out;
  for (std::size_t i = 0; i < blocks.size(); ++i)
    out += (i ? "\n\n" : "") + blocks[i];
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

/// ROC and PR figures: [0, 1] on x, `yrange` on y, square, ticks every 0.2.
std::string unit_square_axes(const char* yrange, const AxisLabels& labels) {
  return std::string("set size ratio -1\nset xrange [0:1]\nset yrange ") + yrange +
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

/// `v` with `decimals` decimals, "–" when it is not finite.
std::string decimal(double v, int decimals) {
  if (!std::isfinite(v))
    return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// A count of a JSON object; −1 when it is not a finite number.
int json_count(const nlohmann::json& j, const char* key) {
  const double v = json_number(j, key);
  return std::isfinite(v) && std::abs(v) < 1e9 ? int(std::lround(v)) : -1;
}

/// The shared range of both axes of a calibration figure: from 0 to a round value above `hi`
/// (at most 1), so small risks are not squeezed into a corner, with a tick step of at most 6
/// intervals.
struct ZoomedAxis {
  double max, step;
};
ZoomedAxis zoomed_unit_axis(double hi) {
  hi = std::clamp(hi * 1.05, 0.01, 1.0);
  for (double step : {0.01, 0.02, 0.05, 0.1, 0.2}) {
    const double max = std::min(1.0, std::ceil(hi / step - 1e-9) * step);
    if (max / step <= 6 + 1e-9)
      return {max, step};
  }
  return {1.0, 0.2};
}

/// Both axes of a calibration figure: equal ranges from 0, square, the ideal diagonal visible.
std::string calibration_axes(double hi, const std::string& x_label, const std::string& y_label) {
  const auto axis = zoomed_unit_axis(hi);
  return "set size ratio -1\nset xrange [0:" + num(axis.max) + "]\nset yrange [0:" + num(axis.max) +
         "]\nset xtics " + num(axis.step) + "\nset ytics " + num(axis.step) + "\nset format " +
         (axis.step < 0.1 ? "'%.2f'" : "'%.1f'") + "\nset xlabel " + gp_quote(x_label) +
         "\nset ylabel " + gp_quote(y_label) + "\n";
}

/// `set title` with the label on the first line and what the figure shows on the second.
std::string two_line_title(const std::string& label, const std::string& subtitle) {
  return "set title " + gp_quote(label) + R"( . "\n" . )" + gp_quote(subtitle) + "\n";
}

/// The key of a calibration figure: inside, top left, where a calibrated model leaves the plot
/// empty (observed far above predicted).
constexpr const char* kKeyTopLeft = "set key inside top left Left reverse nobox noopaque\n";

/// A calibration point as a data line: n events predicted observed lower upper.
std::string point_columns(const CalibrationPoint& p) {
  return std::to_string(p.n) + " " + std::to_string(p.events) + " " + num(p.predicted) + " " +
         num(p.observed) + " " + num(p.lower) + " " + num(p.upper);
}

/// A horizon in years as the titles say it: "5", "2.5".
std::string years_text(double years) {
  return std::abs(years - std::round(years)) < 1e-6 ? decimal(years, 0) : decimal(years, 1);
}

} // namespace

bool calibration_input(const nlohmann::json& row, CalibrationInput& out) {
  if (!row.is_object() || !row.contains("calibration") || !row["calibration"].is_object())
    return false;
  const auto& cal = row["calibration"];
  if (!cal.contains("cross_fitted") || !cal["cross_fitted"].is_object())
    return false;
  const auto& cross = cal["cross_fitted"];
  out.bins.clear();
  if (cross.contains("bins") && cross["bins"].is_array())
    for (const auto& b : cross["bins"]) {
      CalibrationPoint p{
          json_count(b, "n"),         json_count(b, "events"), json_number(b, "mean_predicted"),
          json_number(b, "observed"), json_number(b, "lower"), json_number(b, "upper")};
      if (p.n > 0 && p.events >= 0 && std::isfinite(p.predicted) && std::isfinite(p.observed) &&
          std::isfinite(p.lower) && std::isfinite(p.upper))
        out.bins.push_back(p);
    }
  out.n = json_count(cross, "n");
  out.events = json_count(cross, "events");
  out.brier = json_number(cross, "brier");
  out.intercept = json_number(cross, "intercept");
  out.slope = json_number(cross, "slope");
  const double shift = json_number(cal, "prior_shift");
  out.prior_shift = std::isfinite(shift) ? shift : 0;
  return !out.bins.empty();
}

FigureText calibration_figure(const CalibrationInput& in) {
  FigureText f;
  f.name = "calibration-" + in.name_stem;
  const auto file = f.name + ".dat";
  const auto summary = "Brier " + decimal(in.brier, 3) + " · intercept " +
                       decimal(in.intercept, 2) + " · slope " + decimal(in.slope, 2);
  f.data = "# cross-fitted calibrated probabilities: n " + std::to_string(in.n) + " events " +
           std::to_string(in.events) + " brier " + num(in.brier) + " intercept " +
           num(in.intercept) + " slope " + num(in.slope) + " prior_shift " + num(in.prior_shift) +
           "\n# bins of predicted probability (deciles): bin n events mean_predicted observed "
           "lower upper (lower, upper: Wilson 95 % interval of observed)\n";
  double hi = 0;
  for (std::size_t k = 0; k < in.bins.size(); ++k) {
    const auto& b = in.bins[k];
    f.data += std::to_string(k + 1) + " " + point_columns(b) + "\n";
    hi = std::max({hi, b.predicted, b.observed, b.upper});
  }
  const std::string subtitle = "Calibration · " + summary;
  const std::string points_title =
      "observed, 95 % CI" +
      (in.n >= 0 && in.events >= 0
           ? " (" + std::to_string(in.n) + " subjects, " + std::to_string(in.events) + " events)"
           : std::string());
  std::ostringstream gp;
  gp << script_header(f.name, "calibration of " + in.label,
                      width_for_title(std::max(in.label.size(), subtitle.size())), 700)
     << calibration_axes(hi, "Predicted probability (recalibrated on the other folds)",
                         "Observed event fraction")
     << two_line_title(in.label, subtitle) << kKeyTopLeft << "plot " << gp_quote(file)
     << " using 4:5:6:7 with yerrorlines lw 2 pt 7 ps 1.2 lc rgb \"" << palette()[0] << "\" title "
     << gp_quote(points_title) << ", \\\n     "
     << "x with lines lw 1.5 dt 3 lc rgb \"#777777\" title 'ideal'\n"
     << script_footer();
  f.script = gp.str();
  f.alt = "Calibration of the predicted probabilities of " + in.label;
  f.caption = std::string("Calibration of probabilities recalibrated on the other folds "
                          "(logistic on the logit") +
              (in.prior_shift != 0 ? ", training prior undone" : "") +
              "): observed event fraction per decile of predicted probability with Wilson 95 % "
              "intervals, and the ideal diagonal; Brier " +
              decimal(in.brier, 3) + ", calibration intercept " + decimal(in.intercept, 2) +
              ", slope " + decimal(in.slope, 2) + ".";
  return f;
}

bool risk_input(const nlohmann::json& row, RiskInput& out) {
  if (!row.is_object() || !row.contains("survival") || !row["survival"].is_object())
    return false;
  const auto& s = row["survival"];
  out.horizon_years = json_number(s, "risk_horizon_years");
  if (!(out.horizon_years > 0) || !s.contains("risk_groups") || !s["risk_groups"].is_array())
    return false;
  out.group.clear();
  out.points.clear();
  for (const auto& g : s["risk_groups"]) {
    const int group = json_count(g, "group");
    CalibrationPoint p{json_count(g, "subjects"),        json_count(g, "events"),
                       json_number(g, "predicted"),      json_number(g, "observed"),
                       json_number(g, "observed_lower"), json_number(g, "observed_upper")};
    if (group >= 0 && p.n > 0 && p.events >= 0 && std::isfinite(p.predicted) &&
        std::isfinite(p.observed) && std::isfinite(p.lower) && std::isfinite(p.upper)) {
      out.group.push_back(group);
      out.points.push_back(p);
    }
  }
  return !out.points.empty();
}

FigureText risk_figure(const RiskInput& in) {
  FigureText f;
  f.name = "risk-" + in.name_stem;
  const auto file = f.name + ".dat";
  const auto years = years_text(in.horizon_years);
  // pooled.cpp makes tertiles; more groups (a later choice) are numbered instead.
  const bool tertiles =
      !in.group.empty() && *std::max_element(in.group.begin(), in.group.end()) < 3;
  const std::string groups_text = tertiles ? "tertile" : "risk group";
  f.data = "# horizon_years " + num(in.horizon_years) + "\n# risk groups (" + groups_text +
           "s of the Cox linear predictor of score + age + BMI, 0 lowest): group subjects "
           "events predicted observed observed_lower observed_upper name (predicted: mean "
           "Cox-predicted risk at the horizon; observed: Kaplan-Meier 1 - S(horizon) with its "
           "95 % interval; events: by the horizon)\n";
  double hi = 0;
  for (std::size_t k = 0; k < in.points.size(); ++k) {
    const auto& p = in.points[k];
    const int g = in.group[k];
    const std::string name = tertiles
                                 ? std::vector<std::string>{"low", "middle", "high"}[std::size_t(g)]
                                 : "group_" + std::to_string(g + 1);
    f.data += std::to_string(g) + " " + point_columns(p) + " " + name + "\n";
    hi = std::max({hi, p.predicted, p.observed, p.upper});
  }
  const std::string subtitle =
      "Risk at " + years + " years by " + groups_text + " of score + age + BMI";
  const std::string points_title = "Kaplan–Meier observed, 95 % CI";
  std::ostringstream gp;
  gp << script_header(f.name, "predicted vs observed risk at " + years + " years of " + in.label,
                      width_for_title(std::max(in.label.size(), subtitle.size())), 700)
     << calibration_axes(hi, "Cox-predicted risk at " + years + " years (group mean)",
                         "Observed risk at " + years + " years (1 − Kaplan–Meier)")
     << two_line_title(in.label, subtitle) << kKeyTopLeft << "plot " << gp_quote(file)
     << " using 4:5:6:7 with yerrorlines lw 2 pt 7 ps 1.3 lc rgb \"" << palette()[1] << "\" title "
     << gp_quote(points_title) << ", \\\n     " << gp_quote(file)
     << " using 4:5:8 with labels left offset char 1,0.6 textcolor rgb \"#333333\" notitle, "
        "\\\n     "
     << "x with lines lw 1.5 dt 3 lc rgb \"#777777\" title 'ideal'\n"
     << script_footer();
  f.script = gp.str();
  f.alt = "Cox-predicted vs Kaplan-Meier observed risk at " + years + " years of " + in.label;
  f.caption = "Cox-predicted vs observed (Kaplan–Meier) risk at " + years + " years by " +
              groups_text +
              " of score + age + BMI: mean predicted risk per group against the "
              "observed risk with its 95 % CI, and the ideal diagonal. Apparent: the Cox model "
              "was fitted to these same subjects.";
  return f;
}

FigureText roc_figure(const ConfigCurves& c) {
  FigureText f;
  f.name = "roc-" + c.name_stem;
  const auto file = f.name + ".dat";
  f.data = fold_figure_data(c.roc, c.pooled_roc, c.splits, &SplitCurve::roc,
                            &metrics::RocPoint::fpr, &metrics::RocPoint::tpr, "ROC", "fpr tpr");
  const auto& col = palette();
  std::ostringstream gp;
  gp << script_header(f.name, "ROC curves of " + c.label, width_for_key(c.label.size() + 6, 640),
                      760)
     << unit_square_axes("[0:1]", kRocAxes) << "set title " << gp_quote("ROC · " + c.label) << "\n"
     << key_below(5, 760) << "plot "
     << fold_curves_clause(file, 2, c.splits.size(), "lines", col[0])
     << band_mean_and_pooled(file, "lines", "mean of folds: AUROC " + mean_sd_percent(c.auroc),
                             "pooled out-of-fold: AUROC " +
                                 (c.pooled_roc.size() > 1 ? percent(roc_area(c.pooled_roc)) + " %"
                                                          : std::string("–")))
     << ", \\\n     x with lines lw 1.5 dt 3 lc rgb \"#777777\" title 'chance'\n"
     << script_footer();
  f.script = gp.str();
  f.alt = "ROC curves of " + c.label;
  f.caption = "ROC: mean of the folds' curves (interpolated at every 1 % of false-positive "
              "rate) with ± 1 SD, single folds, and the pooled out-of-fold curve.";
  return f;
}

FigureText pr_figure(const ConfigCurves& c) {
  FigureText f;
  f.name = "pr-" + c.name_stem;
  const auto file = f.name + ".dat";
  f.data = fold_figure_data(c.pr, c.pooled_pr, c.splits, &SplitCurve::pr, &metrics::PrPoint::recall,
                            &metrics::PrPoint::precision, "PR", "recall precision");
  const auto& col = palette();
  double pooled_ap = 0;
  for (std::size_t k = 1; k < c.pooled_pr.size(); ++k)
    pooled_ap += (c.pooled_pr[k].recall - c.pooled_pr[k - 1].recall) * c.pooled_pr[k].precision;
  std::ostringstream gp;
  gp << script_header(f.name, "precision-recall curves of " + c.label,
                      width_for_key(c.label.size() + 20, 640), 760)
     << unit_square_axes("[0:1.02]", kPrAxes) << "set title "
     << gp_quote("Precision–recall · " + c.label) << "\n"
     << key_below(5, 760) << "prevalence = " << num(c.prevalence) << "\n"
     << "# Curves are steps: at recall r the precision of the first threshold reaching r (their\n"
     << "# area is the average precision).\n"
     << "plot " << fold_curves_clause(file, 2, c.splits.size(), "fsteps", col[0])
     << band_mean_and_pooled(file, "fsteps", "mean of folds: AP " + mean_sd_percent(c.auprc),
                             "pooled out-of-fold: AP " + percent(pooled_ap) + " %")
     << ", \\\n     prevalence with lines lw 1.5 dt 3 lc rgb \"#777777\" title "
     << gp_quote("prevalence " + percent(c.prevalence) + " % (chance)") << "\n"
     << script_footer();
  f.script = gp.str();
  f.alt = "Precision-recall curves of " + c.label;
  f.caption = "Precision–recall: mean of the folds' step curves (every 1 % of recall) with "
              "± 1 SD, single folds, the pooled out-of-fold curve and the prevalence.";
  return f;
}

FigureText overview_figure(const std::vector<const ConfigCurves*>& configs) {
  FigureText f;
  f.name = "roc-overview";
  const auto file = f.name + ".dat";
  std::vector<std::string> blocks;
  for (const auto* c : configs) {
    std::string b = "# " + c->label + ": fpr mean_tpr\n";
    for (std::size_t i = 0; i < c->roc.grid.size(); ++i)
      b += num(c->roc.grid[i]) + " " + num(c->roc.mean[i]) + "\n";
    blocks.push_back(b);
  }
  f.data = join_blocks(blocks);
  const auto& col = palette();
  std::ostringstream gp;
  const int height = 580 + 28 * int(configs.size() + 1);
  std::vector<std::string> titles;
  std::size_t longest = 0;
  for (const auto* c : configs) {
    titles.push_back(c->label + ": AUROC " + mean_sd_percent(c->auroc));
    longest = std::max(longest, titles.back().size());
  }
  gp << script_header(f.name, "mean ROC curve of every configuration", width_for_key(longest, 640),
                      height)
     << unit_square_axes("[0:1]", kRocAxes)
     << "set title 'Mean ROC curve over folds, per configuration'\n"
     << key_below(int(configs.size()) + 1, height) << "plot ";
  for (std::size_t k = 0; k < configs.size(); ++k) {
    // Colours first, then dash patterns, so that up to 7 × 5 curves stay apart.
    const auto colour = col[k % (col.size() - 1)];
    const auto dash = 1 + int(k / (col.size() - 1)) % 5;
    gp << gp_quote(file) << " index " << k << " using 1:2 with lines lw 2.5 dt " << dash
       << " lc rgb \"" << colour << "\" title " << gp_quote(titles[k]) << ", \\\n     ";
  }
  gp << "x with lines lw 1.5 dt 3 lc rgb \"#777777\" title 'chance'\n" << script_footer();
  f.script = gp.str();
  f.alt = "Mean ROC curves of every configuration";
  f.caption = "Mean ROC curve over folds of every configuration; the legend gives AUROC mean ± "
              "SD over folds.";
  return f;
}

FigureText km_figure(const KmInput& in) {
  FigureText f;
  f.name = "km-" + in.name_stem;
  const auto file = f.name + ".dat";
  const auto group = survival::risk_groups(in.score, in.groups);
  const auto test = survival::log_rank_test(in.time, in.event, group);
  const int k = in.groups;
  const double t_max = *std::max_element(in.time.begin(), in.time.end());
  // Ticks at a round step giving at most 8 intervals.
  double step = 0.5;
  for (double s : {0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0})
    if (t_max / s <= 8) {
      step = s;
      break;
    }
  const double x_max = std::ceil(t_max / step) * step;
  std::vector<std::string> curves, censored, names, short_names;
  std::vector<std::vector<int>> at_risk(static_cast<std::size_t>(k));
  double lowest = 1;
  for (int g = 0; g < k; ++g) {
    std::vector<double> t;
    std::vector<int> e;
    for (std::size_t i = 0; i < group.size(); ++i)
      if (group[i] == g) {
        t.push_back(in.time[i]);
        e.push_back(in.event[i]);
      }
    short_names.push_back(k == 3 ? std::vector<std::string>{"low", "middle", "high"}[std::size_t(g)]
                                 : "group " + std::to_string(g + 1));
    names.push_back(short_names.back() + (k == 3 ? " risk" : " of " + std::to_string(k)) + ": " +
                    std::to_string(t.size()) + " subjects, " +
                    std::to_string(int(test.observed[std::size_t(g)])) + " fractures");
    std::string curve = "# " + names.back() + ": years survival (Kaplan-Meier steps)\n0 1\n";
    std::string marks = "# " + names.back() + ": censored at years, survival\n";
    if (!t.empty()) {
      const auto km = survival::kaplan_meier(t, e);
      for (std::size_t j = 0; j < km.time.size(); ++j) {
        if (km.events[j] > 0)
          curve += num(km.time[j]) + " " + num(km.survival[j]) + "\n";
        if (km.censored[j] > 0)
          marks += num(km.time[j]) + " " + num(km.survival[j]) + "\n";
        lowest = std::min(lowest, km.survival[j]);
      }
      curve += num(km.time.back()) + " " + num(km.survival.back()) + "\n"; // to the last follow-up
    }
    curves.push_back(curve);
    censored.push_back(marks);
    for (double tick = 0; tick <= x_max + 1e-9; tick += step)
      at_risk[std::size_t(g)].push_back(
          int(std::count_if(t.begin(), t.end(), [&](double v) { return v >= tick - 1e-12; })));
  }
  std::vector<std::string> blocks = curves;
  blocks.insert(blocks.end(), censored.begin(), censored.end());
  f.data = join_blocks(blocks);
  char p_text[96];
  std::snprintf(p_text, sizeof p_text,
                test.p < 0.001 ? "log-rank p = %.1e (χ² = %.1f, %d df)"
                               : "log-rank p = %.3f (χ² = %.1f, %d df)",
                test.p, test.chi2, test.df);
  const double y_min = std::max(0.0, std::floor((lowest - 0.05) * 10) / 10);
  const std::vector<std::string> colours =
      k == 3 ? std::vector<std::string>{"#0072B2", "#E69F00", "#D55E00"} : palette();
  // Below the plot: the x label, then "Number at risk" and one row per group, then the key.
  const int height = 620 + 26 * (2 * k + 1);
  const double row = 26.0 / height;
  const double bottom = 0.09 + row * (2 * k + 2.5);
  std::ostringstream gp;
  const std::string subtitle = std::string("Kaplan–Meier by predicted-risk group · ") + p_text;
  gp << script_header(f.name, "Kaplan-Meier curves by predicted-risk group of " + in.label,
                      width_for_key(std::max(in.label.size(), subtitle.size()), 720), height)
     << "set xrange [0:" << num(x_max) << "]\nset yrange [" << num(y_min) << ":1.0]\n"
     << "set xtics " << num(step) << "\n"
     << (1 - y_min <= 0.3 + 1e-9 ? "set ytics 0.05\nset format y '%.2f'\n"
                                 : "set ytics 0.1\nset format y '%.1f'\n")
     << "set xlabel 'Years since the baseline CT'\n"
     << "set ylabel 'Fracture-free survival'\n"
     << "set title " << gp_quote(in.label) << " . \"\\n\" . " << gp_quote(subtitle) << "\n"
     << "set key at screen 0.5, screen 0.012 center bottom Left reverse vertical maxcols 1\n"
     << "set bmargin at screen " << num(bottom) << "\nset lmargin 14\n"
     << "# Numbers at risk under the plot, one row per group.\n"
     << "set label 'Number at risk' at graph 0, screen " << num(bottom - 3.2 * row) << " left\n";
  for (int g = 0; g < k; ++g) {
    const double y = bottom - (4.2 + g) * row;
    const auto& colour = colours[std::size_t(g) % colours.size()];
    gp << "set label " << gp_quote(short_names[std::size_t(g)]) << " at graph 0, screen " << num(y)
       << " right offset -3,0 textcolor rgb \"" << colour << "\"\n";
    int i = 0;
    for (double tick = 0; tick <= x_max + 1e-9; tick += step, ++i)
      gp << "set label '" << at_risk[std::size_t(g)][std::size_t(i)] << "' at first " << num(tick)
         << ", screen " << num(y) << " center textcolor rgb \"" << colour << "\"\n";
  }
  std::vector<std::string> clauses;
  for (int g = 0; g < k; ++g) {
    const auto& colour = colours[std::size_t(g) % colours.size()];
    clauses.push_back(gp_quote(file) + " index " + std::to_string(g) +
                      " using 1:2 with steps lw 2.5 lc rgb \"" + colour + "\" title " +
                      gp_quote(names[std::size_t(g)]));
  }
  bool any_censored = false;
  for (int g = 0; g < k; ++g)
    if (std::count(censored[std::size_t(g)].begin(), censored[std::size_t(g)].end(), '\n') > 1) {
      clauses.push_back(gp_quote(file) + " index " + std::to_string(k + g) +
                        " using 1:2 with points pt 1 ps 1.1 lw 1.5 lc rgb \"" +
                        colours[std::size_t(g) % colours.size()] + "\" notitle");
      any_censored = true;
    }
  if (any_censored)
    clauses.push_back(
        "keyentry with points pt 1 ps 1.1 lw 1.5 lc rgb \"#555555\" title 'censored'");
  gp << "plot ";
  for (std::size_t i = 0; i < clauses.size(); ++i)
    gp << (i ? ", \\\n     " : "") << clauses[i];
  gp << "\n" << script_footer();
  f.script = gp.str();
  f.alt = "Kaplan-Meier curves by predicted-risk group of " + in.label;
  f.caption = std::string("Kaplan–Meier by predicted risk: subjects split into ") +
              (k == 3 ? "tertiles" : std::to_string(k) + " groups") +
              " of the pooled out-of-fold score; + marks censoring; " + p_text + ".";
  return f;
}

bool sensitivity_applies(const results::Table& table, std::size_t axis) {
  std::map<std::vector<std::string>, std::set<double>> values; // other axes' values → this axis'
  for (const auto& r : table.rows) {
    if (axis >= r.axis_values.size())
      return false;
    const auto& s = r.axis_values[axis];
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !std::isfinite(v))
      return false;
    if (r.auroc.empty())
      continue;
    auto others = r.axis_values;
    others.erase(others.begin() + std::ptrdiff_t(axis));
    values[others].insert(v);
  }
  for (const auto& [others, distinct] : values)
    if (distinct.size() >= 2)
      return true;
  return false;
}

FigureText sensitivity_figure(const results::Table& table, std::size_t axis,
                              const std::string& name) {
  FigureText f;
  f.name = name;
  const auto file = f.name + ".dat";
  const auto& key = table.axes[axis];
  // Lines: one per combination of the other axes' values, in table order.
  std::vector<std::string> line_labels;
  std::map<std::string, std::vector<const results::TableRow*>> lines;
  std::map<double, std::string> ticks;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : table.rows) {
    if (r.auroc.empty())
      continue;
    std::string label;
    for (std::size_t a = 0; a < table.axes.size(); ++a)
      if (a != axis)
        label += (label.empty() ? "" : ", ") + table.axes[a] + " = " + r.axis_values[a];
    if (!lines.count(label))
      line_labels.push_back(label);
    lines[label].push_back(&r);
    const double v = std::strtod(r.axis_values[axis].c_str(), nullptr);
    ticks.emplace(v, r.axis_values[axis]);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const bool log_x = lo > 0 && hi / lo >= 10; // a decade or more
  std::vector<std::string> blocks;
  const double n_lines = double(line_labels.size());
  for (std::size_t l = 0; l < line_labels.size(); ++l) {
    auto& pts = lines[line_labels[l]];
    std::sort(pts.begin(), pts.end(), [&](auto* a, auto* b) {
      return std::strtod(a->axis_values[axis].c_str(), nullptr) <
             std::strtod(b->axis_values[axis].c_str(), nullptr);
    });
    // Lines are dodged sideways a little so that their error bars do not hide each other.
    const double shift = (double(l) - (n_lines - 1) / 2) * 0.012;
    std::string b = "# " + (line_labels[l].empty() ? key : line_labels[l]) + ": " + key +
                    " auroc_mean_percent auroc_sd_percent folds x_drawn\n";
    for (const auto* r : pts) {
      const double v = std::strtod(r->axis_values[axis].c_str(), nullptr);
      const auto m = metrics::mean_std(r->auroc);
      const double drawn = log_x ? v * std::pow(hi / lo, shift) : v + shift * (hi - lo);
      b += num(v) + " " + num(100 * m.mean) + " " + num(100 * m.std) + " " + std::to_string(m.n) +
           " " + num(drawn) + "\n";
    }
    blocks.push_back(b);
  }
  f.data = join_blocks(blocks);
  const auto& col = palette();
  std::ostringstream gp;
  const int height = 500 + (line_labels.size() > 1 ? 28 * int(line_labels.size()) : 0);
  std::size_t longest = 0;
  for (const auto& l : line_labels)
    longest = std::max(longest, l.size());
  gp << script_header(f.name, "AUROC against " + key, width_for_key(longest, 720), height)
     << (log_x ? "set logscale x\n" : "") << "set xtics (";
  std::size_t t = 0;
  for (const auto& [v, text] : ticks)
    gp << (t++ ? ", " : "") << gp_quote(text) << " " << num(v);
  const double pad = log_x ? 0 : 0.08 * (hi - lo);
  gp << ")\n";
  if (log_x)
    gp << "set xrange [" << num(lo / std::pow(hi / lo, 0.08)) << ":"
       << num(hi * std::pow(hi / lo, 0.08)) << "]\n";
  else
    gp << "set xrange [" << num(lo - pad) << ":" << num(hi + pad) << "]\n";
  gp << "set xlabel " << gp_quote(key + (log_x ? " (log scale)" : "")) << "\n"
     << "set ylabel 'AUROC (%), mean ± SD over folds'\n"
     << "set title " << gp_quote("Sensitivity of AUROC to " + key) << "\n"
     << (line_labels.size() > 1 ? key_below(int(line_labels.size()), height) : "set key off\n")
     << "plot ";
  for (std::size_t l = 0; l < line_labels.size(); ++l)
    gp << (l ? ", \\\n     " : "") << gp_quote(file) << " index " << l
       << " using 5:2:3 with yerrorlines lw 2.5 pt 7 ps 1.1 lc rgb \"" << col[l % (col.size() - 1)]
       << "\" dt " << 1 + int(l / (col.size() - 1)) % 5 << " title "
       << gp_quote(line_labels[l].empty() ? "all folds" : line_labels[l]);
  gp << "\n" << script_footer();
  f.script = gp.str();
  f.alt = "AUROC against " + key;
  f.caption = "AUROC (mean ± SD over folds) against " + key +
              (line_labels.size() > 1 ? ", one line per value of the other swept keys" : "") +
              (log_x ? "; logarithmic axis" : "") + ".";
  return f;
}

} // namespace vfp::plots
