// `vfp export` and `vfp predict` end to end: a tiny sweep that saves its fold models (a 2D and
// a 3D configuration), their bundles, and predictions checked against what training itself
// wrote (its out-of-fold scores, its cached patches and their centroids).
#include "bundle_fixture.h"
#include "itk_helpers.h"

#include "core/core.h"
#include "data/data.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace fs = std::filesystem;
using namespace vfp::inference_test;

TEST_F(Bundle, Predict_ReproducesEachFoldModelsOutOfFoldScore) {
  expect_out_of_fold_scores_reproduced("2d", "bundle");
}

TEST_F(Bundle, Predict3d_ReproducesEachFoldModelsOutOfFoldScore) {
  // The same round trip for 3D cubes and a 3D model.
  expect_out_of_fold_scores_reproduced("3d", "bundle3d");
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
  // The Cox model was fitted on raw out-of-fold scores: it takes the raw score, not the
  // calibrated probability.
  const auto meta = nlohmann::json::parse(read(dir / "bundle" / "bundle.json"));
  const auto& cox = meta["cox"];
  const double x[] = {r["score"].get<double>(), 75, 24};
  double lp = 0;
  for (std::size_t k = 0; k < 3; ++k)
    lp += cox["coef"][k].get<double>() * (x[k] - cox["mean"][k].get<double>());
  EXPECT_NEAR(r["cox"]["linear_predictor"].get<double>(), lp, 1e-12);
  const auto text = predict("S0004", "--age 75 --bmi 24 --svg pictures");
  ASSERT_EQ(text.code, 0) << text.text;
  for (const char* v : {"L1", "L2"}) // the patches the models saw
    EXPECT_EQ(read(dir / "pictures" / ("S0004_" + std::string(v) + ".svg")).rfind("<svg", 0), 0u);
  EXPECT_NE(text.text.find("absolute risk at 10.000 years"), std::string::npos) << text.text;
  EXPECT_NE(text.text.find("risk group"), std::string::npos) << text.text;
}

