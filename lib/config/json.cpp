// ExperimentConfig ↔ JSON through the key table: the canonical JSON behind configuration ids
// (runtime settings at their defaults) and cache keys, the configuration a task records, and
// the preprocessing a bundle carries, read back by the same entries.
#include "config/config.h"
#include "config/key_table.h"

#include "core/core.h"

namespace vfp::config {
namespace {

using detail::InJson;

/// What a configuration's JSON is for.
enum class Purpose {
  kRecord,   ///< the values used: config.json, cache keys, what a pretraining reads
  kIdentity, ///< the configuration id: runtime settings at their defaults (Field::runtime)
};

/// The keys of `sections` ("" holds the top-level ones) as JSON, nested by section. Keys
/// added after 0.1 appear only when they differ from their defaults, so that results already
/// written keep their configuration ids (the id is a hash of this JSON).
nlohmann::json sections_json(const ExperimentConfig& c, const std::vector<std::string>& sections,
                             Purpose purpose = Purpose::kRecord) {
  static const ExperimentConfig defaults;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : detail::key_table()) {
    const auto section = f.section();
    if (f.in_json == InJson::kNever ||
        std::find(sections.begin(), sections.end(), section) == sections.end())
      continue;
    // A runtime setting counts as its default: a key written always keeps the value 0.1 ids
    // hashed for it, one written unless default drops out.
    auto value = f.write(purpose == Purpose::kIdentity && f.runtime ? defaults : c);
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

ExperimentConfig experiment_from_json(const nlohmann::json& j) {
  ExperimentConfig c;
  for (const auto& f : detail::key_table()) {
    const auto section = f.section();
    if (!section.empty() && !(j.contains(section) && j.at(section).is_object()))
      continue; // a section to_json leaves out (pretrained, ssl) is at its defaults
    const auto& holder = section.empty() ? j : j.at(section);
    const auto it = holder.find(f.name());
    if (it == holder.end())
      continue;
    try {
      f.load(c, *it);
    } catch (const nlohmann::json::exception& e) {
      throw InputError("the configuration setting " + f.key + " = " + it->dump() +
                       " is not what the key holds: " + e.what());
    }
  }
  return c;
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
  for (const auto& [key, value] : model.items()) // encoder sizes, written only when set
    if (key.rfind("vit.", 0) == 0 || key.rfind("segresnet.", 0) == 0)
      j["model"][key] = value;
  j["ssl"] = sections_json(c, {"ssl"}).at("ssl");
  if (c.ssl.data == "outer_train") {
    const auto cv = sections_json(c, {"cv"}).at("cv");
    j["cv"] = {{"folds", cv.at("folds")}, {"seed", cv.at("seed")}};
  }
  return j;
}

namespace {
/// The sections a configuration's JSON holds.
std::vector<std::string> configuration_sections(const ExperimentConfig& c) {
  std::vector<std::string> sections{"",      "cohort", "preprocess",  "cv",
                                    "model", "train",  "augmentation"};
  if (c.pretrained.effective_mode() != "none")
    sections.emplace_back("pretrained");
  if (c.runs_pretraining()) // only then does the ssl section change the result
    sections.emplace_back("ssl");
  return sections;
}
} // namespace

nlohmann::json to_json(const ExperimentConfig& c) {
  return sections_json(c, configuration_sections(c));
}

nlohmann::json identity_json(const ExperimentConfig& c) {
  return sections_json(c, configuration_sections(c), Purpose::kIdentity);
}

const std::vector<std::string>& runtime_keys() {
  static const auto keys = [] {
    std::vector<std::string> out;
    for (const auto& f : detail::key_table())
      if (f.runtime)
        out.push_back(f.key);
    return out;
  }();
  return keys;
}

bool is_runtime_key(const std::string& key) {
  const auto& keys = runtime_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

ExperimentConfig with_recorded_runtime_settings(const ExperimentConfig& c,
                                                const nlohmann::json& recorded) {
  static const ExperimentConfig defaults;
  auto out = c;
  for (const auto& f : detail::key_table()) {
    if (!f.runtime)
      continue;
    f.load(out, f.write(defaults)); // absent: at its default (written only when set)
    const auto section = f.section();
    const auto* holder = section.empty() ? &recorded : nullptr;
    if (!section.empty() && recorded.is_object() && recorded.contains(section))
      holder = &recorded.at(section);
    if (!holder || !holder->is_object() || !holder->contains(f.name()))
      continue;
    const auto& value = holder->at(f.name());
    try {
      f.load(out, value);
    } catch (const nlohmann::json::exception& e) {
      throw InputError("the recorded setting " + f.key + " = " + value.dump() +
                       " is not what the key holds: " + e.what());
    }
  }
  return out;
}

} // namespace vfp::config
