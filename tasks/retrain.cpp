// Training a finished outer task again, for `vfp export` of a sweep that saved no models: the
// stored configuration, split and seed through run_train_eval itself, in a scratch folder, so
// that the retrained model is the one the sweep's task would have saved.
#include "tasks/tasks.h"

#include "config/config.h"
#include "core/core.h"

#include <filesystem>

namespace vfp::tasks {
namespace fs = std::filesystem;

RetrainedTask retrain_task(const RetrainRequest& request) {
  const auto& j = request.task;
  const std::string task_id = j.at("task_id").get<std::string>();
  const std::string what = "task " + task_id + " of " + request.sweep_dir.string();
  const auto& stored = j.at("config");
  auto c = config::experiment_from_json(stored);
  // Read back, the configuration must give the JSON the task stored: else a key this vfp does
  // not know (a newer vfp's results) would silently train something else.
  if (const auto again = config::to_json(c); again != stored) {
    const auto diff = nlohmann::json::diff(stored, again);
    throw InputError(what + ": its config.json does not read back into the configuration it "
                            "stores (" +
                     diff.dump() + "); was it written by another vfp version?");
  }
  sweep::TrainTask task;
  task.id = task_id;
  task.fold = j.at("fold").get<int>();
  task.repeat = j.at("repeat").get<int>();
  task.seed = j.at("seed").get<std::uint64_t>();
  if (task.seed != sweep::seed_from_id(task.id))
    throw InputError(what + ": config.json's seed " + std::to_string(task.seed) +
                     " is not the one of its id (" + std::to_string(sweep::seed_from_id(task.id)) +
                     "): the file was edited");
  // Runtime settings only: where the weights go, the threads and the device.
  c.train.save_model = true;
  c.train.threads = request.threads;
  if (!request.device.empty())
    c.train.device = request.device;

  sweep::Sweep sweep;
  sweep.name = c.name;
  sweep.configurations.push_back({j.at("config_id").get<std::string>(), c, {}});
  sweep.tasks.push_back(task);

  fs::remove_all(request.scratch); // a leftover of an interrupted export: start clean
  fs::create_directories(request.scratch);
  TaskContext ctx;
  ctx.sweep_dir = request.scratch;
  ctx.cache_dir = request.cache_dir;
  ctx.threads = request.threads;
  ctx.progress = request.progress;
  if (c.runs_pretraining()) { // the sweep's BYOL backbone, copied where the task looks for it
    const auto id = pretrain_id(c, task);
    const auto source = results::SweepFolder(request.sweep_dir).pretrain(id).weights;
    if (!fs::exists(source))
      throw InputError(what + " starts from pretraining " + id + ", whose checkpoint " +
                       source.string() + " is missing");
    const auto target = results::SweepFolder(request.scratch).pretrain(id, true).weights;
    fs::copy_file(source, target, fs::copy_options::overwrite_existing);
  }
  auto row = run_train_eval(sweep, task, ctx);
  const auto files = results::SweepFolder(request.scratch).task(task.id);
  return {files.model, files.predictions, std::move(row)};
}

} // namespace vfp::tasks
