// The cox task: the study's survival analysis on a configuration's pooled out-of-fold
// predictions, once its folds are done.
#include "tasks/tasks.h"

#include "core/core.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "survival/survival.h"

#include <chrono>
#include <map>

namespace vfp::tasks {
namespace {

/// One subject's pooled prediction: the mean score over the CV repeats that tested it.
struct Pooled {
  double score_sum = 0;
  int repeats = 0;
  int fold = 0; ///< in repeat 0
  double age = 0, bmi = 0, time = 0;
  int event = 0;
};

std::map<std::string, Pooled> pool_predictions(const sweep::Sweep& sweep, int configuration,
                                               const TaskContext& ctx) {
  std::map<std::string, Pooled> pooled;
  for (const auto& task : sweep.tasks) {
    if (task.configuration != configuration)
      continue;
    const auto csv = read_csv((ctx.sweep_dir / "tasks" / task.id / "oof.csv").string());
    const auto subject = csv.column("subject_id"), repeat = csv.column("repeat"),
               fold = csv.column("fold"), score = csv.column("score"), age = csv.column("age"),
               bmi = csv.column("bmi"), event = csv.column("event"),
               time = csv.column("time_years");
    for (const auto& row : csv.rows) {
      auto& p = pooled[csv.text(row, subject)];
      p.score_sum += csv.number(row, score);
      ++p.repeats;
      if (csv.number(row, repeat) == 0)
        p.fold = int(csv.number(row, fold));
      p.age = csv.number(row, age);
      p.bmi = csv.number(row, bmi);
      p.event = int(csv.number(row, event));
      p.time = csv.number(row, time);
    }
  }
  return pooled;
}

} // namespace

std::string cox_id(const sweep::Configuration& configuration) {
  return stable_id(configuration.id + "/cox");
}

nlohmann::json run_cox(const sweep::Sweep& sweep, int configuration, const TaskContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& cfg = sweep.configurations.at(std::size_t(configuration));
  const auto id = cox_id(cfg);
  const auto pooled = pool_predictions(sweep, configuration, ctx);
  std::vector<double> time, score, age, bmi;
  std::vector<int> event, label, fold;
  std::string oof = "subject_id,fold,score,event,time_years,age,bmi\n";
  for (const auto& [subject, p] : pooled) {
    time.push_back(p.time);
    event.push_back(p.event);
    label.push_back(p.event);
    score.push_back(p.score_sum / p.repeats);
    age.push_back(p.age);
    bmi.push_back(p.bmi);
    fold.push_back(p.fold);
    oof += subject + "," + std::to_string(p.fold) + "," + std::to_string(score.back()) + "," +
           std::to_string(p.event) + "," + std::to_string(p.time) + "," + std::to_string(p.age) +
           "," + std::to_string(p.bmi) + "\n";
  }
  const auto dir = confined_folder(ctx.sweep_dir, {"configurations", cfg.id}, true);
  write_file_atomically(dir / "oof.csv", oof);
  fault_point("cox.task"); // test-only (docs/hardening.md): mid-task

  nlohmann::json row = {{"kind", "cox"},
                        {"task_id", id},
                        {"config_id", cfg.id},
                        {"config_index", configuration},
                        {"subjects", time.size()}};
  // Pooled discrimination: every subject scored once by a model that never saw it.
  metrics::BootstrapOptions boot;
  boot.seed = sweep::seed_from_id(id);
  const auto delong = metrics::delong_auroc(score, label);
  const auto auroc = metrics::bootstrap_interval(metrics::Metric::kAuroc, score, label, boot, fold);
  const auto ap =
      metrics::bootstrap_interval(metrics::Metric::kAveragePrecision, score, label, boot, fold);
  row["pooled"] = {{"auroc", delong.auroc},
                   {"auroc_delong_lower", delong.lower},
                   {"auroc_delong_upper", delong.upper},
                   {"auroc_bootstrap_lower", auroc.lower},
                   {"auroc_bootstrap_upper", auroc.upper},
                   {"average_precision", ap.estimate},
                   {"average_precision_lower", ap.lower},
                   {"average_precision_upper", ap.upper}};
  // The study's survival question: does the image score add to age and BMI?
  try {
    const auto comparison =
        survival::compare_models(time, event, {age, bmi}, {"age", "bmi"}, {score, age, bmi},
                                 {"score", "age", "bmi"}, 1000, sweep::seed_from_id(id));
    const auto& hr = comparison.image.terms.at(0);
    row["survival"] = {{"c_baseline", comparison.c_baseline},
                       {"c_image", comparison.c_image},
                       {"c_difference", comparison.c_difference},
                       {"c_difference_lower", comparison.difference_lower},
                       {"c_difference_upper", comparison.difference_upper},
                       {"bootstrap_resamples", comparison.resamples},
                       {"score_hr_per_sd", hr.hr_per_sd},
                       {"score_hr_per_sd_lower", hr.hr_per_sd_lower},
                       {"score_hr_per_sd_upper", hr.hr_per_sd_upper},
                       {"score_p", hr.p},
                       {"events", comparison.image.events},
                       {"warnings", comparison.image.warnings}};
  } catch (const InputError& e) {
    // Data that cannot carry a Cox model (no event, a constant covariate) is a finding, not a
    // failed run: the row says why and the discrimination above stands.
    row["survival"] = nullptr;
    row["survival_note"] = e.what();
    spdlog::warn("cox {} for configuration {}: {}", id, cfg.id, e.what());
  }
  write_file_atomically(dir / "cox.json", row.dump(2));
  row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return row;
}

} // namespace vfp::tasks
