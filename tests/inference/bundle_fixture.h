// The fixture of inference_tests: a tiny sweep that saves its fold models (a 2D and a 3D
// configuration) and their bundles, built once for every test of the executable, with helpers
// that read what training itself wrote (its out-of-fold scores).
#pragma once

#include "../integration/shell.h"

#include "core/core.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace vfp::inference_test {

namespace fs = std::filesystem;
using namespace vfp::integration;

/// The out-of-fold rows (subject → score) a task wrote while training.
inline std::map<std::string, double> oof_scores(const fs::path& task) {
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

/// An out-of-fold row a task wrote while training.
struct OofRow {
  double score = 0, time_years = 0;
  int event = 0;
};
/// subject → its row, of every task folder given (one CV repeat: each subject once).
inline std::map<std::string, OofRow> oof_rows(const std::map<int, fs::path>& tasks) {
  std::map<std::string, OofRow> out;
  for (const auto& [fold, task] : tasks) {
    const auto csv = vfp::read_csv((task / "oof.csv").string());
    for (const auto& row : csv.rows)
      out[csv.text(row, csv.column("subject_id"))] = {csv.number(row, csv.column("score")),
                                                      csv.number(row, csv.column("time_years")),
                                                      int(csv.number(row, csv.column("event")))};
  }
  return out;
}

/// The bundle's calibrated probability of a score, written out from bundle.json's
/// recalibration: sigmoid(intercept + slope·(logit(score) − prior_shift)).
inline double recalibrated(const nlohmann::json& meta, double score) {
  const auto& r = meta.at("recalibration");
  const double v = r.at("intercept").get<double>() +
                   r.at("slope").get<double>() *
                       (std::log(score / (1 - score)) - r.at("prior_shift").get<double>());
  return 1 / (1 + std::exp(-v));
}

/// Writes a changed bundle.json into a bundle folder with its manifest entry to match (as a
/// hand edit, or an older vfp, would leave it).
inline void rewrite_bundle_json(const fs::path& bundle, const nlohmann::json& meta) {
  const auto text = meta.dump(2);
  std::ofstream(bundle / "bundle.json", std::ios::binary | std::ios::trunc) << text;
  auto manifest = nlohmann::json::parse(read(bundle / "manifest.json"));
  for (auto& f : manifest["files"])
    if (f["path"] == "bundle.json") {
      f["bytes"] = text.size();
      f["checksum64"] = vfp::hex64(vfp::checksum64(text.data(), text.size()));
    }
  std::ofstream(bundle / "manifest.json", std::ios::trunc) << manifest.dump(2);
}

/// One synthetic cohort, one sweep (two configurations: 2D projections and 3D cubes; 2 folds,
/// models saved) and their bundles (bundle: 2D, bundle3d: 3D), shared by the tests.
class Bundle : public ::testing::Test {
protected:
  inline static fs::path dir;
  inline static std::string setup_error;
  static void SetUpTestSuite() {
    dir = folder_with_synth_cohort("inference", setup_error);
    if (dir.empty())
      return;
    // The 3D variant keeps its cube tiny (16³ voxels at 2 mm), so that it trains in seconds.
    std::ofstream(dir / "tiny.yaml")
        << tiny_sweep_text("tiny", "max_epochs: 2, patience: 2, batch_size: 8, "
                                   "lr: 0.003, save_model: true")
        << R"(sweep:
  variants:
    aip_2d: {preprocess.output: 2d}
    cube_3d: {preprocess.output: 3d, model.dims: 3, preprocess.patch_mm: 32, preprocess.spacing_mm: 2}
)";
    const auto sweep = run(in_dir() + mpirun(2) + " run tiny.yaml");
    if (sweep.code != 0) {
      setup_error = sweep.text;
      return;
    }
    for (const auto& [output, bundle] : {std::pair{"2d", "bundle"}, std::pair{"3d", "bundle3d"}}) {
      const auto out = run(in_dir() + VFP_BIN + " export results/tiny --config " +
                           config_id(output) + " --out " + bundle);
      if (out.code != 0)
        setup_error += out.text;
    }
  }
  void SetUp() override { ASSERT_TRUE(setup_error.empty()) << setup_error; }

  static std::string in_dir() { return "cd " + dir.string() + " && "; }
  static fs::path tasks_dir() { return dir / "results" / "tiny" / "tasks"; }
  /// The configuration of the sweep whose patches are `output` (2d, 3d).
  static std::string config_id(const std::string& output = "2d") {
    for (const auto& e : fs::directory_iterator(tasks_dir())) {
      const auto j = nlohmann::json::parse(read(e.path() / "config.json"));
      if (j["config"]["preprocess"]["output"] == output)
        return j["config_id"];
    }
    return "";
  }
  /// fold → the task folder (of the `output` configuration) that trained on the other folds
  /// and scored this one.
  static std::map<int, fs::path> task_by_fold(const std::string& output = "2d") {
    std::map<int, fs::path> out;
    for (const auto& e : fs::directory_iterator(tasks_dir())) {
      const auto j = nlohmann::json::parse(read(e.path() / "config.json"));
      if (j["config"]["preprocess"]["output"] == output)
        out[j["fold"].get<int>()] = e.path();
    }
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
    return parse_json(out);
  }
  static nlohmann::json parse_json(const Output& out) {
    // The JSON starts on the first line that opens an object or array (log lines may precede).
    std::size_t start = 0;
    while (start < out.text.size() && out.text[start] != '{' && out.text[start] != '[')
      start = out.text.find('\n', start) + 1;
    EXPECT_LT(start, out.text.size()) << out.text;
    return nlohmann::json::parse(out.text.substr(start));
  }
  /// Independent path: training scored each held-out subject from the HDF5 cache with the fold's
  /// model in memory (tasks/<id>/oof.csv); predict reads the CT afresh, preprocesses it and
  /// loads the saved model from the bundle. For a subject of fold k, bundle model k (ordered by
  /// fold) must give training's score (oof.csv keeps 9 digits; batch composition may move a
  /// float by an ulp), and the ensemble is the mean of the models.
  static void expect_out_of_fold_scores_reproduced(const std::string& output,
                                                   const std::string& bundle) {
    const auto meta = nlohmann::json::parse(read(dir / bundle / "bundle.json"));
    ASSERT_TRUE(meta["recalibration"].is_object()) << meta.dump(2);
    const auto tasks = task_by_fold(output);
    ASSERT_EQ(tasks.size(), 2u);
    for (const auto& [fold, task] : tasks) {
      const auto oof = oof_scores(task);
      ASSERT_GE(oof.size(), 2u);
      int checked = 0;
      for (const auto& [subject, score] : oof) {
        if (checked++ == 2)
          break;
        const auto r = json_of(predict(subject, "--json", bundle));
        ASSERT_EQ(r["model_scores"].size(), 2u);
        EXPECT_NEAR(r["model_scores"][fold].get<double>(), score, 1e-6)
            << output << " subject " << subject << " fold " << fold;
        const double mean =
            (r["model_scores"][0].get<double>() + r["model_scores"][1].get<double>()) / 2;
        EXPECT_DOUBLE_EQ(r["score"].get<double>(), mean);
        EXPECT_NEAR(r["probability"].get<double>(), recalibrated(meta, mean), 1e-12);
        EXPECT_EQ(r["probability_of"], meta["recalibration"]["probability_of"]);
        EXPECT_EQ(r["vertebrae"].size(), 2u);
        EXPECT_EQ(r["bundle"]["config_id"], config_id(output));
      }
    }
  }
};
} // namespace vfp::inference_test