TEST_F(Bundle, Predict_GivesTheImageModelsResultOnly_WithoutCovariates) {
  const auto r = json_of(predict("S0004", "--age 75 --json"));
  EXPECT_TRUE(r["cox"].is_null());
  EXPECT_EQ(r["note"], "the Cox model needs age and BMI; BMI missing, so only the image model's "
                       "result is given");
  EXPECT_TRUE(r["probability"].is_number()); // the calibrated probability needs no covariate
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

TEST_F(Bundle, Bundle_RecordsItsContents) {
  const auto meta = nlohmann::json::parse(read(dir / "bundle" / "bundle.json"));
  EXPECT_EQ(meta["format"], "vfp-bundle");
  EXPECT_EQ(meta["format_version"], 2);
  EXPECT_TRUE(meta["recalibration"].is_object());
  EXPECT_EQ(meta["models"].size(), 2u);
  EXPECT_EQ(meta["preprocess"]["patch_mm"], 31.0);
  EXPECT_EQ(meta["cox"]["covariates"], (nlohmann::json{"score", "age", "bmi"}));
  EXPECT_FALSE(meta["cox"]["baseline"]["cumulative_hazard"].empty());
  EXPECT_EQ(meta["validation"]["folds"], 2);
  const auto manifest = nlohmann::json::parse(read(dir / "bundle" / "manifest.json"));
  EXPECT_EQ(manifest["files"].size(), 3u); // bundle.json + 2 models
  const auto meta3d = nlohmann::json::parse(read(dir / "bundle3d" / "bundle.json"));
  EXPECT_EQ(meta3d["preprocess"]["output"], "3d");
  EXPECT_EQ(meta3d["config"]["model"]["dims"], 3);
}

namespace {

/// The training cache of the `output` (2d, 3d) configuration: the patches training saw.
vfp::data::PatchSet training_cache(const fs::path& dir, const std::string& output) {
  for (const auto& entry : vfp::data::list_caches(dir / "results" / "cache"))
    if (entry.problem.empty() && entry.shape.size() == (output == "3d" ? 5u : 4u))
      return vfp::data::read_cache(entry.file, entry.key);
  ADD_FAILURE() << "no " << output << " cache in " << (dir / "results" / "cache");
  return {};
}

/// The index of `subject`'s patch of vertebra `label` in a patch set.
std::size_t patch_index(const vfp::data::PatchSet& set, const std::string& subject, int label) {
  for (std::size_t k = 0; k < set.size(); ++k)
    if (set.subject_ids[k] == subject && set.vertebrae[k] == label)
      return k;
  ADD_FAILURE() << "no patch of " << subject << " label " << label;
  return 0;
}

/// The documented 8-bit mapping of the pictures.
int grey(float v) {
  return int(std::lround(255.0 * std::clamp(v, 0.0F, 1.0F)));
}

} // namespace

TEST_F(Bundle, Batch_WithBadPatients_ReportsEach_PredictsTheOthers_ExitsWith3) {
  // Each way a patient can be bad, among good ones: only the bad rows carry an error (naming
  // subject and reason), the good ones are what a single prediction gives, the exit code is 3.
  auto centroids = nlohmann::json::parse(read(dir / "cohort" / "centroids" / "S0005.json"));
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& c : centroids)
    if (c.value("label", 0) != 21)
      kept.push_back(c);
  std::ofstream(dir / "S0005_without_l2.json") << kept.dump();
  auto outside = nlohmann::json::parse(read(dir / "cohort" / "centroids" / "S0007.json"));
  for (auto& c : outside)
    if (c.value("label", 0) == 20)
      c["X"] = 5000.0;
  std::ofstream(dir / "S0007_outside.json") << outside.dump();
  std::ofstream(dir / "garbage.nii") << "not a CT at all\n";
  std::ofstream(dir / "bad_batch.csv")
      << "subject_id,image,centroids,age,bmi\n"
      << "S0003,cohort/images/S0003.nii.gz,cohort/centroids/S0003.json,71,25.5\n"
      << "S0006,cohort/images/missing.nii.gz,cohort/centroids/S0006.json,70,25\n"
      << "S0005,cohort/images/S0005.nii.gz,S0005_without_l2.json,,\n"
      << "S0001,cohort/images/S0001.nii.gz,cohort/centroids/S0001.json,,\n"
      << "S0007,cohort/images/S0007.nii.gz,S0007_outside.json,,\n"
      << "S0009,garbage.nii,cohort/centroids/S0009.json,,\n"
      << "S0008,cohort/images/S0008.nii.gz,cohort/centroids/S0008.json,old,25\n";
  // stderr apart: it holds the errors and the summary, stdout the JSON.
  // VFP_PROGRESS_INTERVAL=0: a progress line per patient, which a batch of thousands needs.
  const auto out = run("(" + in_dir() + "VFP_PROGRESS_INTERVAL=0 " + VFP_BIN +
                       " predict --bundle bundle --csv bad_batch.csv --json --threads 2 "
                       "2>batch_errors.txt)");
  EXPECT_EQ(out.code, 3) << out.text;
  const auto batch = parse_json(out);
  ASSERT_EQ(batch.size(), 7u);
  EXPECT_EQ(batch[0], json_of(predict("S0003", "--age 71 --bmi 25.5 --json")));
  EXPECT_EQ(batch[3], json_of(predict("S0001", "--json")));
  const std::map<std::size_t, std::string> reasons{
      {1, "subject S0006: image not found: "},
      {2, "subject S0005: no centroid for L2 (label 21) in "},
      {4, "subject S0007: L1 centroid lies outside the image "},
      {5, "subject S0009: cannot read image "},
      {6, "subject S0008: "}};
  for (const auto& [row, reason] : reasons) {
    ASSERT_TRUE(batch[row].contains("error")) << batch[row].dump(2);
    EXPECT_EQ(batch[row].size(), 2u) << batch[row].dump(2); // subject_id and error only
    EXPECT_EQ(batch[row]["error"].get<std::string>().rfind(reason, 0), 0u)
        << batch[row]["error"] << " should start with " << reason;
  }
  EXPECT_NE(batch[6]["error"].get<std::string>().find("bad_batch.csv:8"), std::string::npos)
      << batch[6]["error"]; // the row, for a cell that is not a number
  const auto errors = read(dir / "batch_errors.txt");
  EXPECT_NE(errors.find("5 of 7 patients could not be predicted (S0006, S0005, S0007, S0009, "
                        "S0008); the others were"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("vfp predict: patients: 1/7 (14 %)"), std::string::npos) << errors;
  EXPECT_NE(errors.find("vfp predict: patients: 7/7 done in "), std::string::npos) << errors;
  // As text, each bad patient's report says why.
  const auto text = run(in_dir() + VFP_BIN + " predict --bundle bundle --csv bad_batch.csv");
  EXPECT_EQ(text.code, 3) << text.text;
  EXPECT_NE(text.text.find("patient S0006\n  error: subject S0006: image not found"),
            std::string::npos)
      << text.text;
  EXPECT_NE(text.text.find("patient S0003\n  fracture probability"), std::string::npos)
      << text.text;
}

TEST_F(Bundle, Png_IsThePatchTheModelSaw_In2dAnd3d) {
  // The PNG, decoded by ITK, against the patches training cached, through the documented
  // mapping round(255 · clamp(v, 0, 1)): 2D, the projection; 3D, the cube's central sagittal
  // slice (x = (n-1)/2; row r is z = n-1-r, superior up; column c is y = c).
  for (const auto& [output, bundle] : {std::pair{"2d", "bundle"}, std::pair{"3d", "bundle3d"}}) {
    const auto pictures = dir / ("png_" + std::string(output));
    const auto out = predict("S0004", "--png " + pictures.string(), bundle);
    ASSERT_EQ(out.code, 0) << out.text;
    const auto cache = training_cache(dir, output);
    for (const auto& [name, label] : {std::pair{"L1", 20}, std::pair{"L2", 21}}) {
      const auto png =
          vfp::inference_test::read_png(pictures / ("S0004_" + std::string(name) + ".png"));
      const float* patch = cache.patch(patch_index(cache, "S0004", label));
      const int n = cache.height;
      ASSERT_EQ(png.width, cache.width) << output;
      ASSERT_EQ(png.height, n) << output;
      int differing = 0;
      for (int r = 0; r < n; ++r)
        for (int c = 0; c < n; ++c) {
          const float v =
              cache.depth > 0
                  ? patch[(std::size_t(n - 1 - r) * std::size_t(n) + std::size_t(c)) * n +
                          std::size_t((n - 1) / 2)]
                  : patch[std::size_t(r) * n + std::size_t(c)];
          differing += png.pixels[std::size_t(r) * n + std::size_t(c)] != grey(v);
        }
      EXPECT_EQ(differing, 0) << output << " " << name << ": " << n << "×" << n;
    }
  }
}

TEST_F(Bundle, Centroids_AsTableOrLabelMap_GiveTheVerSePrediction) {
  // Training's cache places each patch (its first voxel and spacing): the centroid it used in
  // LPS mm. Given as the study group's table (LPS, and RAS with --centroid-space), predict must
  // find the same vertebrae and give the VerSe JSON's numbers.
  const auto cache = training_cache(dir, "2d");
  std::map<int, std::array<double, 3>> lps;
  for (int label : {20, 21}) {
    const auto k = patch_index(cache, "S0004", label);
    for (int a = 0; a < 3; ++a)
      lps[label][std::size_t(a)] = cache.origin[3 * k + std::size_t(a)] +
                                   0.5 * (cache.height - 1) * cache.spacing[3 * k + std::size_t(a)];
  }
  auto write_table = [&](const fs::path& file, const std::map<int, std::array<double, 3>>& at,
                         double sign_xy) {
    std::ofstream f(file);
    f << "SubjectID;Vertebra;X;Y;Z\n";
    char line[200];
    for (const auto& [label, p] : at) {
      std::snprintf(line, sizeof line, "S0004;%s;%.17g;%.17g;%.17g\n", label == 20 ? "L1" : "L2",
                    sign_xy * p[0], sign_xy * p[1], p[2]);
      f << line;
    }
    f << "S0003;L1;1;2;3\n"; // other subjects may share the table
  };
  write_table(dir / "table_lps.csv", lps, 1.0);
  write_table(dir / "table_ras.txt", lps, -1.0);
  const auto verse = json_of(predict("S0004", "--json"));
  auto by_table = [&](const std::string& options) {
    return json_of(run(in_dir() + VFP_BIN +
                       " predict --bundle bundle --image cohort/images/S0004.nii.gz --id S0004 "
                       "--threads 1 --json " +
                       options));
  };
  auto expect_same = [](const nlohmann::json& a, const nlohmann::json& b, const std::string& what) {
    ASSERT_TRUE(a.contains("model_scores") && b.contains("model_scores")) << what;
    for (std::size_t m = 0; m < 2; ++m)
      EXPECT_NEAR(a["model_scores"][m].get<double>(), b["model_scores"][m].get<double>(), 1e-6)
          << what;
  };
  expect_same(by_table("--centroids table_lps.csv"), verse, "LPS table");
  expect_same(by_table("--centroids table_ras.txt --centroid-space ras"), verse, "RAS table");
  // A label map: 3×3×3 blocks around the voxels nearest those centroids; its centroids are
  // the blocks' centres, which a table can also give.
  const auto placed = vfp::inference_test::write_label_map(
      dir / "cohort" / "images" / "S0004.nii.gz", dir / "S0004_labels.nii.gz", lps);
  write_table(dir / "table_placed.csv", placed, 1.0);
  expect_same(by_table("--centroids S0004_labels.nii.gz"), by_table("--centroids table_placed.csv"),
              "label map");
  // A subject the table does not list, and a file whose format its name does not tell.
  auto out = run(in_dir() + VFP_BIN +
                 " predict --bundle bundle --image cohort/images/S0002.nii.gz --centroids "
                 "table_lps.csv");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("subject S0002: not listed in the centroid table table_lps.csv"),
            std::string::npos)
      << out.text;
  std::ofstream(dir / "S0004.points") << "20 1 2 3\n";
  out = run(in_dir() + VFP_BIN +
            " predict --bundle bundle --image cohort/images/S0004.nii.gz --centroids S0004.points");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("subject S0004: cannot tell the format of the centroid file "
                          "S0004.points"),
            std::string::npos)
      << out.text;
}

