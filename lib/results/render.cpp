// The table as Markdown, LaTeX (booktabs) and CSV.
#include "results/results.h"

#include "core/core.h"
#include "metrics/metrics.h"
#include "survival/survival.h"

#include <algorithm>
#include <cstdio>
#include <set>
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

/// The cells of one row, plain (no emphasis); the writers add their own.
struct Cells {
  std::vector<std::string> axes;
  std::string auroc, auprc, folds, c_index, c_corrected, hr, brier, calibration, comparison, holm,
      markers;
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

bool any_corrected(const Table& t) {
  return std::any_of(t.rows.begin(), t.rows.end(),
                     [](const TableRow& r) { return r.has_survival && r.c_index_corrected >= 0; });
}

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
    h.push_back("C-index, apparent (score+age+BMI / age+BMI)");
    if (any_corrected(t))
      h.push_back("C-index, optimism-corrected");
    h.push_back("HR per SD, adjusted for age, BMI (95 % CI)");
  }
  if (t.calibration)
    h.insert(h.end(), {"Brier", "calibration intercept / slope"});
  if (t.baseline >= 0)
    h.insert(h.end(), {"p (t / DeLong)", "Holm p (t / DeLong)"});
  return h;
}

/// One cell after the axes, with whether it is the column's best.
struct Value {
  std::string text;
  bool best = false;
};

/// Which rows' means are bold: the best of the configurations' rows (a choice made on the test
/// folds, as the footnote says); nested rows are estimates, never "best".
struct Best {
  double auroc = -1, auprc = -1, c = -1;
};

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

bool any_selected(const Table& t) {
  return std::any_of(t.rows.begin(), t.rows.end(), [](const TableRow& r) { return r.selected; });
}

/// "max over vertebrae" as the rows' train.aggregation says.
std::string aggregation_text(const Table& t) {
  std::set<std::string> seen;
  for (const auto& r : t.rows)
    if (!r.aggregation.empty())
      seen.insert(r.aggregation == "noisy_or" ? "noisy-OR" : r.aggregation);
  if (seen.size() == 1)
    return *seen.begin() + " over vertebrae";
  return seen.empty() ? "aggregated over vertebrae as train.aggregation sets"
                      : "aggregated over vertebrae as each row's train.aggregation sets";
}

/// A row by its axis values ("train.lr=1e-3"), or its id when the table has no axes.
std::string row_name(const Table& t, const TableRow& r) {
  std::string name;
  for (std::size_t k = 0; k < t.axes.size() && k < r.axis_values.size(); ++k)
    name += (name.empty() ? "" : " ") + t.axes[k] + "=" + r.axis_values[k];
  return name.empty() ? r.config_id : name;
}

/// The rows whose scores were all equal (on a fold, or pooled): their figures carry no ranking
/// information, which the table's numbers alone do not show.
std::string constant_scores_text(const Table& t) {
  std::string names;
  for (const auto& r : t.rows) {
    if (r.constant_score_folds == 0 && !r.constant_pooled_scores)
      continue;
    names += (names.empty() ? " " : "; ") + row_name(t, r) + " (";
    if (r.constant_pooled_scores)
      names += "pooled";
    if (r.constant_score_folds > 0)
      names += std::string(r.constant_pooled_scores ? ", " : "") +
               std::to_string(r.constant_score_folds) + " of " + std::to_string(r.auroc.size()) +
               " folds";
    names += ")";
  }
  if (names.empty())
    return "";
  return " Constant scores:" + names +
         ": every score equal, so no ranking information: AUROC 0.5 by ties, AP equals the "
         "prevalence, DeLong's interval undefined.";
}

