// Runtime settings (train.threads, train.loader_threads, train.device, train.save_model,
// preprocess.compression, preprocess.content_hash) change how a task runs, not its result:
// they stay out of configuration ids, a sweep cannot vary them, and results that vfp 0.1 filed
// under ids that hashed them are found again.
//
// The 16-hex-digit ids below are what vfp 0.1 (before this rule; build of 2 Dec 2026) printed
// with `vfp sweep FILE --json` for kMinimalSweep with the train: settings named beside them,
// the file in a folder of its own (cohort paths count relative to it, so the ids are the same
// on every machine). They are the independent reference: the ids of results on disk.
#include "config/config.h"
#include "sweep/sweep.h"
#include "yaml_files.h"

#include "core/core.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using vfp::testing::kMinimalSweep;
using vfp::testing::write_yaml;

/// kMinimalSweep with `train` (a YAML mapping's inside, e.g. "threads: 2") added to its train:.
vfp::sweep::Sweep minimal_with(const std::string& train, const std::string& rest = "") {
  std::string text = kMinimalSweep;
  text.replace(text.find("  lr: 0.001\n"), 12, "  lr: 0.001\n" + train);
  return vfp::sweep::load(write_yaml("runtime.yaml", text + rest));
}

/// A recorded configuration ("config" of a config.json) with these train: settings.
nlohmann::json train(const nlohmann::json& settings) {
  return nlohmann::json{{"train", settings}};
}

// vfp 0.1's ids of kMinimalSweep: with every runtime setting at its default, and with some not.
const std::string kDefaultsId = "09dcc0002013cd4a";
const std::string kThreads2Id = "fe0ec34b337e1471";
const std::string kThreads2FirstTask = "cfe93c5553ab363e";

} // namespace

TEST(RuntimeSettings, LeaveConfigurationIdsTaskIdsAndSeedsAsAtTheirDefaults) {
  const auto defaults = minimal_with("");
  ASSERT_EQ(defaults.configurations[0].id, kDefaultsId) << "0.1 ids at the defaults stay";
  for (const std::string train :
       {"  threads: 2\n", "  loader_threads: 3\n", "  save_model: true\n", "  device: cpu\n",
        "  deterministic: true\n",
        "  threads: 8\n  loader_threads: 0\n  save_model: true\n  device: cuda\n"}) {
    const auto changed = minimal_with(train);
    EXPECT_EQ(changed.configurations[0].id, kDefaultsId) << train;
    ASSERT_EQ(changed.tasks.size(), defaults.tasks.size());
    for (std::size_t t = 0; t < changed.tasks.size(); ++t) {
      EXPECT_EQ(changed.tasks[t].id, defaults.tasks[t].id) << train;
      EXPECT_EQ(changed.tasks[t].seed, defaults.tasks[t].seed) << train;
    }
  }
  auto text = std::string(kMinimalSweep) + "preprocess: {compression: 4, content_hash: true}\n";
  EXPECT_EQ(vfp::sweep::load(write_yaml("storage.yaml", text)).configurations[0].id, kDefaultsId);
}

TEST(RuntimeSettings, SettingsThatChangeResultsStillChangeTheId) {
  // amp changes the numbers (bfloat16 forward passes): not a runtime setting.
  EXPECT_NE(minimal_with("  amp: false\n").configurations[0].id, kDefaultsId);
  EXPECT_NE(minimal_with("  batch_size: 8\n").configurations[0].id, kDefaultsId);
  EXPECT_FALSE(vfp::config::is_runtime_key("train.amp"));
  EXPECT_EQ(vfp::config::runtime_keys(),
            (std::vector<std::string>{"preprocess.compression", "preprocess.content_hash",
                                      "train.device", "train.save_model", "train.loader_threads",
                                      "train.threads", "train.deterministic"}));
}

