// Number formatting shared by the commands' human-readable tables.
#pragma once

#include <cstdio>
#include <string>

namespace vfp::runner {

/// `v` with `digits` decimals.
inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// A p-value: four decimals, or scientific below 10⁻⁴ (so small ones are not printed as 0).
inline std::string p_value(double p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, p < 1e-4 ? "%.2e" : "%.4f", p);
  return buf;
}

/// `v` in its shortest form (`-1`, `0.25`, `1e-07`), as a user would have written it.
inline std::string shortest(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

} // namespace vfp::runner
