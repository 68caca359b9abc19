// `vfp export` (a configuration's fold models as a bundle) and `vfp predict` (a new patient's
// CT through a bundle to a fracture-risk report).
#include "commands.h"

#include "core/core.h"
#include "inference/inference.h"
#include "log/log.h"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

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

} // namespace

int export_command(const ExportArgs& args) {
  const auto bundle = inference::export_bundle(args.sweep_dir, args.config_id, args.out);
  std::cout << "bundle " << args.out << ": configuration "
            << bundle.at("config_id").get<std::string>() << ", " << bundle.at("models").size()
            << " fold models (" << bundle.at("config").at("model").at("arch").get<std::string>()
            << ", " << bundle.at("preprocess").at("output").get<std::string>() << " patches)"
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
  cmd->add_option("--config", args->config_id, "configuration id (or unique prefix)")->required();
  cmd->add_option("--out", args->out, "the bundle folder (new or empty)")->required();
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
