// `vfp report ARGS…` as the plots_cli_tests run it (the vfp built with this tree).
#pragma once

#include "core/core.h"

#include <string>
#include <vector>

namespace vfp::plots_test {

inline ProgramResult vfp_report(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VFP_BIN, "report"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

} // namespace vfp::plots_test
