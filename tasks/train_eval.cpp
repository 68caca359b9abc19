#include "tasks/tasks.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "tasks/split.h"
#include "train/train.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace vfp::tasks {
namespace {

train::TrainOptions options_for(const config::ExperimentConfig& c, std::uint64_t seed, int threads,
                                const std::filesystem::path& ssl_checkpoint) {
  train::TrainOptions o;
  o.arch = c.model.arch;
  o.width = c.model.width;
  o.dropout = c.model.dropout;
  o.head_hidden = c.model.head_hidden;
  const auto& w = c.pretrained;
  const auto mode = w.effective_mode();
  o.pretrained.file = mode == "none"         ? "" // none: a sweep's baseline
                      : c.runs_pretraining() ? ssl_checkpoint.string()
                                             : w.file.string();
  o.pretrained.key_map = w.key_map.string();
  o.pretrained.prefix = w.prefix.empty() && mode == "ssl" ? "online.backbone." : w.prefix;
  o.pretrained.inflation = w.inflation;
  o.pretrained.channels = w.channels;
  o.pretrained.strict = w.strict;
  o.pretrained.keep_head = w.keep_head;
  const auto& t = c.train;
  o.optimizer = t.optimizer;
  o.momentum = t.momentum;
  o.nesterov = t.nesterov;
  o.lr = t.lr;
  o.weight_decay = t.weight_decay;
  o.schedule = t.schedule;
  o.warmup_epochs = t.warmup_epochs;
  o.step_epochs = t.step_epochs;
  o.step_gamma = t.step_gamma;
  o.finetune = t.finetune;
  o.unfreeze_every = t.unfreeze_every;
  o.layer_lr_decay = t.layer_lr_decay;
  o.layer_wd_decay = t.layer_wd_decay;
  o.loss = t.loss;
  o.focal_gamma = t.focal_gamma;
  o.focal_alpha = t.focal_alpha;
  o.stop_on = t.stop_on;
  o.device = t.device;
  o.amp = t.amp;
  o.batch_size = c.train.batch_size;
  o.max_epochs = c.train.max_epochs;
  o.patience = c.train.patience;
  o.min_delta = c.train.min_delta;
  o.augment = c.train.augment;
  o.augmentation.flip = c.augmentation.flip;
  o.augmentation.rotate_deg = c.augmentation.rotate_deg;
  o.augmentation.scale = c.augmentation.scale;
  o.augmentation.intensity_shift = c.augmentation.intensity_shift;
  o.augmentation.intensity_scale = c.augmentation.intensity_scale;
  o.augmentation.noise_std = c.augmentation.noise_std;
  o.sampling = c.train.sampling;
  o.loader_threads = c.train.loader_threads;
  o.balanced_loss = c.train.balanced_loss;
  o.aggregation = c.train.aggregation;
  o.seed = seed;
  o.threads = c.train.threads > 0 ? c.train.threads : threads;
  return o;
}

} // namespace

