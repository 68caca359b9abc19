#include "tasks/split.h"

#include "core/core.h"

#include <map>
#include <set>

namespace vfp::tasks::detail {

namespace {

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
                                int fold, int repeat, int inner_fold, int inner_folds) {
  const auto folds = data::stratified_folds(labels, c.cv.folds, outer_fold_seed(c.cv.seed, repeat));
  std::vector<int> outer_train, outer_train_labels;
  for (size_t i = 0; i < labels.size(); ++i)
    if (folds[i] != fold) {
      outer_train.push_back(static_cast<int>(i));
      outer_train_labels.push_back(labels[i]);
    }
  const auto split_seed = c.cv.seed ^ (std::uint64_t(repeat) << 32) ^ std::uint64_t(fold);
  std::vector<Role> role(labels.size(), inner_fold >= 0 ? kUnused : kTest);
  if (inner_fold < 0) {
    const auto held =
        data::stratified_holdout(outer_train_labels, c.cv.val_fraction, mix_seed(split_seed));
    for (size_t k = 0; k < outer_train.size(); ++k)
      role[size_t(outer_train[k])] = held[k] ? kValidation : kTrain;
    return role;
  }
  // Inner k-fold CV of the outer training part; its early-stopping split comes from the
  // inner training part only, so the inner test fold stays unseen.
  const auto inner = data::stratified_folds(
      outer_train_labels, inner_folds, mix_seed(fnv1a64("inner/" + std::to_string(split_seed))));
  std::vector<int> inner_train, inner_train_labels;
  for (size_t k = 0; k < outer_train.size(); ++k) {
    if (inner[k] == inner_fold) {
      role[size_t(outer_train[k])] = kTest;
    } else {
      inner_train.push_back(outer_train[k]);
      inner_train_labels.push_back(outer_train_labels[k]);
    }
  }
  const auto held =
      data::stratified_holdout(inner_train_labels, c.cv.val_fraction,
                               mix_seed(fnv1a64("inner-holdout/" + std::to_string(split_seed) +
                                                "/" + std::to_string(inner_fold))));
  for (size_t k = 0; k < inner_train.size(); ++k)
    role[size_t(inner_train[k])] = held[k] ? kValidation : kTrain;
  return role;
}

} // namespace

std::uint64_t outer_fold_seed(std::uint64_t cv_seed, int repeat) {
  if (repeat == 0)
    return mix_seed(cv_seed);
  return mix_seed(fnv1a64("cv-repeat/" + std::to_string(cv_seed) + "/" + std::to_string(repeat)));
}

PatchSplit split_patches(const config::ExperimentConfig& c,
                         const std::vector<data::Subject>& cohort, const data::PatchSet& patches,
                         int fold, int repeat, int inner_fold, int inner_folds) {
  PatchSplit out;
  out.subjects = subjects_with_patches(cohort, patches);
  std::map<std::string, int> index_of;
  for (size_t i = 0; i < out.subjects.size(); ++i) {
    out.labels.push_back(out.subjects[i].event);
    index_of[out.subjects[i].id] = static_cast<int>(i);
  }
  const auto role = subject_roles(c, out.labels, fold, repeat, inner_fold, inner_folds);
  for (size_t p = 0; p < patches.size(); ++p) {
    const auto it = index_of.find(patches.subject_ids[p]);
    if (it == index_of.end())
      throw TaskError("cache holds subject " + patches.subject_ids[p] + " absent from " +
                      c.cohort.csv.string());
    out.patch_subject.push_back(it->second);
    out.patch_role.push_back(role[size_t(it->second)]);
  }
  return out;
}

} // namespace vfp::tasks::detail
