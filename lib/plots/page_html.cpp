// Step 3 of the report page: report/index.html from the gathered rows and the drawn figures
// (self-contained: inline CSS, no scripts, images from figures/ next to it).
#include "report.h"

#include "core/core.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <sstream>

namespace vfp::plots {
namespace {

using results::html_escape;

/// The swept keys a nested selection chose among: its row's "over", else the table's.
std::vector<std::string> selection_over(const results::Table& t, const nlohmann::json* analysis) {
  if (!analysis || !analysis->contains("over") || !(*analysis)["over"].is_array())
    return t.selection_over;
  std::vector<std::string> over;
  for (const auto& key : (*analysis)["over"])
    if (key.is_string())
      over.push_back(key.get<std::string>());
  return over;
}

/// The metric a nested selection chose on: its row's, else the table's.
std::string selection_metric(const results::Table& t, const nlohmann::json* analysis) {
  return analysis && analysis->contains("metric") && (*analysis)["metric"].is_string()
             ? (*analysis)["metric"].get<std::string>()
             : t.selection_metric;
}

/// The facts of a nested selection's section: what it chose among and on what.
std::string selection_facts(const results::Table& t, const results::TableRow& r,
                            const nlohmann::json* analysis) {
  std::string over;
  for (const auto& key : selection_over(t, analysis))
    over += (over.empty() ? "" : ", ") + key;
  const auto metric = selection_metric(t, analysis);
  const double inner =
      analysis ? json_number(*analysis, "inner_folds") : double(t.selection_inner_folds);
  const int inner_folds = std::isfinite(inner) ? int(inner) : t.selection_inner_folds;
  const auto on = inner_folds >= 2
                      ? "mean inner " + metric + " over " + std::to_string(inner_folds) +
                            " inner folds of the outer training part"
                      : "the outer task's early-stopping validation " + metric;
  std::string html = "<dt>chosen per outer fold</dt><dd>" +
                     html_escape(over.empty() ? std::string("?") : over) + ", by " +
                     html_escape(on) + "</dd>";
  std::string values;
  for (std::size_t a = 0; a < t.axes.size() && a < r.axis_values.size(); ++a)
    values += (values.empty() ? "" : "; ") + t.axes[a] + " = " + r.axis_values[a];
  if (!values.empty())
    html += "<dt>swept values</dt><dd>" + html_escape(values) + "</dd>";
  return html;
}

/// A nested selection's choices as a table: per outer split the chosen configuration (its
/// values of the selected keys, linked to its section; its id when it has no row), the inner
/// score it was chosen on and its test figures on the outer fold.
std::string choices_html(const results::Table& t, const results::TableRow& r,
                         const std::vector<RowReport>& sections,
                         const std::map<std::string, std::size_t>& config_row,
                         const std::vector<std::string>& over, const std::string& metric) {
  if (r.choices.empty())
    return "";
  std::ostringstream html;
  html << "<table class=\"results\">\n<caption>What each outer fold chose: the configuration "
          "with the best inner "
       << html_escape(metric) << ", tested on that fold.</caption>\n<thead><tr><th>repeat</th>"
       << "<th>fold</th><th>chosen configuration</th><th>inner " << html_escape(metric)
       << "</th><th>test AUROC</th><th>test AUPRC</th></tr></thead>\n<tbody>\n";
  for (const auto& c : r.choices) {
    const auto at = config_row.find(c.config_id);
    std::string name;
    if (at != config_row.end()) {
      const auto& chosen = t.rows[at->second];
      for (std::size_t a = 0; a < t.axes.size() && a < chosen.axis_values.size(); ++a)
        if (std::find(over.begin(), over.end(), t.axes[a]) != over.end())
          name += (name.empty() ? "" : ", ") + t.axes[a] + " = " + chosen.axis_values[a];
    }
    const auto text =
        name.empty() ? "<code>" + html_escape(c.config_id) + "</code>" : html_escape(name);
    html << "<tr><td class=\"num\">" << c.repeat << "</td><td class=\"num\">" << c.fold
         << "</td><td>"
         << (at != config_row.end()
                 ? "<a href=\"#config-" + html_escape(sections[at->second].curves.name_stem) +
                       "\">" + text + "</a>"
                 : text)
         << "</td><td class=\"num\">" << decimal(c.inner_score, 3) << "</td><td class=\"num\">"
         << decimal(100 * c.auroc, 1) << " %</td><td class=\"num\">" << decimal(100 * c.auprc, 1)
         << " %</td></tr>\n";
  }
  html << "</tbody>\n</table>\n";
  return html.str();
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

/// Tasks by kind: finished (last row ok) and failed, by task id.
std::string task_counts(const std::vector<nlohmann::json>& rows, int* done_out, int* failed_out) {
  std::map<std::string, std::pair<std::string, bool>> last; // task → (kind, ok)
  for (const auto& r : rows) {
    const auto id = r.value("task_id", "");
    if (!id.empty())
      last[id] = {r.value("kind", "task"), r.value("status", "") == "ok"};
  }
  std::map<std::string, std::pair<int, int>> by_kind;
  int done = 0, failed = 0;
  for (const auto& [id, v] : last) {
    (v.second ? by_kind[v.first].first : by_kind[v.first].second) += 1;
    (v.second ? done : failed) += 1;
  }
  *done_out = done;
  *failed_out = failed;
  std::string text;
  for (const auto& [kind, c] : by_kind)
    text += (text.empty() ? "" : "; ") + kind + " " + std::to_string(c.first) + " done" +
            (c.second ? ", " + std::to_string(c.second) + " failed" : "");
  return text;
}

const char* kStyle = R"(body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1400px;padding:0 24px 48px;color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;margin:28px 0 4px}h2{margin-top:40px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{margin:28px 0 6px}code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
.meta{color:#555;margin:0}.note{background:#fff6e0;border-left:4px solid #E69F00;padding:8px 12px}
nav a{margin-right:14px}table.results{border-collapse:collapse;margin:12px 0;font-size:0.95em}
table.results th,table.results td{border-bottom:1px solid #e3e3e3;padding:5px 10px;text-align:left}
table.results th{background:#f6f6f6}table.results td.num{text-align:right;
font-variant-numeric:tabular-nums}table.results tr.baseline{background:#eef5fb}
table.results caption{caption-side:bottom;text-align:left;color:#555;font-size:0.9em;
padding-top:6px;max-width:1000px}
.figures{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0;flex:1 1 400px;max-width:560px}
figure.wide{max-width:900px}figure img{width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:0.88em;color:#555}dl.facts{display:grid;grid-template-columns:max-content auto;
gap:2px 14px;margin:6px 0 12px}dl.facts dt{color:#555}dl.facts dd{margin:0}
footer{margin-top:40px;color:#666;font-size:0.9em})";

/// A figure on the page: its SVG linked to its PNG (or a note that it was not drawn), its
/// caption and links to its data and script.
std::string figure_html(const Drawn& d, bool wide = false) {
  const auto svg = "figures/" + d.text.name + ".svg", png = "figures/" + d.text.name + ".png";
  const auto gp = "figures/" + d.text.name + ".gp", dat = "figures/" + d.text.name + ".dat";
  std::string out = std::string("<figure") + (wide ? " class=\"wide\"" : "") + ">";
  if (d.rendered)
    out += "<a href=\"" + html_escape(png) + "\"><img src=\"" + html_escape(svg) + "\" alt=\"" +
           html_escape(d.text.alt) + "\" loading=\"lazy\"></a>"; // a page of 100 sections
  else
    out += "<p class=\"note\">" + html_escape(d.text.alt) + ": not drawn.</p>";
  out += "<figcaption>" + html_escape(d.text.caption) + " ";
  if (d.rendered)
    out += "<a href=\"" + html_escape(png) + "\">PNG</a> · ";
  out += "<a href=\"" + html_escape(dat) + "\">data</a> · <a href=\"" + html_escape(gp) +
         "\">gnuplot script</a></figcaption></figure>\n";
  return out;
}

/// What the section of a table row lists first: its id, its fold and pooled metrics, its
/// survival analysis and its failed tasks.
std::string row_facts(const results::Table& table, const results::TableRow& row,
                      const nlohmann::json* analysis) {
  std::ostringstream html;
  html << "<dl class=\"facts\"><dt>id</dt><dd><code>" << html_escape(row.config_id)
       << "</code></dd>";
  if (row.selected)
    html << selection_facts(table, row, analysis);
  if (!row.auroc.empty())
    html << "<dt>" << (row.selected ? "test AUROC of the chosen, over folds" : "AUROC over folds")
         << "</dt><dd>" << html_escape(metrics::format_mean_std(metrics::mean_std(row.auroc)))
         << " % (" << row.auroc.size() << " folds)</dd><dt>AUPRC (AP) over folds</dt><dd>"
         << html_escape(metrics::format_mean_std(metrics::mean_std(row.auprc))) << " %</dd>";
  if (analysis && analysis->contains("pooled") && (*analysis)["pooled"].is_object()) {
    const auto& p = (*analysis)["pooled"];
    char buf[160];
    std::snprintf(buf, sizeof buf, "%.1f %% (DeLong 95 %% CI %.1f–%.1f)",
                  100 * json_number(p, "auroc"), 100 * json_number(p, "auroc_delong_lower"),
                  100 * json_number(p, "auroc_delong_upper"));
    html << "<dt>pooled out-of-fold AUROC</dt><dd>" << html_escape(buf) << "</dd>";
  }
  if (row.has_survival) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "%.3f (score + age + BMI) vs %.3f (age + BMI); HR per SD %.2f (%.2f–%.2f)",
                  row.c_index, row.c_baseline, row.hr_per_sd, row.hr_lower, row.hr_upper);
    html << "<dt>Harrell's C</dt><dd>" << html_escape(buf) << "</dd>";
  }
  if (row.failed > 0)
    html << "<dt>failed tasks</dt><dd>" << row.failed << "</dd>";
  html << "</dl>\n";
  return html.str();
}

/// One table row's section: the facts, what a nested selection chose, the notes, the figures.
std::string row_section(const PageInput& in, std::size_t i,
                        const std::map<std::string, std::size_t>& config_row) {
  const auto& row = in.table.rows[i];
  const auto& s = in.sections[i];
  std::ostringstream html;
  html << "<section id=\"" << (row.selected ? "selection-" : "config-")
       << html_escape(s.curves.name_stem) << "\">\n<h3>" << html_escape(s.curves.label) << "</h3>\n"
       << row_facts(in.table, row, s.analysis);
  if (row.selected)
    html << choices_html(in.table, row, in.sections, config_row,
                         selection_over(in.table, s.analysis),
                         selection_metric(in.table, s.analysis));
  for (const auto& note : s.notes)
    html << "<p class=\"note\">" << html_escape(note) << "</p>\n";
  // Wide figures (the learning curves) on a row of their own, then the others side by side.
  for (const bool wide : {true, false}) {
    std::string row;
    for (const auto* d : s.figures)
      if (d->text.wide == wide)
        row += figure_html(*d, wide);
    if (!row.empty())
      html << "<div class=\"figures\">" << row << "</div>\n";
  }
  html << "</section>\n";
  return html.str();
}

/// From <!DOCTYPE> to the end of the header: the sweep, when and by what, the counts, the
/// navigation.
std::string page_head(const PageInput& in) {
  int done = 0, failed = 0;
  const auto counts = task_counts(in.rows, &done, &failed);
  const auto n_selections = std::size_t(std::count_if(in.table.rows.begin(), in.table.rows.end(),
                                                      [](const auto& r) { return r.selected; }));
  const std::size_t n_configurations = in.table.rows.size() - n_selections;
  const auto& name = in.sweep_name;
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>vfp report: " << html_escape(name) << "</title>\n<style>\n"
       << kStyle << "\n</style>\n</head>\n<body>\n<header>\n<h1>"
       << (in.sweeps.empty() ? "Sweep" : "Table") << " <code>" << html_escape(name)
       << "</code></h1>\n";
  if (!in.sweeps.empty()) {
    html << "<p class=\"meta\">One table of " << in.sweeps.size() << " sweep"
         << (in.sweeps.size() == 1 ? "" : "s") << ":";
    for (std::size_t i = 0; i < in.sweeps.size(); ++i)
      html << (i == 0 ? " " : ", ") << "<code>" << html_escape(in.sweeps[i]) << "</code>";
    html << "</p>\n";
  }
  html << "<p class=\"meta\">Report written " << utc_now() << " by vfp "
       << html_escape(std::string(version())) << " · " << n_configurations << " configuration"
       << (n_configurations == 1 ? "" : "s");
  if (n_selections > 0)
    html << " · " << n_selections << " nested selection" << (n_selections == 1 ? "" : "s");
  html << " · tasks: " << done << " done, " << failed << " failed"
       << (counts.empty() ? "" : " (" + html_escape(counts) + ")") << "</p>\n"
       << "<nav><a href=\"#table\">Table</a>"
       << (in.overview.empty() ? "" : "<a href=\"#overview\">ROC overview</a>")
       << (in.sensitivity.empty() ? "" : "<a href=\"#sensitivity\">Sensitivity</a>")
       << "<a href=\"#configurations\">Configurations</a>"
       << (n_selections > 0 ? "<a href=\"#selections\">Nested selections</a>" : "")
       << "<a href=\"#provenance\">Provenance</a></nav>\n</header>\n";
  return html.str();
}

/// The table, the downloads of its files, and the figures comparing configurations.
std::string table_and_comparisons(const PageInput& in) {
  std::ostringstream html;
  html << "<section id=\"table\">\n<h2>Results</h2>\n" << results::to_html(in.table);
  std::string downloads;
  for (const auto& f : in.downloads)
    downloads += std::string(downloads.empty() ? "" : ", ") + "<a href=\"" + f + "\">" + f + "</a>";
  if (!downloads.empty())
    html << "<p>The same table as " << downloads << ".</p>\n";
  html << "</section>\n";
  if (!in.overview.empty())
    html << "<section id=\"overview\">\n<h2>ROC overview</h2>\n<div class=\"figures\">"
         << figure_html(*in.overview[0], true) << "</div>\n</section>\n";
  if (!in.sensitivity.empty()) {
    html << "<section id=\"sensitivity\">\n<h2>Hyperparameter sensitivity</h2>\n"
         << "<div class=\"figures\">";
    for (const auto* d : in.sensitivity)
      html << figure_html(*d, true);
    html << "</div>\n</section>\n";
  }
  return html.str();
}

} // namespace

std::string page_html(const PageInput& in) {
  const auto& rows = in.table.rows;
  std::map<std::string, std::size_t> config_row; // configuration id → its table row
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].selected)
      config_row.emplace(rows[i].config_id, i);
  std::ostringstream html;
  html << page_head(in);
  if (!in.skipped.empty())
    html << "<p class=\"note\">" << html_escape(in.skipped) << "</p>\n";
  html << table_and_comparisons(in);
  html << "<section id=\"configurations\">\n<h2>Configurations</h2>\n";
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].selected)
      html << row_section(in, i, config_row);
  html << "</section>\n";
  const bool any_selection =
      std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.selected; });
  if (any_selection) {
    html << "<section id=\"selections\">\n<h2>Nested selections</h2>\n"
         << "<p>Per outer fold, the configuration with the best inner score was chosen and "
            "tested on that fold; the figures pool the chosen models' out-of-fold predictions "
            "(<code>selections/&lt;id&gt;/oof.csv</code>).</p>\n";
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (rows[i].selected)
        html << row_section(in, i, config_row);
    html << "</section>\n";
  }
  html << provenance_html(in.rows);
  html << "<footer>Each figure is drawn by gnuplot from figures/&lt;name&gt;.dat "
          "and figures/&lt;name&gt;.gp: edit the script and run <code>gnuplot &lt;name&gt;.gp"
          "</code> in figures/ to restyle it (SVG and PNG).</footer>\n</body>\n</html>\n";
  return html.str();
}

} // namespace vfp::plots
