#include "inference/inference.h"

#include "core/core.h"
#include "inference/bundle_models.h"
#include "inference/bundle_tasks.h"
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

std::string file_checksum(const std::string& bytes) {
  return hex64(checksum64(bytes.data(), bytes.size()));
}

} // namespace

double CoxModel::baseline_at(double t) const {
  const auto it = std::upper_bound(times.begin(), times.end(), t);
  return it == times.begin() ? 0.0 : cumulative_hazard[std::size_t(it - times.begin()) - 1];
}

namespace {

/// Copies each fold's model into the bundle; returns the bundle's list of models.
nlohmann::json copy_models(const std::vector<detail::FoldTask>& tasks, const fs::path& out) {
  nlohmann::json models = nlohmann::json::array();
  for (const auto& t : tasks) {
    const std::string name =
        "model-r" + std::to_string(t.repeat) + "-f" + std::to_string(t.fold) + ".safetensors";
    fs::copy_file(t.model, out / name, fs::copy_options::overwrite_existing);
    nlohmann::json m = {{"file", name},           {"task_id", t.id}, {"config_id", t.config_id},
                        {"fold", t.fold},         {"repeat", t.repeat}, {"seed", t.seed}};
    if (!t.retrained.is_null())
      m["retrained"] = t.retrained;
    models.push_back(std::move(m));
  }
  return models;
}

/// Fold figures as the sweep's table reports them (the latest row of each exported task), and
/// the pooled analysis of the configuration's cox job or the group's selection (`analysis`)
/// when there is one. Read only (results::read_rows): a torn last line is left out with a
/// warning, a damaged row elsewhere is an error naming file:line.
nlohmann::json validation_of(const results::SweepFolder& sweep,
                             const std::vector<detail::FoldTask>& tasks,
                             const fs::path& analysis, std::size_t subjects) {
  std::map<std::string, results::TrainEvalRow> last; // a rerun task's latest success
  for (const auto& t : tasks)
    last[t.id];
  std::map<std::string, bool> seen;
  for (const auto& row : results::typed_rows(results::read_rows(sweep)))
    if (const auto* r = std::get_if<results::TrainEvalRow>(&row);
        r && r->kind == "train_eval" && last.count(r->task_id)) {
      last[r->task_id] = *r;
      seen[r->task_id] = true;
    }
  std::vector<double> aurocs, auprcs;
  for (const auto& [task, row] : last)
    if (seen.count(task)) {
      aurocs.push_back(row.auroc);
      auprcs.push_back(row.auprc);
    }
  const auto auroc = aurocs.empty() ? metrics::MeanStd{} : metrics::mean_std(aurocs);
  const auto auprc = auprcs.empty() ? metrics::MeanStd{} : metrics::mean_std(auprcs);
  nlohmann::json validation = {{"folds", aurocs.size()}, {"auroc_mean", auroc.mean},
                               {"auroc_sd", auroc.std},  {"auprc_mean", auprc.mean},
                               {"auprc_sd", auprc.std},  {"subjects", subjects}};
  if (fs::exists(analysis)) {
    const auto cox = parse_json_file(analysis);
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

/// What a bundle packs besides its models.
struct Exported {
  std::string id;        ///< configuration or selection group id
  nlohmann::json config; ///< the configuration (a group's: its first fold's)
  fs::path analysis;     ///< cox.json or selection.json
  nlohmann::json selection; ///< a group's: which configuration each fold took
};

/// Removes a folder when it goes out of scope (the scratch of retraining, a partial bundle).
struct RemoveOnExit {
  fs::path dir;
  // A constructor, not aggregate initialisation: LibTorch 2.x builds its users as C++20,
  // where a class with deleted constructors is no aggregate.
  explicit RemoveOnExit(fs::path folder) : dir(std::move(folder)) {}
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  ~RemoveOnExit() {
    std::error_code ignored;
    if (!dir.empty())
      fs::remove_all(dir, ignored);
  }
};

/// Finds or retrains the models, then writes the bundle into a partial folder beside `out`
/// renamed to `out` once complete: an export that fails leaves no half-written bundle.
nlohmann::json write_bundle(const results::SweepFolder& sweep, std::vector<detail::FoldTask> tasks,
                            const Exported& what, const fs::path& out,
                            const ExportOptions& options) {
  if (fs::exists(out) && !fs::is_empty(out))
    throw InputError("bundle folder " + out.string() + " exists and is not empty");
  const auto target = fs::absolute(out).lexically_normal();
  const RemoveOnExit scratch{detail::provide_models(sweep, tasks, options, target)};
  const RemoveOnExit partial{target.parent_path() / ("." + target.filename().string() + ".partial")};
  fs::remove_all(partial.dir);
  fs::create_directories(partial.dir);

  const auto models = copy_models(tasks, partial.dir);
  std::vector<std::string> task_ids;
  task_ids.reserve(tasks.size());
  for (const auto& t : tasks)
    task_ids.push_back(t.id);
  const auto pooled = results::pool_predictions(sweep, task_ids);
  auto validation = validation_of(sweep, tasks, what.analysis, pooled.size());
  const auto& config = what.config;
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
                           {"config_id", what.id},
                           {"config", config},
                           {"preprocess", config.at("preprocess")},
                           {"aggregation", config.at("train").at("aggregation")},
                           {"ensemble", "score: the mean of the fold models' patient-level "
                                        "outputs (sigmoid; not a probability)"},
                           {"models", models},
                           {"recalibration", recalibration},
                           {"cox", cox},
                           {"validation", validation}};
  if (!what.selection.is_null())
    bundle["selection"] = what.selection;
  if (!recalibration_problem.empty())
    bundle["recalibration_problem"] = recalibration_problem;
  if (!cox_problem.empty())
    bundle["cox_problem"] = cox_problem;
  write_file_atomically(partial.dir / "bundle.json", bundle.dump(2));
  write_manifest(partial.dir, models);
  if (fs::exists(target))
    fs::remove(target); // empty (checked above)
  fs::create_directories(target.parent_path());
  fs::rename(partial.dir, target);
  return bundle;
}

} // namespace

nlohmann::json export_bundle(const fs::path& sweep_dir, const std::string& config_id,
                             const fs::path& out, const ExportOptions& options) {
  const results::SweepFolder sweep(sweep_dir);
  auto tasks = detail::configuration_tasks(sweep, config_id);
  Exported what;
  what.id = tasks.front().config_id;
  what.config = tasks.front().task.at("config");
  what.analysis = sweep.configuration(what.id).analysis;
  return write_bundle(sweep, std::move(tasks), what, out, options);
}

nlohmann::json export_group_bundle(const fs::path& sweep_dir, const std::string& group_id,
                                   const fs::path& out, const ExportOptions& options) {
  const results::SweepFolder sweep(sweep_dir);
  nlohmann::json row;
  auto tasks = detail::group_tasks(sweep, group_id, row);
  Exported what;
  what.id = row.at("task_id").get<std::string>();
  what.config = tasks.front().task.at("config");
  what.analysis = sweep.selection(what.id).analysis;
  nlohmann::json folds = nlohmann::json::array();
  std::map<std::string, nlohmann::json> configs;
  for (const auto& t : tasks) {
    folds.push_back({{"repeat", t.repeat},
                     {"fold", t.fold},
                     {"config_id", t.config_id},
                     {"task_id", t.id}});
    configs[t.config_id] = t.task.at("config");
  }
  what.selection = {{"group_id", what.id},
                    {"over", row.value("over", nlohmann::json::array())},
                    {"metric", row.value("metric", "")},
                    {"inner_folds", row.value("inner_folds", 0)},
                    {"folds", folds},
                    {"configs", configs},
                    {"config_rule", "`config` is fold " + std::to_string(tasks.front().fold) +
                                        "'s; every fold's is in `configs`"}};
  return write_bundle(sweep, std::move(tasks), what, out, options);
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
