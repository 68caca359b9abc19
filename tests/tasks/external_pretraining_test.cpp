// An external pretraining cohort (ssl.cohort, ssl.data: external): its keys and their errors,
// reading its ids (a table or a folder), the plan (one pretraining shared by every fold, after
// the external cohort's own cache, split across ranks), and a real BYOL pretraining on a tiny
// synthetic unlabelled cohort whose labelled cohort does not even exist: it is never read.
#include "tasks/plan.h"
#include "tasks/tasks.h"

#include "plan_queries.h"

#include "core/core.h"
#include "data/data.h"
#include "sweep/sweep.h"
#include "synth/synth.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using vfp::dispatch::State;
using vfp::testing_support::jobs_of;
using vfp::testing_support::rows_only;

class ExternalPretraining : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vfp_external_pretraining_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ext" / "images");
  }
  void TearDown() override { fs::remove_all(dir_); }

  vfp::sweep::Sweep load(const std::string& text) const {
    std::ofstream(dir_ / "sweep.yaml") << text;
    return vfp::sweep::load(dir_ / "sweep.yaml");
  }
  /// The error loading `text` gives; empty when it loads.
  std::string error_of(const std::string& text) const {
    try {
      load(text);
    } catch (const vfp::InputError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

const std::string kBase = "name: ext\ncohort: {dir: labelled}\npretrained: {mode: ssl}\n";

} // namespace

TEST_F(ExternalPretraining, SslCohortDir_DefaultsDataToExternalAndTakesTheFoldersTable) {
  std::ofstream(dir_ / "ext" / "cohort.csv") << "subject_id\nU1\n";
  const auto sweep = load(kBase + "ssl: {cohort: {dir: ext}}\n");
  const auto& c = sweep.configurations.at(0).config;
  EXPECT_EQ(c.ssl.data, "external");
  EXPECT_EQ(c.ssl.cohort.csv, dir_ / "ext" / "cohort.csv");
  EXPECT_EQ(c.ssl.cohort.images, (dir_ / "ext" / "images" / "{id}.nii.gz").string());
  EXPECT_EQ(c.ssl.vertebrae, std::vector<std::string>{"all"});
  const auto external = vfp::config::external_cohort_config(c);
  EXPECT_EQ(external.cohort.images, c.ssl.cohort.images);
  EXPECT_EQ(external.preprocess.vertebrae, std::vector<std::string>{"all"});
  // Without a table in the folder: its images are the subjects.
  fs::remove(dir_ / "ext" / "cohort.csv");
  EXPECT_TRUE(
      load(kBase + "ssl: {cohort: {dir: ext}}\n").configurations[0].config.ssl.cohort.csv.empty());
}

TEST_F(ExternalPretraining, SslDataAllOrOuterTrainBesideAnExternalCohortIsAnErrorNamingSslData) {
  for (const std::string data : {"all", "outer_train"}) {
    const auto error = error_of(kBase + "ssl: {data: " + data + ", cohort: {dir: ext}}\n");
    EXPECT_NE(error.find("sweep.yaml:4:"), std::string::npos) << error;
    EXPECT_NE(
        error.find("ssl.data: '" + data +
                   "' pretrains on the labelled cohort, but ssl.cohort names an external one"),
        std::string::npos)
        << error;
  }
}

TEST_F(ExternalPretraining, BadExternalCohortKeysAreErrorsNamingTheKey) {
  EXPECT_NE(error_of(kBase + "ssl: {data: external}\n").find("ssl.data: external needs ssl.cohort"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "ssl: {cohort: {csv: ext/ids.csv}}\n")
                .find("ssl.cohort: missing key 'ssl.cohort.dir' (or ssl.cohort.images and "
                      "ssl.cohort.centroids)"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "ssl: {vertebrae: [L1]}\n")
                .find("ssl.vertebrae: names the external cohort's vertebrae: it needs ssl.cohort"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "ssl: {cohort: {dir: ext}, vertebrae: [all, L1]}\n")
                .find("ssl.vertebrae: 'all' (every vertebra the centroids label) stands alone"),
            std::string::npos);
  EXPECT_NE(error_of(kBase + "ssl: {cohort: {dir: ext}, vertebrae: [C7]}\n")
                .find("ssl.vertebrae: 'C7' is not one of: all, T1,"),
            std::string::npos);
  // A folder listing needs {id} in the file name.
  EXPECT_NE(error_of(kBase + "ssl: {cohort: {images: 'ext/{id}/ct.nii.gz', centroids: "
                             "'ext/{id}.json'}}\n")
                .find("ssl.cohort.images: without ssl.cohort.csv the subjects are the entries of "
                      "one folder"),
            std::string::npos);
}

TEST_F(ExternalPretraining, ConfigurationsWithoutAnExternalCohortKeepTheirIds) {
  // ssl.cohort and ssl.vertebrae enter the JSON (and the ids) only when set.
  const auto plain = vfp::config::to_json(load(kBase).configurations[0].config);
  EXPECT_EQ(plain.at("ssl").count("cohort.images"), 0u) << plain.dump();
  EXPECT_EQ(plain.at("ssl").count("vertebrae"), 0u) << plain.dump();
  EXPECT_EQ(plain.at("ssl").at("data"), "all");
}

TEST_F(ExternalPretraining, FolderListing_TakesIdsFromTheFileNamesThatMatchThePatternSorted) {
  for (const char* name : {"b.nii.gz", "a.nii.gz", "notes.txt", "c.nii", ".nii.gz"})
    std::ofstream(dir_ / "ext" / "images" / name) << "x";
  vfp::config::CohortConfig cohort;
  cohort.images = (dir_ / "ext" / "images" / "{id}.nii.gz").string();
  std::vector<vfp::data::Exclusion> excluded;
  const auto subjects = vfp::data::read_unlabelled_cohort(cohort, &excluded);
  ASSERT_EQ(subjects.size(), 2u);
  EXPECT_EQ(subjects[0].id, "a");
  EXPECT_EQ(subjects[1].id, "b");
  cohort.images = (dir_ / "none" / "{id}.nii.gz").string();
  try {
    vfp::data::read_unlabelled_cohort(cohort, &excluded);
    FAIL() << "a missing folder must be an error";
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ssl.cohort.images: no such folder: " + (dir_ / "none").string() +
                  " (the external cohort's images)");
  }
}

