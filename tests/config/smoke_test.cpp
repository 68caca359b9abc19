// The smoke: section of a sweep file: checked on every load, applied by --smoke.
#include "sweep/sweep.h"
#include "yaml_files.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using Strings = std::vector<std::string>;

const char* const kBase = vfp::testing::kMinimalSweep; // lines 1-5

vfp::sweep::Sweep load(const std::string& rest, bool smoke) {
  return vfp::sweep::load(vfp::testing::write_yaml("smoke.yaml", std::string(kBase) + rest),
                          {smoke});
}

/// The InputError of loading kBase + `rest` (with or without --smoke), or "no error"; the
/// file named as "bad.yaml" without its folder.
std::string error_of(const std::string& rest, bool smoke) {
  std::string what = vfp::testing::sweep_error(std::string(kBase) + rest, smoke);
  const auto folder = vfp::testing::write_yaml("bad.yaml", "").parent_path().string() + "/";
  for (auto at = what.find(folder); at != std::string::npos; at = what.find(folder))
    what.erase(at, folder.size());
  return what;
}

using vfp::testing::column;

const std::string kGrid = "sweep:\n"
                          "  grid:\n"
                          "    train.lr: [0.1, 0.01, 0.001]\n"
                          "    train.batch_size: [8, 16]\n";

} // namespace

TEST(SweepSmoke, TheSectionIsIgnoredWithoutSmokeAndAppliedWithIt) {
  const std::string text = kGrid + "smoke:\n  cv.folds: 2\n  train:\n    max_epochs: 1\n";
  const auto real = load(text, false);
  EXPECT_EQ(real.name, "t");
  EXPECT_FALSE(real.smoke);
  ASSERT_EQ(real.configurations.size(), 6u);
  EXPECT_EQ(real.configurations[0].config.cv.folds, 4);
  EXPECT_EQ(real.tasks.size(), 24u);

  const auto smoke = load(text, true);
  EXPECT_EQ(smoke.name, "t-smoke"); // its own results folder
  EXPECT_TRUE(smoke.smoke);
  ASSERT_EQ(smoke.configurations.size(), 6u);
  for (const auto& c : smoke.configurations) {
    EXPECT_EQ(c.config.name, "t-smoke");
    EXPECT_EQ(c.config.cv.folds, 2);
    EXPECT_EQ(c.config.train.max_epochs, 1);
  }
  EXPECT_EQ(smoke.tasks.size(), 12u);
  EXPECT_EQ(smoke.axes, real.axes);
  // A file without smoke: and without --smoke is what it always was.
  EXPECT_EQ(load(kGrid, false).configurations[0].id, real.configurations[0].id);
}

TEST(SweepSmoke, AGridKeysSmokeValueReplacesItsValues) {
  auto s = load(kGrid + "smoke:\n  train.lr: 0.01\n", true);
  EXPECT_EQ(column(s, "train.lr"), (Strings{"0.01", "0.01"}));
  EXPECT_EQ(column(s, "train.batch_size"), (Strings{"8", "16"}));
  s = load(kGrid + "smoke:\n  train.lr: [0.5, 0.25]\n  train.batch_size: [4]\n", true);
  EXPECT_EQ(column(s, "train.lr"), (Strings{"0.5", "0.25"}));
  EXPECT_EQ(column(s, "train.batch_size"), (Strings{"4", "4"}));
  EXPECT_EQ(s.configurations[1].config.train.lr, 0.25);
  EXPECT_EQ(s.configurations[1].config.train.batch_size, 4);
}

TEST(SweepSmoke, SmokeValuesWinOverZipGroupsVariantsAndIncludes) {
  const std::string text = "sweep:\n"
                           "  zip:\n"
                           "    - model.arch: [fnet, resnet18]\n"
                           "      train.batch_size: [32, 16]\n"
                           "  variants:\n"
                           "    small: {model.width: 8}\n"
                           "    big: {model.width: 32, train.lr: 0.1}\n"
                           "  include:\n"
                           "    - {model.arch: resnet50, train.batch_size: 8, train.lr: 0.3}\n"
                           "smoke:\n"
                           "  train.batch_size: 2\n"
                           "  train.lr: 0.2\n";
  const auto real = load(text, false);
  ASSERT_EQ(real.configurations.size(), 5u);
  EXPECT_EQ(column(real, "train.batch_size"), (Strings{"32", "32", "16", "16", "8"}));
  EXPECT_EQ(real.configurations[1].config.train.lr, 0.1);
  const auto s = load(text, true);
  ASSERT_EQ(s.configurations.size(), 5u); // every architecture and variant is kept
  EXPECT_EQ(column(s, "model.arch"), (Strings{"fnet", "fnet", "resnet18", "resnet18", "resnet50"}));
  EXPECT_EQ(column(s, "variant"), (Strings{"small", "big", "small", "big", "-"}));
  EXPECT_EQ(column(s, "train.batch_size"), (Strings{"2", "2", "2", "2", "2"}));
  for (const auto& c : s.configurations) {
    EXPECT_EQ(c.config.train.batch_size, 2);
    EXPECT_EQ(c.config.train.lr, 0.2);
  }
}

TEST(SweepSmoke, ConfigurationsThatTheSmokeValuesMakeEqualRunOnce) {
  const std::string text = "sweep:\n"
                           "  variants:\n"
                           "    slow: {train.lr: 0.001}\n"
                           "    fast: {train.lr: 0.1}\n"
                           "    wide: {model.width: 32}\n"
                           "smoke:\n"
                           "  train.lr: 0.01\n";
  EXPECT_EQ(column(load(text, false), "variant"), (Strings{"slow", "fast", "wide"}));
  EXPECT_EQ(column(load(text, true), "variant"), (Strings{"slow", "wide"}));
}

