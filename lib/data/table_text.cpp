#include "data/table_text.h"

#include "core/core.h"

#include <sstream>

namespace vfp::data {

bool parse_finite(const std::string& cell, double& out) {
  return parse_decimal(cell, out);
}

TableText read_table_text(const std::filesystem::path& path, const TableFormat& format) {
  TableText table;
  table.file = path.string();
  if (!std::filesystem::exists(path))
    throw InputError(format.what + " not found: " + table.file);
  require_regular_file(path, format.what);
  std::istringstream in(read_text_file(path));
  std::string line;
  auto next_line = [&] {
    if (!std::getline(in, line))
      return false;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    return true;
  };
  if (!next_line())
    throw InputError(table.file + ": empty " + format.what + " (expected " + format.expected + ")");
  if (line.rfind("\xEF\xBB\xBF", 0) == 0)
    line.erase(0, 3);
  table.header = format.split(line);
  for (std::size_t i = 0; i < table.header.size(); ++i)
    table.column[table.header[i]] = i;
  for (const auto& name : format.required)
    if (!table.column.count(name))
      throw InputError(table.file + ":1: missing column '" + name + "' (expected " +
                       format.expected + ")");
  const std::string blank = std::string(" \t\r") + format.separator;
  for (int number = 2; next_line(); ++number)
    if (line.find_first_not_of(blank) != std::string::npos)
      table.rows.push_back({number, line, format.split(line)});
  return table;
}

} // namespace vfp::data
