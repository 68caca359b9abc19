// `vfp export` (a configuration's fold models as a bundle) and `vfp predict` (a new patient's
// CT through a bundle to a fracture-risk report).
#include "commands.h"

#include "core/core.h"
#include "inference/inference.h"
#include "log/log.h"
#include "tasks/tasks.h"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

namespace vfp::runner {
namespace {

/// Exit code of a batch in which some patients could not be predicted (docs/inference.md):
/// apart from 1 (a refusal: nothing predicted) and 2 (an unexpected error).
constexpr int kSomePatientsFailed = 3;

/// ExportOptions::retrain for vfp export: tasks::retrain_task in-process, with the thread
/// count the task trained with (the same numbers; docs/inference.md) unless --threads says.
inference::ExportOptions export_options(const ExportArgs& args) {
  inference::ExportOptions options;
  if (args.tolerance >= 0) {
    options.tolerance = args.tolerance;
    spdlog::warn("vfp export: --tolerance {} replaces the default {}: a retrained model whose "
                 "out-of-fold scores differ by up to that much is bundled as the sweep's",
                 args.tolerance, inference::kRetrainTolerance);
  }
  auto sweep_dir = std::filesystem::absolute(args.sweep_dir).lexically_normal();
  if (!sweep_dir.has_filename()) // results/demo/
    sweep_dir = sweep_dir.parent_path();
  const auto cache_dir = args.cache_dir.empty() ? sweep_dir.parent_path() / "cache"
                                                : std::filesystem::path(args.cache_dir);
  options.retrain = [args, sweep_dir, cache_dir](const inference::RetrainJob& job) {
    tasks::RetrainRequest request;
    request.sweep_dir = sweep_dir;
    request.cache_dir = cache_dir;
    request.scratch = job.scratch;
    request.task = job.task;
    request.threads = args.threads > 0   ? args.threads
                      : job.threads > 0 ? job.threads
                                        : std::max(1, cpus_in_affinity());
    request.device = args.device;
    const auto max_epochs =
        job.task.at("config").at("train").value("max_epochs", nlohmann::json()).dump();
    // Minutes per task on real data: one line per epoch.
    request.progress = [&job, max_epochs](const nlohmann::json& e) {
      spdlog::info("vfp export: task {} epoch {} of {}: loss {:.4f}, validation AUROC {:.3f}",
                   job.task_id, e.at("epoch").get<int>(), max_epochs,
                   e.at("train_loss").get<double>(), e.at("val_auroc").get<double>());
    };
    const auto done = tasks::retrain_task(request);
    inference::RetrainedModel model;
    model.model = done.model;
    model.predictions = done.predictions;
    model.threads = request.threads;
    model.device = args.device.empty()
                       ? job.task.at("config").at("train").value("device", std::string("auto"))
                       : args.device;
    return model;
  };
  return options;
}

} // namespace

int export_command(const ExportArgs& args) {
  if (args.config_id.empty() == args.group_id.empty())
    throw InputError("vfp export: give one of --config ID and --group ID");
  const auto options = export_options(args);
  const auto bundle =
      args.group_id.empty()
          ? inference::export_bundle(args.sweep_dir, args.config_id, args.out, options)
          : inference::export_group_bundle(args.sweep_dir, args.group_id, args.out, options);
  std::size_t retrained = 0;
  for (const auto& m : bundle.at("models"))
    retrained += m.contains("retrained") ? 1 : 0;
  std::cout << "bundle " << args.out << ": "
            << (bundle.contains("selection") ? "nested selection " : "configuration ")
            << bundle.at("config_id").get<std::string>() << ", " << bundle.at("models").size()
            << " fold models (" << bundle.at("config").at("model").at("arch").get<std::string>()
            << ", " << bundle.at("preprocess").at("output").get<std::string>() << " patches"
            << (retrained ? ", " + std::to_string(retrained) + " trained again" : "") << ")"
            << (bundle.at("cox").is_null()
                    ? ", no Cox model (" + bundle.value("cox_problem", std::string()) + ")"
                    : ", Cox model score + age + BMI")
            << "\n";
  return 0;
}

int predict_command(const PredictArgs& args) {
  std::vector<inference::Patient> patients;
  const bool batch = !args.csv.empty();
  if (batch) {
    if (!args.image.empty() || !args.centroids.empty())
      throw InputError("vfp predict: give either --csv or --image with --centroids, not both");
    patients = inference::read_patient_csv(args.csv);
    if (patients.empty())
      throw InputError("vfp predict: " + args.csv + " lists no patients");
  } else {
    if (args.image.empty() || args.centroids.empty())
      throw InputError("vfp predict: --image and --centroids are required (or --csv)");
    inference::Patient p;
    // Default id: the image's name without its extensions (S0001.nii.gz → S0001).
    const auto name = std::filesystem::path(args.image).filename().string();
    p.id = args.subject_id.empty() ? name.substr(0, name.find('.')) : args.subject_id;
    // The id names the pictures (--svg, --png): one path component, refused otherwise.
    try {
      checked_path_component(p.id, "subject id");
    } catch (const InputError& e) {
      throw InputError("vfp predict: " +
                       std::string(args.subject_id.empty() ? "--image (no --id given)" : "--id") +
                       ": " + e.what());
    }
    p.image = args.image;
    p.centroids = args.centroids;
    if (args.age >= 0)
      p.age = args.age;
    if (args.bmi >= 0)
      p.bmi = args.bmi;
    patients.push_back(p);
  }
  for (auto& p : patients) {
    p.centroid_format = args.centroid_format;
    p.centroid_space = args.centroid_space;
  }
  const int threads =
      args.threads > 0 ? args.threads : int(std::max(1U, std::thread::hardware_concurrency()));
  inference::Predictor predictor(inference::load_bundle(args.bundle), threads);
  // A batch of thousands of patients takes minutes: a progress line now and then (none for
  // one patient, nor for a batch done within seconds).
  log::Progress progress("vfp predict: patients", patients.size());
  std::mutex progress_lock;
  std::function<void()> on_patient_done;
  if (batch)
    on_patient_done = [&] {
      const std::lock_guard<std::mutex> hold(progress_lock);
      progress.step();
    };
  const auto reports = predictor.predict(patients, {args.svg_dir, args.png_dir}, on_patient_done);
  progress.finish();
  // One patient alone: its failure is the command's (exit 1, the reason on stderr, as for any
  // refusal). In a batch the others are still reported, and the exit code says some failed.
  if (!batch && inference::is_error(reports.front()))
    throw InputError(reports.front().at("error").get<std::string>());
  if (args.json) {
    if (!batch)
      std::cout << reports.front().dump(2) << "\n";
    else
      std::cout << nlohmann::json(reports).dump(2) << "\n";
  } else {
    for (const auto& r : reports)
      std::cout << inference::format_report(r);
  }
  std::size_t failed = 0;
  std::string names;
  for (const auto& r : reports)
    if (inference::is_error(r)) {
      names += (failed++ == 0 ? "" : ", ") + r.at("subject_id").get<std::string>();
      std::cerr << "vfp: error: " << r.at("error").get<std::string>() << "\n";
    }
  if (failed == 0)
    return 0;
  std::cerr << "vfp: " << failed << " of " << reports.size() << " patients could not be predicted ("
            << names << "); the others were\n";
  return kSomePatientsFailed;
}

void add_export_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand(
      "export", "Write a configuration's fold models, preprocessing, Cox model and validation "
                "figures as a self-contained bundle (docs/inference.md)");
  cmd->add_option("sweep_dir", args->sweep_dir, "results/<sweep>")->required();
  cmd->add_option("--config", args->config_id, "configuration id (or unique prefix)");
  cmd->add_option("--group", args->group_id,
                  "a nested selection's group id (or unique prefix): per outer fold its "
                  "selected model");
  cmd->add_option("--out", args->out, "the bundle folder (new or empty)")->required();
  cmd->add_option("--threads", args->threads,
                  "threads to train a task again when the sweep saved no model (default: as "
                  "it trained)");
  cmd->add_option("--device", args->device, "device to train again on (default: the task's)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--tolerance", args->tolerance,
                  "largest accepted difference of retrained out-of-fold scores (default 1e-6)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--cache", args->cache_dir, "cache folder (default <sweep>/../cache)");
  commands.push_back({cmd, [args] { return export_command(*args); }});
}

