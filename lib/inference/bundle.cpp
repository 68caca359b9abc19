#include "inference/inference.h"

#include "core/core.h"
#include "inference/bundle_models.h"
#include "metrics/metrics.h"
#include "results/results.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace vfp::inference {
namespace fs = std::filesystem;
namespace {

// 2: the recalibration (score → probability) and its horizon; format 1 bundles still load,
// without a calibrated probability.
constexpr int kFormatVersion = 2;
constexpr int kOldestFormatVersion = 1;

nlohmann::json parse_json_file(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_text_file(p, "bundle file"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p.string() + ": not valid JSON: " + e.what());
  }
}

/// A finished train_eval task of the configuration, with its files.
struct FoldTask {
  std::string id;
  int fold = 0, repeat = 0;
  std::uint64_t seed = 0;
  results::TaskFiles files;
};

std::string file_checksum(const std::string& bytes) {
  return hex64(checksum64(bytes.data(), bytes.size()));
}

} // namespace

double CoxModel::baseline_at(double t) const {
  const auto it = std::upper_bound(times.begin(), times.end(), t);
  return it == times.begin() ? 0.0 : cumulative_hazard[std::size_t(it - times.begin()) - 1];
}

namespace {

/// The configuration a bundle exports: its id, resolved configuration and fold tasks (repeat,
/// fold order), each finished with its model saved.
struct ExportedConfiguration {
  std::string id;
  nlohmann::json config;
  std::vector<FoldTask> tasks;
};

/// Finds the configuration whose id starts with `config_id` among the sweep's task folders and
/// checks that every fold task has finished and saved its model.
ExportedConfiguration configuration_to_export(const results::SweepFolder& sweep,
                                              const std::string& config_id) {
  const auto tasks_dir = sweep.tasks_folder();
  if (!fs::is_directory(tasks_dir))
    throw InputError(sweep.root().string() + " holds no tasks/ folder: not a sweep's results");
  std::map<std::string, std::vector<FoldTask>> by_config;
  std::map<std::string, nlohmann::json> configs;
  for (const auto& files : sweep.task_folders()) {
    if (!fs::exists(files.config))
      continue;
    const auto j = parse_json_file(files.config);
    const std::string id = j.value("config_id", "");
    if (id.rfind(config_id, 0) != 0)
      continue;
    by_config[id].push_back({j.at("task_id").get<std::string>(), j.at("fold").get<int>(),
                             j.at("repeat").get<int>(), j.at("seed").get<std::uint64_t>(), files});
    configs[id] = j.at("config");
  }
  if (by_config.empty())
    throw InputError("no configuration with id '" + config_id + "' in " + tasks_dir.string() +
                     " (`vfp sweep SWEEP.yaml --dry-run` lists the ids)");
  if (by_config.size() > 1)
    throw InputError("configuration id prefix '" + config_id + "' is ambiguous in " +
                     sweep.root().string() + " (" + by_config.begin()->first + ", " +
                     std::next(by_config.begin())->first + ", ...)");
  ExportedConfiguration e{by_config.begin()->first, configs[by_config.begin()->first],
                          by_config.begin()->second};
  std::sort(e.tasks.begin(), e.tasks.end(), [](const FoldTask& a, const FoldTask& b) {
    return std::tie(a.repeat, a.fold) < std::tie(b.repeat, b.fold);
  });
  const int expected =
      e.config.at("cv").at("folds").get<int>() * e.config.at("cv").at("repeats").get<int>();
  for (const auto& t : e.tasks) {
    if (!fs::exists(t.files.predictions))
      throw InputError("task " + t.id + " (fold " + std::to_string(t.fold) +
                       ") has not finished: no oof.csv in " + t.files.folder.string());
    if (!fs::exists(t.files.model))
      throw InputError("task " + t.id + " (fold " + std::to_string(t.fold) + ") saved no model (" +
                       t.files.model.string() + "): rerun the sweep with train.save_model: true");
  }
  if (int(e.tasks.size()) != expected)
    throw InputError("configuration " + e.id + " has " + std::to_string(e.tasks.size()) +
                     " of its " + std::to_string(expected) + " fold tasks in " +
                     tasks_dir.string() + ": finish the sweep first");
  return e;
}

/// Copies each fold's model into the bundle; returns the bundle's list of models.
nlohmann::json copy_models(const std::vector<FoldTask>& tasks, const fs::path& out) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& t : tasks) {
    const std::string name =
        "model-r" + std::to_string(t.repeat) + "-f" + std::to_string(t.fold) + ".safetensors";
    fs::copy_file(t.files.model, out / name, fs::copy_options::overwrite_existing);
    models.push_back({{"file", name},
                      {"task_id", t.id},
                      {"fold", t.fold},
                      {"repeat", t.repeat},
                      {"seed", t.seed}});
  }
  return models;
}

