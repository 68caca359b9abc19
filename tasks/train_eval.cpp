#include "tasks/tasks.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "results/results.h"
#include "tasks/patch_source.h"
#include "tasks/split.h"
#include "train/train.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace vfp::tasks {
namespace {

train::TrainOptions options_for(const config::ExperimentConfig& c, std::uint64_t seed, int threads,
                                int local_rank, const std::filesystem::path& ssl_checkpoint) {
  train::TrainOptions o;
  o.model = c.model;
  o.pretrained = c.pretrained;
  const auto mode = c.pretrained.effective_mode();
  if (mode == "none") // a sweep's baseline: the file, if any, is not loaded
    o.pretrained.file.clear();
  else if (c.runs_pretraining())
    o.pretrained.file = ssl_checkpoint;
  if (o.pretrained.prefix.empty() && mode == "ssl")
    o.pretrained.prefix = "online.backbone.";
  o.train = c.train;
  o.augmentation = c.augmentation;
  o.run = config::run_settings(c.train, seed, threads, local_rank);
  return o;
}

/// The patches of the task's split: its training, validation and test parts, by patch index,
/// read through the cache's source.
train::FoldData fold_data(const TaskPatches& cache, const detail::PatchSplit& split) {
  const auto& patches = cache.index();
  train::FoldData fold;
  fold.source = &cache.source;
  fold.channels = patches.channels;
  fold.depth = patches.depth;
  fold.height = patches.height;
  fold.width = patches.width;
  fold.subject_label = split.labels;
  fold.patch_subject = split.patch_subject;
  for (size_t p = 0; p < patches.size(); ++p) {
    const auto role = split.patch_role[p];
    if (role == detail::kUnused) // an inner task never sees its outer test fold
      continue;
    auto& part = role == detail::kTrain        ? fold.train
                 : role == detail::kValidation ? fold.validation
                                               : fold.test;
    part.push_back(static_cast<int>(p));
  }
  return fold;
}

/// The test fold's patient-level scores (train.aggregation over each subject's patches).
struct TestScores {
  std::vector<double> scores;
  std::vector<int> labels;
  std::vector<results::Prediction> predictions; ///< tasks/<id>/oof.csv
};

TestScores test_scores(const sweep::TrainTask& task, const config::ExperimentConfig& c,
                       const std::vector<data::Subject>& subjects, const train::FoldData& fold,
                       const train::Outcome& outcome) {
  TestScores t;
  std::vector<int> test_subjects;
  train::aggregate_by_subject(fold.patch_subject, fold.test, outcome.test_scores,
                              c.train.aggregation, test_subjects, t.scores);
  for (size_t k = 0; k < test_subjects.size(); ++k) {
    const auto& s = subjects[test_subjects[k]];
    t.labels.push_back(s.event);
    t.predictions.push_back(
        {s.id, task.repeat, task.fold, t.scores[k], s.event, s.age, s.bmi, s.time_years});
  }
  return t;
}

/// history.csv: one line per epoch.
std::string history_csv(const std::vector<train::EpochLog>& history) {
  std::ostringstream csv;
  csv << "epoch,train_loss,val_auroc,val_loss,lr,trainable_tensors,seconds,data_wait_seconds,"
         "step_seconds\n";
  for (const auto& e : history)
    csv << e.epoch << "," << e.train_loss << "," << e.val_auroc << "," << e.val_loss << "," << e.lr
        << "," << e.trainable_tensors << "," << e.seconds << "," << e.data_wait_seconds << ","
        << e.step_seconds << "\n";
  return csv.str();
}

/// The task's row of results.jsonl.
results::TrainEvalRow result_row(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                                 const train::TrainOptions& options, const train::FoldData& fold,
                                 const train::Outcome& outcome, const TestScores& test) {
  const auto& c = sweep.configurations.at(task.configuration).config;
  results::TrainEvalRow row;
  static_cast<results::TaskKeys&>(row) = task_keys(sweep, task);
  if (task.inner())
    row.inner_folds = task.inner_folds;
  row.kind = task.inner() ? "inner" : "train_eval";
  row.task_id = task.id;
  row.seed = task.seed;
  row.auroc = metrics::auroc(test.scores, test.labels);
  row.auprc = metrics::average_precision(test.scores, test.labels);
  // Patch-level binary cross-entropy of the test scores, as val_loss is of the validation's.
  row.loss = train::patch_log_loss(fold, fold.test, outcome.test_scores);
  row.n_test = test.scores.size();
  row.n_test_positive = std::size_t(std::count(test.labels.begin(), test.labels.end(), 1));
  row.best_epoch = outcome.best_epoch;
  row.epochs = outcome.epochs_run;
  row.resumed_from_epoch = outcome.resumed_from_epoch;
  row.best_val_auroc = outcome.best_val_auroc;
  row.best_val_auprc = outcome.best_val_auprc;
  row.best_val_loss = outcome.best_val_loss;
  row.aggregation = c.train.aggregation;
  row.threads = options.run.threads;
  row.provenance.emplace().device = outcome.device; // run_job adds the rest
  row.train_seconds = outcome.train_seconds;
  const bool timed = outcome.train_seconds > 0;
  row.data_wait_share = timed ? outcome.data_wait_seconds / outcome.train_seconds : 0.0;
  // Of the training loop's time, the share outside forward/backward/step (data, bookkeeping).
  row.overhead_share = timed ? 1.0 - outcome.step_seconds / outcome.train_seconds : 0.0;
  // Equal scores rank nothing: AUROC 0.5 by ties, AP the prevalence; the report says so.
  const auto& s = test.scores;
  row.constant_scores =
      !s.empty() && std::all_of(s.begin(), s.end(), [&](double v) { return v == s.front(); });
  return row;
}

} // namespace

