// Which subjects a task trains, validates and tests on: outer folds per CV repeat, the
// early-stopping hold-out, and the inner folds of nested selection, which must never touch
// the outer test fold.
#include "tasks/split.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace {

using namespace vfp::tasks::detail;

/// 60 subjects (every 4th an event), two patches each, as a cache holds them.
struct Cohort {
  vfp::config::ExperimentConfig config;
  std::vector<vfp::data::Subject> subjects;
  vfp::data::PatchSet patches;
};

Cohort cohort() {
  Cohort c;
  c.config.cv.folds = 3;
  c.config.cv.seed = 11;
  for (int i = 0; i < 60; ++i) {
    vfp::data::Subject s;
    s.id = "S" + std::to_string(100 + i);
    s.event = i % 4 == 0;
    c.subjects.push_back(s);
    for (int v : {20, 21}) {
      c.patches.subject_ids.push_back(s.id);
      c.patches.vertebrae.push_back(v);
    }
  }
  return c;
}

/// Role of each subject (its patches agree) in a split.
std::map<std::string, Role> roles(const Cohort& c, const PatchSplit& split) {
  std::map<std::string, Role> out;
  for (size_t p = 0; p < c.patches.size(); ++p) {
    const auto [it, fresh] = out.emplace(c.patches.subject_ids[p], split.patch_role[p]);
    EXPECT_TRUE(fresh || it->second == split.patch_role[p]) << "a subject split across roles";
  }
  return out;
}

} // namespace

TEST(OuterFolds, RepeatZeroKeepsItsSplitAndLaterRepeatsAreNotAnotherSeedsRepeatZero) {
  EXPECT_EQ(outer_fold_seed(11, 0), vfp::mix_seed(11)) << "results of earlier runs stay valid";
  // Before, repeat r used the seed s + r: cv.seed 11, repeat 1 was cv.seed 12, repeat 0.
  EXPECT_NE(outer_fold_seed(11, 1), outer_fold_seed(12, 0));
  EXPECT_NE(outer_fold_seed(11, 2), outer_fold_seed(12, 1));
  auto c = cohort();
  std::set<std::string> test_r1_s11, test_r0_s12;
  for (const auto& [id, role] : roles(c, split_patches(c.config, c.subjects, c.patches, 0, 1)))
    if (role == kTest)
      test_r1_s11.insert(id);
  c.config.cv.seed = 12;
  for (const auto& [id, role] : roles(c, split_patches(c.config, c.subjects, c.patches, 0, 0)))
    if (role == kTest)
      test_r0_s12.insert(id);
  EXPECT_NE(test_r1_s11, test_r0_s12);
}

TEST(InnerFolds, NeverTouchTheOuterTestFoldAndPartitionTheOuterTrainingPart) {
  const auto c = cohort();
  for (int fold = 0; fold < 3; ++fold) {
    const auto outer = roles(c, split_patches(c.config, c.subjects, c.patches, fold, 0));
    std::set<std::string> inner_tests;
    for (int inner = 0; inner < 3; ++inner) {
      const auto split = split_patches(c.config, c.subjects, c.patches, fold, 0, inner, 3);
      const auto r = roles(c, split);
      int tested = 0, tested_events = 0, validated = 0;
      for (const auto& [id, role] : r) {
        if (outer.at(id) == kTest) {
          EXPECT_EQ(role, kUnused) << id << ": the outer test fold reached an inner task";
          continue;
        }
        EXPECT_NE(role, kUnused) << id;
        if (role == kTest) {
          EXPECT_TRUE(inner_tests.insert(id).second) << id << " in two inner test folds";
          ++tested;
          tested_events += (std::stoi(id.substr(1)) - 100) % 4 == 0; // every 4th is an event
        }
        validated += role == kValidation;
      }
      // 40 outer training subjects (10 events) in 3 stratified inner folds: 13–14 each, 3–4
      // events; an early-stopping hold-out from the rest.
      EXPECT_GE(tested, 13);
      EXPECT_LE(tested, 14);
      EXPECT_GE(tested_events, 3);
      EXPECT_LE(tested_events, 4);
      EXPECT_GE(validated, 4);
    }
    size_t outer_training = 0;
    for (const auto& [id, role] : outer)
      outer_training += role != kTest;
    EXPECT_EQ(inner_tests.size(), outer_training) << "inner test folds cover the training part";
  }
}

TEST(InnerFolds, TheSameTaskGetsTheSameSplitAndOtherFoldsOtherOnes) {
  const auto c = cohort();
  const auto a = split_patches(c.config, c.subjects, c.patches, 1, 0, 0, 2);
  const auto b = split_patches(c.config, c.subjects, c.patches, 1, 0, 0, 2);
  EXPECT_EQ(a.patch_role, b.patch_role);
  const auto other = split_patches(c.config, c.subjects, c.patches, 1, 0, 1, 2);
  EXPECT_NE(a.patch_role, other.patch_role);
  // An outer task's split is what it was before nested selection existed.
  const auto outer = split_patches(c.config, c.subjects, c.patches, 1, 0);
  for (auto role : outer.patch_role)
    EXPECT_NE(role, kUnused);
}
