// The sweep file's `selection:` section: groups of configurations that differ only in the
// selected keys, the inner tasks of inner k-fold selection, and its errors.
#include "sweep/sweep.h"
#include "yaml_files.h"

#include <gtest/gtest.h>

#include <set>

namespace {

using vfp::testing::write_yaml;

const std::string kGrid = std::string(vfp::testing::kMinimalSweep) + R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4]
    train.batch_size: [8, 16]
    model.dropout: [0.1, 0.3]
)"; // the sweep: section starts on line 6, selection: on line 11

vfp::sweep::Sweep load(const std::string& selection, const std::string& name = "sel.yaml") {
  return vfp::sweep::load(write_yaml(name, kGrid + selection));
}

std::string error_of(const std::string& selection) {
  return vfp::testing::sweep_error(kGrid + selection);
}

} // namespace

TEST(Selection, ConfigurationsDifferingOnlyInTheSelectedKeysFormOneGroup) {
  const auto sweep = load("selection:\n  over: [train.lr, train.batch_size]\n");
  ASSERT_TRUE(sweep.selection);
  EXPECT_EQ(sweep.selection->metric, "auroc");
  EXPECT_EQ(sweep.selection->inner_folds, 0);
  // 8 configurations; dropout is not selected, so two groups of four.
  ASSERT_EQ(sweep.groups.size(), 2u);
  std::set<int> seen;
  for (const auto& g : sweep.groups) {
    ASSERT_EQ(g.members.size(), 4u);
    const double dropout = sweep.configurations[size_t(g.members[0])].config.model.dropout;
    for (int m : g.members) {
      EXPECT_TRUE(seen.insert(m).second) << "configuration " << m << " in two groups";
      EXPECT_DOUBLE_EQ(sweep.configurations[size_t(m)].config.model.dropout, dropout);
    }
    EXPECT_TRUE(std::is_sorted(g.members.begin(), g.members.end())) << "sweep order";
    EXPECT_EQ(g.axes[0], (std::pair<std::string, std::string>{"train.lr", "selected"}));
    EXPECT_EQ(g.axes[1].second, "selected");
    EXPECT_NE(g.axes[2].second, "selected");
  }
  EXPECT_NE(sweep.groups[0].id, sweep.groups[1].id);
  EXPECT_TRUE(sweep.inner_tasks.empty()) << "inner_folds 0 uses the early-stopping split";
}

TEST(Selection, ASectionChangesNoConfigurationIdSoEarlierResultsStayValid) {
  const auto without = vfp::sweep::load(write_yaml("plain.yaml", kGrid));
  const auto with = load("selection: {over: [train.lr], metric: loss, inner_folds: 3}\n");
  ASSERT_EQ(without.configurations.size(), with.configurations.size());
  for (size_t c = 0; c < with.configurations.size(); ++c)
    EXPECT_EQ(with.configurations[c].id, without.configurations[c].id);
  for (size_t t = 0; t < with.tasks.size(); ++t)
    EXPECT_EQ(with.tasks[t].id, without.tasks[t].id);
  EXPECT_FALSE(without.selection);
  EXPECT_TRUE(without.groups.empty());
}

TEST(Selection, InnerFoldsAddOneTaskPerConfigurationOuterFoldAndInnerFoldWithStableIds) {
  const auto sweep = load("selection: {over: [train.lr], inner_folds: 3}\n");
  // 8 configurations × 4 outer folds × 3 inner folds.
  ASSERT_EQ(sweep.inner_tasks.size(), 8u * 4u * 3u);
  std::set<std::string> ids;
  for (const auto& t : sweep.tasks)
    ids.insert(t.id);
  for (const auto& t : sweep.inner_tasks) {
    EXPECT_TRUE(t.inner());
    EXPECT_EQ(t.inner_folds, 3);
    EXPECT_TRUE(ids.insert(t.id).second) << "inner task ids are their own: " << t.id;
    EXPECT_EQ(t.seed, vfp::sweep::seed_from_id(t.id));
  }
  for (const auto& t : sweep.tasks)
    EXPECT_FALSE(t.inner());
  // The same file elsewhere gives the same ids.
  const auto again = load("selection: {over: [train.lr], inner_folds: 3}\n", "copy.yaml");
  for (size_t t = 0; t < sweep.inner_tasks.size(); ++t)
    EXPECT_EQ(again.inner_tasks[t].id, sweep.inner_tasks[t].id);
  // Another k is another inner split: other ids.
  const auto two = load("selection: {over: [train.lr], inner_folds: 2}\n");
  EXPECT_NE(two.inner_tasks[0].id, sweep.inner_tasks[0].id);
}