TEST_F(Bundle, ModelThatDoesNotTakeTheBundlesPatches_IsRefusedNamingIt) {
  // A 3D bundle whose bundle.json claims 2D projections (manifest rewritten to match, as a
  // careless hand edit would): predict names the model file and the mismatch instead of
  // letting torch fail on a shape.
  const auto copy = dir / "mismatched";
  fs::remove_all(copy);
  fs::copy(dir / "bundle3d", copy);
  auto meta = nlohmann::json::parse(read(copy / "bundle.json"));
  meta["preprocess"]["output"] = "2d";
  rewrite_bundle_json(copy, meta);
  auto out = predict("S0001", "", "mismatched");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("model-r0-f0.safetensors: a 3D model of 1 channel(s), but the "
                          "bundle's patches are 2D projections of 1 channel(s)"),
            std::string::npos)
      << out.text;
  // One patient alone: an unreadable image is a refusal (exit 1) naming subject and file.
  std::ofstream(dir / "unreadable.nii") << "not a CT\n";
  out = run(in_dir() + VFP_BIN +
            " predict --bundle bundle --image unreadable.nii --centroids "
            "cohort/centroids/S0001.json");
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_NE(out.text.find("vfp: error: subject unreadable: cannot read image unreadable.nii"),
            std::string::npos)
      << out.text;
}