TEST_F(ExternalPretraining, Table_NeedsOnlySubjectIdAndNamesTheFileAndLineOfABadRow) {
  vfp::config::CohortConfig cohort;
  cohort.images = (dir_ / "ext" / "images" / "{id}.nii.gz").string();
  cohort.csv = dir_ / "ext" / "ids.csv";
  std::ofstream(cohort.csv) << "site,subject_id\nA,V1\nB,V2\n";
  std::vector<vfp::data::Exclusion> excluded;
  const auto subjects = vfp::data::read_unlabelled_cohort(cohort, &excluded);
  ASSERT_EQ(subjects.size(), 2u);
  EXPECT_EQ(subjects[1].id, "V2");
  std::ofstream(cohort.csv) << "subject_id\nV1\nV1\n";
  try {
    vfp::data::read_unlabelled_cohort(cohort, &excluded);
    FAIL() << "a duplicate id must be an error";
  } catch (const vfp::InputError& e) {
    EXPECT_EQ(std::string(e.what()), cohort.csv.string() + ":3: duplicate subject_id 'V1'");
  }
  std::ofstream(cohort.csv) << "id\nV1\n";
  try {
    vfp::data::read_unlabelled_cohort(cohort, &excluded);
    FAIL() << "a table without subject_id must be an error";
  } catch (const vfp::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing column 'subject_id'"), std::string::npos)
        << e.what();
  }
}

TEST_F(ExternalPretraining, Plan_OnePretrainingForEveryFoldAfterTheExternalCachesShards) {
  const auto sweep = load(kBase + "ssl: {cohort: {dir: ext}}\nsweep:\n  grid:\n    train.lr: "
                                  "[0.001, 0.002]\n");
  ASSERT_EQ(sweep.tasks.size(), 8u); // 2 configurations × 4 folds
  std::vector<vfp::tasks::CacheUse> caches(2, {"key0", 100, "ext0", 40});
  auto on_disk = rows_only();
  const auto p = vfp::tasks::plan_jobs(sweep, caches, on_disk, {2, true});
  const auto& g = p.graph;
  EXPECT_EQ(p.pretrainings, 1u);
  EXPECT_EQ(p.cache_keys, 2u);
  const auto pretrain = jobs_of(g, "pretrain");
  ASSERT_EQ(pretrain.size(), 1u);
  // The external cohort's cache, in two shards (one per worker) and a merge, marked as such.
  int external_merge = -1;
  for (int j : jobs_of(g, "preprocess"))
    if (g.job(j).id == "preprocess-ext0")
      external_merge = j;
  ASSERT_GE(external_merge, 0);
  EXPECT_EQ(g.job(external_merge).assignment.value("cohort", ""), "ssl");
  ASSERT_EQ(g.job(external_merge).depends_on.size(), 2u);
  for (int s : g.job(external_merge).depends_on) {
    EXPECT_EQ(g.job(s).kind, "preprocess_shard");
    EXPECT_EQ(g.job(s).assignment.value("cohort", ""), "ssl");
  }
  EXPECT_EQ(jobs_of(g, "preprocess_shard").size(), 4u); // the labelled cache's two as well
  EXPECT_EQ(g.job(pretrain[0]).depends_on, std::vector<int>{external_merge});
  for (int t : jobs_of(g, "train_eval")) {
    ASSERT_EQ(g.job(t).depends_on.size(), 2u);
    EXPECT_EQ(g.job(t).depends_on[1], pretrain[0]);
    EXPECT_NE(g.job(t).depends_on[0], external_merge);
  }
  for (std::size_t t = 1; t < sweep.tasks.size(); ++t)
    EXPECT_EQ(vfp::tasks::pretrain_id(sweep.configurations[sweep.tasks[t].configuration].config,
                                      sweep.tasks[t]),
              g.job(pretrain[0]).id);

  // With the checkpoint there, neither the pretraining nor the external cache is built.
  on_disk.pretrained = [](const std::string&) { return true; };
  const auto done = vfp::tasks::plan_jobs(sweep, caches, on_disk, {2, true});
  for (std::size_t j = 0; j < done.graph.size(); ++j) {
    const auto& job = done.graph.job(int(j));
    const bool external = job.assignment.value("cohort", "") == "ssl" || job.kind == "pretrain";
    EXPECT_EQ(done.graph.state(int(j)) == State::kDone, external) << job.id;
  }
}

