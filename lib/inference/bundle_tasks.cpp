// Which fold tasks a bundle exports and where their models come from: the sweep's saved
// files, or the task trained again (same configuration, split and seed) and accepted only when
// its out-of-fold scores are the ones the sweep stored.
#include "inference/bundle_tasks.h"

#include "core/core.h"
#include "log/log.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace vfp::inference::detail {
namespace fs = std::filesystem;
namespace {

nlohmann::json parse_task_json(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_text_file(p, "task file"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p.string() + ": not valid JSON: " + e.what());
  }
}

FoldTask fold_task_of(const results::TaskFiles& files, const nlohmann::json& j) {
  FoldTask t;
  t.id = j.at("task_id").get<std::string>();
  t.config_id = j.at("config_id").get<std::string>();
  t.fold = j.at("fold").get<int>();
  t.repeat = j.at("repeat").get<int>();
  t.seed = j.at("seed").get<std::uint64_t>();
  t.task = j;
  t.files = files;
  return t;
}

void sort_by_split(std::vector<FoldTask>& tasks) {
  std::sort(tasks.begin(), tasks.end(), [](const FoldTask& a, const FoldTask& b) {
    return std::tie(a.repeat, a.fold) < std::tie(b.repeat, b.fold);
  });
}

void require_finished(const std::vector<FoldTask>& tasks) {
  for (const auto& t : tasks)
    if (!fs::exists(t.files.predictions))
      throw InputError("task " + t.id + " (fold " + std::to_string(t.fold) +
                       ") has not finished: no oof.csv in " + t.files.folder.string());
}

/// subject → score of an oof.csv.
std::map<std::string, double> scores_of(const fs::path& oof) {
  std::map<std::string, double> out;
  for (const auto& p : results::read_predictions(oof))
    out[p.subject_id] = p.score;
  return out;
}

/// The largest |Δ| between the stored and the retrained scores, and its subject; a subject
/// in one file only is an error naming it.
std::pair<double, std::string> largest_difference(const FoldTask& t, const fs::path& retrained) {
  const auto stored = scores_of(t.files.predictions);
  const auto again = scores_of(retrained);
  double worst = 0;
  std::string subject;
  for (const auto& [id, score] : stored) {
    const auto it = again.find(id);
    if (it == again.end())
      throw InputError("task " + t.id + ": subject " + id + " of " + t.files.predictions.string() +
                       " is not in the retrained model's test fold (the cohort or its cache "
                       "changed since the sweep ran)");
    const double d = std::abs(it->second - score);
    if (!(d <= worst)) { // NaN counts as the largest
      worst = d;
      subject = id;
    }
  }
  if (again.size() != stored.size())
    throw InputError("task " + t.id + ": the retrained model's test fold has " +
                     std::to_string(again.size()) + " subjects, " + t.files.predictions.string() +
                     " " + std::to_string(stored.size()) +
                     " (the cohort or its cache changed since the sweep ran)");
  return {worst, subject};
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

} // namespace

std::vector<FoldTask> configuration_tasks(const results::SweepFolder& sweep,
                                          const std::string& config_id) {
  const auto tasks_dir = sweep.tasks_folder();
  if (!fs::is_directory(tasks_dir))
    throw InputError(sweep.root().string() + " holds no tasks/ folder: not a sweep's results");
  // Inner tasks (nested selection) train within an outer fold: not fold models. Their
  // config.json looks like an outer task's; their rows say which they are.
  std::set<std::string> inner;
  if (fs::exists(sweep.results()))
    for (const auto& r : results::typed_rows(results::read_rows(sweep)))
      if (const auto* e = std::get_if<results::TrainEvalRow>(&r); e && e->kind == "inner")
        inner.insert(e->task_id);
  std::map<std::string, std::vector<FoldTask>> by_config;
  for (const auto& files : sweep.task_folders()) {
    if (!fs::exists(files.config))
      continue;
    const auto j = parse_task_json(files.config);
    const std::string id = j.value("config_id", "");
    if (id.rfind(config_id, 0) != 0 || inner.count(j.value("task_id", "")))
      continue;
    by_config[id].push_back(fold_task_of(files, j));
  }
  if (by_config.empty())
    throw InputError("no configuration with id '" + config_id + "' in " + tasks_dir.string() +
                     " (`vfp sweep SWEEP.yaml --dry-run` lists the ids)");
  if (by_config.size() > 1)
    throw InputError("configuration id prefix '" + config_id + "' is ambiguous in " +
                     sweep.root().string() + " (" + by_config.begin()->first + ", " +
                     std::next(by_config.begin())->first + ", ...)");
  auto tasks = by_config.begin()->second;
  sort_by_split(tasks);
  require_finished(tasks);
  const auto& cv = tasks.front().task.at("config").at("cv");
  const int expected = cv.at("folds").get<int>() * cv.value("repeats", 1);
  if (int(tasks.size()) != expected)
    throw InputError("configuration " + tasks.front().config_id + " has " +
                     std::to_string(tasks.size()) + " of its " + std::to_string(expected) +
                     " fold tasks in " + tasks_dir.string() + ": finish the sweep first");
  return tasks;
}

