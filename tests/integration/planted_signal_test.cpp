// On the synthetic cohort, whose fracture risk is planted in the vertebrae's bone, a small 2D
// model trained for a few epochs on CPU reaches a patient-level AUROC well above chance and a
// good part of the way to the ceiling set by the planted latent variable.
#include "shell.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace {

using namespace vfp::integration;

/// Mann–Whitney AUROC (ties ½), written out here so the test does not lean on lib/metrics.
double auroc(const std::vector<double>& score, const std::vector<int>& label) {
  double pairs = 0, wins = 0;
  for (size_t i = 0; i < score.size(); ++i)
    for (size_t j = 0; j < score.size(); ++j)
      if (label[i] == 1 && label[j] == 0) {
        pairs += 1;
        wins += score[i] > score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

TEST(PlantedSignal, A2DModelLearnsTheFractureRiskPlantedInTheBone) {
  const auto dir = fs::temp_directory_path() / ("vfp_planted_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto in_dir = "cd " + dir.string() + " && ";
  auto synth =
      run(in_dir + VFP_BIN + " synth --subjects 160 --event-rate 0.3 --seed 11 --out cohort");
  ASSERT_EQ(synth.code, 0) << synth.text;
  // The study's preprocessing (47 mm cube at 1 mm, sagittal AIP of slices 10–39), fNet w8.
  std::ofstream(dir / "planted.yaml") << R"(name: planted
cohort: {dir: cohort}
preprocess: {patch_mm: 47, spacing_mm: 1.0, slab_mm: 30, slab_start: 10}
cv: {folds: 2, seed: 3}
model: {width: 8}
train: {max_epochs: 8, patience: 8, batch_size: 16, lr: 1.0e-3}
)";
  auto out = run(in_dir + mpirun(3) + " run planted.yaml");
  ASSERT_EQ(out.code, 0) << out.text;

  // The ceiling: the AUROC of the planted latent weakness (−bone strength) for the event.
  const auto truth = nlohmann::json::parse(read(dir / "cohort" / "truth.json"));
  std::map<std::string, double> weakness;
  for (const auto& s : truth["subject_values"])
    weakness[s["id"].get<std::string>()] = -s["bone_strength"].get<double>();
  std::vector<double> latent;
  std::vector<int> events;
  std::istringstream csv(read(dir / "cohort" / "cohort.csv"));
  std::string line;
  std::getline(csv, line); // header: subject_id,age,bmi,event,...
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');)
      cells.push_back(cell);
    latent.push_back(weakness.at(cells.at(0)));
    events.push_back(std::stoi(cells.at(3)));
  }
  const double ceiling = auroc(latent, events);
  EXPECT_GT(ceiling, 0.7); // the cohort carries the planted effect (0.773 when written)

  const auto rows = rows_of(dir / "results" / "planted" / "results.jsonl", "train_eval");
  ASSERT_EQ(rows.size(), 2u);
  double mean = 0;
  for (const auto& r : rows) {
    ASSERT_EQ(r["status"], "ok") << r.dump();
    EXPECT_GT(r["auroc"].get<double>(), 0.6) << r.dump();
    mean += r["auroc"].get<double>() / 2;
  }
  // Measured when written: folds 0.67 and 0.75 (mean 0.713) against a ceiling of 0.773.
  // Required: at least half of the ceiling's margin over chance.
  EXPECT_GT(mean, 0.5 + 0.5 * (ceiling - 0.5)) << "ceiling " << ceiling;
  std::printf("patient-level AUROC over 2 folds %.3f; planted latent ceiling %.3f\n", mean,
              ceiling);
  // The sweep's cox job: the image score carries hazard beyond age and BMI, and its
  // recalibrated probabilities (cross-fitted over the folds) average to the observed rate.
  const auto cox = rows_of(dir / "results" / "planted" / "results.jsonl", "cox");
  ASSERT_EQ(cox.size(), 1u);
  const auto& survival = cox[0]["survival"];
  ASSERT_TRUE(survival.is_object()) << cox[0].dump();
  EXPECT_GT(survival["score_hr_per_sd_lower"].get<double>(), 1.0) << survival.dump();
  EXPECT_GT(survival["c_image"].get<double>(), survival["c_baseline"].get<double>())
      << survival.dump();
  // Three covariates refitted on 160 subjects: the apparent C is optimistic (measured when
  // written: 0.651 apparent, 0.620 corrected, against 0.641 / 0.628 for age + BMI).
  EXPECT_LT(survival["c_image_corrected"].get<double>(), survival["c_image"].get<double>());
  const auto& calibrated = cox[0]["calibration"]["cross_fitted"];
  const double n = calibrated["n"].get<double>(), rate = calibrated["observed_rate"].get<double>();
  EXPECT_NEAR(calibrated["mean_predicted"].get<double>(), rate,
              1.96 * std::sqrt(rate * (1 - rate) / n))
      << calibrated.dump();
  std::printf("HR per SD %.2f; C %.3f (corrected %.3f) vs age + BMI %.3f; Brier %.3f\n",
              survival["score_hr_per_sd"].get<double>(), survival["c_image"].get<double>(),
              survival["c_image_corrected"].get<double>(), survival["c_baseline"].get<double>(),
              calibrated["brier"].get<double>());
  fs::remove_all(dir);
}

} // namespace
