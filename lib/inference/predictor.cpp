#include "inference/inference.h"

#include "inference/centroid_sources.h"
#include "inference/pictures.h"

#include "core/core.h"
#include "data/data.h"
#include "models/models.h"
#include "train/train.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

namespace vfp::inference {
namespace fs = std::filesystem;
namespace {

/// Whether a model takes the bundle's patches: a 3D model needs 3d cubes (one channel), a 2D
/// one 2d projections with as many channels as preprocess.channels names. Torch's own message
/// for a shape mismatch would not say which file or why.
void check_model_fits(const models::ModelSpec& spec, const config::PreprocessConfig& p,
                      const fs::path& file) {
  const bool cube = p.output == "3d";
  const int channels = cube || p.channels.empty() ? 1 : int(p.channels.size());
  if (spec.dims != (cube ? 3 : 2) || spec.in_channels != channels)
    throw InputError("model " + file.string() + ": a " + std::to_string(spec.dims) + "D model of " +
                     std::to_string(spec.in_channels) +
                     " channel(s), but the bundle's patches are " +
                     (cube ? "3D cubes" : "2D projections") + " of " + std::to_string(channels) +
                     " channel(s) (preprocess.output: " + p.output + ")");
}

std::shared_ptr<models::Classifier> load_model(const fs::path& file,
                                               const config::PreprocessConfig& preprocess) {
  const auto meta = models::read_safetensors_metadata(file);
  auto get = [&](const char* key) {
    const auto it = meta.find(key);
    if (it == meta.end())
      throw InputError("model " + file.string() + ": no '" + key +
                       "' in its metadata (not written by vfp's train.save_model)");
    return it->second;
  };
  if (get("format") != "vfp-classifier")
    throw InputError("model " + file.string() + ": not a vfp classifier");
  models::ModelSpec spec;
  spec.arch = get("arch");
  spec.dims = std::stoi(get("dims"));
  spec.in_channels = std::stoi(get("in_channels"));
  spec.outputs = std::stoi(get("outputs"));
  spec.width = std::stoi(get("width"));
  spec.head_hidden = std::stoi(get("head_hidden"));
  models::read_size_metadata(meta, "model " + file.string(), spec);
  check_model_fits(spec, preprocess, file);
  auto model = models::make_model(spec);
  models::load_state(*model, models::read_weights(file), models::LoadMode::kStrict, file.string());
  model->eval();
  return model;
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2)
    return 0.0;
  double m = 0;
  for (double x : v)
    m += x;
  m /= double(v.size());
  double ss = 0;
  for (double x : v)
    ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1));
}

} // namespace

struct Predictor::Impl {
  Bundle bundle;
  int threads = 1;
  std::vector<std::shared_ptr<models::Classifier>> models;

  /// One patient's report from its patches.
  nlohmann::json score_patient(const Patient& p, const data::PatchSet& set,
                               const PictureOptions& pictures) const;

  /// The Cox model's figures for the ensemble's score (raw: the model was fitted on raw
  /// out-of-fold scores), age and BMI.
  nlohmann::json cox_report(const Patient& p, double score, std::string& note) const {
    if (!bundle.cox) {
      note = "the bundle has no Cox model (" + bundle.meta.value("cox_problem", std::string("")) +
             "); the image model's result only";
      return nullptr;
    }
    if (!p.age || !p.bmi) {
      note = std::string("the Cox model needs age and BMI; ") + (!p.age ? "age" : "") +
             (!p.age && !p.bmi ? " and " : "") + (!p.bmi ? "BMI" : "") +
             " missing, so only the image model's result is given";
      return nullptr;
    }
    const auto& c = *bundle.cox;
    double lp = 0;
    for (std::size_t k = 0; k < c.covariates.size(); ++k) {
      const auto& name = c.covariates[k];
      const double x = name == "score" ? score : name == "age" ? *p.age : *p.bmi;
      lp += c.coef[k] * (x - c.mean[k]);
    }
    nlohmann::json risks = nlohmann::json::array();
    for (double years : {5.0, 10.0}) {
      nlohmann::json a = {{"years", years},
                          {"risk", 1.0 - std::exp(-c.baseline_at(years) * std::exp(lp))}};
      if (years > c.max_follow_up)
        a["beyond_follow_up"] = true;
      risks.push_back(a);
    }
    const char* group = lp < c.risk_cuts.at(0)   ? "low"
                        : lp < c.risk_cuts.at(1) ? "intermediate"
                                                 : "high";
    return {{"linear_predictor", lp},
            {"relative_hazard", std::exp(lp)},
            {"absolute_risk", risks},
            {"risk_group", group}};
  }
};

Predictor::Predictor(Bundle bundle, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->bundle = std::move(bundle);
  impl_->threads = std::max(1, threads);
  torch::set_num_threads(1); // parallel over patients instead (see predict)
  for (const auto& file : impl_->bundle.models)
    impl_->models.push_back(load_model(file, impl_->bundle.preprocess));
  data::register_image_formats();
}

Predictor::~Predictor() = default;

const Bundle& Predictor::bundle() const {
  return impl_->bundle;
}

