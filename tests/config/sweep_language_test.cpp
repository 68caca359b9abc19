// The sweep language beyond plain grids: ranges, zip, variants, exclude, include, random.
#include "sweep/sweep.h"
#include "yaml_files.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace {

const char* const kBase = vfp::testing::kMinimalSweep;

using vfp::testing::write_yaml;

vfp::sweep::Sweep load(const std::string& sweep_section) {
  return vfp::sweep::load(write_yaml("s.yaml", std::string(kBase) + sweep_section));
}

std::string error_of(const std::string& sweep_section) {
  return vfp::testing::sweep_error(std::string(kBase) + sweep_section);
}

using vfp::testing::column;

std::vector<std::string> ids(const vfp::sweep::Sweep& sweep) {
  std::vector<std::string> out;
  for (const auto& c : sweep.configurations)
    out.push_back(c.id);
  return out;
}

using Strings = std::vector<std::string>;

} // namespace

// --- range and logspace -------------------------------------------------------------------

TEST(SweepRanges, IntegerRangeStaysIntegerAndIncludesStop) {
  auto s = load("sweep:\n  grid:\n    train.batch_size: {range: [8, 32, 8]}\n");
  EXPECT_EQ(column(s, "train.batch_size"), (Strings{"8", "16", "24", "32"}));
  ASSERT_EQ(s.configurations.size(), 4u);
  EXPECT_EQ(s.configurations[3].config.train.batch_size, 32);
}

TEST(SweepRanges, FloatRangeIncludesStopWithinRoundingAndStopsShortOtherwise) {
  auto s = load("sweep:\n  grid:\n    model.dropout: {range: [0.1, 0.5, 0.1]}\n");
  EXPECT_EQ(column(s, "model.dropout"), (Strings{"0.1", "0.2", "0.3", "0.4", "0.5"}));
  EXPECT_DOUBLE_EQ(s.configurations[2].config.model.dropout, 0.3);
  auto short_of_stop = load("sweep:\n  grid:\n    model.dropout: {range: [0, 0.8, 0.3]}\n");
  EXPECT_EQ(column(short_of_stop, "model.dropout"), (Strings{"0", "0.3", "0.6"}));
}

TEST(SweepRanges, AFloatAmongTheArgumentsMakesFloatsAndStepsMayGoDown) {
  auto mixed = load("sweep:\n  grid:\n    model.dropout: {range: [0, 0.5, 0.25]}\n");
  EXPECT_EQ(column(mixed, "model.dropout"), (Strings{"0", "0.25", "0.5"}));
  auto down = load("sweep:\n  grid:\n    train.batch_size: {range: [64, 16, -16]}\n");
  EXPECT_EQ(column(down, "train.batch_size"), (Strings{"64", "48", "32", "16"}));
  auto as_float =
      load("sweep:\n  grid:\n    train.step_gamma: {range: [1.0e-1, 3.0e-1, 1.0e-1]}\n");
  EXPECT_EQ(column(as_float, "train.step_gamma"), (Strings{"0.1", "0.2", "0.3"}));
}

TEST(SweepRanges, LogspaceIsGeometricInclusiveAndReadsBackExactly) {
  auto s = load("sweep:\n  grid:\n    train.lr: {logspace: [1.0e-4, 1.0e-1, 4]}\n");
  EXPECT_EQ(column(s, "train.lr"), (Strings{"0.0001", "0.001", "0.01", "0.1"}));
  EXPECT_DOUBLE_EQ(s.configurations[1].config.train.lr, 1e-3);
  auto wd = load("sweep:\n  grid:\n    train.weight_decay: {logspace: [1.0e-6, 1.0e-2, 3]}\n");
  EXPECT_EQ(column(wd, "train.weight_decay"), (Strings{"1e-06", "0.0001", "0.01"}));
  auto not_decades = load("sweep:\n  grid:\n    model.dropout: {logspace: [0.1, 0.4, 3]}\n");
  EXPECT_EQ(column(not_decades, "model.dropout"), (Strings{"0.1", "0.2", "0.4"}));
}

