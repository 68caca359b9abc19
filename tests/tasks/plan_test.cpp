// tasks::plan_jobs: the job graph of a sweep from what is on disk (docs/architecture.md, "A
// run", step 2), without mpirun: resume, shared caches and shards, shared pretraining, cox and
// aggregate after the folds, nested selection.
#include "tasks/plan.h"

#include "plan_queries.h"

#include "core/core.h"
#include "sweep/sweep.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

using vfp::dispatch::State;
using vfp::testing_support::jobs_of;
using vfp::testing_support::rows_only;

const std::string kBase = R"(name: plan
cohort:
  dir: cohort
train:
  lr: 0.001
)";

vfp::sweep::Sweep load(const std::string& text) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vfp_plan_tests_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "sweep.yaml";
  std::ofstream(path) << text;
  return vfp::sweep::load(path);
}

/// A cohort cache of `subjects` under `key`, with no external BYOL cohort.
vfp::tasks::CacheUse cache(const std::string& key, std::size_t subjects) {
  vfp::tasks::CacheUse use;
  use.key = key;
  use.subjects = subjects;
  return use;
}

/// Every configuration on one cache of `subjects` subjects.
std::vector<vfp::tasks::CacheUse> one_cache(const vfp::sweep::Sweep& sweep,
                                            std::size_t subjects = 100) {
  return std::vector<vfp::tasks::CacheUse>(sweep.configurations.size(), cache("key0", subjects));
}

vfp::tasks::Plan plan(const vfp::sweep::Sweep& sweep, const vfp::tasks::OnDisk& on_disk,
                      int workers = 1, bool resume = true,
                      std::vector<vfp::tasks::CacheUse> caches = {}) {
  if (caches.empty())
    caches = one_cache(sweep);
  return vfp::tasks::plan_jobs(sweep, caches, on_disk, {workers, resume});
}

int job_with_id(const vfp::dispatch::Graph& g, const std::string& id) {
  for (std::size_t j = 0; j < g.size(); ++j)
    if (g.job(int(j)).id == id)
      return int(j);
  return -1;
}

nlohmann::json row(const std::string& task_id, const std::string& status,
                   const std::string& kind = "train_eval") {
  return {{"kind", kind}, {"task_id", task_id}, {"status", status}};
}

} // namespace

TEST(PlanJobs, OneConfigurationGivesPreprocessTrainEvalCoxAndAggregateInThatOrder) {
  const auto sweep = load(kBase);
  const auto p = plan(sweep, rows_only());
  const auto& g = p.graph;
  ASSERT_EQ(g.size(), 1u + 4u + 2u); // 4 folds by default
  EXPECT_EQ(g.job(0).kind, "preprocess");
  EXPECT_EQ(g.job(0).id, "preprocess-key0");
  for (int f = 0; f < 4; ++f) {
    EXPECT_EQ(g.job(1 + f).kind, "train_eval");
    EXPECT_EQ(g.job(1 + f).id, sweep.tasks[std::size_t(f)].id);
    EXPECT_EQ(g.job(1 + f).depends_on, std::vector<int>{0});
    EXPECT_EQ(g.job(1 + f).assignment, (nlohmann::json{{"kind", "train_eval"}, {"index", f}}));
  }
  EXPECT_EQ(g.job(5).kind, "cox");
  EXPECT_EQ(g.job(5).id, vfp::tasks::cox_id(sweep.configurations[0]));
  EXPECT_FALSE(g.job(5).on_coordinator);
  EXPECT_EQ(g.job(6).kind, "aggregate");
  EXPECT_TRUE(g.job(6).on_coordinator);
  for (std::size_t j = 0; j < g.size(); ++j)
    EXPECT_EQ(g.state(int(j)), State::kWaiting) << g.job(int(j)).id;
  EXPECT_EQ(p.skipped, 0);
  EXPECT_EQ(p.cache_keys, 1u);
  EXPECT_EQ(p.pretrainings, 0u);
}

TEST(PlanJobs, Resume_SkipsTasksWhoseLatestRowIsOkAndRerunsThoseWhoseLatestRowFailed) {
  const auto sweep = load(kBase);
  const auto& t = sweep.tasks;
  const auto on_disk = rows_only({row(t[0].id, "ok"), row(t[1].id, "ok"), row(t[1].id, "failed"),
                                  row(t[2].id, "failed"), row(t[2].id, "ok")});
  const auto p = plan(sweep, on_disk);
  EXPECT_EQ(p.graph.state(job_with_id(p.graph, t[0].id)), State::kDone);
  EXPECT_EQ(p.graph.state(job_with_id(p.graph, t[1].id)), State::kWaiting);
  EXPECT_EQ(p.graph.state(job_with_id(p.graph, t[2].id)), State::kDone);
  EXPECT_EQ(p.graph.state(job_with_id(p.graph, t[3].id)), State::kWaiting);
  EXPECT_EQ(p.skipped, 2);
  EXPECT_EQ(p.graph.state(0), State::kWaiting) << "the cache is still needed";

  const auto again = plan(sweep, on_disk, 1, /*resume=*/false);
  EXPECT_EQ(again.skipped, 0);
  for (std::size_t j = 0; j < again.graph.size(); ++j)
    EXPECT_EQ(again.graph.state(int(j)), State::kWaiting);
}

