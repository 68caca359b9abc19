// The table as Markdown, LaTeX (booktabs) and CSV.
#include "results/results.h"

#include "metrics/metrics.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace vfp::results {
namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double mean_of(const std::vector<double>& v) {
  return v.empty() ? -1.0 : metrics::mean_std(v).mean;
}

/// The best (highest) value of a column, or −1 when fewer than two rows have one (a single
/// row is not "best"); every row reaching it is bold.
double best_value(const Table& t, double (*value)(const TableRow&)) {
  double best = -1;
  int with_value = 0;
  for (const auto& r : t.rows) {
    const double v = value(r);
    if (v < 0)
      continue;
    ++with_value;
    best = std::max(best, v);
  }
  return with_value > 1 ? best : -1;
}

bool is_best(const TableRow& r, double best, double (*value)(const TableRow&)) {
  return best >= 0 && value(r) >= best - 1e-12;
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

/// The cells of one row, plain (no emphasis); the writers add their own.
struct Cells {
  std::vector<std::string> axes;
  std::string auroc, auprc, folds, c_index, hr, comparison, markers;
};

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

Cells cells_of(const Table& t, std::size_t i, const std::string& plus_minus,
               const std::string& dash) {
  const auto& r = t.rows[i];
  Cells c;
  c.axes = r.axis_values;
  if (t.axes.empty())
    c.axes = {r.config_id};
  c.auroc = mean_sd(r.auroc, plus_minus);
  c.auprc = mean_sd(r.auprc, plus_minus);
  c.folds = std::to_string(r.auroc.size());
  if (t.expected_folds > 0)
    c.folds += "/" + std::to_string(t.expected_folds);
  if (r.failed > 0)
    c.folds += " (" + std::to_string(r.failed) + " failed)";
  if (r.has_survival) {
    c.c_index = fixed(r.c_index, 3) + " / " + fixed(r.c_baseline, 3);
    c.hr = fixed(r.hr_per_sd, 2) + " (" + fixed(r.hr_lower, 2) + dash + fixed(r.hr_upper, 2) + ")";
  } else {
    c.c_index = c.hr = "–";
  }
  if (t.baseline == int(i)) {
    c.comparison = "baseline";
  } else if (t.baseline >= 0) {
    c.comparison = p_text(r.p_corrected_t) + " / " + p_text(r.p_delong);
    if (r.p_corrected_t >= 0 && r.p_corrected_t < 0.05)
      c.markers += "*";
    if (r.p_delong >= 0 && r.p_delong < 0.05)
      c.markers += "†";
  }
  return c;
}

std::string footnote(const Table& t) {
  std::string text = "mean ± sample SD over folds; patient-level scores (max over vertebrae); "
                     "AUPRC is average precision; best in bold.";
  if (t.survival)
    text += " C-index: Harrell's C of the Cox model score + age + BMI / of age + BMI alone, and "
            "the score's hazard ratio per SD (95 % CI), on the pooled out-of-fold predictions.";
  if (t.baseline >= 0)
    text += " p against the baseline: Nadeau–Bengio corrected resampled t-test over folds / "
            "DeLong's test on the pooled out-of-fold predictions; * and † mark p < 0.05.";
  return text;
}

} // namespace

