// The sweeps in sweeps/ that reproduce the study (docs/reproducing.md): each real file expands
// to the configurations counted by hand below, and each one's smoke: setting runs end to end
// under mpirun on a phantom cohort with seeded stand-in weights (scripts/make_smoke_data.sh).
#include "shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using namespace vfp::integration;

/// A sweep file with what it must expand to (counted from the file by hand).
struct Expected {
  std::string file;
  std::string name;
  std::vector<std::string> axes; ///< the table's axis columns, in order
  int configurations = 0;        ///< the real sweep
  int tasks = 0;                 ///< train_eval tasks of the real sweep
  int pretrain = 0;              ///< BYOL tasks of the real sweep
  int smoke_configurations = 0;  ///< with --smoke (2 folds, 1 repeat: 2 tasks each)
  int smoke_pretrain = 0;
  /// Nested selection (the selection: section): groups and inner tasks, real and smoke.
  int groups = 0, inner_tasks = 0, smoke_groups = 0, smoke_inner_tasks = 0;
};

const std::vector<Expected>& expected() {
  static const std::vector<Expected> sweeps = {
      // 4 architectures × (2D, 3D); 4 folds.
      {"architectures.yaml",
       "architectures",
       {"model.arch", "preprocess.output", "model.dims", "model.width"},
       8,
       32,
       0,
       8,
       0},
      // fNet 3D and ResNet18 2D; 4 folds × 3 repeats. Smoke: 1 repeat.
      {"cox.yaml", "cox", {"variant"}, 2, 24, 0, 2, 0},
      // Two learning rates, chosen per outer fold on 2 inner folds: 2 × 4 × 2 inner tasks;
      // smoke 2 × 2 × 2.
      {"demo.yaml", "demo", {"train.lr"}, 2, 8, 0, 2, 0, 1, 16, 1, 8},
      // Per (lr, batch, patch): fnet none, resnet18/152 and densenet121 none|imagenet, resnet50
      // none|imagenet full|layerwise|linear_probe = 1 + 6 + 4 = 11; × 3 × 2 × 2 = 132.
      // Smoke: one lr, batch and patch (the zip's two entries become equal): 11.
      // lr × batch chosen per outer fold: 22 groups of 6, 132 × 4 × 3 inner tasks; the smoke
      // run has one lr and batch, so groups of one: nothing to choose.
      {"imagenet_2d.yaml",
       "imagenet_2d",
       {"pretrained.mode", "train.finetune", "train.lr", "train.batch_size", "preprocess.patch_mm",
        "preprocess.slab_start", "variant"},
       132,
       528,
       0,
       11,
       0,
       22,
       1584,
       0,
       0},
      // Per (patch, optimizer setting): scratch full, imagenet and ct_reports each full,
      // full with layer lr 0.5 and bn_only = 7; × 2 patches × 3 optimizer settings = 42.
      // Smoke: full finetuning at one patch, optimizer setting and layer rate: 3 variants.
      // Optimizer setting × layer rate chosen per outer fold: per patch, scratch, imagenet and
      // ct_reports full, imagenet and ct_reports bn_only = 10 groups, 42 × 4 × 3 inner tasks.
      {"merlin_3d.yaml",
       "merlin_3d",
       {"train.finetune", "train.layer_lr_decay", "preprocess.patch_mm", "train.optimizer",
        "train.lr", "variant"},
       42,
       168,
       0,
       3,
       0,
       10,
       504,
       0,
       0},
      // As merlin_3d: per (patch, optimizer setting), scratch full and ct_clip full, full with
      // layer lr 0.5 and layerwise = 4; × 2 patches × 3 settings = 24. Smoke: scratch and
      // ct_clip, full. Per patch, scratch full, ct_clip full and ct_clip layerwise are the
      // groups: 6; 24 × 4 × 3 inner tasks.
      {"ctclip_3d.yaml",
       "ctclip_3d",
       {"train.finetune", "train.layer_lr_decay", "preprocess.patch_mm", "train.optimizer",
        "train.lr", "variant"},
       24,
       96,
       0,
       2,
       0,
       6,
       288,
       0,
       0},
      // none × full, ssl × (full, linear_probe); one BYOL task for all.
      {"pretraining.yaml", "pretraining", {"pretrained.mode", "train.finetune"}, 3, 12, 1, 3, 1},
      // Ten seeds (dropout 0.2000–0.2009), one group chosen on 3 inner folds: 10 × 4 × 3 inner
      // tasks. Smoke: two seeds, 2 folds, 2 inner folds.
      {"seed_noise.yaml", "seed_noise", {"model.dropout"}, 10, 40, 0, 2, 0, 1, 120, 1, 8},
      // 2 learning rates × 4 variants; the ssl variants share one BYOL task. The lr chosen per
      // outer fold: 4 groups, 8 × 4 × 3 inner tasks; the smoke run chooses between its two
      // rates on the early-stopping split (no inner tasks).
      {"ssl_3d.yaml", "ssl_3d", {"train.lr", "variant"}, 8, 32, 1, 8, 1, 4, 96, 4, 0},
      // As ctclip_3d with bn_only for layerwise: 24 configurations, 6 groups, 288 inner tasks;
      // smoke: scratch and vista3d, full.
      {"vista3d_3d.yaml",
       "vista3d_3d",
       {"train.finetune", "train.layer_lr_decay", "preprocess.patch_mm", "train.optimizer",
        "train.lr", "variant"},
       24,
       96,
       0,
       2,
       0,
       6,
       288,
       0,
       0},
  };
  return sweeps;
}

