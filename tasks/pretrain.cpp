#include "tasks/tasks.h"

#include "core/core.h"
#include "data/data.h"
#include "log/log.h"
#include "results/results.h"
#include "ssl/ssl.h"
#include "tasks/patch_source.h"
#include "tasks/split.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace vfp::tasks {
namespace {

ssl::ByolOptions byol_options(const config::ExperimentConfig& c, std::uint64_t seed,
                              const TaskContext& ctx) {
  ssl::ByolOptions o;
  o.model = c.model;
  o.ssl = c.ssl;
  o.run = config::run_settings(c.train, seed, ctx.threads, ctx.local_rank);
  return o;
}

/// The configuration whose cache BYOL reads: the external cohort's (ssl.data external), else
/// the labelled cohort's own.
config::ExperimentConfig pretraining_source(const config::ExperimentConfig& c) {
  return c.ssl.data == "external" ? config::external_cohort_config(c) : c;
}

/// The subjects of that cache: the external cohort's ids (its table or its images folder), or
/// the labelled cohort, whose table is never read for an external pretraining.
std::vector<data::Subject> pretraining_subjects(const config::ExperimentConfig& c,
                                                std::vector<data::Exclusion>* excluded) {
  return c.ssl.data == "external" ? data::read_unlabelled_cohort(c.ssl.cohort, excluded)
                                  : data::read_cohort(c, excluded);
}

/// What data the pretraining saw, for its config.json and its row (the report's notes).
nlohmann::json data_record(const config::ExperimentConfig& c,
                           const std::vector<data::Subject>& subjects, std::size_t patches,
                           std::size_t excluded, const std::string& cache_key) {
  const auto& cohort = c.ssl.data == "external" ? c.ssl.cohort : c.cohort;
  nlohmann::json d = {{"ssl_data", c.ssl.data},
                      {"images", cohort.images},
                      {"table", cohort.csv.string()},
                      {"scans", subjects.size() - std::min(excluded, subjects.size())},
                      {"patches", patches},
                      {"cache_key", cache_key}};
  if (excluded > 0)
    d["excluded_scans"] = excluded;
  if (c.ssl.data == "external")
    d["vertebrae"] = c.ssl.vertebrae;
  return d;
}

/// Everything the pretraining of `task` reads: its id is their hash.
nlohmann::json pretrain_inputs(const config::ExperimentConfig& c, const sweep::TrainTask& task) {
  auto inputs = config::pretrain_json(c);
  if (c.ssl.data == "outer_train") {
    inputs["fold"] = task.fold;
    inputs["repeat"] = task.repeat;
  }
  return inputs;
}

} // namespace

std::string pretrain_id(const config::ExperimentConfig& c, const sweep::TrainTask& task) {
  return "pretrain-" + stable_id(pretrain_inputs(c, task).dump());
}

std::filesystem::path pretrain_checkpoint(const TaskContext& ctx, const std::string& id) {
  return results::SweepFolder(ctx.sweep_dir).pretrain(id).weights;
}

nlohmann::json run_pretrain(const sweep::Sweep& sweep, const sweep::TrainTask& task,
                            const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& c = sweep.configurations.at(task.configuration).config;
  const auto id = pretrain_id(c, task);
  const auto checkpoint = pretrain_checkpoint(ctx, id);
  // Checked before the checkpoint's existence is: a planted link is refused, not followed.
  const auto files = results::SweepFolder(ctx.sweep_dir).pretrain(id, true);
  nlohmann::json row = {{"kind", "pretrain"}, {"task_id", id}, {"checkpoint", checkpoint.string()}};
  if (std::filesystem::exists(checkpoint)) { // written atomically: present means complete
    row["reused"] = true;
    return row;
  }
  log::FileSinkGuard task_log(files.log.string());
  // The seed comes from the id (its hash part), never from the rank that runs it.
  const auto seed = sweep::seed_from_id(id.substr(id.find('-') + 1));
  write_file_atomically(
      files.config,
      nlohmann::json{{"task_id", id}, {"seed", seed}, {"inputs", pretrain_inputs(c, task)}}.dump(
          2));

  std::vector<data::Exclusion> excluded;
  // An external pretraining never touches the labelled cohort's cache (nor its table).
  const auto source = pretraining_source(c);
  const auto cohort = pretraining_subjects(c, &excluded);
  const auto cache = open_task_patches(source, cohort, ctx);
  const auto& patches = cache.index();
  ssl::Patches unlabelled;
  unlabelled.source = &cache.source;
  unlabelled.identity = cache.source.identity(); // not a pass over every pixel
  unlabelled.count = static_cast<int>(patches.size());
  unlabelled.channels = patches.channels;
  unlabelled.depth = patches.depth;
  unlabelled.height = patches.height;
  unlabelled.width = patches.width;
  if (c.ssl.data != "outer_train") { // all, external: every patch of the cache
    for (size_t p = 0; p < patches.size(); ++p)
      unlabelled.items.push_back(static_cast<int>(p));
  } else { // the outer fold's training and validation subjects; its test subjects stay unseen
    const auto split = detail::split_patches(c, cohort, patches, task.fold, task.repeat);
    for (size_t p = 0; p < patches.size(); ++p)
      if (split.patch_role[p] != detail::kTest)
        unlabelled.items.push_back(static_cast<int>(p));
  }
  spdlog::info("pretrain {}: BYOL on {} of {} patches ({}), {} epochs", id, unlabelled.items.size(),
               patches.size(), c.ssl.data, c.ssl.epochs);
  // The record says which data BYOL saw (written again, now that the cache is known).
  const auto seen =
      data_record(c, cohort, unlabelled.items.size(), excluded.size() + patches.excluded.size(),
                  data::cache_key(source, cohort));
  write_file_atomically(files.config, nlohmann::json{{"task_id", id},
                                                     {"seed", seed},
                                                     {"inputs", pretrain_inputs(c, task)},
                                                     {"data", seen}}
                                          .dump(2));

  auto options = byol_options(c, seed, ctx);
  // After every epoch: a pretraining killed (node failure, time limit) continues from it.
  options.run.checkpoint = files.progress.string();
  const auto outcome =
      ssl::pretrain_byol(options, unlabelled, checkpoint.string(), [&](const ssl::EpochLog& e) {
        spdlog::info("pretrain {} epoch {}: BYOL loss {:.4f}, tau {:.5f} ({:.1f} s)", id, e.epoch,
                     e.loss, e.tau, e.seconds);
        if (ctx.progress)
          ctx.progress({{"epoch", e.epoch}, {"of", c.ssl.epochs}, {"byol_loss", e.loss}});
      });
  if (outcome.resumed_from_epoch > 0) // the epochs before the interruption
    spdlog::info("pretrain {}: resumed after epoch {}", id, outcome.resumed_from_epoch);
  std::ostringstream all_epochs;
  all_epochs << "epoch,loss,tau,seconds\n";
  for (const auto& e : outcome.history)
    all_epochs << e.epoch << "," << e.loss << "," << e.tau << "," << e.seconds << "\n";
  write_file_atomically(files.history, all_epochs.str());
  row["seed"] = seed;
  row["data"] = seen;
  row["patches"] = unlabelled.items.size();
  row["epochs"] = outcome.history.size();
  row["steps"] = outcome.steps;
  row["resumed_from_epoch"] = outcome.resumed_from_epoch;
  row["final_loss"] = outcome.history.empty() ? 0.0 : outcome.history.back().loss;
  row["threads"] = options.run.threads;
  row["provenance"] = {{"device", outcome.device}}; // run_job adds the rest
  row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return row;
}

} // namespace vfp::tasks
