// Figures for docs/performance.md: each benchmark records what it prints as JSON lines in the
// file named by $VFP_BENCH_RECORD (scripts/bench.sh sets it; unset, nothing is written), and
// bench_report turns them into the report: each figure beside its reference measured in the
// same run, the ratio, and the target. Header-only and std-only, so that the
// torch-only build (no nlohmann_json there) records too.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace vfp::bench {

/// One row of the report.
struct Figure {
  std::string section;   ///< e.g. "Training step per architecture, vfp vs PyTorch"
  std::string name;      ///< the row, e.g. "resnet18 2D 64×64, 2 threads"
  double value = NAN;    ///< vfp's figure
  std::string unit;      ///< e.g. "ms/step", "patches/s", "%"
  std::string reference; ///< what it is compared with, e.g. "PyTorch (Python)"; empty: none
  double reference_value = NAN;
  std::string target; ///< the issue's target in words; empty: none
  int met = -1;       ///< 1 target met, 0 missed, -1 no target
  std::string note;   ///< e.g. the agreement of the estimates
};

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += char(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += char(ch);
    }
  }
  return out + "\"";
}

inline std::string json_number(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// Appends `f` to $VFP_BENCH_RECORD (one line, appended whole); no-op when it is unset.
inline void record(const Figure& f) {
  const char* path = std::getenv("VFP_BENCH_RECORD");
  if (!path || !*path)
    return;
  const std::string line =
      "{\"section\":" + json_string(f.section) + ",\"name\":" + json_string(f.name) +
      ",\"value\":" + json_number(f.value) + ",\"unit\":" + json_string(f.unit) +
      ",\"reference\":" + json_string(f.reference) +
      ",\"reference_value\":" + json_number(f.reference_value) +
      ",\"target\":" + json_string(f.target) + ",\"met\":" + std::to_string(f.met) +
      ",\"note\":" + json_string(f.note) + "}\n";
  if (FILE* out = std::fopen(path, "a")) {
    std::fwrite(line.data(), 1, line.size(), out);
    std::fclose(out);
  }
}

} // namespace vfp::bench
