#include "inference/inference.h"

#include "core/core.h"
#include "results/results.h"
#include "survival/survival.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <numeric>
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
  fs::path dir;
};

struct Pooled {
  double score_sum = 0;
  int n = 0;
  double age = 0, bmi = 0, time = 0;
  int event = 0;
  int fold = -1; ///< the outer fold that held the subject out in CV repeat 0
};

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2)
    return 0.0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v)
    ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1));
}

/// Cox model score + age + BMI on the pooled out-of-fold scores with its Breslow baseline
/// cumulative hazard (covariates centred at their means, as the linear predictor is).
nlohmann::json fit_bundle_cox(const std::map<std::string, Pooled>& pooled) {
  std::vector<double> time, score, age, bmi;
  std::vector<int> event;
  for (const auto& [id, p] : pooled) {
    time.push_back(p.time);
    event.push_back(p.event);
    score.push_back(p.score_sum / p.n);
    age.push_back(p.age);
    bmi.push_back(p.bmi);
  }
  const std::vector<std::string> names{"score", "age", "bmi"};
  const std::vector<std::vector<double>> x{score, age, bmi};
  const auto fit = survival::fit_cox(time, event, x, names);
  nlohmann::json terms = nlohmann::json::array();
  std::vector<double> coef, mean, sd;
  for (std::size_t k = 0; k < names.size(); ++k) {
    coef.push_back(fit.terms[k].coef);
    mean.push_back(mean_of(x[k]));
    sd.push_back(sd_of(x[k]));
    terms.push_back({{"name", names[k]},
                     {"coef", fit.terms[k].coef},
                     {"se", fit.terms[k].se},
                     {"hr_per_sd", fit.terms[k].hr_per_sd},
                     {"hr_per_sd_lower", fit.terms[k].hr_per_sd_lower},
                     {"hr_per_sd_upper", fit.terms[k].hr_per_sd_upper},
                     {"p", fit.terms[k].p}});
  }
  const std::size_t n = time.size();
  std::vector<double> lp(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < names.size(); ++k)
      lp[i] += coef[k] * (x[k][i] - mean[k]);
  // Breslow: at each distinct event time, events / Σ exp(lp) over those still at risk.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return time[a] < time[b]; });
  std::vector<double> times, hazard;
  double risk = 0;
  for (double v : lp)
    risk += std::exp(v);
  double h = 0;
  for (std::size_t r = 0; r < n;) {
    std::size_t end = r;
    int deaths = 0;
    double leaving = 0;
    while (end < n && time[order[end]] == time[order[r]]) {
      deaths += event[order[end]];
      leaving += std::exp(lp[order[end]]);
      ++end;
    }
    if (deaths > 0) {
      h += deaths / risk;
      times.push_back(time[order[r]]);
      hazard.push_back(h);
    }
    risk -= leaving;
    r = end;
  }
  std::vector<double> sorted = lp;
  std::sort(sorted.begin(), sorted.end());
  const std::vector<double> cuts{sorted[n / 3], sorted[2 * n / 3]};
  return {{"covariates", names},
          {"coef", coef},
          {"mean", mean},
          {"sd", sd},
          {"terms", terms},
          {"subjects", n},
          {"events", fit.events},
          {"ties", "efron"},
          {"baseline", {{"method", "breslow"}, {"time", times}, {"cumulative_hazard", hazard}}},
          {"max_follow_up", *std::max_element(time.begin(), time.end())},
          {"risk_groups",
           {{"names", {"low", "intermediate", "high"}},
            {"linear_predictor_cuts", cuts},
            {"rule", "tertiles of the training subjects' linear predictor"}}},
          {"warnings", fit.warnings}};
}

/// The keys of a configuration's train section that shifts_prior() reads (config::to_json
/// leaves a key at its default out).
config::TrainConfig train_from_json(const nlohmann::json& j) {
  config::TrainConfig t;
  t.sampling = j.value("sampling", t.sampling);
  t.balanced_loss = j.value("balanced_loss", t.balanced_loss);
  t.loss = j.value("loss", t.loss);
  return t;
}