// The real thing, small: 2 unlabelled scans of T12-L3 (4 vertebrae each), 2D fNet, 1 epoch.
// The labelled cohort's folder does not exist: reading its table or building or opening its
// cache would fail the task.
TEST_F(ExternalPretraining, RealPretraining_ReadsOnlyTheExternalCacheAndRecordsWhatItSaw) {
  vfp::synth::SynthOptions o;
  o.subjects = 2;
  o.out = dir_ / "ext";
  o.seed = 7;
  o.unlabelled = true;
  o.vertebrae = "T12-L3";
  vfp::synth::generate_cohort(o);
  const auto sweep = load(kBase + R"(preprocess: {spacing_mm: 3.0, patch_mm: 48}
cv: {folds: 2}
model: {arch: fnet, dims: 2, width: 4}
ssl: {cohort: {dir: ext}, epochs: 1, batch_size: 4}
)");
  ASSERT_FALSE(fs::exists(dir_ / "labelled"));
  vfp::tasks::TaskContext ctx;
  ctx.sweep_dir = dir_ / "results" / "ext";
  ctx.cache_dir = dir_ / "cache";
  const auto& c = sweep.configurations.at(0).config;
  EXPECT_EQ(vfp::tasks::pretrain_id(c, sweep.tasks[0]), vfp::tasks::pretrain_id(c, sweep.tasks[1]));

  const auto prep = vfp::tasks::run_preprocess_external(c, ctx);
  EXPECT_EQ(prep.at("cohort"), "ssl");
  EXPECT_EQ(prep.at("patches"), 8); // 2 scans × every labelled vertebra (T12, L1, L2, L3)
  const auto key = prep.at("cache_key").get<std::string>();
  vfp::data::CacheReader reader(vfp::data::cache_file(ctx.cache_dir, key), key);
  EXPECT_EQ(reader.index().vertebrae, (std::vector<int>{19, 20, 21, 22, 19, 20, 21, 22}));
  EXPECT_EQ(reader.index().subject_ids.front(), "U0001");

  const auto row = vfp::tasks::run_pretrain(sweep, sweep.tasks[1], ctx);
  EXPECT_EQ(row.at("patches"), 8);
  EXPECT_EQ(row.at("epochs"), 1);
  const auto& data = row.at("data");
  EXPECT_EQ(data.at("ssl_data"), "external");
  EXPECT_EQ(data.at("scans"), 2);
  EXPECT_EQ(data.at("patches"), 8);
  EXPECT_EQ(data.at("cache_key"), key);
  EXPECT_EQ(data.at("table"), (dir_ / "ext" / "cohort.csv").string());
  EXPECT_TRUE(fs::exists(row.at("checkpoint").get<std::string>()));
  const auto record = nlohmann::json::parse(vfp::read_text_file(
      fs::path(row.at("checkpoint").get<std::string>()).parent_path() / "config.json"));
  EXPECT_EQ(record.at("data"), data);
  // The one cache in the cache folder is the external cohort's.
  std::vector<std::string> caches;
  for (const auto& e : fs::directory_iterator(ctx.cache_dir))
    if (e.path().extension() == ".h5")
      caches.push_back(e.path().filename().string());
  EXPECT_EQ(caches, std::vector<std::string>{
                        vfp::data::cache_file(ctx.cache_dir, key).filename().string()});
}