void add_predict_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand(
      "predict", "Fracture risk of new patients from their CT with an exported bundle");
  cmd->add_option("--bundle", args->bundle, "the bundle folder (vfp export)")->required();
  cmd->add_option("--image", args->image, "the patient's CT (any ITK format)");
  cmd->add_option("--centroids", args->centroids,
                  "the patient's centroids: VerSe JSON, a SubjectID;Vertebra;X;Y;Z table "
                  "or a label map");
  cmd->add_option("--centroid-format", args->centroid_format,
                  "verse, csv or labelmap (default: told by the file name)")
      ->check(CLI::IsMember({"verse", "csv", "labelmap"}));
  cmd->add_option("--centroid-space", args->centroid_space,
                  "a table's coordinates, lps or ras (default: as the bundle's training cohort)")
      ->check(CLI::IsMember({"lps", "ras"}));
  cmd->add_option("--id", args->subject_id, "the patient's id in the report");
  cmd->add_option("--age", args->age, "age (years), for the Cox model");
  cmd->add_option("--bmi", args->bmi, "BMI (kg/m²), for the Cox model");
  cmd->add_option("--csv", args->csv,
                  "many patients: subject_id,image,centroids[,age,bmi] (one batch)");
  cmd->add_option("--svg", args->svg_dir,
                  "write each patch the models saw as <id>_<vertebra>.svg here");
  cmd->add_option("--png", args->png_dir,
                  "write each patch the models saw as <id>_<vertebra>.png here (8-bit "
                  "grey; 3D: the central slice)");
  cmd->add_option("--threads", args->threads, "0: every core")->capture_default_str();
  cmd->add_flag("--json", args->json, "print JSON");
  commands.push_back({cmd, [args] { return predict_command(*args); }});
}

} // namespace vfp::runner
