// `vfp report`: a sweep's result table, printed and written to its report/ with the figures.
#include "commands.h"

#include "core/core.h"
#include "log/log.h"
#include "plots/plots.h"
#include "results/results.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <set>

namespace vfp::runner {

int report_command(const ReportArgs& args) {
  const results::SweepFolder dir(std::filesystem::path(args.sweep_dir));
  if (!std::filesystem::exists(dir.results()))
    throw InputError("no results in " + dir.root().string() + " (expected " +
                     dir.results().string() + ")");
  // The configurations of the sweep as last run, unless --all.
  const auto current = args.all ? std::set<std::string>{} : results::current_configurations(dir);
  int left_out = 0;
  const auto rows = results::rows_of_configurations(results::read_rows(dir), current, &left_out);
  auto table = results::aggregate(rows);
  if (left_out > 0)
    std::cerr << "vfp: leaving out " << left_out
              << " rows of configurations no longer in the sweep (--all shows them)\n";
  if (!args.baseline.empty())
    results::compare_to_baseline(table, results::find_row(table, args.baseline), dir);
  results::sort_rows(table, args.sort);
  std::cout << (args.format == "csv"     ? results::to_csv(table)
                : args.format == "latex" ? results::to_latex(table)
                : args.format == "json"  ? results::to_json(table).dump(2) + "\n"
                                         : results::to_markdown(table));
  // The report folder: the tables in every format, the figures and index.html.
  results::write_tables(dir, table);
  plots::ReportOptions options;
  options.figures = args.figures;
  options.risk_groups = args.risk_groups;
  const auto page = plots::write_report_page(dir.root(), table, rows, options);
  for (const auto& w : page.warnings)
    spdlog::warn("{}", w);
  std::cerr << "vfp: report written to " << page.index.string() << " (" << page.figures.size()
            << " figures)\n";
  return 0;
}

void add_report_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd =
      app.add_subcommand("report", "Print the result table of a sweep's results folder and write "
                                   "its report/ (tables, figures, index.html)");
  cmd->add_option("sweep_dir", args->sweep_dir, "results/<sweep>")->required();
  cmd->add_flag("--all", args->all, "also configurations that are no longer in the sweep file");
  cmd->add_option("--format", args->format,
                  "md, latex (booktabs), csv or json (every row and the nested selections)")
      ->check(CLI::IsMember({"md", "latex", "csv", "json"}))
      ->capture_default_str();
  cmd->add_option("--sort", args->sort, "auroc, auprc, c_index (best first) or sweep")
      ->check(CLI::IsMember({"auroc", "auprc", "c_index", "sweep"}))
      ->capture_default_str();
  cmd->add_option("--baseline", args->baseline,
                  "compare every row with this one (its position as printed, or a prefix "
                  "of its configuration id): corrected t-test over folds and DeLong on "
                  "pooled out-of-fold predictions");
  cmd->add_flag("--figures,!--no-figures", args->figures,
                "draw the figures of report/index.html with gnuplot (default on)");
  cmd->add_option("--risk-groups", args->risk_groups,
                  "Kaplan-Meier groups by pooled out-of-fold score (3: tertiles)")
      ->check(CLI::Range(2, 10))
      ->capture_default_str();
  commands.push_back({cmd, [args] { return report_command(*args); }});
}

} // namespace vfp::runner
