// A DICOM export as hospitals send it runs unchanged (issue 25): each subject's folder holds
// a scout, the CT and a second, thicker reconstruction. One 2-rank `vfp run` over that cohort
// must cache exactly the patches that folders holding only the CT series give, built here
// in-process.
#include "config/yaml.h"
#include "data/data.h"
#include "shell.h"

#include "../support/ct_series.h"

#include <gtest/gtest.h>
#include <itkImageFileReader.h>
#include <itkImageRegionIteratorWithIndex.h>

namespace fs = std::filesystem;
using vfp::testing_support::Short3;
using vfp::testing_support::write_dicom_series;

namespace {

using namespace vfp::integration;

/// Every `step`-th slice of `image` (slices from `first`): a thicker reconstruction, or with
/// two slices a stand-in for a scout.
Short3::Pointer every_nth_slice(const Short3::Pointer& image, unsigned first, unsigned step,
                                unsigned count) {
  auto out = Short3::New();
  auto size = image->GetLargestPossibleRegion().GetSize();
  size[2] = count;
  out->SetRegions(Short3::RegionType(size));
  auto spacing = image->GetSpacing();
  spacing[2] *= step;
  out->SetSpacing(spacing);
  out->SetDirection(image->GetDirection());
  Short3::PointType origin;
  image->TransformIndexToPhysicalPoint(Short3::IndexType{{0, 0, long(first)}}, origin);
  out->SetOrigin(origin);
  out->Allocate();
  itk::ImageRegionIteratorWithIndex<Short3> it(out, out->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it) {
    auto index = it.GetIndex();
    index[2] = long(first + step * unsigned(index[2]));
    it.Set(image->GetPixel(index));
  }
  return out;
}

/// The cohort's images as DICOM: single/<id>/ holds the CT series alone, export/<id>/ a scout,
/// the same CT series and a reconstruction at twice the slice thickness.
void write_dicom_cohort(const fs::path& dir, const std::vector<vfp::data::Subject>& subjects) {
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    const auto& id = subjects[i].id;
    auto reader = itk::ImageFileReader<Short3>::New();
    reader->SetFileName((dir / "cohort" / "images" / (id + ".nii.gz")).string());
    reader->Update();
    const Short3::Pointer ct = reader->GetOutput();
    const auto slices = unsigned(ct->GetLargestPossibleRegion().GetSize()[2]);
    const std::string study = "1.2.826.0.1.3680043.2.1125.77." + std::to_string(i + 1);
    // Series `number` of the subject's study.
    const auto series = [&](const char* prefix, const std::string& number, const char* description,
                            const char* image_type) {
      auto s = vfp::testing_support::named_series(prefix, study + "." + number, number, description,
                                                  image_type);
      s.study_uid = study;
      return s;
    };
    for (const char* where : {"single", "export"}) {
      fs::create_directories(dir / where / id);
      write_dicom_series(dir / where / id, ct,
                         series("ct", "2", "Abdomen 1.0 B30f", "ORIGINAL\\PRIMARY\\AXIAL"));
    }
    const auto out = dir / "export" / id;
    write_dicom_series(out, every_nth_slice(ct, slices / 2, 1, 2),
                       series("scout", "1", "Topogram 0.6 T20f", "ORIGINAL\\PRIMARY\\LOCALIZER"));
    write_dicom_series(out, every_nth_slice(ct, 0, 2, slices / 2),
                       series("thick", "3", "Abdomen 2.0 B60f", "ORIGINAL\\PRIMARY\\AXIAL"));
  }
}

vfp::config::ExperimentConfig config_of(const fs::path& file) {
  const auto flat =
      vfp::config::flatten(vfp::config::load_yaml_text(read(file), file.string()), file.string());
  return vfp::config::parse_experiment(flat, file.parent_path());
}

TEST(DicomCohort, TwoRanksOverExportsWithScoutsAndReconstructionsCacheTheSinglesPatches) {
  std::string error;
  const auto dir = fs::temp_directory_path() / ("vfp_dicom_cohort_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto synth = run(std::string(VFP_BIN) + " synth --subjects 8 --event-rate 0.5 --seed 3 " +
                         "--out " + (dir / "cohort").string());
  ASSERT_EQ(synth.code, 0) << synth.text;
  const auto subjects = vfp::data::read_cohort(dir / "cohort" / "cohort.csv");
  vfp::data::register_image_formats();
  write_dicom_cohort(dir, subjects);

  std::ofstream(dir / "export.yaml") << tiny_sweep_text(
      "dcm", "max_epochs: 1, patience: 1, batch_size: 8", "", "cohort, images: 'export/{id}'");
  std::ofstream(dir / "single.yaml") << tiny_sweep_text(
      "dcm", "max_epochs: 1, patience: 1, batch_size: 8", "", "cohort, images: 'single/{id}'");
  const auto out = run("cd " + dir.string() + " && " + mpirun(2) + " run export.yaml");
  ASSERT_EQ(out.code, 0) << out.text;
  // The choice is logged with the rule and the series left out.
  EXPECT_NE(out.text.find("'Abdomen 1.0 B30f' (44 slices) (SeriesNumber 2) by rule 'largest'; "
                          "skipped 1.2.826.0.1.3680043.2.1125.77."),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("'Topogram 0.6 T20f' (2 slices): a localiser"), std::string::npos);
  EXPECT_NE(out.text.find("'Abdomen 2.0 B60f' (22 slices): fewer slices"), std::string::npos);

  const auto exported = config_of(dir / "export.yaml");
  const auto key = vfp::data::cache_key(exported, subjects);
  const auto cached =
      vfp::data::read_cache(vfp::data::cache_file(dir / "results" / "cache", key), key);
  const auto single = vfp::data::preprocess_cohort(subjects, config_of(dir / "single.yaml"), 2);
  ASSERT_EQ(cached.size(), subjects.size() * 2);
  EXPECT_EQ(cached.subject_ids, single.subject_ids);
  EXPECT_EQ(cached.vertebrae, single.vertebrae);
  ASSERT_EQ(cached.pixels.size(), single.pixels.size());
  EXPECT_TRUE(cached.pixels == single.pixels) << "the export's patches differ from the CT's";
  EXPECT_FALSE(rows_of(dir / "results" / "dcm" / "results.jsonl", "train_eval").empty());
  fs::remove_all(dir);
}

} // namespace
