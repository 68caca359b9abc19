// bench_report: turns the figures the benchmarks recorded ($VFP_BENCH_RECORD, one JSON line
// each, see record.h) into docs/performance.md: per section a table of each figure beside its
// reference measured in the same run, the ratio, the target and whether it was met.
// Usage: bench_report FIGURES.jsonl --out FILE [--machine-note TEXT]...
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// The first line of `file` that starts with `key`, after the key and any ':' or '='.
std::string field_of(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) {
      auto value = line.substr(key.size());
      const auto start = value.find_first_not_of(" \t:=\"");
      value = start == std::string::npos ? "" : value.substr(start);
      while (!value.empty() && (value.back() == '"' || value.back() == ' '))
        value.pop_back();
      return value;
    }
  return "";
}

/// A figure for a table cell: about 3 significant digits, thousands set apart by a space.
std::string number(double v) {
  if (!std::isfinite(v))
    return "";
  char buf[64];
  const double a = std::fabs(v);
  std::snprintf(buf, sizeof buf,
                a >= 100  ? "%.0f"
                : a >= 10 ? "%.1f"
                : a >= 1  ? "%.2f"
                          : "%.3g",
                v);
  std::string s = buf;
  const auto dot = s.find('.');
  const auto int_end = dot == std::string::npos ? s.size() : dot;
  const std::size_t first = s[0] == '-' ? 1 : 0;
  for (std::size_t at = int_end; at > first + 3; at -= 3)
    s.insert(at - 3, " ");
  return s;
}

std::string cell(std::string text) { // a Markdown table cell may not hold a bare '|'
  std::string out;
  for (char ch : text)
    out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

std::string today() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return buf;
}

} // namespace

int main(int argc, char** argv) try {
  std::string figures_file, out_file;
  std::vector<std::string> machine_notes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out_file = argv[++i];
    else if (a == "--machine-note" && i + 1 < argc)
      machine_notes.push_back(argv[++i]);
    else if (figures_file.empty() && a.rfind("--", 0) != 0)
      figures_file = a;
    else
      throw std::runtime_error(
          "unknown or incomplete option '" + a +
          "' (bench_report FIGURES.jsonl --out FILE [--machine-note TEXT]...)");
  }
  if (figures_file.empty() || out_file.empty())
    throw std::runtime_error(
        "usage: bench_report FIGURES.jsonl --out FILE [--machine-note TEXT]...");

  // Sections in the order the benchmarks ran; rows in the order they were recorded.
  std::vector<std::string> order;
  std::map<std::string, std::vector<nlohmann::json>> sections;
  std::ifstream in(figures_file);
  if (!in)
    throw std::runtime_error("cannot read " + figures_file);
  int line_no = 0, with_target = 0, met = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty())
      continue;
    nlohmann::json f;
    try {
      f = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(figures_file + ":" + std::to_string(line_no) + ": " + e.what());
    }
    const auto section = f.at("section").get<std::string>();
    if (!sections.count(section))
      order.push_back(section);
    sections[section].push_back(f);
    if (f.at("met").get<int>() >= 0) {
      ++with_target;
      met += f.at("met").get<int>();
    }
  }
  if (order.empty())
    throw std::runtime_error(figures_file + ": no figures recorded");

  std::ostringstream md;
  md << "# Performance\n\n"
     << "Written by `make bench` (`scripts/bench.sh` runs every benchmark in `bench/`, then "
        "`bench_report`) on "
     << today()
     << ". Do not edit by hand: rerun it. Each figure stands beside its reference measured in "
        "the same run on the same machine, with the ratio (vfp / reference: below 1 is faster "
        "for times, slower for rates) and the target its issue set. How the figures got here, "
        "and older measurements, are in [performance_notes.md](performance_notes.md).\n\n";
  md << "Machine: " << field_of("/proc/cpuinfo", "model name") << ", "
     << sysconf(_SC_NPROCESSORS_ONLN) << " CPUs, "
     << number(std::stod("0" + field_of("/proc/meminfo", "MemTotal")) / 1048576.0)
     << " GiB memory, " << field_of("/etc/os-release", "PRETTY_NAME") << ".\n";
  for (const auto& note : machine_notes)
    md << "- " << note << "\n";
  md << "\nTargets: " << met << " of " << with_target << " figures with a target met.\n";

  for (const auto& name : order) {
    const auto& rows = sections[name];
    md << "\n## " << name << "\n\n"
       << "| figure | vfp | unit | reference | reference value | vfp / reference | target | met "
          "| note |\n|---|---:|---|---|---:|---:|---|---|---|\n";
    double log_sum = 0;
    int ratios = 0;
    std::set<std::string> references; // a mean ratio only means something against one reference
    for (const auto& f : rows) {
      const double v = f["value"].is_number() ? f["value"].get<double>() : NAN;
      const double r = f["reference_value"].is_number() ? f["reference_value"].get<double>() : NAN;
      const bool has_ratio = std::isfinite(v) && std::isfinite(r) && r > 0 && v > 0;
      if (has_ratio) {
        log_sum += std::log(v / r);
        ++ratios;
        references.insert(f["reference"].get<std::string>());
      }
      char ratio[32] = "";
      if (has_ratio && v / r < 10)
        std::snprintf(ratio, sizeof ratio, "%.3f", v / r);
      else if (has_ratio)
        std::snprintf(ratio, sizeof ratio, "%s", number(v / r).c_str());
      const int m = f["met"].get<int>();
      md << "| " << cell(f["name"].get<std::string>()) << " | " << number(v) << " | "
         << cell(f["unit"].get<std::string>()) << " | " << cell(f["reference"].get<std::string>())
         << " | " << number(r) << " | " << ratio << " | " << cell(f["target"].get<std::string>())
         << " | "
         << (m == 1   ? "yes"
             : m == 0 ? "**no**"
                      : "")
         << " | " << cell(f["note"].get<std::string>()) << " |\n";
    }
    if (ratios >= 3 && references.size() == 1)
      md << "\nGeometric mean of vfp / reference over " << ratios
         << " rows: " << number(std::exp(log_sum / ratios)) << ".\n";
  }

  const std::string tmp = out_file + ".tmp";
  {
    std::ofstream out(tmp);
    out << md.str();
    if (!out)
      throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), out_file.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + " to " + out_file);
  std::cout << "bench_report: " << out_file << " (" << line_no << " figures, " << met << " of "
            << with_target << " targets met)\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_report: " << e.what() << "\n";
  return 1;
}