TEST_F(Bundle, Export_RecordsTheRecalibrationOfThePooledOutOfFoldScores_WithItsHorizon) {
  // Against what training wrote (the tasks' oof.csv), independently of vfp::metrics: the prior
  // shift log(negatives/positives) (the tiny sweep trains with balanced_loss, shuffle, bce), the
  // follow-up, and the maximum-likelihood score equations of the logistic fit,
  // Σ (y − p) = 0 and Σ x·(y − p) = 0 with x = logit(score) − prior_shift.
  const auto meta = nlohmann::json::parse(read(dir / "bundle" / "bundle.json"));
  const auto& r = meta["recalibration"];
  ASSERT_TRUE(r.is_object()) << meta.value("recalibration_problem", "");
  const auto rows = oof_rows(task_by_fold("2d"));
  int events = 0;
  std::vector<double> times;
  for (const auto& [id, row] : rows) {
    events += row.event;
    times.push_back(row.time_years);
  }
  const int n = int(rows.size());
  ASSERT_GT(events, 0);
  ASSERT_LT(events, n);
  EXPECT_EQ(r["subjects"], n);
  EXPECT_EQ(r["events"], events);
  EXPECT_DOUBLE_EQ(r["event_rate"].get<double>(), double(events) / n);
  EXPECT_DOUBLE_EQ(r["prior_shift"].get<double>(), std::log(double(n - events) / events));
  EXPECT_NE(r["prior_shift_reason"].get<std::string>().find("balanced_loss"), std::string::npos);
  std::sort(times.begin(), times.end());
  const double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  EXPECT_DOUBLE_EQ(r["horizon"]["median_follow_up_years"].get<double>(), median);
  EXPECT_DOUBLE_EQ(r["horizon"]["max_follow_up_years"].get<double>(), times.back());
  char horizon[200];
  std::snprintf(horizon, sizeof horizon,
                "an incident vertebral fracture within the training cohort's follow-up (median "
                "%.1f y, longest %.1f y)",
                median, times.back());
  EXPECT_EQ(r["probability_of"], horizon);
  double residual = 0, weighted = 0;
  for (const auto& [id, row] : rows) {
    const double p = recalibrated(meta, row.score);
    residual += row.event - p;
    weighted +=
        (std::log(row.score / (1 - row.score)) - r["prior_shift"].get<double>()) * (row.event - p);
  }
  EXPECT_NEAR(residual, 0, 1e-6);
  EXPECT_NEAR(weighted, 0, 1e-6);
  EXPECT_GT(r["intercept_se"].get<double>(), 0);
  EXPECT_GT(r["slope_se"].get<double>(), 0);
  // The cross-fitted calibration: every subject once, the deciles covering them all.
  const auto& c = meta["validation"]["calibration"];
  ASSERT_TRUE(c.is_object()) << meta["validation"].value("calibration_problem", "");
  EXPECT_EQ(c["subjects"], n);
  EXPECT_EQ(c["events"], events);
  EXPECT_DOUBLE_EQ(c["observed_rate"].get<double>(), double(events) / n);
  EXPECT_GE(c["brier"].get<double>(), 0);
  EXPECT_LE(c["brier"].get<double>(), 1);
  int binned = 0, binned_events = 0;
  for (const auto& b : c["bins"]) {
    binned += b["n"].get<int>();
    binned_events += b["events"].get<int>();
    EXPECT_LE(b["observed_lower"].get<double>(), b["observed"].get<double>());
    EXPECT_GE(b["observed_upper"].get<double>(), b["observed"].get<double>());
  }
  EXPECT_EQ(binned, n);
  EXPECT_EQ(binned_events, events);
}