std::vector<FoldTask> group_tasks(const results::SweepFolder& sweep, const std::string& group_id,
                                  nlohmann::json& row) {
  std::map<std::string, results::SelectionRow> latest;
  for (const auto& r : results::typed_rows(results::read_rows(sweep)))
    if (const auto* s = std::get_if<results::SelectionRow>(&r);
        s && s->kind == "selection" && s->task_id.rfind(group_id, 0) == 0)
      latest[s->task_id] = *s;
  if (latest.empty())
    throw InputError("no nested selection with group id '" + group_id + "' in " +
                     sweep.results().string() +
                     " (`vfp report` lists a selected row's group id; the sweep needs a "
                     "selection: section and its selections done)");
  if (latest.size() > 1)
    throw InputError("group id prefix '" + group_id + "' is ambiguous in " +
                     sweep.results().string() + " (" + latest.begin()->first + ", " +
                     std::next(latest.begin())->first + ", ...)");
  const auto& selection = latest.begin()->second;
  row = results::to_json(selection);
  std::vector<FoldTask> tasks;
  for (const auto& choice : selection.folds) {
    const auto files = sweep.task(choice.task_id);
    if (!fs::exists(files.config))
      throw InputError("selection " + selection.task_id + " chose task " + choice.task_id +
                       " for fold " + std::to_string(choice.fold) + ", whose " +
                       files.config.string() + " is missing");
    tasks.push_back(fold_task_of(files, parse_task_json(files.config)));
  }
  if (tasks.empty())
    throw InputError("selection " + selection.task_id + " in " + sweep.results().string() +
                     " chose no fold models");
  sort_by_split(tasks);
  require_finished(tasks);
  // One preprocessing pass and one aggregation per patient feed every fold model.
  const auto& first = tasks.front();
  for (const auto& t : tasks)
    for (const auto& [section, key] : {std::pair<std::string, std::string>{"preprocess", ""},
                                       {"train", "aggregation"}}) {
      const auto& a = first.task.at("config").at(section);
      const auto& b = t.task.at("config").at(section);
      const auto va = key.empty() ? a : a.value(key, nlohmann::json());
      const auto vb = key.empty() ? b : b.value(key, nlohmann::json());
      if (va != vb)
        throw InputError("selection " + selection.task_id + " cannot be one bundle: its fold " +
                         std::to_string(t.fold) + " (configuration " + t.config_id + ") has " +
                         section + (key.empty() ? "" : "." + key) + " " + vb.dump() +
                         ", fold " + std::to_string(first.fold) + " (configuration " +
                         first.config_id + ") " + va.dump() +
                         "; a bundle preprocesses and aggregates each patient once: export the "
                         "configurations one by one");
    }
  return tasks;
}

fs::path provide_models(const results::SweepFolder& sweep, std::vector<FoldTask>& tasks,
                        const ExportOptions& options, const fs::path& out) {
  std::map<std::string, int> threads_of; // each task's latest row: the threads it trained with
  bool rows_read = false;
  const double tolerance = options.tolerance.value_or(kRetrainTolerance);
  const auto scratch = out.parent_path() / ("." + out.filename().string() + ".retraining");
  std::size_t missing = 0, done = 0;
  for (const auto& t : tasks)
    missing += fs::exists(t.files.model) ? 0 : 1;
  // A failed retraining leaves nothing behind (its scratch holds partial weights).
  struct ScratchGuard {
    fs::path dir;
    bool keep = false;
    explicit ScratchGuard(fs::path folder) : dir(std::move(folder)) {} // no aggregate in C++20
    ScratchGuard(const ScratchGuard&) = delete;
    ScratchGuard& operator=(const ScratchGuard&) = delete;
    ~ScratchGuard() {
      std::error_code ignored;
      if (!keep)
        fs::remove_all(dir, ignored);
    }
  } guard{scratch};
  for (auto& t : tasks) {
    if (fs::exists(t.files.model)) {
      t.model = t.files.model;
      continue;
    }
    if (!options.retrain)
      throw InputError("task " + t.id + " (fold " + std::to_string(t.fold) + ") saved no model (" +
                       t.files.model.string() + "): rerun the sweep with train.save_model: true");
    if (!rows_read) {
      for (const auto& r : results::typed_rows(results::read_rows(sweep)))
        if (const auto* e = std::get_if<results::TrainEvalRow>(&r))
          threads_of[e->task_id] = e->threads;
      rows_read = true;
    }
    RetrainJob job{t.id, t.fold, t.repeat, t.task, threads_of[t.id], scratch / t.id};
    spdlog::info("vfp export: training task {} (configuration {}, repeat {}, fold {}) again, "
                 "{} of {}: the sweep saved no model",
                 t.id, t.config_id, t.repeat, t.fold, ++done, missing);
    const auto model = options.retrain(job);
    const auto [difference, subject] = largest_difference(t, model.predictions);
    const std::string where = "task " + t.id + " (configuration " + t.config_id + ", repeat " +
                              std::to_string(t.repeat) + ", fold " + std::to_string(t.fold) +
                              ", " + std::to_string(model.threads) + " threads, " +
                              model.device + ")";
    if (!(difference <= tolerance))
      throw InputError(where + ": the retrained model's out-of-fold scores differ from " +
                       t.files.predictions.string() + " by up to " + number(difference) +
                       " (subject " + subject + "), more than the tolerance " + number(tolerance) +
                       " (docs/inference.md); --tolerance accepts a larger difference");
    if (difference > kRetrainTolerance)
      spdlog::warn("vfp export: {}: out-of-fold scores differ by up to {} (subject {}), more "
                   "than the default tolerance {}; accepted by --tolerance {}",
                   where, number(difference), subject, number(kRetrainTolerance),
                   number(tolerance));
    else
      spdlog::info("vfp export: {}: out-of-fold scores reproduced (largest difference {})", where,
                   number(difference));
    t.model = model.model;
    t.retrained = {{"threads", model.threads},
                   {"device", model.device},
                   {"max_abs_score_difference", difference},
                   {"tolerance", tolerance}};
  }
  guard.keep = missing > 0; // the caller copies the models, then removes it
  return missing > 0 ? scratch : fs::path();
}

} // namespace vfp::inference::detail
