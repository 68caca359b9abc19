// Nested selection: per outer fold, the configuration with the best inner score.
#include "results/results.h"

#include "core/core.h"

#include <cmath>
#include <map>
#include <tuple>

namespace vfp::results {
namespace {

using Split = std::pair<int, int>; ///< (repeat, fold)

/// A figure a row must have; absent, or non-finite (JSON's null), it is an InputError naming
/// `key`.
double number(const std::optional<double>& value, const char* key, const std::string& task_id) {
  if (!value || !std::isfinite(*value))
    throw InputError("task " + task_id + ": its row has no '" + key +
                     "' (written by an older vfp?); run the sweep with --no-resume for this "
                     "configuration to score it again");
  return *value;
}

/// The inner fold's figure that `metric` selects on.
double inner_score(const TrainEvalRow& r, const std::string& metric) {
  return metric == "auroc"   ? number(r.auroc, "auroc", r.task_id)
         : metric == "auprc" ? number(r.auprc, "auprc", r.task_id)
                             : number(r.loss, "loss", r.task_id);
}

/// The early-stopping validation split's figure that `metric` selects on.
double validation_score(const TrainEvalRow& r, const std::string& metric) {
  return metric == "auroc"   ? number(r.best_val_auroc, "best_val_auroc", r.task_id)
         : metric == "auprc" ? number(r.best_val_auprc, "best_val_auprc", r.task_id)
                             : number(r.best_val_loss, "best_val_loss", r.task_id);
}

} // namespace

nlohmann::json to_json(const FoldChoice& c) {
  return {{"repeat", c.repeat},
          {"fold", c.fold},
          {"config_id", c.config_id},
          {"task_id", c.task_id},
          {"inner_score", c.inner_score},
          {"auroc", c.auroc},
          {"auprc", c.auprc}};
}

FoldChoice fold_choice_from_json(const nlohmann::json& j) {
  FoldChoice c;
  c.repeat = j.value("repeat", 0);
  c.fold = j.value("fold", 0);
  c.config_id = j.value("config_id", "");
  c.task_id = j.value("task_id", "");
  c.inner_score = j.value("inner_score", 0.0);
  c.auroc = j.value("auroc", 0.0);
  c.auprc = j.value("auprc", 0.0);
  return c;
}

std::vector<FoldChoice> select_per_fold(const std::vector<nlohmann::json>& json_rows,
                                        const std::vector<std::string>& member_ids,
                                        const std::string& metric, int inner_folds) {
  if (metric != "auroc" && metric != "auprc" && metric != "loss")
    throw InputError("selection metric '" + metric + "' is not one of auroc, auprc, loss");
  std::map<std::string, int> member_of;
  for (size_t m = 0; m < member_ids.size(); ++m)
    member_of.emplace(member_ids[m], int(m));
  // Outer rows per (member, split); inner scores per (member, split), one per inner fold.
  const auto rows = typed_rows(json_rows);
  std::map<std::pair<int, Split>, const TrainEvalRow*> outer;
  std::map<std::pair<int, Split>, std::map<int, double>> inner;
  for (const auto& row : rows) {
    const auto* r = std::get_if<TrainEvalRow>(&row);
    if (!r || !r->ok())
      continue;
    const auto it = member_of.find(r->config_id);
    if (it == member_of.end())
      continue;
    const Split split{r->repeat, r->fold};
    if (r->kind == "train_eval")
      outer[{it->second, split}] = r;
    else if (r->kind == "inner" && r->inner_folds.value_or(0) == inner_folds)
      inner[{it->second, split}][r->inner_fold.value_or(0)] = inner_score(*r, metric);
  }
  std::map<Split, FoldChoice> best;
  const bool lower_is_better = metric == "loss";
  for (const auto& [key, row] : outer) {
    const auto& [member, split] = key;
    const auto& task_id = row->task_id;
    double score = 0;
    if (inner_folds >= 2) {
      const auto found = inner.find(key);
      const int have = found == inner.end() ? 0 : int(found->second.size());
      if (have != inner_folds)
        throw InputError("configuration " + member_ids[size_t(member)] + ", repeat " +
                         std::to_string(split.first) + " fold " + std::to_string(split.second) +
                         ": " + std::to_string(have) + " of " + std::to_string(inner_folds) +
                         " inner folds have a result");
      for (const auto& [inner_fold, value] : found->second)
        score += value / inner_folds;
    } else {
      score = validation_score(*row, metric);
    }
    if (!std::isfinite(score))
      throw InputError("task " + task_id + ": inner " + metric + " is not finite");
    // Ties go to the configuration listed first in the sweep (members are in sweep order
    // and outer rows are visited member by member).
    const auto it = best.find(split);
    const bool better = it == best.end() || (lower_is_better ? score < it->second.inner_score
                                                             : score > it->second.inner_score);
    if (!better)
      continue;
    FoldChoice c;
    c.repeat = split.first;
    c.fold = split.second;
    c.config_id = member_ids[size_t(member)];
    c.task_id = task_id;
    c.inner_score = score;
    c.auroc = row->auroc;
    c.auprc = row->auprc;
    best[split] = c;
  }
  std::vector<FoldChoice> out;
  out.reserve(best.size());
  for (auto& [split, choice] : best)
    out.push_back(std::move(choice));
  return out;
}

} // namespace vfp::results
