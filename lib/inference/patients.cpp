// `vfp predict --csv`'s patient table, and the text report of one prediction.
#include "inference/inference.h"

#include "core/core.h"

#include <optional>
#include <sstream>

namespace vfp::inference {
namespace fs = std::filesystem;

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
