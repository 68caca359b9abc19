// `vfp metrics`' output: the JSON with every number, or the Markdown table with a summary.
#include "metrics_output.h"

#include "format.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>

namespace vfp::runner {
namespace {

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
  aurocs.reserve(measured.size());
  aps.reserve(measured.size());
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

/// The pooled rows as "pooled", each fold under "folds" by its number, and the folds' summary.
void add_groups_json(nlohmann::json& out, const MetricsResults& r, const MetricsArgs& args) {
  for (std::size_t g = 0; g < r.groups.size(); ++g) {
    nlohmann::json group = {{"n", r.groups[g].labels.size()},
                            {"positives", r.counts[g].first},
                            {"negatives", r.counts[g].second}};
    for (std::size_t k = 0; k < args.scores.size(); ++k)
      group["scores"][args.scores[k]] = to_json(r.measured[g][k]);
    if (g == 0)
      out["pooled"] = group;
    else
      out["folds"][r.groups[g].name.substr(5)] = group;
  }
  if (r.groups.size() > 1)
    for (std::size_t k = 0; k < args.scores.size(); ++k) {
      const auto [a, p] = over_folds(r.measured, k);
      out["fold_summary"][args.scores[k]] = {{"auroc_mean", a.mean},
                                             {"auroc_std", a.std},
                                             {"average_precision_mean", p.mean},
                                             {"average_precision_std", p.std},
                                             {"folds", a.n}};
    }
}

/// Two scores: DeLong's test and, with folds, the corrected resampled t-test.
void add_comparison_json(nlohmann::json& out, const MetricsResults& r, const MetricsArgs& args) {
  const auto& delong = r.delong;
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
  if (r.groups.size() > 1) {
    const auto& t = r.nadeau_bengio;
    out["corrected_t_test"] = {{"metric", "auroc"},
                               {"mean_difference", t.mean_difference},
                               {"std_error", t.std_error},
                               {"t", t.t},
                               {"df", t.df},
                               {"p", t.p},
                               {"lower", t.lower},
                               {"upper", t.upper},
                               {"test_train_ratio", r.test_train_ratio}};
  }
}

/// "Over folds (mean ± SD): …" of each score.
void print_fold_summary(const MetricsResults& r, const MetricsArgs& args) {
  std::cout << "\nOver folds (mean ± SD):";
  for (std::size_t k = 0; k < args.scores.size(); ++k) {
    const auto [a, p] = over_folds(r.measured, k);
    std::cout << (k ? ";" : "") << " " << args.scores[k] << " AUROC " << metrics::format_mean_std(a)
              << ", AP " << metrics::format_mean_std(p);
  }
  std::cout << " (%)\n";
}

/// Two scores: the difference by DeLong's test, by the corrected t-test with folds, a verdict.
void print_comparison(const MetricsResults& r, const MetricsArgs& args) {
  const int level = int(std::lround(args.confidence * 100));
  const auto& delong = r.delong;
  const auto& t = r.nadeau_bengio;
  std::cout << "\n"
            << args.scores[0] << " − " << args.scores[1] << ":\n"
            << "  DeLong (paired, all rows): ΔAUROC " << fixed(delong.difference, 4) << " ("
            << level << " % CI " << fixed(delong.lower, 4) << " to " << fixed(delong.upper, 4)
            << "), z " << fixed(delong.z, 2) << ", p " << p_value(delong.p) << "\n";
  if (r.groups.size() > 1)
    std::cout << "  Nadeau–Bengio corrected t-test over " << r.groups.size() - 1
              << " folds (n_test/n_train " << fixed(r.test_train_ratio, 3) << "): mean ΔAUROC "
              << fixed(t.mean_difference, 4) << " (" << level << " % CI " << fixed(t.lower, 4)
              << " to " << fixed(t.upper, 4) << "), t " << fixed(t.t, 2) << " on " << t.df
              << " df, p " << p_value(t.p) << "\n";
  std::cout << "  "
            << (delong.p < 1 - args.confidence ? "The AUROCs differ significantly"
                                               : "No significant AUROC difference")
            << " at the " << fixed(1 - args.confidence, 2) << " level (DeLong).\n";
}

} // namespace

void print_metrics_json(const MetricsResults& r, const MetricsArgs& args) {
  const bool folded = r.groups.size() > 1;
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
                        {"warnings", r.warnings}};
  add_groups_json(out, r, args);
  if (args.scores.size() == 2)
    add_comparison_json(out, r, args);
  std::cout << out.dump(2) << "\n";
}

void print_metrics_table(const MetricsResults& r, const MetricsArgs& args) {
  const bool folded = r.groups.size() > 1;
  const auto& pooled = r.groups[0];
  std::cout << "Discrimination on " << args.csv << ": n " << pooled.labels.size() << ", positives "
            << r.counts[0].first << (folded ? ", " : "")
            << (folded ? std::to_string(r.groups.size() - 1) + " folds" : "") << "\n"
            << "AP is average precision (scikit-learn's definition), the tables' AUPRC; "
            << int(std::lround(args.confidence * 100))
            << " % intervals: DeLong, and percentile bootstrap (" << args.bootstrap
            << " resamples, seed " << args.seed << ", stratified by class"
            << (folded ? " and fold" : "") << ")\n\n"
            << "| rows | score | AUROC (DeLong CI) | AUROC (bootstrap CI) | AP (bootstrap CI) "
               "| AUPRC trapezoid |\n|---|---|---:|---:|---:|---:|\n";
  for (std::size_t g = 0; g < r.groups.size(); ++g)
    for (std::size_t k = 0; k < args.scores.size(); ++k) {
      const auto& m = r.measured[g][k];
      std::cout << "| " << r.groups[g].name << " (" << r.groups[g].labels.size() << ") | "
                << args.scores[k] << " | "
                << with_interval(m.delong.auroc, m.delong.lower, m.delong.upper, !m.constant)
                << " | " << with_interval(m.auroc.estimate, m.auroc.lower, m.auroc.upper) << " | "
                << with_interval(m.ap.estimate, m.ap.lower, m.ap.upper) << " | "
                << fixed(m.auprc_trapezoid, 3) << " |\n";
    }
  if (folded)
    print_fold_summary(r, args);
  if (args.scores.size() == 2)
    print_comparison(r, args);
  if (!args.curves.empty())
    std::cout << "\nROC and PR curve points: " << args.curves << "/{roc,pr}_<score>.csv\n";
  if (!r.warnings.empty())
    std::cout << "\n";
  for (const auto& w : r.warnings)
    std::cout << "Warning: " << w << "\n";
}

} // namespace vfp::runner
