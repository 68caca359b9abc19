// Shared by the plots tests: the results folder of a finished sweep, made without training.
#pragma once

#include "core/core.h"
#include "metrics/metrics.h"
#include "plots/plots.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>
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

/// results.jsonl from `rows` (the page reads the rows it is given; `vfp report` the file).
inline void write_rows(const fs::path& dir, const std::vector<nlohmann::json>& rows) {
  std::string jsonl;
  for (const auto& r : rows)
    jsonl += r.dump() + "\n";
  write_file_atomically(dir / "results.jsonl", jsonl);
}

/// How many plot elements an SVG from gnuplot has: distinct <g id="gnuplot_plot_N"> groups
/// (an opaque key draws its entries a second time, under the same ids).
inline std::size_t plots_in(const fs::path& svg) {
  const auto text = read_text_file(svg);
  const std::regex id(R"re(<g id="gnuplot_plot_([0-9]+)")re");
  std::set<std::string> ids;
  for (std::sregex_iterator it(text.begin(), text.end(), id), end; it != end; ++it)
    ids.insert((*it)[1]);
  return ids.size();
}

/// Every src="…" and href="…" of a page that is not an anchor within it.
inline std::vector<std::string> links(const std::string& html) {
  std::vector<std::string> out;
  const std::regex link(R"re((?:src|href)="([^"#][^"]*)")re");
  for (std::sregex_iterator it(html.begin(), html.end(), link), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

/// An HTML attribute value back to text (the page escapes & < > " ').
inline std::string unescape(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}})
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + 1))
      s.replace(pos, from.size(), to);
  return s;
}

/// Report options that write the figures' data and scripts but run no gnuplot.
inline plots::ReportOptions without_drawing() {
  plots::ReportOptions options;
  options.figures = false;
  return options;
}

/// The page's <section id="…"> … </section> of one configuration or selection (sections of
/// rows are not nested).
inline std::string section(const std::string& html, const std::string& id) {
  const auto at = html.find("<section id=\"" + id + "\">");
  if (at == std::string::npos)
    return "";
  return html.substr(at, html.find("</section>", at) - at);
}

/// A fraction as the page writes a percentage, "%.1f" of 100 v.
inline std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100 * v);
  return buf;
}

struct Config {
  std::string id, lr, arch;
  double signal;
};

inline nlohmann::json axes_of(const Config& c) {
  return nlohmann::json::array(
      {nlohmann::json::array({"train.lr", c.lr}), nlohmann::json::array({"model.arch", c.arch})});
}

/// A task's history.csv as tasks/train_eval.cpp writes it: `epochs` epochs whose training loss
/// falls, whose validation loss bottoms out and validation AUROC peaks at `best` (1-based).
inline std::string history_csv(int epochs, int best, double shift) {
  std::string csv = "epoch,train_loss,val_auroc,val_loss,lr,trainable_tensors,seconds,"
                    "data_wait_seconds,step_seconds\n";
  for (int e = 1; e <= epochs; ++e) {
    const double d = e - best;
    csv += std::to_string(e) + "," + std::to_string(0.7 * std::exp(-0.25 * e) + shift) + "," +
           std::to_string(0.78 - 0.01 * d * d + shift) + "," +
           std::to_string(0.5 + 0.008 * d * d + shift) + ",0.001,12,3.5,0.2,3.1\n";
  }
  return csv;
}

/// The epoch a fixture task's early stopping kept: 3, 4, 5, 3 for folds 0–3.
inline int fixture_best_epoch(int fold) {
  return fold == 3 ? 3 : 3 + fold;
}

