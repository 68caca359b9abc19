// A subject excluded for any reason is absent everywhere: here one whose centroid file names
// L1 but not L2, preprocessed in shards by two MPI workers (the multi-rank path), with
// cohort.on_bad_subject: exclude. Its L1 patch must reach no cache, no task's predictions, no
// pooled file and no table, and the table lists it with its reason.
#include "shell.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

using namespace vfp::integration;

TEST(ExcludedSubject, IsAbsentFromTheShardedCacheEveryPredictionAndTheCoxFitAndListed) {
  std::string error;
  const auto dir = folder_with_synth_cohort("exclusion", error);
  ASSERT_FALSE(dir.empty()) << error;
  // S0007's centroids: its own L1 entry, no L2 (L1's patch is made before L2 fails).
  const auto centroids = dir / "cohort" / "centroids" / "S0007.json";
  auto entries = nlohmann::json::parse(read(centroids)), kept = nlohmann::json::array();
  for (const auto& e : entries)
    if (e.value("label", 0) != 21)
      kept.push_back(e);
  ASSERT_EQ(kept.size() + 1, entries.size()) << entries.dump();
  std::ofstream(centroids) << kept.dump(1);
  std::ofstream(dir / "excl.yaml") << tiny_sweep_text(
      "excl", "max_epochs: 1, patience: 1, batch_size: 8", "", "cohort, on_bad_subject: exclude");
  // Three ranks: two workers split the missing cache into shards, then one merges them.
  auto out = run("cd " + dir.string() + " && " + mpirun(3) + " run excl.yaml");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("merged 2 shards"), std::string::npos) << out.text;

  // The cache: 39 subjects × 2 vertebrae, S0007 in the excluded list only.
  std::vector<fs::path> caches;
  for (const auto& e : fs::directory_iterator(dir / "results" / "cache"))
    caches.push_back(e.path());
  ASSERT_EQ(caches.size(), 1u);
  const auto ids = run("h5dump -d subject_id " + caches[0].string()).text;
  EXPECT_EQ(ids.find("S0007"), std::string::npos) << ids;
  EXPECT_NE(ids.find("S0008"), std::string::npos) << ids;
  const auto attributes = run("h5dump -a excluded " + caches[0].string()).text;
  EXPECT_NE(attributes.find("S0007"), std::string::npos) << attributes;
  EXPECT_NE(attributes.find("label 21"), std::string::npos) << attributes;

  // No prediction of it anywhere: the folds' and the pooled files, and the Cox fit's count.
  int prediction_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir / "results" / "excl"))
    if (e.path().filename() == "oof.csv") {
      ++prediction_files;
      EXPECT_EQ(read(e.path()).find("S0007"), std::string::npos) << e.path();
    }
  EXPECT_EQ(prediction_files, 2 + 1); // two folds, one pooled file
  const auto cox = rows_of(dir / "results" / "excl" / "results.jsonl", "cox");
  ASSERT_EQ(cox.size(), 1u);
  EXPECT_EQ(cox[0]["subjects"], 39) << cox[0].dump();

  // The table names it and why.
  const auto table = read(dir / "results" / "excl" / "report" / "table.md");
  EXPECT_NE(table.find("Excluded from every analysis (1 subject): S0007 ("), std::string::npos)
      << table;
  EXPECT_NE(table.find("L2 (label 21)"), std::string::npos) << table;
  fs::remove_all(dir);
}

// Issue 23: a NaN in a NIfTI's sform made ITK/VNL abort(): every MPI rank died with SIGABRT,
// on_bad_subject: exclude or not. Now the header is checked before ITK sees it: the subject is
// excluded with its reason and the run goes on.
TEST(ExcludedSubject, ANanSformImageIsExcludedWithItsReasonAndTheRunGoesOn) {
  std::string error;
  const auto dir = folder_with_synth_cohort("exclusion_nan_sform", error);
  ASSERT_FALSE(dir.empty()) << error;
  // srow_x[0] (byte 280 of the NIfTI-1 header) becomes a little-endian float NaN.
  const auto images = dir / "cohort" / "images";
  const auto broken = run("cd " + images.string() +
                          " && gzip -dc S0005.nii.gz > x.nii && printf '\\000\\000\\300\\177' | "
                          "dd of=x.nii bs=1 seek=280 conv=notrunc 2>/dev/null && gzip -c x.nii "
                          "> S0005.nii.gz && rm x.nii");
  ASSERT_EQ(broken.code, 0) << broken.text;
  std::ofstream(dir / "nan.yaml") << tiny_sweep_text(
      "nan", "max_epochs: 1, patience: 1, batch_size: 8", "", "cohort, on_bad_subject: exclude");
  const auto out = run("cd " + dir.string() + " && " + mpirun(2) + " run nan.yaml");
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_NE(out.text.find("excluding subject S0005: subject S0005: image "), std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("the sform (srow_x, srow_y, srow_z) holds a non-finite value"),
            std::string::npos)
      << out.text;
  const auto table = read(dir / "results" / "nan" / "report" / "table.md");
  EXPECT_NE(table.find("Excluded from every analysis (1 subject): S0005 ("), std::string::npos)
      << table;
  fs::remove_all(dir);
}

} // namespace