nlohmann::json run_train_eval(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                              const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& cfg = sweep.configurations.at(task.configuration);
  const auto& c = cfg.config;
  // Refuses a symlinked task folder (or file in it) before the log sink opens anything.
  const auto files = results::SweepFolder(ctx.sweep_dir).task(task.id, true);
  log::FileSinkGuard task_log(files.log.string());
  write_file_atomically(files.config, nlohmann::json{{"task_id", task.id},
                                                     {"config_id", cfg.id},
                                                     {"fold", task.fold},
                                                     {"repeat", task.repeat},
                                                     {"seed", task.seed},
                                                     {"config", config::to_json(c)}}
                                          .dump(2));

  std::vector<data::Exclusion> excluded;
  const auto cohort = data::read_cohort(c, &excluded);
  const auto cache = open_task_patches(c, cohort, ctx);
  const auto& patches = cache.index();
  const auto split = detail::split_patches(c, cohort, patches, task.fold, task.repeat,
                                           task.inner_fold, task.inner_folds);
  excluded.insert(excluded.end(), patches.excluded.begin(), patches.excluded.end());
  const auto fold = fold_data(cache, split);
  spdlog::info("task {} fold {}{}: {} train / {} validation / {} test patches", task.id, task.fold,
               task.inner() ? " inner fold " + std::to_string(task.inner_fold) : std::string(),
               fold.train.size(), fold.validation.size(), fold.test.size());

  auto options =
      options_for(c, task.seed, ctx.threads, ctx.local_rank,
                  c.runs_pretraining() ? pretrain_checkpoint(ctx, pretrain_id(c, task)) : "");
  if (c.train.save_model)
    options.save_model = files.model.string();
  // Written after every epoch; a task killed (node failure, SLURM time limit) and run again
  // continues from it. Removed once the task's result is complete.
  options.run.checkpoint = files.checkpoint.string();
  const auto outcome = train::fit_and_score(options, fold, [&](const train::EpochLog& e) {
    spdlog::debug("task {} epoch {}: loss {:.4f}, validation AUROC {:.3f}, loss {:.4f} ({:.1f} s, "
                  "{:.2f} s waiting for data)",
                  task.id, e.epoch, e.train_loss, e.val_auroc, e.val_loss, e.seconds,
                  e.data_wait_seconds);
    if (ctx.progress)
      ctx.progress({{"epoch", e.epoch},
                    {"of", c.train.max_epochs},
                    {"train_loss", e.train_loss},
                    {"val_auroc", e.val_auroc}});
  });
  if (outcome.resumed_from_epoch > 0)
    spdlog::info("task {}: resumed from its checkpoint after epoch {}", task.id,
                 outcome.resumed_from_epoch);
  if (!outcome.pretrained.empty())
    spdlog::info("task {}: pretrained weights: {}", task.id, outcome.pretrained);

  const auto test = test_scores(task, c, split.subjects, fold, outcome);
  write_file_atomically(files.predictions, results::predictions_csv(test.predictions));
  write_file_atomically(files.history, history_csv(outcome.history));
  std::filesystem::remove(files.checkpoint); // everything it held is in the files above

  auto row = result_row(sweep, task, options, fold, outcome, test);
  if (c.runs_pretraining()) // the report finds what its pretraining saw by this id
    row.extra["pretrain_id"] = pretrain_id(c, task);
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Who took no part and why (cohort rows and failed images alike): the report lists them.
  for (const auto& e : excluded)
    row.excluded.push_back({e.subject, e.reason});
  return results::to_json(row);
}

results::TaskKeys task_keys(const sweep::Sweep& sweep, const sweep::TrainTask& task) {
  const auto& cfg = sweep.configurations.at(task.configuration);
  results::TaskKeys keys;
  keys.config_id = cfg.id;
  keys.config_index = task.configuration;
  keys.axes.assign(cfg.axes.begin(), cfg.axes.end());
  keys.fold = task.fold;
  keys.repeat = task.repeat;
  keys.expected_folds = cfg.config.cv.folds * cfg.config.cv.repeats;
  if (task.inner())
    keys.inner_fold = task.inner_fold;
  return keys;
}

} // namespace vfp::tasks