nlohmann::json run_train_eval(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                              const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& cfg = sweep.configurations.at(task.configuration);
  const auto& c = cfg.config;
  // Refuses a symlinked task folder (or file in it) before the log sink opens anything.
  const auto task_dir = confined_folder(ctx.sweep_dir, {"tasks", task.id}, true);
  log::FileSinkGuard task_log((task_dir / "log.txt").string());
  write_file_atomically(task_dir / "config.json", nlohmann::json{{"task_id", task.id},
                                                                 {"config_id", cfg.id},
                                                                 {"fold", task.fold},
                                                                 {"repeat", task.repeat},
                                                                 {"seed", task.seed},
                                                                 {"config", config::to_json(c)}}
                                                      .dump(2));

  std::vector<data::Exclusion> excluded;
  const auto cohort = data::read_cohort(c, &excluded);
  const auto patches = data::load_or_build_cache(c, cohort, ctx.cache_dir, ctx.threads);
  const auto split = detail::split_patches(c, cohort, patches, task.fold, task.repeat,
                                           task.inner_fold, task.inner_folds);
  const auto& subjects = split.subjects;
  excluded.insert(excluded.end(), patches.excluded.begin(), patches.excluded.end());

  train::FoldData fold;
  fold.pixels = patches.pixels.data();
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
  spdlog::info("task {} fold {}{}: {} train / {} validation / {} test patches", task.id, task.fold,
               task.inner() ? " inner fold " + std::to_string(task.inner_fold) : std::string(),
               fold.train.size(), fold.validation.size(), fold.test.size());

  auto options =
      options_for(c, task.seed, ctx.threads,
                  c.runs_pretraining() ? pretrain_checkpoint(ctx, pretrain_id(c, task)) : "");
  options.local_rank = ctx.local_rank;
  if (c.train.save_model)
    options.save_model = (task_dir / "model.safetensors").string();
  // Written after every epoch; a task killed (node failure, SLURM time limit) and run again
  // continues from it. Removed once the task's result is complete.
  const auto checkpoint = task_dir / "checkpoint.pt";
  options.checkpoint = checkpoint.string();
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

  std::vector<int> test_subjects;
  std::vector<double> scores;
  train::aggregate_by_subject(fold.patch_subject, fold.test, outcome.test_scores,
                              c.train.aggregation, test_subjects, scores);
  std::vector<int> test_labels;
  std::ostringstream oof;
  oof.precision(9);
  oof << "subject_id,repeat,fold,score,label,age,bmi,event,time_years\n";
  for (size_t k = 0; k < test_subjects.size(); ++k) {
    const auto& s = subjects[test_subjects[k]];
    test_labels.push_back(s.event);
    // Quoted when it holds a comma or a quote (RFC 4180): pool_out_of_fold reads it back.
    oof << csv_field(s.id) << "," << task.repeat << "," << task.fold << "," << scores[k] << ","
        << s.event << "," << s.age << "," << s.bmi << "," << s.event << "," << s.time_years << "\n";
  }
  write_file_atomically(task_dir / "oof.csv", oof.str());
  std::ostringstream history;
  history << "epoch,train_loss,val_auroc,val_loss,lr,trainable_tensors,seconds,data_wait_seconds,"
             "step_seconds\n";
  for (const auto& e : outcome.history)
    history << e.epoch << "," << e.train_loss << "," << e.val_auroc << "," << e.val_loss << ","
            << e.lr << "," << e.trainable_tensors << "," << e.seconds << "," << e.data_wait_seconds
            << "," << e.step_seconds << "\n";
  write_file_atomically(task_dir / "history.csv", history.str());
  std::filesystem::remove(checkpoint); // everything it held is in the files above

  nlohmann::json axes = nlohmann::json::array();
  for (const auto& [k, v] : cfg.axes)
    axes.push_back({k, v});
  int positives = 0;
  for (int l : test_labels)
    positives += l;
  nlohmann::json row = {
      {"kind", task.inner() ? "inner" : "train_eval"},
      {"task_id", task.id},
      {"config_id", cfg.id},
      {"config_index", task.configuration},
      {"axes", axes},
      {"fold", task.fold},
      {"repeat", task.repeat},
      {"expected_folds", c.cv.folds * c.cv.repeats},
      {"seed", task.seed},
      {"auroc", metrics::auroc(scores, test_labels)},
      {"auprc", metrics::average_precision(scores, test_labels)},
      // Patch-level binary cross-entropy of the test scores, as val_loss is of the validation's.
      {"loss", train::patch_log_loss(fold, fold.test, outcome.test_scores)},
      {"n_test", test_subjects.size()},
      {"n_test_positive", positives},
      {"best_epoch", outcome.best_epoch},
      {"epochs", outcome.epochs_run},
      {"resumed_from_epoch", outcome.resumed_from_epoch},
      {"best_val_auroc", outcome.best_val_auroc},
      {"best_val_auprc", outcome.best_val_auprc},
      {"best_val_loss", outcome.best_val_loss},
      {"aggregation", c.train.aggregation},
      {"threads", options.threads},
      {"train_seconds", outcome.train_seconds},
      {"data_wait_share",
       outcome.train_seconds > 0 ? outcome.data_wait_seconds / outcome.train_seconds : 0.0},
      // Of the training loop's time, the share outside forward/backward/step (data, bookkeeping).
      {"overhead_share",
       outcome.train_seconds > 0 ? 1.0 - outcome.step_seconds / outcome.train_seconds : 0.0},
      {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  // Who took no part and why (cohort rows and failed images alike): the report lists them.
  // Equal scores rank nothing: AUROC 0.5 by ties, AP the prevalence; the report says so.
  if (!scores.empty() &&
      std::all_of(scores.begin(), scores.end(), [&](double v) { return v == scores.front(); }))
    row["constant_scores"] = true;
  row["excluded"] = nlohmann::json::array();
  for (const auto& e : excluded)
    row["excluded"].push_back({{"subject", e.subject}, {"reason", e.reason}});
  if (task.inner()) {
    row["inner_fold"] = task.inner_fold;
    row["inner_folds"] = task.inner_folds;
  }
  return row;
}

} // namespace vfp::tasks