const fs::path kSweepDir = fs::path(VFP_SOURCE_DIR) / "sweeps";

/// A copy of the project's layout in a scratch folder: sweeps/ (copied), lib/ (linked, for
/// the key maps), placeholders for the real weight files in weights/ (expansion checks that
/// files exist; nothing reads them here) and results/.
class ReproductionSweeps : public ScratchDirTest {
protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    fs::create_directories(dir_ / "sweeps");
    for (const auto& e : fs::directory_iterator(kSweepDir))
      if (e.is_regular_file()) // sweeps/study/: the study's tables (vfp report --study)
        fs::copy_file(e.path(), dir_ / "sweeps" / e.path().filename());
    fs::create_directory_symlink(fs::path(VFP_SOURCE_DIR) / "lib", dir_ / "lib");
    fs::create_directories(dir_ / "weights");
    for (const char* file :
         {"resnet18_imagenet.pt", "resnet50_imagenet.pt", "resnet152_imagenet.pt",
          "densenet121_imagenet.pt",
          "i3_resnet_clinical_longformer_best_clip_04-02-2024_23-21-36_epoch_99.pt",
          "vista3d_model.pt", "CT-CLIP_v2.pt"})
      std::ofstream(dir_ / "weights" / file) << "placeholder";
  }
  std::string in_dir() const { return "cd " + dir_.string() + " && "; }

  /// `vfp sweep FILE --json` (with --smoke), parsed.
  nlohmann::json expansion(const std::string& file, bool smoke) {
    // stdout alone is the JSON; stderr (log lines, an error) goes to a file.
    const auto err = dir_ / "sweep_stderr.txt";
    const auto out = run(in_dir() + "{ " + VFP_BIN + " sweep sweeps/" + file + " --json" +
                         (smoke ? " --smoke" : "") + " 2>" + err.string() + "; }");
    EXPECT_EQ(out.code, 0) << file << (smoke ? " --smoke" : "") << ": " << read(err);
    return out.code == 0 ? nlohmann::json::parse(out.text) : nlohmann::json::object();
  }
};

/// Entries of the list `key` of `j`; 0 when absent (vfp sweep --json leaves out empty lists).
std::size_t size_of(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_array() ? it->size() : 0;
}

/// The rows of a Markdown table (header and separator excluded).
std::vector<std::string> table_rows(const std::string& table, std::string& header) {
  std::vector<std::string> rows;
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| ", 0) != 0 && line.rfind("|-", 0) != 0) {
      if (!header.empty())
        break; // the table ends at its first non-table line
      continue;
    }
    if (header.empty())
      header = line;
    else if (line.rfind("|-", 0) != 0)
      rows.push_back(line);
  }
  return rows;
}

} // namespace

