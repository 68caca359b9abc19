// The prose around the table, shared by every format: the footnote, the subjects excluded and
// what each nested selection chose.
#include "table_parts.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace vfp::results {
namespace {

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

} // namespace

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
  if (t.versions.size() > 1) // a resumed sweep after an upgrade: say so where the numbers are
    text += " Rows from " + std::to_string(t.versions.size()) +
            " code versions: " + versions_text(t.versions) + ".";
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

namespace {

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

} // namespace

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

} // namespace vfp::results
