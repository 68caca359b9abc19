// The table as Markdown, LaTeX (booktabs), CSV and HTML; the cells and the prose
// around them come from table_parts.h.
#include "results/results.h"

#include "core/core.h"
#include "metrics/metrics.h"
#include "table_parts.h"

#include <algorithm>
#include <sstream>

namespace vfp::results {

std::string to_markdown(const Table& t) {
  std::ostringstream md;
  md << "|";
  if (t.axes.empty())
    md << " configuration |";
  for (const auto& a : t.axes)
    md << " " << a << " |";
  const auto headers = metric_headers(t);
  for (const auto& h : headers)
    md << " " << h << " |";
  md << "\n|";
  for (size_t i = 0; i < std::max<size_t>(t.axes.size(), 1); ++i)
    md << "---|";
  for (size_t i = 0; i < headers.size(); ++i)
    md << "---:|";
  md << "\n";
  const auto best = best_of(t);
  const auto bold = [](const std::string& s, bool on) { return on ? "**" + s + "**" : s; };
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto c = cells_of(t, i, " ± ", "–");
    md << "|";
    for (const auto& v : c.axes)
      md << " " << v << " |";
    const auto values = row_values(t, i, c, best);
    for (std::size_t k = 0; k < values.size(); ++k)
      md << " " << bold(values[k].text, values[k].best) << (k == 0 ? c.markers : "") << " |";
    md << "\n";
  }
  md << "\n" << footnote(t) << "\n";
  const auto choices = choices_text(t, "- ");
  if (!choices.empty())
    md << "\n" << choices;
  if (!t.excluded.empty())
    md << "\n" << exclusions_text(t);
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
  const auto headers = metric_headers(t);
  tex << "% vfp report: " << latex_escape(footnote(t)) << "\n% needs \\usepackage{booktabs}\n"
      << "\\begin{tabular}{" << std::string(axis_columns, 'l') << std::string(headers.size(), 'r')
      << "}\n\\toprule\n";
  std::vector<std::string> header;
  if (t.axes.empty())
    header.emplace_back("configuration");
  for (const auto& a : t.axes)
    header.push_back(latex_escape(a));
  for (const auto& h : headers) {
    auto escaped = latex_escape(h);
    for (std::size_t at = escaped.find("±"); at != std::string::npos; at = escaped.find("±"))
      escaped.replace(at, std::string("±").size(), "$\\pm$");
    header.push_back(escaped);
  }
  for (std::size_t k = 0; k < header.size(); ++k)
    tex << (k ? " & " : "") << header[k];
  tex << " \\\\\n\\midrule\n";
  const auto best = best_of(t);
  const auto bold = [](const std::string& s, bool on) { return on ? "\\textbf{" + s + "}" : s; };
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto c = cells_of(t, i, " $\\pm$ ", "--");
    std::vector<std::string> cells;
    for (const auto& v : c.axes)
      cells.push_back(latex_escape(v));
    std::string markers = c.markers;
    if (markers.find("†") != std::string::npos)
      markers.replace(markers.find("†"), std::string("†").size(), "$^\\dagger$");
    const auto values = row_values(t, i, c, best);
    for (std::size_t k = 0; k < values.size(); ++k)
      cells.push_back(bold(values[k].text, values[k].best) + (k == 0 ? markers : ""));
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
  // Text cells (ids, axis names and values) are spreadsheet-safe: table.csv is opened in one.
  csv << "config_id";
  for (const auto& a : t.axes)
    csv << "," << spreadsheet_csv_field(a);
  csv << ",auroc_mean,auroc_sd,auprc_mean,auprc_sd,folds,failed,c_index,c_index_baseline,"
         "hr_per_sd,hr_per_sd_lower,hr_per_sd_upper,p_corrected_t,p_delong,selected,"
         "c_index_corrected,brier,calibration_intercept,calibration_slope,p_corrected_t_holm,"
         "p_delong_holm\n";
  const auto optional = [](double v, bool present) {
    std::ostringstream o;
    o.precision(10);
    if (present)
      o << v;
    return o.str();
  };
  for (const auto& r : t.rows) {
    csv << spreadsheet_csv_field(r.config_id);
    for (const auto& v : r.axis_values)
      csv << "," << spreadsheet_csv_field(v);
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
        << optional(r.p_delong, r.p_delong >= 0) << "," << (r.selected ? "nested" : "") << ","
        << optional(r.c_index_corrected, r.has_survival && r.c_index_corrected >= 0) << ","
        << optional(r.brier, r.brier >= 0) << "," << optional(r.calibration_intercept, r.brier >= 0)
        << "," << optional(r.calibration_slope, r.brier >= 0) << ","
        << optional(r.p_corrected_t_holm, r.p_corrected_t_holm >= 0) << ","
        << optional(r.p_delong_holm, r.p_delong_holm >= 0) << "\n";
  }
  return csv.str();
}

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
  for (const auto& h : metric_headers(t))
    html << "<th>" << html_escape(h) << "</th>";
  html << "</tr></thead>\n<tbody>\n";
  const auto best = best_of(t);
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const auto c = cells_of(t, i, " ± ", "–");
    const auto& r = t.rows[i];
    html << "<tr id=\"row-" << i << "\""
         << (t.baseline == int(i) ? " class=\"baseline\""
             : r.selected         ? " class=\"nested\""
                                  : "")
         << ">";
    for (const auto& v : c.axes)
      html << "<td>" << html_escape(v) << "</td>";
    const auto values = row_values(t, i, c, best);
    for (std::size_t k = 0; k < values.size(); ++k)
      html << "<td class=\"num\">"
           << (values[k].best ? "<strong>" + html_escape(values[k].text) + "</strong>"
                              : html_escape(values[k].text))
           << (k == 0 ? html_escape(c.markers) : "") << "</td>";
    html << "</tr>\n";
  }
  html << "</tbody>\n</table>\n";
  if (!t.excluded.empty())
    html << "<p class=\"excluded\">" << html_escape(exclusions_text(t)) << "</p>\n";
  const auto choices = choices_text(t, "");
  if (!choices.empty()) {
    html << "<ul class=\"choices\">\n";
    std::istringstream lines(choices);
    for (std::string line; std::getline(lines, line);)
      html << "<li>" << html_escape(line) << "</li>\n";
    html << "</ul>\n";
  }
  return html.str();
}

} // namespace vfp::results
