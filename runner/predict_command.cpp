// `vfp export` (a configuration's fold models as a bundle) and `vfp predict` (a new patient's
// CT through a bundle to a fracture-risk report).
#include "commands.h"

#include "core/core.h"
#include "inference/inference.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <thread>

namespace vfp::runner {

int export_command(const ExportArgs& args) {
  const auto bundle = inference::export_bundle(args.sweep_dir, args.config_id, args.out);
  std::cout << "bundle " << args.out << ": configuration "
            << bundle.at("config_id").get<std::string>() << ", " << bundle.at("models").size()
            << " fold models"
            << (bundle.at("cox").is_null()
                    ? ", no Cox model (" + bundle.value("cox_problem", std::string()) + ")"
                    : ", Cox model score + age + BMI")
            << "\n";
  return 0;
}

int predict_command(const PredictArgs& args) {
  std::vector<inference::Patient> patients;
  if (!args.csv.empty()) {
    if (!args.image.empty() || !args.centroids.empty())
      throw InputError("vfp predict: give either --csv or --image with --centroids, not both");
    patients = inference::read_patient_csv(args.csv);
  } else {
    if (args.image.empty() || args.centroids.empty())
      throw InputError("vfp predict: --image and --centroids are required (or --csv)");
    inference::Patient p;
    // Default id: the image's name without its extensions (S0001.nii.gz → S0001).
    const auto name = std::filesystem::path(args.image).filename().string();
    p.id = args.subject_id.empty() ? name.substr(0, name.find('.')) : args.subject_id;
    p.image = args.image;
    p.centroids = args.centroids;
    if (args.age >= 0)
      p.age = args.age;
    if (args.bmi >= 0)
      p.bmi = args.bmi;
    patients.push_back(p);
  }
  const int threads =
      args.threads > 0 ? args.threads : int(std::max(1U, std::thread::hardware_concurrency()));
  inference::Predictor predictor(inference::load_bundle(args.bundle), threads);
  const auto reports = predictor.predict(patients, args.svg_dir);
  if (args.json) {
    if (args.csv.empty())
      std::cout << reports.front().dump(2) << "\n";
    else
      std::cout << nlohmann::json(reports).dump(2) << "\n";
  } else {
    for (const auto& r : reports)
      std::cout << inference::format_report(r);
  }
  return 0;
}

} // namespace vfp::runner
