// libFuzzer target: the CSV reader (vfp::split_csv_row, vfp::read_csv and its typed cells)
// and the cohort table reader built on it (vfp::data::read_cohort), with and without the
// exclusion list. A vfp::Error is the expected answer to bad input.
#include "fuzz_util.h"

#include "core/core.h"
#include "data/data.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vfp::split_csv_row(std::string_view(reinterpret_cast<const char*>(data), size));
  const auto file = vfp::fuzz::scratch_file(data, size, ".csv");
  try {
    const auto csv = vfp::read_csv(file.string());
    for (const auto& row : csv.rows)
      for (std::size_t c = 0; c < csv.header.size(); ++c)
        try {
          csv.number(row, c);
        } catch (const vfp::Error&) {
        }
  } catch (const vfp::Error&) {
  }
  try {
    vfp::data::read_cohort(file);
  } catch (const vfp::Error&) {
  }
  try {
    std::vector<vfp::data::Exclusion> excluded;
    vfp::data::read_cohort(file, &excluded);
  } catch (const vfp::Error&) {
  }
  return 0;
}
