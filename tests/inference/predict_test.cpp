// `vfp export` and `vfp predict` end to end: a tiny sweep that saves its fold models, its
// bundle, and predictions checked against what training itself wrote.
#include "../integration/shell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using namespace vfp::integration;

/// One synthetic cohort, one sweep (one configuration, 2 folds, models saved) and its bundle,
/// shared by the tests.
class Bundle : public ::testing::Test {
protected:
  static fs::path dir;
  static std::string setup_error;
  static void SetUpTestSuite() {
    dir = folder_with_synth_cohort("inference", setup_error);
    if (dir.empty())
      return;
    std::ofstream(dir / "tiny.yaml") << R"(name: tiny
cohort: {dir: cohort}
preprocess: {patch_mm: 31, slab_mm: 15, spacing_mm: 1.5}
cv: {folds: 2, seed: 5}
model: {width: 4}
train: {max_epochs: 2, patience: 2, batch_size: 8, lr: 0.003, save_model: true}
)";
    const auto sweep = run(in_dir() + mpirun(2) + " run tiny.yaml");
    if (sweep.code != 0) {
      setup_error = sweep.text;
      return;
    }
    const auto out =
        run(in_dir() + VFP_BIN + " export results/tiny --config " + config_id() + " --out bundle");
    if (out.code != 0)
      setup_error = out.text;
  }
  void SetUp() override { ASSERT_TRUE(setup_error.empty()) << setup_error; }

  static std::string in_dir() { return "cd " + dir.string() + " && "; }
  static fs::path tasks_dir() { return dir / "results" / "tiny" / "tasks"; }
  static std::string config_id() {
    for (const auto& e : fs::directory_iterator(tasks_dir()))
      return nlohmann::json::parse(read(e.path() / "config.json"))["config_id"];
    return "";
  }
  /// fold → the task folder that trained on the other folds and scored this one.
  static std::map<int, fs::path> task_by_fold() {
    std::map<int, fs::path> out;
    for (const auto& e : fs::directory_iterator(tasks_dir()))
      out[nlohmann::json::parse(read(e.path() / "config.json"))["fold"].get<int>()] = e.path();
    return out;
  }
  /// `vfp predict` of one synthetic subject (extra options appended), as JSON.
  static Output predict(const std::string& subject, const std::string& extra = "",
                        const std::string& bundle = "bundle") {
    return run(in_dir() + VFP_BIN + " predict --bundle " + bundle + " --image cohort/images/" +
               subject + ".nii.gz --centroids cohort/centroids/" + subject + ".json --id " +
               subject + " --threads 2 " + extra);
  }
  static nlohmann::json json_of(const Output& out) {
    EXPECT_EQ(out.code, 0) << out.text;
    // The JSON starts on the first line that opens an object or array (log lines may precede).
    std::size_t start = 0;
    while (start < out.text.size() && out.text[start] != '{' && out.text[start] != '[')
      start = out.text.find('\n', start) + 1;
    EXPECT_LT(start, out.text.size()) << out.text;
    return nlohmann::json::parse(out.text.substr(start));
  }
};
fs::path Bundle::dir;
std::string Bundle::setup_error;

/// The out-of-fold rows (subject → score) a task wrote while training.
std::map<std::string, double> oof_scores(const fs::path& task) {
  std::map<std::string, double> out;
  std::istringstream in(read(task / "oof.csv"));
  std::string line;
  std::getline(in, line); // header: subject_id,repeat,fold,score,...
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');)
      cells.push_back(cell);
    out[cells[0]] = std::stod(cells[3]);
  }
  return out;
}

} // namespace

TEST_F(Bundle, Predict_ReproducesEachFoldModelsOutOfFoldScore) {
  // Independent path: training scored each held-out subject from the HDF5 cache with the fold's
  // model in memory (tasks/<id>/oof.csv); predict reads the CT afresh, preprocesses it and
  // loads the saved model from the bundle. For a subject of fold k, bundle model k (ordered by
  // fold) must give training's score (oof.csv keeps 9 digits; batch composition may move a
  // float by an ulp), and the ensemble is the mean of the models.
  const auto tasks = task_by_fold();
  ASSERT_EQ(tasks.size(), 2u);
  for (const auto& [fold, task] : tasks) {
    const auto oof = oof_scores(task);
    ASSERT_GE(oof.size(), 2u);
    int checked = 0;
    for (const auto& [subject, score] : oof) {
      if (checked++ == 2)
        break;
      const auto r = json_of(predict(subject, "--json"));
      ASSERT_EQ(r["model_scores"].size(), 2u);
      EXPECT_NEAR(r["model_scores"][fold].get<double>(), score, 1e-6)
          << "subject " << subject << " fold " << fold;
      const double mean =
          (r["model_scores"][0].get<double>() + r["model_scores"][1].get<double>()) / 2;
      EXPECT_DOUBLE_EQ(r["probability"].get<double>(), mean);
      EXPECT_EQ(r["vertebrae"].size(), 2u);
      EXPECT_EQ(r["bundle"]["config_id"], config_id());
    }
  }
}

TEST_F(Bundle, Predict_IsTheSameInABatchAsAlone_ToTheBit) {
  std::ofstream(dir / "patients.csv")
      << "subject_id,image,centroids,age,bmi\n"
      << "S0003,cohort/images/S0003.nii.gz,cohort/centroids/S0003.json,71,25.5\n"
      << "S0001,cohort/images/S0001.nii.gz,cohort/centroids/S0001.json,,\n"
      << "S0002,cohort/images/S0002.nii.gz,cohort/centroids/S0002.json,80,22\n";
  const auto batch = json_of(run(in_dir() + VFP_BIN +
                                 " predict --bundle bundle --csv patients.csv --json "
                                 "--threads 2"));
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0], json_of(predict("S0003", "--age 71 --bmi 25.5 --json")));
  EXPECT_EQ(batch[1], json_of(predict("S0001", "--json")));
  EXPECT_EQ(batch[2], json_of(predict("S0002", "--age 80 --bmi 22 --json")));
}