TEST(ReproductionSweepFiles, EverySweepFileIsCountedHereAndHasASmokeSetting) {
  std::set<std::string> listed;
  for (const auto& e : expected())
    listed.insert(e.file);
  std::set<std::string> found;
  for (const auto& e : fs::directory_iterator(kSweepDir)) {
    if (e.is_directory()) // sweeps/study/ lays out the study's tables: no sweep file
      continue;
    const auto file = e.path().filename().string();
    found.insert(file);
    EXPECT_TRUE(listed.count(file))
        << "sweeps/" << file << " is not in tests/integration/reproduction_sweeps_test.cpp: add "
        << "its counts there and give it a smoke: section, so that CI runs it";
    EXPECT_NE(read(e.path()).find("\nsmoke:"), std::string::npos)
        << "sweeps/" << file << " has no smoke: section";
  }
  for (const auto& file : listed)
    EXPECT_TRUE(found.count(file)) << file << " is listed here but not in sweeps/";
}

TEST_F(ReproductionSweeps, RealAndSmokeExpansionsHaveTheCountsOfTheFiles) {
  // Placeholders for the smoke stand-ins too: expanding checks that weight files exist.
  fs::create_directories(dir_ / "data" / "smoke" / "weights");
  for (const char* file : {"resnet18_imagenet", "resnet50_imagenet", "resnet152_imagenet",
                           "densenet121_imagenet", "merlin_ct_reports", "vista3d_model",
                           "ctclip_v2"})
    std::ofstream(dir_ / "data" / "smoke" / "weights" / (std::string(file) + ".safetensors"))
        << "placeholder";
  for (const auto& e : expected()) {
    SCOPED_TRACE(e.file);
    auto real = expansion(e.file, false);
    EXPECT_EQ(real.value("name", ""), e.name);
    EXPECT_EQ(real.value("smoke", true), false);
    EXPECT_EQ(real["axes"], nlohmann::json(e.axes));
    EXPECT_EQ(size_of(real, "configurations"), std::size_t(e.configurations));
    EXPECT_EQ(size_of(real, "tasks"), std::size_t(e.tasks));
    EXPECT_EQ(size_of(real, "cox"), std::size_t(e.configurations));
    EXPECT_EQ(size_of(real, "pretrain"), std::size_t(e.pretrain));
    EXPECT_EQ(size_of(real, "groups"), std::size_t(e.groups));
    EXPECT_EQ(size_of(real, "inner"), std::size_t(e.inner_tasks));
    for (const auto& c : real["configurations"]) {
      EXPECT_EQ(c["config"]["cv"]["folds"], 4); // the study's 4-fold CV
      EXPECT_EQ(c["config"]["cohort"]["csv"].get<std::string>().find("smoke"), std::string::npos);
    }

    auto smoke = expansion(e.file, true);
    EXPECT_EQ(smoke.value("name", ""), e.name + "-smoke"); // never the real results folder
    EXPECT_EQ(smoke.value("smoke", false), true);
    EXPECT_EQ(smoke["axes"], nlohmann::json(e.axes));
    EXPECT_EQ(size_of(smoke, "configurations"), std::size_t(e.smoke_configurations));
    EXPECT_EQ(size_of(smoke, "tasks"), std::size_t(2 * e.smoke_configurations));
    EXPECT_EQ(size_of(smoke, "pretrain"), std::size_t(e.smoke_pretrain));
    EXPECT_EQ(size_of(smoke, "groups"), std::size_t(e.smoke_groups));
    EXPECT_EQ(size_of(smoke, "inner"), std::size_t(e.smoke_inner_tasks));
    for (const auto& c : smoke["configurations"]) {
      EXPECT_NE(c["config"]["cohort"]["csv"].get<std::string>().find("data/smoke"),
                std::string::npos);
      EXPECT_EQ(c["config"]["train"]["max_epochs"], 1);
      // The pretrained section is left out of a config at its defaults (ids stay stable).
      const auto pretrained = c["config"].value("pretrained", nlohmann::json::object());
      const auto weights = pretrained.value("file", "");
      if (pretrained.value("mode", "") != "none" && !weights.empty()) {
        EXPECT_NE(weights.find("data/smoke/weights/"), std::string::npos)
            << "a smoke run loads the stand-ins of scripts/make_smoke_data.sh: " << weights;
      }
    }
  }
}