TEST_F(Bundle, Predict_CallsOnlyTheCalibratedOutputAProbability_NamingItsHorizon) {
  const auto meta = nlohmann::json::parse(read(dir / "bundle" / "bundle.json"));
  const auto r = json_of(predict("S0002", "--json"));
  const double score = r["score"], probability = r["probability"];
  EXPECT_NEAR(probability, recalibrated(meta, score), 1e-12);
  EXPECT_EQ(r["probability_of"], meta["recalibration"]["probability_of"]);
  EXPECT_FALSE(r.contains("probability_note"));
  const auto text = predict("S0002");
  ASSERT_EQ(text.code, 0) << text.text;
  char line[400];
  std::snprintf(line, sizeof line,
                "  fracture probability: %.3f (of %s; the image model, "
                "recalibrated)\n  score: %.3f (the image model's output, not a probability: "
                "mean of 2 fold models;",
                probability, meta["recalibration"]["probability_of"].get<std::string>().c_str(),
                score);
  EXPECT_NE(text.text.find(line), std::string::npos) << text.text;
  EXPECT_NE(text.text.find("  per-vertebra scores: L1 "), std::string::npos) << text.text;
  EXPECT_NE(text.text.find("  bundle calibration (cross-fitted): Brier "), std::string::npos)
      << text.text;
}