TEST(PlanJobs, Resume_AllFoldsDoneSkipsTheCacheAndAggregateButNotAMissingCox) {
  const auto sweep = load(kBase);
  std::vector<nlohmann::json> rows;
  for (const auto& t : sweep.tasks)
    rows.push_back(row(t.id, "ok"));
  auto p = plan(sweep, rows_only(rows));
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "preprocess")[0]), State::kDone);
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "aggregate")[0]), State::kDone);
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "cox")[0]), State::kWaiting);

  rows.push_back(row(vfp::tasks::cox_id(sweep.configurations[0]), "ok", "cox"));
  p = plan(sweep, rows_only(rows));
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "cox")[0]), State::kDone);
}

TEST(PlanJobs, CoxAndAggregateDependOnTheirConfigurationsTrainEvalJobs) {
  const auto sweep = load(kBase + "sweep:\n  grid:\n    train.lr: [0.001, 0.002]\n");
  ASSERT_EQ(sweep.configurations.size(), 2u);
  const auto p = plan(sweep, rows_only());
  const auto& g = p.graph;
  const auto train = jobs_of(g, "train_eval");
  const auto cox = jobs_of(g, "cox");
  const auto aggregate = jobs_of(g, "aggregate");
  ASSERT_EQ(cox.size(), 2u);
  ASSERT_EQ(aggregate.size(), 2u);
  for (std::size_t c = 0; c < 2; ++c) {
    std::vector<int> folds;
    for (int j : train)
      if (sweep.tasks[std::size_t(g.job(j).assignment["index"].get<int>())].configuration == int(c))
        folds.push_back(j);
    EXPECT_EQ(folds.size(), 4u);
    EXPECT_EQ(g.job(cox[c]).depends_on, folds);
    EXPECT_EQ(g.job(aggregate[c]).depends_on, folds);
    EXPECT_EQ(g.job(cox[c]).assignment["index"], int(c));
  }
}

TEST(PlanJobs, ConfigurationsWithOneCacheKeyShareOnePreprocessJob) {
  const auto sweep = load(kBase + "sweep:\n  grid:\n    train.lr: [0.001, 0.002, 0.003]\n");
  auto p = plan(sweep, rows_only());
  ASSERT_EQ(jobs_of(p.graph, "preprocess").size(), 1u);
  for (int j : jobs_of(p.graph, "train_eval"))
    EXPECT_EQ(p.graph.job(j).depends_on, std::vector<int>{0});

  p = plan(sweep, rows_only(), 1, true, {cache("a", 100), cache("b", 100), cache("a", 100)});
  const auto prep = jobs_of(p.graph, "preprocess");
  ASSERT_EQ(prep.size(), 2u);
  EXPECT_EQ(p.graph.job(prep[0]).id, "preprocess-a");
  EXPECT_EQ(p.graph.job(prep[1]).id, "preprocess-b");
  EXPECT_EQ(p.graph.job(prep[1]).assignment["index"], 1) << "the first configuration using it";
  EXPECT_EQ(p.cache_keys, 2u);
  for (int j : jobs_of(p.graph, "train_eval")) {
    const auto& task = sweep.tasks[std::size_t(p.graph.job(j).assignment["index"].get<int>())];
    EXPECT_EQ(p.graph.job(j).depends_on,
              std::vector<int>{task.configuration == 1 ? prep[1] : prep[0]});
  }
}

TEST(PlanJobs, MissingCacheIsSplitInOneShardPerWorkerAndMerged) {
  const auto sweep = load(kBase);
  const auto p = plan(sweep, rows_only(), /*workers=*/3, true, {cache("k", 6)});
  const auto shards = jobs_of(p.graph, "preprocess_shard");
  ASSERT_EQ(shards.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    const auto& job = p.graph.job(shards[std::size_t(s)]);
    EXPECT_EQ(job.id, "preprocess-k-shard-" + std::to_string(s));
    EXPECT_EQ(job.assignment["shard"], s);
    EXPECT_EQ(job.assignment["shards"], 3);
    EXPECT_TRUE(job.depends_on.empty());
  }
  const auto merge = jobs_of(p.graph, "preprocess");
  ASSERT_EQ(merge.size(), 1u);
  EXPECT_EQ(p.graph.job(merge[0]).depends_on, shards);
  EXPECT_EQ(p.graph.job(merge[0]).assignment["shards"], 3);
  for (int j : jobs_of(p.graph, "train_eval"))
    EXPECT_EQ(p.graph.job(j).depends_on, std::vector<int>{merge[0]});
}

