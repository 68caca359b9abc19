// The number columns `vfp cox` and `vfp metrics` read from a CSV, with each row's file line.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace vfp::runner {

/// Named columns of numbers, row by row, and the file line each row came from.
struct NumberColumns {
  std::map<std::string, std::vector<double>> values;
  std::vector<int> lines; ///< 1-based, blank lines counted, as an editor shows them
};

/// Reads `names` from `file`; a cell that is not a number is an InputError naming the file,
/// line and column, and a file without data rows one naming the file.
NumberColumns read_number_columns(const std::string& file, const std::vector<std::string>& names);

} // namespace vfp::runner
