// Internal to tasks/: which subjects a task trains, validates and tests on. Shared by
// train_eval and pretrain (ssl.data: outer_train) so that both see the same folds.
#pragma once

#include "config/config.h"
#include "data/data.h"

#include <vector>

namespace vfp::tasks::detail {

enum Role { kTrain = 0, kValidation = 1, kTest = 2 };

/// The cohort's subjects that have patches in the cache, in cohort order.
std::vector<data::Subject> subjects_with_patches(const std::vector<data::Subject>& cohort,
                                                 const data::PatchSet& patches);

/// Each subject's role for outer fold `fold` of CV repeat `repeat`: stratified outer folds
/// (from cv.seed and the repeat only, so every configuration meets the same subjects), and
/// an inner stratified hold-out of the outer training set for early stopping.
std::vector<Role> subject_roles(const config::ExperimentConfig& config,
                                const std::vector<int>& labels, int fold, int repeat);

} // namespace vfp::tasks::detail