std::string one_decimal(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << v;
  return s.str();
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// The recalibration of the pooled out-of-fold scores (a subject's mean over CV repeats), with
/// its horizon: the training label is an incident fracture at any time of a subject's
/// follow-up, so the probability refers to the cohort's follow-up, not to a fixed time.
/// Also sets validation["calibration"]: the cross-fitted calibration (each fold of CV repeat 0
/// calibrated by the recalibration fitted on the other folds), or why there is none. Throws
/// vfp::InputError when the scores cannot carry a recalibration (one class, separation).
nlohmann::json fit_bundle_recalibration(const std::map<std::string, Pooled>& pooled,
                                        const config::TrainConfig& train,
                                        nlohmann::json& validation) {
  std::vector<double> score, time;
  std::vector<int> event, fold;
  for (const auto& [id, p] : pooled) {
    score.push_back(p.score_sum / p.n);
    event.push_back(p.event);
    fold.push_back(p.fold);
    time.push_back(p.time);
  }
  const auto events = std::count(event.begin(), event.end(), 1);
  const auto n = std::ptrdiff_t(event.size());
  // Training moved the prior to ½ by weighting or drawing the classes by negatives/positives
  // of its training patches; the pooled subjects' ratio is that ratio when each subject gives
  // the same vertebrae. The fitted intercept absorbs what is left.
  const bool shifted = train.shifts_prior() && events > 0 && events < n;
  const double prior_shift = shifted ? std::log(double(n - events) / double(events)) : 0.0;
  std::string shift_reason = "none: training kept the data's prior";
  if (train.sampling == "balanced")
    shift_reason = "train.sampling: balanced (each class half the draws)";
  else if (train.shifts_prior())
    shift_reason = "train.balanced_loss with bce and shuffle sampling (pos_weight = "
                   "negatives/positives)";
  const auto recalibration = metrics::fit_recalibration(score, event, prior_shift);
  std::vector<double> x(score.size());
  for (std::size_t i = 0; i < score.size(); ++i)
    x[i] = metrics::logit(score[i]) - prior_shift;
  const auto fit = metrics::fit_logistic(x, event); // the same fit, for its standard errors
  const double median = median_of(time), longest = *std::max_element(time.begin(), time.end());
  try {
    const auto s = metrics::assess_calibration(
        metrics::cross_fitted_probabilities(score, event, fold, prior_shift), event);
    nlohmann::json bins = nlohmann::json::array();
    for (const auto& b : s.bins)
      bins.push_back({{"n", b.n},
                      {"events", b.events},
                      {"mean_predicted", b.mean_predicted},
                      {"observed", b.observed},
                      {"observed_lower", b.lower},
                      {"observed_upper", b.upper}});
    validation["calibration"] = {
        {"method", "cross-fitted: the subjects of each outer fold (CV repeat 0) calibrated by "
                   "the recalibration fitted on the other folds' out-of-fold scores"},
        {"subjects", s.n},
        {"events", s.events},
        {"brier", s.brier},
        {"intercept", s.intercept},
        {"slope", s.slope},
        {"mean_predicted", s.mean_predicted},
        {"observed_rate", s.observed_rate},
        {"bins", bins},
        {"bins_rule", "deciles of the predicted probability; observed rate with its Wilson 95 % "
                      "interval"}};
  } catch (const InputError& e) {
    validation["calibration"] = nullptr;
    validation["calibration_problem"] = e.what();
  }
  return {{"method", "logistic recalibration of the pooled out-of-fold scores: probability = "
                     "sigmoid(intercept + slope·(logit(score) − prior_shift))"},
          {"prior_shift", prior_shift},
          {"prior_shift_reason", shift_reason},
          {"intercept", recalibration.intercept},
          {"slope", recalibration.slope},
          {"intercept_se", fit.intercept_se},
          {"slope_se", fit.slope_se},
          {"subjects", n},
          {"events", events},
          {"event_rate", double(events) / double(n)},
          {"horizon",
           {{"median_follow_up_years", median},
            {"max_follow_up_years", longest},
            {"rule", "the training label: an incident vertebral fracture at any time of each "
                     "subject's follow-up (time_years)"}}},
          {"probability_of", "an incident vertebral fracture within the training cohort's "
                             "follow-up (median " +
                                 one_decimal(median) + " y, longest " + one_decimal(longest) +
                                 " y)"}};
}

config::PreprocessConfig preprocess_from_json(const nlohmann::json& j) {
  config::PreprocessConfig p;
  p.spacing_mm = j.at("spacing_mm").get<decltype(p.spacing_mm)>();
  p.patch_mm = j.at("patch_mm").get<decltype(p.patch_mm)>();
  p.hu_min = j.at("hu_min").get<decltype(p.hu_min)>();
  p.hu_max = j.at("hu_max").get<decltype(p.hu_max)>();
  p.projection = j.at("projection").get<decltype(p.projection)>();
  p.axis = j.at("axis").get<decltype(p.axis)>();
  p.slab_mm = j.at("slab_mm").get<decltype(p.slab_mm)>();
  p.slab_start = j.at("slab_start").get<decltype(p.slab_start)>();
  p.patch_voxels = j.at("patch_voxels").get<decltype(p.patch_voxels)>();
  p.channels = j.at("channels").get<std::vector<std::string>>();
  p.output = j.at("output").get<decltype(p.output)>();
  p.vertebrae = j.at("vertebrae").get<std::vector<std::string>>();
  return p;
}

std::string file_checksum(const std::string& bytes) {
  return hex64(checksum64(bytes.data(), bytes.size()));
}

} // namespace

