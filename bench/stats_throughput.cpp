// Statistics throughput (lib/metrics, lib/survival) side by side with the references the
// tests check against: R's coxph and concordance, scikit-learn's roc_auc_score and
// average_precision_score, on the same data (written once to raw float64 files), each timed
// inside its own process on one core. Prints one table and the agreement of the estimates.
//
// bench_stats [--cox-small 2549] [--cox-large 1000000] [--covariates 10] [--scores 10000000]
//             [--no-reference]
#include "args.h"
#include "record.h"
#include "shell.h"

#include "core/core.h"
#include "metrics/metrics.h"
#include "survival/survival.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>

namespace {

namespace fs = std::filesystem;
const vfp::bench::Args kArgs("bench_stats");
constexpr const char* kTag = "vfp-bench-stats ";

/// Median wall time in ms of `repeats` calls.
double median_ms(int repeats, const std::function<void()>& work) {
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

/// Survival data with planted log hazard ratios 0.5, −0.3, 0.2, 0, 0.1, …: exponential
/// times, uniform censoring (about a third censored), times rounded to days so that ties occur
/// as in real follow-up.
struct CoxData {
  std::vector<double> time;
  std::vector<int> event;
  std::vector<std::vector<double>> x;
  std::vector<std::string> names;
};
CoxData simulate_cox(int n, int covariates, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::exponential_distribution<double> expo(1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  CoxData d;
  d.x.assign(std::size_t(covariates), {});
  for (int c = 0; c < covariates; ++c)
    d.names.push_back("x" + std::to_string(c + 1));
  for (int i = 0; i < n; ++i) {
    double lp = 0;
    for (int c = 0; c < covariates; ++c) {
      d.x[std::size_t(c)].push_back(normal(rng));
      const double beta = c == 0 ? 0.5 : c == 1 ? -0.3 : c == 2 ? 0.2 : c % 2 ? 0.0 : 0.1;
      lp += beta * d.x[std::size_t(c)].back();
    }
    const double t = expo(rng) * 3650 / std::exp(lp), censor = 7300 * unit(rng);
    d.time.push_back(std::max(1.0, std::round(std::min(t, censor))));
    d.event.push_back(t <= censor);
  }
  return d;
}

/// Column-major float64: time, event, then the covariates.
void write_cox(const CoxData& d, const fs::path& file) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(d.time.data()), std::streamsize(d.time.size() * 8));
  const std::vector<double> event(d.event.begin(), d.event.end());
  out.write(reinterpret_cast<const char*>(event.data()), std::streamsize(event.size() * 8));
  for (const auto& column : d.x)
    out.write(reinterpret_cast<const char*>(column.data()), std::streamsize(column.size() * 8));
  if (!out)
    throw vfp::IoError("bench_stats: cannot write " + file.string());
}

struct Row {
  std::string task, ours, theirs, reference, agreement;
};

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f" : ms < 1000 ? "%.1f" : "%.0f", ms);
  return buf;
}

std::string num(double v, const char* format = "%.3g") {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

/// Runs one reference script; empty fields when it is not installed or fails (the reason is
/// printed as a note).
vfp::bench::Captured reference(const std::string& command, const std::string& what,
                               std::vector<std::string>& notes) {
  auto out = vfp::bench::capture(command, kTag);
  if (out.status != 0 || out.fields.empty()) {
    const auto lines = vfp::bench::split(out.output, '\n');
    notes.push_back(what + " did not run (exit " + std::to_string(out.status) + ")" +
                    (lines.empty() ? "" : ": " + lines.back()));
    out.fields.clear();
  }
  return out;
}

void cox_case(int n, int covariates, int repeats, bool with_reference, const fs::path& dir,
              std::vector<Row>& rows, std::vector<std::string>& notes) {
  const auto d = simulate_cox(n, covariates, 7);
  vfp::survival::CoxFit fit;
  const double fit_ms =
      median_ms(repeats, [&] { fit = vfp::survival::fit_cox(d.time, d.event, d.x, d.names); });
  double c = 0;
  const double c_ms = median_ms(
      repeats, [&] { c = vfp::survival::harrell_c(d.time, d.event, fit.linear_predictor).c; });
  const std::string shape = std::to_string(n) + " × " + std::to_string(covariates);
  vfp::bench::Captured r;
  if (with_reference) {
    const auto file = dir / ("cox_" + std::to_string(n) + ".f64");
    write_cox(d, file);
    r = reference("Rscript " + vfp::bench::shell_quote(VFP_STATS_REFERENCE_R) + " cox " +
                      vfp::bench::shell_quote(file.string()) + " " + std::to_string(n) + " " +
                      std::to_string(covariates) + " " + std::to_string(repeats),
                  "R coxph", notes);
    fs::remove(file);
  }
  const bool have = !r.get("fit_ms").empty();
  rows.push_back({"Cox fit (Efron) " + shape, ms_text(fit_ms),
                  have ? ms_text(std::stod(r.get("fit_ms"))) : "", have ? "R coxph" : "",
                  have ? "|Δβ₁| " +
                             num(std::abs(fit.terms[0].coef - std::stod(r.get("beta1"))), "%.1e") +
                             " (β₁ " + num(fit.terms[0].coef, "%.4f") + ")"
                       : ""});
  rows.push_back({"Harrell's C " + shape, ms_text(c_ms),
                  have ? ms_text(std::stod(r.get("c_ms"))) : "", have ? "R concordance" : "",
                  have ? "|ΔC| " + num(std::abs(c - std::stod(r.get("c"))), "%.1e") : ""});
}

} // namespace

