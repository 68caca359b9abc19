// The table's cells, shared by every format: one row's values as text, the column headers after
// the axes, and which values are the column's best.
#include "table_parts.h"

#include "metrics/metrics.h"
#include "survival/survival.h"

#include <algorithm>
#include <cstdio>

namespace vfp::results {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

bool any_corrected(const Table& t) {
  return std::any_of(t.rows.begin(), t.rows.end(),
                     [](const TableRow& r) { return r.has_survival && r.c_index_corrected >= 0; });
}

namespace {

double mean_of(const std::vector<double>& v) {
  return v.empty() ? -1.0 : metrics::mean_std(v).mean;
}

/// The best (highest) value of a column among the configurations' rows, or −1 when fewer
/// than two have one (a single row is not "best"); every row reaching it is bold. Nested rows
/// are estimates of a selection, never "best".
double best_value(const Table& t, double (*value)(const TableRow&)) {
  double best = -1;
  int with_value = 0;
  for (const auto& r : t.rows) {
    const double v = value(r);
    if (v < 0 || r.selected)
      continue;
    ++with_value;
    best = std::max(best, v);
  }
  return with_value > 1 ? best : -1;
}

double auroc_of(const TableRow& r) {
  return mean_of(r.auroc);
}
double auprc_of(const TableRow& r) {
  return mean_of(r.auprc);
}
double c_index_of(const TableRow& r) {
  return r.has_survival ? r.c_index : -1.0;
}

std::string mean_sd(const std::vector<double>& v, const std::string& plus_minus) {
  if (v.empty())
    return "–";
  const auto m = metrics::mean_std(v);
  return fixed(100 * m.mean, 1) + plus_minus + fixed(100 * m.std, 1);
}

std::string p_text(double p) {
  if (p < 0)
    return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, p < 0.001 ? "%.1e" : "%.3f", p);
  return buf;
}

} // namespace

Cells cells_of(const Table& t, std::size_t i, const std::string& plus_minus,
               const std::string& dash) {
  const auto& r = t.rows[i];
  Cells c;
  c.axes = r.axis_values;
  if (t.axes.empty())
    c.axes = {r.selected ? "selected (nested)" : r.config_id};
  c.auroc = mean_sd(r.auroc, plus_minus);
  c.auprc = mean_sd(r.auprc, plus_minus);
  c.folds = std::to_string(r.auroc.size());
  if (t.expected_folds > 0)
    c.folds += "/" + std::to_string(t.expected_folds);
  if (r.failed > 0)
    c.folds += " (" + std::to_string(r.failed) + " failed)";
  c.c_index = c.c_corrected = c.hr = c.brier = c.calibration = "–";
  if (r.has_survival) {
    c.c_index = fixed(r.c_index, 3) + " / " + fixed(r.c_baseline, 3);
    if (r.c_index_corrected >= 0)
      c.c_corrected = fixed(r.c_index_corrected, 3);
    c.hr = survival::format_hazard_ratio(r.hr_per_sd) + " (" +
           survival::format_hazard_ratio(r.hr_lower) + dash +
           survival::format_hazard_ratio(r.hr_upper) + ")";
  }
  if (r.brier >= 0) {
    c.brier = fixed(r.brier, 3);
    c.calibration = fixed(r.calibration_intercept, 2) + " / " + fixed(r.calibration_slope, 2);
  }
  if (t.baseline == int(i)) {
    c.comparison = c.holm = "baseline";
  } else if (t.baseline >= 0) {
    c.comparison = p_text(r.p_corrected_t) + " / " + p_text(r.p_delong);
    c.holm = p_text(r.p_corrected_t_holm) + " / " + p_text(r.p_delong_holm);
    if (r.p_corrected_t >= 0 && r.p_corrected_t < 0.05)
      c.markers += "*";
    if (r.p_delong >= 0 && r.p_delong < 0.05)
      c.markers += "†";
  }
  return c;
}

/// The column headers after the axes, in the order of row_values.
std::vector<std::string> metric_headers(const Table& t) {
  std::vector<std::string> h{"AUROC (%)", "AUPRC (AP, %)", "folds"};
  if (t.survival) {
    h.emplace_back("C-index, apparent (score+age+BMI / age+BMI)");
    if (any_corrected(t))
      h.emplace_back("C-index, optimism-corrected");
    h.emplace_back("HR per SD, adjusted for age, BMI (95 % CI)");
  }
  if (t.calibration)
    h.insert(h.end(), {"Brier", "calibration intercept / slope"});
  if (t.baseline >= 0)
    h.insert(h.end(), {"p (t / DeLong)", "Holm p (t / DeLong)"});
  return h;
}

std::vector<Value> row_values(const Table& t, std::size_t i, const Cells& c, const Best& best) {
  const auto& r = t.rows[i];
  const auto top = [&](double v, double b) { return !r.selected && b >= 0 && v >= b - 1e-12; };
  std::vector<Value> v{{c.auroc, top(auroc_of(r), best.auroc)},
                       {c.auprc, top(auprc_of(r), best.auprc)},
                       {c.folds, false}};
  if (t.survival) {
    v.push_back({c.c_index, top(c_index_of(r), best.c)});
    if (any_corrected(t))
      v.push_back({c.c_corrected, false});
    v.push_back({c.hr, false});
  }
  if (t.calibration)
    v.insert(v.end(), {{c.brier, false}, {c.calibration, false}});
  if (t.baseline >= 0)
    v.insert(v.end(), {{c.comparison, false}, {c.holm, false}});
  return v;
}

/// Best values among the configurations' rows (fewer than two: none is "best").
Best best_of(const Table& t) {
  return {best_value(t, auroc_of), best_value(t, auprc_of), best_value(t, c_index_of)};
}

} // namespace vfp::results
