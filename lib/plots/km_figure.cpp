// Kaplan–Meier curves by predicted-risk group of the pooled out-of-fold score, with the numbers
// at risk under the plot and the log-rank test.
#include "figures.h"

#include "gnuplot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace vfp::plots {

namespace {

/// One risk group of a Kaplan–Meier figure: its data blocks and numbers at risk.
struct KmGroup {
  std::string short_name, name; ///< "low"; "low risk: 40 subjects, 5 fractures"
  std::string curve, censored;  ///< data blocks: the steps, the censoring marks
  std::vector<int> at_risk;     ///< at each tick of the time axis
};

/// A round tick step of the time axis giving at most 8 intervals.
double year_step(double t_max) {
  for (double s : {0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0})
    if (t_max / s <= 8)
      return s;
  return 0.5;
}

/// Group `g` of `k` (subjects whose `group` is g); `lowest` is lowered to its lowest survival.
KmGroup km_group(const KmInput& in, const std::vector<int>& group, int g, double observed,
                 double x_max, double step, double& lowest) {
  const int k = in.groups;
  std::vector<double> t;
  std::vector<int> e;
  for (std::size_t i = 0; i < group.size(); ++i)
    if (group[i] == g) {
      t.push_back(in.time[i]);
      e.push_back(in.event[i]);
    }
  KmGroup out;
  out.short_name = k == 3 ? std::vector<std::string>{"low", "middle", "high"}[std::size_t(g)]
                          : "group " + std::to_string(g + 1);
  out.name = out.short_name + (k == 3 ? " risk" : " of " + std::to_string(k)) + ": " +
             std::to_string(t.size()) + " subjects, " + std::to_string(int(observed)) +
             " fractures";
  out.curve = "# " + out.name + ": years survival (Kaplan-Meier steps)\n0 1\n";
  out.censored = "# " + out.name + ": censored at years, survival\n";
  if (!t.empty()) {
    const auto km = survival::kaplan_meier(t, e);
    for (std::size_t j = 0; j < km.time.size(); ++j) {
      if (km.events[j] > 0)
        out.curve += num(km.time[j]) + " " + num(km.survival[j]) + "\n";
      if (km.censored[j] > 0)
        out.censored += num(km.time[j]) + " " + num(km.survival[j]) + "\n";
      lowest = std::min(lowest, km.survival[j]);
    }
    out.curve +=
        num(km.time.back()) + " " + num(km.survival.back()) + "\n"; // to the last follow-up
  }
  for (double tick = 0; tick <= x_max + 1e-9; tick += step)
    out.at_risk.push_back(
        int(std::count_if(t.begin(), t.end(), [&](double v) { return v >= tick - 1e-12; })));
  return out;
}

/// The plot command: one step curve per group, then its censoring marks where it has any.
std::string km_plot(const std::string& file, const std::vector<KmGroup>& groups,
                    const std::vector<std::string>& colours) {
  const int k = int(groups.size());
  std::vector<std::string> clauses;
  for (int g = 0; g < k; ++g) {
    const auto& colour = colours[std::size_t(g) % colours.size()];
    clauses.push_back(gp_quote(file) + " index " + std::to_string(g) +
                      " using 1:2 with steps lw 2.5 lc rgb \"" + colour + "\" title " +
                      gp_quote(groups[std::size_t(g)].name));
  }
  bool any_censored = false;
  for (int g = 0; g < k; ++g) {
    const auto& marks = groups[std::size_t(g)].censored;
    if (std::count(marks.begin(), marks.end(), '\n') > 1) {
      clauses.push_back(gp_quote(file) + " index " + std::to_string(k + g) +
                        " using 1:2 with points pt 1 ps 1.1 lw 1.5 lc rgb \"" +
                        colours[std::size_t(g) % colours.size()] + "\" notitle");
      any_censored = true;
    }
  }
  if (any_censored)
    clauses.emplace_back(
        "keyentry with points pt 1 ps 1.1 lw 1.5 lc rgb \"#555555\" title 'censored'");
  std::string plot = "plot ";
  for (std::size_t i = 0; i < clauses.size(); ++i)
    plot += (i ? ", \\\n     " : "") + clauses[i];
  return plot + "\n";
}

} // namespace

