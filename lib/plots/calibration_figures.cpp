// The calibration figures of a pooled analysis (a cox or selection row): the reliability
// diagram of the cross-fitted probabilities, and Cox-predicted against Kaplan–Meier observed
// risk by risk group.
#include "figures.h"

#include "gnuplot.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace vfp::plots {
namespace {

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
  return "set xrange [0:" + num(axis.max) + "]\nset yrange [0:" + num(axis.max) + "]\nset xtics " +
         num(axis.step) + "\nset ytics " + num(axis.step) + "\nset format " +
         (axis.step < 0.1 ? "'%.2f'" : "'%.1f'") + "\nset xlabel " + gp_quote(x_label) +
         "\nset ylabel " + gp_quote(y_label) + "\n";
}

/// `set title` with the label on the first line and what the figure shows on the second.
std::string two_line_title(const std::string& label, const std::string& subtitle) {
  return "set title " + gp_quote(label) + R"( . "\n" . )" + gp_quote(subtitle) + "\n";
}

/// The layout of a calibration figure: a square plot under a two-line title, the key (the
/// points and the ideal line) under it.
Layout calibration_layout(const std::string& label, const std::string& subtitle,
                          const std::string& points_title) {
  return layout({440, 440, 2, points_title.size(), std::max(label.size(), subtitle.size()), 2});
}

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
  const auto l = calibration_layout(in.label, subtitle, points_title);
  gp << script_header(f.name, "calibration of " + in.label, l.width, l.height)
     << calibration_axes(hi, "Predicted probability (recalibrated on the other folds)",
                         "Observed event fraction")
     << two_line_title(in.label, subtitle) << l.script << "plot " << gp_quote(file)
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
  const auto l = calibration_layout(in.label, subtitle, points_title);
  gp << script_header(f.name, "predicted vs observed risk at " + years + " years of " + in.label,
                      l.width, l.height)
     << calibration_axes(hi, "Cox-predicted risk at " + years + " years (group mean)",
                         "Observed risk at " + years + " years (1 − Kaplan–Meier)")
     << two_line_title(in.label, subtitle) << l.script << "plot " << gp_quote(file)
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

} // namespace vfp::plots
