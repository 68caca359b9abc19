// The synthetic cohort: determinism, formats, and that the planted signal is in the images.
#include "synth/synth.h"

#include "core/core.h"
#include "data/data.h"
#include "survival/survival.h"
#include "synth/synth_internal.h" // the module's own test may see its internals

#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace fs = std::filesystem;

namespace {

fs::path dir_for(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vfp_synth_test_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  return d;
}

std::map<std::string, std::string> all_files(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      files[fs::relative(e.path(), root).string()] = vfp::read_text_file(e.path());
  return files;
}

vfp::synth::SynthSummary make(const fs::path& out, int n, std::uint64_t seed, int threads = 1,
                              double rate = 0.3) {
  vfp::synth::SynthOptions o;
  o.subjects = n;
  o.out = out;
  o.seed = seed;
  o.threads = threads;
  o.event_rate = rate;
  return vfp::synth::generate_cohort(o);
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i] / a.size();
    mb += b[i] / b.size();
  }
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

std::string error_of(int n, double rate, const fs::path& out) {
  vfp::synth::SynthOptions o;
  o.subjects = n;
  o.event_rate = rate;
  o.out = out;
  try {
    vfp::synth::generate_cohort(o);
  } catch (const vfp::InputError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(SynthCohort, SameSeedGivesIdenticalBytesWhateverTheThreads) {
  const auto da = dir_for("a"), db = dir_for("b"), dc = dir_for("c");
  make(da, 4, 9, 1);
  make(db, 4, 9, 2);
  make(dc, 4, 10, 1);
  const auto a = all_files(da);
  EXPECT_EQ(a.size(), 4u * 2 + 2);
  EXPECT_EQ(a, all_files(db));
  EXPECT_NE(a.at("cohort.csv"), all_files(dc).at("cohort.csv"));
  EXPECT_NE(a.at("images/S0001.nii.gz"), all_files(dc).at("images/S0001.nii.gz"));
}

TEST(SynthCohort, WritesTableCentroidsAndImagesThatAgree) {
  const auto out = dir_for("fmt");
  const int n = 24;
  make(out, n, 5, 2, 0.25);
  std::ifstream csv(out / "cohort.csv");
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "subject_id,age,bmi,event,time_years,site");
  const auto truth = nlohmann::json::parse(vfp::read_text_file(out / "truth.json"));
  std::vector<double> strength, hu_at_l1;
  int rows = 0;
  using Image = itk::Image<short, 3>;
  vfp::data::register_image_formats();
  while (std::getline(csv, line)) {
    ++rows;
    const auto id = line.substr(0, line.find(','));
    auto reader = itk::ImageFileReader<Image>::New();
    reader->SetFileName((out / "images" / (id + ".nii.gz")).string());
    reader->Update();
    auto image = reader->GetOutput();
    const auto site = line.substr(line.rfind(',') + 1);
    const auto& s = vfp::synth::sites();
    const auto& expected =
        *std::find_if(s.begin(), s.end(), [&](auto& x) { return x.name == site; });
    EXPECT_NEAR(image->GetSpacing()[2], expected.spacing[2], 1e-4) << id;
    const auto c = nlohmann::json::parse(vfp::read_text_file(out / "centroids" / (id + ".json")));
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[1]["label"], 20);
    EXPECT_EQ(c[2]["label"], 21);
    // Mean HU in a 5×5×3 voxel block at the L1 centroid: trabecular bone.
    Image::IndexType centre;
    centre[0] = std::lround(c[1]["X"].get<double>());
    centre[1] = std::lround(c[1]["Y"].get<double>());
    centre[2] = std::lround(c[1]["Z"].get<double>());
    double sum = 0;
    int count = 0;
    for (int dz = -1; dz <= 1; ++dz)
      for (int dy = -2; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx) {
          auto idx = centre;
          idx[0] += dx;
          idx[1] += dy;
          idx[2] += dz;
          sum += image->GetPixel(idx);
          ++count;
        }
    hu_at_l1.push_back(sum / count);
    EXPECT_GT(hu_at_l1.back(), 0) << id;
    EXPECT_LT(hu_at_l1.back(), 400) << id;
    const auto& t = truth["subject_values"][rows - 1];
    EXPECT_EQ(t["id"], id);
    strength.push_back(t["bone_strength"].get<double>());
  }
  EXPECT_EQ(rows, n);
  EXPECT_GT(pearson(strength, hu_at_l1), 0.8);
}

TEST(SynthCohortModel, EventRateIsCloseToAskedAndRiskFollowsThePlantedModel) {
  vfp::synth::CohortModel model;
  const auto subjects = vfp::synth::draw_subjects(4000, 3, 0.15, model);
  double events = 0, ev_strength = 0, non_strength = 0;
  std::vector<double> age, strength;
  for (const auto& s : subjects) {
    events += s.event;
    (s.event ? ev_strength : non_strength) += s.bone_strength;
    age.push_back(s.age);
    strength.push_back(s.bone_strength);
    EXPECT_GT(s.time_years, 0);
    EXPECT_LE(s.time_years, 10.0);
  }
  EXPECT_NEAR(events / subjects.size(), 0.15, 0.002);
  // Fractures concentrate in weak bone; bone strength falls with age (rho -0.3).
  EXPECT_LT(ev_strength / events, non_strength / (subjects.size() - events) - 0.4);
  EXPECT_NEAR(pearson(age, strength), -0.3, 0.05);
}

