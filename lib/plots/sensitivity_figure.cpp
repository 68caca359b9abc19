// Hyperparameter sensitivity: AUROC mean ± SD over folds against one numeric swept key.
#include "figures.h"

#include "gnuplot.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace vfp::plots {

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

namespace {

/// The rows with results along one axis: one line per combination of the other axes' values,
/// in table order, and the axis' values (ticks, range).
struct SensitivityLines {
  std::vector<std::string> labels;
  std::map<std::string, std::vector<const results::TableRow*>> rows; ///< by label
  std::map<double, std::string> ticks;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
};

SensitivityLines sensitivity_lines(const results::Table& table, std::size_t axis) {
  SensitivityLines out;
  for (const auto& r : table.rows) {
    if (r.auroc.empty())
      continue;
    std::string label;
    for (std::size_t a = 0; a < table.axes.size(); ++a)
      if (a != axis)
        label += (label.empty() ? "" : ", ") + table.axes[a] + " = " + r.axis_values[a];
    if (!out.rows.count(label))
      out.labels.push_back(label);
    out.rows[label].push_back(&r);
    const double v = std::strtod(r.axis_values[axis].c_str(), nullptr);
    out.ticks.emplace(v, r.axis_values[axis]);
    out.lo = std::min(out.lo, v);
    out.hi = std::max(out.hi, v);
  }
  return out;
}

/// The data file: per line, its points sorted along the axis, with where each is drawn.
std::string sensitivity_data(SensitivityLines& lines, const std::string& key, std::size_t axis,
                             bool log_x) {
  const double lo = lines.lo, hi = lines.hi;
  std::vector<std::string> blocks;
  const double n_lines = double(lines.labels.size());
  for (std::size_t l = 0; l < lines.labels.size(); ++l) {
    auto& pts = lines.rows[lines.labels[l]];
    std::sort(pts.begin(), pts.end(), [&](auto* a, auto* b) {
      return std::strtod(a->axis_values[axis].c_str(), nullptr) <
             std::strtod(b->axis_values[axis].c_str(), nullptr);
    });
    // Lines are dodged sideways a little so that their error bars do not hide each other.
    const double shift = (double(l) - (n_lines - 1) / 2) * 0.012;
    std::string b = "# " + (lines.labels[l].empty() ? key : lines.labels[l]) + ": " + key +
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
  return join_blocks(blocks);
}

} // namespace

FigureText sensitivity_figure(const results::Table& table, std::size_t axis,
                              const std::string& name) {
  const auto file = name + ".dat";
  const auto& key = table.axes[axis];
  auto lines = sensitivity_lines(table, axis);
  const auto& line_labels = lines.labels;
  const double lo = lines.lo, hi = lines.hi;
  const bool log_x = lo > 0 && hi / lo >= 10; // a decade or more
  const auto data = sensitivity_data(lines, key, axis, log_x);
  const auto& col = palette();
  std::ostringstream gp;
  std::size_t longest = 0;
  for (const auto& l : line_labels)
    longest = std::max(longest, l.size());
  const auto title = "Sensitivity of AUROC to " + key;
  const auto l = layout(
      {560, 340, line_labels.size() > 1 ? int(line_labels.size()) : 0, longest, title.size()});
  gp << script_header(name, "AUROC against " + key, l.width, l.height)
     << (log_x ? "set logscale x\n" : "") << "set xtics (";
  std::size_t t = 0;
  for (const auto& [v, text] : lines.ticks)
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
     << "set title " << gp_quote(title) << "\n"
     << l.script << "plot ";
  for (std::size_t l = 0; l < line_labels.size(); ++l)
    gp << (l ? ", \\\n     " : "") << gp_quote(file) << " index " << l
       << " using 5:2:3 with yerrorlines lw 2.5 pt 7 ps 1.1 lc rgb \"" << col[l % (col.size() - 1)]
       << "\" dt " << 1 + int(l / (col.size() - 1)) % 5 << " title "
       << gp_quote(line_labels[l].empty() ? "all folds" : line_labels[l]);
  gp << "\n" << script_footer();
  return {name, data, gp.str(), "AUROC against " + key,
          "AUROC (mean ± SD over folds) against " + key +
              (line_labels.size() > 1 ? ", one line per value of the other swept keys" : "") +
              (log_x ? "; logarithmic axis" : "") + "."};
}

} // namespace vfp::plots