/// Fold figures as the sweep's table reports them (results.jsonl rows of this configuration,
/// each task by its latest row), the pooled analysis of its cox job when there is one.
/// Read only (results::read_rows): a torn last line is left out with a warning, a damaged row
/// elsewhere is an error naming file:line.
nlohmann::json validation_of(const results::SweepFolder& sweep, const std::string& id,
                             std::size_t subjects) {
  std::map<std::string, results::TrainEvalRow> last; // a rerun task's latest success
  for (const auto& row : results::typed_rows(results::read_rows(sweep)))
    if (const auto* r = std::get_if<results::TrainEvalRow>(&row);
        r && r->kind == "train_eval" && r->config_id == id)
      last[r->task_id] = *r;
  std::vector<double> aurocs, auprcs;
  for (const auto& [task, row] : last) {
    aurocs.push_back(row.auroc);
    auprcs.push_back(row.auprc);
  }
  const auto auroc = aurocs.empty() ? metrics::MeanStd{} : metrics::mean_std(aurocs);
  const auto auprc = auprcs.empty() ? metrics::MeanStd{} : metrics::mean_std(auprcs);
  nlohmann::json validation = {{"folds", aurocs.size()}, {"auroc_mean", auroc.mean},
                               {"auroc_sd", auroc.std},  {"auprc_mean", auprc.mean},
                               {"auprc_sd", auprc.std},  {"subjects", subjects}};
  if (const auto cox_file = sweep.configuration(id).analysis; fs::exists(cox_file)) {
    const auto cox = parse_json_file(cox_file);
    validation["pooled"] = cox.value("pooled", nlohmann::json());
    validation["survival"] = cox.value("survival", nlohmann::json());
  }
  return validation;
}

/// Writes manifest.json: every file of the bundle with its size and checksum.
void write_manifest(const fs::path& out, const nlohmann::json& models) {
  nlohmann::json files = nlohmann::json::array();
  std::vector<std::string> names{"bundle.json"};
  for (const auto& m : models)
    names.push_back(m.at("file"));
  for (const auto& name : names) {
    const auto bytes = read_text_file(out / name, "bundle file");
    files.push_back(
        {{"path", name}, {"bytes", bytes.size()}, {"checksum64", file_checksum(bytes)}});
  }
  write_file_atomically(out / "manifest.json",
                        nlohmann::json{{"format", "vfp-bundle-manifest"},
                                       {"checksum", "core::checksum64 (integrity, not security)"},
                                       {"files", files}}
                            .dump(2));
}

} // namespace

nlohmann::json export_bundle(const fs::path& sweep_dir, const std::string& config_id,
                             const fs::path& out) {
  const results::SweepFolder sweep(sweep_dir);
  const auto exported = configuration_to_export(sweep, config_id);
  const auto& id = exported.id;
  const auto& config = exported.config;
  if (fs::exists(out) && !fs::is_empty(out))
    throw InputError("bundle folder " + out.string() + " exists and is not empty");
  fs::create_directories(out);

  const auto models = copy_models(exported.tasks, out);
  std::vector<std::string> task_ids;
  for (const auto& t : exported.tasks)
    task_ids.push_back(t.id);
  const auto pooled = results::pool_predictions(sweep, task_ids);
  auto validation = validation_of(sweep, id, pooled.size());
  nlohmann::json recalibration = nullptr;
  std::string recalibration_problem;
  try {
    recalibration =
        detail::fit_recalibration(pooled, detail::train_from_json(config.at("train")), validation);
  } catch (const InputError& e) {
    recalibration_problem = e.what();
  }
  nlohmann::json cox = nullptr;
  std::string cox_problem;
  try {
    cox = detail::fit_cox_model(pooled);
  } catch (const InputError& e) {
    cox_problem = e.what();
  }
  nlohmann::json bundle = {{"format", "vfp-bundle"},
                           {"format_version", kFormatVersion},
                           {"vfp_version", std::string(version())},
                           {"sweep", sweep.name()},
                           {"config_id", id},
                           {"config", config},
                           {"preprocess", config.at("preprocess")},
                           {"aggregation", config.at("train").at("aggregation")},
                           {"ensemble", "score: the mean of the fold models' patient-level "
                                        "outputs (sigmoid; not a probability)"},
                           {"models", models},
                           {"recalibration", recalibration},
                           {"cox", cox},
                           {"validation", validation}};
  if (!recalibration_problem.empty())
    bundle["recalibration_problem"] = recalibration_problem;
  if (!cox_problem.empty())
    bundle["cox_problem"] = cox_problem;
  write_file_atomically(out / "bundle.json", bundle.dump(2));
  write_manifest(out, models);
  return bundle;
}

