// `vfp export` of a sweep that saved no models: the fold tasks are trained again (same
// configuration, split and seed) and bundled only when their out-of-fold scores are the ones
// the sweep stored; a nested selection's group exports per outer fold its selected model.
// Checked against what the sweep itself wrote: its saved models (the fixture's sweep saved
// them; copies of it without them stand for a sweep that did not) and its oof.csv files.
#include "bundle_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace vfp::inference_test;

namespace {

/// A copy of the fixture's sweep folder as results/<name> (beside it: the same cache).
fs::path copy_of_sweep(const fs::path& dir, const std::string& name) {
  const auto copy = dir / "results" / name;
  fs::remove_all(copy);
  fs::copy(dir / "results" / "tiny", copy, fs::copy_options::recursive);
  return copy;
}

/// Moves the score of `oof`'s first subject by 0.01 (towards ½); returns that subject.
std::string shift_first_score(const fs::path& oof) {
  std::istringstream in(read(oof));
  std::ostringstream out;
  std::string line, subject;
  std::getline(in, line);
  out << line << "\n";
  for (bool first = true; std::getline(in, line); first = false) {
    if (first) {
      std::vector<std::string> cells;
      std::stringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');)
        cells.push_back(cell);
      const double score = std::stod(cells[3]);
      std::ostringstream moved;
      moved << std::setprecision(9) << (score < 0.5 ? score + 0.01 : score - 0.01);
      cells[3] = moved.str();
      subject = cells[0];
      line.clear();
      for (std::size_t k = 0; k < cells.size(); ++k)
        line += (k ? "," : "") + cells[k];
    }
    out << line << "\n";
  }
  std::ofstream(oof, std::ios::trunc) << out.str();
  return subject;
}

} // namespace

TEST_F(Bundle, Export_WithoutSavedModels_RetrainsThem_ToTheSweepsWeightsAndScores) {
  const auto sweep = copy_of_sweep(dir, "tiny_unsaved");
  const auto tasks = task_by_fold("2d");
  for (const auto& [fold, task] : tasks)
    ASSERT_TRUE(fs::remove(sweep / "tasks" / task.filename() / "model.safetensors"));
  const auto rows_before = read(sweep / "results.jsonl");
  const auto out = run(in_dir() + VFP_BIN + " export results/tiny_unsaved --config " +
                       config_id("2d") + " --out bundle_retrained");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("2 trained again"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("epoch 2 of 2"), std::string::npos) << out.text; // progress
  const auto meta = nlohmann::json::parse(read(dir / "bundle_retrained" / "bundle.json"));
  const auto rows = rows_of(sweep / "results.jsonl", "train_eval");
  ASSERT_EQ(meta["models"].size(), 2u);
  for (const auto& m : meta["models"]) {
    const auto& task = tasks.at(m["fold"].get<int>());
    EXPECT_EQ(m["task_id"], task.filename().string());
    ASSERT_TRUE(m.contains("retrained")) << m.dump();
    // The thread count the task's row records: the same numbers, to the bit.
    for (const auto& r : rows) {
      if (r["task_id"] == m["task_id"]) {
        EXPECT_EQ(m["retrained"]["threads"], r["threads"]);
      }
    }
    EXPECT_EQ(m["retrained"]["max_abs_score_difference"].get<double>(), 0.0);
    // The very weights the sweep saved when it trained the task.
    EXPECT_TRUE(read(dir / "bundle_retrained" / m["file"].get<std::string>()) ==
                read(task / "model.safetensors"))
        << m["file"];
  }
  // The sweep folder is only read; the scratch and partial folders are gone.
  EXPECT_EQ(read(sweep / "results.jsonl"), rows_before);
  for (const auto& [fold, task] : tasks)
    EXPECT_FALSE(fs::exists(sweep / "tasks" / task.filename() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / ".bundle_retrained.retraining"));
  EXPECT_FALSE(fs::exists(dir / ".bundle_retrained.partial"));
  // And predict takes it: fold model 1 gives its task's stored score of a subject it tested.
  const auto stored = oof_scores(tasks.at(1));
  const auto r = json_of(predict(stored.begin()->first, "--json", "bundle_retrained"));
  EXPECT_NEAR(r["model_scores"][1].get<double>(), stored.begin()->second, 1e-6);
}

TEST_F(Bundle, Export_RefusesARetrainedModelWhoseScoresDifferFromTheStored_NamingTask) {
  const auto sweep = copy_of_sweep(dir, "tiny_tampered");
  const auto task = task_by_fold("2d").at(1).filename().string();
  ASSERT_TRUE(fs::remove(sweep / "tasks" / task / "model.safetensors"));
  const auto subject = shift_first_score(sweep / "tasks" / task / "oof.csv");
  const std::string command = in_dir() + VFP_BIN + " export results/tiny_tampered --config " +
                              config_id("2d") + " --out bundle_tampered";
  auto out = run(command);
  EXPECT_EQ(out.code, 1) << out.text;
  for (const auto& part :
       {"task " + task + " (configuration " + config_id("2d") + ", repeat 0, fold 1",
        "out-of-fold scores differ from results/tiny_tampered/tasks/" + task + "/oof.csv" +
            " by up to 0.01 (subject " + subject + "), more than the tolerance 1e-06",
        std::string("--tolerance accepts a larger difference")})
    EXPECT_NE(out.text.find(part), std::string::npos) << part << "\n" << out.text;
  EXPECT_FALSE(fs::exists(dir / "bundle_tampered"));
  EXPECT_FALSE(fs::exists(dir / ".bundle_tampered.retraining"));
  // --tolerance accepts it, with a warning, and the bundle records the difference.
  out = run(command + " --tolerance 0.02");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("accepted by --tolerance 0.02"), std::string::npos) << out.text;
  const auto meta = nlohmann::json::parse(read(dir / "bundle_tampered" / "bundle.json"));
  EXPECT_FALSE(meta["models"][0].contains("retrained")); // fold 0 kept its saved model
  EXPECT_NEAR(meta["models"][1]["retrained"]["max_abs_score_difference"].get<double>(), 0.01,
              1e-8);
  EXPECT_EQ(meta["models"][1]["retrained"]["tolerance"], 0.02);
}

