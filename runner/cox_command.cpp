// `vfp cox`: a Cox model on the columns of a CSV, as a table or JSON.
#include "commands.h"
#include "format.h"
#include "number_columns.h"

#include "core/core.h"
#include "log/log.h"
#include "survival/survival.h"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>

namespace vfp::runner {

namespace {

/// The columns a Cox fit needs, checked row by row.
struct CoxTable {
  std::vector<double> time;
  std::vector<int> event;
  std::vector<std::vector<double>> covariates, baseline; ///< one per named column
};

/// Reads the columns of `args`; a bad event indicator or a negative time is an InputError naming
/// the file, line and column.
CoxTable read_cox_table(const CoxArgs& args) {
  std::vector<std::string> wanted{args.time, args.event};
  wanted.insert(wanted.end(), args.covariates.begin(), args.covariates.end());
  wanted.insert(wanted.end(), args.baseline.begin(), args.baseline.end());
  const auto table = read_number_columns(args.csv, wanted);
  const auto& columns = table.values;
  CoxTable out;
  out.event.reserve(table.lines.size());
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
    out.event.push_back(int(e));
  }
  out.time = columns.at(args.time);
  for (const auto& name : args.covariates)
    out.covariates.push_back(columns.at(name));
  for (const auto& name : args.baseline)
    out.baseline.push_back(columns.at(name));
  return out;
}

/// Every number `vfp cox` prints.
struct CoxResults {
  survival::CoxFit fit;
  survival::Concordance c;              ///< Harrell's, of the linear predictor
  survival::Concordance uno;            ///< with --uno only
  survival::ModelComparison comparison; ///< with --baseline only
};

/// Errors of the survival library, prefixed with the file and what was being computed.
template <typename Compute> auto naming_the_file(const std::string& context, Compute compute) {
  try {
    return compute();
  } catch (const InputError& e) {
    throw InputError(context + e.what());
  }
}

CoxResults fit_cox_models(const CoxTable& table, const CoxArgs& args) {
  survival::CoxOptions options;
  options.ties = args.ties == "breslow" ? survival::Ties::kBreslow : survival::Ties::kEfron;
  // Named references, not a structured binding: C++17 lambdas cannot capture one.
  const auto& time = table.time;
  const auto& event = table.event;
  const auto& covariates = table.covariates;
  CoxResults r;
  r.fit = naming_the_file(args.csv + ": ", [&] {
    return survival::fit_cox(time, event, covariates, args.covariates, options);
  });
  r.c = survival::harrell_c(time, event, r.fit.linear_predictor);
  if (args.uno_truncation > 0)
    r.uno =
        naming_the_file(args.csv + ": Uno's C up to " + fixed(args.uno_truncation, 6) + ": ", [&] {
          return survival::uno_c(time, event, r.fit.linear_predictor, args.uno_truncation);
        });
  if (args.baseline.empty())
    return r;
  r.comparison = naming_the_file(args.csv + ": baseline model: ", [&] {
    // Two Cox fits per resample: minutes on a big table, so a progress line now and then.
    log::Progress progress("vfp cox: bootstrap resamples",
                           std::uint64_t(std::max(0, args.bootstrap)));
    auto comparison = survival::compare_models(
        time, event, table.baseline, args.baseline, covariates, args.covariates, args.bootstrap,
        args.seed, options, [&](int done) { progress.update(std::uint64_t(done)); });
    progress.finish();
    return comparison;
  });
  return r;
}

nlohmann::json term_json(const survival::CoxTerm& t, bool standardize) {
  nlohmann::json term = {{"name", t.name},
                         {"coef", t.coef},
                         {"se", t.se},
                         {"hr", t.hr},
                         {"hr_lower", t.hr_lower},
                         {"hr_upper", t.hr_upper},
                         {"z", t.z},
                         {"p", t.p},
                         {"sd", t.sd}};
  if (standardize) {
    term["hr_per_sd"] = t.hr_per_sd;
    term["hr_per_sd_lower"] = t.hr_per_sd_lower;
    term["hr_per_sd_upper"] = t.hr_per_sd_upper;
  }
  return term;
}

void print_cox_json(const CoxResults& r, const CoxArgs& args) {
  const auto& [fit, c, uno, comparison] = r;
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
  for (const auto& t : fit.terms)
    out["terms"].push_back(term_json(t, args.standardize));
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
}

/// The Markdown table of the terms, a row each.
void print_terms_table(const survival::CoxFit& fit, const CoxArgs& args) {
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
}

void print_cox_table(const CoxResults& r, const CoxArgs& args) {
  const auto& [fit, c, uno, comparison] = r;
  print_terms_table(fit, args);
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
}

} // namespace

int cox_command(const CoxArgs& args) {
  const auto results = fit_cox_models(read_cox_table(args), args);
  if (args.json)
    print_cox_json(results, args);
  else
    print_cox_table(results, args);
  return 0;
}

void add_cox_command(CLI::App& app, Commands& commands) {
  auto args = std::make_shared<CoxArgs>();
  auto* cmd = app.add_subcommand(
      "cox", "Fit a Cox proportional-hazards model to a CSV (e.g. out-of-fold predictions)");
  cmd->add_option("--csv", args->csv, "the table (header row, comma-separated)")->required();
  cmd->add_option("--time", args->time, "column of follow-up times (0 or more)")->required();
  cmd->add_option("--event", args->event, "column of event indicators (1 event, 0 censored)")
      ->required();
  cmd->add_option("--covariates", args->covariates, "covariate columns, e.g. score,age,bmi")
      ->delimiter(',')
      ->required();
  cmd->add_flag("--standardize", args->standardize,
                "also hazard ratios per standard deviation (sample SD) of each covariate");
  cmd->add_option("--ties", args->ties, "efron (as R) or breslow")
      ->check(CLI::IsMember({"efron", "breslow"}))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "print JSON with every number");
  cmd->add_option("--baseline", args->baseline,
                  "also fit this baseline model (e.g. age,bmi) and compare Harrell's C: the "
                  "difference with a bootstrap 95 % interval")
      ->delimiter(',');
  cmd->add_option("--bootstrap", args->bootstrap, "resamples for the comparison's interval")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed of the bootstrap")->capture_default_str();
  cmd->add_option("--uno", args->uno_truncation,
                  "also Uno's censoring-weighted C, counting events up to this time (τ)")
      ->check(CLI::PositiveNumber);
  commands.push_back({cmd, [args] { return cox_command(*args); }});
}

} // namespace vfp::runner
