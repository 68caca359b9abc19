#include "tasks/split.h"

#include "core/core.h"

#include <set>

namespace vfp::tasks::detail {

std::vector<data::Subject> subjects_with_patches(const std::vector<data::Subject>& cohort,
                                                 const data::PatchSet& patches) {
  const std::set<std::string> with_patches(patches.subject_ids.begin(), patches.subject_ids.end());
  std::vector<data::Subject> out;
  for (const auto& s : cohort)
    if (with_patches.count(s.id))
      out.push_back(s);
  return out;
}

std::vector<Role> subject_roles(const config::ExperimentConfig& c, const std::vector<int>& labels,
                                int fold, int repeat) {
  const auto folds = data::stratified_folds(labels, c.cv.folds, mix_seed(c.cv.seed + repeat));
  std::vector<int> outer_train, outer_train_labels;
  for (size_t i = 0; i < labels.size(); ++i)
    if (folds[i] != fold) {
      outer_train.push_back(static_cast<int>(i));
      outer_train_labels.push_back(labels[i]);
    }
  const auto held = data::stratified_holdout(
      outer_train_labels, c.cv.val_fraction,
      mix_seed(c.cv.seed ^ (std::uint64_t(repeat) << 32) ^ std::uint64_t(fold)));
  std::vector<Role> role(labels.size(), kTest);
  for (size_t k = 0; k < outer_train.size(); ++k)
    role[size_t(outer_train[k])] = held[k] ? kValidation : kTrain;
  return role;
}

} // namespace vfp::tasks::detail
