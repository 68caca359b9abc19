#include "number_columns.h"

#include "core/core.h"

namespace vfp::runner {

NumberColumns read_number_columns(const std::string& file, const std::vector<std::string>& names) {
  const auto csv = read_csv(file);
  std::map<std::string, std::size_t> index;
  for (const auto& name : names)
    index[name] = csv.column(name);
  if (csv.rows.empty())
    throw InputError(file + ": no data rows");
  NumberColumns out;
  for (const auto& row : csv.rows) {
    for (const auto& [name, column] : index)
      out.values[name].push_back(csv.number(row, column));
    out.lines.push_back(row.line);
  }
  return out;
}

} // namespace vfp::runner