TEST(RuntimeSettings, ConfigJsonRecordsTheValuesUsedAndTheIdJsonTheDefaults) {
  const auto sweep = minimal_with("  threads: 2\n  save_model: true\n  device: cpu\n");
  const auto& c = sweep.configurations[0].config;
  const auto recorded = vfp::config::to_json(c);
  EXPECT_EQ(recorded["train"]["threads"], 2);
  EXPECT_EQ(recorded["train"]["save_model"], true);
  EXPECT_EQ(recorded["train"]["device"], "cpu");
  const auto identity = vfp::config::identity_json(c);
  EXPECT_EQ(identity["train"]["threads"], 0);
  EXPECT_EQ(identity["train"]["save_model"], false);
  EXPECT_FALSE(identity["train"].contains("device")) << "written only when not at its default";
  EXPECT_EQ(identity["train"]["lr"], recorded["train"]["lr"]);
}

TEST(RuntimeSettings, SweepingOneIsAnErrorNamingTheKeyAndItsLine) {
  const std::string base = kMinimalSweep;
  auto error = vfp::testing::sweep_error(base + "sweep:\n  grid:\n    train.threads: [1, 2]\n");
  EXPECT_NE(error.find("bad.yaml:8:5: sweep.grid.train.threads: train.threads is a runtime "
                       "setting"),
            std::string::npos)
      << error;
  error = vfp::testing::sweep_error(
      base + "sweep:\n  zip:\n    - {train.lr: [0.1, 0.2], train.save_model: [true, false]}\n");
  EXPECT_NE(error.find("sweep.zip[0].train.save_model: train.save_model is a runtime setting"),
            std::string::npos)
      << error;
  error = vfp::testing::sweep_error(base + "sweep:\n  variants:\n    gpu: {train.device: cuda}\n");
  EXPECT_NE(error.find(":8:25: sweep.variants.gpu.train.device: train.device is a runtime"),
            std::string::npos)
      << error;
  error = vfp::testing::sweep_error(
      base + "sweep:\n  include:\n    - {train.lr: 0.5, train.loader_threads: 2}\n");
  EXPECT_NE(error.find("sweep.include[0].train.loader_threads: train.loader_threads is a runtime"),
            std::string::npos)
      << error;
  // In the base config and in smoke: a runtime setting is fine.
  EXPECT_EQ(vfp::testing::sweep_error(base + "sweep:\n  grid:\n    train.lr: [0.1, 0.2]\n"
                                             "smoke:\n  train.threads: 1\n",
                                      true),
            "no error");
}

TEST(LegacyIds, AreTheIdsVfp01GaveUnderTheRecordedRuntimeSettings) {
  const auto sweep = minimal_with("  threads: 4\n");
  const auto& c = sweep.configurations[0];
  using vfp::sweep::legacy_configuration_id;
  const nlohmann::json train_default = {{"train", {{"threads", 0}}}};
  EXPECT_EQ(legacy_configuration_id(sweep, c, train_default), kDefaultsId);
  EXPECT_EQ(legacy_configuration_id(sweep, c, {{"train", {{"threads", 2}}}}), kThreads2Id);
  EXPECT_EQ(legacy_configuration_id(sweep, c, {{"train", {{"save_model", true}}}}),
            "695071665c201d82");
  EXPECT_EQ(legacy_configuration_id(sweep, c, {{"train", {{"loader_threads", 3}}}}),
            "2c43124509dee889");
  EXPECT_EQ(legacy_configuration_id(sweep, c, {{"train", {{"device", "cpu"}}}}),
            "abbf44ae49e27ac1");
  EXPECT_EQ(
      legacy_configuration_id(
          sweep, c,
          {{"train",
            {{"threads", 2}, {"loader_threads", 4}, {"save_model", true}, {"device", "cuda"}}}}),
      "cd589d9f5caf6bd5");
  EXPECT_EQ(legacy_configuration_id(sweep, c,
                                    {{"preprocess", {{"compression", 4}, {"content_hash", true}}}}),
            "d47d086d279f7f7f");
  // A config.json records every key; only its runtime settings count, the rest is `c`'s.
  auto recorded = vfp::config::to_json(
      minimal_with("  threads: 2\n  batch_size: 4\n").configurations[0].config);
  EXPECT_EQ(legacy_configuration_id(sweep, c, recorded), kThreads2Id);
  try {
    legacy_configuration_id(sweep, c, {{"train", {{"threads", "two"}}}});
    ADD_FAILURE() << "a mistyped recorded setting reads";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.threads = \"two\""), std::string::npos) << e.what();
  }
}

