// Finding results that vfp 0.1 wrote under ids that hashed runtime settings (sweep.h).
#include "sweep/sweep.h"

#include "core/core.h"

#include <set>

namespace vfp::sweep {
namespace {

/// The runtime settings `recorded` holds, as JSON: what tells apart the 0.1 ids of one
/// configuration run with different settings.
nlohmann::json runtime_settings(const nlohmann::json& recorded) {
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& key : config::runtime_keys()) {
    const auto dot = key.find('.');
    const auto section = key.substr(0, dot);
    const auto name = key.substr(dot + 1);
    if (recorded.is_object() && recorded.contains(section) && recorded[section].is_object() &&
        recorded[section].contains(name))
      settings[key] = recorded[section][name];
  }
  return settings;
}

} // namespace

std::map<int, std::string>
stored_configuration_ids(const Sweep& sweep, const std::vector<StoredConfiguration>& stored) {
  std::map<std::string, const StoredConfiguration*> by_id;
  for (const auto& s : stored)
    if (s.finished > 0)
      by_id.emplace(s.id, &s);
  std::set<std::string> current;
  for (const auto& c : sweep.configurations)
    current.insert(c.id);
  // One recorded configuration per distinct runtime settings among the stored configurations
  // that no current one has: a configuration's 0.1 id under each is a candidate.
  std::map<std::string, const nlohmann::json*> settings;
  for (const auto& s : stored)
    if (s.finished > 0 && current.count(s.id) == 0)
      for (const auto& config : s.configs)
        settings.emplace(runtime_settings(config).dump(), &config);
  std::map<int, std::string> ids;
  if (settings.empty())
    return ids;
  for (std::size_t i = 0; i < sweep.configurations.size(); ++i) {
    const auto& c = sweep.configurations[i];
    if (by_id.count(c.id) > 0)
      continue; // its results are under its own id
    const StoredConfiguration* best = nullptr;
    for (const auto& entry : settings) {
      std::string legacy;
      try {
        legacy = legacy_configuration_id(sweep, c, *entry.second);
      } catch (const InputError&) { // not written by vfp: its results cannot be matched
        continue;
      }
      const auto found = by_id.find(legacy);
      if (found == by_id.end() || found->first == c.id)
        continue;
      const auto* s = found->second;
      if (!best || s->finished > best->finished ||
          (s->finished == best->finished && s->id < best->id))
        best = s;
    }
    if (best)
      ids.emplace(static_cast<int>(i), best->id);
  }
  return ids;
}

} // namespace vfp::sweep
