// BYOL on an external, unlabelled cohort (ssl.cohort) in a real run under mpirun: one
// pretraining for every fold, its data recorded in its row, its config.json and the report.
#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {
using namespace vfp::integration;
} // namespace

TEST(ExternalPretraining, OnePretrainingOnTheExternalCohortServesEveryFoldAndIsReported) {
  std::string error;
  const auto dir = folder_with_synth_cohort("external_pretraining", error);
  ASSERT_FALSE(dir.empty()) << error;
  // 4 unlabelled scans of T12-L3: 16 patches with ssl.vertebrae [all] (the default).
  const auto synth = run(std::string(VFP_BIN) + " synth --unlabelled --vertebrae T12-L3 " +
                         "--subjects 4 --seed 9 --out " + (dir / "ext").string());
  ASSERT_EQ(synth.code, 0) << synth.text;
  std::ofstream(dir / "sweep.yaml") << tiny_sweep_text(
      "ext", "max_epochs: 1, batch_size: 8",
      "pretrained: {mode: ssl}\nssl: {cohort: {dir: ext}, epochs: 1, batch_size: 8}\n");
  const auto out = run("cd " + dir.string() + " && " + mpirun(3) + " run sweep.yaml");
  ASSERT_EQ(out.code, 0) << out.text;

  const auto results = dir / "results" / "ext";
  const auto pretrain = rows_of(results / "results.jsonl", "pretrain");
  ASSERT_EQ(pretrain.size(), 1u) << out.text;
  const auto& p = pretrain[0];
  EXPECT_EQ(p.value("status", ""), "ok") << p.dump();
  const auto& data = p.at("data");
  EXPECT_EQ(data.at("ssl_data"), "external");
  EXPECT_EQ(data.at("scans"), 4);
  EXPECT_EQ(data.at("patches"), 16);
  EXPECT_EQ(data.at("images"), (dir / "ext" / "images" / "{id}.nii.gz").string());
  const auto id = p.at("task_id").get<std::string>();
  const auto train = rows_of(results / "results.jsonl", "train_eval");
  ASSERT_EQ(train.size(), 2u);
  for (const auto& r : train)
    EXPECT_EQ(r.value("pretrain_id", ""), id) << "every fold loads the one pretraining";
  const auto record = nlohmann::json::parse(read(results / "pretrain" / id / "config.json"));
  EXPECT_EQ(record.at("data"), data);
  // Two caches: the labelled cohort's (for training) and the external one BYOL read.
  std::set<std::string> caches;
  for (const auto& e : fs::directory_iterator(dir / "results" / "cache"))
    if (e.path().extension() == ".h5")
      caches.insert(e.path().filename().string());
  EXPECT_EQ(caches.size(), 2u);
  EXPECT_EQ(caches.count("patches-" + data.at("cache_key").get<std::string>() + ".h5"), 1u);
  EXPECT_NE(read(results / "report" / "index.html")
                .find("Pretraining " + id + " (BYOL, ssl.data external): 16 patches of 4 scans"),
            std::string::npos);
  // `vfp cache gc` keeps what the sweep uses, the external cohort's cache included.
  const auto gc =
      run("cd " + dir.string() + " && " + VFP_BIN + " cache gc --keep sweep.yaml --dry-run");
  EXPECT_EQ(gc.code, 0) << gc.text;
  EXPECT_EQ(gc.text.find("would remove"), std::string::npos) << gc.text;
  fs::remove_all(dir);
}