TEST(PlanJobs, CacheIsBuiltWhole_WhenPresentAloneOrTooFewSubjects) {
  const auto sweep = load(kBase);
  auto present = rows_only();
  present.cache_present = [](const std::string& key) { return key == "k"; };
  const auto unsplit = [&](const vfp::tasks::OnDisk& d, int workers, std::size_t subjects) {
    const auto p = plan(sweep, d, workers, true, {cache("k", subjects)});
    const auto merge = jobs_of(p.graph, "preprocess");
    return jobs_of(p.graph, "preprocess_shard").empty() && merge.size() == 1 &&
           p.graph.job(merge[0]).assignment["shards"] == 0;
  };
  EXPECT_TRUE(unsplit(present, 3, 100)) << "the cache exists";
  EXPECT_TRUE(unsplit(rows_only(), 1, 100)) << "one worker";
  EXPECT_TRUE(unsplit(rows_only(), 0, 100)) << "rank 0 alone";
  EXPECT_TRUE(unsplit(rows_only(), 3, 5)) << "fewer than two subjects a worker";
  EXPECT_FALSE(unsplit(rows_only(), 2, 4)) << "two subjects a worker";
}

TEST(PlanJobs, ShardsOfACacheNoTaskNeedsAreSkippedWithIt) {
  const auto sweep = load(kBase);
  std::vector<nlohmann::json> rows;
  for (const auto& t : sweep.tasks)
    rows.push_back(row(t.id, "ok"));
  const auto p = plan(sweep, rows_only(rows), 3, true, {cache("k", 60)});
  ASSERT_EQ(jobs_of(p.graph, "preprocess_shard").size(), 3u);
  for (int j : jobs_of(p.graph, "preprocess_shard"))
    EXPECT_EQ(p.graph.state(j), State::kDone);
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "preprocess")[0]), State::kDone);
}

TEST(PlanJobs, SharedPretraining_OneJobPerDistinctByolSettingBetweenCacheAndTraining) {
  // The learning rate is not part of the BYOL setting: both configurations share one.
  const auto sweep =
      load(kBase + "pretrained: {mode: ssl}\nsweep:\n  grid:\n    train.lr: [0.001, 0.002]\n");
  ASSERT_EQ(sweep.configurations.size(), 2u);
  const auto p = plan(sweep, rows_only());
  const auto pretrain = jobs_of(p.graph, "pretrain");
  ASSERT_EQ(pretrain.size(), 1u);
  EXPECT_EQ(p.pretrainings, 1u);
  const auto& job = p.graph.job(pretrain[0]);
  EXPECT_EQ(job.id, vfp::tasks::pretrain_id(sweep.configurations[0].config, sweep.tasks[0]));
  EXPECT_EQ(job.depends_on, std::vector<int>{0});
  EXPECT_EQ(job.assignment["index"], 0) << "the first outer task that loads it";
  for (int j : jobs_of(p.graph, "train_eval"))
    EXPECT_EQ(p.graph.job(j).depends_on, (std::vector<int>{0, pretrain[0]}));
  EXPECT_EQ(p.graph.state(pretrain[0]), State::kWaiting);
}

TEST(PlanJobs, SharedPretraining_PerOuterFoldForOuterTrainData) {
  const auto sweep = load(kBase + "pretrained: {mode: ssl}\nssl: {data: outer_train}\n");
  const auto p = plan(sweep, rows_only());
  const auto pretrain = jobs_of(p.graph, "pretrain");
  ASSERT_EQ(pretrain.size(), 4u);
  const auto train = jobs_of(p.graph, "train_eval");
  for (std::size_t f = 0; f < 4; ++f)
    EXPECT_EQ(p.graph.job(train[f]).depends_on, (std::vector<int>{0, pretrain[f]}));
}