FigureText km_figure(const KmInput& in) {
  const auto name = "km-" + in.name_stem, file = name + ".dat";
  const auto group = survival::risk_groups(in.score, in.groups);
  const auto test = survival::log_rank_test(in.time, in.event, group);
  const int k = in.groups;
  const double step = year_step(*std::max_element(in.time.begin(), in.time.end()));
  const double x_max = std::ceil(*std::max_element(in.time.begin(), in.time.end()) / step) * step;
  std::vector<KmGroup> groups;
  groups.reserve(std::size_t(k));
  double lowest = 1;
  for (int g = 0; g < k; ++g)
    groups.push_back(km_group(in, group, g, test.observed[std::size_t(g)], x_max, step, lowest));
  std::vector<std::string> blocks;
  blocks.reserve(2 * groups.size());
  for (const auto& g : groups)
    blocks.push_back(g.curve);
  for (const auto& g : groups)
    blocks.push_back(g.censored);
  char p_text[96];
  std::snprintf(p_text, sizeof p_text,
                test.p < 0.001 ? "log-rank p = %.1e (χ² = %.1f, %d df)"
                               : "log-rank p = %.3f (χ² = %.1f, %d df)",
                test.p, test.chi2, test.df);
  const double y_min = std::max(0.0, std::floor((lowest - 0.05) * 10) / 10);
  const std::vector<std::string> colours =
      k == 3 ? std::vector<std::string>{"#0072B2", "#E69F00", "#D55E00"} : palette();
  // Under the x label: "Number at risk" and one row per group, then the key.
  const int row_px = 26;
  std::size_t longest_name = 9; // "censored"
  for (const auto& g : groups)
    longest_name = std::max(longest_name, g.name.size());
  const std::string subtitle = "Kaplan–Meier by predicted-risk group";
  const auto l = layout({520, 380, k + 1, longest_name,
                         std::max({in.label.size(), subtitle.size(), std::strlen(p_text)}), 3,
                         row_px * (k + 1) + 12, 130}); // the groups' names left of the rows
  const double row = row_px * l.pixel_y;
  std::ostringstream gp;
  gp << script_header(name, "Kaplan-Meier curves by predicted-risk group of " + in.label, l.width,
                      l.height)
     << "set xrange [0:" << num(x_max) << "]\nset yrange [" << num(y_min) << ":1.0]\n"
     << "set xtics " << num(step) << "\n"
     << (1 - y_min <= 0.3 + 1e-9 ? "set ytics 0.05\nset format y '%.2f'\n"
                                 : "set ytics 0.1\nset format y '%.1f'\n")
     << "set xlabel 'Years since the baseline CT'\n"
     << "set ylabel 'Fracture-free survival'\n"
     << "set title " << gp_quote(in.label) << " . \"\\n\" . " << gp_quote(subtitle)
     << " . \"\\n\" . " << gp_quote(p_text) << "\n"
     << l.script << "# Numbers at risk under the x label, one row per group.\n"
     << "set label 'Number at risk' at graph 0, screen " << num(l.under_x_label - 0.5 * row)
     << " left\n";
  for (int g = 0; g < k; ++g) {
    const double y = l.under_x_label - (1.5 + g) * row;
    const auto& colour = colours[std::size_t(g) % colours.size()];
    gp << "set label " << gp_quote(groups[std::size_t(g)].short_name) << " at graph 0, screen "
       << num(y) << " right offset -3,0 textcolor rgb \"" << colour << "\"\n";
    int i = 0;
    for (double tick = 0; tick <= x_max + 1e-9; tick += step, ++i)
      gp << "set label '" << groups[std::size_t(g)].at_risk[std::size_t(i)] << "' at first "
         << num(tick) << ", screen " << num(y) << " center textcolor rgb \"" << colour << "\"\n";
  }
  gp << km_plot(file, groups, colours) << script_footer();
  return {name, join_blocks(blocks), gp.str(),
          "Kaplan-Meier curves by predicted-risk group of " + in.label,
          std::string("Kaplan–Meier by predicted risk: subjects split into ") +
              (k == 3 ? "tertiles" : std::to_string(k) + " groups") +
              " of the pooled out-of-fold score; + marks censoring; " + p_text + "."};
}

} // namespace vfp::plots
