// vfp predict's throughput on CPU: patients/s from CT file to report (ITK read, resampling,
// projection, every fold model, aggregation, Cox), for a batch of all patients at 1 and 2
// threads and for patients one at a time. The bundle comes from a real tiny sweep: the
// program runs `vfp synth`, `vfp run` (fNet, the study's preprocessing, 4 folds, 1 epoch,
// models saved) and `vfp export` in its work folder once, and reuses them afterwards.
// Usage: bench_predict [--patients N=40] [--threads 1,2] [--work DIR=/tmp/vfp_bench_predict]
#include "args.h"
#include "record.h"

#include "core/core.h"
#include "inference/inference.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

void shell(const std::string& command) {
  if (std::system((command + " > /dev/null 2>&1").c_str()) != 0)
    throw vfp::IoError("bench_predict: failed: " + command);
}

fs::path make_bundle(const fs::path& work, int patients) {
  const auto bundle = work / "bundle";
  if (fs::exists(bundle / "manifest.json"))
    return bundle;
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string in = "cd " + work.string() + " && ";
  shell(in + VFP_BIN + " synth --subjects " + std::to_string(patients) +
        " --event-rate 0.3 --seed 7 --out cohort");
  std::ofstream(work / "bench.yaml") << "name: bench\ncohort: {dir: cohort}\n"
                                        "train: {max_epochs: 1, patience: 1, save_model: true}\n";
  shell(in + VFP_BIN + " run bench.yaml");
  std::string id;
  for (const auto& e : fs::directory_iterator(work / "results" / "bench" / "tasks")) {
    std::ifstream f(e.path() / "config.json");
    id = nlohmann::json::parse(f)["config_id"];
    break;
  }
  shell(in + VFP_BIN + " export results/bench --config " + id + " --out bundle");
  return bundle;
}

} // namespace

int main(int argc, char** argv) try {
  vfp::bench::Args args("bench_predict");
  int patients = 40;
  std::vector<int> threads{1, 2};
  fs::path work = "/tmp/vfp_bench_predict";
  args.parse(argc, argv,
             {args.positive_into("--patients", patients),
              args.positive_list_into("--threads", threads), args.text_into("--work", work)},
             "bench_predict [--patients N=40] [--threads 1,2] [--work DIR]\n");
  const auto bundle_dir = make_bundle(work, patients);
  std::vector<vfp::inference::Patient> list;
  for (int s = 1; s <= patients; ++s) {
    char id[16];
    std::snprintf(id, sizeof id, "S%04d", s);
    vfp::inference::Patient p;
    p.id = id;
    p.image = work / "cohort" / "images" / (std::string(id) + ".nii.gz");
    p.centroids = work / "cohort" / "centroids" / (std::string(id) + ".json");
    p.age = 70.0;
    p.bmi = 25.0;
    list.push_back(p);
  }
  const auto b = vfp::inference::load_bundle(bundle_dir);
  std::printf("bundle: %zu fold models (%s), %d patients, CPU\n", b.models.size(),
              b.meta["config"]["model"]["arch"].get<std::string>().c_str(), patients);
  std::printf("%-28s %8s %12s %14s\n", "mode", "threads", "patients/s", "ms/patient");
  for (int t : threads) {
    vfp::inference::Predictor predictor(vfp::inference::load_bundle(bundle_dir), t);
    predictor.predict({list.front()}); // warm-up: first-call allocations, ITK factories
    auto t0 = Clock::now();
    const auto reports = predictor.predict(list);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    // A failed patient costs less than a prediction: figures with one would flatter.
    for (const auto& r : reports)
      if (vfp::inference::is_error(r))
        throw vfp::InputError("bench_predict: " + r.at("error").get<std::string>());
    std::printf("%-28s %8d %12.1f %14.2f\n", "batch (all patients)", t, patients / s,
                1e3 * s / patients);
    vfp::bench::record(
        {"Prediction (bench_predict)",
         "batch of " + std::to_string(patients) + ", " + std::to_string(t) + " thread(s)",
         patients / s, "patients/s", "", NAN, "", -1, "CT file to report, preprocessing included"});
    t0 = Clock::now();
    for (const auto& p : list)
      predictor.predict({p});
    s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%-28s %8d %12.1f %14.2f\n", "one at a time", t, patients / s, 1e3 * s / patients);
    vfp::bench::record({"Prediction (bench_predict)",
                        "one patient at a time, " + std::to_string(t) + " thread(s)", patients / s,
                        "patients/s", "", NAN, "", -1, ""});
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
