// `vfp metrics`: AUROC and average precision of one or two score columns of a CSV, with
// DeLong and bootstrap intervals, per fold and pooled, and the tests comparing two scores.
#include "commands.h"
#include "format.h"
#include "metrics_output.h"
#include "number_columns.h"

#include "core/core.h"
#include "log/log.h"
#include "metrics/metrics.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>

namespace vfp::runner {
namespace {

ScoreMetrics measure(const MetricsGroup& g, std::size_t score,
                     const metrics::BootstrapOptions& boot) {
  ScoreMetrics m;
  const auto& s = g.scores[score];
  m.delong = metrics::delong_auroc(s, g.labels, boot.confidence);
  // Both bootstraps on the same resamples (the intervals each would get alone, in half the time).
  const auto intervals = metrics::bootstrap_intervals(
      {metrics::Metric::kAuroc, metrics::Metric::kAveragePrecision}, s, g.labels, boot, g.strata);
  m.auroc = intervals[0];
  m.ap = intervals[1];
  m.auprc_trapezoid = metrics::auprc_trapezoid(s, g.labels);
  m.constant = metrics::constant_scores(s);
  return m;
}

/// The warning of a group's score whose values are all equal.
std::string constant_scores_warning(const std::string& group, const std::string& score,
                                    double value, double prevalence) {
  return "score column " + score + ", " + group + " rows: every score is " + fixed(value, 6) +
         ": the scores carry no ranking information; the AUROC is 0.5 by ties, DeLong's interval "
         "is undefined (n/a), AP equals the prevalence (" +
         fixed(prevalence, 3) + ") and the AUPRC trapezoid (1 + prevalence) / 2";
}

/// Rows as labels and score columns; errors name the file, line and column.
std::vector<MetricsGroup> read_groups(const MetricsArgs& args) {
  std::vector<std::string> wanted{args.label};
  wanted.insert(wanted.end(), args.scores.begin(), args.scores.end());
  if (!args.fold.empty())
    wanted.push_back(args.fold);
  const auto table = read_number_columns(args.csv, wanted);
  const auto& columns = table.values;
  const auto& label_column = columns.at(args.label);
  MetricsGroup pooled;
  pooled.name = "pooled";
  pooled.scores.resize(args.scores.size());
  std::map<int, MetricsGroup> folds;
  for (std::size_t i = 0; i < label_column.size(); ++i) {
    const std::string at = args.csv + ":" + std::to_string(table.lines[i]) + ": column ";
    const double label = label_column[i];
    if (label != 0 && label != 1)
      throw InputError(at + args.label + ": " + fixed(label, 6) +
                       " is not a label (1 positive, 0 negative)");
    pooled.labels.push_back(int(label));
    for (std::size_t k = 0; k < args.scores.size(); ++k)
      pooled.scores[k].push_back(columns.at(args.scores[k])[i]);
    if (args.fold.empty())
      continue;
    const double fold = columns.at(args.fold)[i];
    if (fold != std::floor(fold) || std::abs(fold) > 1e9)
      throw InputError(at + args.fold + ": " + fixed(fold, 6) + " is not a fold number");
    pooled.strata.push_back(int(fold));
    auto& g = folds[int(fold)];
    g.name = "fold " + std::to_string(int(fold));
    g.labels.push_back(int(label));
    g.scores.resize(args.scores.size());
    for (std::size_t k = 0; k < args.scores.size(); ++k)
      g.scores[k].push_back(pooled.scores[k].back());
  }
  std::vector<MetricsGroup> groups{pooled};
  for (auto& [fold, g] : folds)
    groups.push_back(std::move(g));
  return groups;
}

/// Positives and negatives of a group, or an error naming it when one class is missing.
std::pair<int, int> class_counts(const MetricsGroup& g, const MetricsArgs& args) {
  int positives = 0;
  for (int l : g.labels)
    positives += l;
  const int negatives = int(g.labels.size()) - positives;
  if (positives < 2 || negatives < 2)
    throw InputError(args.csv + ": " + g.name + " has " + std::to_string(positives) +
                     " positive and " + std::to_string(negatives) + " negative rows in column " +
                     args.label + "; AUROC and its intervals need at least 2 of each");
  return {positives, negatives};
}

/// The curve files of score column `score`: roc_<score>.csv and pr_<score>.csv inside --curves,
/// whatever the column is called (a name with '/' or '..' is refused, naming --score).
std::pair<std::string, std::string> curve_file_names(const std::string& score) {
  std::pair<std::string, std::string> names{"roc_" + score + ".csv", "pr_" + score + ".csv"};
  try {
    checked_path_component(names.first, "curve file");
  } catch (const InputError& e) {
    throw InputError("--score " + score + " with --curves: " + e.what());
  }
  return names;
}

void write_curves(const MetricsGroup& pooled, const MetricsArgs& args) {
  std::filesystem::create_directories(args.curves);
  for (std::size_t k = 0; k < args.scores.size(); ++k) {
    std::string roc = "threshold,fpr,tpr\n", pr = "threshold,recall,precision\n";
    for (const auto& p : metrics::roc_curve(pooled.scores[k], pooled.labels))
      roc += fixed(p.threshold, 9) + "," + fixed(p.fpr, 9) + "," + fixed(p.tpr, 9) + "\n";
    for (const auto& p : metrics::pr_curve(pooled.scores[k], pooled.labels))
      pr += fixed(p.threshold, 9) + "," + fixed(p.recall, 9) + "," + fixed(p.precision, 9) + "\n";
    const auto [roc_file, pr_file] = curve_file_names(args.scores[k]);
    write_file_atomically(std::filesystem::path(args.curves) / roc_file, roc);
    write_file_atomically(std::filesystem::path(args.curves) / pr_file, pr);
  }
}

/// Refuses a wrong number of score columns, or curve file names that would leave --curves,
/// before anything is read, computed or written.
void check_score_columns(const MetricsArgs& args) {
  if (args.scores.empty() || args.scores.size() > 2)
    throw InputError("--score takes one or two columns, got " + std::to_string(args.scores.size()));
  if (args.scores.size() == 2 && args.scores[0] == args.scores[1])
    throw InputError("--score names column " + args.scores[0] + " twice");
  if (!args.curves.empty())
    for (const auto& score : args.scores)
      curve_file_names(score);
}

/// Each score's metrics on each group, and a warning for each group whose scores are all equal.
void measure_groups(const MetricsArgs& args, MetricsResults& r) {
  metrics::BootstrapOptions boot;
  boot.resamples = args.bootstrap;
  boot.seed = args.seed;
  boot.confidence = args.confidence;
  // Minutes on 10⁶ rows: a progress line now and then (docs/hardening.md), none on short runs.
  log::Progress progress("vfp metrics: bootstrap resamples",
                         std::uint64_t(r.groups.size() * args.scores.size()) *
                             std::uint64_t(std::max(0, args.bootstrap)));
  std::uint64_t resamples_before = 0;
  boot.on_resample = [&](int done) { progress.update(resamples_before + std::uint64_t(done)); };
  r.measured.reserve(r.groups.size());
  for (std::size_t g = 0; g < r.groups.size(); ++g) {
    const auto& group = r.groups[g];
    auto& measured = r.measured.emplace_back();
    for (std::size_t k = 0; k < args.scores.size(); ++k) {
      measured.push_back(measure(group, k, boot));
      resamples_before += std::uint64_t(std::max(0, args.bootstrap));
      if (measured.back().constant)
        r.warnings.push_back(
            constant_scores_warning(group.name, args.scores[k], group.scores[k].front(),
                                    double(r.counts[g].first) / double(group.labels.size())));
    }
  }
  progress.finish();
}

/// Two scores: DeLong's test on the pooled rows and, with folds, the corrected t-test on the
/// folds' AUROC differences.
void compare_scores(const MetricsArgs& args, MetricsResults& r) {
  if (args.scores.size() != 2)
    return;
  const auto& groups = r.groups;
  r.delong = metrics::delong_test(groups[0].scores[0], groups[0].scores[1], groups[0].labels,
                                  args.confidence);
  if (groups.size() == 1)
    return;
  if (groups.size() < 3)
    throw InputError(args.csv + ": column " + args.fold +
                     " has one fold; the corrected t-test needs at least 2");
  std::vector<double> differences;
  differences.reserve(groups.size() - 1);
  double ratios = 0;
  for (std::size_t g = 1; g < groups.size(); ++g) {
    differences.push_back(r.measured[g][0].delong.auroc - r.measured[g][1].delong.auroc);
    const double test = double(groups[g].labels.size());
    ratios += test / (double(groups[0].labels.size()) - test);
  }
  r.test_train_ratio = ratios / double(groups.size() - 1);
  r.nadeau_bengio =
      metrics::corrected_resampled_t_test(differences, r.test_train_ratio, args.confidence);
}

} // namespace

int metrics_command(const MetricsArgs& args) {
  check_score_columns(args);
  MetricsResults results;
  results.groups = read_groups(args);
  // Every number first, so that an error (a fold with one class) prints nothing half-done.
  results.counts.reserve(results.groups.size());
  for (const auto& g : results.groups)
    results.counts.push_back(class_counts(g, args));
  measure_groups(args, results);
  compare_scores(args, results);
  if (!args.curves.empty())
    write_curves(results.groups[0], args);
  if (args.json)
    print_metrics_json(results, args);
  else
    print_metrics_table(results, args);
  return 0;
}

void add_metrics_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<MetricsArgs>();
  auto* cmd = app.add_subcommand(
      "metrics", "AUROC and average precision of scores in a CSV, with DeLong and bootstrap "
                 "intervals; two scores are compared by DeLong's test");
  cmd->add_option("--csv", args->csv, "the table (header row, comma-separated)")->required();
  cmd->add_option("--label", args->label, "column of labels (1 positive, 0 negative)")->required();
  cmd->add_option("--score", args->scores, "score column(s): one, or two to compare")
      ->delimiter(',')
      ->required();
  cmd->add_option("--fold", args->fold,
                  "column of fold numbers: per-fold metrics, mean ± SD, a pooled "
                  "bootstrap stratified by fold and the corrected resampled t-test");
  cmd->add_option("--bootstrap", args->bootstrap, "bootstrap resamples")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed of the bootstrap")->capture_default_str();
  cmd->add_option("--confidence", args->confidence, "level of the intervals")
      ->check(CLI::Range(0.5, 0.9999))
      ->capture_default_str();
  cmd->add_option("--curves", args->curves,
                  "write ROC and PR curve points (pooled) to this folder");
  cmd->add_flag("--json", args->json, "print JSON with every number");
  commands.push_back({cmd, [args] { return metrics_command(*args); }});
}

} // namespace vfp::runner