/// A finished sweep's folder: train_eval rows and each task's oof.csv and history.csv (7
/// epochs; best epoch fixture_best_epoch), a cox row and the pooled
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
      write_file_atomically(dir / "tasks" / task / "history.csv",
                            history_csv(7, fixture_best_epoch(fold), 0.02 * fold - 0.05 * c));
      rows.push_back({{"kind", "train_eval"},
                      {"task_id", task},
                      {"config_id", cfg.id},
                      {"config_index", c},
                      {"axes", axes_of(cfg)},
                      {"fold", fold},
                      {"repeat", 0},
                      {"expected_folds", 4},
                      {"status", "ok"},
                      {"best_epoch", fixture_best_epoch(fold)},
                      {"epochs", 7},
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
  write_rows(dir, rows);
  return rows;
}

/// A "calibration" block as tasks/pooled.cpp writes it: three reliability bins of 60 subjects.
inline nlohmann::json calibration_block() {
  const auto bin = [](int n, int events, double predicted, double observed, double lower,
                      double upper) {
    return nlohmann::json{
        {"n", n},         {"events", events}, {"mean_predicted", predicted}, {"observed", observed},
        {"lower", lower}, {"upper", upper}};
  };
  return {{"prior_shift", 1.1},
          {"recalibration", {{"prior_shift", 1.1}, {"intercept", 0.1}, {"slope", 0.9}}},
          {"uncalibrated",
           {{"n", 180},
            {"events", 42},
            {"brier", 0.2},
            {"intercept", -0.3},
            {"slope", 0.7},
            {"mean_predicted", 0.3},
            {"observed_rate", 0.2333}}},
          {"cross_fitted",
           {{"n", 180},
            {"events", 42},
            {"brier", 0.1234},
            {"intercept", 0.104},
            {"slope", 0.896},
            {"mean_predicted", 0.2233},
            {"observed_rate", 0.2333},
            {"bins",
             {bin(60, 3, 0.05, 0.05, 0.0171, 0.1369), bin(60, 12, 0.21, 0.2, 0.118, 0.318),
              bin(60, 27, 0.41, 0.45, 0.33, 0.575)}}}}};
}

/// A "survival" block with predicted vs Kaplan–Meier observed risk per tertile at `horizon`.
inline nlohmann::json survival_block(double horizon = 5.0) {
  const auto group = [](int g, int subjects, int events, double predicted, double observed,
                        double lower, double upper) {
    return nlohmann::json{{"group", g},
                          {"subjects", subjects},
                          {"events", events},
                          {"predicted", predicted},
                          {"observed", observed},
                          {"observed_lower", lower},
                          {"observed_upper", upper}};
  };
  return {{"c_image", 0.7},
          {"c_baseline", 0.6},
          {"c_image_corrected", 0.68},
          {"score_hr_per_sd", 2.0},
          {"score_hr_per_sd_lower", 1.5},
          {"score_hr_per_sd_upper", 2.6},
          {"risk_horizon_years", horizon},
          {"risk_groups",
           {group(0, 80, 5, 0.06, 0.0625, 0.02, 0.13), group(1, 80, 14, 0.17, 0.18, 0.1, 0.27),
            group(2, 80, 30, 0.4, 0.39, 0.29, 0.5)}}};
}

/// The cox row of configuration `config_id` in `rows`.
inline nlohmann::json& cox_row(std::vector<nlohmann::json>& rows, const std::string& config_id) {
  for (auto& r : rows)
    if (r.value("kind", "") == "cox" && r.value("config_id", "") == config_id)
      return r;
  throw std::runtime_error("no cox row of " + config_id);
}

/// A nested selection over train.lr among `members` (fnet's two learning rates by default):
/// per fold of repeat 0 the member `chosen[fold]` (an index into `members`), its selection row
/// (with the calibration and survival blocks) and selections/<id>/oof.csv pooled from the
/// chosen tasks' oof.csv as the selection task pools them. Appended to `rows`.
inline void add_selection(const fs::path& dir, std::vector<nlohmann::json>& rows,
                          const std::string& id, const std::vector<std::string>& members,
                          const std::vector<int>& chosen) {
  nlohmann::json folds = nlohmann::json::array();
  std::string pooled = "subject_id,fold,score,event,time_years,age,bmi\n";
  for (std::size_t fold = 0; fold < chosen.size(); ++fold) {
    const auto& config_id = members[std::size_t(chosen[fold])];
    const auto task = config_id + "-f" + std::to_string(fold);
    nlohmann::json test;
    for (const auto& r : rows)
      if (r.value("task_id", "") == task)
        test = r;
    folds.push_back({{"repeat", 0},
                     {"fold", fold},
                     {"config_id", config_id},
                     {"task_id", task},
                     {"inner_score", 0.7 + 0.01 * double(fold)},
                     {"auroc", test.at("auroc")},
                     {"auprc", test.at("auprc")}});
    const auto csv = read_csv((dir / "tasks" / task / "oof.csv").string());
    for (const auto& row : csv.rows)
      for (const auto* column :
           {"subject_id", "fold", "score", "event", "time_years", "age", "bmi"})
        pooled += csv.text(row, csv.column(column)) + (std::string(column) == "bmi" ? "\n" : ",");
  }
  fs::create_directories(dir / "selections" / id);
  write_file_atomically(dir / "selections" / id / "oof.csv", pooled);
  rows.push_back(
      {{"kind", "selection"},
       {"task_id", id},
       {"status", "ok"},
       {"members", members},
       {"over", nlohmann::json::array({"train.lr"})},
       {"metric", "auroc"},
       {"inner_folds", 3},
       {"axes", nlohmann::json::array({nlohmann::json::array({"train.lr", "selected"}),
                                       nlohmann::json::array({"model.arch", "fnet"})})},
       {"folds", folds},
       {"pooled", {{"auroc", 0.71}, {"auroc_delong_lower", 0.63}, {"auroc_delong_upper", 0.79}}},
       {"calibration", calibration_block()},
       {"survival", survival_block()}});
  write_rows(dir, rows);
}

inline const std::vector<Config> kConfigs{{"aaaa1111", "1e-4", "fnet", 1.0},
                                          {"bbbb2222", "1e-2", "fnet", 0.6},
                                          {"cccc3333", "1e-4", "resnet18", 1.6},
                                          {"dddd4444", "1e-2", "resnet18", 1.2}};

} // namespace vfp::plots_test