int main(int argc, char** argv) try {
  int cox_small = 2549, cox_large = 1000000, covariates = 10, scores = 10000000;
  bool with_reference = true;
  kArgs.parse(
      argc, argv,
      {kArgs.positive_into("--cox-small", cox_small), kArgs.positive_into("--cox-large", cox_large),
       kArgs.positive_into("--covariates", covariates), kArgs.positive_into("--scores", scores),
       kArgs.switch_into("--no-reference", with_reference, false)},
      "bench_stats [--cox-small 2549] [--cox-large 1000000] [--covariates 10]\n"
      "            [--scores 10000000] [--no-reference]\n"
      "Cox fit and Harrell's C (n × 3 and n × covariates), AUROC, average\n"
      "precision, DeLong and a 2000-resample bootstrap, side by side with R's\n"
      "coxph/concordance and scikit-learn where installed. One core.\n");
  const fs::path dir =
      fs::temp_directory_path() / ("vfp_bench_stats_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<Row> rows;
  std::vector<std::string> notes;

  cox_case(cox_small, 3, 21, with_reference, dir, rows, notes);
  cox_case(cox_large, covariates, 3, with_reference, dir, rows, notes);

  // AUROC and AP on `scores` binormal scores, 30 % positives.
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::vector<double> s(std::size_t(scores), 0.0);
  std::vector<int> labels(static_cast<std::size_t>(scores));
  for (std::size_t i = 0; i < s.size(); ++i) {
    labels[i] = (i % 10) < 3;
    s[i] = normal(rng) + 0.8 * labels[i];
  }
  double auc = 0, ap = 0;
  const double auc_ms = median_ms(3, [&] { auc = vfp::metrics::auroc(s, labels); });
  const double ap_ms = median_ms(3, [&] { ap = vfp::metrics::average_precision(s, labels); });
  vfp::bench::Captured py;
  if (with_reference) {
    const auto file = dir / "scores.f64";
    {
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(s.data()), std::streamsize(s.size() * 8));
      const std::vector<double> l(labels.begin(), labels.end());
      out.write(reinterpret_cast<const char*>(l.data()), std::streamsize(l.size() * 8));
    }
    py = reference("/usr/bin/python3 " + vfp::bench::shell_quote(VFP_STATS_REFERENCE_PY) + " " +
                       vfp::bench::shell_quote(file.string()) + " " + std::to_string(scores),
                   "scikit-learn", notes);
    fs::remove(file);
  }
  const bool have = !py.get("auroc_ms").empty();
  const std::string n_text = num(double(scores), "%.0f");
  rows.push_back({"AUROC " + n_text + " scores", ms_text(auc_ms),
                  have ? ms_text(std::stod(py.get("auroc_ms"))) : "",
                  have ? "sklearn roc_auc_score" : "",
                  have ? "|Δ| " + num(std::abs(auc - std::stod(py.get("auroc"))), "%.1e") : ""});
  rows.push_back({"average precision " + n_text + " scores", ms_text(ap_ms),
                  have ? ms_text(std::stod(py.get("ap_ms"))) : "",
                  have ? "sklearn average_precision_score" : "",
                  have ? "|Δ| " + num(std::abs(ap - std::stod(py.get("ap"))), "%.1e") : ""});
  // What a results table asks per configuration: DeLong and a 2000-resample bootstrap on the
  // study's cohort size, and DeLong on a million.
  const int cohort = std::min(cox_small, scores);
  std::vector<double> small(s.begin(), s.begin() + cohort), other(small);
  const std::vector<int> small_labels(labels.begin(), labels.begin() + cohort);
  for (auto& v : other)
    v += normal(rng);
  const double boot_ms = median_ms(3, [&] {
    vfp::metrics::bootstrap_interval(vfp::metrics::Metric::kAuroc, small, small_labels);
  });
  rows.push_back({"AUROC bootstrap, 2000 resamples of " + std::to_string(cohort), ms_text(boot_ms),
                  "", "", ""});
  const double delong_ms =
      median_ms(3, [&] { vfp::metrics::delong_test(small, other, small_labels); });
  rows.push_back(
      {"DeLong test, " + std::to_string(cohort) + " subjects", ms_text(delong_ms), "", "", ""});
  const std::vector<double> million(s.begin(), s.begin() + std::min(scores, 1000000));
  const std::vector<int> million_labels(labels.begin(), labels.begin() + long(million.size()));
  std::vector<double> million_other(million);
  for (auto& v : million_other)
    v += normal(rng);
  const double delong_large_ms =
      median_ms(3, [&] { vfp::metrics::delong_test(million, million_other, million_labels); });
  rows.push_back({"DeLong test, " + num(double(million.size()), "%.0f") + " subjects",
                  ms_text(delong_large_ms), "", "", ""});
  fs::remove_all(dir);

  std::cout
      << "# statistics throughput, one core; median wall ms (Cox small 21 runs, others 3);\n"
         "# references time only their computation, data already in memory\n"
         "| task | vfp ms | reference ms | reference | agreement |\n|---|---:|---:|---|---|\n";
  for (const auto& r : rows)
    vfp::bench::record({"Statistics, vfp vs R and scikit-learn (bench_stats)", r.task,
                        std::stod(r.ours), "ms", r.reference,
                        r.theirs.empty() ? NAN : std::stod(r.theirs), "", -1, r.agreement});
  for (const auto& r : rows)
    std::cout << "| " << r.task << " | " << r.ours << " | " << r.theirs << " | " << r.reference
              << " | " << r.agreement << " |\n";
  for (const auto& note : notes)
    std::cout << "# note: " << note << "\n";
  return 0;
} catch (const vfp::Error& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
