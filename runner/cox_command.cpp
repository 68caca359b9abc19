// `vfp cox`: a Cox model on the columns of a CSV, as a table or JSON.
#include "commands.h"

#include "core/core.h"
#include "survival/survival.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

namespace vfp::runner {
namespace {

/// The cells of a CSV row (RFC 4180 quoting: "a,b" is one cell, "" a quote), trimmed.
std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted && ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      cells.back() += '"';
      ++i;
    } else if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      cells.emplace_back();
    } else {
      cells.back() += ch;
    }
  }
  for (auto& c : cells) { // trim spaces and a carriage return
    const auto first = c.find_first_not_of(" \t\r"), last = c.find_last_not_of(" \t\r");
    c = first == std::string::npos ? "" : c.substr(first, last - first + 1);
  }
  return cells;
}

/// The named columns of a CSV as numbers; errors name the file, line and column.
std::map<std::string, std::vector<double>> read_columns(const std::string& file,
                                                        const std::vector<std::string>& wanted) {
  std::istringstream in(read_text_file(file));
  std::string line;
  if (!std::getline(in, line))
    throw InputError(file + ": empty file (expected a header row)");
  const auto header = split_row(line);
  std::map<std::string, std::size_t> index;
  for (const auto& name : wanted) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      std::string known;
      for (const auto& h : header)
        known += (known.empty() ? "" : ", ") + h;
      throw InputError(file + ": no column '" + name + "' (columns: " + known + ")");
    }
    index[name] = std::size_t(it - header.begin());
  }
  std::map<std::string, std::vector<double>> out;
  for (int line_number = 2; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    const auto cells = split_row(line);
    for (const auto& [name, column] : index) {
      const std::string at = file + ":" + std::to_string(line_number) + ": column " + name;
      if (column >= cells.size())
        throw InputError(at + ": missing (the row has " + std::to_string(cells.size()) + " cells)");
      const auto& cell = cells[column];
      std::size_t used = 0;
      double value = 0;
      try {
        value = std::stod(cell, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (cell.empty() || used != cell.size() || !std::isfinite(value))
        throw InputError(at + ": '" + cell + "' is not a number");
      out[name].push_back(value);
    }
  }
  if (out.empty())
    throw InputError(file + ": no data rows");
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string p_value(double p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, p < 1e-4 ? "%.2e" : "%.4f", p);
  return buf;
}

} // namespace

int cox_command(const CoxArgs& args) {
  std::vector<std::string> wanted{args.time, args.event};
  wanted.insert(wanted.end(), args.covariates.begin(), args.covariates.end());
  wanted.insert(wanted.end(), args.baseline.begin(), args.baseline.end());
  const auto columns = read_columns(args.csv, wanted);
  const auto& time = columns.at(args.time);
  std::vector<int> event;
  for (std::size_t i = 0; i < time.size(); ++i) {
    const double e = columns.at(args.event)[i];
    if (e != 0 && e != 1)
      throw InputError(args.csv + ":" + std::to_string(i + 2) + ": column " + args.event + ": " +
                       fixed(e, 6) + " is not an event indicator (1 event, 0 censored)");
    event.push_back(int(e));
  }
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
  survival::ModelComparison comparison;
  if (!args.baseline.empty()) {
    std::vector<std::vector<double>> baseline;
    for (const auto& name : args.baseline)
      baseline.push_back(columns.at(name));
    try {
      comparison = survival::compare_models(time, event, baseline, args.baseline, covariates,
                                            args.covariates, args.bootstrap, args.seed, options);
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
  for (const auto& t : fit.terms) {
    std::cout << "| " << t.name << " | " << fixed(t.coef, 4) << " | " << fixed(t.se, 4) << " | "
              << fixed(t.hr, 3) << " (" << fixed(t.hr_lower, 3) << "–" << fixed(t.hr_upper, 3)
              << ") |";
    if (args.standardize)
      std::cout << " " << fixed(t.hr_per_sd, 3) << " (" << fixed(t.hr_per_sd_lower, 3) << "–"
                << fixed(t.hr_per_sd_upper, 3) << ") | " << fixed(t.sd, 3) << " |";
    std::cout << " " << fixed(t.z, 2) << " | " << p_value(t.p) << " |\n";
  }
  std::cout << "\nlog partial likelihood " << fixed(fit.loglik, 4) << " (null "
            << fixed(fit.loglik_null, 4) << "); likelihood-ratio test chi2 "
            << fixed(fit.lr_chi2, 3) << " on " << fit.df << " df, p " << p_value(fit.lr_p) << "\n"
            << "Harrell's C of the linear predictor " << fixed(c.c, 4)
            << " (higher linear predictor = higher risk; " << c.comparable
            << " comparable pairs)\n";
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