TEST(PlanJobs, SharedPretraining_SkippedWhenItsCheckpointExistsOrNoTaskNeedsIt) {
  const auto sweep = load(kBase + "pretrained: {mode: ssl}\n");
  auto on_disk = rows_only();
  on_disk.pretrained = [](const std::string&) { return true; };
  auto p = plan(sweep, on_disk);
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "pretrain")[0]), State::kDone);
  EXPECT_EQ(p.graph.state(0), State::kWaiting) << "the tasks still need the cache";

  std::vector<nlohmann::json> rows;
  for (const auto& t : sweep.tasks)
    rows.push_back(row(t.id, "ok"));
  p = plan(sweep, rows_only(rows));
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "pretrain")[0]), State::kDone);
}

TEST(PlanJobs, Estimates_AreTheConfigurationsMeanSecondsOfEarlierOkRows) {
  const auto sweep = load(kBase + "sweep:\n  grid:\n    train.lr: [0.001, 0.002]\n");
  const auto& first = sweep.configurations[0].id;
  std::vector<nlohmann::json> rows = {{{"kind", "train_eval"},
                                       {"task_id", "x"},
                                       {"config_id", first},
                                       {"status", "ok"},
                                       {"seconds", 10.0}},
                                      {{"kind", "train_eval"},
                                       {"task_id", "y"},
                                       {"config_id", first},
                                       {"status", "ok"},
                                       {"seconds", 30.0}},
                                      {{"kind", "train_eval"},
                                       {"task_id", "z"},
                                       {"config_id", first},
                                       {"status", "failed"},
                                       {"seconds", 1000.0}}};
  const auto p = plan(sweep, rows_only(rows));
  for (int j : jobs_of(p.graph, "train_eval")) {
    const auto& task = sweep.tasks[std::size_t(p.graph.job(j).assignment["index"].get<int>())];
    EXPECT_DOUBLE_EQ(p.graph.job(j).estimate_seconds, task.configuration == 0 ? 20.0 : 0.0);
  }
}

TEST(PlanJobs, Selection_InnerJobsAndOneSelectionPerGroupOnTheCoordinator) {
  const auto sweep = load(kBase + "sweep:\n  grid:\n    train.lr: [0.001, 0.002]\n"
                                  "selection: {over: [train.lr], inner_folds: 2}\n");
  ASSERT_EQ(sweep.groups.size(), 1u);
  const auto p = plan(sweep, rows_only());
  const auto& g = p.graph;
  const auto outer = jobs_of(g, "train_eval");
  const auto inner = jobs_of(g, "inner");
  ASSERT_EQ(inner.size(), sweep.inner_tasks.size());
  ASSERT_EQ(inner.size(), 2u * 4u * 2u);
  for (std::size_t i = 0; i < inner.size(); ++i) {
    EXPECT_EQ(g.job(inner[i]).id, sweep.inner_tasks[i].id);
    EXPECT_EQ(g.job(inner[i]).assignment["index"], int(i));
    EXPECT_EQ(g.job(inner[i]).depends_on, std::vector<int>{0});
  }
  const auto selection = jobs_of(g, "selection");
  ASSERT_EQ(selection.size(), 1u);
  const auto& job = g.job(selection[0]);
  EXPECT_EQ(job.id, sweep.groups[0].id);
  EXPECT_TRUE(job.on_coordinator);
  // Member by member: its outer jobs, then its inner jobs.
  std::vector<int> expected;
  for (int m : sweep.groups[0].members) {
    for (int j : outer)
      if (sweep.tasks[std::size_t(g.job(j).assignment["index"].get<int>())].configuration == m)
        expected.push_back(j);
    for (int j : inner)
      if (sweep.inner_tasks[std::size_t(g.job(j).assignment["index"].get<int>())].configuration ==
          m)
        expected.push_back(j);
  }
  EXPECT_EQ(job.depends_on, expected);
  EXPECT_LT(selection[0], jobs_of(g, "cox")[0]) << "selections come before the pooled analyses";
}

TEST(PlanJobs, Selection_DoneOnlyWithAnOkRowAndEveryInputDone) {
  const auto sweep = load(kBase + "sweep:\n  grid:\n    train.lr: [0.001, 0.002]\n"
                                  "selection: {over: [train.lr]}\n");
  std::vector<nlohmann::json> rows = {row(sweep.groups[0].id, "ok", "selection")};
  auto p = plan(sweep, rows_only(rows));
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "selection")[0]), State::kWaiting);
  for (const auto& t : sweep.tasks)
    rows.push_back(row(t.id, "ok"));
  p = plan(sweep, rows_only(rows));
  EXPECT_EQ(p.graph.state(jobs_of(p.graph, "selection")[0]), State::kDone);
}

TEST(PlanJobs, RefusesCachesThatDoNotMatchTheConfigurations) {
  const auto sweep = load(kBase);
  EXPECT_THROW(vfp::tasks::plan_jobs(sweep, {}, rows_only(), {}), vfp::Error);
}
