#include "inference/inference.h"

#include "core/core.h"
#include "data/data.h"
#include "models/models.h"
#include "train/train.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <fstream>
#include <sstream>
#include <thread>

namespace vfp::inference {
namespace fs = std::filesystem;
namespace {

std::shared_ptr<models::Classifier> load_model(const fs::path& file) {
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
  auto model = models::make_model(spec);
  models::load_state(*model, models::read_weights(file), models::LoadMode::kStrict, file.string());
  model->eval();
  return model;
}

/// A grey-level SVG of one channel of a 2D patch, one square per pixel.
void write_svg(const fs::path& file, const float* pixels, int height, int width) {
  std::ostringstream s;
  const int px = 8;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width * px << "\" height=\""
    << height * px << "\" shape-rendering=\"crispEdges\">\n";
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int g = int(std::lround(255.0 * std::clamp(pixels[y * width + x], 0.0F, 1.0F)));
      s << "<rect x=\"" << x * px << "\" y=\"" << y * px << "\" width=\"" << px << "\" height=\""
        << px << "\" fill=\"rgb(" << g << "," << g << "," << g << ")\"/>\n";
    }
  s << "</svg>\n";
  write_file_atomically(file, s.str());
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
                               const fs::path& svg_dir) const;

  nlohmann::json cox_report(const Patient& p, double probability, std::string& note) const {
    if (!bundle.cox) {
      note = "the bundle has no Cox model (" + bundle.meta.value("cox_problem", std::string("")) +
             "); image-only probability";
      return nullptr;
    }
    if (!p.age || !p.bmi) {
      note = std::string("the Cox model needs age and BMI; ") + (!p.age ? "age" : "") +
             (!p.age && !p.bmi ? " and " : "") + (!p.bmi ? "BMI" : "") +
             " missing, so only the image-only probability is given";
      return nullptr;
    }
    const auto& c = *bundle.cox;
    double lp = 0;
    for (std::size_t k = 0; k < c.covariates.size(); ++k) {
      const auto& name = c.covariates[k];
      const double x = name == "score" ? probability : name == "age" ? *p.age : *p.bmi;
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
    impl_->models.push_back(load_model(file));
  data::register_image_formats();
}

Predictor::~Predictor() = default;

const Bundle& Predictor::bundle() const {
  return impl_->bundle;
}

std::vector<nlohmann::json> Predictor::predict(const std::vector<Patient>& patients,
                                               const fs::path& svg_dir) {
  const auto& b = impl_->bundle;
  // Each worker takes whole patients: read and preprocess the CT (ITK, the slow part), then
  // every model on that patient's patches with one intra-op thread, so that a patient's numbers
  // depend neither on the batch nor on --threads, and models never wait on ITK threads.
  std::vector<nlohmann::json> out(patients.size());
  std::vector<std::exception_ptr> errors(patients.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    torch::NoGradGuard no_grad; // per thread
    for (std::size_t i; (i = next++) < patients.size();) {
      try {
        const auto& p = patients[i];
        if (!fs::exists(p.image))
          throw InputError("subject " + p.id + ": image not found: " + p.image.string());
        data::PatchSet set;
        data::preprocess_subject(p.id, p.image, p.centroids, b.preprocess, set);
        out[i] = impl_->score_patient(p, set, svg_dir);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const int workers = int(std::min<std::size_t>(std::size_t(impl_->threads), patients.size()));
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  for (const auto& e : errors)
    if (e)
      std::rethrow_exception(e);
  return out;
}

nlohmann::json Predictor::Impl::score_patient(const Patient& p, const data::PatchSet& set,
                                              const fs::path& svg_dir) const {
  const auto& b = bundle;
  const auto n = std::int64_t(set.size());
  auto input = torch::from_blob(const_cast<float*>(set.pixels.data()),
                                {n, set.channels, set.height, set.width}, torch::kFloat);
  std::vector<int> patch_subject(set.size(), 0), all(set.size());
  for (std::size_t k = 0; k < all.size(); ++k)
    all[k] = int(k);
  std::vector<double> model_scores;
  std::vector<std::vector<double>> vertebra_scores(set.size());
  for (const auto& model : models) {
    auto probs = torch::sigmoid(model->forward(input).to(torch::kFloat)).flatten().contiguous();
    std::vector<float> scores(probs.data_ptr<float>(), probs.data_ptr<float>() + n);
    std::vector<int> subjects;
    std::vector<double> subject_scores;
    train::aggregate_by_subject(patch_subject, all, scores, b.aggregation, subjects,
                                subject_scores);
    model_scores.push_back(subject_scores.at(0));
    for (std::size_t k = 0; k < set.size(); ++k)
      vertebra_scores[k].push_back(scores[k]);
  }
  double probability = 0;
  for (double s : model_scores)
    probability += s;
  probability /= double(model_scores.size());
  nlohmann::json vertebrae = nlohmann::json::array();
  for (std::size_t k = 0; k < set.size(); ++k) {
    double mean = 0;
    for (double s : vertebra_scores[k])
      mean += s;
    mean /= double(vertebra_scores[k].size());
    const auto name = data::vertebra_name(set.vertebrae[k]);
    vertebrae.push_back(
        {{"vertebra", name}, {"score", mean}, {"model_scores", vertebra_scores[k]}});
    if (!svg_dir.empty()) {
      fs::create_directories(svg_dir);
      write_svg(svg_dir / (p.id + "_" + name + ".svg"), set.patch(k), set.height, set.width);
    }
  }
  std::string note;
  auto cox = cox_report(p, probability, note);
  nlohmann::json r = {{"subject_id", p.id},
                      {"probability", probability},
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
  if (!note.empty())
    r["note"] = note;
  return r;
}

} // namespace vfp::inference