TEST(SweepSmoke, ExcludeRulesSeeTheSmokeValues) {
  const std::string text =
      kGrid + "  exclude:\n    - {train.batch_size: 4}\n" + "smoke:\n  train.batch_size: [4, 8]\n";
  EXPECT_EQ(column(load(text, false), "train.batch_size"),
            (Strings{"8", "16", "8", "16", "8", "16"}));
  EXPECT_EQ(column(load(text, true), "train.batch_size"), (Strings{"8", "8", "8"}));
}

TEST(SweepSmokeErrors, UnknownKeysAreNamedWithTheirLineAndASuggestionEvenWithoutSmoke) {
  // kGrid is lines 6-9; smoke: is line 10.
  auto e = error_of(kGrid + "smoke:\n  cv.folds: 2\n  train.max_epoch: 1\n", false);
  EXPECT_EQ(e, "bad.yaml:12:20: smoke.train.max_epoch: unknown key (did you mean "
               "'train.max_epochs'?)");
  e = error_of(kGrid + "smoke:\n  train:\n    bach_size: 2\n", true);
  EXPECT_EQ(e, "bad.yaml:12:16: smoke.train.bach_size: unknown key (did you mean "
               "'train.batch_size'?)");
  e = error_of(kGrid + "smoke:\n  name: quick\n", false);
  EXPECT_NE(e.find("bad.yaml:11:9: smoke.name: a smoke run is named after the sweep with "
                   "'-smoke' appended"),
            std::string::npos)
      << e;
}

TEST(SweepSmokeErrors, BadValuesAreNamedAtTheSmokeLineWhenApplied) {
  const auto text = kGrid + "smoke:\n  train.max_epochs: none\n  train.lr: []\n";
  EXPECT_EQ(error_of(text, false),
            "bad.yaml:12:13: smoke.train.lr: expected a value or a non-empty list of values for "
            "the grid key");
  const auto e = error_of(kGrid + "smoke:\n  train.max_epochs: none\n", true);
  EXPECT_NE(e.find("bad.yaml:11:21: train.max_epochs:"), std::string::npos) << e;
  // Not applied without --smoke: the real sweep still loads.
  EXPECT_EQ(load(kGrid + "smoke:\n  train.max_epochs: none\n", false).configurations.size(), 6u);
}

TEST(SweepSmokeErrors, SmokeWithoutASectionAndAnEmptySectionAreErrors) {
  auto e = error_of(kGrid, true);
  EXPECT_NE(e.find("bad.yaml: --smoke: the file has no smoke: section"), std::string::npos) << e;
  e = error_of(kGrid + "smoke: 1\n", false);
  EXPECT_NE(e.find("bad.yaml:10:8: smoke: expected a mapping of dotted keys to values"),
            std::string::npos)
      << e;
}

TEST(SweepSmoke, SmokeVariantsSetKeysInTheirVariantOnly) {
  const std::string text = "sweep:\n"
                           "  variants:\n"
                           "    small: {model.width: 8, train.lr: 0.1}\n"
                           "    big: {model.width: 32}\n"
                           "smoke:\n"
                           "  cv.folds: 2\n"
                           "  variants:\n"
                           "    small: {train.lr: 0.5, train.batch_size: 4}\n";
  const auto real = load(text, false);
  EXPECT_EQ(real.configurations[0].config.train.lr, 0.1);
  const auto s = load(text, true);
  ASSERT_EQ(s.configurations.size(), 2u);
  EXPECT_EQ(s.configurations[0].config.train.lr, 0.5);
  EXPECT_EQ(s.configurations[0].config.train.batch_size, 4);
  EXPECT_EQ(s.configurations[0].config.model.width, 8);
  EXPECT_EQ(s.configurations[1].config.train.lr, 0.001); // the base value
  EXPECT_EQ(s.configurations[1].config.train.batch_size, 16);
  EXPECT_EQ(s.configurations[1].config.cv.folds, 2);
}

TEST(SweepSmokeErrors, SmokeVariantsNameExistingVariantsAndSchemaKeys) {
  const std::string variants = "sweep:\n"
                               "  variants:\n"
                               "    small: {model.width: 8}\n"
                               "smoke:\n"
                               "  variants:\n";
  EXPECT_EQ(error_of(variants + "    smal: {train.lr: 0.5}\n", false),
            "bad.yaml:11:5: smoke.variants.smal: no such variant in sweep.variants (did you mean "
            "'small'?)");
  EXPECT_EQ(error_of(variants + "    small: {train.lrr: 0.5}\n", false),
            "bad.yaml:11:24: smoke.variants.small.train.lrr: unknown key (did you mean "
            "'train.lr'?)");
  EXPECT_NE(error_of(kGrid + "smoke:\n  variants:\n    a: {train.lr: 1}\n", false)
                .find("bad.yaml:12:5: smoke.variants: the file has no sweep.variants"),
            std::string::npos);
  // A smoke variant key that a grid key varies would be set twice.
  const auto e = error_of(kGrid + "  variants:\n    a: {model.width: 8}\nsmoke:\n  variants:\n" +
                              "    a: {train.lr: 0.5}\n",
                          true);
  EXPECT_NE(e.find("smoke.variants.a.train.lr: also varied by sweep.grid.train.lr"),
            std::string::npos)
      << e;
}