std::string to_markdown(const Table& t) {
  std::ostringstream md;
  md << "|";
  if (t.axes.empty())
    md << " configuration |";
  for (const auto& a : t.axes)
    md << " " << a << " |";
  md << " AUROC (%) | AUPRC (AP, %) | folds |";
  if (t.survival)
    md << " C-index | HR per SD (95 % CI) |";
  if (t.baseline >= 0)
    md << " p (t / DeLong) |";
  md << "\n|";
  for (size_t i = 0; i < std::max<size_t>(t.axes.size(), 1); ++i)
    md << "---|";
  md << "---:|---:|---:|" << (t.survival ? "---:|---:|" : "") << (t.baseline >= 0 ? "---:|" : "")
     << "\n";
  const double best_auroc = best_value(t, auroc_of), best_auprc = best_value(t, auprc_of),
               best_c = best_value(t, c_index_of);
  const auto bold = [](const std::string& s, bool on) { return on ? "**" + s + "**" : s; };
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto c = cells_of(t, i, " ± ", "–");
    md << "|";
    for (const auto& v : c.axes)
      md << " " << v << " |";
    md << " " << bold(c.auroc, is_best(t.rows[i], best_auroc, auroc_of)) << c.markers << " | "
       << bold(c.auprc, is_best(t.rows[i], best_auprc, auprc_of)) << " | " << c.folds << " |";
    if (t.survival)
      md << " " << bold(c.c_index, is_best(t.rows[i], best_c, c_index_of)) << " | " << c.hr << " |";
    if (t.baseline >= 0)
      md << " " << c.comparison << " |";
    md << "\n";
  }
  md << "\n" << footnote(t) << "\n";
  return md.str();
}

namespace {
std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
    case '_':
    case '%':
    case '&':
    case '#':
    case '$':
    case '{':
    case '}':
      out += '\\';
      out += ch;
      break;
    case '~':
      out += "\\textasciitilde{}";
      break;
    case '^':
      out += "\\textasciicircum{}";
      break;
    case '\\':
      out += "\\textbackslash{}";
      break;
    default:
      out += ch;
    }
  }
  return out;
}
} // namespace

std::string to_latex(const Table& t) {
  std::ostringstream tex;
  const std::size_t axis_columns = std::max<size_t>(t.axes.size(), 1);
  tex << "% vfp report: " << latex_escape(footnote(t)) << "\n% needs \\usepackage{booktabs}\n"
      << "\\begin{tabular}{" << std::string(axis_columns, 'l') << "rrr" << (t.survival ? "rr" : "")
      << (t.baseline >= 0 ? "r" : "") << "}\n\\toprule\n";
  std::vector<std::string> header;
  if (t.axes.empty())
    header.push_back("configuration");
  for (const auto& a : t.axes)
    header.push_back(latex_escape(a));
  header.insert(header.end(), {"AUROC (\\%)", "AUPRC (AP, \\%)", "folds"});
  if (t.survival)
    header.insert(header.end(), {"C-index", "HR per SD (95\\,\\% CI)"});
  if (t.baseline >= 0)
    header.push_back("$p$ ($t$ / DeLong)");
  for (std::size_t k = 0; k < header.size(); ++k)
    tex << (k ? " & " : "") << header[k];
  tex << " \\\\\n\\midrule\n";
  const double best_auroc = best_value(t, auroc_of), best_auprc = best_value(t, auprc_of),
               best_c = best_value(t, c_index_of);
  const auto bold = [](const std::string& s, bool on) { return on ? "\\textbf{" + s + "}" : s; };
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto c = cells_of(t, i, " $\\pm$ ", "--");
    std::vector<std::string> cells;
    for (const auto& v : c.axes)
      cells.push_back(latex_escape(v));
    std::string markers = c.markers;
    if (markers.find("†") != std::string::npos)
      markers.replace(markers.find("†"), std::string("†").size(), "$^\\dagger$");
    cells.push_back(bold(c.auroc, is_best(t.rows[i], best_auroc, auroc_of)) + markers);
    cells.push_back(bold(c.auprc, is_best(t.rows[i], best_auprc, auprc_of)));
    cells.push_back(latex_escape(c.folds));
    if (t.survival) {
      cells.push_back(bold(c.c_index, is_best(t.rows[i], best_c, c_index_of)));
      cells.push_back(c.hr);
    }
    if (t.baseline >= 0)
      cells.push_back(c.comparison);
    for (std::size_t k = 0; k < cells.size(); ++k)
      tex << (k ? " & " : "") << (cells[k] == "–" ? "--" : cells[k]);
    tex << " \\\\\n";
  }
  tex << "\\bottomrule\n\\end{tabular}\n";
  return tex.str();
}

