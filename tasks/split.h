// Internal to tasks/: which subjects a task trains, validates and tests on. Shared by
// train_eval and pretrain (ssl.data: outer_train) so that both see the same folds.
#pragma once

#include "config/config.h"
#include "data/data.h"

#include <vector>

namespace vfp::tasks::detail {

/// kUnused: the outer test fold of an inner task, which it must never see.
enum Role { kTrain = 0, kValidation = 1, kTest = 2, kUnused = 3 };

/// A task's view of a cache: the subjects that take part, their labels, and for every patch
/// its subject and role.
struct PatchSplit {
  std::vector<data::Subject> subjects; ///< the cohort's subjects with patches, in cohort order
  std::vector<int> labels;             ///< event per subject
  std::vector<int> patch_subject;      ///< index into subjects, per patch
  std::vector<Role> patch_role;        ///< per patch
};

/// Splits the patches for outer fold `fold` of CV repeat `repeat`: stratified outer folds
/// (from a hash of cv.seed and the repeat only, so every configuration meets the same
/// subjects), and an inner stratified hold-out of the outer training set for early stopping.
/// With `inner_fold` ≥ 0 (nested selection), the outer training set is itself split into
/// `inner_folds` stratified folds: inner fold `inner_fold` is the test part, the rest is
/// split into training and early-stopping validation, and the outer test fold is kUnused.
/// Subjects without patches (excluded) take no part. Throws vfp::TaskError when the cache
/// holds a subject that the cohort table does not.
PatchSplit split_patches(const config::ExperimentConfig& config,
                         const std::vector<data::Subject>& cohort, const data::PatchSet& patches,
                         int fold, int repeat, int inner_fold = -1, int inner_folds = 0);

/// The seed of CV repeat `repeat`'s outer folds: repeat 0 keeps the split vfp always made;
/// later repeats hash (seed, repeat), so that cv.seed s, repeat 1 is not cv.seed s + 1,
/// repeat 0.
std::uint64_t outer_fold_seed(std::uint64_t cv_seed, int repeat);

} // namespace vfp::tasks::detail