TEST(SynthCohortModel, ACoxFitOnTheLatentAgeAndBmiRecoversEveryPlantedLogHazardRatio) {
  // What truth.json records is what a Cox model on the latent weakness (−bone strength), age
  // and BMI estimates: each planted log-HR lies in its fitted 95 % interval.
  vfp::synth::CohortModel model;
  const auto subjects = vfp::synth::draw_subjects(4000, 17, 0.15, model);
  std::vector<double> time, weakness, age, bmi;
  std::vector<int> event;
  for (const auto& s : subjects) {
    time.push_back(s.time_years);
    event.push_back(s.event);
    weakness.push_back(-s.bone_strength);
    age.push_back(s.age);
    bmi.push_back(s.bmi);
  }
  const auto fit =
      vfp::survival::fit_cox(time, event, {weakness, age, bmi}, {"weakness", "age", "bmi"});
  ASSERT_TRUE(fit.converged);
  const double planted[3] = {model.beta_weakness, model.beta_age / model.age_sd,
                             model.beta_bmi / model.bmi_sd};
  for (int k = 0; k < 3; ++k) {
    const auto& t = fit.terms[size_t(k)];
    EXPECT_NEAR(t.coef, planted[k], 1.96 * t.se)
        << t.name << ": fitted " << t.coef << " ± " << 1.96 * t.se << ", planted " << planted[k];
  }
}

TEST(SynthOptions, BadValuesNameTheOption) {
  EXPECT_EQ(error_of(0, 0.1, "/tmp/x"), "synth: --subjects must be at least 1 (got 0)");
  EXPECT_EQ(error_of(5, 1.5, "/tmp/x"),
            "synth: --event-rate must be between 0 and 1 (got 1.500000)");
  EXPECT_EQ(error_of(5, 0.1, ""), "synth: --out must name an output folder");
}

// An external pretraining cohort (ssl.cohort): ids only, and a centroid for every vertebra of
// each scan, each of which preprocessing with vertebrae [all] cuts into a patch.
TEST(SynthUnlabelled, WritesIdsOnlyAndACentroidForEveryVertebraOfTheScan) {
  const auto out = dir_for("unlabelled");
  vfp::synth::SynthOptions o;
  o.subjects = 2;
  o.out = out;
  o.seed = 4;
  o.unlabelled = true;
  o.vertebrae = "T11-L3";
  const auto summary = vfp::synth::generate_cohort(o);
  EXPECT_EQ(summary.events, 0);
  EXPECT_EQ(vfp::read_text_file(out / "cohort.csv"), "subject_id\nU0001\nU0002\n");
  const auto truth = nlohmann::json::parse(vfp::read_text_file(out / "truth.json"));
  EXPECT_TRUE(truth.at("unlabelled").get<bool>());
  EXPECT_EQ(truth.count("cox"), 0u);
  const auto centroids = vfp::data::read_verse_centroids(out / "centroids" / "U0002.json");
  std::vector<int> labels;
  for (const auto& c : centroids.centroids)
    labels.push_back(c.label);
  EXPECT_EQ(labels, (std::vector<int>{18, 19, 20, 21, 22})); // T11 … L3
  vfp::config::PreprocessConfig params;
  params.spacing_mm = 3.0;
  params.patch_mm = 48;
  params.vertebrae = {"all"};
  vfp::data::PatchSet patches;
  vfp::data::preprocess_subject("U0002", out / "images" / "U0002.nii.gz",
                                out / "centroids" / "U0002.json", params, patches);
  EXPECT_EQ(patches.vertebrae, labels);
  // Neighbours 35 mm apart along the body axis (z, LPS), as the phantom stacks them.
  for (std::size_t i = 1; i < patches.size(); ++i)
    EXPECT_NEAR(patches.origin[3 * (i - 1) + 2] - patches.origin[3 * i + 2], 35.0, 3.5);
}

TEST(SynthOptions, ABadVertebraRangeNamesTheOption) {
  vfp::synth::SynthOptions o;
  o.out = dir_for("bad_range");
  for (const auto& [range, error] : std::vector<std::pair<std::string, std::string>>{
           {"L2-L4", "synth: --vertebrae L2-L4: the range must hold L1 and L2 (the subject's own "
                     "pair), e.g. T10-L4"},
           {"T10", "synth: --vertebrae T10: expected a range such as T12-L3"},
           {"C7-L2", "synth: --vertebrae C7-L2: 'C7' is not a vertebra T1-T12 or L1-L5"}}) {
    o.vertebrae = range;
    try {
      vfp::synth::generate_cohort(o);
      ADD_FAILURE() << range << " must be refused";
    } catch (const vfp::InputError& e) {
      EXPECT_EQ(std::string(e.what()), error);
    }
  }
  EXPECT_FALSE(fs::exists(o.out)) << "nothing is written for a bad option";
}