std::string to_csv(const Table& t) {
  std::ostringstream csv;
  csv.precision(10);
  csv << "config_id";
  for (const auto& a : t.axes)
    csv << "," << a;
  csv << ",auroc_mean,auroc_sd,auprc_mean,auprc_sd,folds,failed,c_index,c_index_baseline,"
         "hr_per_sd,hr_per_sd_lower,hr_per_sd_upper,p_corrected_t,p_delong\n";
  const auto optional = [](double v, bool present) {
    std::ostringstream o;
    o.precision(10);
    if (present)
      o << v;
    return o.str();
  };
  for (const auto& r : t.rows) {
    csv << r.config_id;
    for (const auto& v : r.axis_values)
      csv << "," << v;
    if (r.auroc.empty()) {
      csv << ",,,,,0," << r.failed;
    } else {
      const auto a = metrics::mean_std(r.auroc), p = metrics::mean_std(r.auprc);
      csv << "," << a.mean << "," << a.std << "," << p.mean << "," << p.std << "," << r.auroc.size()
          << "," << r.failed;
    }
    csv << "," << optional(r.c_index, r.has_survival) << ","
        << optional(r.c_baseline, r.has_survival) << "," << optional(r.hr_per_sd, r.has_survival)
        << "," << optional(r.hr_lower, r.has_survival) << ","
        << optional(r.hr_upper, r.has_survival) << ","
        << optional(r.p_corrected_t, r.p_corrected_t >= 0) << ","
        << optional(r.p_delong, r.p_delong >= 0) << "\n";
  }
  return csv.str();
}

} // namespace vfp::results

namespace vfp::results {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += ch;
    }
  }
  return out;
}

std::string to_html(const Table& t) {
  std::ostringstream html;
  html << "<table class=\"results\">\n<caption>" << html_escape(footnote(t)) << "</caption>\n"
       << "<thead><tr>";
  if (t.axes.empty())
    html << "<th>configuration</th>";
  for (const auto& a : t.axes)
    html << "<th>" << html_escape(a) << "</th>";
  html << "<th>AUROC (%)</th><th>AUPRC (AP, %)</th><th>folds</th>";
  if (t.survival)
    html << "<th>C-index</th><th>HR per SD (95 % CI)</th>";
  if (t.baseline >= 0)
    html << "<th>p (t / DeLong)</th>";
  html << "</tr></thead>\n<tbody>\n";
  const double best_auroc = best_value(t, auroc_of), best_auprc = best_value(t, auprc_of),
               best_c = best_value(t, c_index_of);
  const auto cell = [](const std::string& s, bool best) {
    return "<td class=\"num\">" +
           (best ? "<strong>" + html_escape(s) + "</strong>" : html_escape(s));
  };
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto c = cells_of(t, i, " ± ", "–");
    html << "<tr id=\"row-" << i << "\"" << (t.baseline == int(i) ? " class=\"baseline\"" : "")
         << ">";
    for (const auto& v : c.axes)
      html << "<td>" << html_escape(v) << "</td>";
    html << cell(c.auroc, is_best(t.rows[i], best_auroc, auroc_of)) << html_escape(c.markers)
         << "</td>" << cell(c.auprc, is_best(t.rows[i], best_auprc, auprc_of)) << "</td>"
         << cell(c.folds, false) << "</td>";
    if (t.survival)
      html << cell(c.c_index, is_best(t.rows[i], best_c, c_index_of)) << "</td>"
           << cell(c.hr, false) << "</td>";
    if (t.baseline >= 0)
      html << cell(c.comparison, false) << "</td>";
    html << "</tr>\n";
  }
  html << "</tbody>\n</table>\n";
  return html.str();
}

} // namespace vfp::results
