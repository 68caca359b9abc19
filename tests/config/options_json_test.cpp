// The key table drives parse, JSON and the bundle's read-back of preprocessing: these tests
// pin that every key makes the trip, and which keys the configuration id sees.
#include "config/config.h"
#include "config/yaml.h"
#include "core/core.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace cfg = vfp::config;

namespace {

/// Every preprocess key set away from its default (a 3D model takes the 3d output).
constexpr const char* kEveryPreprocessKey = R"(name: t
cohort:
  dir: cohort
model:
  dims: 3
preprocess:
  spacing_mm: 0.8
  patch_mm: 40
  hu_min: -200
  hu_max: 1200
  projection: mip
  axis: coronal
  slab_mm: 20
  slab_start: 3
  patch_voxels: 32
  channels: [sagittal, axial]
  output: 3d
  vertebrae: [T12, L1, L3]
  compression: 4
  content_hash: true
  dtype: float16
)";

cfg::ExperimentConfig parse(const std::string& text) {
  const auto flat = cfg::flatten(cfg::load_yaml_text(text, "t.yaml"), "t.yaml");
  return cfg::parse_experiment(flat, "/tmp");
}

std::set<std::string> schema_keys_under(const std::string& section) {
  std::set<std::string> out;
  for (const auto& key : cfg::known_keys())
    if (key.rfind(section + ".", 0) == 0)
      out.insert(key.substr(section.size() + 1));
  return out;
}

std::set<std::string> keys_of(const nlohmann::json& j) {
  std::set<std::string> out;
  for (const auto& item : j.items())
    out.insert(item.key());
  return out;
}

} // namespace

TEST(PreprocessJson, EveryPreprocessKeyIsWrittenAndReadBackAsTheBundleReadsIt) {
  const auto flat = cfg::flatten(cfg::load_yaml_text(kEveryPreprocessKey, "t.yaml"), "t.yaml");
  std::set<std::string> in_test;
  for (const auto& [key, at] : flat)
    if (key.rfind("preprocess.", 0) == 0)
      in_test.insert(key.substr(11));
  // A new preprocess key must be added above, so that the trip below covers it.
  ASSERT_EQ(in_test, schema_keys_under("preprocess"));

  const auto c = cfg::parse_experiment(flat, "/tmp");
  const auto written = cfg::preprocess_json(c).at("preprocess");
  EXPECT_EQ(keys_of(written), schema_keys_under("preprocess"));
  const auto defaults = cfg::preprocess_json(cfg::ExperimentConfig{}).at("preprocess");
  for (const auto& key : schema_keys_under("preprocess")) // keys added later: absent at default
    EXPECT_TRUE(!defaults.contains(key) || written.at(key) != defaults.at(key))
        << key << " is at its default: the trip proves nothing";
  EXPECT_FALSE(defaults.contains("dtype")) << "float32 caches keep the keys they had";

  cfg::ExperimentConfig back;
  back.preprocess = cfg::preprocess_from_json(written);
  EXPECT_EQ(cfg::preprocess_json(back).at("preprocess"), written);
  EXPECT_EQ(back.preprocess.cube_voxels(), 32);
  EXPECT_EQ(back.preprocess.vertebrae, (std::vector<std::string>{"T12", "L1", "L3"}));
}

TEST(PreprocessJson, AMissingOrMistypedKeyIsAnInputErrorNamingIt) {
  auto j = cfg::preprocess_json(cfg::ExperimentConfig{}).at("preprocess");
  j.erase("slab_mm");
  try {
    cfg::preprocess_from_json(j);
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_STREQ(e.what(), "the preprocessing settings lack 'slab_mm' (preprocess.slab_mm)");
  }
  j = cfg::preprocess_json(cfg::ExperimentConfig{}).at("preprocess");
  j["axis"] = 3;
  try {
    cfg::preprocess_from_json(j);
    FAIL() << "no error";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("preprocess.axis = 3"), std::string::npos) << e.what();
  }
}

TEST(ConfigJson, KeysAddedAfter01EnterTheIdOnlyWhenSet) {
  const auto plain = cfg::to_json(parse("name: t\ncohort:\n  dir: cohort\n"));
  EXPECT_FALSE(plain.at("train").contains("loss"));
  EXPECT_FALSE(plain.at("train").contains("amp"));
  EXPECT_TRUE(plain.at("train").contains("lr"));
  EXPECT_FALSE(plain.contains("pretrained")) << "mode none: no weights, no section";
  EXPECT_FALSE(plain.contains("ssl")) << "no pretraining";
  EXPECT_FALSE(plain.contains("cox")) << "the cox task's id carries it";
  EXPECT_FALSE(plain.at("cohort").contains("dir")) << "the paths it implies are there";
  const auto focal =
      cfg::to_json(parse("name: t\ncohort:\n  dir: cohort\ntrain:\n  loss: focal\n"));
  EXPECT_EQ(focal.at("train").at("loss"), "focal");
  const auto ssl = cfg::to_json(
      parse("name: t\ncohort:\n  dir: cohort\npretrained:\n  mode: ssl\nssl:\n  epochs: 5\n"));
  EXPECT_EQ(ssl.at("pretrained").at("mode"), "ssl");
  EXPECT_EQ(ssl.at("ssl").at("epochs"), 5);
  // Every ssl key but the external pretraining cohort's (ssl.cohort.*, ssl.vertebrae: added
  // later, written only when set; ssl.cohort.dir never, the paths it implies are).
  auto always = schema_keys_under("ssl");
  for (auto it = always.begin(); it != always.end();)
    it = it->rfind("cohort.", 0) == 0 || *it == "vertebrae" ? always.erase(it) : std::next(it);
  EXPECT_EQ(keys_of(ssl.at("ssl")), always);
  const auto external = cfg::to_json(parse("name: t\ncohort:\n  dir: cohort\npretrained:\n  mode: "
                                           "ssl\nssl:\n  cohort: {dir: ext}\n  vertebrae: [L1]\n"));
  EXPECT_EQ(external.at("ssl").at("data"), "external");
  EXPECT_TRUE(external.at("ssl").contains("cohort.images"));
  EXPECT_FALSE(external.at("ssl").contains("cohort.dir"));
  EXPECT_EQ(external.at("ssl").at("vertebrae"), nlohmann::json::array({"L1"}));
}

TEST(Sections, DefaultsAreTheDocumentedOnes_SslEpochsIs20) {
  // docs/configuration.md documents ssl.epochs: 20; lib/ssl takes this struct, so no
  // second default can drift from it.
  EXPECT_EQ(cfg::SslConfig{}.epochs, 20);
  EXPECT_EQ(parse("name: t\ncohort:\n  dir: cohort\n").ssl.epochs, 20);
}

TEST(Sections, RunSettingsTakeTrainThreadsOrTheRanksWhenZero) {
  cfg::TrainConfig t;
  t.device = "cpu";
  t.amp = false;
  auto r = cfg::run_settings(t, 7, 3, 1);
  EXPECT_EQ(r.seed, 7u);
  EXPECT_EQ(r.threads, 3);
  EXPECT_EQ(r.device, "cpu");
  EXPECT_FALSE(r.amp);
  EXPECT_EQ(r.local_rank, 1);
  t.threads = 5;
  EXPECT_EQ(cfg::run_settings(t, 7, 3, 1).threads, 5);
}