std::vector<nlohmann::json> Predictor::predict(const std::vector<Patient>& patients,
                                               const PictureOptions& pictures,
                                               const std::function<void()>& on_patient_done) {
  const auto& b = impl_->bundle;
  // A table of the training cohort's kind is read in the space training read it in.
  const auto& cohort = b.meta.at("config").value("cohort", nlohmann::json::object());
  const CentroidSources sources(patients, cohort.value("centroid_space", std::string("lps")));
  // Each worker takes whole patients: read and preprocess the CT (ITK, the slow part), then
  // every model on that patient's patches with one intra-op thread, so that a patient's numbers
  // depend neither on the batch nor on --threads, and models never wait on ITK threads.
  std::vector<nlohmann::json> out(patients.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    torch::NoGradGuard no_grad; // per thread
    for (std::size_t i; (i = next++) < patients.size();) {
      const auto& p = patients[i];
      // Whatever goes wrong with one patient is that patient's report; the batch goes on.
      try {
        if (!p.problem.empty())
          throw InputError(p.problem);
        if (!pictures.svg_dir.empty() || !pictures.png_dir.empty())
          checked_path_component(p.id, "subject id"); // it names the patient's pictures
        if (!fs::exists(p.image))
          throw InputError("subject " + p.id + ": image not found: " + p.image.string());
        data::PatchSet set;
        data::preprocess_subject(p.id, p.image, sources.source_for(p), b.preprocess, set);
        out[i] = impl_->score_patient(p, set, pictures);
      } catch (const std::exception& e) {
        std::string reason = e.what();
        if (reason.rfind("subject " + p.id + ":", 0) != 0)
          reason = "subject " + p.id + ": " + reason;
        out[i] = {{"subject_id", p.id}, {"error", reason}};
      }
      if (on_patient_done)
        on_patient_done();
    }
  };
  const int workers = int(std::min<std::size_t>(std::size_t(impl_->threads), patients.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  return out;
}

nlohmann::json Predictor::Impl::score_patient(const Patient& p, const data::PatchSet& set,
                                              const PictureOptions& pictures) const {
  const auto& b = bundle;
  const auto n = std::int64_t(set.size());
  // [n, channels, (depth,) height, width], as training batches them.
  std::vector<std::int64_t> shape{n, set.channels};
  if (set.depth > 0)
    shape.push_back(set.depth);
  shape.insert(shape.end(), {set.height, set.width});
  auto input = torch::from_blob(const_cast<float*>(set.pixels.data()), shape, torch::kFloat);
  std::vector<int> patch_subject(set.size(), 0), all(set.size());
  for (std::size_t k = 0; k < all.size(); ++k)
    all[k] = int(k);
  std::vector<double> model_scores;
  std::vector<std::vector<double>> vertebra_scores(set.size());
  for (const auto& model : models) {
    auto out = torch::sigmoid(model->forward(input).to(torch::kFloat)).flatten().contiguous();
    std::vector<float> scores(out.data_ptr<float>(), out.data_ptr<float>() + n);
    std::vector<int> subjects;
    std::vector<double> subject_scores;
    train::aggregate_by_subject(patch_subject, all, scores, b.aggregation, subjects,
                                subject_scores);
    model_scores.push_back(subject_scores.at(0));
    for (std::size_t k = 0; k < set.size(); ++k)
      vertebra_scores[k].push_back(scores[k]);
  }
  double score = 0;
  for (double s : model_scores)
    score += s;
  score /= double(model_scores.size());
  nlohmann::json vertebrae = nlohmann::json::array();
  for (std::size_t k = 0; k < set.size(); ++k) {
    double mean = 0;
    for (double s : vertebra_scores[k])
      mean += s;
    mean /= double(vertebra_scores[k].size());
    const auto name = data::vertebra_name(set.vertebrae[k]);
    vertebrae.push_back(
        {{"vertebra", name}, {"score", mean}, {"model_scores", vertebra_scores[k]}});
    if (!pictures.svg_dir.empty() || !pictures.png_dir.empty())
      for (const auto& plane : patch_planes(set, k, b.preprocess)) {
        // Inside the folder given, whatever the id: a name with '/' or '..' is refused.
        const auto stem = p.id + "_" + name + plane.suffix;
        if (!pictures.svg_dir.empty()) {
          fs::create_directories(pictures.svg_dir);
          write_svg(pictures.svg_dir / checked_path_component(stem + ".svg", "picture file name"),
                    plane);
        }
        if (!pictures.png_dir.empty()) {
          fs::create_directories(pictures.png_dir);
          write_png(pictures.png_dir / checked_path_component(stem + ".png", "picture file name"),
                    plane);
        }
      }
  }
  std::string note;
  auto cox = cox_report(p, score, note);
  // Only the recalibrated output is a probability (docs/inference.md); the score is not one.
  nlohmann::json probability = nullptr;
  if (b.calibration)
    probability = b.calibration->recalibration.probability(score);
  nlohmann::json r = {{"subject_id", p.id},
                      {"probability", probability},
                      {"score", score},
                      {"model_scores", model_scores},
                      {"model_scores_sd", sd_of(model_scores)},
                      {"aggregation", b.aggregation},
                      {"vertebrae", vertebrae},
                      {"covariates",
                       {{"age", p.age ? nlohmann::json(*p.age) : nlohmann::json()},
                        {"bmi", p.bmi ? nlohmann::json(*p.bmi) : nlohmann::json()}}},
                      {"cox", cox},
                      {"validation", b.meta.at("validation")},
                      {"bundle",
                       {{"config_id", b.meta.at("config_id")},
                        {"sweep", b.meta.at("sweep")},
                        {"vfp_version", b.meta.at("vfp_version")}}}};
  if (b.calibration)
    r["probability_of"] = b.calibration->probability_of;
  else
    r["probability_note"] = "no calibrated probability: " + b.calibration_problem +
                            "; the score is the models' output, not a probability";
  if (!note.empty())
    r["note"] = note;
  return r;
}

} // namespace vfp::inference
