// The `selection:` section: nested model selection. Groups of configurations that differ only
// in the selected keys, and the inner tasks that score them on inner folds.
#include "sweep/spec.h"
#include "sweep/sweep.h"

#include "core/core.h"

#include <algorithm>
#include <map>

namespace vfp::sweep::detail {
namespace {

const std::vector<std::string> kSelectionKeys{"over", "metric", "inner_folds"};
const std::vector<std::string> kMetrics{"auroc", "auprc", "loss"};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

std::vector<std::string> read_over(const YAML::Node& node, const std::string& file,
                                   const std::vector<std::string>& swept) {
  const auto usage = ": selection.over: expected a list of swept keys, e.g. [train.lr]";
  if (!node || node.IsNull())
    throw InputError(where(node ? node : YAML::Node(), file) + usage);
  std::vector<std::string> over;
  const auto add = [&](const YAML::Node& item) {
    if (!item.IsScalar())
      throw InputError(where(item, file) + usage);
    const auto& key = item.Scalar();
    if (key == kVariantAxis)
      throw InputError(where(item, file) +
                       ": selection.over: 'variant' cannot be selected (a variant sets several "
                       "keys); list the swept keys themselves");
    if (std::find(swept.begin(), swept.end(), key) == swept.end()) {
      auto hint = config::did_you_mean(key, swept);
      throw InputError(where(item, file) + ": selection.over: '" + shorten_for_message(key) +
                       "' is not a swept key of this file (swept: " + joined(swept) + ")" +
                       (hint.empty() ? "" : "; " + hint));
    }
    if (std::find(over.begin(), over.end(), key) != over.end())
      throw InputError(where(item, file) + ": selection.over: '" + key + "' is listed twice");
    over.push_back(key);
  };
  if (node.IsSequence()) {
    for (const auto& item : node)
      add(item);
  } else {
    add(node);
  }
  if (over.empty())
    throw InputError(where(node, file) + usage);
  return over;
}

} // namespace

/// Every key of a selection mapping (`path`: selection or smoke.selection) is one it knows.
void require_selection_keys(const YAML::Node& node, const std::string& file,
                            const std::string& path) {
  if (!node.IsMap())
    throw InputError(where(node, file) + ": " + path +
                     ": expected a mapping with over, metric and inner_folds (see "
                     "docs/statistics.md)");
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (std::find(kSelectionKeys.begin(), kSelectionKeys.end(), key) == kSelectionKeys.end()) {
      auto hint = config::did_you_mean(key, kSelectionKeys);
      throw InputError(
          where(kv.first, file) + ": " + path + "." + shorten_for_message(key) + ": unknown key" +
          (hint.empty() ? " (expected over, metric or inner_folds)" : " (" + hint + ")"));
    }
  }
}

Selection read_selection(const YAML::Node& node, const std::string& file,
                         const std::vector<std::string>& swept, const YAML::Node* smoke) {
  Selection s;
  s.at = where(node, file);
  require_selection_keys(node, file, "selection");
  if (smoke)
    require_selection_keys(*smoke, file, "smoke.selection");
  // A smoke run's values win (e.g. fewer inner folds on the phantom cohort).
  const auto value = [&](const char* key) {
    return smoke && (*smoke)[key] ? (*smoke)[key] : node[key];
  };
  s.over = read_over(value("over"), file, swept);
  if (const auto metric = value("metric")) {
    s.metric = metric.IsScalar() ? metric.Scalar() : "";
    if (std::find(kMetrics.begin(), kMetrics.end(), s.metric) == kMetrics.end())
      throw InputError(where(metric, file) + ": selection.metric: '" + message_text(metric) +
                       "' is not one of auroc, auprc, loss");
  }
  if (const auto inner = value("inner_folds")) {
    const auto bad = [&] {
      return InputError(where(inner, file) + ": selection.inner_folds: '" + message_text(inner) +
                        "' must be 0 (the early-stopping validation split) or an integer from 2 "
                        "to 20 (inner k-fold cross-validation)");
    };
    try {
      s.inner_folds = inner.as<int>();
    } catch (const YAML::Exception&) {
      throw bad();
    }
    if (s.inner_folds != 0 && (s.inner_folds < 2 || s.inner_folds > 20))
      throw bad();
  }
  return s;
}

std::vector<SelectionGroup> selection_groups(const Selection& selection,
                                             const std::vector<Configuration>& configurations) {
  // Configurations are in one group when everything but the selected keys is equal.
  std::map<std::string, int> group_of;
  std::vector<SelectionGroup> groups;
  for (size_t c = 0; c < configurations.size(); ++c) {
    auto identity = config::identity_json(configurations[c].config);
    identity.erase("name");
    for (const auto& key : selection.over) {
      const auto dot = key.find('.');
      const auto section = key.substr(0, dot);
      if (dot != std::string::npos && identity.contains(section) && identity[section].is_object())
        identity[section].erase(key.substr(dot + 1));
    }
    const auto [it, fresh] = group_of.try_emplace(identity.dump(), int(groups.size()));
    if (fresh) {
      SelectionGroup g;
      for (const auto& [column, value] : configurations[c].axes)
        g.axes.emplace_back(column, std::find(selection.over.begin(), selection.over.end(),
                                              column) != selection.over.end()
                                        ? "selected"
                                        : value);
      groups.push_back(std::move(g));
    }
    groups[size_t(it->second)].members.push_back(int(c));
  }
  // A group of one configuration has nothing to choose: its own row is already an estimate.
  groups.erase(std::remove_if(groups.begin(), groups.end(),
                              [](const SelectionGroup& g) { return g.members.size() < 2; }),
               groups.end());
  for (auto& g : groups) {
    std::string identity =
        "selection/" + selection.metric + "/inner" + std::to_string(selection.inner_folds);
    for (const auto& key : selection.over)
      identity += "/" + key;
    for (int m : g.members)
      identity += "/" + configurations[size_t(m)].id;
    g.id = stable_id(identity);
  }
  return groups;
}

std::vector<TrainTask> inner_tasks_of(const Selection& selection,
                                      const std::vector<Configuration>& configurations,
                                      const std::vector<SelectionGroup>& groups) {
  std::vector<TrainTask> tasks;
  if (selection.inner_folds < 2)
    return tasks;
  const auto k = selection.inner_folds;
  std::vector<int> candidates; // configurations of a group, in sweep order
  for (const auto& g : groups)
    candidates.insert(candidates.end(), g.members.begin(), g.members.end());
  std::sort(candidates.begin(), candidates.end());
  for (const int c : candidates) {
    const auto& cfg = configurations[size_t(c)];
    for (int r = 0; r < cfg.config.cv.repeats; ++r)
      for (int f = 0; f < cfg.config.cv.folds; ++f)
        for (int i = 0; i < k; ++i) {
          TrainTask t;
          t.configuration = c;
          t.repeat = r;
          t.fold = f;
          t.inner_fold = i;
          t.inner_folds = k;
          t.id = stable_id(cfg.id + "/inner" + std::to_string(k) + "/repeat" + std::to_string(r) +
                           "/fold" + std::to_string(f) + "/inner" + std::to_string(i));
          t.seed = seed_from_id(t.id);
          tasks.push_back(t);
        }
  }
  return tasks;
}

} // namespace vfp::sweep::detail
