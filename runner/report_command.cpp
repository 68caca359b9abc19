// `vfp report`: a sweep's result table, printed and written to its report/ with the figures;
// several sweeps' rows in one table (--out), or every table of a study file (--study).
#include "commands.h"

#include "core/core.h"
#include "log/log.h"
#include "plots/plots.h"
#include "results/results.h"
#include "results/study.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <set>

namespace vfp::runner {

namespace {

void print_table(const results::Table& table, const std::string& format) {
  std::cout << (format == "csv"     ? results::to_csv(table)
                : format == "latex" ? results::to_latex(table)
                : format == "json"  ? results::to_json(table).dump(2) + "\n"
                                    : results::to_markdown(table));
}

/// The folder's report/: the tables in every format, the figures and index.html.
void write_report(const results::SweepFolder& dir, const results::Table& table,
                  const std::vector<nlohmann::json>& rows, const ReportArgs& args,
                  const std::vector<std::string>& sweeps = {}) {
  results::write_tables(dir, table);
  plots::ReportOptions options;
  options.sweeps = sweeps;
  options.figures = args.figures;
  options.risk_groups = args.risk_groups;
  const auto page = plots::write_report_page(dir.root(), table, rows, options);
  for (const auto& w : page.warnings)
    spdlog::warn("{}", w);
  std::cerr << "vfp: report written to " << page.index.string() << " (" << page.figures.size()
            << " figures)\n";
}

/// The rows of `dir` as the report shows them: its current configurations unless --all.
std::vector<nlohmann::json> shown_rows(const results::SweepFolder& dir, const ReportArgs& args) {
  const auto current = args.all ? std::set<std::string>{} : results::current_configurations(dir);
  int left_out = 0;
  auto rows = results::rows_of_configurations(results::read_rows(dir), current, &left_out);
  if (left_out > 0)
    std::cerr << "vfp: leaving out " << left_out
              << " rows of configurations no longer in the sweep (--all shows them)\n";
  return rows;
}

/// A study folder (a multi-sweep table written before): the same table again, its rows,
/// filters, baseline and order as recorded, unless --baseline or --sort say otherwise.
int study_folder_report(const results::SweepFolder& dir, const ReportArgs& args) {
  auto recorded = results::recorded_table(dir);
  if (!args.baseline.empty()) {
    recorded.spec.baseline_match.clear();
    recorded.spec.baseline = args.baseline;
  }
  if (!args.sort.empty())
    recorded.spec.sort = args.sort;
  const auto rows = shown_rows(dir, args);
  const auto table = results::table_of_spec(rows, recorded.spec, dir);
  print_table(table, args.format);
  write_report(dir, table, rows, args, recorded.sweeps);
  return 0;
}

int one_sweep_report(const ReportArgs& args) {
  const results::SweepFolder dir(std::filesystem::path(args.sweep_dirs.at(0)));
  if (!std::filesystem::exists(dir.results()))
    throw InputError("no results in " + dir.root().string() + " (expected " +
                     dir.results().string() + ")");
  if (std::filesystem::exists(dir.sources()))
    return study_folder_report(dir, args);
  const auto rows = shown_rows(dir, args);
  auto table = results::aggregate(rows);
  if (!args.baseline.empty())
    results::compare_to_baseline(table, results::find_row(table, args.baseline), dir);
  results::sort_rows(table, args.sort.empty() ? "sweep" : args.sort);
  print_table(table, args.format);
  write_report(dir, table, rows, args);
  return 0;
}

/// One table of several sweeps: the study folder `out` holds its rows and report/.
void multi_sweep_table(const std::vector<results::SweepFolder>& sweeps,
                       const results::SweepFolder& out, const results::TableSpec& spec,
                       const ReportArgs& args) {
  const auto report = results::multi_sweep_report(sweeps, out, spec, args.all);
  for (const auto& note : report.notes)
    std::cerr << "vfp: " << note << "\n";
  print_table(report.table, args.format);
  std::vector<std::string> names;
  names.reserve(sweeps.size());
  for (const auto& s : sweeps)
    names.push_back(s.name());
  write_report(out, report.table, report.rows, args, names);
}

int multi_sweep_command(const ReportArgs& args) {
  if (args.out.empty())
    throw InputError("vfp report with " + std::to_string(args.sweep_dirs.size()) +
                     " sweep folders needs --out DIR: the folder for their one table, its "
                     "figures and page");
  std::vector<results::SweepFolder> sweeps(args.sweep_dirs.begin(), args.sweep_dirs.end());
  results::TableSpec spec;
  spec.name = results::SweepFolder(args.out).name();
  spec.baseline = args.baseline;
  spec.sort = args.sort.empty() ? "sweep" : args.sort;
  multi_sweep_table(sweeps, results::SweepFolder(args.out), spec, args);
  return 0;
}

/// Every table of the study file, each in <out>/<table>/. A table that cannot be written (a
/// sweep not run yet) is named on stderr and the others are still written; then the exit
/// status says so.
int study_command(const ReportArgs& args) {
  if (!args.sweep_dirs.empty() || !args.baseline.empty())
    throw InputError("--study takes its sweeps and baselines from the study file: give no "
                     "sweep folders and no --baseline");
  if (args.out.empty())
    throw InputError("--study needs --out DIR: the folder for the study's tables (one "
                     "sub-folder each)");
  const auto study = results::read_study(args.study);
  std::filesystem::create_directories(args.out);
  std::vector<std::string> failed;
  for (const auto& spec : study.tables) {
    std::vector<results::SweepFolder> sweeps;
    for (const auto& name : spec.sweeps)
      sweeps.push_back(results::SweepFolder::of_sweep(args.results_root, name, false));
    std::cout << (args.format == "md" ? "## " : "") << spec.name << "\n\n";
    try {
      multi_sweep_table(sweeps, results::SweepFolder::of_sweep(args.out, spec.name, true), spec,
                        args);
    } catch (const InputError& e) {
      std::cerr << "vfp: table " << spec.name << " not written: " << e.what() << "\n";
      failed.push_back(spec.name);
    }
    std::cout << "\n";
  }
  if (!failed.empty()) {
    std::string names;
    for (const auto& f : failed)
      names += (names.empty() ? "" : ", ") + f;
    throw InputError(std::to_string(failed.size()) + " of " + std::to_string(study.tables.size()) +
                     " tables of " + study.file + " could not be written (" + names +
                     "): see above; the others are in " + args.out);
  }
  return 0;
}

} // namespace

int report_command(const ReportArgs& args) {
  if (!args.study.empty())
    return study_command(args);
  if (args.sweep_dirs.empty())
    throw InputError("vfp report needs a sweep folder (results/<sweep>), several with --out, or "
                     "--study FILE --out DIR");
  if (args.sweep_dirs.size() > 1 || !args.out.empty())
    return multi_sweep_command(args);
  return one_sweep_report(args);
}

void add_report_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report", "Print the result table of a sweep's results folder and write its report/ "
                "(tables, figures, index.html); several sweeps' rows in one table with --out; "
                "a study's tables with --study");
  cmd->add_option("sweep_dirs", args->sweep_dirs,
                  "results/<sweep>; several: one table of their rows (needs --out), allowed "
                  "when they test the same subjects in the same folds");
  cmd->add_option("--out", args->out,
                  "the folder of a multi-sweep table (its rows, report/) or of a study's tables");
  cmd->add_option("--study", args->study,
                  "a study file (sweeps/study/study.yaml): write each of its tables under --out");
  cmd->add_option("--results-root", args->results_root,
                  "where the study file's sweeps are (<root>/<sweep>)")
      ->capture_default_str();
  cmd->add_flag("--all", args->all, "also configurations that are no longer in the sweep file");
  cmd->add_option("--format", args->format,
                  "md, latex (booktabs), csv or json (every row and the nested selections)")
      ->check(CLI::IsMember({"md", "latex", "csv", "json"}))
      ->capture_default_str();
  cmd->add_option("--sort", args->sort,
                  "auroc, auprc, c_index (best first) or sweep (the default; a study folder: "
                  "the order it was written in)")
      ->check(CLI::IsMember({"auroc", "auprc", "c_index", "sweep"}));
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