// The CI check of every experiment: ~3 minutes on 2 cores, most of it the 117 M-parameter
// Merlin encoder. Each sweep's smoke run must finish every task with a finite AUROC, a cox
// row per configuration and a table row per configuration.
TEST_F(ReproductionSweeps, EverySmokeSettingRunsEndToEndUnderMpirun) {
  std::string error;
  const auto cohort = folder_with_synth_cohort("reproduction", error);
  ASSERT_FALSE(cohort.empty()) << error;
  fs::create_directories(dir_ / "data");
  fs::rename(cohort / "cohort", dir_ / "data" / "smoke");
  fs::remove_all(cohort);
  const auto t0 = std::chrono::steady_clock::now();
  const auto weights =
      run(in_dir() + VFP_SOURCE_DIR + "/scripts/make_smoke_data.sh " + VFP_BIN + " data/smoke");
  ASSERT_EQ(weights.code, 0) << weights.text;
  std::cout << "[          ] stand-in weights: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s\n";

  for (const auto& e : expected()) {
    SCOPED_TRACE(e.file);
    const auto start = std::chrono::steady_clock::now();
    const auto out = run(in_dir() + mpirun(3) + " run sweeps/" + e.file + " --smoke");
    std::cout << "[          ] " << e.file << " --smoke: "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
              << " s\n";
    ASSERT_EQ(out.code, 0) << out.text;
    const auto results = dir_ / "results" / (e.name + "-smoke");
    EXPECT_FALSE(fs::exists(dir_ / "results" / e.name)) << "smoke results mixed with real ones";

    const auto rows = rows_of(results / "results.jsonl", "train_eval");
    EXPECT_EQ(rows.size(), std::size_t(2 * e.smoke_configurations)) << out.text;
    std::set<std::string> configurations;
    for (const auto& r : rows) {
      EXPECT_EQ(r["status"], "ok") << r.dump();
      ASSERT_TRUE(r["auroc"].is_number()) << r.dump();
      const double auroc = r["auroc"].get<double>();
      EXPECT_TRUE(std::isfinite(auroc) && auroc >= 0 && auroc <= 1) << r.dump();
      configurations.insert(r["config_id"].get<std::string>());
    }
    EXPECT_EQ(configurations.size(), std::size_t(e.smoke_configurations));

    const auto cox = rows_of(results / "results.jsonl", "cox");
    EXPECT_EQ(cox.size(), std::size_t(e.smoke_configurations)) << out.text;
    std::set<std::string> cox_configurations;
    for (const auto& r : cox) {
      EXPECT_EQ(r["status"], "ok") << r.dump();
      EXPECT_EQ(r["subjects"], 40) << r.dump(); // every subject scored once, out of fold
      cox_configurations.insert(r["config_id"].get<std::string>());
    }
    EXPECT_EQ(cox_configurations, configurations);
    EXPECT_EQ(rows_of(results / "results.jsonl", "pretrain").size(), std::size_t(e.smoke_pretrain));
    EXPECT_EQ(rows_of(results / "results.jsonl", "inner").size(), std::size_t(e.smoke_inner_tasks));
    const auto selections = rows_of(results / "results.jsonl", "selection");
    EXPECT_EQ(selections.size(), std::size_t(e.smoke_groups)) << out.text;
    for (const auto& r : selections)
      EXPECT_EQ(r["folds"].size(), 2u) << r.dump(); // one choice per outer fold

    std::string header;
    const auto table = table_rows(read(results / "report" / "table.md"), header);
    EXPECT_EQ(table.size(), std::size_t(e.smoke_configurations + e.smoke_groups))
        << read(results / "report" / "table.md");
    std::string columns = "|";
    for (const auto& axis : e.axes)
      columns += " " + axis + " |";
    EXPECT_EQ(header.rfind(columns + " AUROC (%) |", 0), 0u) << header;
  }
}