TEST(StoredIds, AConfigurationFindsItsResultsUnderTheIdTheyWereFiledUnder) {
  auto sweep = minimal_with("  threads: 4\n  save_model: true\n");
  using vfp::sweep::StoredConfiguration;
  const StoredConfiguration threads2{kThreads2Id, {train({{"threads", 2}})}, 3};
  const StoredConfiguration saved{"695071665c201d82", {train({{"save_model", true}})}, 4};
  const StoredConfiguration other{"0123456789abcdef", {train({{"threads", 2}})}, 4};
  // The one with most finished tasks wins; a stored configuration of another id is no match.
  EXPECT_EQ(vfp::sweep::stored_configuration_ids(sweep, {threads2, other, saved}),
            (std::map<int, std::string>{{0, "695071665c201d82"}}));
  EXPECT_EQ(vfp::sweep::stored_configuration_ids(sweep, {threads2, other}),
            (std::map<int, std::string>{{0, kThreads2Id}}));
  // Results under its own id, or unfinished ones under the old: it keeps its own.
  const StoredConfiguration own{kDefaultsId, {train({{"threads", 1}})}, 1};
  EXPECT_TRUE(vfp::sweep::stored_configuration_ids(sweep, {threads2, own}).empty());
  auto unfinished = threads2;
  unfinished.finished = 0;
  EXPECT_TRUE(vfp::sweep::stored_configuration_ids(sweep, {unfinished}).empty());
  // Tasks resumed under the 0.1 id recorded other settings; one 0.1 task's record suffices.
  const StoredConfiguration resumed{
      kThreads2Id, {train({{"threads", 1}, {"save_model", true}}), train({{"threads", 2}})}, 4};
  EXPECT_EQ(vfp::sweep::stored_configuration_ids(sweep, {resumed}),
            (std::map<int, std::string>{{0, kThreads2Id}}));

  vfp::sweep::use_configuration_ids(sweep, {{0, kThreads2Id}});
  EXPECT_EQ(sweep.configurations[0].id, kThreads2Id);
  EXPECT_EQ(sweep.tasks[0].id, kThreads2FirstTask) << "0.1's first task id of that configuration";
  EXPECT_EQ(sweep.tasks[0].seed, vfp::sweep::seed_from_id(kThreads2FirstTask));
  EXPECT_THROW(vfp::sweep::use_configuration_ids(sweep, {{1, kThreads2Id}}), vfp::Error);
}

TEST(StoredIds, RenamingAConfigurationRenamesItsSelectionGroupAndInnerTasks) {
  auto sweep = minimal_with("", "sweep:\n  grid:\n    train.lr: [0.1, 0.2]\nselection:\n  over: "
                                "[train.lr]\n  inner_folds: 2\n");
  ASSERT_EQ(sweep.groups.size(), 1u);
  const auto group = sweep.groups[0].id;
  const auto inner = sweep.inner_tasks;
  vfp::sweep::use_configuration_ids(sweep, {{1, "00000000000000aa"}});
  EXPECT_NE(sweep.groups[0].id, group);
  EXPECT_EQ(sweep.groups[0].members, (std::vector<int>{0, 1}));
  ASSERT_EQ(sweep.inner_tasks.size(), inner.size());
  for (std::size_t t = 0; t < inner.size(); ++t)
    EXPECT_EQ(sweep.inner_tasks[t].id == inner[t].id, sweep.inner_tasks[t].configuration == 0);
}