TEST(Selection, ErrorsNameFileLineAndKey) {
  EXPECT_NE(error_of("selection:\n  over: [train.momentum]\n")
                .find("bad.yaml:12:10: selection.over: 'train.momentum' is not a swept key of "
                      "this file (swept: train.lr, train.batch_size, model.dropout)"),
            std::string::npos)
      << error_of("selection:\n  over: [train.momentum]\n");
  EXPECT_NE(error_of("selection:\n  over: [train.lr]\n  metric: accuracy\n")
                .find("bad.yaml:13:11: selection.metric: 'accuracy' is not one of auroc, auprc, "
                      "loss"),
            std::string::npos);
  EXPECT_NE(error_of("selection:\n  over: [train.lr]\n  inner_folds: 1\n")
                .find("bad.yaml:13:16: selection.inner_folds: '1' must be 0 (the early-stopping "
                      "validation split) or an integer from 2 to 20"),
            std::string::npos);
  EXPECT_NE(error_of("selection:\n  over: [train.lr]\n  inner_fold: 2\n")
                .find("bad.yaml:13:3: selection.inner_fold: unknown key (did you mean "
                      "'inner_folds'?)"),
            std::string::npos)
      << error_of("selection:\n  over: [train.lr]\n  inner_fold: 2\n");
  EXPECT_NE(error_of("selection:\n  metric: auroc\n")
                .find("selection.over: expected a list of "
                      "swept keys"),
            std::string::npos);
  EXPECT_NE(error_of("selection:\n  over: [train.lr, train.lr]\n")
                .find("selection.over: 'train.lr' is listed twice"),
            std::string::npos);
  EXPECT_NE(error_of("selection: [train.lr]\n")
                .find("bad.yaml:11:12: selection: expected a "
                      "mapping"),
            std::string::npos)
      << error_of("selection: [train.lr]\n");
}

TEST(Selection, ASmokeRunTakesTheKeysOfSmokeSelection) {
  const auto text = kGrid + "selection: {over: [train.lr], inner_folds: 5}\n" +
                    "smoke:\n  train.max_epochs: 1\n  selection: {inner_folds: 2}\n";
  const auto file = write_yaml("smoke_selection.yaml", text);
  EXPECT_EQ(vfp::sweep::load(file).selection->inner_folds, 5);
  const auto smoke = vfp::sweep::load(file, {true});
  EXPECT_EQ(smoke.selection->inner_folds, 2);
  EXPECT_EQ(smoke.inner_tasks.size(), 8u * 4u * 2u);
  EXPECT_NE(vfp::testing::sweep_error(kGrid + "smoke:\n  selection: {inner_folds: 2}\n")
                .find("bad.yaml:12:14: smoke.selection: the file has no selection: section"),
            std::string::npos)
      << vfp::testing::sweep_error(kGrid + "smoke:\n  selection: {inner_folds: 2}\n");
  EXPECT_NE(vfp::testing::sweep_error(kGrid + "selection: {over: [train.lr]}\n" +
                                      "smoke:\n  selection: {innerfolds: 2}\n")
                .find("smoke.selection.innerfolds: unknown key (did you mean 'inner_folds'?)"),
            std::string::npos);
}