std::string footnote(const Table& t) {
  std::string text = "mean ± sample SD over folds; patient-level scores (" + aggregation_text(t) +
                     "); AUPRC is average precision.";
  if (any_selected(t)) {
    text += " Bold: the best configuration on the test folds themselves, an optimistic choice. "
            "'nested' rows: per outer fold, the configuration with the best inner " +
            t.selection_metric +
            " (on k inner folds of the outer training part, or on its early-stopping validation "
            "split, as the row says) is scored on that fold's test subjects, which took no part "
            "in the choice: the estimate to report for the selection (docs/statistics.md).";
  } else if (t.rows.size() > 1) {
    text += " Bold: the best row, picked on the test folds themselves, so its mean is "
            "optimistic; a selection: section adds a nested estimate (docs/statistics.md).";
  }
  if (t.survival) {
    text += " C-index: Harrell's C of the Cox model score + age + BMI / of age + BMI alone on the "
            "pooled out-of-fold predictions, apparent (fitted and scored on the same subjects)";
    text += any_corrected(t) ? "; optimism-corrected: Harrell's bootstrap (refitted per "
                               "resample) of score + age + BMI."
                             : ".";
    text += " HR per SD: the score's hazard ratio per standard deviation, adjusted for age and BMI "
            "(95 % CI).";
  }
  if (t.calibration)
    text += " Brier, calibration intercept / slope (ideal 0 / 1): probabilities recalibrated on "
            "the other folds' predictions (logistic on the logit, the training prior undone).";
  text += constant_scores_text(t);
  if (t.baseline >= 0)
    text += " p against the baseline: Nadeau–Bengio corrected resampled t-test over folds / "
            "DeLong's test on the pooled out-of-fold predictions; * and † mark unadjusted "
            "p < 0.05; Holm: adjusted over the rows compared.";
  return text;
}

/// Below the table: the subjects left out and why (at most 20 named, then a count).
std::string exclusions_text(const Table& t) {
  if (t.excluded.empty())
    return "";
  std::string text = "Excluded from every analysis (" + std::to_string(t.excluded.size()) +
                     " subject" + (t.excluded.size() == 1 ? "" : "s") + "):";
  const std::size_t shown = std::min<std::size_t>(t.excluded.size(), 20);
  for (std::size_t k = 0; k < shown; ++k)
    text +=
        std::string(k ? ";" : "") + " " + t.excluded[k].first + " (" + t.excluded[k].second + ")";
  if (shown < t.excluded.size())
    text += "; and " + std::to_string(t.excluded.size() - shown) + " more";
  return text + "\n";
}

/// A chosen configuration by its selected keys' values ("train.lr=1e-3"), or its id when
/// its row is not in the table.
std::string chosen_name(const Table& t, const std::string& config_id) {
  for (const auto& r : t.rows) {
    if (r.selected || r.config_id != config_id)
      continue;
    std::string name;
    for (std::size_t k = 0; k < t.axes.size() && k < r.axis_values.size(); ++k)
      if (std::find(t.selection_over.begin(), t.selection_over.end(), t.axes[k]) !=
          t.selection_over.end())
        name += (name.empty() ? "" : " ") + t.axes[k] + "=" + r.axis_values[k];
    return name.empty() ? config_id : name;
  }
  return config_id;
}

/// Below a table with nested rows: what each outer fold chose.
std::string choices_text(const Table& t, const std::string& line_start) {
  std::string text;
  for (const auto& r : t.rows) {
    if (!r.selected)
      continue;
    text += line_start + "nested selection " + r.config_id + ":";
    for (std::size_t k = 0; k < r.choices.size(); ++k) {
      const auto& c = r.choices[k];
      char inner[32];
      std::snprintf(inner, sizeof inner, "%.3f", c.inner_score);
      text += std::string(k ? ";" : "") + " repeat " + std::to_string(c.repeat) + " fold " +
              std::to_string(c.fold) + " → " + chosen_name(t, c.config_id) + " (inner " +
              r.selection_metric + " " + inner + ", test AUROC " + fixed(100 * c.auroc, 1) + ")";
    }
    text += "\n";
  }
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
    header.push_back("configuration");
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
