// `vfp cox`: a Cox model on the columns of a CSV, as a table or JSON.
#include "commands.h"
#include "format.h"
#include "number_columns.h"

#include "core/core.h"
#include "log/log.h"
#include "survival/survival.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>

namespace vfp::runner {

int cox_command(const CoxArgs& args) {
  std::vector<std::string> wanted{args.time, args.event};
  wanted.insert(wanted.end(), args.covariates.begin(), args.covariates.end());
  wanted.insert(wanted.end(), args.baseline.begin(), args.baseline.end());
  const auto table = read_number_columns(args.csv, wanted);
  const auto& columns = table.values;
  std::vector<int> event;
  for (std::size_t i = 0; i < table.lines.size(); ++i) {
    const std::string at = args.csv + ":" + std::to_string(table.lines[i]) + ": column ";
    const double e = columns.at(args.event)[i];
    if (e != 0 && e != 1)
      throw InputError(at + args.event + ": " + fixed(e, 6) +
                       " is not an event indicator (1 event, 0 censored)");
    // 0 is a valid time (an event on the day follow-up starts), as in R's survival.
    if (const double t = columns.at(args.time)[i]; t < 0)
      throw InputError(at + args.time + ": " + shortest(t) +
                       " is negative: times must be 0 or more");
    event.push_back(int(e));
  }
  const auto& time = columns.at(args.time);
  std::vector<std::vector<double>> covariates;
  for (const auto& name : args.covariates)
    covariates.push_back(columns.at(name));
  survival::CoxOptions options;
  options.ties = args.ties == "breslow" ? survival::Ties::kBreslow : survival::Ties::kEfron;
  survival::CoxFit fit;
  try {
    fit = survival::fit_cox(time, event, covariates, args.covariates, options);
  } catch (const InputError& e) {
    throw InputError(args.csv + ": " + e.what());
  }
  const auto c = survival::harrell_c(time, event, fit.linear_predictor);
  survival::Concordance uno;
  if (args.uno_truncation > 0) {
    try {
      uno = survival::uno_c(time, event, fit.linear_predictor, args.uno_truncation);
    } catch (const InputError& e) {
      throw InputError(args.csv + ": Uno's C up to " + fixed(args.uno_truncation, 6) + ": " +
                       e.what());
    }
  }
  survival::ModelComparison comparison;
  if (!args.baseline.empty()) {
    std::vector<std::vector<double>> baseline;
    for (const auto& name : args.baseline)
      baseline.push_back(columns.at(name));
    try {
      // Two Cox fits per resample: minutes on a big table, so a progress line now and then.
      log::Progress progress("vfp cox: bootstrap resamples",
                             std::uint64_t(std::max(0, args.bootstrap)));
      comparison = survival::compare_models(
          time, event, baseline, args.baseline, covariates, args.covariates, args.bootstrap,
          args.seed, options, [&](int done) { progress.update(std::uint64_t(done)); });
      progress.finish();
    } catch (const InputError& e) {
      throw InputError(args.csv + ": baseline model: " + e.what());
    }
  }

  if (args.json) {
    nlohmann::json out = {{"n", fit.n},
                          {"events", fit.events},
                          {"ties", args.ties},
                          {"loglik_null", fit.loglik_null},
                          {"loglik", fit.loglik},
                          {"lr_chi2", fit.lr_chi2},
                          {"df", fit.df},
                          {"lr_p", fit.lr_p},
                          {"iterations", fit.iterations},
                          {"converged", fit.converged},
                          {"warnings", fit.warnings},
                          {"concordance",
                           {{"c", c.c},
                            {"direction", "higher linear predictor = higher risk"},
                            {"concordant", c.concordant},
                            {"discordant", c.discordant},
                            {"tied_risk", c.tied_risk},
                            {"comparable", c.comparable}}}};
    if (args.uno_truncation > 0)
      out["uno_concordance"] = {{"c", uno.c},
                                {"truncation", args.uno_truncation},
                                {"weights", "1/G(t-)^2, G the censoring Kaplan-Meier"},
                                {"weighted_comparable", uno.comparable}};
    for (const auto& t : fit.terms) {
      nlohmann::json term = {{"name", t.name},
                             {"coef", t.coef},
                             {"se", t.se},
                             {"hr", t.hr},
                             {"hr_lower", t.hr_lower},
                             {"hr_upper", t.hr_upper},
                             {"z", t.z},
                             {"p", t.p},
                             {"sd", t.sd}};
      if (args.standardize) {
        term["hr_per_sd"] = t.hr_per_sd;
        term["hr_per_sd_lower"] = t.hr_per_sd_lower;
        term["hr_per_sd_upper"] = t.hr_per_sd_upper;
      }
      out["terms"].push_back(term);
    }
    if (!args.baseline.empty())
      out["comparison"] = {{"baseline", args.baseline},
                           {"c_baseline", comparison.c_baseline},
                           {"c_model", comparison.c_image},
                           {"c_difference", comparison.c_difference},
                           {"difference_lower", comparison.difference_lower},
                           {"difference_upper", comparison.difference_upper},
                           {"interval", "95 % percentile bootstrap, both models refitted"},
                           {"resamples", comparison.resamples},
                           {"failed_resamples", comparison.failed_resamples},
                           {"seed", args.seed}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "Cox proportional hazards (" << args.ties << " ties): n " << fit.n << ", events "
            << fit.events << "\n\n| covariate | coef | se | HR (95 % CI) |"
            << (args.standardize ? " HR per SD (95 % CI) | SD |" : "")
            << " z | p |\n|---|---:|---:|---:|" << (args.standardize ? "---:|---:|" : "")
            << "---:|---:|\n";
  // Overflowing ratios (separation) print as "> 1e6", not as 150 digits.
  const auto hr = [](double v) { return survival::format_hazard_ratio(v, 3); };
  for (const auto& t : fit.terms) {
    std::cout << "| " << t.name << " | " << fixed(t.coef, 4) << " | " << fixed(t.se, 4) << " | "
              << hr(t.hr) << " (" << hr(t.hr_lower) << "–" << hr(t.hr_upper) << ") |";
    if (args.standardize)
      std::cout << " " << hr(t.hr_per_sd) << " (" << hr(t.hr_per_sd_lower) << "–"
                << hr(t.hr_per_sd_upper) << ") | " << fixed(t.sd, 3) << " |";
    std::cout << " " << fixed(t.z, 2) << " | " << p_value(t.p) << " |\n";
  }
  std::cout << "\nlog partial likelihood " << fixed(fit.loglik, 4) << " (null "
            << fixed(fit.loglik_null, 4) << "); likelihood-ratio test chi2 "
            << fixed(fit.lr_chi2, 3) << " on " << fit.df << " df, p " << p_value(fit.lr_p) << "\n"
            << "Harrell's C of the linear predictor " << fixed(c.c, 4)
            << " (higher linear predictor = higher risk; " << c.comparable
            << " comparable pairs)\n";
  if (args.uno_truncation > 0)
    std::cout << "Uno's C (censoring-weighted, events up to " << fixed(args.uno_truncation, 4)
              << ") " << fixed(uno.c, 4) << "\n";
  if (!args.baseline.empty()) {
    std::string names;
    for (const auto& b : args.baseline)
      names += (names.empty() ? "" : " + ") + b;
    std::cout << "Harrell's C: baseline (" << names << ") " << fixed(comparison.c_baseline, 4)
              << ", this model " << fixed(comparison.c_image, 4) << ", difference "
              << fixed(comparison.c_difference, 4) << " (95 % bootstrap interval "
              << fixed(comparison.difference_lower, 4) << " to "
              << fixed(comparison.difference_upper, 4) << ", " << comparison.resamples
              << " resamples, both models refitted)\n";
  }
  for (const auto& w : fit.warnings)
    std::cout << "warning: " << w << "\n";
  return 0;
}

} // namespace vfp::runner