TEST(SweepRanges, ARangeValueTheSchemaRefusesNamesTheRangesLine) {
  const auto e = error_of("sweep:\n  grid:\n    train.batch_size: {range: [0, 8, 4]}\n");
  EXPECT_NE(e.find("bad.yaml:8:23: train.batch_size: value 0 is out of range [1, 4096]"),
            std::string::npos)
      << e;
}

TEST(SweepRangeErrors, ZeroStepBackwardStepAndBadLogspaceAreNamedWithTheirLine) {
  auto e = error_of("sweep:\n  grid:\n    train.batch_size: {range: [8, 32, 0]}\n");
  EXPECT_NE(e.find("bad.yaml:8:31: sweep.grid.train.batch_size: range: step must be non-zero"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  grid:\n    train.batch_size: {range: [8, 32, -8]}\n");
  EXPECT_NE(e.find("bad.yaml:8:31: sweep.grid.train.batch_size: range: step -8 points away "
                   "from stop 32 (start 8)"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  grid:\n    train.lr: {logspace: [1.0e-4, 1.0e-1, 1]}\n");
  EXPECT_NE(e.find("bad.yaml:8:43: sweep.grid.train.lr: logspace: count must be an integer in "
                   "[2, 100000], got 1"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  grid:\n    train.lr: {logspace: [0, 1.0e-1, 3]}\n");
  EXPECT_NE(e.find("bad.yaml:8:26: sweep.grid.train.lr: logspace: start and stop must be > 0"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  grid:\n    train.lr: {rnge: [1, 2, 1]}\n");
  EXPECT_NE(e.find("bad.yaml:8:16: sweep.grid.train.lr: unknown value generator 'rnge' (did "
                   "you mean 'range'?)"),
            std::string::npos)
      << e;
}

TEST(SweepRangeErrors, MoreThanOneHundredThousandConfigurationsIsAnError) {
  const auto e = error_of("sweep:\n  grid:\n    train.batch_size: {range: [1, 1000, 1]}\n"
                          "    model.width: {range: [4, 256, 2]}\n");
  EXPECT_NE(e.find("bad.yaml:7:3: sweep expands to more than 100000 configurations"),
            std::string::npos)
      << e;
}

// --- zip ----------------------------------------------------------------------------------

TEST(SweepZip, AZipGroupIsOneAxisWhoseListsArePaired) {
  auto s = load(R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4]
  zip:
    - model.arch: [resnet18, resnet34, resnet50]
      train.batch_size: [32, 16, 8]
)");
  ASSERT_EQ(s.configurations.size(), 6u); // 2 × 3, not 2 × 3 × 3
  EXPECT_EQ(s.axes, (Strings{"train.lr", "model.arch", "train.batch_size"}));
  EXPECT_EQ(column(s, "train.lr"),
            (Strings{"1.0e-3", "1.0e-3", "1.0e-3", "1.0e-4", "1.0e-4", "1.0e-4"}));
  EXPECT_EQ(column(s, "model.arch"),
            (Strings{"resnet18", "resnet34", "resnet50", "resnet18", "resnet34", "resnet50"}));
  EXPECT_EQ(column(s, "train.batch_size"), (Strings{"32", "16", "8", "32", "16", "8"}));
  EXPECT_EQ(s.configurations[4].config.model.arch, "resnet34");
  EXPECT_EQ(s.configurations[4].config.train.batch_size, 16);
}

TEST(SweepZip, ZipListsMayBeRangesAndGroupsMultiply) {
  auto s = load(R"(sweep:
  zip:
    - train.batch_size: {range: [8, 24, 8]}
      model.width: [8, 16, 32]
    - model.dropout: [0.1, 0.2]
      train.weight_decay: {logspace: [1.0e-5, 1.0e-4, 2]}
)");
  ASSERT_EQ(s.configurations.size(), 6u);
  EXPECT_EQ(column(s, "model.width"), (Strings{"8", "8", "16", "16", "32", "32"}));
  EXPECT_EQ(column(s, "train.weight_decay"),
            (Strings{"1e-05", "0.0001", "1e-05", "0.0001", "1e-05", "0.0001"}));
  EXPECT_EQ(s.configurations[5].config.train.batch_size, 24);
}

TEST(SweepZipErrors, UnequalListsNameTheGroupAndEachKeysLine) {
  const auto e = error_of(R"(sweep:
  zip:
    - train.lr: [1.0e-3, 1.0e-4]
      train.batch_size: [8, 16, 32]
)");
  EXPECT_NE(e.find("bad.yaml:8:7: sweep.zip[0]: lists of unequal length: train.lr has 2 values "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("bad.yaml:8:7), train.batch_size has 3 ("), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yaml:9:7)"), std::string::npos) << e;
}

TEST(SweepZipErrors, AKeyInAGridAndAZipGroupNamesBothLines) {
  const auto e = error_of(R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4]
  zip:
    - train.lr: [1.0e-3, 1.0e-4]
      train.batch_size: [8, 16]
)");
  EXPECT_NE(e.find("bad.yaml:10:7: sweep.zip[0].train.lr: also varied by sweep.grid.train.lr ("),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("bad.yaml:8:5); vary a key in one place only"), std::string::npos) << e;
}

// --- variants -----------------------------------------------------------------------------

TEST(SweepVariants, VariantsAreOneAxisAfterTheGridNamedVariant) {
  auto s = load(R"(sweep:
  variants:
    small: {model.width: 8, train.batch_size: 32}
    big:
      model: {width: 32}
      train.batch_size: 8
  grid:
    train.lr: [1.0e-3, 1.0e-4]
)");
  ASSERT_EQ(s.configurations.size(), 4u);
  EXPECT_EQ(s.axes, (Strings{"train.lr", "variant"})); // grid first, whatever the file order
  using Axes = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s.configurations[0].axes, (Axes{{"train.lr", "1.0e-3"}, {"variant", "small"}}));
  EXPECT_EQ(s.configurations[1].axes, (Axes{{"train.lr", "1.0e-3"}, {"variant", "big"}}));
  EXPECT_EQ(s.configurations[3].axes, (Axes{{"train.lr", "1.0e-4"}, {"variant", "big"}}));
  EXPECT_EQ(s.configurations[0].config.model.width, 8);
  EXPECT_EQ(s.configurations[0].config.train.batch_size, 32);
  EXPECT_EQ(s.configurations[1].config.model.width, 32);
  EXPECT_EQ(s.configurations[1].config.train.batch_size, 8);
  EXPECT_DOUBLE_EQ(s.configurations[3].config.train.lr, 1e-4);
}

TEST(SweepVariants, AKeyOneVariantSetsIsTheBaseValueInTheOthers) {
  auto s = load(R"(model: {width: 12}
sweep:
  variants:
    wide: {model.width: 64}
    deep: {model.arch: resnet50}
)");
  ASSERT_EQ(s.configurations.size(), 2u);
  EXPECT_EQ(s.configurations[0].config.model.width, 64);
  EXPECT_EQ(s.configurations[1].config.model.width, 12); // not left at the other variant's 64
  EXPECT_EQ(s.configurations[1].config.model.arch, "resnet50");
}

TEST(SweepVariantErrors, AVariantKeyThatIsAGridKeyNamesBothLines) {
  const auto e = error_of(R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4]
  variants:
    fast: {train.lr: 0.01, train.batch_size: 64}
)");
  EXPECT_NE(e.find("bad.yaml:10:22: sweep.variants.fast.train.lr: also varied by "
                   "sweep.grid.train.lr ("),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("bad.yaml:8:5); vary a key in one place only"), std::string::npos) << e;
}

TEST(SweepVariantErrors, UnknownAndInvalidVariantKeysNameTheirLine) {
  auto e = error_of("sweep:\n  variants:\n    big: {model.widht: 32}\n");
  EXPECT_NE(e.find("bad.yaml:8:24: sweep.variants.big.model.widht: unknown key (did you mean "
                   "'model.width'?)"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  variants:\n    tiny: {model.width: 2}\n");
  EXPECT_NE(e.find("bad.yaml:8:25: model.width: value 2 is out of range [4, 256]"),
            std::string::npos)
      << e;
}

// --- exclude ------------------------------------------------------------------------------

const char* kTwelve = R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4, 1.0e-5]
    train.batch_size: [8, 16, 32, 64]
)";

TEST(SweepExclude, ARuleDropsThePointsMatchingEveryKeyComparingNumbersByValue) {
  auto s = load(std::string(kTwelve) + R"(  exclude:
    - {train.lr: 0.0001, train.batch_size: [32, 64]}
)");
  ASSERT_EQ(s.configurations.size(), 10u);
  for (const auto& c : s.configurations)
    EXPECT_FALSE(c.config.train.lr == 1e-4 && c.config.train.batch_size >= 32)
        << c.config.train.batch_size;
  // The order of the rest is the product's.
  EXPECT_EQ(column(s, "train.batch_size"),
            (Strings{"8", "16", "32", "64", "8", "16", "8", "16", "32", "64"}));
}

TEST(SweepExclude, NotKeepsTheListedValuesAndRulesAddUp) {
  auto s = load(std::string(kTwelve) + R"(  exclude:
    - train.lr: 1.0e-5
      train.batch_size: {not: 8}
    - {train.lr: 1.0e-3, train.batch_size: {not: [8, 16, 32]}}
)");
  ASSERT_EQ(s.configurations.size(), 8u); // 12 − 3 − 1
  EXPECT_EQ(column(s, "train.lr"), (Strings{"1.0e-3", "1.0e-3", "1.0e-3", "1.0e-4", "1.0e-4",
                                            "1.0e-4", "1.0e-4", "1.0e-5"}));
  EXPECT_EQ(s.configurations.back().config.train.batch_size, 8);
}

TEST(SweepExclude, RulesMatchBaseValuesListValuesAndVariantNames) {
  auto s = load(R"(preprocess: {channels: [sagittal]}
sweep:
  grid:
    train.batch_size: [8, 16]
    preprocess.channels: [[sagittal], [sagittal, coronal]]
  variants:
    small: {model.width: 8}
    big: {model.width: 32}
  exclude:
    - {train.lr: 1.0e-3, train.batch_size: 8, variant: big}
    - {preprocess.channels: [[sagittal, coronal]], variant: small}
)");
  // 2 × 2 × 2 = 8; the first rule drops (8, *, big): 2; the second (*, [s, c], small): 2,
  // of which none was dropped already.
  ASSERT_EQ(s.configurations.size(), 4u);
  for (const auto& c : s.configurations) {
    EXPECT_FALSE(c.config.train.batch_size == 8 && c.config.model.width == 32);
    EXPECT_FALSE(c.config.preprocess.channels.size() == 2 && c.config.model.width == 8);
  }
}

TEST(SweepExclude, FinetuningWithoutPretrainingIsExcludedByTheSuggestedRule) {
  auto s = load(R"(sweep:
  grid:
    pretrained.mode: [none, ssl]
    train.finetune: [full, linear_probe, layerwise]
  exclude:
    - {pretrained.mode: none, train.finetune: [linear_probe, layerwise, bn_only]}
)");
  ASSERT_EQ(s.configurations.size(), 4u);
  EXPECT_EQ(column(s, "pretrained.mode"), (Strings{"none", "ssl", "ssl", "ssl"}));
  EXPECT_EQ(column(s, "train.finetune"), (Strings{"full", "full", "linear_probe", "layerwise"}));
}

TEST(SweepExclude, TheShippedPretrainingSweepRunsThreeConfigurations) {
  auto s = vfp::sweep::load(fs::path(VFP_SOURCE_DIR) / "sweeps" / "pretraining.yaml");
  ASSERT_EQ(s.configurations.size(), 3u);
  for (const auto& c : s.configurations)
    EXPECT_FALSE(c.config.pretrained.effective_mode() == "none" &&
                 c.config.train.finetune != "full");
}

TEST(SweepExcludeErrors, UnknownKeysUnsetKeysBadValuesAndEmptyResultsAreNamed) {
  auto e = error_of(std::string(kTwelve) + "  exclude:\n    - {train.rl: 0.1}\n");
  EXPECT_NE(e.find("bad.yaml:11:8: sweep.exclude[0].train.rl: unknown key (did you mean "
                   "'train.lr'?)"),
            std::string::npos)
      << e;
  e = error_of(std::string(kTwelve) + "  exclude:\n    - {train.loss: focal}\n");
  EXPECT_NE(e.find("bad.yaml:11:8: sweep.exclude[0].train.loss: neither the base config nor a "
                   "sweep axis sets this key"),
            std::string::npos)
      << e;
  e = error_of(std::string(kTwelve) + "  exclude:\n    - {train.lr: {only: 0.1}}\n");
  EXPECT_NE(e.find("bad.yaml:11:18: sweep.exclude[0].train.lr: expected a value, a list of "
                   "values or {not: value or list}"),
            std::string::npos)
      << e;
  e = error_of(std::string(kTwelve) + "  exclude:\n    - {variant: big}\n");
  EXPECT_NE(e.find("sweep.exclude[0].variant: unknown key"), std::string::npos) << e;
  e = error_of(std::string(kTwelve) + "  exclude:\n    - {train.batch_size: {not: 0}}\n");
  EXPECT_NE(e.find("bad.yaml:7:3: sweep: the exclude rules drop every configuration"),
            std::string::npos)
      << e;
}

// --- include ------------------------------------------------------------------------------

TEST(SweepInclude, IncludesAddConfigurationsAfterTheProductAndAreDeduplicated) {
  auto s = load(R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4]
  exclude:
    - {train.lr: 1.0e-4}
  include:
    - {model.width: 32, train.lr: 1.0e-5}
    - {train.lr: 0.001}
    - {train.lr: 1.0e-4}
)");
  // 2 − 1 excluded + 1 new + 0 (the same as the first) + 1 (includes ignore exclude rules).
  ASSERT_EQ(s.configurations.size(), 3u);
  EXPECT_EQ(s.axes, (Strings{"train.lr", "model.width"})); // new keys at the end, file order
  using Axes = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s.configurations[0].axes, (Axes{{"train.lr", "1.0e-3"}, {"model.width", "default"}}));
  EXPECT_EQ(s.configurations[1].axes, (Axes{{"train.lr", "1.0e-5"}, {"model.width", "32"}}));
  EXPECT_EQ(s.configurations[2].axes, (Axes{{"train.lr", "1.0e-4"}, {"model.width", "default"}}));
  EXPECT_EQ(s.configurations[1].config.model.width, 32);
  EXPECT_DOUBLE_EQ(s.configurations[1].config.train.lr, 1e-5);
  EXPECT_EQ(s.tasks.size(), 3u * 4u);
}

TEST(SweepInclude, IncludeAloneAddsToTheBaseConfigAndShowsVariantAsDash) {
  auto s = load(R"(sweep:
  variants:
    small: {model.width: 8}
  include:
    - {model.width: 64}
)");
  ASSERT_EQ(s.configurations.size(), 2u);
  EXPECT_EQ(s.axes, (Strings{"variant", "model.width"}));
  EXPECT_EQ(column(s, "variant"), (Strings{"small", "-"}));
  EXPECT_EQ(column(s, "model.width"), (Strings{"8", "64"}));
}

TEST(SweepIncludeErrors, AnUnknownIncludeKeyIsNamed) {
  const auto e = error_of("sweep:\n  include:\n    - {trian.lr: 0.1}\n");
  EXPECT_NE(e.find("bad.yaml:8:18: sweep.include[0].trian.lr: unknown key (did you mean "
                   "'train.lr'?)"),
            std::string::npos)
      << e;
}

// --- random -------------------------------------------------------------------------------

const char* kRandom = R"(sweep:
  grid:
    train.lr: {loguniform: [1.0e-5, 1.0e-1]}
    model.dropout: {uniform: [0.1, 0.5]}
    train.batch_size: {int_uniform: [8, 12]}
    model.arch: [fnet, resnet18]
  random: {n: 20, seed: SEED}
)";

vfp::sweep::Sweep load_random(const std::string& seed) {
  std::string text = kRandom;
  text.replace(text.find("SEED"), 4, seed);
  return load(text);
}

TEST(SweepRandom, SamplesNDistinctConfigurationsInsideTheirRanges) {
  auto s = load_random("7");
  ASSERT_EQ(s.configurations.size(), 20u);
  const auto all = ids(s);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 20u);
  std::set<int> batch_sizes;
  for (const auto& c : s.configurations) {
    EXPECT_GE(c.config.train.lr, 1e-5);
    EXPECT_LE(c.config.train.lr, 1e-1);
    EXPECT_GE(c.config.model.dropout, 0.1);
    EXPECT_LE(c.config.model.dropout, 0.5);
    EXPECT_GE(c.config.train.batch_size, 8);
    EXPECT_LE(c.config.train.batch_size, 12);
    batch_sizes.insert(c.config.train.batch_size);
    EXPECT_TRUE(c.config.model.arch == "fnet" || c.config.model.arch == "resnet18");
  }
  EXPECT_GE(batch_sizes.size(), 4u) << "int_uniform covers both ends of [8, 12]";
  EXPECT_EQ(s.axes, (Strings{"train.lr", "model.dropout", "train.batch_size", "model.arch"}));
  // Drawn values are written with 6 significant digits, so they read back as written.
  for (const auto& v : column(s, "model.dropout"))
    EXPECT_LE(v.size(), 8u) << v;
}

TEST(SweepRandom, TheSameSeedGivesTheSameSampleAndAnotherSeedAnother) {
  EXPECT_EQ(ids(load_random("7")), ids(load_random("7")));
  const auto a = ids(load_random("7")), b = ids(load_random("8"));
  EXPECT_NE(a, b);
  std::set<std::string> shared(a.begin(), a.end());
  size_t common = 0;
  for (const auto& id : b)
    common += shared.count(id);
  EXPECT_LT(common, 3u);
}

TEST(SweepRandom, DrawsArePortableAcrossStandardLibraries) {
  // mt19937_64 and the 53-bit conversion are fully specified: these values hold everywhere.
  auto s = load("sweep:\n  grid:\n    model.dropout: {uniform: [0, 0.9]}\n"
                "  random: {n: 3, seed: 1}\n");
  EXPECT_EQ(column(s, "model.dropout"), (Strings{"0.479219", "0.803429", "0.801446"}));
}

TEST(SweepRandom, LoguniformSpreadsOverDecades) {
  auto s = load("sweep:\n  grid:\n    train.lr: {loguniform: [1.0e-6, 1.0e-2]}\n"
                "  random: {n: 200, seed: 3}\n");
  int per_decade[4] = {0, 0, 0, 0};
  for (const auto& c : s.configurations)
    ++per_decade[std::min(3, static_cast<int>(std::floor(std::log10(c.config.train.lr) + 6)))];
  for (int d = 0; d < 4; ++d)
    EXPECT_GE(per_decade[d], 30) << "decade 1e-" << 6 - d << " (uniform would put ~0.1% there)";
}

TEST(SweepRandom, ZipGroupsAndVariantsAreDrawnAsOneChoiceAndExcludeRulesApply) {
  auto s = load(R"(sweep:
  grid:
    train.batch_size: [8, 16, 32, 64]
  zip:
    - model.arch: [fnet, resnet18]
      model.width: [8, 64]
  variants:
    a: {train.weight_decay: 0.001}
    b: {train.weight_decay: 0.01}
  exclude:
    - {train.batch_size: 64}
  random: {n: 10, seed: 11}
)");
  ASSERT_EQ(s.configurations.size(), 10u);
  for (const auto& c : s.configurations) {
    EXPECT_EQ(c.config.model.width, c.config.model.arch == "fnet" ? 8 : 64);
    EXPECT_NE(c.config.train.batch_size, 64);
    EXPECT_DOUBLE_EQ(c.config.train.weight_decay, c.axes.back().second == "a" ? 0.001 : 0.01);
  }
}

TEST(SweepRandomErrors, TooSmallASpaceAndContinuousRangesWithoutRandomAreNamed) {
  auto e = error_of(std::string(kTwelve) + "  random: {n: 13, seed: 1}\n");
  EXPECT_NE(e.find("bad.yaml:10:11: sweep.random: n is 13 but the sweep has only 12 "
                   "configurations"),
            std::string::npos)
      << e;
  // Three points, two distinct configurations: found out only by drawing.
  e = error_of("sweep:\n  grid:\n    train.lr: [1.0e-3, 0.001, 1.0e-4]\n"
               "  random: {n: 3, seed: 1}\n");
  EXPECT_NE(e.find("bad.yaml:9:11: sweep.random: 300 draws found only 2 distinct "
                   "configurations"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  grid:\n    train.lr: {uniform: [1.0e-4, 1.0e-3]}\n");
  EXPECT_NE(e.find("bad.yaml:8:15: sweep.grid.train.lr: a continuous range needs sweep.random"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  zip:\n    - {train.lr: {uniform: [1.0e-4, 1.0e-3]}}\n");
  EXPECT_NE(e.find("sweep.zip[0].train.lr: uniform is for grid keys only"), std::string::npos) << e;
  e = error_of("sweep:\n  grid:\n    train.lr: [0.1]\n  random: {n: 1, sed: 4}\n");
  EXPECT_NE(e.find("bad.yaml:9:18: sweep.random.sed: unknown key (did you mean 'seed'?)"),
            std::string::npos)
      << e;
}

// --- the sweep section --------------------------------------------------------------------

TEST(SweepSectionErrors, AnUnknownSweepKeyIsNamedWithASuggestion) {
  auto e = error_of("sweep:\n  gird:\n    train.lr: [0.1]\n");
  EXPECT_NE(e.find("bad.yaml:7:3: sweep.gird: unknown key (did you mean 'grid'?)"),
            std::string::npos)
      << e;
  e = error_of("sweep:\n  grid:\n    train.lr: [0.1]\n  exlcude: []\n");
  EXPECT_NE(e.find("bad.yaml:9:3: sweep.exlcude: unknown key (did you mean 'exclude'?)"),
            std::string::npos)
      << e;
}

TEST(FinetuneKeys, FinetuningWithoutPretrainedWeightsIsRefusedSuggestingAnExcludeRule) {
  const auto e = error_of("  finetune: linear_probe\n");
  EXPECT_NE(e.find("bad.yaml:6:13: train.finetune: 'linear_probe' needs pretrained weights, but "
                   "pretrained.mode resolves to none"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("{pretrained.mode: none, train.finetune: [linear_probe, layerwise, bn_only]}"),
            std::string::npos)
      << e;
  // A sweep that crosses the two without the rule stops at the first such point.
  const auto crossed = error_of(
      "sweep:\n  grid:\n    pretrained.mode: [none, ssl]\n    train.finetune: [full, bn_only]\n");
  EXPECT_NE(crossed.find("bad.yaml:9:28: train.finetune: 'bn_only' needs pretrained weights"),
            std::string::npos)
      << crossed;
  EXPECT_EQ(load("  finetune: full\n").configurations.size(), 1u);
}
