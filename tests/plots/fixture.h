// Shared by the plots tests: the results folder of a finished sweep, made without training.
#pragma once

#include "core/core.h"
#include "metrics/metrics.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace vfp::plots_test {

namespace fs = std::filesystem;

/// <temp>/vfp_plots_test_<what>_<pid>/<sweep_name>, empty (test_main removes it).
inline fs::path scratch(const std::string& what, const std::string& sweep_name) {
  const auto root =
      fs::temp_directory_path() / ("vfp_plots_test_" + what + "_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const auto dir = root / sweep_name;
  fs::create_directories(dir);
  return dir;
}

struct Config {
  std::string id, lr, arch;
  double signal;
};

inline nlohmann::json axes_of(const Config& c) {
  return nlohmann::json::array(
      {nlohmann::json::array({"train.lr", c.lr}), nlohmann::json::array({"model.arch", c.arch})});
}

/// A finished sweep's folder: train_eval rows and each task's oof.csv, a cox row and the pooled
/// configurations/<id>/oof.csv, for lr × arch with 4 folds of 60 subjects (≈ 25 % events).
inline std::vector<nlohmann::json> make_sweep(const fs::path& dir,
                                              const std::vector<Config>& configs) {
  std::vector<nlohmann::json> rows;
  for (std::size_t c = 0; c < configs.size(); ++c) {
    const auto& cfg = configs[c];
    std::mt19937_64 rng(17); // same subjects and outcomes for every configuration
    std::normal_distribution<double> noise(0, 1);
    std::uniform_real_distribution<double> unit(0, 1);
    std::string pooled = "subject_id,fold,score,event,time_years,age,bmi\n";
    std::vector<double> all_scores;
    std::vector<int> all_events;
    for (int fold = 0; fold < 4; ++fold) {
      std::string oof = "subject_id,repeat,fold,score,label,age,bmi,event,time_years\n";
      std::vector<double> scores;
      std::vector<int> labels;
      for (int s = 0; s < 60; ++s) {
        const double risk = noise(rng);
        const int event = unit(rng) < 1 / (1 + std::exp(-(risk * 1.5 - 1.3))) ? 1 : 0;
        const double score = 1 / (1 + std::exp(-(cfg.signal * risk + noise(rng))));
        const double time = event ? 0.2 + 4.5 * unit(rng) : 2 + 4 * unit(rng);
        const auto id = "S" + std::to_string(fold * 60 + s);
        oof += id + ",0," + std::to_string(fold) + "," + std::to_string(score) + "," +
               std::to_string(event) + ",70,25," + std::to_string(event) + "," +
               std::to_string(time) + "\n";
        pooled += id + "," + std::to_string(fold) + "," + std::to_string(score) + "," +
                  std::to_string(event) + "," + std::to_string(time) + ",70,25\n";
        scores.push_back(score);
        labels.push_back(event);
      }
      const auto task = cfg.id + "-f" + std::to_string(fold);
      fs::create_directories(dir / "tasks" / task);
      write_file_atomically(dir / "tasks" / task / "oof.csv", oof);
      rows.push_back({{"kind", "train_eval"},
                      {"task_id", task},
                      {"config_id", cfg.id},
                      {"config_index", c},
                      {"axes", axes_of(cfg)},
                      {"fold", fold},
                      {"repeat", 0},
                      {"expected_folds", 4},
                      {"status", "ok"},
                      {"auroc", metrics::auroc(scores, labels)},
                      {"auprc", metrics::average_precision(scores, labels)}});
      all_scores.insert(all_scores.end(), scores.begin(), scores.end());
      all_events.insert(all_events.end(), labels.begin(), labels.end());
    }
    fs::create_directories(dir / "configurations" / cfg.id);
    write_file_atomically(dir / "configurations" / cfg.id / "oof.csv", pooled);
    const auto d = metrics::delong_auroc(all_scores, all_events);
    rows.push_back(
        {{"kind", "cox"},
         {"task_id", cfg.id + "-cox"},
         {"config_id", cfg.id},
         {"status", "ok"},
         {"pooled",
          {{"auroc", d.auroc}, {"auroc_delong_lower", d.lower}, {"auroc_delong_upper", d.upper}}},
         {"survival",
          {{"c_image", 0.7},
           {"c_baseline", 0.6},
           {"score_hr_per_sd", 2.0},
           {"score_hr_per_sd_lower", 1.5},
           {"score_hr_per_sd_upper", 2.6}}}});
  }
  rows.push_back({{"kind", "train_eval"},
                  {"task_id", "lost"},
                  {"status", "failed"},
                  {"config_id", configs[0].id},
                  {"config_index", 0},
                  {"fold", 9},
                  {"axes", axes_of(configs[0])}});
  std::string jsonl;
  for (const auto& r : rows)
    jsonl += r.dump() + "\n";
  write_file_atomically(dir / "results.jsonl", jsonl);
  return rows;
}

inline const std::vector<Config> kConfigs{{"aaaa1111", "1e-4", "fnet", 1.0},
                                          {"bbbb2222", "1e-2", "fnet", 0.6},
                                          {"cccc3333", "1e-4", "resnet18", 1.6},
                                          {"dddd4444", "1e-2", "resnet18", 1.2}};

} // namespace vfp::plots_test