double CoxModel::baseline_at(double t) const {
  const auto it = std::upper_bound(times.begin(), times.end(), t);
  return it == times.begin() ? 0.0 : cumulative_hazard[std::size_t(it - times.begin()) - 1];
}

nlohmann::json export_bundle(const fs::path& sweep_dir, const std::string& config_id,
                             const fs::path& out) {
  const auto tasks_dir = sweep_dir / "tasks";
  if (!fs::is_directory(tasks_dir))
    throw InputError(sweep_dir.string() + " holds no tasks/ folder: not a sweep's results");
  std::map<std::string, std::vector<FoldTask>> by_config;
  std::map<std::string, nlohmann::json> configs;
  for (const auto& entry : fs::directory_iterator(tasks_dir)) {
    refuse_symlink(entry.path(), sweep_dir); // would copy a model from outside the results
    const auto cfg_file = entry.path() / "config.json";
    if (!fs::exists(cfg_file))
      continue;
    const auto j = parse_json_file(cfg_file);
    const std::string id = j.value("config_id", "");
    if (id.rfind(config_id, 0) != 0)
      continue;
    FoldTask t{j.at("task_id").get<std::string>(), j.at("fold").get<int>(),
               j.at("repeat").get<int>(), j.at("seed").get<std::uint64_t>(), entry.path()};
    by_config[id].push_back(t);
    configs[id] = j.at("config");
  }
  if (by_config.empty())
    throw InputError("no configuration with id '" + config_id + "' in " + tasks_dir.string() +
                     " (`vfp sweep SWEEP.yaml --dry-run` lists the ids)");
  if (by_config.size() > 1)
    throw InputError("configuration id prefix '" + config_id + "' is ambiguous in " +
                     sweep_dir.string() + " (" + by_config.begin()->first + ", " +
                     std::next(by_config.begin())->first + ", ...)");
  const auto id = by_config.begin()->first;
  auto tasks = by_config.begin()->second;
  const auto& config = configs[id];
  std::sort(tasks.begin(), tasks.end(), [](const FoldTask& a, const FoldTask& b) {
    return std::tie(a.repeat, a.fold) < std::tie(b.repeat, b.fold);
  });
  const int expected =
      config.at("cv").at("folds").get<int>() * config.at("cv").at("repeats").get<int>();
  for (const auto& t : tasks) {
    if (!fs::exists(t.dir / "oof.csv"))
      throw InputError("task " + t.id + " (fold " + std::to_string(t.fold) +
                       ") has not finished: no oof.csv in " + t.dir.string());
    if (!fs::exists(t.dir / "model.safetensors"))
      throw InputError("task " + t.id + " (fold " + std::to_string(t.fold) + ") saved no model (" +
                       (t.dir / "model.safetensors").string() +
                       "): rerun the sweep with train.save_model: true");
  }
  if (int(tasks.size()) != expected)
    throw InputError("configuration " + id + " has " + std::to_string(tasks.size()) + " of its " +
                     std::to_string(expected) + " fold tasks in " + tasks_dir.string() +
                     ": finish the sweep first");
  if (fs::exists(out) && !fs::is_empty(out))
    throw InputError("bundle folder " + out.string() + " exists and is not empty");
  fs::create_directories(out);

  nlohmann::json models = nlohmann::json::array();
  std::map<std::string, Pooled> pooled;
  std::vector<double> aurocs, auprcs;
  for (const auto& t : tasks) {
    const std::string name =
        "model-r" + std::to_string(t.repeat) + "-f" + std::to_string(t.fold) + ".safetensors";
    fs::copy_file(t.dir / "model.safetensors", out / name, fs::copy_options::overwrite_existing);
    models.push_back({{"file", name},
                      {"task_id", t.id},
                      {"fold", t.fold},
                      {"repeat", t.repeat},
                      {"seed", t.seed}});
    const auto csv = read_csv((t.dir / "oof.csv").string());
    const auto subject = csv.column("subject_id"), score = csv.column("score"),
               age = csv.column("age"), bmi = csv.column("bmi"), event = csv.column("event"),
               time = csv.column("time_years");
    for (const auto& row : csv.rows) {
      const auto& id = csv.text(row, subject);
      const double e = csv.number(row, event), when = csv.number(row, time);
      // Refused here, naming file, line and subject, not as "row N" of the Cox fit below.
      if ((e != 0 && e != 1) || when < 0)
        throw InputError(csv.file + ":" + std::to_string(row.line) + ": subject " + id + ": " +
                         (when < 0 ? "time_years " + csv.text(row, time) + " is negative"
                                   : "event " + csv.text(row, event) + " is not 0 or 1"));
      auto& p = pooled[id];
      p.score_sum += csv.number(row, score);
      ++p.n;
      if (t.repeat == 0)
        p.fold = t.fold;
      p.age = csv.number(row, age);
      p.bmi = csv.number(row, bmi);
      p.event = int(e);
      p.time = when;
    }
  }
  // Fold figures as the sweep's table reports them (results.jsonl rows of this configuration).
  // Read only (results::read_rows): a torn last line is left out with a warning, a damaged
  // row elsewhere is an error naming file:line.
  {
    std::map<std::string, nlohmann::json> last; // a rerun task's latest row
    for (const auto& row : results::read_rows(sweep_dir))
      if (row.value("kind", "") == "train_eval" && row.value("config_id", "") == id &&
          row.value("status", "ok") == "ok")
        last[row.value("task_id", "")] = row;
    for (const auto& [task, row] : last) {
      aurocs.push_back(row.value("auroc", 0.0));
      auprcs.push_back(row.value("auprc", 0.0));
    }
  }
  nlohmann::json validation = {{"folds", aurocs.size()},    {"auroc_mean", mean_of(aurocs)},
                               {"auroc_sd", sd_of(aurocs)}, {"auprc_mean", mean_of(auprcs)},
                               {"auprc_sd", sd_of(auprcs)}, {"subjects", pooled.size()}};
  if (const auto cox_file = sweep_dir / "configurations" / id / "cox.json"; fs::exists(cox_file)) {
    const auto cox = parse_json_file(cox_file);
    validation["pooled"] = cox.value("pooled", nlohmann::json());
    validation["survival"] = cox.value("survival", nlohmann::json());
  }
  nlohmann::json recalibration = nullptr;
  std::string recalibration_problem;
  try {
    recalibration =
        fit_bundle_recalibration(pooled, train_from_json(config.at("train")), validation);
  } catch (const InputError& e) {
    recalibration_problem = e.what();
  }
  nlohmann::json cox = nullptr;
  std::string cox_problem;
  try {
    cox = fit_bundle_cox(pooled);
  } catch (const InputError& e) {
    cox_problem = e.what();
  }
  auto sweep_name = sweep_dir.filename().string();
  if (sweep_name.empty()) // results/<sweep>/
    sweep_name = sweep_dir.parent_path().filename().string();
  nlohmann::json bundle = {{"format", "vfp-bundle"},
                           {"format_version", kFormatVersion},
                           {"vfp_version", std::string(version())},
                           {"sweep", sweep_name},
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
  b.preprocess = preprocess_from_json(b.meta.at("preprocess"));
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

std::vector<Patient> read_patient_csv(const fs::path& csv_path) {
  const auto csv = read_csv(csv_path.string());
  const auto id = csv.column("subject_id"), image = csv.column("image"),
             centroids = csv.column("centroids");
  auto optional_column = [&](const std::string& name) -> std::optional<std::size_t> {
    const auto it = std::find(csv.header.begin(), csv.header.end(), name);
    if (it == csv.header.end())
      return std::nullopt;
    return std::size_t(it - csv.header.begin());
  };
  const auto age = optional_column("age"), bmi = optional_column("bmi");
  const auto base = csv_path.parent_path();
  auto resolve = [&](const std::string& p) {
    return fs::path(p).is_absolute() ? fs::path(p) : base / p;
  };
  std::vector<Patient> out;
  std::map<std::string, int> first_line; // id → the line that listed it first
  for (const auto& row : csv.rows) {
    Patient p;
    const std::string where = csv_path.string() + ":" + std::to_string(row.line);
    // A row's own problem marks that patient only; the batch goes on with the others.
    try {
      p.id = csv.text(row, id);
      if (p.id.empty()) {
        p.id = "line " + std::to_string(row.line);
        throw InputError(where + ": empty subject_id");
      }
      // The id names the patient's pictures (--svg, --png): one path component, never a path.
      try {
        checked_path_component(p.id, "subject_id");
      } catch (const InputError& e) {
        p.id = "line " + std::to_string(row.line);
        throw InputError(where + ": " + e.what());
      }
      if (const auto [it, fresh] = first_line.emplace(p.id, row.line); !fresh)
        throw InputError(where + ": subject " + p.id + " is listed again (first at line " +
                         std::to_string(it->second) + ")");
      if (csv.text(row, image).empty() || csv.text(row, centroids).empty())
        throw InputError(where + ": subject " + p.id + ": empty image or centroids cell");
      p.image = resolve(csv.text(row, image));
      p.centroids = resolve(csv.text(row, centroids));
      if (age && row.cells.size() > *age && !row.cells[*age].empty())
        p.age = csv.number(row, *age);
      if (bmi && row.cells.size() > *bmi && !row.cells[*bmi].empty())
        p.bmi = csv.number(row, *bmi);
    } catch (const InputError& e) {
      if (p.id.empty())
        p.id = "line " + std::to_string(row.line);
      p.problem = e.what();
    }
    out.push_back(p);
  }
  return out;
}

bool is_error(const nlohmann::json& report) {
  return report.contains("error");
}

std::string format_report(const nlohmann::json& r) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(3);
  s << "patient " << r.at("subject_id").get<std::string>() << "\n";
  if (is_error(r)) {
    s << "  error: " << r.at("error").get<std::string>() << "\n";
    return s.str();
  }
  if (r.at("probability").is_null())
    s << "  fracture probability: not available (" << r.at("probability_note").get<std::string>()
      << ")\n";
  else
    s << "  fracture probability: " << r.at("probability").get<double>() << " (of "
      << r.at("probability_of").get<std::string>() << "; the image model, recalibrated)\n";
  s << "  score: " << r.at("score").get<double>() << " (the image model's output, not a "
    << "probability: mean of " << r.at("model_scores").size() << " fold models; spread "
    << r.at("model_scores_sd").get<double>() << " SD)\n";
  s << "  per-vertebra scores:";
  for (const auto& v : r.at("vertebrae"))
    s << " " << v.at("vertebra").get<std::string>() << " " << v.at("score").get<double>();
  s << "\n";
  if (!r.at("cox").is_null()) {
    const auto& c = r.at("cox");
    s << "  Cox (score + age + BMI): relative hazard " << c.at("relative_hazard").get<double>()
      << " vs the average training patient; risk group " << c.at("risk_group").get<std::string>()
      << "\n";
    for (const auto& a : c.at("absolute_risk"))
      s << "    absolute risk at " << a.at("years").get<double>()
        << " years: " << a.at("risk").get<double>()
        << (a.value("beyond_follow_up", false) ? " (beyond the training follow-up: H0 held flat)"
                                               : "")
        << "\n";
  }
  if (r.contains("note"))
    s << "  note: " << r.at("note").get<std::string>() << "\n";
  const auto& v = r.at("validation");
  s.precision(1);
  s << "  bundle validation: AUROC " << 100 * v.value("auroc_mean", 0.0) << " ± "
    << 100 * v.value("auroc_sd", 0.0) << " %, AUPRC " << 100 * v.value("auprc_mean", 0.0) << " ± "
    << 100 * v.value("auprc_sd", 0.0) << " % over " << v.value("folds", 0) << " folds";
  if (v.contains("survival") && v["survival"].is_object())
    s << "; C-index " << std::setprecision(3) << v["survival"].value("c_image", 0.0);
  s << "\n";
  if (const auto c = v.value("calibration", nlohmann::json()); c.is_object())
    s << std::setprecision(3) << "  bundle calibration (cross-fitted): Brier "
      << c.value("brier", 0.0) << ", intercept " << c.value("intercept", 0.0) << ", slope "
      << c.value("slope", 0.0) << "; mean probability " << c.value("mean_predicted", 0.0)
      << " vs observed rate " << c.value("observed_rate", 0.0) << "\n";
  return s.str();
}

} // namespace vfp::inference