TEST_F(Bundle, Predict_GivesCoxRisks_WithCovariates) {
  const auto r = json_of(predict("S0004", "--age 75 --bmi 24 --json"));
  ASSERT_TRUE(r["cox"].is_object()) << r.dump(2);
  EXPECT_GT(r["cox"]["relative_hazard"].get<double>(), 0);
  ASSERT_EQ(r["cox"]["absolute_risk"].size(), 2u);
  const double five = r["cox"]["absolute_risk"][0]["risk"],
               ten = r["cox"]["absolute_risk"][1]["risk"];
  EXPECT_GE(five, 0);
  EXPECT_LE(five, ten);
  EXPECT_LE(ten, 1);
  EXPECT_FALSE(r.contains("note"));
  const auto text = predict("S0004", "--age 75 --bmi 24 --svg pictures");
  ASSERT_EQ(text.code, 0) << text.text;
  for (const char* v : {"L1", "L2"}) // the patches the models saw
    EXPECT_EQ(read(dir / "pictures" / ("S0004_" + std::string(v) + ".svg")).rfind("<svg", 0), 0u);
  EXPECT_NE(text.text.find("absolute risk at 10.000 years"), std::string::npos) << text.text;
  EXPECT_NE(text.text.find("risk group"), std::string::npos) << text.text;
}

TEST_F(Bundle, Predict_FallsBackToTheImageOnlyProbability_WithoutCovariates) {
  const auto r = json_of(predict("S0004", "--age 75 --json"));
  EXPECT_TRUE(r["cox"].is_null());
  EXPECT_EQ(r["note"], "the Cox model needs age and BMI; BMI missing, so only the image-only "
                       "probability is given");
  const auto text = predict("S0004");
  ASSERT_EQ(text.code, 0) << text.text;
  EXPECT_NE(text.text.find("note: the Cox model needs age and BMI; age and BMI missing"),
            std::string::npos)
      << text.text;
}

TEST_F(Bundle, TamperedBundle_IsRefusedNamingTheFile) {
  const auto copy = dir / "tampered";
  fs::remove_all(copy);
  fs::copy(dir / "bundle", copy);
  {
    std::fstream f(copy / "model-r0-f1.safetensors",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-7, std::ios::end);
    char c = 0;
    f.read(&c, 1);
    f.seekp(-7, std::ios::end);
    c = char(c ^ 0x10);
    f.write(&c, 1);
  }
  auto out = predict("S0001", "", "tampered");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(
      out.text.find("model-r0-f1.safetensors fails its checksum (corrupted or tampered with)"),
      std::string::npos)
      << out.text;
  std::ofstream(copy / "bundle.json", std::ios::app) << " ";
  out = predict("S0001", "", "tampered");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("bundle.json has "), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("the manifest says"), std::string::npos) << out.text;
}

TEST_F(Bundle, MissingVertebra_IsAnErrorNamingSubjectAndVertebra) {
  auto centroids = nlohmann::json::parse(read(dir / "cohort" / "centroids" / "S0005.json"));
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& c : centroids)
    if (c.value("label", 0) != 21)
      kept.push_back(c);
  std::ofstream(dir / "S0005_no_l2.json") << kept.dump();
  const auto out = run(in_dir() + VFP_BIN +
                       " predict --bundle bundle --image cohort/images/S0005.nii.gz --centroids "
                       "S0005_no_l2.json --id S0005");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("subject S0005: no centroid for L2 (label 21)"), std::string::npos)
      << out.text;
}

TEST_F(Bundle, Export_WithoutSavedModels_SaysToSaveThem) {
  const auto copy = dir / "results_copy";
  fs::remove_all(copy);
  fs::create_directories(copy);
  fs::copy(dir / "results" / "tiny", copy / "tiny", fs::copy_options::recursive);
  const auto task = task_by_fold().at(1).filename();
  fs::remove(copy / "tiny" / "tasks" / task / "model.safetensors");
  const auto out = run(in_dir() + VFP_BIN + " export results_copy/tiny --config " + config_id() +
                       " --out bundle2");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("task " + task.string() + " (fold 1) saved no model"), std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("rerun the sweep with train.save_model: true"), std::string::npos)
      << out.text;
  EXPECT_FALSE(fs::exists(dir / "bundle2"));
}

TEST_F(Bundle, Bundle_RecordsItsContents) {
  const auto meta = nlohmann::json::parse(read(dir / "bundle" / "bundle.json"));
  EXPECT_EQ(meta["format"], "vfp-bundle");
  EXPECT_EQ(meta["models"].size(), 2u);
  EXPECT_EQ(meta["preprocess"]["patch_mm"], 31.0);
  EXPECT_EQ(meta["cox"]["covariates"], (nlohmann::json{"score", "age", "bmi"}));
  EXPECT_FALSE(meta["cox"]["baseline"]["cumulative_hazard"].empty());
  EXPECT_EQ(meta["validation"]["folds"], 2);
  const auto manifest = nlohmann::json::parse(read(dir / "bundle" / "manifest.json"));
  EXPECT_EQ(manifest["files"].size(), 3u); // bundle.json + 2 models
}