TEST_F(Bundle, OldBundle_WithoutARecalibration_PredictsTheScoreOnly_WithANote) {
  // A bundle of format 1 (written before vfp stored a recalibration) loads and predicts: the
  // same score, no probability, and a note saying why.
  const auto old = dir / "old_format";
  fs::remove_all(old);
  fs::copy(dir / "bundle", old);
  auto meta = nlohmann::json::parse(read(old / "bundle.json"));
  meta["format_version"] = 1;
  meta.erase("recalibration");
  meta["validation"].erase("calibration");
  rewrite_bundle_json(old, meta);
  const auto current = json_of(predict("S0003", "--json"));
  const auto r = json_of(predict("S0003", "--json", "old_format"));
  EXPECT_TRUE(r["probability"].is_null());
  EXPECT_FALSE(r.contains("probability_of"));
  EXPECT_EQ(r["score"], current["score"]);
  EXPECT_EQ(r["probability_note"],
            "no calibrated probability: the bundle was written before vfp stored a "
            "recalibration (bundle format 1); export it again for one; the score is the "
            "models' output, not a probability");
  const auto text = predict("S0003", "", "old_format");
  ASSERT_EQ(text.code, 0) << text.text;
  EXPECT_NE(text.text.find("patient S0003\n  fracture probability: not available (no "
                           "calibrated probability: the bundle was written before"),
            std::string::npos)
      << text.text;
  EXPECT_NE(text.text.find("\n  score: "), std::string::npos) << text.text;
  // Format 2 whose export could not fit one says so with export's reason.
  meta["format_version"] = 2;
  meta["recalibration"] = nullptr;
  meta["recalibration_problem"] = "recalibration is undefined: no positive labels among 40 "
                                  "samples";
  rewrite_bundle_json(old, meta);
  EXPECT_EQ(json_of(predict("S0003", "--json", "old_format"))["probability_note"],
            "no calibrated probability: the bundle's recalibration could not be fitted "
            "(recalibration is undefined: no positive labels among 40 samples); the score is "
            "the models' output, not a probability");
}

TEST_F(Bundle, SubjectIdsThatArePaths_AreRefusedNamingTheRow_NoPictureLeavesItsFolder) {
  // --svg deep/a/pictures: "../../outside/x" would land in deep/outside, an absolute id in /tmp.
  const std::string absolute = "/tmp/vfp_predict_absolute_" + std::to_string(::getpid());
  std::ofstream(dir / "hostile_batch.csv")
      << "subject_id,image,centroids\n"
      << "S0003,cohort/images/S0003.nii.gz,cohort/centroids/S0003.json\n"
      << "../../outside/x,cohort/images/S0004.nii.gz,cohort/centroids/S0004.json\n"
      << absolute << ",cohort/images/S0004.nii.gz,cohort/centroids/S0004.json\n";
  const auto out = run("(" + in_dir() + VFP_BIN +
                       " predict --bundle bundle --csv hostile_batch.csv --json --threads 2 "
                       "--svg deep/a/pictures --png deep/a/pictures 2>hostile_errors.txt)");
  EXPECT_EQ(out.code, 3) << out.text;
  const auto batch = parse_json(out);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_FALSE(batch[0].contains("error")) << batch[0].dump(2);
  for (const auto& [row, line, id] : {std::tuple{std::size_t(1), 3, std::string("../../outside/x")},
                                      std::tuple{std::size_t(2), 4, absolute}}) {
    ASSERT_TRUE(batch[row].contains("error")) << batch[row].dump(2);
    EXPECT_NE(
        batch[row]["error"].get<std::string>().find("hostile_batch.csv:" + std::to_string(line) +
                                                    ": subject_id '" + id + "' holds a '/'"),
        std::string::npos)
        << batch[row]["error"];
  }
  // Only the good patient's pictures, all inside the folder given.
  for (const auto& e : fs::recursive_directory_iterator(dir / "deep")) {
    if (e.is_regular_file()) {
      EXPECT_EQ(e.path().parent_path(), dir / "deep" / "a" / "pictures") << e.path();
    }
  }
  EXPECT_TRUE(fs::exists(dir / "deep" / "a" / "pictures" / "S0003_L1.svg"));
  EXPECT_TRUE(fs::exists(dir / "deep" / "a" / "pictures" / "S0003_L1.png"));
  EXPECT_FALSE(fs::exists(dir / "deep" / "outside"));
  for (const char* tail : {"_L1.svg", "_L1.png", "_L2.svg", "_L2.png"})
    EXPECT_FALSE(fs::exists(absolute + tail)) << absolute + tail;

  // One patient: --id is refused by name before anything is read or written.
  const auto one = run(in_dir() + VFP_BIN +
                       " predict --bundle bundle --image cohort/images/S0004.nii.gz --centroids "
                       "cohort/centroids/S0004.json --id ../../outside/y --svg deep/a/pictures");
  EXPECT_EQ(one.code, 1) << one.text;
  EXPECT_NE(one.text.find("vfp predict: --id: subject id '../../outside/y' holds a '/'"),
            std::string::npos)
      << one.text;
  EXPECT_FALSE(fs::exists(dir / "deep" / "outside"));
}
