#include "sweep/sweep.h"
#include "yaml_files.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

namespace fs = std::filesystem;

namespace {

const char* const kBase = vfp::testing::kMinimalSweep;

using vfp::testing::write_yaml;

std::string error_of(const std::string& yaml) {
  return vfp::testing::sweep_error(yaml);
}

} // namespace

TEST(SweepExpansion, GridIsCartesianProductInFileOrder) {
  auto sweep = vfp::sweep::load(write_yaml("grid.yaml", std::string(kBase) + R"(sweep:
  grid:
    train.lr: [1.0e-3, 1.0e-4]
    train.batch_size: [8, 16, 32]
)"));
  ASSERT_EQ(sweep.configurations.size(), 6u);
  EXPECT_EQ(sweep.tasks.size(), 6u * 4u); // default 4 folds
  EXPECT_EQ(sweep.axes, (std::vector<std::string>{"train.lr", "train.batch_size"}));
  EXPECT_DOUBLE_EQ(sweep.configurations[0].config.train.lr, 1e-3);
  EXPECT_EQ(sweep.configurations[0].config.train.batch_size, 8);
  EXPECT_EQ(sweep.configurations[2].config.train.batch_size, 32);
  EXPECT_DOUBLE_EQ(sweep.configurations[3].config.train.lr, 1e-4);
  EXPECT_EQ(sweep.configurations[4].axes[1].second, "16");
}

TEST(SweepExpansion, IdsAreStableAndIndependentOfKeyOrder) {
  auto a = vfp::sweep::load(write_yaml("a.yaml", R"(name: t
cohort: {dir: c}
train: {lr: 0.01, batch_size: 8}
)"));
  auto b = vfp::sweep::load(write_yaml("b.yaml", R"(train: {batch_size: 8, lr: 0.01}
cohort: {dir: c}
name: other-name
)"));
  EXPECT_EQ(a.configurations[0].id, b.configurations[0].id);
  EXPECT_EQ(a.tasks[2].id, b.tasks[2].id);
  EXPECT_EQ(a.tasks[2].seed, vfp::sweep::seed_from_id(a.tasks[2].id));
  EXPECT_NE(a.tasks[1].id, a.tasks[2].id);
}

TEST(SweepExpansion, IdenticalConfigurationsAreDeduplicated) {
  auto sweep = vfp::sweep::load(write_yaml("dup.yaml", std::string(kBase) + R"(sweep:
  grid:
    train.lr: [0.001, 1.0e-3, 0.002]
)"));
  EXPECT_EQ(sweep.configurations.size(), 2u);
}

TEST(SweepExpansion, RelativeCohortPathsResolveAgainstTheYamlFolder) {
  auto path = write_yaml("rel.yaml", kBase);
  auto sweep = vfp::sweep::load(path);
  EXPECT_EQ(sweep.configurations[0].config.cohort.csv,
            path.parent_path() / "cohort" / "cohort.csv");
  EXPECT_EQ(vfp::config::subject_path(sweep.configurations[0].config.cohort.images, "S7"),
            path.parent_path() / "cohort" / "images" / "S7.nii.gz");
}

TEST(SweepExpansion, IdsDoNotDependOnTheWorkingFolderThePathsSpellingOrTheProjectsPlace) {
  auto path = write_yaml("where.yaml", kBase);
  const auto absolute_ids = vfp::sweep::load(path).configurations[0].id;
  const auto cwd = fs::current_path();
  fs::current_path(path.parent_path());
  const auto here = vfp::sweep::load("where.yaml");
  const auto dotted =
      vfp::sweep::load("./../" + path.parent_path().filename().string() + "/where.yaml");
  fs::current_path(cwd);
  EXPECT_EQ(here.configurations[0].id, absolute_ids);
  EXPECT_EQ(dotted.configurations[0].id, absolute_ids);
  EXPECT_TRUE(here.configurations[0].config.cohort.csv.is_absolute());
  // A copy of the project elsewhere (sweep and cohort moved together) keeps its ids.
  const auto moved = path.parent_path() / "elsewhere" / "where.yaml";
  fs::create_directories(moved.parent_path());
  fs::copy_file(path, moved, fs::copy_options::overwrite_existing);
  EXPECT_EQ(vfp::sweep::load(moved).configurations[0].id, absolute_ids);
  EXPECT_EQ(here.configurations[0].config.cohort.csv, path.parent_path() / "cohort" / "cohort.csv");
}

TEST(SweepErrors, UnknownKeyNamesFileLineAndSuggestion) {
  auto msg = error_of("name: t\ncohort:\n  dir: c\ntrain:\n  lr: 0.1\n  batchsize: 4\n");
  EXPECT_NE(msg.find("bad.yaml:6:14: train.batchsize: unknown key (did you mean "
                     "'train.batch_size'?)"),
            std::string::npos)
      << msg;
}

// yaml-cpp keeps both of two equal keys and answers lookups with one of them: which lr ran?
TEST(SweepErrors, DuplicateKeyNamesBothLines) {
  EXPECT_EQ(error_of("name: t\ncohort:\n  dir: c\ntrain:\n  lr: 0.1\n  lr: 0.2\n"),
            vfp::testing::write_yaml("bad.yaml", "").string() +
                ":6:3: duplicate key 'lr' (first at line 5)");
  EXPECT_NE(error_of(std::string(kBase) + "sweep:\n  grid:\n    train.lr: [1]\n    train.lr: [2]\n")
                .find(":9:5: duplicate key 'train.lr' (first at line 8)"),
            std::string::npos);
  EXPECT_NE(error_of("name: t\n[a, b]: 1\n").find(":2:1: a key must be a plain name"),
            std::string::npos);
}

// Found by fuzz_sweep: a Latin-1 byte stopped the resolved config's JSON (the task ids) with
// nlohmann's "invalid UTF-8 byte", naming neither file nor key.
TEST(SweepErrors, InvalidUtf8NamesFileAndLine) {
  EXPECT_NE(error_of("name: t\ncohort:\n  dir: caf\xE9\n").find("bad.yaml:3:8: not valid UTF-8"),
            std::string::npos);
}

TEST(SweepErrors, WrongTypeAndRangeAreReportedTogether) {
  auto msg = error_of("name: t\ncohort: {dir: c}\ntrain:\n  lr: fast\n  batch_size: 0\n");
  EXPECT_NE(msg.find("2 problems"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad.yaml:4:7: train.lr: expected a number, got 'fast'"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("bad.yaml:5:15: train.batch_size: value 0 is out of range [1, 4096]"),
            std::string::npos)
      << msg;
}

TEST(SweepErrors, UnknownGridKeyNamesItsLine) {
  auto msg = error_of(std::string(kBase) + "sweep:\n  grid:\n    train.rl: [1, 2]\n");
  EXPECT_NE(msg.find("bad.yaml:8:5: sweep.grid.train.rl: unknown key (did you mean 'train.lr'?)"),
            std::string::npos)
      << msg;
}

TEST(SweepErrors, BadGridValueNamesTheValueLine) {
  auto msg =
      error_of(std::string(kBase) + "sweep:\n  grid:\n    train.optimizer: [adamw, adamx]\n");
  EXPECT_NE(msg.find("bad.yaml:8:30: train.optimizer: 'adamx' is not one of: adamw, adam, sgd"),
            std::string::npos)
      << msg;
}

TEST(SweepErrors, EmptyGridAxisIsAnError) {
  auto msg = error_of(std::string(kBase) + "sweep:\n  grid:\n    train.lr: []\n");
  EXPECT_NE(msg.find("sweep.grid.train.lr: expected a non-empty list"), std::string::npos) << msg;
}

TEST(SweepErrors, YamlSyntaxErrorNamesLine) {
  auto msg = error_of("name: t\ntrain: {lr: [1, 2}\n");
  EXPECT_NE(msg.find("bad.yaml:2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

TEST(SweepErrors, MissingFileIsNamed) {
  try {
    vfp::sweep::load("/no/such/sweep.yaml");
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "config file not found: /no/such/sweep.yaml");
  }
}

TEST(SweepErrors, MissingNameAndCohortAreRequired) {
  auto msg = error_of("train: {lr: 0.1}\n");
  EXPECT_NE(msg.find("name: missing required key"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cohort: missing required key 'cohort.dir'"), std::string::npos) << msg;
}

TEST(SweepErrors, SweepNameCannotEscapeTheResultsFolder) {
  auto msg = error_of("name: ../evil\ncohort: {dir: c}\n");
  EXPECT_NE(msg.find("bad.yaml:1:7: name: a sweep name is 1-64 letters"), std::string::npos) << msg;
}

TEST(SweepErrors, AnAliasInsideItsOwnAnchorIsACycleNamingFileLineAndKey) {
  // 20 bytes that used to recurse until the stack overflowed (SIGSEGV).
  EXPECT_EQ(error_of("train: &x {foo: *x}\n"),
            write_yaml("bad.yaml", "").string() +
                ":1:12: train.foo: an alias refers to a node that holds it (an alias cycle)");
  EXPECT_NE(error_of("name: t\ncohort: {dir: c}\nlist: &l [1, *l]\n")
                .find("bad.yaml:3:7: list[1]: an alias refers to a node that holds it"),
            std::string::npos);
}

TEST(SweepErrors, AliasesOfAliasesStopAtTheValueBudgetNamingTheFile) {
  // "Billion laughs": ten levels of ten aliases each, 10^10 values once expanded.
  std::string yaml = "name: t\ncohort: {dir: c}\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 10; ++level) {
    const auto previous = "*l" + std::to_string(level - 1);
    yaml += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i)
      yaml += (i ? ", " : "") + previous;
    yaml += "]\n";
  }
  const auto msg = error_of(yaml);
  EXPECT_EQ(msg.rfind(write_yaml("bad.yaml", "").string() +
                          ": more than 100000 values with every alias expanded",
                      0),
            0u)
      << msg;
}

TEST(SweepErrors, NestingDeeperThan64LevelsIsRefusedNamingTheKey) {
  std::string yaml = "name: t\ncohort: {dir: c}\ndeep: ";
  for (int i = 0; i < 70; ++i)
    yaml += "{a: ";
  yaml += "1" + std::string(70, '}') + "\n";
  const auto msg = error_of(yaml);
  EXPECT_NE(msg.find("bad.yaml:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find(": nested deeper than 64 levels"), std::string::npos) << msg;
}

TEST(SweepErrors, AnAliasUsedTwiceWithoutACycleIsAccepted) {
  EXPECT_EQ(error_of(std::string(kBase) + "sweep:\n  grid:\n    train.lr: &v [0.1, 0.2]\n" +
                     "    train.momentum: *v\n"),
            "no error");
}

TEST(SweepErrors, AHugeValueIsShortenedInTheMessage) {
  const auto msg =
      error_of("name: t\ncohort: {dir: c}\ntrain:\n  lr: " + std::string(1 << 20, 'A') + "\n");
  EXPECT_NE(msg.find("bad.yaml:4:7: train.lr: expected a number, got '" + std::string(60, 'A') +
                     "\u2026 (1048576 bytes)'"),
            std::string::npos)
      << msg.substr(0, 500);
  EXPECT_LT(msg.size(), 1000u);
}

TEST(SweepErrors, AHugeUnknownKeyIsShortenedAndQuicklyRefused) {
  // An explicit key ("? key"), as a plain one is limited to 1024 characters. Keys are cut at
  // 200 characters (dotted keys run longer than values).
  const auto msg =
      error_of("name: t\ncohort: {dir: c}\ntrain:\n  ? " + std::string(1 << 20, 'k') + "\n  : 1\n");
  EXPECT_NE(msg.find(": train." + std::string(194, 'k') + "\u2026 (1048582 bytes): unknown key"),
            std::string::npos)
      << msg.substr(0, 500);
  EXPECT_LT(msg.size(), 1000u);
}

TEST(SweepErrors, AFolderOrAFifoGivenAsTheSweepIsNamed) {
  const auto dir = write_yaml("folder.yaml", "").parent_path() / "a_folder.yaml";
  fs::create_directories(dir);
  try {
    vfp::sweep::load(dir);
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "config file " + dir.string() + " is a directory, not a regular file");
  }
  const auto fifo = dir.parent_path() / "fifo.yaml";
  fs::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    vfp::sweep::load(fifo); // used to block for ever in open()
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "config file " + fifo.string() + " is a FIFO, not a regular file");
  }
}

TEST(LoadYamlText, ChecksTheTreeAsLoadYamlFileDoes) {
  try {
    vfp::config::load_yaml_text("a: &x {b: *x}\n", "rank0.yaml");
    FAIL();
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "rank0.yaml:1:8: a.b: an alias refers to a node that holds it (an alias cycle)");
  }
}

TEST(DidYouMean, SuggestsOnlyCloseKeys) {
  EXPECT_EQ(vfp::config::did_you_mean("train.lr", {"train.lr", "model.arch"}),
            "did you mean 'train.lr'?");
  EXPECT_EQ(vfp::config::did_you_mean("completely.other", {"train.lr"}), "");
}

TEST(ModelKeys, ArchitectureHeadAndPretrainedWeightsAreConfigKeys) {
  std::ofstream(write_yaml("weights.safetensors", "").parent_path() / "weights.safetensors")
      << "placeholder: the config only checks that the file exists";
  auto sweep = vfp::sweep::load(write_yaml("pre.yaml", R"(name: t
cohort: {dir: c}
preprocess: {output: 3d}
model: {arch: resnet50, dims: 3, head_hidden: 256}
pretrained: {file: weights.safetensors, inflation: centre, prefix: online.backbone.}
train: {save_model: true}
)"));
  const auto& c = sweep.configurations.at(0).config;
  EXPECT_EQ(c.model.arch, "resnet50");
  EXPECT_EQ(c.model.head_hidden, 256);
  EXPECT_EQ(c.pretrained.file, write_yaml("weights.safetensors", "x"));
  EXPECT_EQ(c.pretrained.inflation, "centre");
  EXPECT_EQ(c.pretrained.prefix, "online.backbone.");
  EXPECT_TRUE(c.pretrained.strict);
  EXPECT_TRUE(c.train.save_model);
}

TEST(ModelKeys, MissingWeightsFileUnknownArchitectureAndDimsMismatchAreNamed) {
  const auto e = error_of(std::string(kBase) + R"(model: {arch: resnet51, dims: 3}
pretrained: {file: nowhere.safetensors, inflation: sideways}
)");
  EXPECT_NE(e.find("bad.yaml:6:15: model.arch: 'resnet51' is not one of: fnet, resnet18"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("bad.yaml:7:20: pretrained.file: no such file: "), std::string::npos) << e;
  EXPECT_NE(e.find("nowhere.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("pretrained.inflation: 'sideways' is not one of: mean, centre"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("model.dims: a 3D model needs 3d patches"), std::string::npos) << e;
  EXPECT_NE(error_of(std::string(kBase) + "pretrained: {prefix: backbone.}\n")
                .find("pretrained.prefix: needs pretrained.file"),
            std::string::npos);
}

TEST(ModelKeys, AFoundationEncoderAskedForIn2DIsRefusedNamingIt) {
  const auto e = error_of(std::string(kBase) + "model: {arch: ctclip_vit, dims: 2}\n");
  EXPECT_NE(e.find("bad.yaml:6:33: model.dims: ctclip_vit is a 3D encoder"), std::string::npos)
      << e;
  EXPECT_TRUE(vfp::config::is_3d_only("merlin_resnet152"));
  EXPECT_FALSE(vfp::config::is_3d_only("vista3d_segresnet")); // SegResNet builds in 2D too
}

TEST(TrainKeys, FinetuningScheduleLossAndPretrainingModeAreConfigKeysAndSweepable) {
  std::ofstream(write_yaml("byol.safetensors", "").parent_path() / "byol.safetensors") << "x";
  auto sweep = vfp::sweep::load(write_yaml("ft.yaml", std::string(kBase) + R"(  unfreeze_every: 3
  layer_lr_decay: 0.7
  schedule: cosine
  warmup_epochs: 2
  loss: focal
  focal_gamma: 1.5
  stop_on: loss
  aggregation: noisy_or
  optimizer: sgd
  nesterov: true
pretrained: {file: byol.safetensors}
sweep:
  zip:  # finetuning strategies other than full need pretrained weights
    - pretrained.mode: [none, ssl]
      train.finetune: [full, layerwise]
)"));
  ASSERT_EQ(sweep.configurations.size(), 2u);
  const auto& none = sweep.configurations[0].config;
  const auto& ssl = sweep.configurations[1].config;
  EXPECT_EQ(none.pretrained.effective_mode(), "none");
  EXPECT_EQ(ssl.pretrained.effective_mode(), "ssl");
  EXPECT_EQ(ssl.train.finetune, "layerwise");
  EXPECT_EQ(ssl.train.unfreeze_every, 3);
  EXPECT_DOUBLE_EQ(ssl.train.layer_lr_decay, 0.7);
  EXPECT_EQ(ssl.train.schedule, "cosine");
  EXPECT_EQ(ssl.train.warmup_epochs, 2);
  EXPECT_EQ(ssl.train.loss, "focal");
  EXPECT_DOUBLE_EQ(ssl.train.focal_gamma, 1.5);
  EXPECT_EQ(ssl.train.stop_on, "loss");
  EXPECT_EQ(ssl.train.aggregation, "noisy_or");
  EXPECT_TRUE(ssl.train.nesterov);
  // mode none drops the weights from the configuration's identity; ssl keeps them
  const auto none_json = vfp::config::to_json(none);
  EXPECT_FALSE(none_json.contains("pretrained"));
  EXPECT_EQ(vfp::config::to_json(ssl)["pretrained"]["mode"], "ssl");
  EXPECT_FALSE(none_json["train"].contains("finetune")); // full, the default
  EXPECT_EQ(vfp::config::to_json(ssl)["train"]["finetune"], "layerwise");
  EXPECT_NE(sweep.configurations[0].id, sweep.configurations[1].id);
}

TEST(TrainKeys, DefaultsLeaveTheConfigurationJsonAsBeforeSoOldResultsStayCurrent) {
  auto sweep = vfp::sweep::load(write_yaml("plain.yaml", kBase));
  const auto j = vfp::config::to_json(sweep.configurations.at(0).config);
  for (const char* key : {"finetune", "schedule", "loss", "stop_on", "momentum", "focal_alpha"})
    EXPECT_FALSE(j["train"].contains(key)) << key;
}

TEST(TrainKeys, BadValuesAndAModeWithoutWeightsAreNamed) {
  const auto e = error_of(std::string(kBase) + R"(  finetune: partial
  schedule: exponential
  optimizer: sgd
  momentum: 0
  nesterov: true
pretrained: {mode: imagenet}
)");
  EXPECT_NE(e.find("train.finetune: 'partial' is not one of: full, linear_probe, layerwise, "
                   "bn_only"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("train.schedule: 'exponential' is not one of: constant, step, cosine"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("train.nesterov: needs train.momentum > 0"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yaml:11:20: pretrained.mode: 'imagenet' needs pretrained.file"),
            std::string::npos)
      << e;
}

TEST(SslKeys, ModeSslWithoutAFileAsksForPretrainingWithTheSslSection) {
  auto sweep =
      vfp::sweep::load(write_yaml("byol.yaml", std::string(kBase) + R"(pretrained: {mode: ssl}
ssl:
  epochs: 7
  optimizer: lars
  lr: 0.4
  data: outer_train
  crop_min_scale: 0.3
sweep:
  grid:
    ssl.tau_base: [0.99, 0.996]
)"));
  ASSERT_EQ(sweep.configurations.size(), 2u);
  const auto& c = sweep.configurations[0].config;
  EXPECT_TRUE(c.runs_pretraining());
  EXPECT_EQ(c.ssl.epochs, 7);
  EXPECT_EQ(c.ssl.optimizer, "lars");
  EXPECT_DOUBLE_EQ(c.ssl.lr, 0.4);
  EXPECT_EQ(c.ssl.data, "outer_train");
  EXPECT_DOUBLE_EQ(c.ssl.crop_min_scale, 0.3);
  EXPECT_DOUBLE_EQ(c.ssl.tau_base, 0.99);
  EXPECT_DOUBLE_EQ(sweep.configurations[1].config.ssl.tau_base, 0.996);
  // The ssl section is part of the identity, and of what the pretrain task reads.
  EXPECT_NE(sweep.configurations[0].id, sweep.configurations[1].id);
  EXPECT_EQ(vfp::config::to_json(c)["ssl"]["epochs"], 7);
  const auto p = vfp::config::pretrain_json(c);
  EXPECT_EQ(p["ssl"]["optimizer"], "lars");
  EXPECT_EQ(p["model"]["arch"], "fnet");
  EXPECT_TRUE(p.contains("cv")) << "outer_train pretrains on each fold's training subjects";
  EXPECT_FALSE(p.contains("train")) << "finetuning settings do not change the pretraining";
}

TEST(SslKeys, TheSslSectionIsNotPartOfConfigurationsThatDoNotPretrain) {
  auto sweep =
      vfp::sweep::load(write_yaml("nossl.yaml", std::string(kBase) + "ssl: {epochs: 3}\n"));
  const auto& c = sweep.configurations.at(0).config;
  EXPECT_FALSE(c.runs_pretraining());
  EXPECT_FALSE(vfp::config::to_json(c).contains("ssl"));
  auto plain = vfp::sweep::load(write_yaml("plain2.yaml", kBase));
  EXPECT_EQ(sweep.configurations[0].id, plain.configurations[0].id);
}

TEST(SslKeys, BadValuesAreNamedWithTheirLine) {
  const auto e = error_of(std::string(kBase) + R"(pretrained: {mode: ssl}
ssl:
  optimizer: sgd
  batch_size: 1
  data: test
  tau: 0.9
)");
  EXPECT_NE(e.find("bad.yaml:8:14: ssl.optimizer: 'sgd' is not one of: adamw, lars"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("ssl.batch_size"), std::string::npos) << e;
  EXPECT_NE(e.find("ssl.data: 'test' is not one of: all, outer_train"), std::string::npos) << e;
  EXPECT_NE(e.find("ssl.tau: unknown key"), std::string::npos) << e;
}
