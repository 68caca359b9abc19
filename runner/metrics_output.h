// What `vfp metrics` computes, and its two ways of printing it (JSON and a Markdown table):
// shared by the command, which reads and computes, and metrics_output.cpp, which prints.
#pragma once

#include "commands.h"

#include "metrics/metrics.h"

#include <string>
#include <utility>
#include <vector>

namespace vfp::runner {

/// One group of rows (a fold, or all of them) and the metrics of each score on it.
struct MetricsGroup {
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

/// Every number `vfp metrics` prints, all computed before anything is printed.
struct MetricsResults {
  std::vector<MetricsGroup> groups;                ///< pooled first, then the folds in order
  std::vector<std::pair<int, int>> counts;         ///< [group]: positives, negatives
  std::vector<std::vector<ScoreMetrics>> measured; ///< [group][score]
  std::vector<std::string> warnings;
  /// Two scores only: DeLong's test on the pooled rows and, with folds, the corrected t-test.
  metrics::DelongComparison delong;
  metrics::CorrectedTTest nadeau_bengio;
  double test_train_ratio = 0;
};

void print_metrics_json(const MetricsResults& results, const MetricsArgs& args);
void print_metrics_table(const MetricsResults& results, const MetricsArgs& args);

} // namespace vfp::runner
