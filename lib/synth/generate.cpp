#include "synth/synth_internal.h"

#include "core/core.h"

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace vfp::synth {
namespace {

/// An unlabelled cohort's table (ids only) and truth (no outcomes, no survival model).
SynthSummary finish_unlabelled(const SynthOptions& o, const std::vector<SubjectDraw>& subjects,
                               const ScanLayout& layout) {
  std::ostringstream csv;
  csv << "subject_id\n";
  for (const auto& s : subjects)
    csv << csv_field(s.id) << "\n";
  nlohmann::json truth = {{"generator", "vfp synth " + std::string(version())},
                          {"seed", o.seed},
                          {"subjects", o.subjects},
                          {"unlabelled", true},
                          {"vertebrae_labels", {layout.first, layout.last}},
                          {"image",
                           {{"vertebrae", "every label from the first to the last, 35 mm apart, "
                                          "each with a centroid"},
                            {"cortical_hu", 850}}}};
  write_file_atomically(o.out / "truth.json", truth.dump(2) + "\n");
  write_file_atomically(o.out / "cohort.csv", csv.str());
  return {o.subjects, 0, 0.0, o.out};
}

} // namespace

SynthSummary generate_cohort(const SynthOptions& o) {
  if (o.subjects < 1)
    throw InputError("synth: --subjects must be at least 1 (got " + std::to_string(o.subjects) +
                     ")");
  if (!(o.event_rate > 0.0 && o.event_rate < 1.0))
    throw InputError("synth: --event-rate must be between 0 and 1 (got " +
                     std::to_string(o.event_rate) + ")");
  if (o.out.empty())
    throw InputError("synth: --out must name an output folder");
  const auto layout = scan_layout(o.vertebrae, o.unlabelled);
  std::error_code ec;
  std::filesystem::create_directories(o.out / "images", ec);
  std::filesystem::create_directories(o.out / "centroids", ec);
  if (ec)
    throw IoError("synth: cannot create " + o.out.string() + ": " + ec.message());

  CohortModel model;
  auto subjects = draw_subjects(o.subjects, o.seed, o.event_rate, model);
  if (o.unlabelled) // ids apart from a labelled cohort's (S0001, ...)
    for (auto& s : subjects)
      s.id[0] = 'U';

  std::atomic<size_t> next{0};
  std::vector<std::string> errors(subjects.size());
  auto work = [&] {
    for (size_t i = next++; i < subjects.size(); i = next++) {
      try {
        write_subject(subjects[i], o.out / "images" / (subjects[i].id + ".nii.gz"),
                      o.out / "centroids" / (subjects[i].id + ".json"), layout);
        if (o.on_subject_written)
          o.on_subject_written();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, o.threads); ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
  for (const auto& e : errors)
    if (!e.empty())
      throw IoError(e);

  // The table and the truth come last, so a killed run never lists missing images.
  if (o.unlabelled)
    return finish_unlabelled(o, subjects, layout);
  std::ostringstream csv;
  csv << "subject_id,age,bmi,event,time_years,site\n";
  nlohmann::json truth_subjects = nlohmann::json::array();
  int events = 0;
  char line[160];
  for (const auto& s : subjects) {
    std::snprintf(line, sizeof line, ",%.1f,%.1f,%d,%.4f,", s.age, s.bmi, s.event, s.time_years);
    csv << csv_field(s.id) << line << csv_field(sites()[s.site].name) << "\n";
    events += s.event;
    truth_subjects.push_back({{"id", s.id},
                              {"bone_strength", s.bone_strength},
                              {"linear_predictor", s.linear_predictor},
                              {"trabecular_hu", s.trabecular_hu}});
  }
  nlohmann::json site_list = nlohmann::json::array();
  for (const auto& site : sites())
    site_list.push_back({{"name", site.name},
                         {"spacing_mm", site.spacing},
                         {"noise_sd_hu", site.noise_hu},
                         {"axis_flip", site.flip}});
  nlohmann::json truth = {
      {"generator", "vfp synth " + std::string(version())},
      {"seed", o.seed},
      {"subjects", o.subjects},
      {"event_rate_asked", o.event_rate},
      {"event_rate", static_cast<double>(events) / o.subjects},
      {"events", events},
      {"latent",
       {{"bone_strength",
         "N(0,1): rho_age * z_age + rho_bmi * z_bmi + sqrt(1-rho_age^2-rho_bmi^2) * e"},
        {"rho_age", model.rho_age},
        {"rho_bmi", model.rho_bmi},
        {"age", {{"mean", model.age_mean}, {"sd", model.age_sd}, {"clip", {65, 95}}}},
        {"bmi", {{"mean", model.bmi_mean}, {"sd", model.bmi_sd}, {"clip", {17, 45}}}}}},
      {"image",
       {{"trabecular_hu", "max(min, base + per_sd * bone_strength) + N(0, 8) per vertebra"},
        {"trabecular_hu_base", model.trabecular_hu_base},
        {"trabecular_hu_per_sd", model.trabecular_hu_per_sd},
        {"trabecular_hu_min", model.trabecular_hu_min},
        {"cortical_hu", 850},
        {"vertebrae", "T12, L1 (label 20), L2 (label 21), L3; centroids written for L1 and L2"},
        {"sites", site_list}}},
      {"cox",
       {{"linear_predictor",
         "beta_weakness * (-bone_strength) + beta_age * (age - age_mean) / age_sd + "
         "beta_bmi * (bmi - bmi_mean) / bmi_sd"},
        {"beta_weakness_per_sd", model.beta_weakness},
        {"beta_age_per_sd", model.beta_age},
        {"beta_bmi_per_sd", model.beta_bmi},
        {"beta_age_per_year", model.beta_age / model.age_sd},
        {"beta_bmi_per_unit", model.beta_bmi / model.bmi_sd},
        {"hazard_ratio_weakness_per_sd", std::exp(model.beta_weakness)},
        {"baseline", "Weibull: H0(t) = lambda * t^shape"},
        {"weibull_shape", model.weibull_shape},
        {"weibull_lambda", model.weibull_scale},
        {"censoring",
         {{"administrative_years", model.follow_up_years},
          {"dropout_share", model.dropout_share},
          {"dropout_time_years", "U(1, 10)"}}}}},
      {"subject_values", truth_subjects}};
  write_file_atomically(o.out / "truth.json", truth.dump(2) + "\n");
  write_file_atomically(o.out / "cohort.csv", csv.str());
  return {o.subjects, events, static_cast<double>(events) / o.subjects, o.out};
}

} // namespace vfp::synth
