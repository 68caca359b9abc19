// ExperimentConfig ↔ JSON through the key table: the canonical JSON behind configuration ids
// and cache keys, and the preprocessing a bundle carries, read back by the same entries.
#include "config/config.h"
#include "config/key_table.h"

#include "core/core.h"

namespace vfp::config {
namespace {

using detail::InJson;

/// The keys of `sections` ("" holds the top-level ones) as JSON, nested by section. Keys
/// added after 0.1 appear only when they differ from their defaults, so that results already
/// written keep their configuration ids (the id is a hash of this JSON).
nlohmann::json sections_json(const ExperimentConfig& c, const std::vector<std::string>& sections) {
  static const ExperimentConfig defaults;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : detail::key_table()) {
    const auto section = f.section();
    if (f.in_json == InJson::kNever ||
        std::find(sections.begin(), sections.end(), section) == sections.end())
      continue;
    auto value = f.write(c);
    if (f.in_json == InJson::kUnlessDefault && value == f.write(defaults))
      continue;
    (section.empty() ? j : j[section])[f.name()] = std::move(value);
  }
  return j;
}

} // namespace

nlohmann::json preprocess_json(const ExperimentConfig& c) {
  return sections_json(c, {"cohort", "preprocess"});
}

PreprocessConfig preprocess_from_json(const nlohmann::json& j) {
  ExperimentConfig c;
  for (const auto& f : detail::key_table()) {
    if (f.section() != "preprocess")
      continue;
    const auto it = j.find(f.name());
    if (it == j.end() && f.in_json == detail::InJson::kUnlessDefault)
      continue; // a key added later is written only when not at its default
    if (it == j.end())
      throw InputError("the preprocessing settings lack '" + f.name() + "' (" + f.key + ")");
    try {
      f.load(c, *it);
    } catch (const nlohmann::json::exception& e) {
      throw InputError("the preprocessing setting " + f.key + " = " + it->dump() +
                       " is not what the key holds: " + e.what());
    }
  }
  return c.preprocess;
}

ExperimentConfig external_cohort_config(const ExperimentConfig& c) {
  auto external = c;
  external.cohort = c.ssl.cohort;
  external.preprocess.vertebrae = c.ssl.vertebrae;
  return external;
}

nlohmann::json pretrain_json(const ExperimentConfig& c) {
  // An external pretraining reads the external cohort's cache only: the labelled cohort is
  // not among its inputs, so every fold (and labelled cohort) shares it.
  auto j = preprocess_json(c.ssl.data == "external" ? external_cohort_config(c) : c);
  const auto model = sections_json(c, {"model"}).at("model");
  j["model"] = {
      {"arch", model.at("arch")}, {"dims", model.at("dims")}, {"width", model.at("width")}};
  j["ssl"] = sections_json(c, {"ssl"}).at("ssl");
  if (c.ssl.data == "outer_train") {
    const auto cv = sections_json(c, {"cv"}).at("cv");
    j["cv"] = {{"folds", cv.at("folds")}, {"seed", cv.at("seed")}};
  }
  return j;
}

nlohmann::json to_json(const ExperimentConfig& c) {
  std::vector<std::string> sections{"",      "cohort", "preprocess",  "cv",
                                    "model", "train",  "augmentation"};
  if (c.pretrained.effective_mode() != "none")
    sections.emplace_back("pretrained");
  if (c.runs_pretraining()) // only then does the ssl section change the result
    sections.emplace_back("ssl");
  return sections_json(c, sections);
}

} // namespace vfp::config
