// libFuzzer target: a sweep file (YAML) through vfp::sweep::load: YAML parsing, the key
// checks, the config schema and the grid/zip/variant expansion. A vfp::Error is the expected
// answer to bad input; anything else escaping (a yaml-cpp exception without file:line, a
// std::out_of_range, ...) or a sanitizer report is a finding.
#include "fuzz_util.h"

#include "core/core.h"
#include "sweep/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = vfp::fuzz::scratch_file(data, size, ".yaml");
  try {
    vfp::sweep::load(file);
  } catch (const vfp::Error&) {
  }
  return 0;
}
