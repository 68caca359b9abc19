// `vfp metrics`: AUROC and average precision of one or two score columns of a CSV, with
// DeLong and bootstrap intervals, per fold and pooled, and the tests comparing two scores.
#include "commands.h"
#include "format.h"
#include "number_columns.h"

#include "core/core.h"
#include "log/log.h"
#include "metrics/metrics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>

namespace vfp::runner {
namespace {

/// One group of rows (a fold, or all of them) and the metrics of each score on it.
struct Group {
  std::string name; ///< "pooled" or "fold <k>"
  std::vector<int> labels;
  std::vector<std::vector<double>> scores; ///< one per score column
  std::vector<int> strata;                 ///< folds, for the pooled bootstrap
};

struct ScoreMetrics {
  metrics::DelongAuroc delong;
  metrics::Interval auroc, ap; ///< bootstrap
  double auprc_trapezoid = 0;
  /// Every score equal: no ranking information, DeLong's interval undefined (shown as n/a).
  bool constant = false;
};

ScoreMetrics measure(const Group& g, std::size_t score, const metrics::BootstrapOptions& boot) {
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

nlohmann::json to_json(const metrics::Interval& i) {
  return {{"estimate", i.estimate}, {"lower", i.lower}, {"upper", i.upper}};
}

nlohmann::json to_json(const ScoreMetrics& m) {
  // Constant scores: DeLong's variance is 0 and its "interval" a point; null, not [0.5, 0.5].
  const auto bound = [&](double v) { return m.constant ? nlohmann::json() : nlohmann::json(v); };
  return {{"auroc", m.delong.auroc},
          {"auroc_delong",
           {{"variance", m.delong.variance},
            {"lower", bound(m.delong.lower)},
            {"upper", bound(m.delong.upper)}}},
          {"auroc_bootstrap", to_json(m.auroc)},
          {"average_precision", m.ap.estimate},
          {"average_precision_bootstrap", to_json(m.ap)},
          {"auprc_trapezoid", m.auprc_trapezoid}};
}

/// Score k's AUROC and average precision over the folds (groups after the pooled one).
std::pair<metrics::MeanStd, metrics::MeanStd>
over_folds(const std::vector<std::vector<ScoreMetrics>>& measured, std::size_t k) {
  std::vector<double> aurocs, aps;
  for (std::size_t g = 1; g < measured.size(); ++g) {
    aurocs.push_back(measured[g][k].delong.auroc);
    aps.push_back(measured[g][k].ap.estimate);
  }
  return {metrics::mean_std(aurocs), metrics::mean_std(aps)};
}

std::string with_interval(double estimate, double lower, double upper, bool defined = true) {
  if (!defined)
    return fixed(estimate, 3) + " (n/a)";
  return fixed(estimate, 3) + " (" + fixed(lower, 3) + "–" + fixed(upper, 3) + ")";
}

/// Rows as labels and score columns; errors name the file, line and column.
std::vector<Group> read_groups(const MetricsArgs& args) {
  std::vector<std::string> wanted{args.label};
  wanted.insert(wanted.end(), args.scores.begin(), args.scores.end());
  if (!args.fold.empty())
    wanted.push_back(args.fold);
  const auto table = read_number_columns(args.csv, wanted);
  const auto& columns = table.values;
  const auto& label_column = columns.at(args.label);
  Group pooled;
  pooled.name = "pooled";
  pooled.scores.resize(args.scores.size());
  std::map<int, Group> folds;
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
  std::vector<Group> groups{pooled};
  for (auto& [fold, g] : folds)
    groups.push_back(std::move(g));
  return groups;
}

/// Positives and negatives of a group, or an error naming it when one class is missing.
std::pair<int, int> class_counts(const Group& g, const MetricsArgs& args) {
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

void write_curves(const Group& pooled, const MetricsArgs& args) {
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

} // namespace

int metrics_command(const MetricsArgs& args) {
  if (args.scores.empty() || args.scores.size() > 2)
    throw InputError("--score takes one or two columns, got " + std::to_string(args.scores.size()));
  if (args.scores.size() == 2 && args.scores[0] == args.scores[1])
    throw InputError("--score names column " + args.scores[0] + " twice");
  if (!args.curves.empty())
    for (const auto& score : args.scores)
      curve_file_names(score); // before anything is computed or written
  const auto groups = read_groups(args);
  metrics::BootstrapOptions boot;
  boot.resamples = args.bootstrap;
  boot.seed = args.seed;
  boot.confidence = args.confidence;

  // Every number first, so that an error (a fold with one class) prints nothing half-done.
  std::vector<std::pair<int, int>> counts;
  std::vector<std::vector<ScoreMetrics>> measured; // [group][score]
  for (const auto& g : groups)
    counts.push_back(class_counts(g, args));
  // Minutes on 10⁶ rows: a progress line now and then (docs/hardening.md), none on short runs.
  log::Progress progress("vfp metrics: bootstrap resamples",
                         std::uint64_t(groups.size() * args.scores.size()) *
                             std::uint64_t(std::max(0, args.bootstrap)));
  std::uint64_t resamples_before = 0;
  boot.on_resample = [&](int done) { progress.update(resamples_before + std::uint64_t(done)); };
  std::vector<std::string> warnings;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    measured.emplace_back();
    for (std::size_t k = 0; k < args.scores.size(); ++k) {
      measured.back().push_back(measure(groups[g], k, boot));
      resamples_before += std::uint64_t(std::max(0, args.bootstrap));
      if (measured.back().back().constant)
        warnings.push_back(
            constant_scores_warning(groups[g].name, args.scores[k], groups[g].scores[k].front(),
                                    double(counts[g].first) / double(groups[g].labels.size())));
    }
  }
  progress.finish();
  const bool two = args.scores.size() == 2, folded = groups.size() > 1;
  metrics::DelongComparison delong;
  metrics::CorrectedTTest nadeau_bengio;
  double test_train_ratio = 0;
  if (two)
    delong = metrics::delong_test(groups[0].scores[0], groups[0].scores[1], groups[0].labels,
                                  args.confidence);
  if (two && folded) {
    if (groups.size() < 3)
      throw InputError(args.csv + ": column " + args.fold +
                       " has one fold; the corrected t-test needs at least 2");
    std::vector<double> differences;
    double ratios = 0;
    for (std::size_t g = 1; g < groups.size(); ++g) {
      differences.push_back(measured[g][0].delong.auroc - measured[g][1].delong.auroc);
      const double test = double(groups[g].labels.size());
      ratios += test / (double(groups[0].labels.size()) - test);
    }
    test_train_ratio = ratios / double(groups.size() - 1);
    nadeau_bengio =
        metrics::corrected_resampled_t_test(differences, test_train_ratio, args.confidence);
  }
  if (!args.curves.empty())
    write_curves(groups[0], args);

  const int level = int(std::lround(args.confidence * 100));
  if (args.json) {
    nlohmann::json out = {{"csv", args.csv},
                          {"label", args.label},
                          {"confidence", args.confidence},
                          {"bootstrap",
                           {{"resamples", args.bootstrap},
                            {"seed", args.seed},
                            {"kind", folded ? "percentile, stratified by fold and class"
                                            : "percentile, stratified by class"}}},
                          {"average_precision_definition",
                           "scikit-learn average_precision_score (step-wise, no interpolation)"},
                          {"warnings", warnings}};
    for (std::size_t g = 0; g < groups.size(); ++g) {
      nlohmann::json group = {{"n", groups[g].labels.size()},
                              {"positives", counts[g].first},
                              {"negatives", counts[g].second}};
      for (std::size_t k = 0; k < args.scores.size(); ++k)
        group["scores"][args.scores[k]] = to_json(measured[g][k]);
      if (g == 0)
        out["pooled"] = group;
      else
        out["folds"][groups[g].name.substr(5)] = group;
    }
    if (folded)
      for (std::size_t k = 0; k < args.scores.size(); ++k) {
        const auto [a, p] = over_folds(measured, k);
        out["fold_summary"][args.scores[k]] = {{"auroc_mean", a.mean},
                                               {"auroc_std", a.std},
                                               {"average_precision_mean", p.mean},
                                               {"average_precision_std", p.std},
                                               {"folds", a.n}};
      }
    if (two) {
      out["delong"] = {{"a", args.scores[0]},
                       {"b", args.scores[1]},
                       {"auroc_a", delong.auroc_a},
                       {"auroc_b", delong.auroc_b},
                       {"difference", delong.difference},
                       {"std_error", delong.std_error},
                       {"lower", delong.lower},
                       {"upper", delong.upper},
                       {"z", delong.z},
                       {"p", delong.p},
                       {"correlation", delong.correlation}};
      if (folded)
        out["corrected_t_test"] = {{"metric", "auroc"},
                                   {"mean_difference", nadeau_bengio.mean_difference},
                                   {"std_error", nadeau_bengio.std_error},
                                   {"t", nadeau_bengio.t},
                                   {"df", nadeau_bengio.df},
                                   {"p", nadeau_bengio.p},
                                   {"lower", nadeau_bengio.lower},
                                   {"upper", nadeau_bengio.upper},
                                   {"test_train_ratio", test_train_ratio}};
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }

  const auto& pooled = groups[0];
  std::cout << "Discrimination on " << args.csv << ": n " << pooled.labels.size() << ", positives "
            << counts[0].first << (folded ? ", " : "")
            << (folded ? std::to_string(groups.size() - 1) + " folds" : "") << "\n"
            << "AP is average precision (scikit-learn's definition), the tables' AUPRC; " << level
            << " % intervals: DeLong, and percentile bootstrap (" << args.bootstrap
            << " resamples, seed " << args.seed << ", stratified by class"
            << (folded ? " and fold" : "") << ")\n\n"
            << "| rows | score | AUROC (DeLong CI) | AUROC (bootstrap CI) | AP (bootstrap CI) "
               "| AUPRC trapezoid |\n|---|---|---:|---:|---:|---:|\n";
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t k = 0; k < args.scores.size(); ++k) {
      const auto& m = measured[g][k];
      std::cout << "| " << groups[g].name << " (" << groups[g].labels.size() << ") | "
                << args.scores[k] << " | "
                << with_interval(m.delong.auroc, m.delong.lower, m.delong.upper, !m.constant)
                << " | " << with_interval(m.auroc.estimate, m.auroc.lower, m.auroc.upper) << " | "
                << with_interval(m.ap.estimate, m.ap.lower, m.ap.upper) << " | "
                << fixed(m.auprc_trapezoid, 3) << " |\n";
    }
  if (folded) {
    std::cout << "\nOver folds (mean ± SD):";
    for (std::size_t k = 0; k < args.scores.size(); ++k) {
      const auto [a, p] = over_folds(measured, k);
      std::cout << (k ? ";" : "") << " " << args.scores[k] << " AUROC "
                << metrics::format_mean_std(a) << ", AP " << metrics::format_mean_std(p);
    }
    std::cout << " (%)\n";
  }
  if (two) {
    std::cout << "\n"
              << args.scores[0] << " − " << args.scores[1] << ":\n"
              << "  DeLong (paired, all rows): ΔAUROC " << fixed(delong.difference, 4) << " ("
              << level << " % CI " << fixed(delong.lower, 4) << " to " << fixed(delong.upper, 4)
              << "), z " << fixed(delong.z, 2) << ", p " << p_value(delong.p) << "\n";
    if (folded)
      std::cout << "  Nadeau–Bengio corrected t-test over " << groups.size() - 1
                << " folds (n_test/n_train " << fixed(test_train_ratio, 3) << "): mean ΔAUROC "
                << fixed(nadeau_bengio.mean_difference, 4) << " (" << level << " % CI "
                << fixed(nadeau_bengio.lower, 4) << " to " << fixed(nadeau_bengio.upper, 4)
                << "), t " << fixed(nadeau_bengio.t, 2) << " on " << nadeau_bengio.df << " df, p "
                << p_value(nadeau_bengio.p) << "\n";
    std::cout << "  "
              << (delong.p < 1 - args.confidence ? "The AUROCs differ significantly"
                                                 : "No significant AUROC difference")
              << " at the " << fixed(1 - args.confidence, 2) << " level (DeLong).\n";
  }
  if (!args.curves.empty())
    std::cout << "\nROC and PR curve points: " << args.curves << "/{roc,pr}_<score>.csv\n";
  if (!warnings.empty())
    std::cout << "\n";
  for (const auto& w : warnings)
    std::cout << "Warning: " << w << "\n";
  return 0;
}

} // namespace vfp::runner
