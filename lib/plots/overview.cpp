// The ROC overview: the mean ROC curves of a few configurations — those the nested selection
// chose, else the best by mean AUROC (AUPRC when the selection chose on it) — and the
// baseline. With a hundred configurations a curve each would be unreadable; the table lists
// them all.
#include "report.h"

#include "gnuplot.h"

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

namespace vfp::plots {

namespace {

double mean_or_lowest(const std::vector<double>& v) {
  return v.empty() ? -std::numeric_limits<double>::infinity()
                   : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

} // namespace

OverviewInput choose_overview(const results::Table& table, const std::vector<RowReport>& sections,
                              std::size_t best) {
  OverviewInput out;
  // The selection's rule: per outer fold it chose one configuration; those chosen most often
  // lead. Its metric orders the rest (loss is not in the table: AUROC then).
  std::map<std::string, int> chosen;
  for (const auto& row : table.rows)
    for (const auto& c : row.choices)
      ++chosen[c.config_id];
  const bool by_auprc = table.selection_metric == "auprc";
  const auto& base = table.baseline >= 0 && std::size_t(table.baseline) < table.rows.size()
                         ? table.rows[std::size_t(table.baseline)].config_id
                         : std::string();
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < table.rows.size() && i < sections.size(); ++i) {
    const auto& row = table.rows[i];
    if (row.selected || sections[i].curves.roc.mean.empty())
      continue;
    ++out.total;
    if (!base.empty() && int(i) == table.baseline)
      out.baseline = &sections[i].curves;
    else
      candidates.push_back(i);
  }
  const auto score = [&](std::size_t i) {
    return mean_or_lowest(by_auprc ? table.rows[i].auprc : table.rows[i].auroc);
  };
  const auto times = [&](std::size_t i) {
    const auto it = chosen.find(table.rows[i].config_id);
    return it == chosen.end() ? 0 : it->second;
  };
  std::stable_sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
    return times(a) != times(b) ? times(a) > times(b) : score(a) > score(b);
  });
  for (std::size_t k = 0; k < candidates.size() && k < best; ++k)
    out.shown.push_back(&sections[candidates[k]].curves);
  const std::string metric = by_auprc ? "AUPRC" : "AUROC";
  out.rule = chosen.empty() ? "by mean " + metric + " over folds"
                            : "those the nested selection chose (most often first), then by mean " +
                                  metric + " over folds";
  return out;
}

FigureText overview_figure(const OverviewInput& in) {
  const std::string name = "roc-overview", file = name + ".dat";
  std::vector<const ConfigCurves*> drawn = in.shown;
  if (in.baseline)
    drawn.push_back(in.baseline);
  std::vector<std::string> blocks, titles;
  std::size_t longest = 0;
  for (const auto* c : drawn) {
    const bool baseline = c == in.baseline;
    std::string b =
        "# " + std::string(baseline ? "baseline: " : "") + c->label + ": fpr mean_tpr\n";
    for (std::size_t i = 0; i < c->roc.grid.size(); ++i)
      b += num(c->roc.grid[i]) + " " + num(c->roc.mean[i]) + "\n";
    blocks.push_back(b);
    titles.push_back((baseline ? "baseline: " : "") + c->label + ": AUROC " +
                     mean_sd_percent(c->auroc));
    longest = std::max(longest, titles.back().size());
  }
  const auto left_out = in.total - drawn.size();
  const std::string title = left_out > 0
                                ? "Mean ROC curve over folds: " + std::to_string(drawn.size()) +
                                      " of " + std::to_string(in.total) + " configurations"
                                : "Mean ROC curve over folds, per configuration";
  const auto l = layout({480, 480, int(drawn.size()) + 1, longest, title.size()});
  const auto& col = palette();
  std::ostringstream gp;
  gp << script_header(name, "mean ROC curves of the configurations", l.width, l.height)
     << roc_axes() << "set title " << gp_quote(title) << "\n"
     << l.script << "plot ";
  // Six colours (black is the baseline's, yellow too faint), then dash patterns.
  constexpr std::size_t kColours = 6;
  for (std::size_t k = 0; k < drawn.size(); ++k) {
    const bool baseline = drawn[k] == in.baseline;
    gp << gp_quote(file) << " index " << k << " using 1:2 with lines lw "
       << (baseline ? "3 dt 2 lc rgb \"#000000\""
                    : "2.5 dt " + std::to_string(1 + k / kColours % 5) + " lc rgb \"" +
                          col[k % kColours] + "\"")
       << " title " << gp_quote(titles[k]) << ", \\\n     ";
  }
  gp << "x with lines lw 1.5 dt 3 lc rgb \"#777777\" title 'chance'\n" << script_footer();
  std::string caption = "Mean ROC curve over folds of ";
  if (left_out > 0)
    caption += "the " + std::to_string(in.shown.size()) + " best configurations (" + in.rule + ")" +
               (in.baseline ? " and the baseline" : "") + "; " + std::to_string(left_out) + " of " +
               std::to_string(in.total) + " configurations are left out (the table lists them all)";
  else
    caption += "every configuration" + std::string(in.baseline ? ", the baseline dashed" : "");
  caption += "; the legend gives AUROC mean ± SD over folds.";
  return {name, join_blocks(blocks), gp.str(), "Mean ROC curves of the configurations", caption};
}

} // namespace vfp::plots
