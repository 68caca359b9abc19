// Whether two sweeps test the same subjects in the same folds: the split settings their tasks
// declare and the test folds their out-of-fold predictions show (study.h).
#include "results/study.h"

#include "core/core.h"

#include <algorithm>

namespace vfp::results {
namespace {

/// "a, b" of a set of values.
std::string joined(const std::set<std::string>& values) {
  std::string out;
  for (const auto& v : values)
    out += (out.empty() ? "" : ", ") + v;
  return out;
}

/// The split settings of one task's config.json: cv.folds, cv.repeats and cv.seed.
void read_declared(const std::filesystem::path& file, SplitFingerprint& out) {
  if (!std::filesystem::exists(file))
    return; // a task of an older vfp, or a folder copied without it: its rows still count
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(file, "task configuration"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file.string() + ": not a task's config.json (" + e.what() + ")");
  }
  const auto config = j.find("config");
  if (config == j.end() || !config->is_object() || !config->contains("cv") ||
      !(*config)["cv"].is_object())
    return;
  const auto& cv = (*config)["cv"];
  for (const char* key : {"folds", "repeats", "seed"})
    if (cv.contains(key) && cv[key].is_number_integer())
      out.declared[std::string("cv.") + key].insert(std::to_string(cv[key].get<long long>()));
}

/// Up to `n` subjects of `a` that `b` lacks, "S1, S2 and 3 more".
std::string missing_from(const std::map<std::string, int>& a, const std::map<std::string, int>& b,
                         std::size_t n = 3) {
  std::vector<std::string> only;
  for (const auto& [subject, event] : a)
    if (!b.count(subject))
      only.push_back(subject);
  std::string out;
  for (std::size_t k = 0; k < only.size() && k < n; ++k)
    out += (k ? ", " : "") + only[k];
  if (only.size() > n)
    out += " and " + std::to_string(only.size() - n) + " more";
  return out;
}

/// The InputError of two sweeps that split differently, `what` saying how.
InputError split_differs(const SplitFingerprint& a, const SplitFingerprint& b,
                         const std::string& what) {
  return InputError("cannot put " + a.sweep + " and " + b.sweep +
                    " in one table: they do not test the same subjects in the same folds (" +
                    what +
                    "), so their rows cannot be compared fold by fold or subject by subject "
                    "(docs/reports.md, 'Several sweeps in one table')");
}

/// Throws when `a` and `b` differ on a test fold both have; false when they share none.
bool compare_folds(const SplitFingerprint& a, const SplitFingerprint& b) {
  bool shared = false;
  for (const auto& [split, subjects] : a.tested) {
    const auto other = b.tested.find(split);
    if (other == b.tested.end())
      continue;
    shared = true;
    const auto fold = "repeat " + std::to_string(split.first) + " fold " +
                      std::to_string(split.second);
    const auto only_a = missing_from(subjects, other->second);
    const auto only_b = missing_from(other->second, subjects);
    if (!only_a.empty() || !only_b.empty())
      throw split_differs(a, b,
                          "test subjects of " + fold + ": " + std::to_string(subjects.size()) +
                              " in " + a.sweep + ", " + std::to_string(other->second.size()) +
                              " in " + b.sweep + "; only in " + a.sweep + ": " +
                              (only_a.empty() ? "none" : only_a) + "; only in " + b.sweep +
                              ": " + (only_b.empty() ? "none" : only_b));
    for (const auto& [subject, event] : subjects)
      if (other->second.at(subject) != event)
        throw split_differs(a, b,
                            "the event of subject " + subject + ": " + std::to_string(event) +
                                " in " + a.sweep + ", " +
                                std::to_string(other->second.at(subject)) + " in " + b.sweep +
                                ": not the same cohort table");
  }
  return shared;
}

} // namespace

std::string SplitFingerprint::digest() const {
  std::string canonical;
  for (const auto& [key, values] : declared)
    canonical += key + "=" + joined(values) + "\n";
  for (const auto& [split, subjects] : tested) {
    canonical += std::to_string(split.first) + "/" + std::to_string(split.second) + ":";
    for (const auto& [subject, event] : subjects)
      canonical += subject + "=" + std::to_string(event) + ",";
    canonical += "\n";
  }
  return stable_id(canonical);
}

SplitFingerprint split_fingerprint(const SweepFolder& sweep,
                                   const std::vector<nlohmann::json>& rows) {
  SplitFingerprint out;
  out.sweep = sweep.root().string();
  std::set<std::string> tasks, configurations;
  for (const auto& row : rows) {
    if (row.value("kind", "") != "train_eval" || row.value("status", "") != "ok")
      continue;
    const auto task = row.value("task_id", "");
    if (!tasks.insert(task).second)
      continue;
    if (row.value("expected_folds", 0) > 0)
      out.declared["cv.folds × cv.repeats"].insert(std::to_string(row.value("expected_folds", 0)));
    TaskFiles files;
    try {
      files = sweep.task(task);
    } catch (const InputError&) { // an id that names no folder: no files of this sweep
      continue;
    }
    if (configurations.insert(row.value("config_id", "")).second) // one task per configuration
      read_declared(files.config, out);
    if (std::filesystem::exists(files.predictions))
      for (const auto& p : read_predictions(files.predictions))
        out.tested[{p.repeat, p.fold}][p.subject_id] = p.event;
  }
  return out;
}

std::vector<std::string> check_same_split(const std::vector<SplitFingerprint>& sweeps) {
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < sweeps.size(); ++i)
    for (std::size_t k = i + 1; k < sweeps.size(); ++k) {
      const auto& a = sweeps[i];
      const auto& b = sweeps[k];
      for (const auto& [key, values] : a.declared) {
        const auto other = b.declared.find(key);
        if (other != b.declared.end() && other->second != values)
          throw split_differs(a, b,
                              key + ": " + joined(values) + " in " + a.sweep + ", " +
                                  joined(other->second) + " in " + b.sweep);
      }
      if (!compare_folds(a, b) && !a.tested.empty() && !b.tested.empty())
        notes.push_back(a.sweep + " and " + b.sweep +
                        " have no finished test fold in common: their test subjects could not "
                        "be compared");
    }
  return notes;
}

} // namespace vfp::results