TEST_F(Bundle, ExportGroup_BundlesPerOuterFoldItsSelectedModel_PredictGivesItsScores) {
  // A sweep whose nested selection chooses train.lr per outer fold (on the early-stopping
  // split: no inner tasks), run by one process; the same cohort and preprocessing as the
  // fixture's 2D configuration, so its cache is reused. It saves its models so that the one
  // export trains again (fold 1's, moved aside) can be compared with the sweep's own.
  std::ofstream(dir / "sel.yaml") << tiny_sweep_text(
      "sel", "max_epochs: 2, patience: 2, batch_size: 8, save_model: true",
      "cox: {bootstrap: 20}\nsweep:\n  grid:\n    train.lr: [3.0e-3, 3.0e-2]\n"
      "selection:\n  over: [train.lr]\n  metric: auroc\n");
  const auto sweep = run(in_dir() + VFP_BIN + " run sel.yaml");
  ASSERT_EQ(sweep.code, 0) << sweep.text;
  const auto tasks = dir / "results" / "sel" / "tasks";
  const auto selections = rows_of(dir / "results" / "sel" / "results.jsonl", "selection");
  ASSERT_EQ(selections.size(), 1u);
  const auto& row = selections.back();
  const std::string group = row["task_id"];
  ASSERT_EQ(row["folds"].size(), 2u);
  const std::string retrained = row["folds"][1]["task_id"];
  fs::rename(tasks / retrained / "model.safetensors", dir / "sel_fold1.safetensors");
  const auto out = run(in_dir() + VFP_BIN + " export results/sel --group " + group.substr(0, 8) +
                       " --out bundle_sel");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("nested selection " + group), std::string::npos) << out.text;
  const auto meta = nlohmann::json::parse(read(dir / "bundle_sel" / "bundle.json"));
  EXPECT_EQ(meta["config_id"], group);
  ASSERT_EQ(meta["models"].size(), 2u);
  for (const auto& choice : row["folds"]) {
    const int fold = choice["fold"];
    const auto& m = meta["models"][fold];
    EXPECT_EQ(m["task_id"], choice["task_id"]);
    EXPECT_EQ(m["config_id"], choice["config_id"]);
    EXPECT_EQ(meta["selection"]["folds"][fold]["config_id"], choice["config_id"]);
    EXPECT_TRUE(meta["selection"]["configs"].contains(choice["config_id"].get<std::string>()));
    const auto saved = fold == 1 ? dir / "sel_fold1.safetensors"
                                 : tasks / choice["task_id"].get<std::string>() /
                                       "model.safetensors";
    EXPECT_TRUE(read(dir / "bundle_sel" / m["file"].get<std::string>()) == read(saved)) << fold;
  }
  EXPECT_EQ(meta["models"][1]["retrained"]["max_abs_score_difference"].get<double>(), 0.0);
  EXPECT_FALSE(meta["models"][0].contains("retrained"));
  // Predict: fold model 1 gives the chosen task's stored score of a subject it tested.
  const auto stored = oof_scores(tasks / retrained);
  const auto r = json_of(predict(stored.begin()->first, "--json", "bundle_sel"));
  EXPECT_NEAR(r["model_scores"][1].get<double>(), stored.begin()->second, 1e-6);
  EXPECT_EQ(r["bundle"]["config_id"], group);
  // Folds whose selected configurations preprocess differently cannot share one bundle.
  const auto mixed = dir / "results" / "sel_mixed";
  fs::remove_all(mixed);
  fs::copy(dir / "results" / "sel", mixed, fs::copy_options::recursive);
  const std::string changed = row["folds"][1]["task_id"];
  auto task = nlohmann::json::parse(read(mixed / "tasks" / changed / "config.json"));
  task["config"]["preprocess"]["patch_mm"] = 33.0;
  std::ofstream(mixed / "tasks" / changed / "config.json", std::ios::trunc) << task.dump(2);
  const auto refused =
      run(in_dir() + VFP_BIN + " export results/sel_mixed --group " + group + " --out bundle_mix");
  EXPECT_EQ(refused.code, 1) << refused.text;
  EXPECT_NE(refused.text.find("selection " + group + " cannot be one bundle: its fold 1 " +
                              "(configuration " + row["folds"][1]["config_id"].get<std::string>() +
                              ") has preprocess"),
            std::string::npos)
      << refused.text;
  EXPECT_FALSE(fs::exists(dir / "bundle_mix"));
}

TEST_F(Bundle, Export_BadIds_NameTheSweepFolderAndTheId) {
  auto out = run(in_dir() + VFP_BIN + " export results/tiny --config 0nosuch --out bundle_bad");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("no configuration with id '0nosuch' in results/tiny/tasks"),
            std::string::npos)
      << out.text;
  out = run(in_dir() + VFP_BIN + " export results/tiny --group 0nosuch --out bundle_bad");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("no nested selection with group id '0nosuch' in "
                          "results/tiny/results.jsonl"),
            std::string::npos)
      << out.text;
  out = run(in_dir() + VFP_BIN + " export results/tiny --out bundle_bad");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("give one of --config ID and --group ID"), std::string::npos)
      << out.text;
  EXPECT_FALSE(fs::exists(dir / "bundle_bad"));
}