Bundle load_bundle(const fs::path& dir) {
  const auto manifest_file = dir / "manifest.json";
  if (!fs::exists(manifest_file))
    throw InputError("bundle " + dir.string() + ": no manifest.json (not a vfp bundle)");
  const auto manifest = parse_json_file(manifest_file);
  bool has_bundle_json = false;
  std::map<std::string, bool> listed;
  for (const auto& f : manifest.at("files")) {
    // A plain file name: a manifest naming ../x or /x would have vfp read (and load) a file
    // outside the bundle.
    const std::string name =
        checked_path_component(f.at("path"), "bundle " + dir.string() + ": manifest path");
    const auto path = dir / name;
    listed[name] = true;
    has_bundle_json |= name == "bundle.json";
    if (!fs::exists(path))
      throw InputError("bundle " + dir.string() + ": " + name + " is missing");
    const auto bytes = fs::file_size(path);
    if (bytes != f.at("bytes").get<std::uintmax_t>())
      throw InputError("bundle " + dir.string() + ": " + name + " has " + std::to_string(bytes) +
                       " bytes, the manifest says " +
                       std::to_string(f.at("bytes").get<long long>()) +
                       " (corrupted or tampered with)");
    if (file_checksum(read_text_file(path, "bundle file")) != f.at("checksum64").get<std::string>())
      throw InputError("bundle " + dir.string() + ": " + name +
                       " fails its checksum (corrupted or tampered with)");
  }
  if (!has_bundle_json)
    throw InputError("bundle " + dir.string() + ": manifest.json does not list bundle.json");
  Bundle b;
  b.dir = dir;
  b.meta = parse_json_file(dir / "bundle.json");
  const int format = b.meta.value("format_version", 0);
  if (b.meta.value("format", "") != "vfp-bundle" || format < kOldestFormatVersion ||
      format > kFormatVersion)
    throw InputError("bundle " + dir.string() + ": bundle.json is not a vfp bundle of format " +
                     std::to_string(kOldestFormatVersion) + " to " +
                     std::to_string(kFormatVersion));
  b.preprocess = config::preprocess_from_json(b.meta.at("preprocess"));
  b.aggregation = b.meta.at("aggregation").get<std::string>();
  for (const auto& m : b.meta.at("models")) {
    const std::string name = m.at("file");
    if (!listed.count(name))
      throw InputError("bundle " + dir.string() + ": model " + name + " is not in manifest.json");
    b.models.push_back(dir / name);
  }
  if (b.models.empty())
    throw InputError("bundle " + dir.string() + ": no models");
  if (const auto& c = b.meta.at("cox"); !c.is_null()) {
    CoxModel m;
    m.covariates = c.at("covariates").get<std::vector<std::string>>();
    m.coef = c.at("coef").get<std::vector<double>>();
    m.mean = c.at("mean").get<std::vector<double>>();
    m.sd = c.at("sd").get<std::vector<double>>();
    m.times = c.at("baseline").at("time").get<std::vector<double>>();
    m.cumulative_hazard = c.at("baseline").at("cumulative_hazard").get<std::vector<double>>();
    m.max_follow_up = c.at("max_follow_up").get<double>();
    m.risk_cuts = c.at("risk_groups").at("linear_predictor_cuts").get<std::vector<double>>();
    b.cox = m;
  }
  if (const auto r = b.meta.value("recalibration", nlohmann::json()); r.is_object()) {
    Calibration c;
    c.recalibration.prior_shift = r.at("prior_shift").get<double>();
    c.recalibration.intercept = r.at("intercept").get<double>();
    c.recalibration.slope = r.at("slope").get<double>();
    c.median_follow_up = r.at("horizon").at("median_follow_up_years").get<double>();
    c.max_follow_up = r.at("horizon").at("max_follow_up_years").get<double>();
    c.event_rate = r.at("event_rate").get<double>();
    c.probability_of = r.at("probability_of").get<std::string>();
    b.calibration = c;
  } else if (format < 2) {
    b.calibration_problem = "the bundle was written before vfp stored a recalibration (bundle "
                            "format " +
                            std::to_string(format) + "); export it again for one";
  } else {
    b.calibration_problem = "the bundle's recalibration could not be fitted (" +
                            b.meta.value("recalibration_problem", std::string("no reason given")) +
                            ")";
  }
  return b;
}

} // namespace vfp::inference
